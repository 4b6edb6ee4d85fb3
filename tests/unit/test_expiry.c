/*
 * test_expiry.c - the expiry policy (issue 9): what is due is deleted, what is not is kept,
 * and so are backups in use and the newest keep_min complete ones, however long expired.
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

#include <unistd.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/config/config.h"
#include "mvbackupfs/fs/vfiles.h"
#include "mvbackupfs/format/expiry.h"
#include "mvbackupfs/storage/local.h"

#define NOW	1787191200	/* 2026-08-20T02:00:00Z */
#define DAY	86400

static void test_retention(void **state)
{
	/* three daily auto backups with 72h retention, a manual one (never), an incomplete one */
	const struct expiry_backup v[] = {
		{ "auto_20260816_030000", 1, NOW - 4 * DAY, NOW - DAY, 0 },	/* expired */
		{ "auto_20260817_030000", 1, NOW - 3 * DAY, NOW, 0 },		/* expires now */
		{ "auto_20260818_030000", 1, NOW - 2 * DAY, NOW + DAY, 0 },
		{ "auto_20260819_030000", 1, NOW - DAY, NOW + 2 * DAY, 0 },
		{ "manual_1", 1, NOW - 30 * DAY, 0, 0 },
		{ "broken", 0, NOW - 9 * DAY, NOW - 8 * DAY, 0 },		/* not complete */
	};
	enum expiry_verdict out[6];

	assert_int_equal(expiry_plan(v, 6, NOW, 1, out), 2);
	assert_int_equal(out[0], EXPIRY_DELETE);
	assert_int_equal(out[1], EXPIRY_DELETE);
	assert_int_equal(out[2], EXPIRY_KEEP);
	assert_int_equal(out[3], EXPIRY_KEEP);
	assert_int_equal(out[4], EXPIRY_KEEP);
	assert_int_equal(out[5], EXPIRY_KEEP);
	/* one second earlier the second one is not due yet */
	assert_int_equal(expiry_plan(v, 6, NOW - 1, 1, out), 1);
	assert_int_equal(out[1], EXPIRY_KEEP);
}

static void test_keep_min(void **state)
{
	/* a schedule failing for days: every backup has expired */
	const struct expiry_backup v[] = {
		{ "b_old", 1, NOW - 9 * DAY, NOW - 6 * DAY, 0 },
		{ "c_newest", 1, NOW - 5 * DAY, NOW - 2 * DAY, 0 },
		{ "a_mid", 1, NOW - 7 * DAY, NOW - 4 * DAY, 0 },
		{ "x_incomplete", 0, NOW - DAY, NOW - DAY, 0 },	/* newer, but not complete */
	};
	enum expiry_verdict out[4];

	assert_int_equal(expiry_plan(v, 4, NOW, 1, out), 2);
	assert_int_equal(out[1], EXPIRY_HELD_KEEP_MIN);
	assert_int_equal(out[0], EXPIRY_DELETE);
	assert_int_equal(out[2], EXPIRY_DELETE);
	assert_int_equal(out[3], EXPIRY_KEEP);
	assert_int_equal(expiry_plan(v, 4, NOW, 2, out), 1);
	assert_int_equal(out[2], EXPIRY_HELD_KEEP_MIN);
	assert_int_equal(out[0], EXPIRY_DELETE);
	assert_int_equal(expiry_plan(v, 4, NOW, 5, out), 0);
	assert_int_equal(expiry_plan(v, 4, NOW, 0, out), 3);
	/* same created time: the name decides (auto_ names sort by time) */
	{
		const struct expiry_backup w[] = {
			{ "auto_20260801_030000", 1, NOW - DAY, NOW - 1, 0 },
			{ "auto_20260802_030000", 1, NOW - DAY, NOW - 1, 0 },
		};
		enum expiry_verdict o[2];

		assert_int_equal(expiry_plan(w, 2, NOW, 1, o), 1);
		assert_int_equal(o[0], EXPIRY_DELETE);
		assert_int_equal(o[1], EXPIRY_HELD_KEEP_MIN);
	}
}

