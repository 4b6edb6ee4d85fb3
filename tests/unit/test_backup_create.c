/*
 * test_backup_create.c - the pure parts of the snapshot job: --filter parsing, Milvus binlog
 * key parsing, backup-side key building (doubled segment dir, all-partition L0 without a
 * group dir), grouping listed binlogs into segments, size sums, checkpoint timestamps, UUIDs
 * and the schema conversion (milvus-backup-format.md §1.3, §2.3, §2.6, §3.3).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mvbackupfs/jobs/backup_create.h"
#include "mvbackupfs/rpc/milvus_client.h"
#include "mvbackupfs/base/b64.h"
#include "schema_convert.h"
#include "msg.pb-c.h"

static void test_filter(void **state)
{
	struct backup_filter f;
	struct errmsg err = { "" };

	(void)state;
	assert_int_equal(backup_filter_parse("db1.coll1, db2.* ,db3.,coll3,db1.coll2,db1.coll1,"
					     "db2.x", &f, &err), 0);
	assert_int_equal(f.ndbs, 4);
	assert_string_equal(f.dbs[0].db, "db1");
	assert_int_equal(f.dbs[0].all, 0);
	assert_int_equal(f.dbs[0].ncolls, 2);	/* the repeated coll1 is kept once */
	assert_string_equal(f.dbs[0].colls[0], "coll1");
	assert_string_equal(f.dbs[0].colls[1], "coll2");
	assert_string_equal(f.dbs[1].db, "db2");
	assert_int_equal(f.dbs[1].all, 1);
	assert_string_equal(f.dbs[2].db, "db3");
	assert_int_equal(f.dbs[2].db_only, 1);
	assert_int_equal(f.dbs[2].ncolls, 0);
	assert_int_equal(f.dbs[2].all, 0);
	assert_string_equal(f.dbs[3].db, "default");	/* a bare name is in "default" */
	assert_int_equal(f.dbs[3].ncolls, 1);
	assert_string_equal(f.dbs[3].colls[0], "coll3");
	backup_filter_release(&f);
	assert_null(f.dbs);

	assert_int_equal(backup_filter_parse("", &f, &err), 0);
	assert_int_equal(f.ndbs, 0);
	assert_int_equal(backup_filter_parse(NULL, &f, &err), 0);
	assert_int_equal(f.ndbs, 0);
	assert_int_equal(backup_filter_parse(" , ,", &f, &err), 0);
	assert_int_equal(f.ndbs, 0);

	assert_int_equal(backup_filter_parse("db1.a,.coll", &f, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'.coll'"));
	assert_null(f.dbs);
	assert_int_equal(backup_filter_parse(".", &f, &err), -EINVAL);
}

static void test_key_parse(void **state)
{
	struct backup_binlog_key k;

	(void)state;
	assert_int_equal(backup_binlog_key_parse("files", "files/insert_log/462460699343929903/"
			 "462460699343929904/462460699352850089/102/462460699352850095", &k), 0);
	assert_int_equal(k.kind, BACKUP_LOG_INSERT);
	assert_true(k.collection_id == 462460699343929903LL);	/* > 2^53, exact */
	assert_true(k.partition_id == 462460699343929904LL);
	assert_true(k.segment_id == 462460699352850089LL);
	assert_int_equal(k.field_id, 102);
	assert_true(k.log_id == 462460699352850095LL);

	assert_int_equal(backup_binlog_key_parse("files", "files/delta_log/1/-1/3/9007199254740993",
						 &k), 0);
	assert_int_equal(k.kind, BACKUP_LOG_DELTA);
	assert_int_equal(k.partition_id, -1);
	assert_int_equal(k.segment_id, 3);
	assert_int_equal(k.field_id, 0);
	assert_true(k.log_id == 9007199254740993LL);	/* 2^53 + 1 */

	/* an empty root: keys start at the bucket root */
	assert_int_equal(backup_binlog_key_parse("", "insert_log/1/2/3/0/5", &k), 0);
	assert_int_equal(k.field_id, 0);
	assert_int_equal(backup_binlog_key_parse("a/b", "a/b/delta_log/1/2/3/4", &k), 0);

	/* not binlogs of this layout: skipped by the caller */
	assert_int_equal(backup_binlog_key_parse("files", "file/insert_log/1/2/3/0/5", &k), -EINVAL);
	assert_int_equal(backup_binlog_key_parse("files", "filesx/insert_log/1/2/3/0/5", &k),
			 -EINVAL);
	assert_int_equal(backup_binlog_key_parse("files", "files/insert_log/1/-1/3/0/5", &k),
			 -EINVAL);	/* only delta logs have partition -1 */
	assert_int_equal(backup_binlog_key_parse("files", "files/insert_log/1/2/3/101/lob/7", &k),
			 -EINVAL);
	assert_int_equal(backup_binlog_key_parse("files", "files/insert_log/1/2/3/0", &k), -EINVAL);
	assert_int_equal(backup_binlog_key_parse("files", "files/delta_log/1/2/3/4/5", &k), -EINVAL);
	assert_int_equal(backup_binlog_key_parse("files", "files/delta_log/1/-2/3/4", &k), -EINVAL);
	assert_int_equal(backup_binlog_key_parse("files", "files/delta_log/1/2//4", &k), -EINVAL);
	assert_int_equal(backup_binlog_key_parse("files", "files/delta_log/1/2/3/4x", &k), -EINVAL);
	assert_int_equal(backup_binlog_key_parse("files", "files/stats_log/1/2/3/4/5", &k), -EINVAL);
	assert_int_equal(backup_binlog_key_parse("files", "files/insert_log/1/2/3/4/"
						 "99999999999999999999", &k), -EINVAL);
}

static void test_dest_key(void **state)
{
	struct buf b = BUF_INIT(4096);

	(void)state;
	/* §2.6: data segment, group dir = segment ID (the doubled segment dir) */
	assert_int_equal(backup_dest_key(&b, "backup/nightly_2026_08_20/", BACKUP_LOG_INSERT,
					 462460699343929903LL, 462460699343929904LL,
					 462460699352850089LL, 462460699352850089LL, 0,
					 462460699352850091LL), 0);
	assert_string_equal(b.p, "backup/nightly_2026_08_20/binlogs/insert_log/462460699343929903/"
			    "462460699343929904/462460699352850089/462460699352850089/0/"
			    "462460699352850091");
	buf_reset(&b);
	assert_int_equal(backup_dest_key(&b, "backup/nightly_2026_08_20/", BACKUP_LOG_DELTA,
					 462460699343929903LL, 462460699343929904LL,
					 462460699352850089LL, 462460699352850089LL, 0,
					 462460699352850150LL), 0);
	assert_string_equal(b.p, "backup/nightly_2026_08_20/binlogs/delta_log/462460699343929903/"
			    "462460699343929904/462460699352850089/462460699352850089/"
			    "462460699352850150");
	buf_reset(&b);
	/* all-partition L0: group 0, no group dir */
	assert_int_equal(backup_dest_key(&b, "backup/nightly_2026_08_20/", BACKUP_LOG_DELTA,
					 462460699343929903LL, -1, 0, 462460699352850200LL, 0,
					 462460699352850210LL), 0);
	assert_string_equal(b.p, "backup/nightly_2026_08_20/binlogs/delta_log/462460699343929903/-1/"
			    "462460699352850200/462460699352850210");
	buf_reset(&b);
	/* partition -1 never gets a group dir, even if a group were set */
	assert_int_equal(backup_dest_key(&b, "n/", BACKUP_LOG_DELTA, 1, -1, 7, 7, 0, 9), 0);
	assert_string_equal(b.p, "n/binlogs/delta_log/1/-1/7/9");
	buf_reset(&b);
	/* group 0 (old layouts) adds no level; field IDs are kept (column group 101) */
	assert_int_equal(backup_dest_key(&b, "n/", BACKUP_LOG_INSERT, 1, 2, 0, 3, 101, 4), 0);
	assert_string_equal(b.p, "n/binlogs/insert_log/1/2/3/101/4");
	buf_release(&b);
}

/* A collection 10 / partition 20 with data segments 30 (two fields, two logs each) and 31
 * (one field, a delta log), a partition-scoped L0 segment 32, and an all-partition L0 40. */
static void make_collection(struct meta_backup *m)
{
	struct meta_collection *c;
	struct meta_partition *p;

	memset(m, 0, sizeof(*m));
	m->collections = calloc(1, sizeof(*m->collections));
	m->ncollections = 1;
	c = &m->collections[0];
	c->collection_id = 10;
	c->partitions = calloc(1, sizeof(*c->partitions));
	c->npartitions = 1;
	p = &c->partitions[0];
	p->partition_id = 20;
	p->collection_id = 10;
	p->segments = calloc(3, sizeof(*p->segments));
	p->nsegments = 3;
	for (int i = 0; i < 3; i++) {
		p->segments[i].segment_id = 30 + i;
		p->segments[i].collection_id = 10;
		p->segments[i].partition_id = 20;
		p->segments[i].group_id = 30 + i;
		p->segments[i].num_of_rows = 100;
	}
	p->segments[2].is_l0 = true;
	p->segments[2].num_of_rows = 4;
	c->l0_segments = calloc(1, sizeof(*c->l0_segments));
	c->nl0_segments = 1;
	c->l0_segments[0].segment_id = 40;
	c->l0_segments[0].collection_id = 10;
	c->l0_segments[0].partition_id = -1;
	c->l0_segments[0].is_l0 = true;
	c->l0_segments[0].num_of_rows = 2;
}

static void test_attach(void **state)
{
	/* out of order, as a listing of two prefixes concatenated might be */
	struct obj_entry objs[] = {
		{ "files/insert_log/10/20/30/101/502", 2000, 0, "" },
		{ "files/insert_log/10/20/30/0/500", 80, 0, "" },
		{ "files/insert_log/10/20/30/101/501", 1000, 0, "" },
		{ "files/insert_log/10/20/30/0/499", 40, 0, "" },
		{ "files/insert_log/10/20/31/0/600", 8, 0, "" },
		{ "files/insert_log/10/20/99/0/700", 8, 0, "" },	/* compacted away */
		{ "files/insert_log/11/20/30/0/800", 8, 0, "" },	/* another collection */
		{ "files/insert_log/10/20/30/101/lob/9", 8, 0, "" },	/* unknown layout */
		{ "files/delta_log/10/20/31/610", 16, 0, "" },
		{ "files/delta_log/10/20/32/620", 32, 0, "" },
		{ "files/delta_log/10/-1/40/630", 64, 0, "" },
	};
	struct meta_backup m;
	struct meta_collection *c;
	struct meta_segment *s;
	struct meta_files f = { 0 };
	struct meta_backup back;
	struct errmsg err = { "" };
	size_t found = 0;

	(void)state;
	make_collection(&m);
	c = &m.collections[0];
	assert_int_equal(backup_attach_binlogs(c, "files", objs, sizeof(objs) / sizeof(objs[0]),
					       &found), 0);
	assert_int_equal(found, 8);

	s = &c->partitions[0].segments[0];
	assert_int_equal(s->nbinlogs, 2);
	assert_int_equal(s->binlogs[0].field_id, 0);
	assert_int_equal(s->binlogs[0].nbinlogs, 2);
	assert_int_equal(s->binlogs[0].binlogs[0].log_id, 499);	/* ascending log IDs */
	assert_string_equal(s->binlogs[0].binlogs[0].log_path, "files/insert_log/10/20/30/0/499");
	assert_int_equal(s->binlogs[0].binlogs[0].log_size, 40);
	assert_int_equal(s->binlogs[0].binlogs[1].log_id, 500);
	assert_int_equal(s->binlogs[1].field_id, 101);
	assert_int_equal(s->binlogs[1].binlogs[0].log_id, 501);
	assert_int_equal(s->binlogs[1].binlogs[1].log_id, 502);
	assert_int_equal(s->ndeltalogs, 0);
	assert_int_equal(s->size, 3120);

	s = &c->partitions[0].segments[1];
	assert_int_equal(s->nbinlogs, 1);
	assert_int_equal(s->ndeltalogs, 1);
	assert_int_equal(s->deltalogs[0].field_id, 0);
	assert_int_equal(s->deltalogs[0].nbinlogs, 1);
	assert_int_equal(s->deltalogs[0].binlogs[0].log_id, 610);
	assert_int_equal(s->size, 24);

	s = &c->partitions[0].segments[2];	/* partition-scoped L0 */
	assert_int_equal(s->nbinlogs, 0);
	assert_int_equal(s->ndeltalogs, 1);
	assert_int_equal(s->size, 32);

	s = &c->l0_segments[0];
	assert_int_equal(s->ndeltalogs, 1);
	assert_string_equal(s->deltalogs[0].binlogs[0].log_path, "files/delta_log/10/-1/40/630");
	assert_int_equal(s->size, 64);

	backup_sum_sizes(&m);
	assert_int_equal(c->partitions[0].size, 3120 + 24 + 32);
	assert_int_equal(c->size, 3120 + 24 + 32 + 64);	/* main counts all-partition L0 */
	assert_int_equal(m.size, c->size);

	/* what milvus-backup reads back: the L0 of all partitions only in full_meta */
	m.name = strdup("b");
	m.id = strdup("0c6f3a52-2b7e-4c38-9a57-5d1e7b6f2e90");
	assert_int_equal(meta_write_files(&m, &f, &err), 0);
	assert_non_null(strstr(f.segment_meta, "{\"binlogs\":[{\"log_path\":\"files/insert_log/10/"
				"20/30/0/499\",\"log_size\":40,\"log_id\":499}"));
	assert_non_null(strstr(f.segment_meta, "\"deltalogs\":[{\"binlogs\":[{\"log_path\":"
				"\"files/delta_log/10/20/31/610\""));
	assert_null(strstr(f.segment_meta, "delta_log/10/-1/"));
	assert_non_null(strstr(f.full_meta, "\"l0_segments\":[{\"segment_id\":40,"));
	assert_int_equal(meta_parse_full(f.full_meta, f.full_meta_len, &back, &err), 0);
	assert_int_equal(meta_collection_entities(&back.collections[0]), 200);	/* L0 excluded */
	assert_int_equal(back.size, 3240);
	meta_backup_release(&back);
	meta_files_release(&f);
	meta_backup_release(&m);

	/* nothing of this collection in the listing */
	make_collection(&m);
	assert_int_equal(backup_attach_binlogs(&m.collections[0], "other", objs, 3, &found), 0);
	assert_int_equal(found, 0);
	assert_int_equal(m.collections[0].partitions[0].segments[0].nbinlogs, 0);
	meta_backup_release(&m);
}

/* Attach `keys` (size 8 each) to make_collection()'s collection with a schema of fields 100
 * (pk), 101 ('vec') and 102 (nullable, added later), then check segment 30 (storage `sv`). */
static int check_seg30(const char *const *keys, size_t n, int64_t sv, struct errmsg *err)
{
	struct obj_entry objs[16];
	struct meta_backup m;
	struct meta_collection *c;
	size_t found = 0;
	int rc;

	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++)
		objs[i] = (struct obj_entry){ (char *)keys[i], 8, 0, "" };
	make_collection(&m);
	c = &m.collections[0];
	c->has_schema = true;
	c->schema.fields = calloc(3, sizeof(*c->schema.fields));
	assert_non_null(c->schema.fields);
	c->schema.nfields = 3;
	for (int i = 0; i < 3; i++) {
		c->schema.fields[i].field_id = 100 + i;
		c->schema.fields[i].name = strdup(i == 0 ? "pk" : i == 1 ? "vec" : "added");
	}
	c->schema.fields[2].nullable = true;
	c->partitions[0].segments[0].storage_version = sv;
	assert_int_equal(backup_attach_binlogs(c, "files", objs, n, &found), 0);
	errmsg_clear(err);
	rc = backup_segment_check(c, &c->partitions[0].segments[0], err);
	/* the L0 segments (delta logs only) always pass */
	assert_int_equal(backup_segment_check(c, &c->partitions[0].segments[2], NULL), 0);
	assert_int_equal(backup_segment_check(c, &c->l0_segments[0], NULL), 0);
	meta_backup_release(&m);
	return rc;
}

