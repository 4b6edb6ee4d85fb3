/*
 * test_vfiles.c - the text of .info, .info.json and .status: what people and scripts read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/fs/vfiles.h"

static struct ns_collection coll(const char *db, const char *name, int64_t ents, int64_t size)
{
	struct ns_collection c = { 0 };

	c.db = (char *)db;
	c.name = (char *)name;
	c.id = 462460699343929903LL;
	c.partitions = 1;
	c.segments = 2;
	c.l0_segments = 1;
	c.entities = ents;
	c.size = size;
	c.indexes = (char *)"embedding_idx(HNSW)";
	c.load_state = (char *)"Loaded";
	return c;
}

static struct ns_summary complete_summary(struct ns_collection *cs, size_t n)
{
	static char *dbs[] = { (char *)"default" };
	struct ns_summary s = { 0 };
	size_t i;

	s.name = (char *)"nightly_2026_08_20";
	s.state = NS_STATE_COMPLETE;
	s.reason = (char *)"";
	s.format = (char *)"binlog";
	s.milvus_version = (char *)"v2.5.14";
	s.backup_id = (char *)"0c6f3a52-2b7e-4c38-9a57-5d1e7b6f2e90";
	s.created = 1787191200;	/* 2026-08-20T02:00:00Z */
	s.size = 489188264;
	s.databases = dbs;
	s.ndatabases = 1;
	s.collections = cs;
	s.ncollections = n;
	for (i = 0; i < n; i++)
		s.entities += cs[i].entities;
	return s;
}

static void test_human_size(void **state)
{
	char b[32];

	vfile_human_size(0, b, sizeof(b));
	assert_string_equal(b, "0 B");
	vfile_human_size(1023, b, sizeof(b));
	assert_string_equal(b, "1023 B");
	vfile_human_size(489188264, b, sizeof(b));
	assert_string_equal(b, "466.5 MiB");
	vfile_human_size(1ull << 40, b, sizeof(b));
	assert_string_equal(b, "1.0 TiB");
}

static void test_backup_info_shows_counts_and_times(void **state)
{
	struct ns_collection cs[1] = { coll("default", "articles", 155000, 489188264) };
	struct ns_summary s = complete_summary(cs, 1);
	struct buf b = BUF_INIT(1 << 20);

	assert_int_equal(vfile_backup_info(&s, &b), 0);
	assert_non_null(strstr(b.p, "state:        complete\n"));
	assert_non_null(strstr(b.p, "created:      2026-08-20T02:00:00Z\n"));
	assert_non_null(strstr(b.p, "expires:      never\n"));
	assert_non_null(strstr(b.p, "466.5 MiB (489188264 bytes)"));
	assert_non_null(strstr(b.p, "entities:     155000 (rows stored in the backup's segments)"));
	assert_non_null(strstr(b.p, "DATABASE"));
	/* the collection row: db, name, partitions, segments with L0, entities */
	assert_non_null(strstr(b.p, "default   articles"));
	assert_non_null(strstr(b.p, "2+1 L0"));
	assert_non_null(strstr(b.p, "155000"));
	assert_non_null(strstr(b.p, "embedding_idx(HNSW)"));
	buf_release(&b);
}

/* milvus-backup --meta_only: collections without any segment; .info says there is no data */
static void test_backup_info_meta_only(void **state)
{
	struct ns_collection cs[2] = { coll("default", "a", 0, 0), coll("sales", "b", 0, 0) };
	struct ns_summary s;
	struct buf b = BUF_INIT(1 << 20);

	cs[0].segments = cs[0].l0_segments = cs[1].segments = cs[1].l0_segments = 0;
	s = complete_summary(cs, 2);
	assert_int_equal(vfile_backup_info(&s, &b), 0);
	assert_non_null(strstr(b.p, "data:         none (meta only: a restore gives empty collections)\n"));
	buf_release(&b);

	/* one segment anywhere: a backup with data, no such line */
	cs[1].segments = 1;
	s = complete_summary(cs, 2);
	b = (struct buf)BUF_INIT(1 << 20);
	assert_int_equal(vfile_backup_info(&s, &b), 0);
	assert_null(strstr(b.p, "meta only"));
	buf_release(&b);
}

