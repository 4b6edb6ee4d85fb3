/*
 * test_meta.c - milvus-backup meta: every fixture version parses to the numbers .info must
 * show (expected.tsv, computed independently by gen-meta.py), 64-bit IDs survive exactly,
 * hostile JSON is an error and never a crash, and the writer reproduces milvus-backup main's
 * files byte for byte (milvus-backup-format.md §2.6 example, built from structs).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/format/meta.h"

#define FIX MVB_FIXTURES

static char *slurp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read a fixture file (NULL if absent); *len set via last_len. */
static size_t last_len;

static char *slurp(const char *fmt, ...)
{
	char path[1024];
	va_list ap;
	FILE *f;
	char *p;
	long n;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	last_len = (size_t)n;
	return p;
}

static void assert_same_text(const char *what, const char *got, size_t got_len,
			     const char *want, size_t want_len)
{
	if (got_len != want_len || memcmp(got, want, got_len)) {
		size_t i = 0;

		while (i < got_len && i < want_len && got[i] == want[i])
			i++;
		fprintf(stderr, "%s differs at byte %zu:\n got: %.80s\nwant: %.80s\n", what, i,
			got + (i > 20 ? i - 20 : 0), want + (i > 20 ? i - 20 : 0));
		fail();
	}
}

/* Compare all files written for `m` with the ones in directory `dir` (absent files must be
 * NULL in the output). */
static void assert_files_equal(const struct meta_backup *m, const char *dir)
{
	struct meta_files f;
	struct errmsg err;
	const char *names[5] = { "backup_meta", "collection_meta", "partition_meta",
				 "segment_meta", "full_meta" };
	char *got[5];
	size_t glen[5];

	assert_int_equal(meta_write_files(m, &f, &err), 0);
	got[0] = f.backup_meta, glen[0] = f.backup_meta_len;
	got[1] = f.collection_meta, glen[1] = f.collection_meta_len;
	got[2] = f.partition_meta, glen[2] = f.partition_meta_len;
	got[3] = f.segment_meta, glen[3] = f.segment_meta_len;
	got[4] = f.full_meta, glen[4] = f.full_meta_len;
	for (int i = 0; i < 5; i++) {
		char *want = slurp("%s/%s.json", dir, names[i]);

		assert_non_null(want);
		assert_non_null(got[i]);
		assert_same_text(names[i], got[i], glen[i], want, last_len);
		free(want);
	}
	meta_files_release(&f);
}

/* ---- building the §2.6 example from structs ------------------------------------------- */

static char *S(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

static void kvs1(struct meta_kvs *k, const char *key, const char *value)
{
	k->v = calloc(1, sizeof(*k->v));
	k->n = 1;
	k->v[0].key = S(key);
	k->v[0].value = S(value);
}

static void one_binlog(struct meta_field_binlog *fb, int64_t field, const char *path,
		       int64_t size, int64_t log_id)
{
	fb->field_id = field;
	fb->binlogs = calloc(1, sizeof(*fb->binlogs));
	fb->nbinlogs = 1;
	fb->binlogs[0].log_path = S(path);
	fb->binlogs[0].log_size = size;
	fb->binlogs[0].log_id = log_id;
}

static void data_segment(struct meta_segment *s, int64_t id, int64_t rows, const int64_t *sizes,
			 int64_t first_log, int64_t delta_log, int64_t delta_size)
{
	static const int64_t fields[5] = { 0, 1, 100, 101, 102 };
	char path[256];

	s->segment_id = id;
	s->collection_id = 462460699343929903;
	s->partition_id = 462460699343929904;
	s->num_of_rows = rows;
	s->binlogs = calloc(5, sizeof(*s->binlogs));
	s->nbinlogs = 5;
	s->size = 0;
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof(path),
			 "files/insert_log/462460699343929903/462460699343929904/%lld/%lld/%lld",
			 (long long)id, (long long)fields[i], (long long)(first_log + i));
		one_binlog(&s->binlogs[i], fields[i], path, sizes[i], first_log + i);
		s->size += sizes[i];
	}
	if (delta_log) {
		s->deltalogs = calloc(1, sizeof(*s->deltalogs));
		s->ndeltalogs = 1;
		snprintf(path, sizeof(path),
			 "files/delta_log/462460699343929903/462460699343929904/%lld/%lld",
			 (long long)id, (long long)delta_log);
		one_binlog(&s->deltalogs[0], 0, path, delta_size, delta_log);
		s->size += delta_size;
	}
	s->group_id = id;
	s->v_channel = S("by-dev-rootcoord-dml_0_462460699343929903v0");
}

