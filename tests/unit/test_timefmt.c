/*
 * test_timefmt.c - durations and the values `.expires` accepts (spec §5.6): never, a
 * duration from now, an RFC 3339 time; junk and past times refused.
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

#include "mvbackupfs/base/timefmt.h"

/* Durations as `.expires` takes them: duration_parse's syntax (test_config.c covers it),
 * but with a unit, not zero and at most 100 years; and duration_format back. */
static void test_durations(void **state)
{
	const int64_t now = 1787191200;	/* 2026-08-20T02:00:00Z */
	static const struct { const char *s; int64_t v; } ok[] = {
		{ "90m", 5400 }, { "36h", 129600 }, { "7d", 604800 }, { "1d12h", 129600 },
		{ "2w", 1209600 }, { "45s", 45 }, { "1h30m", 5400 }, { "72H", 259200 },
	};
	static const char *const bad[] = {
		"90", "0m", "0d", "7x", "d", "7 d", "-1d", "1.5h", "99999999999d", "36500000h",
		"1d-2h",
	};
	char out[32];
	int64_t v;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(duration_parse(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
		assert_int_equal(timefmt_parse_expiry(ok[i].s, now, &v), 0);
		assert_int_equal(v, now + ok[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (timefmt_parse_expiry(bad[i], now, &v) != -EINVAL)
			fail_msg("duration '%s' was accepted", bad[i]);
	duration_format(259200, out, sizeof(out));
	assert_string_equal(out, "3d");
	duration_format(129600, out, sizeof(out));
	assert_string_equal(out, "1d12h");
	duration_format(5400, out, sizeof(out));
	assert_string_equal(out, "1h30m");
	duration_format(90061, out, sizeof(out));
	assert_string_equal(out, "1d1h1m1s");
	duration_format(0, out, sizeof(out));
	assert_string_equal(out, "0s");
}

static void test_expiry_values(void **state)
{
	const int64_t now = 1787191200;	/* 2026-08-20T02:00:00Z */
	static const char *const bad[] = {
		"", "\n", "soon", "Never", "90", "7", "0d", "2026-08-20", "2026-08-20 03:00:00",
		"2026-08-20T02:00:00Z",		/* = now: not in the future */
		"2026-08-19T23:00:00Z",		/* past */
		"2026-08-20T03:00:00+02:00",	/* 01:00Z: past */
		"7d extra", "never never",
	};
	int64_t t;
	size_t i;

	assert_int_equal(timefmt_parse_expiry("never", now, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(timefmt_parse_expiry("never\n", now, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(timefmt_parse_expiry("7d\n", now, &t), 0);
	assert_int_equal(t, now + 7 * 86400);
	assert_int_equal(timefmt_parse_expiry("  90m ", now, &t), 0);
	assert_int_equal(t, now + 5400);
	assert_int_equal(timefmt_parse_expiry("36h", now, &t), 0);
	assert_int_equal(t, now + 36 * 3600);
	assert_int_equal(timefmt_parse_expiry("2026-08-23T02:00:00Z\n", now, &t), 0);
	assert_int_equal(t, now + 3 * 86400);
	assert_int_equal(timefmt_parse_expiry("2026-08-20T05:00:00+02:00", now, &t), 0);
	assert_int_equal(t, now + 3600);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (timefmt_parse_expiry(bad[i], now, &t) != -EINVAL)
			fail_msg("expiry '%s' was accepted", bad[i]);
}

static void test_clock(void **state)
{
	int64_t a, b;

	unsetenv("MVB_TEST_CLOCK_FILE");
	a = mvb_now();
	b = (int64_t)time(NULL);
	assert_true(b - a >= 0 && b - a <= 2);	/* the wall clock, no offset */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_expiry_values),
		cmocka_unit_test(test_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