static void test_segment_check(void **state)
{
	static const char *const full[] = {
		"files/insert_log/10/20/30/0/1", "files/insert_log/10/20/30/0/2",
		"files/insert_log/10/20/30/1/3", "files/insert_log/10/20/30/1/4",
		"files/insert_log/10/20/30/100/5", "files/insert_log/10/20/30/100/6",
		"files/insert_log/10/20/30/101/7", "files/insert_log/10/20/30/101/8",
		"files/delta_log/10/20/30/9",
	};
	const char *k[16];
	struct errmsg err;

	(void)state;
	/* consistent; the nullable field 102 (added after the flush) has no logs: fine */
	assert_int_equal(check_seg30(full, 9, 1, &err), 0);
	assert_int_equal(check_seg30(full, 9, 0, &err), 0);

	/* one log of field 101 gone: counts differ (§3.2 8.2 b) */
	memcpy(k, full, sizeof(full));
	k[7] = k[8];
	assert_int_equal(check_seg30(k, 8, 1, &err), -EIO);
	assert_string_equal(err.msg, "field 101 has 1 binlogs, field 0 has 2");
	/* ... whatever the storage version */
	assert_int_equal(check_seg30(k, 8, 2, &err), -EIO);

	/* field 101 gone entirely: the others still agree, the schema says it is missing */
	assert_int_equal(check_seg30(full, 6, 1, &err), -EIO);
	assert_string_equal(err.msg, "field 101 ('vec') has no binlogs");
	/* storage v2 keys name column groups, not fields: no schema comparison */
	assert_int_equal(check_seg30(full, 6, 2, &err), 0);

	/* a system field gone */
	assert_int_equal(check_seg30(full + 2, 7, 1, &err), -EIO);
	assert_string_equal(err.msg, "field 0 (row id) has no binlogs");
	memcpy(k, full, sizeof(full));
	k[2] = k[6];
	k[3] = k[7];
	k[6] = k[8];
	assert_int_equal(check_seg30(k, 7, 1, &err), -EIO);
	assert_string_equal(err.msg, "field 1 (timestamp) has no binlogs");

	/* no insert logs at all: left to the "no binlogs for segment" rule */
	assert_int_equal(check_seg30(full + 8, 1, 1, &err), 0);
}