static void build_example(struct meta_backup *b)
{
	static const int64_t a_sizes[5] = { 960123, 960127, 960140, 7200400, 368640512 };
	static const int64_t b_sizes[5] = { 280117, 280121, 280130, 2100050, 107520400 };
	struct meta_collection *c;
	struct meta_partition *p;
	struct meta_field *f;
	struct meta_index *x;
	struct meta_segment *l0;

	memset(b, 0, sizeof(*b));
	b->id = S("0c6f3a52-2b7e-4c38-9a57-5d1e7b6f2e90");
	b->name = S("nightly_2026_08_20");
	b->size = 489188264;
	b->milvus_version = S("v2.5.14");
	b->databases = calloc(1, sizeof(*b->databases));
	b->ndatabases = 1;
	b->databases[0].db_name = S("default");
	b->databases[0].db_id = 1;

	b->collections = c = calloc(1, sizeof(*c));
	b->ncollections = 1;
	c->id = S("0c6f3a52-2b7e-4c38-9a57-5d1e7b6f2e90");
	c->collection_id = 462460699343929903;
	c->db_name = S("default");
	c->collection_name = S("articles");
	c->has_schema = true;
	c->schema.name = S("articles");
	c->schema.description = S("news articles");
	c->schema.fields = f = calloc(3, sizeof(*f));
	c->schema.nfields = 3;
	f[0].field_id = 100, f[0].name = S("id"), f[0].is_primary_key = true, f[0].data_type = 5;
	f[1].field_id = 101, f[1].name = S("title"), f[1].data_type = 21;
	kvs1(&f[1].type_params, "max_length", "512");
	f[2].field_id = 102, f[2].name = S("embedding"), f[2].data_type = 101;
	kvs1(&f[2].type_params, "dim", "768");
	c->shards_num = 1;
	c->consistency_level = 2;
	c->partitions = p = calloc(1, sizeof(*p));
	c->npartitions = 1;
	p->partition_id = 462460699343929904;
	p->partition_name = S("_default");
	p->collection_id = 462460699343929903;
	p->load_state = S("Loaded");
	p->segments = calloc(2, sizeof(*p->segments));
	p->nsegments = 2;
	data_segment(&p->segments[0], 462460699352850089, 120000, a_sizes, 462460699352850091,
		     462460699352850150, 4096);
	data_segment(&p->segments[1], 462460699352850123, 35000, b_sizes, 462460699352850125, 0,
		     0);
	assert_int_equal(p->segments[0].size, 378725398);
	assert_int_equal(p->segments[1].size, 110460818);
	p->size = p->segments[0].size + p->segments[1].size;
	c->backup_timestamp = 468501449932800003ULL;
	c->size = 489188264;
	c->has_index = true;
	c->indexes = x = calloc(1, sizeof(*x));
	c->nindexes = 1;
	x->field_name = S("embedding");
	x->index_name = S("embedding_idx");
	x->index_type = S("HNSW");
	/* map keys deliberately out of order: Go writes maps sorted */
	x->params.v = calloc(3, sizeof(*x->params.v));
	x->params.n = 3;
	x->params.v[0].key = S("params");
	x->params.v[0].value = S("{\"M\":16,\"efConstruction\":200}");
	x->params.v[1].key = S("metric_type");
	x->params.v[1].value = S("COSINE");
	x->params.v[2].key = S("index_type");
	x->params.v[2].value = S("HNSW");
	x->index_id = 462460699343929950;
	c->load_state = S("Loaded");
	c->backup_physical_timestamp = 1787191200;
	kvs1(&c->channel_checkpoints, "by-dev-rootcoord-dml_0_462460699343929903v0",
	     "CitieS1kZXYtcm9vdGNvb3JkLWRtbF8wXzQ2MjQ2MDY5OTM0MzkyOTkwM3YwEggIsZwDEAAYABo7ZGF0YW5vZG"
	     "UtNy1ieS1kZXYtcm9vdGNvb3JkLWRtbF8wXzQ2MjQ2MDY5OTM0MzkyOTkwM3YwLXRydWUgg4CAoOLynMAG");
	c->l0_segments = l0 = calloc(1, sizeof(*l0));
	c->nl0_segments = 1;
	l0->segment_id = 462460699352850200;
	l0->collection_id = 462460699343929903;
	l0->partition_id = -1;
	l0->num_of_rows = 16;
	l0->deltalogs = calloc(1, sizeof(*l0->deltalogs));
	l0->ndeltalogs = 1;
	one_binlog(&l0->deltalogs[0], 0,
		   "files/delta_log/462460699343929903/-1/462460699352850200/462460699352850210",
		   2048, 462460699352850210);
	l0->size = 2048;
	l0->is_l0 = true;
	l0->v_channel = S("by-dev-rootcoord-dml_0_462460699343929903v0");
	c->db_id = 1;
	c->created_timestamp = 462460699343929900ULL;
	c->virtual_channel_names = calloc(1, sizeof(char *));
	c->virtual_channel_names[0] = S("by-dev-rootcoord-dml_0_462460699343929903v0");
	c->nvirtual_channel_names = 1;
	c->physical_channel_names = calloc(1, sizeof(char *));
	c->physical_channel_names[0] = S("by-dev-rootcoord-dml_0");
	c->nphysical_channel_names = 1;
}

