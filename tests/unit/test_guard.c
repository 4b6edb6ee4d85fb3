/*
 * test_guard.c - data safety (issue 6): the key guard every delete of backup objects passes
 * (nothing outside "<root><name>/", nothing of Milvus's own data), the shared-root check of
 * the config, and the sanitising of foreign text before it reaches .status, .info or the log.
 * Deletes run against the local store in a mkdtemp directory.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mvbackupfs/format/backup_admin.h"
#include "mvbackupfs/config/config.h"
#include "mvbackupfs/base/err.h"
#include "mvbackupfs/storage/local.h"
#include "mvbackupfs/fs/vfiles.h"

/* ---- the key guard ---- */

static void test_guard_inside_backup(void **state)
{
	struct errmsg e = { { 0 } };

	(void)state;
	assert_int_equal(backup_key_guard("backup/b1/", NULL, "backup/b1/meta/full_meta.json", &e), 0);
	assert_int_equal(backup_key_guard("backup/b1/", "files", "backup/b1/binlogs/insert_log/1/2/3", &e), 0);
	/* Milvus at the bucket root, backups elsewhere: the backup's own insert_log is fine */
	assert_int_equal(backup_key_guard("backup/b1/", "", "backup/b1/binlogs/insert_log/1", &e), 0);
	assert_int_equal(backup_key_guard("b1/", "files", "b1/mvbackupfs.json", &e), 0);
}

static void test_guard_outside_backup(void **state)
{
	struct errmsg e = { { 0 } };

	(void)state;
	assert_int_equal(backup_key_guard("backup/b1/", NULL, "backup/b2/meta/full_meta.json", &e), -EPERM);
	assert_non_null(strstr(e.msg, "not inside the backup"));
	assert_int_equal(backup_key_guard("backup/b1/", NULL, "backup/b1", &e), -EPERM);
	assert_int_equal(backup_key_guard("backup/b1/", NULL, "backup/b1/", &e), -EPERM);
	assert_int_equal(backup_key_guard("backup/b1/", NULL, "backup/b10/x", &e), -EPERM);
	assert_int_equal(backup_key_guard("backup/b1/", NULL, "files/insert_log/1", &e), -EPERM);
	assert_int_equal(backup_key_guard("backup/b1/", NULL, "backup/b1/../b2/x", &e), -EPERM);
	assert_non_null(strstr(e.msg, "'..'"));
	assert_int_equal(backup_key_guard("backup/b1/", NULL, "backup/b1/a/..", &e), -EPERM);
	/* "..x" is an ordinary name */
	assert_int_equal(backup_key_guard("backup/b1/", NULL, "backup/b1/..x", &e), 0);
	/* a prefix that names no single backup */
	assert_int_equal(backup_key_guard("", NULL, "anything", &e), -EPERM);
	assert_int_equal(backup_key_guard("/", NULL, "/x", &e), -EPERM);
	assert_int_equal(backup_key_guard("backup", NULL, "backup/x", &e), -EPERM);
	assert_int_equal(backup_key_guard(NULL, NULL, "x", &e), -EPERM);
	assert_non_null(strstr(e.msg, "not the prefix of one backup"));
}

static void test_guard_milvus_data(void **state)
{
	struct errmsg e = { { 0 } };
	size_t i;

	(void)state;
	/* the trap: backups at Milvus's rootPath -> its data directories are root entries */
	for (i = 0; backup_milvus_data_dirs[i]; i++) {
		char prefix[128], key[160];

		snprintf(prefix, sizeof(prefix), "files/%s/", backup_milvus_data_dirs[i]);
		snprintf(key, sizeof(key), "%s451/452/453/100/1", prefix);
		e.msg[0] = '\0';
		assert_int_equal(backup_key_guard(prefix, "files", key, &e), -EPERM);
		assert_non_null(strstr(e.msg, "Milvus's own data"));
		assert_string_equal(backup_prefix_milvus_data("files", prefix), backup_milvus_data_dirs[i]);
	}
	/* the list holds at least what Milvus 2.3-2.6 writes */
	assert_string_equal(backup_prefix_milvus_data("files", "files/delta_log/"), "delta_log");
	assert_string_equal(backup_prefix_milvus_data("files", "files/stats_log/"), "stats_log");
	assert_string_equal(backup_prefix_milvus_data("files", "files/index_files/"), "index_files");
	assert_string_equal(backup_prefix_milvus_data("files", "files/bm25_stats/"), "bm25_stats");
	assert_string_equal(backup_prefix_milvus_data("files", "files/text_log/"), "text_log");
	/* backups at the bucket root: "files/" contains Milvus's data */
	assert_int_equal(backup_key_guard("files/", "files", "files/b1/meta/x", &e), -EPERM);
	assert_string_equal(backup_prefix_milvus_data("files", "files/"), "insert_log");
	/* Milvus at the bucket root, backups at the bucket root */
	assert_int_equal(backup_key_guard("insert_log/", "", "insert_log/1/2/3", &e), -EPERM);
	assert_null(backup_prefix_milvus_data("", "nightly_1/"));
	/* backups inside one of Milvus's data directories: everything is Milvus's */
	assert_int_equal(backup_key_guard("files/insert_log/b1/", "files", "files/insert_log/b1/x", &e), -EPERM);
	/* ordinary backups beside Milvus's data are not touched by the guard */
	assert_null(backup_prefix_milvus_data("files", "files/nightly_1/"));
	assert_null(backup_prefix_milvus_data("files", "files/insert_logs/"));
	assert_null(backup_prefix_milvus_data("files", "filesx/insert_log/"));
	assert_null(backup_prefix_milvus_data(NULL, "files/insert_log/"));
	assert_int_equal(backup_key_guard("files/nightly_1/", "files", "files/nightly_1/meta/a", &e), 0);
}