static void test_checkpoint(void **state)
{
	/* the checkpoint of milvus-backup-format.md §2.6: timestamp 468501449932800003 */
	static const char spec[] =
		"CitieS1kZXYtcm9vdGNvb3JkLWRtbF8wXzQ2MjQ2MDY5OTM0MzkyOTkwM3YwEggIsZwDEAAYABo7ZGF0YW"
		"5vZGUtNy1ieS1kZXYtcm9vdGNvb3JkLWRtbF8wXzQ2MjQ2MDY5OTM0MzkyOTkwM3YwLXRydWUgg4CAoOLy"
		"nMAG";
	Milvus__Proto__Msg__MsgPosition pos = MILVUS__PROTO__MSG__MSG_POSITION__INIT;
	unsigned char packed[256];
	uint64_t ts = 0;
	size_t n;
	char *b64;

	(void)state;
	assert_int_equal(backup_checkpoint_timestamp(spec, &ts), 0);
	assert_true(ts == 468501449932800003ULL);

	pos.channel_name = "by-dev-rootcoord-dml_0_1v0";
	pos.timestamp = 18446744073709551557ULL;	/* any uint64 survives */
	n = milvus__proto__msg__msg_position__pack(&pos, packed);
	b64 = b64_encode(packed, n);
	assert_non_null(b64);
	assert_int_equal(backup_checkpoint_timestamp(b64, &ts), 0);
	assert_true(ts == 18446744073709551557ULL);
	free(b64);

	assert_int_equal(backup_checkpoint_timestamp("not base64!", &ts), -EINVAL);
	assert_int_equal(backup_checkpoint_timestamp("////", &ts), -EINVAL);	/* not a proto */
}

