/*
 * test_restore.c - the `.restore` command parser and name mapping (restore_cmd.h) and the
 * restore plan (restore.h) on the meta of every format generation in tests/fixtures, with the
 * expected Import calls written out by hand from milvus-backup-format.md §4.1 / §4.5.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mvbackupfs/format/meta.h"
#include "mvbackupfs/jobs/restore.h"
#include "mvbackupfs/jobs/restore_cmd.h"

#define FIX MVB_FIXTURES

static int parse(const char *s, struct restore_cmd *c, struct errmsg *e)
{
	return restore_cmd_parse(s, strlen(s), c, e);
}

static void test_parse_ok(void **state)
{
	struct restore_cmd c;
	struct errmsg e = { "" };

	assert_int_equal(parse("collections=default.coll suffix=_bak\n", &c, &e), 0);
	assert_int_equal(c.cancel, 0);
	assert_int_equal(c.has_filter, 1);
	assert_string_equal(c.suffix, "_bak");
	assert_int_equal(c.index, 1);	/* default */
	assert_int_equal(c.load, 0);
	assert_true(restore_cmd_selects(&c, "default", "coll"));
	assert_false(restore_cmd_selects(&c, "default", "other"));
	restore_cmd_release(&c);

	assert_int_equal(parse("drop_existing=1 index=0 load=1 meta_only=1 database=db2", &c, &e), 0);
	assert_int_equal(c.drop_existing, 1);
	assert_int_equal(c.index, 0);
	assert_int_equal(c.load, 1);
	assert_int_equal(c.meta_only, 1);
	assert_string_equal(c.database, "db2");
	assert_true(restore_cmd_selects(&c, "any", "thing"));	/* no filter: everything */
	restore_cmd_release(&c);

	assert_int_equal(parse("cancel\n", &c, &e), 0);
	assert_int_equal(c.cancel, 1);
	restore_cmd_release(&c);

	assert_int_equal(parse("  collections=db1.*,c3\t rename=db1.*:db9.*  ", &c, &e), 0);
	assert_true(restore_cmd_selects(&c, "db1", "x"));
	assert_true(restore_cmd_selects(&c, "default", "c3"));
	assert_false(restore_cmd_selects(&c, "db2", "x"));
	assert_int_equal(c.nrenames, 1);
	restore_cmd_release(&c);
}

static void test_parse_errors(void **state)
{
	static const char *const bad[] = {
		"",				/* empty */
		"\n",
		"colections=a",			/* unknown key */
		"suffix=_a suffix=_b",		/* twice */
		"suffix=",			/* empty value */
		"suffix=-x",			/* bad suffix */
		"collections=1db.c",		/* bad db name */
		"collections=db.c-x",		/* bad collection name */
		"collections=.c",		/* no database */
		"index=2",			/* bad bool */
		"load=yes",
		"cancel now",			/* cancel with words */
		"cancel suffix=_x",
		"rename=a.b",			/* no colon */
		"rename=a.*:b.c",		/* wildcard to a name */
		"rename=a.b:c.d database=x",	/* conflicting */
		"database=9x",
		"hello",			/* bare word */
		"suffix=_a\nload=1",		/* a second line */
	};
	struct restore_cmd c;
	struct errmsg e = { "" };
	char big[RESTORE_CMD_MAX + 10];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.msg[0] = '\0';
		assert_int_equal(parse(bad[i], &c, &e), -EINVAL);
		assert_true(e.msg[0] != '\0');	/* a reason for .status and the log */
		restore_cmd_release(&c);
	}
	memset(big, 'a', sizeof(big));
	memcpy(big, "suffix=", 7);
	assert_int_equal(restore_cmd_parse(big, sizeof(big), &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "longer"));
	assert_int_equal(restore_cmd_parse("suffix=_a\0x", 11, &c, &e), -EINVAL);
}

static void target_is(const struct restore_cmd *c, const char *db, const char *coll,
		      const char *wdb, const char *wcoll)
{
	char *d = NULL, *n = NULL;

	assert_int_equal(restore_cmd_target(c, db, coll, &d, &n, NULL), 0);
	assert_string_equal(d, wdb);
	assert_string_equal(n, wcoll);
	free(d);
	free(n);
}

static void test_targets(void **state)
{
	struct restore_cmd c;
	struct errmsg e = { "" };
	char *d, *n, longname[300];

	assert_int_equal(parse("suffix=_bak rename=db1.c1:db2.c2,db1.*:db3.*,c9:c10", &c, &e), 0);
	target_is(&c, "db1", "c1", "db2", "c2");	/* exact rename first */
	target_is(&c, "db1", "zz", "db3", "zz");	/* then the wildcard */
	target_is(&c, "default", "c9", "default", "c10");	/* "c9" = default.c9 */
	target_is(&c, "other", "c", "other", "c_bak");	/* else the suffix */
	restore_cmd_release(&c);

	assert_int_equal(parse("database=db2", &c, &e), 0);
	target_is(&c, "default", "coll", "db2", "coll");
	restore_cmd_release(&c);

	assert_int_equal(parse("suffix=_x", &c, &e), 0);
	memset(longname, 'a', 254);
	longname[254] = '\0';
	assert_int_equal(restore_cmd_target(&c, "default", longname, &d, &n, &e), -EINVAL);
	assert_null(d);
	restore_cmd_release(&c);

	assert_true(restore_name_valid("_a1"));
	assert_false(restore_name_valid("1a"));
	assert_false(restore_name_valid(""));
	assert_false(restore_name_valid("a.b"));
}

