/*
 * test_backup_read.c - complete/incomplete decisions on the fixture tree (written by
 * tests/fixtures/make-fixtures.sh into a temporary directory, read through the local object
 * store), the numbers .info shows (expected.tsv), every binlog the meta names present with
 * its recorded size, the sidecar's say in the pre-v0.3.1 rule, and storage errors reported
 * as errors rather than as "incomplete".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mvbackupfs/format/backup_read.h"
#include "mvbackupfs/storage/local.h"

static char tmpdir[] = "/tmp/mvb-test-backup-read-XXXXXX";
static struct objstore *store;

static int setup(void **state)
{
	char cmd[1024];
	struct errmsg err;

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(cmd, sizeof(cmd), "bash '%s/make-fixtures.sh' '%s'", MVB_FIXTURES, tmpdir);
	if (system(cmd) != 0)
		return -1;
	return local_store_new(tmpdir, &store, &err) ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[1024];

	(void)state;
	objstore_free(store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) ? -1 : 0;
}

static void put(const char *key, const char *text)
{
	struct errmsg err;

	assert_int_equal(objstore_put(store, key, text, strlen(text), 0, &err), 0);
}

/* Copy one fixture meta file to another backup dir in the store. */
static void copy_meta(const char *from, const char *to, const char *file)
{
	struct buf b = BUF_INIT(1 << 20);
	struct errmsg err;
	char k[256];

	snprintf(k, sizeof(k), "%s/meta/%s", from, file);
	assert_int_equal(objstore_get_all(store, k, &b, &err), 0);
	snprintf(k, sizeof(k), "%s/meta/%s", to, file);
	put(k, b.p);
	buf_release(&b);
}

/* ---- every binlog the meta names exists with the size it records (§1.3 key rules) ------ */

static void check_key(const char *key, int64_t size)
{
	struct obj_entry e;
	struct errmsg err;
	int rc = objstore_head(store, key, &e, &err);

	if (rc)
		fprintf(stderr, "missing '%s': %s\n", key, err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal((int64_t)e.size, size);
	obj_entry_release(&e);
}

static void check_segment(const char *name, const struct meta_segment *s)
{
	char group[32] = "", key[512];

	/* group directory = group_id, none for 0 and for partition -1 (§1.3) */
	if (s->group_id && s->partition_id != -1)
		snprintf(group, sizeof(group), "%lld/", (long long)s->group_id);
	for (size_t f = 0; f < s->nbinlogs; f++)
		for (size_t j = 0; j < s->binlogs[f].nbinlogs; j++) {
			snprintf(key, sizeof(key), "%s/binlogs/insert_log/%lld/%lld/%s%lld/%lld/%lld",
				 name, (long long)s->collection_id, (long long)s->partition_id, group,
				 (long long)s->segment_id, (long long)s->binlogs[f].field_id,
				 (long long)s->binlogs[f].binlogs[j].log_id);
			check_key(key, s->binlogs[f].binlogs[j].log_size);
		}
	for (size_t f = 0; f < s->ndeltalogs; f++)
		for (size_t j = 0; j < s->deltalogs[f].nbinlogs; j++) {
			snprintf(key, sizeof(key), "%s/binlogs/delta_log/%lld/%lld/%s%lld/%lld", name,
				 (long long)s->collection_id, (long long)s->partition_id, group,
				 (long long)s->segment_id,
				 (long long)s->deltalogs[f].binlogs[j].log_id);
			check_key(key, s->deltalogs[f].binlogs[j].log_size);
		}
}

static void check_binlogs(const char *name, const struct meta_backup *m)
{
	for (size_t c = 0; c < m->ncollections; c++) {
		const struct meta_collection *col = &m->collections[c];

		for (size_t p = 0; p < col->npartitions; p++)
			for (size_t s = 0; s < col->partitions[p].nsegments; s++)
				check_segment(name, &col->partitions[p].segments[s]);
		for (size_t s = 0; s < col->nl0_segments; s++)
			check_segment(name, &col->l0_segments[s]);
	}
}

/* ---- the fixtures against expected.tsv --------------------------------------------------- */

static void test_fixtures(void **state)
{
	char path[512], line[512], name[64], st[16], db[64], coll[64];
	long long ent, size, created;
	size_t backups = 0;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/expected.tsv", MVB_FIXTURES);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		struct backup_read r;
		struct errmsg err;
		char prefix[128];
		int64_t e = 0;

		if (line[0] == '#' ||
		    sscanf(line, "%63[^\t]\t%15[^\t]\t%63[^\t]\t%63[^\t]\t%lld\t%lld\t%lld", name, st,
			   db, coll, &ent, &size, &created) != 7)
			continue;
		if (strcmp(db, "*") && strcmp(db, "-"))
			continue;	/* collection rows: covered by test_meta */
		snprintf(prefix, sizeof(prefix), "%s/", name);
		assert_int_equal(backup_read(store, prefix, &r, &err), 0);
		if (strcmp(st, "complete")) {
			assert_false(r.complete);
			assert_non_null(strstr(r.reason, "full_meta.json"));
			assert_int_equal(r.meta.ncollections, 0);
			backup_read_release(&r);
			backups++;
			continue;
		}
		if (!r.complete)
			fprintf(stderr, "%s: %s\n", name, r.reason);
		assert_true(r.complete);
		assert_string_equal(r.reason, "");
		assert_int_equal(r.source, !strcmp(name, "v0_3_0_nofull") ? BACKUP_META_LEVELS
									   : BACKUP_META_FULL);
		assert_int_equal(r.meta_mtime, 1767225600);	/* make-fixtures.sh's mtime */
		assert_false(r.has_sidecar);
		assert_string_equal(r.meta.name, name);
		for (size_t c = 0; c < r.meta.ncollections; c++)
			e += meta_collection_entities(&r.meta.collections[c]);
		assert_int_equal(e, ent);
		assert_int_equal(meta_backup_size(&r.meta), size);
		assert_int_equal(meta_backup_time(&r.meta), created);
		check_binlogs(name, &r.meta);
		backup_read_release(&r);
		backups++;
	}
	fclose(f);
	assert_int_equal(backups, 8);
}

