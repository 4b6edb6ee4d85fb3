/*
 * test_backup_admin.c - backup names, reserving a name (mkdir) and deleting a backup (rmdir)
 * against the local store in a mkdtemp directory.  A wrapper store records the order of
 * deletions and can play a server that ignores If-None-Match or a concurrent writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
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
#include "mvbackupfs/base/job.h"
#include "mvbackupfs/storage/local.h"

/* ---- a recording wrapper around the local store ---- */

struct rec_store {
	struct objstore base;		/* first: the generic layer casts */
	struct objstore *inner;
	pthread_mutex_t lock;		/* guards deleted, ndeleted */
	char *deleted[8192];		/* every key passed to delete, in order */
	size_t ndeleted;
	int ignore_inm;			/* drop OBJSTORE_IF_NONE_MATCH (an old server) */
	const char *overwrite_with;	/* after a put, another "mount" overwrites the key */
	const char *inject_key;		/* written once by a "concurrent writer" during the
					 * first delete of a binlog */
	sem_t *gate;			/* the first delete waits here (cancel test) */
	const char *after_list_put;	/* another mount creates this key right after our
					 * first listing (the list-then-create race) */
};

static struct rec_store *rec(struct objstore *s)
{
	return (struct rec_store *)s;
}

static int rec_check(struct objstore *s, struct errmsg *err)
{
	return objstore_check(rec(s)->inner, err);
}

static int rec_list_page(struct objstore *s, const char *prefix, const char *delim,
			 const char *token, size_t max_keys, struct obj_listing *out,
			 char **next_token, struct errmsg *err)
{
	struct rec_store *r = rec(s);
	int rc = objstore_list_page(r->inner, prefix, delim, token, max_keys, out, next_token,
				    err);

	if (r->after_list_put) {
		const char *k = r->after_list_put;

		r->after_list_put = NULL;
		assert_int_equal(objstore_put(r->inner, k, "{\"job\":\"other\"}", 15, 0, NULL),
				 0);
	}
	return rc;
}

static int rec_head(struct objstore *s, const char *key, struct obj_entry *out,
		    struct errmsg *err)
{
	return objstore_head(rec(s)->inner, key, out, err);
}

static int rec_get(struct objstore *s, const char *key, uint64_t off, size_t len, void *dst,
		   size_t *got, struct errmsg *err)
{
	return objstore_get(rec(s)->inner, key, off, len, dst, got, err);
}

static int rec_put(struct objstore *s, const char *key, const void *data, size_t len,
		   unsigned flags, struct errmsg *err)
{
	struct rec_store *r = rec(s);
	int rc;

	if (r->ignore_inm)
		flags &= ~(unsigned)OBJSTORE_IF_NONE_MATCH;
	rc = objstore_put(r->inner, key, data, len, flags, err);
	if (!rc && r->overwrite_with)
		rc = objstore_put(r->inner, key, r->overwrite_with, strlen(r->overwrite_with), 0,
				  err);
	return rc;
}

static int rec_delete(struct objstore *s, const char *const *keys, size_t nkeys,
		      struct errmsg *err)
{
	struct rec_store *r = rec(s);
	size_t i;

	if (r->gate) {
		sem_wait(r->gate);
		r->gate = NULL;
	}
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < nkeys && r->ndeleted < sizeof(r->deleted) / sizeof(r->deleted[0]); i++)
		r->deleted[r->ndeleted++] = strdup(keys[i]);
	pthread_mutex_unlock(&r->lock);
	if (r->inject_key && nkeys && strstr(keys[0], "/binlogs/")) {
		const char *k = r->inject_key;

		r->inject_key = NULL;
		assert_int_equal(objstore_put(r->inner, k, "late", 4, 0, NULL), 0);
	}
	return objstore_delete(r->inner, keys, nkeys, err);
}

