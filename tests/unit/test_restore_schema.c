/*
 * test_restore_schema.c - the pure parts of a restore's DDL (restore.h, restore_cmd.h):
 * which fields were added after creation (milvus-backup's GuessDynFieldID, format §4.1 6.1),
 * the CreateIndex parameters (useAutoIndex, marisa-trie, skip_index_params), index names, and
 * the .restore keys that carry skipParams / useAutoIndex.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mvbackupfs/jobs/restore.h"
#include "mvbackupfs/jobs/restore_cmd.h"

static struct meta_schema schema(struct meta_field *f, size_t n, int dynamic)
{
	struct meta_schema s;

	memset(&s, 0, sizeof(s));
	s.fields = f;
	s.nfields = n;
	s.enable_dynamic_field = dynamic;
	return s;
}

static void test_dyn_field_id(void **state)
{
	/* created with 100..102 ($meta got 103), then 104 and 105 added */
	struct meta_field f[5] = { { .field_id = 100 }, { .field_id = 101 }, { .field_id = 102 },
				   { .field_id = 104 }, { .field_id = 105 } };
	struct meta_schema s = schema(f, 5, 1);

	(void)state;
	assert_int_equal(restore_dyn_field_id(&s), 103);
	assert_false(restore_field_added_later(&s, &f[2]));
	assert_true(restore_field_added_later(&s, &f[3]));
	assert_true(restore_field_added_later(&s, &f[4]));
	/* no gap: nothing added, $meta = max + 1 */
	s.nfields = 3;
	assert_int_equal(restore_dyn_field_id(&s), 103);
	assert_false(restore_field_added_later(&s, &f[2]));
	/* order in the backup does not matter */
	{
		struct meta_field g[4] = { { .field_id = 105 }, { .field_id = 100 },
					   { .field_id = 101 }, { .field_id = 104 } };
		struct meta_schema t = schema(g, 4, 1);

		assert_int_equal(restore_dyn_field_id(&t), 102);
		assert_true(restore_field_added_later(&t, &g[0]));
		assert_true(restore_field_added_later(&t, &g[3]));
		assert_false(restore_field_added_later(&t, &g[2]));
	}
	/* $meta in the backup (read from etcd): its ID decides */
	{
		struct meta_field g[4] = { { .field_id = 100 }, { .field_id = 101 },
					   { .field_id = 102, .is_dynamic = true },
					   { .field_id = 103 } };
		struct meta_schema t = schema(g, 4, 1);

		assert_int_equal(restore_dyn_field_id(&t), 102);
		assert_false(restore_field_added_later(&t, &g[2]));
		assert_true(restore_field_added_later(&t, &g[3]));
	}
	/* without a dynamic field nothing can be told: all created at once */
	s = schema(f, 5, 0);
	assert_int_equal(restore_dyn_field_id(&s), 0);
	assert_false(restore_field_added_later(&s, &f[4]));
}

static const char *kv(const struct meta_kvs *k, const char *key)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (!strcmp(k->v[i].key, key))
			return k->v[i].value;
	return NULL;
}

static void test_index_params(void **state)
{
	struct meta_kv p[3] = { { "index_type", "HNSW" }, { "metric_type", "COSINE" },
				{ "params", "{\"M\":16}" } };
	struct meta_kv t[2] = { { "index_type", "marisa-trie" }, { "mmap.enabled", "true" } };
	struct meta_index vec = { .field_name = "vec", .index_name = "vec_idx",
				  .params = { p, 3 } };
	struct meta_index trie = { .field_name = "title", .index_name = "/a/b",
				   .params = { t, 2 } };
	struct restore_keys none = { 0 };
	char *mm[1] = { "mmap.enabled" };
	struct restore_keys skip = { mm, 1 };
	struct meta_kvs out = { 0 };

	(void)state;
	assert_int_equal(restore_index_params(&vec, 1, 0, &none, &out), 0);
	assert_int_equal(out.n, 3);
	assert_string_equal(kv(&out, "index_type"), "HNSW");
	assert_string_equal(kv(&out, "params"), "{\"M\":16}");
	meta_kvs_release(&out);
	assert_int_equal(restore_index_params(&vec, 1, 1, &none, &out), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(kv(&out, "index_type"), "AUTOINDEX");
	assert_string_equal(kv(&out, "metric_type"), "COSINE");
	meta_kvs_release(&out);
	/* auto_index leaves scalar indexes alone; marisa-trie becomes Trie; skip drops keys */
	assert_int_equal(restore_index_params(&trie, 0, 1, &skip, &out), 0);
	assert_int_equal(out.n, 1);
	assert_string_equal(kv(&out, "index_type"), "Trie");
	meta_kvs_release(&out);
	assert_string_equal(restore_index_name(&vec, 1), "vec_idx");
	assert_string_equal(restore_index_name(&trie, 0), "");
	trie.index_name = "title_idx";
	assert_string_equal(restore_index_name(&trie, 0), "title_idx");
	trie.index_name = "9x";
	assert_string_equal(restore_index_name(&trie, 0), "");
}

static void test_cmd_keys(void **state)
{
	const char *s = "suffix=_r auto_index=1 skip_collection_properties=mmap.enabled,"
			"collection.ttl.seconds skip_field_type_params=max_length "
			"skip_field_index_params=mmap.enabled skip_index_params=params";
	struct restore_cmd c;
	struct errmsg e = { "" };

	(void)state;
	assert_int_equal(restore_cmd_parse(s, strlen(s), &c, &e), 0);
	assert_int_equal(c.auto_index, 1);
	assert_int_equal(c.skip_coll_props.n, 2);
	assert_true(restore_keys_has(&c.skip_coll_props, "collection.ttl.seconds"));
	assert_true(restore_keys_has(&c.skip_field_type, "max_length"));
	assert_true(restore_keys_has(&c.skip_field_index, "mmap.enabled"));
	assert_true(restore_keys_has(&c.skip_index, "params"));
	assert_false(restore_keys_has(&c.skip_index, "index_type"));
	restore_cmd_release(&c);
	assert_int_equal(restore_cmd_parse("auto_index=2", 12, &c, &e), -EINVAL);
	restore_cmd_release(&c);
	assert_int_equal(restore_cmd_parse("skip_index_params=a,,b", 22, &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "empty key"));
	restore_cmd_release(&c);
	assert_int_equal(restore_cmd_parse("skip_index_params=a,", 20, &c, &e), -EINVAL);
	restore_cmd_release(&c);
	assert_int_equal(restore_cmd_parse("skip_index_params=a=b", 21, &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "bad key"));
	restore_cmd_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dyn_field_id),
		cmocka_unit_test(test_index_params),
		cmocka_unit_test(test_cmd_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