static void test_spec_example_from_structs(void **state)
{
	struct meta_backup b;

	(void)state;
	build_example(&b);
	assert_files_equal(&b, FIX "/spec-2.6");
	meta_backup_release(&b);
}

static void check_example_values(const struct meta_backup *b)
{
	const struct meta_collection *c = &b->collections[0];

	assert_string_equal(b->name, "nightly_2026_08_20");
	assert_int_equal(b->ncollections, 1);
	assert_string_equal(c->db_name, "default");
	assert_int_equal(c->collection_id, 462460699343929903LL);
	assert_int_equal(c->partitions[0].segments[0].segment_id, 462460699352850089LL);
	assert_true(c->backup_timestamp == 468501449932800003ULL);
	assert_int_equal(meta_collection_entities(c), 155000);
	assert_int_equal(meta_collection_segments(c), 2);
	assert_int_equal(meta_backup_time(b), 1787191200);	/* 2026-08-20T02:00:00Z */
	assert_string_equal(c->indexes[0].params.v[2].key, "params");
	assert_string_equal(c->indexes[0].params.v[2].value, "{\"M\":16,\"efConstruction\":200}");
}

static void test_spec_example_roundtrip(void **state)
{
	struct meta_backup b;
	struct errmsg err;
	char *full = slurp("%s/spec-2.6/full_meta.json", FIX);

	(void)state;
	assert_non_null(full);
	assert_int_equal(meta_parse_full(full, last_len, &b, &err), 0);
	check_example_values(&b);
	assert_int_equal(meta_collection_size(&b.collections[0]), 489188264);
	assert_int_equal(meta_backup_size(&b), 489188264);
	assert_int_equal(b.collections[0].nl0_segments, 1);
	assert_files_equal(&b, FIX "/spec-2.6");
	meta_backup_release(&b);
	free(full);
}