/* ------------------------------------------------------------------ the plan */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void load(const char *name, struct meta_backup *b)
{
	char path[1024];
	struct errmsg e = { "" };
	size_t len;
	char *j;

	snprintf(path, sizeof(path), "%s/backups/%s/meta/full_meta.json", FIX, name);
	j = slurp(path, &len);
	assert_int_equal(meta_parse_full(j, len, b, &e), 0);
	free(j);
}

static const struct meta_collection *coll(const struct meta_backup *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->ncollections; i++)
		if (!strcmp(b->collections[i].collection_name, name))
			return &b->collections[i];
	fail_msg("no collection %s", name);
	return NULL;
}

/* One expected Import call: "D partition insert delta" or "L partition delta". */
struct want {
	int l0;
	const char *partition;
	const char *f0, *f1;
};

static void plan_is(const struct meta_collection *c, const struct want *w, size_t nw)
{
	struct restore_unit *u = NULL;
	size_t n = 0, i;

	assert_int_equal(restore_plan_collection(c, "bk/X/", &u, &n), 0);
	for (i = 0; i < n && i < nw; i++) {
		assert_int_equal(u[i].l0, w[i].l0);
		assert_string_equal(u[i].partition, w[i].partition);
		assert_string_equal(u[i].files[0], w[i].f0);
		if (w[i].l0) {
			assert_int_equal(u[i].nfiles, 1);
		} else {
			assert_int_equal(u[i].nfiles, 2);	/* §4.1: always two for data */
			assert_string_equal(u[i].files[1], w[i].f1);
		}
	}
	assert_int_equal(n, nw);
	restore_units_free(u, n);
}

#define I "bk/X/binlogs/insert_log/"
#define D "bk/X/binlogs/delta_log/"

static void test_plan_v0_6_main(void **state)
{
	struct meta_backup b = { 0 };
	static const struct want articles[] = {
		{ 0, "_default", I "462460699343929903/462460699343929904/462460699352850089/",
		  D "462460699343929903/462460699343929904/462460699352850089/" },
		{ 0, "_default", I "462460699343929903/462460699343929904/9007199254740993/", "" },
		/* the all-partition L0 segment after the data, no partition name */
		{ 1, "", D "462460699343929903/-1/462460699352850200/", NULL },
	};
	static const struct want users[] = {
		{ 0, "_default", I "462460699343930001/462460699343930002/462460699352860001/",
		  D "462460699343930001/462460699343930002/462460699352860001/" },
		{ 0, "p2023", I "462460699343930001/462460699343930003/462460699352860101/", "" },
		/* a partition-scoped L0 segment after its partition's data */
		{ 1, "p2023", D "462460699343930001/462460699343930003/462460699352860201/", NULL },
	};
	static const struct want events[] = {
		{ 0, "_default", I "9007199254740995/9007199254740996/9007199254741001/", "" },
	};
	struct restore_unit *u = NULL;
	struct meta_kvs o = { 0 };
	size_t n;

	load("v0_6_main", &b);
	plan_is(coll(&b, "articles"), articles, 3);
	plan_is(coll(&b, "users"), users, 3);
	plan_is(coll(&b, "events"), events, 1);

	/* options, Milvus >= 2.4: data backup=true, L0 l0_import=true, storage_version */
	assert_int_equal(restore_plan_collection(coll(&b, "articles"), "bk/X/", &u, &n), 0);
	assert_int_equal(restore_import_options(&u[0], coll(&b, "articles"), 0, &o), 0);
	assert_int_equal(o.n, 2);
	assert_string_equal(o.v[0].key, "skip_disk_quota_check");
	assert_string_equal(o.v[1].key, "backup");
	assert_string_equal(o.v[1].value, "true");
	meta_kvs_release(&o);
	assert_int_equal(restore_import_options(&u[2], coll(&b, "articles"), 0, &o), 0);
	assert_string_equal(o.v[1].key, "l0_import");
	meta_kvs_release(&o);
	restore_units_free(u, n);
	assert_int_equal(restore_plan_collection(coll(&b, "events"), "bk/X/", &u, &n), 0);
	assert_int_equal(restore_import_options(&u[0], coll(&b, "events"), 0, &o), 0);
	assert_int_equal(o.n, 3);
	assert_string_equal(o.v[2].key, "storage_version");
	assert_string_equal(o.v[2].value, "2");
	meta_kvs_release(&o);
	restore_units_free(u, n);
	meta_backup_release(&b);
}