static void rec_destroy(struct objstore *s)
{
	struct rec_store *r = rec(s);
	size_t i;

	objstore_free(r->inner);
	for (i = 0; i < r->ndeleted; i++)
		free(r->deleted[i]);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static const struct objstore_ops rec_ops = {
	.kind = "rec",
	.check = rec_check,
	.list_page = rec_list_page,
	.head = rec_head,
	.get = rec_get,
	.put = rec_put,
	.delete_keys = rec_delete,
	.destroy = rec_destroy,
};

/* ---- fixture ---- */

struct fixture {
	char dir[64];
	struct rec_store *r;
	struct objstore *s;	/* = &r->base */
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct errmsg err = { "" };

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_backup_admin.XXXXXX");
	f->r = calloc(1, sizeof(*f->r));
	if (!f->r || !mkdtemp(f->dir) || local_store_new(f->dir, &f->r->inner, &err))
		return -1;
	f->r->base.ops = &rec_ops;
	pthread_mutex_init(&f->r->lock, NULL);
	f->s = &f->r->base;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	objstore_free(f->s);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Write an object straight into the directory (no fsync: thousands of them stay fast). */
static void put_file(struct fixture *f, const char *key, const char *data)
{
	char path[PATH_MAX], *p;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->dir, key);
	for (p = path + strlen(f->dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0777);
		*p = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static size_t count_under(struct fixture *f, const char *prefix)
{
	struct obj_listing l = { 0 };
	size_t n;

	assert_int_equal(objstore_list(f->s, prefix, NULL, &l, NULL), 0);
	n = l.nobjs;
	obj_listing_release(&l);
	return n;
}

static int exists(struct fixture *f, const char *key)
{
	struct obj_entry e = { 0 };
	int rc = objstore_head(f->s, key, &e, NULL);

	obj_entry_release(&e);
	return rc == 0;
}

static const char *const meta_files[] = {
	"backup_meta.json", "collection_meta.json", "partition_meta.json",
	"segment_meta.json", "full_meta.json",
};

/* A complete backup "<prefix>" with its sidecar and `nbin` binlogs; returns the object count. */
static size_t make_backup(struct fixture *f, const char *prefix, size_t nbin, int with_meta)
{
	char key[512];
	size_t i, n = 0;

	for (i = 0; i < nbin; i++, n++) {
		snprintf(key, sizeof(key), "%sbinlogs/insert_log/1/2/%zu/100/%zu", prefix, i / 100,
			 i);
		put_file(f, key, "binlog-bytes");
	}
	for (i = 0; with_meta && i < sizeof(meta_files) / sizeof(meta_files[0]); i++, n++) {
		snprintf(key, sizeof(key), "%smeta/%s", prefix, meta_files[i]);
		put_file(f, key, "{}");
	}
	snprintf(key, sizeof(key), "%smvbackupfs.json", prefix);
	put_file(f, key, "{\"format\":1,\"job\":\"old\"}");
	return n + 1;
}

static struct sidecar mk_sidecar(const char *job)
{
	struct sidecar sc = { .format = SIDECAR_FORMAT, .created = 1787191200,
			      .kind = SIDECAR_KIND_MANUAL };

	snprintf(sc.created_by, sizeof(sc.created_by), "%s", sidecar_creator());
	snprintf(sc.job, sizeof(sc.job), "%s", job);
	return sc;
}

static struct sidecar read_sidecar(struct fixture *f, const char *key)
{
	struct buf b = BUF_INIT(SIDECAR_MAX);
	struct sidecar sc;

	assert_int_equal(objstore_get_all(f->s, key, &b, NULL), 0);
	assert_int_equal(sidecar_parse(b.p, b.len, &sc, NULL), 0);
	buf_release(&b);
	return sc;
}

/* ---- names ---- */

static void test_name_rule(void **state)
{
	char n128[130], n129[131];
	static const char *const good[] = {
		"a", "_", "A", "backup_1", "_x9", "nightly_2026_08_20", "Z_z_0_9",
		"backup_2026_08_20_02_00_00_123456789",
	};
	static const char *const bad[] = {
		"", "1abc", "9", "a-b", "a.b", ".hidden", "a b", " a", "a/b", "..",
		"caf\xc3\xa9", "\xc3\xa9t\xc3\xa9", "a\tb", "a\n", "snap$", "-x",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(backup_name_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(backup_name_valid(bad[i]));
	assert_false(backup_name_valid(NULL));
	memset(n128, 'a', 128);
	n128[128] = '\0';
	memset(n129, 'b', 129);
	n129[129] = '\0';
	assert_true(backup_name_valid(n128));
	assert_false(backup_name_valid(n129));
}

/* ---- reserve ---- */

static void test_reserve_fresh(void **state)
{
	struct fixture *f = *state;
	struct sidecar sc = mk_sidecar("snapshot-1"), got;
	struct errmsg err = { "" };

	assert_int_equal(backup_reserve(f->s, "backup/", "nightly", &sc, &err), 0);
	got = read_sidecar(f, "backup/nightly/mvbackupfs.json");
	assert_string_equal(got.job, "snapshot-1");
	assert_int_equal(got.kind, SIDECAR_KIND_MANUAL);
	assert_int_equal(count_under(f, "backup/nightly/"), 1);

	/* A root without its '/' and the empty root (backups at the bucket root). */
	assert_int_equal(backup_reserve(f->s, "backup", "other", &sc, &err), 0);
	assert_true(exists(f, "backup/other/mvbackupfs.json"));
	assert_int_equal(backup_reserve(f->s, "", "top", &sc, &err), 0);
	assert_true(exists(f, "top/mvbackupfs.json"));
}

static void test_reserve_bad_name(void **state)
{
	struct fixture *f = *state;
	struct sidecar sc = mk_sidecar("j");
	struct errmsg err = { "" };

	assert_int_equal(backup_reserve(f->s, "backup/", "my-backup", &sc, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'my-backup'"));
	assert_int_equal(backup_reserve(f->s, "backup/", "1st", &sc, &err), -EINVAL);
	assert_int_equal(count_under(f, ""), 0);
}

static void test_reserve_existing_object(void **state)
{
	struct fixture *f = *state;
	struct sidecar sc = mk_sidecar("j");
	struct errmsg err = { "" };

	/* The remains of a failed milvus-backup run: a binlog, no meta, no sidecar. */
	put_file(f, "backup/crashed/binlogs/insert_log/1/2/3/100/7", "x");
	assert_int_equal(backup_reserve(f->s, "backup/", "crashed", &sc, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "'crashed'"));
	assert_false(exists(f, "backup/crashed/mvbackupfs.json"));
	assert_int_equal(count_under(f, ""), 1);

	/* "backup/crash" is another name: a prefix of a name is not the name. */
	assert_int_equal(backup_reserve(f->s, "backup/", "crash", &sc, &err), 0);
}

static void test_reserve_twice(void **state)
{
	struct fixture *f = *state;
	struct sidecar a = mk_sidecar("first"), b = mk_sidecar("second"), got;
	struct errmsg err = { "" };

	assert_int_equal(backup_reserve(f->s, "backup/", "dup", &a, &err), 0);
	assert_int_equal(backup_reserve(f->s, "backup/", "dup", &b, &err), -EEXIST);
	got = read_sidecar(f, "backup/dup/mvbackupfs.json");
	assert_string_equal(got.job, "first");
}

/* A plain object "backup/file" blocks the directory "backup/file/" on the local store. */
static void test_reserve_object_named_like_backup(void **state)
{
	struct fixture *f = *state;
	struct sidecar sc = mk_sidecar("j");
	struct errmsg err = { "" };

	put_file(f, "backup/plain", "x");
	assert_int_equal(backup_reserve(f->s, "backup/", "plain", &sc, &err), -EEXIST);
	assert_int_equal(count_under(f, ""), 1);
}

/* The conditional PUT decides a race: both mounts saw an empty prefix in their listing. */
static void test_reserve_race_decided_by_conditional_put(void **state)
{
	struct fixture *f = *state;
	struct sidecar sc = mk_sidecar("late");
	struct errmsg err = { "" };
	struct buf b = BUF_INIT(SIDECAR_MAX);

	f->r->after_list_put = "backup/race/mvbackupfs.json";
	assert_int_equal(backup_reserve(f->s, "backup/", "race", &sc, &err), -EEXIST);
	assert_int_equal(objstore_get_all(f->s, "backup/race/mvbackupfs.json", &b, NULL), 0);
	assert_string_equal(b.p, "{\"job\":\"other\"}");
	buf_release(&b);
}

/* A server that ignores If-None-Match: the read-back sees the other mount's sidecar. */
static void test_reserve_server_ignores_if_none_match(void **state)
{
	struct fixture *f = *state;
	struct sidecar sc = mk_sidecar("mine");
	struct errmsg err = { "" };
	struct buf b = BUF_INIT(SIDECAR_MAX);
	const char *theirs = "{\"format\":1,\"job\":\"theirs\"}";

	f->r->ignore_inm = 1;
	f->r->overwrite_with = theirs;
	assert_int_equal(backup_reserve(f->s, "backup/", "contested", &sc, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "If-None-Match"));
	assert_int_equal(objstore_get_all(f->s, "backup/contested/mvbackupfs.json", &b, NULL), 0);
	assert_string_equal(b.p, theirs);	/* theirs is left alone */
	buf_release(&b);

	/* Without a competitor the same server still gives a working reservation. */
	f->r->overwrite_with = NULL;
	assert_int_equal(backup_reserve(f->s, "backup/", "alone", &sc, &err), 0);
}

/* ---- delete ---- */

static void test_delete_meta_order(void **state)
{
	struct fixture *f = *state;
	struct errmsg err = { "" };
	size_t total = make_backup(f, "backup/b1/", 20, 1), i;

	assert_int_equal(backup_delete_meta(f->s, "backup/b1/", &err), 0);
	assert_true(f->r->ndeleted >= 5);
	assert_string_equal(f->r->deleted[0], "backup/b1/meta/full_meta.json");
	assert_string_equal(f->r->deleted[1], "backup/b1/meta/backup_meta.json");
	for (i = 2; i < f->r->ndeleted; i++)
		assert_memory_equal(f->r->deleted[i], "backup/b1/meta/", 15);
	assert_int_equal(count_under(f, "backup/b1/meta/"), 0);
	/* Data and sidecar stay for the job. */
	assert_int_equal(count_under(f, "backup/b1/"), total - 5);
	assert_true(exists(f, "backup/b1/mvbackupfs.json"));

	/* Again, and on a backup that never had meta: nothing missing is an error. */
	assert_int_equal(backup_delete_meta(f->s, "backup/b1/", &err), 0);
	make_backup(f, "backup/nometa/", 3, 0);
	assert_int_equal(backup_delete_meta(f->s, "backup/nometa/", &err), 0);
	assert_int_equal(count_under(f, "backup/nometa/"), 4);
}

static void test_delete_meta_bad_prefix(void **state)
{
	struct fixture *f = *state;
	struct errmsg err = { "" };

	make_backup(f, "backup/keep/", 2, 1);
	assert_int_equal(backup_delete_meta(f->s, "", &err), -EINVAL);
	assert_int_equal(backup_delete_meta(f->s, "/", &err), -EINVAL);
	assert_int_equal(backup_delete_meta(f->s, "backup/keep", &err), -EINVAL);
	assert_int_equal(backup_delete_meta(f->s, NULL, &err), -EINVAL);
	assert_int_equal(count_under(f, ""), 8);
}

static struct backup_delete_params *params(struct fixture *f, const char *prefix,
					   const char *name)
{
	struct backup_delete_params *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->store = f->s;
	p->prefix = strdup(prefix);
	p->name = strdup(name);
	return p;
}

static int run_delete(struct fixture *f, const char *prefix, const char *name,
		      struct job_progress *out)
{
	struct job *j;
	int rc;

	assert_int_equal(job_start("delete", backup_delete_job, params(f, prefix, name),
				   backup_delete_params_free, &j), 0);
	rc = job_wait(j);
	job_progress(j, out);
	job_free(j);
	return rc;
}

static void test_delete_job(void **state)
{
	struct fixture *f = *state;
	struct job_progress p;
	size_t total = make_backup(f, "backup/big/", 2500, 1), i;

	/* Neighbours that share the name as a prefix must survive. */
	make_backup(f, "backup/big2/", 3, 1);
	assert_int_equal(run_delete(f, "backup/big/", "big", &p), 0);
	assert_int_equal(p.state, JOB_DONE);
	assert_int_equal(count_under(f, "backup/big/"), 0);
	assert_int_equal(count_under(f, "backup/big2/"), 9);
	/* Totals after the meta step: the data objects and the sidecar; all done. */
	assert_int_equal(p.items_total, total - 5);
	assert_int_equal(p.items_done, p.items_total);
	assert_int_equal(p.bytes_done, p.bytes_total);
	/* The meta went first, the sidecar last. */
	assert_string_equal(f->r->deleted[0], "backup/big/meta/full_meta.json");
	assert_string_equal(f->r->deleted[f->r->ndeleted - 1], "backup/big/mvbackupfs.json");
	for (i = 0; i + 1 < f->r->ndeleted; i++)
		assert_string_not_equal(f->r->deleted[i], "backup/big/mvbackupfs.json");
	/* The directory is gone on disk too, so `ls` of the root no longer shows it. */
	{
		char path[PATH_MAX];
		struct stat st;

		snprintf(path, sizeof(path), "%s/backup/big/", f->dir);
		assert_int_equal(stat(path, &st), -1);
	}

	/* Idempotent: a second run (crash during the first, or rmdir twice) succeeds. */
	assert_int_equal(run_delete(f, "backup/big/", "big", &p), 0);
	assert_int_equal(p.state, JOB_DONE);
	assert_int_equal(p.items_total, 0);
}

static void test_delete_job_half_deleted(void **state)
{
	struct fixture *f = *state;
	struct job_progress p;
	char key[256];
	int i;

	/* A half-deleted backup: meta gone, some binlogs gone, sidecar present. */
	make_backup(f, "backup/half/", 10, 0);
	for (i = 0; i < 5; i++) {
		const char *k = key;

		snprintf(key, sizeof(key), "backup/half/binlogs/insert_log/1/2/0/100/%d", i);
		assert_int_equal(objstore_delete(f->s, &k, 1, NULL), 0);
	}
	assert_int_equal(run_delete(f, "backup/half/", "half", &p), 0);
	assert_int_equal(count_under(f, "backup/half/"), 0);
	/* And the name is free again. */
	{
		struct sidecar sc = mk_sidecar("again");

		assert_int_equal(backup_reserve(f->s, "backup/", "half", &sc, NULL), 0);
	}
}

/* A writer adds an object while the delete runs: the job says so and keeps the name. */
static void test_delete_job_concurrent_writer(void **state)
{
	struct fixture *f = *state;
	struct job_progress p;

	make_backup(f, "backup/busy/", 10, 1);
	f->r->inject_key = "backup/busy/binlogs/aaa_late";
	assert_int_equal(run_delete(f, "backup/busy/", "busy", &p), -EBUSY);
	assert_int_equal(p.state, JOB_FAILED);
	assert_non_null(strstr(p.error, "'backup/busy/binlogs/aaa_late' appeared"));
	assert_true(exists(f, "backup/busy/mvbackupfs.json"));
	assert_true(exists(f, "backup/busy/binlogs/aaa_late"));

	/* rmdir again finishes it. */
	assert_int_equal(run_delete(f, "backup/busy/", "busy", &p), 0);
	assert_int_equal(count_under(f, "backup/busy/"), 0);
}

static void test_delete_job_cancel(void **state)
{
	struct fixture *f = *state;
	struct job_progress p;
	struct job *j;
	sem_t gate;

	make_backup(f, "backup/cx/", 10, 1);
	sem_init(&gate, 0, 0);
	f->r->gate = &gate;	/* the job's first delete waits until it has been cancelled */
	assert_int_equal(job_start("delete", backup_delete_job, params(f, "backup/cx/", "cx"),
				   backup_delete_params_free, &j), 0);
	job_cancel(j);
	sem_post(&gate);
	assert_int_equal(job_wait(j), -ECANCELED);
	job_progress(j, &p);
	job_free(j);
	sem_destroy(&gate);
	assert_int_equal(p.state, JOB_CANCELLED);
	/* The meta is gone (the backup vanished), the rest and the reservation stay. */
	assert_int_equal(count_under(f, "backup/cx/meta/"), 0);
	assert_int_equal(count_under(f, "backup/cx/"), 11);
	assert_true(exists(f, "backup/cx/mvbackupfs.json"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_rule),
		cmocka_unit_test_setup_teardown(test_reserve_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_bad_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_existing_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_object_named_like_backup, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reserve_race_decided_by_conditional_put, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reserve_server_ignores_if_none_match, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_delete_meta_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_meta_bad_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_job, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_job_half_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_job_concurrent_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_job_cancel, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
