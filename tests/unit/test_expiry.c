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

#include "mvbackupfs/buf.h"
#include "mvbackupfs/expiry.h"
#include "mvbackupfs/local.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_keep_min),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_claim_and_sidecar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