/* ---- backup_delete_keys: the one delete path ---- */

static char tmpdir[PATH_MAX];

static void put(struct objstore *s, const char *key)
{
	struct errmsg e = { { 0 } };

	assert_int_equal(objstore_put(s, key, "x", 1, 0, &e), 0);
}

static int exists(struct objstore *s, const char *key)
{
	struct obj_entry ent = { 0 };
	int rc = objstore_head(s, key, &ent, NULL);

	obj_entry_release(&ent);
	return rc == 0;
}

static void test_delete_keys(void **state)
{
	struct objstore *s = NULL;
	struct errmsg e = { { 0 } };
	const char *mixed[] = { "files/b1/meta/a", "files/insert_log/1/2/3" };
	const char *outside[] = { "files/b1/meta/a", "files/b2/meta/a" };
	const char *ok[] = { "files/b1/meta/a", "files/b1/binlogs/insert_log/1" };
	const char *milvus[] = { "files/insert_log/1/2/3" };

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/mvb-guard-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	assert_int_equal(local_store_new(tmpdir, &s, &e), 0);
	put(s, "files/b1/meta/a");
	put(s, "files/b1/binlogs/insert_log/1");
	put(s, "files/b2/meta/a");
	put(s, "files/insert_log/1/2/3");

	/* without the Milvus root registered, only the prefix rule applies */
	assert_int_equal(backup_delete_keys(s, "files/b1/", outside, 2, &e), -EPERM);
	assert_true(exists(s, "files/b1/meta/a"));	/* all or nothing */
	assert_true(exists(s, "files/b2/meta/a"));

	assert_int_equal(backup_guard_protect(s, "files"), 0);
	assert_int_equal(backup_delete_keys(s, "files/insert_log/", milvus, 1, &e), -EPERM);
	assert_non_null(strstr(e.msg, "Milvus's own data"));
	assert_true(exists(s, "files/insert_log/1/2/3"));
	assert_int_equal(backup_delete_keys(s, "files/b1/", mixed, 2, &e), -EPERM);
	assert_true(exists(s, "files/b1/meta/a"));
	assert_true(exists(s, "files/insert_log/1/2/3"));
	assert_int_equal(backup_delete_keys(s, "files/b1/", ok, 2, &e), 0);
	assert_false(exists(s, "files/b1/meta/a"));
	assert_false(exists(s, "files/b1/binlogs/insert_log/1"));

	/* the whole rmdir path goes through it: a "backup" at a Milvus data prefix */
	assert_int_equal(backup_delete_meta(s, "files/insert_log/", &e), -EPERM);
	assert_true(exists(s, "files/insert_log/1/2/3"));

	backup_guard_forget(s);
	assert_int_equal(backup_delete_keys(s, "files/insert_log/", milvus, 1, &e), 0);
	assert_false(exists(s, "files/insert_log/1/2/3"));
	objstore_free(s);
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		assert_int_equal(system(cmd), 0);
	}
}

/* ---- the config: do backups share Milvus's root? ---- */

static void side(struct storage_config *sc, const char *addr, int port, const char *bucket,
		 const char *root)
{
	memset(sc, 0, sizeof(*sc));
	sc->kind = STORAGE_S3;
	sc->address = (char *)addr;
	sc->port = port;
	sc->bucket = (char *)bucket;
	sc->root_path = (char *)root;
}