/* The level files alone (no full_meta): the L0 of all partitions is not in them, and the
 * sizes are recomputed without it (§2.4). */
static void test_spec_example_levels(void **state)
{
	char *f[4];
	struct meta_backup b;
	size_t n[4];
	struct errmsg err;
	const char *names[4] = { "backup_meta", "collection_meta", "partition_meta",
				 "segment_meta" };

	(void)state;
	for (int i = 0; i < 4; i++) {
		f[i] = slurp("%s/spec-2.6/%s.json", FIX, names[i]);
		assert_non_null(f[i]);
		n[i] = last_len;
	}
	assert_int_equal(meta_parse_levels(f[0], n[0], f[1], n[1], f[2], n[2], f[3], n[3], &b,
					   &err), 0);
	assert_int_equal(b.ncollections, 1);
	assert_int_equal(b.collections[0].npartitions, 1);
	assert_int_equal(b.collections[0].partitions[0].nsegments, 2);
	assert_int_equal(b.collections[0].nl0_segments, 0);
	assert_int_equal(b.collections[0].size, 489186216);
	assert_int_equal(b.size, 489186216);
	assert_int_equal(meta_collection_entities(&b.collections[0]), 155000);
	assert_int_equal(b.collections[0].partitions[0].segments[1].deltalogs == NULL, 1);
	meta_backup_release(&b);
	for (int i = 0; i < 4; i++)
		free(f[i]);
}

/* ---- exact 64-bit integers, bad input -------------------------------------------------- */

static void test_bigints(void **state)
{
	static const char j[] =
		"{\"name\":\"x\",\"collection_backups\":[{\"collection_id\":9007199254740993,"
		"\"backup_timestamp\":18446744073709551,\"partition_backups\":[{\"partition_id\":"
		"9223372036854775807,\"collection_id\":9007199254740993,\"segment_backups\":[{"
		"\"segment_id\":462460699352850089,\"partition_id\":-1,\"num_of_rows\":1e3,"
		"\"size\":9007199254740995}]}]}]}";
	struct meta_backup b;
	struct errmsg err;

	(void)state;
	assert_int_equal(meta_parse_full(j, sizeof(j) - 1, &b, &err), 0);
	assert_true(b.collections[0].collection_id == 9007199254740993LL);
	assert_true(b.collections[0].backup_timestamp == 18446744073709551ULL);
	assert_true(b.collections[0].partitions[0].partition_id == INT64_MAX);
	assert_true(b.collections[0].partitions[0].segments[0].segment_id ==
		    462460699352850089LL);
	assert_true(b.collections[0].partitions[0].segments[0].partition_id == -1);
	assert_true(b.collections[0].partitions[0].segments[0].num_of_rows == 1000);
	assert_true(b.collections[0].partitions[0].segments[0].size == 9007199254740995LL);
	assert_string_equal(b.collections[0].db_name, "default");
	meta_backup_release(&b);
}

static void expect_einval(const char *j)
{
	struct meta_backup b;
	struct errmsg err = { "" };
	int rc = meta_parse_full(j, strlen(j), &b, &err);

	if (rc != -EINVAL)
		fprintf(stderr, "input %.60s: rc %d\n", j, rc);
	assert_int_equal(rc, -EINVAL);
	assert_true(err.msg[0] != '\0');
	/* released on failure: all pointers NULL */
	assert_null(b.collections);
	assert_null(b.name);
}