/* Objects that are not backups, and names with nothing under them. */
static void test_not_backups(void **state)
{
	static const char *const prefixes[] = { "README.txt/", "nothing_here/",
		"milvus_backup_check_dst_3f6c1e9a-8b2d-4c7e-a1f0-5d9e8c7b6a54/" };
	struct backup_read r;
	struct errmsg err;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(backup_read(store, prefixes[i], &r, &err), 0);
		assert_false(r.complete);
		assert_string_equal(r.reason, "no meta/full_meta.json");
		backup_read_release(&r);
	}
}

/* A commit that landed on a backup being deleted: full_meta.json parses, but backup_meta.json
 * (milvus-backup's Exist(), deleted right after full_meta.json) is gone -> incomplete. */
static void test_full_without_backup_meta(void **state)
{
	struct backup_read r;
	struct errmsg err;

	(void)state;
	copy_meta("v0_6_main", "orphan_commit", "full_meta.json");
	copy_meta("v0_6_main", "orphan_commit", "collection_meta.json");
	assert_int_equal(backup_read(store, "orphan_commit/", &r, &err), 0);
	assert_false(r.complete);
	assert_non_null(strstr(r.reason, "without meta/backup_meta.json"));
	backup_read_release(&r);

	/* with it, the same full_meta.json is complete */
	copy_meta("v0_6_main", "orphan_commit", "backup_meta.json");
	assert_int_equal(backup_read(store, "orphan_commit/", &r, &err), 0);
	assert_true(r.complete);
	backup_read_release(&r);
}

/* A full_meta.json that does not parse is incomplete (not an error, not the level files). */
static void test_corrupt_full(void **state)
{
	static const char *const files[] = { "backup_meta.json", "collection_meta.json",
					     "partition_meta.json", "segment_meta.json" };
	struct backup_read r;
	struct errmsg err;

	(void)state;
	for (size_t i = 0; i < 4; i++)
		copy_meta("v0_3_0_nofull", "corrupt", files[i]);
	put("corrupt/meta/full_meta.json", "{\"name\":\"corrupt\",\"collection_backups\":[");
	assert_int_equal(backup_read(store, "corrupt/", &r, &err), 0);
	assert_false(r.complete);
	assert_non_null(strstr(r.reason, "meta/full_meta.json does not parse"));
	backup_read_release(&r);

	/* the old layout with one level file missing */
	for (size_t i = 0; i < 3; i++)
		copy_meta("v0_3_0_nofull", "three_levels", files[i]);
	assert_int_equal(backup_read(store, "three_levels/", &r, &err), 0);
	assert_false(r.complete);
	backup_read_release(&r);

	/* ... and with a level file that does not parse */
	for (size_t i = 0; i < 3; i++)
		copy_meta("v0_3_0_nofull", "bad_level", files[i]);
	put("bad_level/meta/segment_meta.json", "{\"infos\":[{\"segment_id\":\"x\"}]}");
	assert_int_equal(backup_read(store, "bad_level/", &r, &err), 0);
	assert_false(r.complete);
	assert_non_null(strstr(r.reason, "segment_meta.json"));
	backup_read_release(&r);
}