static void test_shared_root(void **state)
{
	struct config c;

	(void)state;
	memset(&c, 0, sizeof(c));
	side(&c.milvus_storage, "127.0.0.1", 9000, "milvus", "files");
	side(&c.backup_storage, "127.0.0.1", 9000, "milvus", "files");
	assert_true(config_backups_share_milvus_root(&c));	/* the trap */
	c.backup_storage.root_path = "";
	assert_true(config_backups_share_milvus_root(&c));	/* bucket root contains it */
	c.backup_storage.root_path = "files/backup";
	assert_true(config_backups_share_milvus_root(&c));	/* inside Milvus's root */
	c.backup_storage.root_path = "backup";
	assert_false(config_backups_share_milvus_root(&c));
	c.backup_storage.root_path = "filesx";
	assert_false(config_backups_share_milvus_root(&c));
	c.backup_storage.root_path = "files";
	c.backup_storage.bucket = "backups";
	assert_false(config_backups_share_milvus_root(&c));	/* another bucket */
	c.backup_storage.bucket = "milvus";
	c.backup_storage.address = "LOCALHOST";
	c.milvus_storage.address = "localhost";
	assert_true(config_same_bucket(&c.milvus_storage, &c.backup_storage));
	c.backup_storage.port = 9001;
	assert_false(config_backups_share_milvus_root(&c));	/* another endpoint */
}

/* ---- sanitising foreign text ---- */

static void test_sanitize(void **state)
{
	char s[] = "boom\nstate complete\r\t\x1b[31mred\x7f";
	struct errmsg e = { { 0 } };

	(void)state;
	text_sanitize(s);
	assert_string_equal(s, "boom state complete  ?[31mred?");
	text_sanitize(NULL);
	errmsg_set(&e, -EIO, "cannot flush: %s", "server says\nstate complete");
	assert_string_equal(e.msg, "cannot flush: server says state complete");
	errmsg_prefix(&e, -EIO, "snapshot '%s'", "a\nb");
	assert_null(strchr(e.msg, '\n'));
	/* UTF-8 passes unchanged */
	{
		char u[] = "collection \xc3\xa9t\xc3\xa9";

		text_sanitize(u);
		assert_string_equal(u, "collection \xc3\xa9t\xc3\xa9");
	}
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_status_and_info_lines(void **state)
{
	struct vstatus st = { 0 };
	struct buf b = BUF_INIT(1 << 20), clean = BUF_INIT(1 << 20);
	struct ns_summary s = { 0 };
	struct ns_collection col = { 0 };
	char *dbs[1] = { "db\nstate complete" };

	(void)state;
	st.state = "failed";
	st.phase = "flush";
	st.job = "snapshot-1";
	st.eta_s = -1;
	st.error = "";
	assert_int_equal(vfile_status(&st, &clean), 0);
	st.error = "flush failed: boom\nstate complete\nprogress 100.00";
	assert_int_equal(vfile_status(&st, &b), 0);
	assert_int_equal(count_lines(b.p), count_lines(clean.p));	/* no injected line */
	assert_non_null(strstr(b.p, "\nerror flush failed: boom state complete progress 100.00\n"));
	assert_null(strstr(b.p, "\nstate complete"));
	buf_release(&b);
	buf_release(&clean);

	/* names from a crafted meta stay on their line in .info */
	s.name = "b1";
	s.state = NS_STATE_COMPLETE;
	s.reason = "";
	s.format = "binlog";
	s.milvus_version = "v2.5\nstate: incomplete";
	s.backup_id = "id";
	s.databases = dbs;
	s.ndatabases = 1;
	col.db = "db\nstate complete";
	col.name = "coll\r\nDATABASE x";
	col.indexes = "";
	col.load_state = "";
	s.collections = &col;
	s.ncollections = 1;
	assert_int_equal(vfile_backup_info(&s, &b), 0);
	assert_null(strstr(b.p, "\nstate: incomplete"));
	assert_null(strstr(b.p, "\nDATABASE x"));
	assert_null(strstr(b.p, "\nstate complete"));
	assert_non_null(strstr(b.p, "milvus:       v2.5 state: incomplete\n"));
	buf_release(&b);
	assert_int_equal(vfile_root_info(&s, 1, &b), 0);
	assert_int_equal(count_lines(b.p), 2);	/* header + one row */
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guard_inside_backup),
		cmocka_unit_test(test_guard_outside_backup),
		cmocka_unit_test(test_guard_milvus_data),
		cmocka_unit_test(test_delete_keys),
		cmocka_unit_test(test_shared_root),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_status_and_info_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