static void test_busy(void **state)
{
	const struct expiry_backup v[] = {
		{ "restoring_from", 1, NOW - 9 * DAY, NOW - DAY, 1 },
		{ "idle", 1, NOW - 8 * DAY, NOW - DAY, 0 },
		{ "newest", 1, NOW, 0, 0 },
	};
	enum expiry_verdict out[3];

	assert_int_equal(expiry_plan(v, 3, NOW, 1, out), 1);
	assert_int_equal(out[0], EXPIRY_HELD_BUSY);
	assert_int_equal(out[1], EXPIRY_DELETE);
	assert_int_equal(out[2], EXPIRY_KEEP);
	assert_int_equal(expiry_plan(NULL, 0, NOW, 1, NULL), 0);
}

/* The delete claim and the sidecar's expiry, on a real (local directory) store. */
static void test_claim_and_sidecar(void **state)
{
	char dir[] = "/tmp/mvb-test-expiry-XXXXXX", cmd[128];
	struct objstore *s = NULL;
	struct errmsg e = { { 0 } };
	struct sidecar sc;
	struct buf b = BUF_INIT(4096);

	assert_non_null(mkdtemp(dir));
	assert_int_equal(local_store_new(dir, &s, &e), 0);
	assert_int_equal(objstore_put(s, "backup/b1/meta/full_meta.json", "{}", 2, 0, &e), 0);

	/* two mounts claim one expired backup: the first wins, the second is told */
	assert_int_equal(backup_claim_expired(s, "backup/b1/", "mount A", NOW, &e), 0);
	assert_int_equal(backup_claim_expired(s, "backup/b1/", "mount B", NOW + 5, &e), -EEXIST);
	assert_int_equal(objstore_get_all(s, "backup/b1/" EXPIRY_CLAIM_NAME, &b, &e), 0);
	assert_non_null(strstr(b.p, "mount A"));
	/* a crashed mount's claim goes stale: taken over */
	assert_int_equal(backup_claim_expired(s, "backup/b1/", "mount B",
					      NOW + EXPIRY_CLAIM_STALE_S + 1, &e), 0);
	buf_reset(&b);
	assert_int_equal(objstore_get_all(s, "backup/b1/" EXPIRY_CLAIM_NAME, &b, &e), 0);
	assert_non_null(strstr(b.p, "mount B"));
	backup_unclaim(s, "backup/b1/");
	assert_int_equal(objstore_get_all(s, "backup/b1/" EXPIRY_CLAIM_NAME, &b, &e), -ENOENT);
	assert_int_equal(backup_claim_expired(s, "backup/b1/", "mount A", NOW, &e), 0);

	/* no sidecar: one is made for the expiry (kind unknown = external) */
	assert_int_equal(backup_sidecar_get(s, "backup/b1/", &sc, &e), -ENOENT);
	assert_int_equal(backup_set_expires(s, "backup/b1/", NOW + DAY, &e), 0);
	assert_int_equal(backup_sidecar_get(s, "backup/b1/", &sc, &e), 0);
	assert_int_equal(sc.expires, NOW + DAY);
	assert_int_equal(sc.kind, SIDECAR_KIND_UNKNOWN);
	/* an existing sidecar keeps its other fields */
	assert_int_equal(objstore_put(s, "backup/b1/" SIDECAR_NAME,
				      "{\"format\":1,\"kind\":\"scheduled\",\"job\":\"j9\"}", 42, 0, &e), 0);
	assert_int_equal(backup_set_expires(s, "backup/b1/", NOW + 2 * DAY, &e), 0);
	assert_int_equal(backup_sidecar_get(s, "backup/b1/", &sc, &e), 0);
	assert_int_equal(sc.expires, NOW + 2 * DAY);
	assert_int_equal(sc.kind, SIDECAR_KIND_SCHEDULED);
	assert_string_equal(sc.job, "j9");
	assert_int_equal(backup_set_expires(s, "backup/b1/", 0, &e), 0);
	assert_int_equal(backup_sidecar_get(s, "backup/b1/", &sc, &e), 0);
	assert_int_equal(sc.expires, 0);
	/* an unreadable sidecar is not overwritten */
	assert_int_equal(objstore_put(s, "backup/b1/" SIDECAR_NAME, "{oops", 5, 0, &e), 0);
	assert_int_equal(backup_set_expires(s, "backup/b1/", NOW + DAY, &e), -EIO);
	buf_reset(&b);
	assert_int_equal(objstore_get_all(s, "backup/b1/" SIDECAR_NAME, &b, &e), 0);
	assert_int_equal(b.len, 5);

	buf_release(&b);
	objstore_free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The config keys of issue 9: names, aliases, defaults, and a bad schedule stopping the load. */
static void test_config_keys(void **state)
{
	static const char *const yaml[] = {
		"mvbackupfs:\n  schedule: \"0 */6 * * *\"\n  delete_expired: false\n  keep_min: 3\n",
		"mvbackupfs:\n  deleteExpired: no\n  keepMin: 0\n",
		"mvbackupfs:\n  schedule: \"03:00\"\n",
		"mvbackupfs:\n  schedule: \"3 o'clock\"\n",
	};
	char path[] = "/tmp/mvb-test-expiry-cfg-XXXXXX";
	struct errmsg e;
	struct config c;
	size_t i;
	int fd, rc[4];

	for (i = 0; i < 4; i++) {
		memset(&e, 0, sizeof(e));
		strcpy(path + sizeof(path) - 7, "XXXXXX");
		fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, yaml[i], strlen(yaml[i])), (ssize_t)strlen(yaml[i]));
		close(fd);
		assert_int_equal(config_init(&c), 0);
		rc[i] = config_load(&c, path, &e);
		unlink(path);
		if (i == 0) {
			assert_int_equal(rc[i], 0);
			assert_string_equal(c.fs.schedule, "0 */6 * * *");
			assert_int_equal(c.fs.auto_delete, 0);
			assert_int_equal(c.fs.keep_min, 3);
			assert_int_equal(c.fs.retention_s, 3 * DAY);
		} else if (i == 1) {
			assert_int_equal(rc[i], 0);
			assert_int_equal(c.fs.auto_delete, 0);
			assert_int_equal(c.fs.keep_min, 0);
		} else if (i == 2) {
			assert_int_equal(rc[i], 0);
			assert_int_equal(c.fs.keep_min, 1);	/* the default */
			assert_int_equal(c.fs.auto_delete, 1);
		} else {
			assert_int_equal(rc[i], -EINVAL);
			assert_non_null(strstr(e.msg, "mvbackupfs.schedule"));
		}
		config_release(&c);
	}
}