static void test_backup_info_json_exact_ids(void **state)
{
	struct ns_collection cs[2] = { coll("default", "articles", 155000, 489188264),
				       coll("db2", "b", 7, 9) };
	struct ns_summary s = complete_summary(cs, 2);
	struct buf b = BUF_INIT(1 << 20);
	json_error_t je;
	json_t *j, *c;

	assert_int_equal(vfile_backup_info_json(&s, &b), 0);
	j = json_loads(b.p, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "complete");
	assert_int_equal(json_integer_value(json_object_get(j, "entities")), 155007);
	c = json_array_get(json_object_get(j, "collections"), 0);
	/* a 64-bit ID above 2^53 must come out exact */
	assert_true(json_integer_value(json_object_get(c, "id")) == 462460699343929903LL);
	assert_int_equal(json_integer_value(json_object_get(c, "size")), 489188264);
	json_decref(j);
	buf_release(&b);
}

static void test_incomplete_shows_reason_not_counts(void **state)
{
	struct ns_summary s = { 0 };
	struct buf b = BUF_INIT(1 << 20);

	s.name = (char *)"crashed";
	s.state = NS_STATE_INCOMPLETE;
	s.reason = (char *)"no meta/full_meta.json";
	s.format = s.milvus_version = s.backup_id = (char *)"";
	s.size = 4096;
	assert_int_equal(vfile_backup_info(&s, &b), 0);
	assert_non_null(strstr(b.p, "state:        incomplete\n"));
	assert_non_null(strstr(b.p, "reason:       no meta/full_meta.json\n"));
	assert_null(strstr(b.p, "entities:"));
	buf_release(&b);
}

static void test_root_table_aligned(void **state)
{
	struct ns_collection cs[1] = { coll("default", "articles", 155000, 489188264) };
	struct ns_summary v[2];
	struct buf b = BUF_INIT(1 << 20);
	char *l1, *l2, *l3;

	v[0] = complete_summary(cs, 1);
	memset(&v[1], 0, sizeof(v[1]));
	v[1].name = (char *)"x";
	v[1].state = NS_STATE_INCOMPLETE;
	v[1].size = 10;
	assert_int_equal(vfile_root_info(v, 2, &b), 0);
	l1 = b.p;
	l2 = strchr(l1, '\n') + 1;
	l3 = strchr(l2, '\n') + 1;
	/* columns line up: STATE starts at the same offset on every line */
	assert_int_equal(strstr(l1, "STATE") - l1, strstr(l2, "complete") - l2);
	assert_int_equal(strstr(l1, "STATE") - l1, strstr(l3, "incomplete") - l3);
	assert_non_null(strstr(l2, "155000"));
	assert_non_null(strstr(l3, " - "));	/* unknown counts are '-' not 0 */
	buf_release(&b);
}

static void test_status_stable_keys(void **state)
{
	static const char *const keys[] = { "state", "job", "phase", "progress", "bytes_done",
		"bytes_total", "items_done", "items_total", "rate_bps", "eta_s", "started",
		"updated", "error" };
	struct vstatus st = { 0 };
	struct buf b = BUF_INIT(1 << 20);
	const char *p;
	size_t i;

	st.state = "creating";
	st.job = "snap-1";
	st.phase = "copy";
	st.bytes_done = 25;
	st.bytes_total = 100;
	st.eta_s = 3;
	st.error = "";
	assert_int_equal(vfile_status(&st, &b), 0);
	p = b.p;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t len = strlen(keys[i]);

		assert_memory_equal(p, keys[i], len);
		assert_int_equal(p[len], ' ');
		p = strchr(p, '\n') + 1;
	}
	assert_int_equal(*p, '\0');
	assert_non_null(strstr(b.p, "progress 25.00\n"));
	assert_non_null(strstr(b.p, "error -\n"));
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_human_size),
		cmocka_unit_test(test_backup_info_shows_counts_and_times),
		cmocka_unit_test(test_backup_info_meta_only),
		cmocka_unit_test(test_backup_info_json_exact_ids),
		cmocka_unit_test(test_incomplete_shows_reason_not_counts),
		cmocka_unit_test(test_root_table_aligned),
		cmocka_unit_test(test_status_stable_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