static void test_uuid(void **state)
{
	char a[37], b[37];

	(void)state;
	assert_int_equal(backup_uuid4(a), 0);
	assert_int_equal(backup_uuid4(b), 0);
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[8], '-');
	assert_int_equal(a[13], '-');
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
	assert_string_not_equal(a, b);
}

static void test_schema(void **state)
{
	Milvus__Proto__Common__KeyValuePair dim = MILVUS__PROTO__COMMON__KEY_VALUE_PAIR__INIT;
	Milvus__Proto__Common__KeyValuePair *tp[1] = { &dim };
	Milvus__Proto__Schema__ValueField dv = MILVUS__PROTO__SCHEMA__VALUE_FIELD__INIT;
	Milvus__Proto__Schema__FieldSchema f0 = MILVUS__PROTO__SCHEMA__FIELD_SCHEMA__INIT;
	Milvus__Proto__Schema__FieldSchema f1 = MILVUS__PROTO__SCHEMA__FIELD_SCHEMA__INIT;
	Milvus__Proto__Schema__FieldSchema *fields[2] = { &f0, &f1 };
	Milvus__Proto__Schema__FunctionSchema fn = MILVUS__PROTO__SCHEMA__FUNCTION_SCHEMA__INIT;
	Milvus__Proto__Schema__FunctionSchema *fns[1] = { &fn };
	char *in_names[1] = { "text" };
	int64_t in_ids[1] = { 101 };
	Milvus__Proto__Schema__CollectionSchema cs = MILVUS__PROTO__SCHEMA__COLLECTION_SCHEMA__INIT;
	struct meta_schema s;

	(void)state;
	dim.key = "dim";
	dim.value = "768";
	f0.fieldid = 100;
	f0.name = "id";
	f0.is_primary_key = 1;
	f0.data_type = MILVUS__PROTO__SCHEMA__DATA_TYPE__Int64;
	dv.data_case = MILVUS__PROTO__SCHEMA__VALUE_FIELD__DATA_LONG_DATA;
	dv.long_data = 7;
	f0.default_value = &dv;
	f1.fieldid = 102;
	f1.name = "vec";
	f1.data_type = MILVUS__PROTO__SCHEMA__DATA_TYPE__FloatVector;
	f1.n_type_params = 1;
	f1.type_params = tp;
	f1.nullable = 1;
	fn.name = "bm25";
	fn.type = MILVUS__PROTO__SCHEMA__FUNCTION_TYPE__BM25;
	fn.n_input_field_names = 1;
	fn.input_field_names = in_names;
	fn.n_input_field_ids = 1;
	fn.input_field_ids = in_ids;
	cs.name = "articles";
	cs.description = "news";
	cs.enable_dynamic_field = 1;
	cs.n_fields = 2;
	cs.fields = fields;
	cs.n_functions = 1;
	cs.functions = fns;

	assert_int_equal(schema_from_proto(&cs, &s), 0);
	assert_string_equal(s.name, "articles");
	assert_string_equal(s.description, "news");
	assert_true(s.enable_dynamic_field);
	assert_int_equal(s.nfields, 2);
	assert_int_equal(s.fields[0].field_id, 100);
	assert_true(s.fields[0].is_primary_key);
	assert_int_equal(s.fields[0].data_type, 5);
	/* ValueField{long_data: 7} packs to 18 07 */
	assert_string_equal(s.fields[0].default_value_base64, "GAc=");
	assert_int_equal(s.fields[1].data_type, 101);
	assert_int_equal(s.fields[1].type_params.n, 1);
	assert_string_equal(s.fields[1].type_params.v[0].key, "dim");
	assert_string_equal(s.fields[1].type_params.v[0].value, "768");
	assert_true(s.fields[1].nullable);
	assert_null(s.fields[1].default_value_base64);
	assert_int_equal(s.nfunctions, 1);
	assert_int_equal(s.functions[0].type, 1);
	assert_string_equal(s.functions[0].input_field_names[0], "text");
	assert_int_equal(s.functions[0].input_field_ids[0], 101);
	meta_schema_release(&s);

	assert_int_equal(schema_from_proto(NULL, &s), 0);
	assert_int_equal(s.nfields, 0);
	meta_schema_release(&s);
}