/* The root .info: TYPE column, `expired` for a complete backup past its expiry. */
static void test_root_info(void **state)
{
	struct ns_summary v[2] = { { 0 } };
	struct buf b = BUF_INIT(1 << 20);

	v[0].name = "auto_20260816_030000";
	v[0].state = NS_STATE_COMPLETE;
	v[0].type = "auto";
	v[0].expires = NOW - DAY;
	v[0].expired = 1;
	v[1].name = "old_one";
	v[1].state = NS_STATE_COMPLETE;
	v[1].type = NULL;	/* no sidecar */
	assert_int_equal(vfile_root_info(v, 2, &b), 0);
	assert_non_null(strstr(b.p, "NAME                  STATE     TYPE      CREATED"));
	assert_non_null(strstr(b.p, "auto_20260816_030000  expired   auto      "));
	assert_non_null(strstr(b.p, "old_one               complete  external  "));
	buf_reset(&b);
	assert_int_equal(vfile_expires(&v[0], &b), 0);
	assert_string_equal(b.p, "2026-08-19T02:00:00Z\n");
	buf_reset(&b);
	assert_int_equal(vfile_expires(&v[1], &b), 0);
	assert_string_equal(b.p, "never\n");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_keep_min),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_claim_and_sidecar),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_root_info),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