/* Level files only: complete for an old layout, unless our own snapshot job wrote it. */
static void test_sidecar_rule(void **state)
{
	static const char *const files[] = { "backup_meta.json", "collection_meta.json",
					     "partition_meta.json", "segment_meta.json" };
	struct backup_read r;
	struct errmsg err;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		copy_meta("v0_3_0_nofull", "ours_crashed", files[i]);
		copy_meta("v0_3_0_nofull", "imported_old", files[i]);
	}
	put("ours_crashed/mvbackupfs.json",
	    "{\"format\":1,\"created_by\":\"mvbackupfs 0.1.0\",\"created\":\"2026-08-20T02:00:00Z\","
	    "\"kind\":\"manual\",\"job\":\"j1\"}");
	put("imported_old/mvbackupfs.json",
	    "{\"format\":1,\"created_by\":\"mvbackupfs 0.1.0\",\"created\":\"2026-08-20T02:00:00Z\","
	    "\"expires\":\"2026-08-27T02:00:00Z\",\"kind\":\"import\"}");
	assert_int_equal(backup_read(store, "ours_crashed/", &r, &err), 0);
	assert_false(r.complete);
	assert_true(r.has_sidecar);
	assert_int_equal(r.sidecar.kind, SIDECAR_KIND_MANUAL);
	assert_string_equal(r.sidecar.job, "j1");
	backup_read_release(&r);

	assert_int_equal(backup_read(store, "imported_old/", &r, &err), 0);
	assert_true(r.complete);
	assert_true(r.has_sidecar);
	assert_int_equal(r.sidecar.expires, 1787191200 + 7 * 86400);
	assert_int_equal(r.meta.collections[0].partitions[0].nsegments, 2);
	backup_read_release(&r);

	/* an unreadable sidecar is reported but does not change the state */
	put("v0_5_4/mvbackupfs.json", "{not json");
	assert_int_equal(backup_read(store, "v0_5_4/", &r, &err), 0);
	assert_true(r.complete);
	assert_true(r.has_sidecar);
	assert_true(r.sidecar_error[0] != '\0');
	backup_read_release(&r);
	assert_int_equal(objstore_delete(store, (const char *const[]){ "v0_5_4/mvbackupfs.json" },
					 1, &err), 0);
}

/* ---- storage failures are errors, not "incomplete" --------------------------------------- */

struct failing {
	struct objstore base;
	struct objstore *inner;
	const char *fail_suffix;	/* keys ending in this fail */
	int code;
};

static bool fails(struct objstore *s, const char *key)
{
	struct failing *f = (struct failing *)s;
	size_t k = strlen(key), n = strlen(f->fail_suffix);

	return k >= n && !strcmp(key + k - n, f->fail_suffix);
}

static int f_list_page(struct objstore *s, const char *prefix, const char *delim,
		       const char *token, size_t max_keys, struct obj_listing *out,
		       char **next_token, struct errmsg *err)
{
	struct failing *f = (struct failing *)s;

	if (fails(s, prefix))
		return errmsg_set(err, f->code, "injected");
	return objstore_list_page(f->inner, prefix, delim, token, max_keys, out, next_token,
				  err);
}

static int f_head(struct objstore *s, const char *key, struct obj_entry *out,
		  struct errmsg *err)
{
	struct failing *f = (struct failing *)s;

	if (fails(s, key))
		return errmsg_set(err, f->code, "cannot read '%s': injected", key);
	return objstore_head(f->inner, key, out, err);
}

static int f_get(struct objstore *s, const char *key, uint64_t off, size_t len, void *dst,
		 size_t *got, struct errmsg *err)
{
	struct failing *f = (struct failing *)s;

	if (fails(s, key))
		return errmsg_set(err, f->code, "cannot read '%s': injected", key);
	return objstore_get(f->inner, key, off, len, dst, got, err);
}

static void f_destroy(struct objstore *s)
{
	(void)s;
}

static const struct objstore_ops failing_ops = {
	.kind = "failing",
	.list_page = f_list_page,
	.head = f_head,
	.get = f_get,
	.destroy = f_destroy,
};

static void test_io_errors(void **state)
{
	static const char *const suffixes[] = { "full_meta.json", "mvbackupfs.json", "meta/",
						"segment_meta.json" };
	static const char *const backups[] = { "v0_6_main/", "v0_6_main/", "v0_6_main/",
					       "v0_3_0_nofull/" };
	struct failing f = { { &failing_ops, NULL }, NULL, NULL, -EIO };
	struct backup_read r;
	struct errmsg err;

	(void)state;
	f.inner = store;
	for (size_t i = 0; i < 4; i++) {
		f.fail_suffix = suffixes[i];
		f.code = i % 2 ? -ETIMEDOUT : -EIO;
		err.msg[0] = '\0';
		assert_int_equal(backup_read(&f.base, backups[i], &r, &err), f.code);
		assert_non_null(strstr(err.msg, "injected"));
		assert_false(r.complete);
		assert_null(r.meta.collections);
	}
	/* -EACCES from the listing too */
	f.fail_suffix = "meta/";
	f.code = -EACCES;
	assert_int_equal(backup_read(&f.base, "v0_5_9/", &r, &err), -EACCES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_not_backups),
		cmocka_unit_test(test_corrupt_full),
		cmocka_unit_test(test_full_without_backup_meta),
		cmocka_unit_test(test_sidecar_rule),
		cmocka_unit_test(test_io_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