static void test_plan_v0_5(void **state)
{
	struct meta_backup b = { 0 };
	static const struct want docs[] = {
		{ 0, "_default", I "451000000000000001/451000000000000002/451000000000001001/",
		  D "451000000000000001/451000000000000002/451000000000001001/" },
		{ 0, "_default", I "451000000000000001/451000000000000002/451000000000001101/", "" },
		{ 1, "", D "451000000000000001/-1/451000000000001201/", NULL },
	};
	static const struct want products[] = {
		{ 0, "_default", I "449000000000000100/449000000000000101/449000000000000201/",
		  D "449000000000000100/449000000000000101/449000000000000201/" },
		{ 0, "sale", I "449000000000000100/449000000000000102/449000000000000301/", "" },
		{ 0, "sale", I "449000000000000100/449000000000000102/449000000000000401/", "" },
	};

	load("v0_5_9", &b);
	plan_is(coll(&b, "docs"), docs, 3);
	meta_backup_release(&b);
	load("v0_5_4", &b);
	plan_is(coll(&b, "products"), products, 3);
	meta_backup_release(&b);
}

static void test_plan_v0_4_and_2_3_options(void **state)
{
	struct meta_backup b = { 0 };
	static const struct want legacy[] = {
		{ 0, "_default", I "445000000000000010/445000000000000011/445000000000000101/",
		  D "445000000000000010/445000000000000011/445000000000000101/" },
		{ 0, "_default", I "445000000000000010/445000000000000011/445000000000000201/", "" },
	};
	static const struct want old_one[] = {
		{ 0, "_default", I "440000000000000020/440000000000000021/440000000000000201/",
		  D "440000000000000020/440000000000000021/440000000000000201/" },
	};
	struct restore_unit *u = NULL;
	struct meta_kvs o = { 0 };
	size_t n;

	load("v0_4_30", &b);
	plan_is(coll(&b, "legacy"), legacy, 2);
	/* §4.5, Milvus 2.3: backup=true and end_ts = the collection backup_timestamp */
	assert_int_equal(restore_plan_collection(coll(&b, "legacy"), "bk/X/", &u, &n), 0);
	assert_int_equal(restore_import_options(&u[0], coll(&b, "legacy"), 1, &o), 0);
	assert_int_equal(o.n, 2);
	assert_string_equal(o.v[0].key, "backup");
	assert_string_equal(o.v[1].key, "end_ts");
	assert_string_equal(o.v[1].value, "454544957030400000");
	meta_kvs_release(&o);
	restore_units_free(u, n);
	meta_backup_release(&b);

	load("v0_4_12", &b);
	plan_is(coll(&b, "old_one"), old_one, 1);
	/* seconds << 18 (v0.4.12): not a TSO, no end_ts (it would drop every row) */
	assert_int_equal(restore_plan_collection(coll(&b, "old_one"), "bk/X/", &u, &n), 0);
	assert_int_equal(restore_import_options(&u[0], coll(&b, "old_one"), 1, &o), 0);
	assert_int_equal(o.n, 1);
	assert_string_equal(o.v[0].key, "backup");
	meta_kvs_release(&o);
	restore_units_free(u, n);
	meta_backup_release(&b);
}

static void test_plan_no_dbname_and_levels(void **state)
{
	struct meta_backup b = { 0 };
	static const struct want first[] = {
		{ 0, "_default", I "436000000000000050/436000000000000051/436000000000000501/", "" },
	};
	static const struct want second[] = {
		{ 0, "_default", I "436000000000000060/436000000000000061/436000000000000601/",
		  D "436000000000000060/436000000000000061/436000000000000601/" },
	};
	/* pre-v0.3.1 level files, no group_id: the whole partition prefix is one unit */
	static const struct want ancient[] = {
		{ 0, "_default", I "438000000000000030/438000000000000031/",
		  D "438000000000000030/438000000000000031/" },
	};
	static const char *const names[4] = { "backup_meta", "collection_meta", "partition_meta",
					      "segment_meta" };
	char *f[4], path[1024];
	size_t len[4], i;
	struct errmsg e = { "" };

	load("no_dbname", &b);
	assert_string_equal(coll(&b, "first")->db_name, "default");
	plan_is(coll(&b, "first"), first, 1);
	plan_is(coll(&b, "second"), second, 1);
	meta_backup_release(&b);

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/backups/v0_3_0_nofull/meta/%s.json", FIX, names[i]);
		f[i] = slurp(path, &len[i]);
	}
	assert_int_equal(meta_parse_levels(f[0], len[0], f[1], len[1], f[2], len[2], f[3], len[3],
					   &b, &e), 0);
	plan_is(coll(&b, "ancient"), ancient, 1);
	for (i = 0; i < 4; i++)
		free(f[i]);
	meta_backup_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_plan_v0_6_main),
		cmocka_unit_test(test_plan_v0_5),
		cmocka_unit_test(test_plan_v0_4_and_2_3_options),
		cmocka_unit_test(test_plan_no_dbname_and_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