static void test_base64(void **state)
{
	unsigned char *out;
	size_t n;
	char *e;

	(void)state;
	e = b64_encode("foobar", 6);
	assert_string_equal(e, "Zm9vYmFy");
	free(e);
	e = b64_encode("fooba", 5);
	assert_string_equal(e, "Zm9vYmE=");
	free(e);
	e = b64_encode("", 0);
	assert_string_equal(e, "");
	free(e);
	assert_int_equal(b64_decode("Zm9vYg==", &out, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "foob", 4);
	free(out);
	assert_int_equal(b64_decode("Zm9v YmE=", &out, &n), -EINVAL);
}

/* format §3.1 feature flags: which server gets DescribeDatabase (from 2.4.3) */
static void test_version_at_least(void **state)
{
	(void)state;
	assert_int_equal(milvus_version_at_least("v2.3.5-lite", 2, 4, 3), 0);
	assert_int_equal(milvus_version_at_least("v2.4.2", 2, 4, 3), 0);
	assert_int_equal(milvus_version_at_least("v2.4.3", 2, 4, 3), 1);
	assert_int_equal(milvus_version_at_least("2.4.10", 2, 4, 3), 1);
	assert_int_equal(milvus_version_at_least("v2.5.14", 2, 4, 3), 1);
	assert_int_equal(milvus_version_at_least("v2.4", 2, 4, 3), 0);
	assert_int_equal(milvus_version_at_least("v3.0.0-rc1", 2, 4, 3), 1);
	assert_int_equal(milvus_version_at_least("", 2, 4, 3), -1);
	assert_int_equal(milvus_version_at_least("master-abc", 2, 4, 3), -1);
	assert_int_equal(milvus_version_at_least(NULL, 2, 4, 3), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_version_at_least),
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_dest_key),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_segment_check),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_schema),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