static void test_garbage(void **state)
{
	static const char *const bad[] = {
		"", " ", "{", "}", "[]", "null", "42", "\"s\"", "{\"name\":",
		"{\"size\":\"12\"}",
		"{\"size\":1.5}",
		"{\"size\":9223372036854775808}",
		"{\"size\":-9223372036854775809}",
		"{\"collection_backups\":5}",
		"{\"collection_backups\":[1]}",
		"{\"collection_backups\":[{\"backup_timestamp\":-1}]}",
		"{\"collection_backups\":[{\"shards_num\":4294967296}]}",
		"{\"collection_backups\":[{\"schema\":[]}]}",
		"{\"collection_backups\":[{\"schema\":{\"fields\":[{\"type_params\":[7]}]}}]}",
		"{\"collection_backups\":[{\"partition_backups\":[{\"segment_backups\":[{"
		"\"binlogs\":[{\"binlogs\":[{\"log_size\":true}]}]}]}]}]}",
		"{\"collection_backups\":[{\"index_infos\":[{\"params\":{\"a\":1}}]}]}",
		"{\"collection_backups\":[{\"aliases\":[\"a\",2]}]}",
		"{\"name\":\"a\\u0000b\"}",
		"{\"name\":\"\xff\"}",
		"{\"collection_backups\":[{\"has_index\":1}]}",
		"{\"a\":1}garbage",
	};
	char deep[200001];
	struct meta_backup b;
	struct errmsg err;
	char *full;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_einval(bad[i]);

	/* nesting far beyond jansson's depth limit */
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	expect_einval(deep);
	memset(deep, ' ', sizeof(deep) - 1);
	memcpy(deep, "{\"collection_backups\":", 22);
	for (size_t i = 22; i < sizeof(deep) - 1; i++)
		deep[i] = '[';
	expect_einval(deep);

	/* every truncation of a real file is an error, never a crash or a partial tree */
	full = slurp("%s/backups/v0_6_main/meta/full_meta.json", FIX);
	assert_non_null(full);
	len = last_len;
	for (size_t n = 0; n < len; n += 13) {
		assert_int_equal(meta_parse_full(full, n, &b, &err), -EINVAL);
		assert_null(b.collections);
	}
	/* level files: a segment of an unknown partition is refused */
	assert_int_equal(meta_parse_levels("{}", 2, "{\"infos\":[{\"collection_id\":1}]}", 31,
					   "{}", 2,
					   "{\"infos\":[{\"collection_id\":1,\"partition_id\":2}]}",
					   48, &b, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown partition"));
	assert_int_equal(meta_parse_levels("{}", 2, "{}", 2,
					   "{\"infos\":[{\"collection_id\":1,\"partition_id\":2}]}",
					   48, "{}", 2, &b, &err), -EINVAL);
	assert_int_equal(meta_parse_levels("{}", 2, "{}", 2, "{}", 2, "nope", 4, &b, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "segment_meta.json"));
	free(full);
}

/* Unknown keys, nulls and an empty object are fine (Go ignores them). */
static void test_tolerant(void **state)
{
	static const char j[] = "{\"unknown\":{\"x\":[1,2]},\"name\":null,\"size\":null,"
				"\"collection_backups\":[{}],\"rbac_meta\":{\"users\":[{\"user\":"
				"\"u<&>\",\"roles\":[{\"name\":\"admin\"}]}]},"
				"\"physical_channel_names\":[\"p0\"]}";
	struct meta_backup b;
	struct meta_files f;
	struct errmsg err;

	(void)state;
	assert_int_equal(meta_parse_full(j, sizeof(j) - 1, &b, &err), 0);
	assert_string_equal(b.name, "");
	assert_int_equal(b.ncollections, 1);
	assert_string_equal(b.collections[0].db_name, "default");
	assert_string_equal(b.collections[0].collection_name, "");
	assert_false(b.collections[0].has_schema);
	assert_string_equal(b.rbac_meta_json,
			    "{\"users\":[{\"user\":\"u\\u003c\\u0026\\u003e\",\"roles\":"
			    "[{\"name\":\"admin\"}]}]}");
	assert_int_equal(meta_backup_time(&b), 0);
	assert_int_equal(meta_write_files(&b, &f, &err), 0);
	assert_string_equal(f.backup_meta, "{\"state_code\":0,\"size\":0}");
	assert_string_equal(f.partition_meta, "{}");
	assert_string_equal(f.segment_meta, "{}");
	assert_string_equal(f.full_meta,
			    "{\"state_code\":0,\"collection_backups\":[{\"db_name\":\"default\","
			    "\"size\":0,\"has_index\":false}],\"size\":0,\"rbac_meta\":{\"users\":"
			    "[{\"user\":\"u\\u003c\\u0026\\u003e\",\"roles\":[{\"name\":\"admin\"}]}]"
			    "},\"physical_channel_names\":[\"p0\"]}");
	meta_files_release(&f);
	meta_backup_release(&b);
}

/* ---- every fixture version against expected.tsv ----------------------------------------- */

struct expect_row {
	char backup[64], state[16], db[64], coll[64];
	long long entities, size, created;
};

static size_t load_expected(struct expect_row *rows, size_t max)
{
	char *t = slurp("%s/expected.tsv", FIX), *line, *save = NULL;
	size_t n = 0;

	assert_non_null(t);
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		assert_true(n < max);
		assert_int_equal(sscanf(line, "%63[^\t]\t%15[^\t]\t%63[^\t]\t%63[^\t]\t%lld\t%lld\t%lld",
					rows[n].backup, rows[n].state, rows[n].db, rows[n].coll,
					&rows[n].entities, &rows[n].size, &rows[n].created), 7);
		n++;
	}
	free(t);
	return n;
}

/* Parse a fixture backup the way backup_read would: full_meta.json, else the levels. */
static int parse_fixture(const char *name, struct meta_backup *b, bool force_levels)
{
	const char *names[4] = { "backup_meta", "collection_meta", "partition_meta",
				 "segment_meta" };
	struct errmsg err;
	char *f[4];
	size_t n[4];
	char *full = force_levels ? NULL
				  : slurp("%s/backups/%s/meta/full_meta.json", FIX, name);
	int rc;

	if (full) {
		rc = meta_parse_full(full, last_len, b, &err);
		if (rc)
			fprintf(stderr, "%s: %s\n", name, err.msg);
		free(full);
		return rc;
	}
	for (int i = 0; i < 4; i++) {
		f[i] = slurp("%s/backups/%s/meta/%s.json", FIX, name, names[i]);
		assert_non_null(f[i]);
		n[i] = last_len;
	}
	rc = meta_parse_levels(f[0], n[0], f[1], n[1], f[2], n[2], f[3], n[3], b, &err);
	if (rc)
		fprintf(stderr, "%s: %s\n", name, err.msg);
	for (int i = 0; i < 4; i++)
		free(f[i]);
	return rc;
}

static void test_fixture_versions(void **state)
{
	struct expect_row rows[64];
	size_t n = load_expected(rows, 64), checked = 0;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		struct meta_backup b;
		int64_t ent = 0;

		if (strcmp(rows[i].db, "*"))
			continue;
		assert_int_equal(parse_fixture(rows[i].backup, &b, false), 0);
		for (size_t c = 0; c < b.ncollections; c++)
			ent += meta_collection_entities(&b.collections[c]);
		assert_int_equal(ent, rows[i].entities);
		assert_int_equal(meta_backup_size(&b), rows[i].size);
		assert_int_equal(meta_backup_time(&b), rows[i].created);
		assert_string_equal(b.name, rows[i].backup);
		/* the collection rows that follow */
		for (size_t j = i + 1; j < n && !strcmp(rows[j].backup, rows[i].backup); j++) {
			const struct meta_collection *c = NULL;

			for (size_t k = 0; k < b.ncollections; k++)
				if (!strcmp(b.collections[k].collection_name, rows[j].coll))
					c = &b.collections[k];
			assert_non_null(c);
			assert_string_equal(c->db_name, rows[j].db);
			assert_int_equal(meta_collection_entities(c), rows[j].entities);
			assert_int_equal(meta_collection_size(c), rows[j].size);
			checked++;
		}
		meta_backup_release(&b);
	}
	assert_true(checked >= 9);
}

