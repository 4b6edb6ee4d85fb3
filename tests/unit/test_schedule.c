/*
 * test_schedule.c - mvbackupfs.schedule: "HH:MM" and cron parsing, the next slot across a day
 * and a year boundary and across both DST changes of a local zone (TZ set here), and the
 * names of automatic snapshots.  No clock is read: every "now" is given.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mvbackupfs/base/schedule.h"

static void zone(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static int64_t next(const char *spec, int64_t after)
{
	struct schedule s;
	struct errmsg e = { { 0 } };

	assert_int_equal(schedule_parse(spec, &s, &e), 0);
	return schedule_next(&s, after);
}

static void test_daily_utc(void **state)
{
	zone("UTC");
	/* 2026-08-20T02:00:00Z -> 03:00 the same day; at 03:00 exactly -> the next day */
	assert_int_equal(next("03:00", 1787191200), 1787194800);
	assert_int_equal(next("03:00", 1787194800), 1787281200);
	assert_int_equal(next("03:00", 1787194799), 1787194800);
	/* the day and year boundary: 2026-12-31T23:59:30Z -> 2027-01-01T00:00:00Z */
	assert_int_equal(next("00:00", 1798761570), 1798761600);
	assert_int_equal(next("0 0 * * *", 1798761570), 1798761600);
}

static void test_daily_local_dst(void **state)
{
	zone("Europe/Berlin");
	/* spring forward 2026-03-29 02:00 CET -> 03:00 CEST: 03:00 local is 02:00Z before the
	 * change and 01:00Z from that day on */
	assert_int_equal(next("03:00", 1774699200 - 86400), 1774663200);	/* Mar 28, CET */
	assert_int_equal(next("03:00", 1774699200), 1774746000);		/* Mar 29, CEST */
	assert_int_equal(next("03:00", 1774746000), 1774832400);		/* Mar 30 */
	/* 02:30 does not exist on Mar 29: the next one is Mar 30 02:30 CEST */
	assert_int_equal(next("02:30", 1774699200), 1774830600);
	/* fall back 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice, fires once */
	assert_int_equal(next("02:30", 1792843200), 1792888200);
	assert_int_equal(next("02:30", 1792888200), 1792978200);
	assert_int_equal(next("30 2 * * *", 1792888200), 1792978200);
	zone("UTC");
}

static void test_cron(void **state)
{
	zone("UTC");
	/* every 15 minutes: 10:07 -> 10:15 */
	assert_int_equal(next("*/15 * * * *", 1787220420), 1787220900);
	assert_int_equal(next("0-59/15 * * * *", 1787220420), 1787220900);
	assert_int_equal(next("5/15 * * * *", 1787220420), 1787220420 - 420 + 1200);
	/* every minute: the next whole minute */
	assert_int_equal(next("* * * * *", 1787220420), 1787220480);
	assert_int_equal(next("* * * * *", 1787220421), 1787220480);
	/* weekdays at 09:00: Friday 2026-08-21 12:00 -> Monday 2026-08-24 09:00 */
	assert_int_equal(next("0 9 * * 1-5", 1787313600), 1787562000);
	/* both day fields restricted: either matches (the 1st, or a Sunday) */
	assert_int_equal(next("0 0 1 * 0", 1785628800 - 43200), 1785628800);	/* Sun Aug 2 */
	assert_int_equal(next("0 0 1 * 7", 1788048000), 1788220800);	/* Sun Aug 30 -> Tue Sep 1 */
	assert_int_equal(next("0 0 1,15 * *", 1787191200), 1788220800);
	/* never: Feb 31 */
	assert_int_equal(next("0 0 31 2 *", 1787191200), -1);
}

static void test_bad(void **state)
{
	static const char *const bad[] = {
		"", "25:00", "3:0", "03:60", "3", "* * * *", "* * * * * *", "60 * * * *",
		"* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *", "a b c d e",
		"1-0 * * * *", "1,,2 * * * *", "mon * * * *", "@daily", "03:00x",
	};
	struct schedule s;
	struct errmsg e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (schedule_parse(bad[i], &s, &e) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(strstr(e.msg, "schedule") != NULL);
	}
}

static void test_names(void **state)
{
	char n[32];

	zone("Europe/Berlin");	/* names are UTC whatever the zone */
	schedule_snapshot_name(1787194800, n);
	assert_string_equal(n, "auto_20260820_030000");
	schedule_snapshot_name(1798761599, n);
	assert_string_equal(n, "auto_20261231_235959");
	zone("UTC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daily_utc),
		cmocka_unit_test(test_daily_local_dst),
		cmocka_unit_test(test_cron),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
