/*
 * test_meta_sums.c - sums of untrusted meta numbers (issue 6, bug 10): num_of_rows and size
 * of a crafted meta add up past INT64_MAX.  The totals .info shows (entities, sizes) saturate
 * at INT64_MAX instead of overflowing (undefined behaviour; UBSan aborts the ASan build, a
 * plain build wraps to a negative count).  Checked on the meta module's derived values, on the
 * sizes meta_parse_levels recomputes, and end to end on a backup's summary read through the
 * namespace from a local store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/storage/local.h"
#include "mvbackupfs/format/meta.h"
#include "mvbackupfs/fs/namespace.h"
#include "mvbackupfs/storage/objstore.h"

#define BIG "9223372036854775807"	/* INT64_MAX */

/* Two collections, each with two data segments of INT64_MAX rows and bytes; sizes unset, so
 * every total is a sum. */
static const char full[] =
	"{\"name\":\"b\",\"state_code\":2,\"collection_backups\":["
	"{\"collection_id\":1,\"collection_name\":\"c1\",\"partition_backups\":[{\"partition_id\":2,"
	"\"collection_id\":1,\"segment_backups\":["
	"{\"segment_id\":3,\"collection_id\":1,\"partition_id\":2,\"num_of_rows\":" BIG ",\"size\":" BIG "},"
	"{\"segment_id\":4,\"collection_id\":1,\"partition_id\":2,\"num_of_rows\":" BIG ",\"size\":" BIG "}]}],"
	"\"l0_segments\":[{\"segment_id\":5,\"collection_id\":1,\"partition_id\":-1,\"size\":" BIG ",\"is_l0\":true}]},"
	"{\"collection_id\":6,\"collection_name\":\"c2\",\"partition_backups\":[{\"partition_id\":7,"
	"\"collection_id\":6,\"segment_backups\":["
	"{\"segment_id\":8,\"collection_id\":6,\"partition_id\":7,\"num_of_rows\":" BIG ",\"size\":" BIG "},"
	"{\"segment_id\":9,\"collection_id\":6,\"partition_id\":7,\"num_of_rows\":-5,\"size\":-5}]}]}]}";

static void test_derived_sums_saturate(void **state)
{
	struct meta_backup b;
	struct errmsg err;

	(void)state;
	assert_int_equal(meta_parse_full(full, sizeof(full) - 1, &b, &err), 0);
	assert_int_equal(b.ncollections, 2);
	assert_true(meta_collection_entities(&b.collections[0]) == INT64_MAX);
	assert_true(meta_collection_size(&b.collections[0]) == INT64_MAX);
	/* saturated, then -5: the clamp is sticky only at the limit it hit */
	assert_true(meta_collection_entities(&b.collections[1]) == INT64_MAX - 5);
	assert_true(meta_backup_size(&b) == INT64_MAX);
	meta_backup_release(&b);

	assert_true(meta_sat_add(INT64_MAX, 1) == INT64_MAX);
	assert_true(meta_sat_add(INT64_MIN, -1) == INT64_MIN);
	assert_true(meta_sat_add(-3, 5) == 2);
}

/* meta_parse_levels recomputes partition, collection and backup sizes from the segments. */
static void test_level_sizes_saturate(void **state)
{
	static const char backup[] = "{\"name\":\"b\",\"size\":1}";
	static const char coll[] = "{\"infos\":[{\"collection_id\":1,\"collection_name\":\"c1\"},"
				   "{\"collection_id\":6,\"collection_name\":\"c2\"}]}";
	static const char part[] = "{\"infos\":[{\"partition_id\":2,\"collection_id\":1},"
				   "{\"partition_id\":7,\"collection_id\":6}]}";
	static const char seg[] =
		"{\"infos\":[{\"segment_id\":3,\"collection_id\":1,\"partition_id\":2,\"size\":" BIG "},"
		"{\"segment_id\":4,\"collection_id\":1,\"partition_id\":2,\"size\":" BIG "},"
		"{\"segment_id\":8,\"collection_id\":6,\"partition_id\":7,\"size\":" BIG "}]}";
	struct meta_backup b;
	struct errmsg err;

	(void)state;
	assert_int_equal(meta_parse_levels(backup, sizeof(backup) - 1, coll, sizeof(coll) - 1,
					   part, sizeof(part) - 1, seg, sizeof(seg) - 1, &b, &err), 0);
	assert_true(b.collections[0].partitions[0].size == INT64_MAX);
	assert_true(b.collections[0].size == INT64_MAX);
	assert_true(b.collections[1].size == INT64_MAX);
	assert_true(b.size == INT64_MAX);
	meta_backup_release(&b);
}

/* What .info shows: the backup's summary, read from a local store through the namespace. */
static void test_summary_entities_saturate(void **state)
{
	char dir[] = "/tmp/mvb-test-sums.XXXXXX", cmd[64];
	struct objstore *store = NULL;
	struct ns_config cfg = { .ttl_ms = 1000, .resolve_parallel = 1 };
	struct ns_summary s;
	struct ns *n = NULL;
	struct errmsg err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(local_store_new(dir, &store, &err), 0);
	assert_int_equal(objstore_put(store, "backup/b/meta/full_meta.json", full, sizeof(full) - 1,
				      0, &err), 0);
	/* a committed backup has backup_meta.json too (full_meta.json alone reads incomplete) */
	assert_int_equal(objstore_put(store, "backup/b/meta/backup_meta.json", full, sizeof(full) - 1,
				      0, &err), 0);
	assert_int_equal(ns_new(store, "backup", &cfg, &n), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(ns_backup_summary(n, "b", &s, &err), 0);
	assert_int_equal(s.ncollections, 2);
	assert_true(s.collections[0].entities == INT64_MAX);
	assert_true(s.entities == INT64_MAX);
	assert_true(s.size == INT64_MAX);
	ns_summary_release(&s);
	ns_free(n);
	objstore_free(store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derived_sums_saturate),
		cmocka_unit_test(test_level_sizes_saturate),
		cmocka_unit_test(test_summary_entities_saturate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