/* Every fixture's level files agree with its full_meta on rows (sizes may differ by the L0
 * of all partitions, §2.4). */
static void test_fixture_levels_agree(void **state)
{
	static const char *const names[] = { "v0_6_main", "v0_5_9", "v0_5_4", "v0_4_30",
					     "v0_4_12", "no_dbname", "broken_incomplete" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct meta_backup full, lev;
		bool has_full = strcmp(names[i], "broken_incomplete") != 0;

		assert_int_equal(parse_fixture(names[i], &lev, true), 0);
		if (has_full) {
			assert_int_equal(parse_fixture(names[i], &full, false), 0);
			assert_int_equal(lev.ncollections, full.ncollections);
			for (size_t c = 0; c < lev.ncollections; c++) {
				assert_int_equal(meta_collection_entities(&lev.collections[c]),
						 meta_collection_entities(&full.collections[c]));
				assert_int_equal(lev.collections[c].npartitions,
						 full.collections[c].npartitions);
			}
			meta_backup_release(&full);
		}
		meta_backup_release(&lev);
	}
}

static void test_v0_4_quirks(void **state)
{
	struct meta_backup b;
	const struct meta_segment *s, *t;

	(void)state;
	assert_int_equal(parse_fixture("v0_4_30", &b, false), 0);
	assert_int_equal(b.state_code, META_BACKUP_SUCCESS);
	assert_int_equal(b.start_time, 1735689600000LL);
	assert_int_equal(b.end_time, 1735689660000LL);
	assert_int_equal(b.progress, 100);
	s = &b.collections[0].partitions[0].segments[0];
	t = &b.collections[0].partitions[0].segments[1];
	/* one FieldBinlog per delta file, with a bogus fieldID (the log ID) */
	assert_int_equal(s->ndeltalogs, 2);
	assert_int_equal(s->deltalogs[0].field_id, s->deltalogs[0].binlogs[0].log_id);
	/* no log_id in the JSON: taken from log_path */
	assert_true(s->binlogs[0].binlogs[0].log_id_derived);
	assert_int_equal(s->binlogs[0].binlogs[0].log_id, 445000000000000103LL);
	/* "deltalogs":[{}] */
	assert_int_equal(t->ndeltalogs, 1);
	assert_int_equal(t->deltalogs[0].nbinlogs, 0);
	assert_true(s->backuped);
	assert_int_equal(b.collections[0].start_time, 1735689600);
	meta_backup_release(&b);

	/* stripped collection_meta (no partitions) rebuilt from the level files */
	assert_int_equal(parse_fixture("v0_3_0_nofull", &b, true), 0);
	assert_int_equal(b.ncollections, 1);
	assert_int_equal(b.collections[0].npartitions, 1);
	assert_int_equal(b.collections[0].partitions[0].nsegments, 2);
	assert_int_equal(b.collections[0].partitions[0].segments[0].group_id, 0);
	assert_string_equal(b.collections[0].db_name, "default");
	assert_string_equal(b.collections[0].id, "9d8c7b6a-5f4e-4d3c-8b2a-000000000002");
	assert_true(b.size > 0);	/* stored 0 (v0.3.0), recomputed */
	meta_backup_release(&b);

	assert_int_equal(parse_fixture("no_dbname", &b, false), 0);
	assert_string_equal(b.collections[0].db_name, "default");
	assert_string_equal(b.collections[1].db_name, "default");
	meta_backup_release(&b);
}

/* The main-format fixture: parse -> write reproduces all five files byte for byte, and its
 * IDs above 2^53 are exact. */
static void test_main_fixture_roundtrip(void **state)
{
	struct meta_backup b;
	const struct meta_collection *c;

	(void)state;
	assert_int_equal(parse_fixture("v0_6_main", &b, false), 0);
	assert_int_equal(b.ncollections, 3);
	assert_int_equal(b.ndatabases, 2);
	c = &b.collections[0];
	assert_int_equal(c->partitions[0].segments[1].segment_id, 9007199254740993LL);
	assert_int_equal(c->partitions[0].segments[1].binlogs[0].binlogs[0].log_id,
			 9007199254740995LL);
	assert_int_equal(c->nl0_segments, 1);
	assert_int_equal(c->partitions[0].segments[0].binlogs[4].binlogs[0].log_size, 67108864);
	assert_int_equal(b.collections[2].collection_id, 9007199254740995LL);
	assert_int_equal(b.collections[2].partitions[0].segments[0].storage_version, 2);
	assert_int_equal(b.collections[2].partitions[0].segments[0].binlogs[0].field_id, 0);
	assert_int_equal(b.databases[1].db_id, 462460699300000001LL);
	/* the partition-scoped L0 segment counts for size, not for entities or segments */
	assert_int_equal(meta_collection_segments(&b.collections[1]), 2);
	assert_files_equal(&b, FIX "/backups/v0_6_main/meta");
	meta_backup_release(&b);
}

static void test_backup_time(void **state)
{
	struct meta_collection c[2];
	struct meta_backup b;

	(void)state;
	memset(&b, 0, sizeof(b));
	memset(c, 0, sizeof(c));
	b.collections = c;
	b.ncollections = 2;
	assert_int_equal(meta_backup_time(&b), 0);		/* nothing: never 1970 */
	c[0].backup_timestamp = 5;				/* implausible */
	assert_int_equal(meta_backup_time(&b), 0);
	c[0].backup_timestamp = 468501449932800003ULL;		/* TSO: ms after >> 18 */
	assert_int_equal(meta_backup_time(&b), 1787191200);
	c[1].backup_timestamp = (uint64_t)1704067200 << 18;	/* v0.3-0.4.12: s << 18 */
	assert_int_equal(meta_backup_time(&b), 1704067200);	/* the earliest */
	c[1].backup_physical_timestamp = 1790000000;		/* (2) beats (3) */
	assert_int_equal(meta_backup_time(&b), 1790000000);
	b.backup_timestamp = 1700000000123ULL;			/* (1) root, ms */
	assert_int_equal(meta_backup_time(&b), 1700000000);
	b.end_time = 1600000000999;
	assert_int_equal(meta_backup_time(&b), 1600000000);
	b.start_time = 1600000000000 - 60000;
	assert_int_equal(meta_backup_time(&b), 1600000000 - 60);
	b.start_time = 1;					/* implausible: skipped */
	assert_int_equal(meta_backup_time(&b), 1600000000);
}

static void test_go_escaping(void **state)
{
	struct buf b = BUF_INIT(1024);

	(void)state;
	assert_int_equal(meta_json_string(&b, "a\"b\\c\n\r\t\b\f\x01\x1f<>&\x7f"), 0);
	assert_string_equal(b.p, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\\u003c\\u003e"
				 "\\u0026\x7f\"");
	buf_reset(&b);
	/* valid UTF-8 passes, U+2028/9 are escaped, invalid bytes become U+FFFD one by one */
	assert_int_equal(meta_json_string(&b, "\xc3\xa9\xe2\x80\xa8\xe2\x80\xa9\xf0\x9f\x98\x80"
					      "\xff\xc3\xed\xa0\x80"), 0);
	assert_string_equal(b.p, "\"\xc3\xa9\\u2028\\u2029\xf0\x9f\x98\x80\\ufffd\\ufffd"
				 "\\ufffd\\ufffd\\ufffd\"");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example_from_structs),
		cmocka_unit_test(test_spec_example_roundtrip),
		cmocka_unit_test(test_spec_example_levels),
		cmocka_unit_test(test_bigints),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_tolerant),
		cmocka_unit_test(test_fixture_versions),
		cmocka_unit_test(test_fixture_levels_agree),
		cmocka_unit_test(test_v0_4_quirks),
		cmocka_unit_test(test_main_fixture_roundtrip),
		cmocka_unit_test(test_backup_time),
		cmocka_unit_test(test_go_escaping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
