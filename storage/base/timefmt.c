/*
 * timefmt.c - RFC 3339 times, durations, the `.expires` value and the wall clock (timefmt.h).
 */
#include "mvbackupfs/base/timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm): no
 * timegm(), no TZ environment involved. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int rfc3339_format(int64_t t, char out[32])
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400), y;
	int64_t sec = t - days * 86400;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		out[0] = '\0';
		return -EINVAL;
	}
	snprintf(out, 32, "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)y, m, d, (int)(sec / 3600),
		 (int)(sec / 60 % 60), (int)(sec % 60));
	return 0;
}

static bool digits(const char *s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*out = *out * 10 + (s[i] - '0');
	}
	return true;
}

int rfc3339_parse(const char *s, int64_t *out)
{
	static const unsigned char mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	const char *p;
	int64_t t;

	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &se))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -EINVAL;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 ||
		    om > 59)
			return -EINVAL;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	if (se == 60)	/* a leap second: the instant after 23:59:59 */
		se = 59;
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se -
	    sign * (oh * 3600 + om * 60);
	/* only instants rfc3339_format can write back (UTC years 0000..9999): an offset can push
	 * "0000-01-01T00:00:00+01:00" out of it, and a rewritten sidecar would lose that time */
	if (t < days_from_civil(0, 1, 1) * 86400 || t > days_from_civil(10000, 1, 1) * 86400 - 1)
		return -EINVAL;
	*out = t;
	return 0;
}

int duration_parse(const char *s, int64_t *out)
{
	int64_t total = 0;
	const char *p;

	if (!s)
		return -EINVAL;
	p = skip_space(s);
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p)) {
		int64_t n = 0, mult;

		for (; isdigit((unsigned char)*p); p++) {
			int d = *p - '0';

			if (n > (INT64_MAX - d) / 10)
				return -EINVAL;
			n = n * 10 + d;
		}
		switch (tolower((unsigned char)*p)) {
		case 's': mult = 1; p++; break;
		case 'm': mult = 60; p++; break;
		case 'h': mult = 3600; p++; break;
		case 'd': mult = 86400; p++; break;
		case 'w': mult = 7 * 86400; p++; break;
		default:
			/* A bare number is seconds, but only on its own ("90", not "1h30"). */
			if (*skip_space(p) || total)
				return -EINVAL;
			mult = 1;
			break;
		}
		if (n > INT64_MAX / mult || total > INT64_MAX - n * mult)
			return -EINVAL;
		total += n * mult;
	}
	if (*skip_space(p))
		return -EINVAL;
	*out = total;
	return 0;
}

#define EXPIRY_DURATION_MAX	((int64_t)100 * 366 * 86400)	/* 100 years: more is a typo */

void duration_format(int64_t secs, char *out, size_t size)
{
	static const struct { char unit; int64_t s; } parts[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	size_t i, len = 0;

	if (!size)
		return;
	out[0] = '\0';
	if (secs <= 0) {
		snprintf(out, size, "0s");
		return;
	}
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]) && len < size; i++) {
		int64_t n = secs / parts[i].s;
		int w;

		if (!n)
			continue;
		secs -= n * parts[i].s;
		w = snprintf(out + len, size - len, "%lld%c", (long long)n, parts[i].unit);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

int timefmt_parse_expiry(const char *s, int64_t now, int64_t *out)
{
	char v[64];
	size_t a = 0, b;
	int64_t t, d;

	if (!s)
		return -EINVAL;
	b = strlen(s);
	while (a < b && isspace((unsigned char)s[a]))
		a++;
	while (b > a && isspace((unsigned char)s[b - 1]))
		b--;
	if (b - a == 0 || b - a >= sizeof(v))
		return -EINVAL;
	memcpy(v, s + a, b - a);
	v[b - a] = '\0';
	if (!strcmp(v, "never")) {
		*out = 0;
		return 0;
	}
	if (isdigit((unsigned char)v[0]) && strlen(v) < 20) {
		/* shorter than any RFC 3339 time: a duration from now, with its unit (is "90"
		 * minutes or seconds?), not zero and not absurdly long (a typo) */
		if (strspn(v, "0123456789") == strlen(v) || duration_parse(v, &d) || d <= 0 ||
		    d > EXPIRY_DURATION_MAX)
			return -EINVAL;
		*out = now + d;
		return 0;
	}
	if (rfc3339_parse(v, &t) || t <= now)
		return -EINVAL;
	*out = t;
	return 0;
}

int64_t mvb_now(void)
{
	int64_t now = (int64_t)time(NULL);
#ifdef MVB_CRASH_POINTS
	/* test-hook builds only (timefmt.h): a clock offset from a file the test rewrites */
	const char *path = getenv("MVB_TEST_CLOCK_FILE");
	char buf[32] = "";
	FILE *f;

	if (path && *path && (f = fopen(path, "r"))) {
		if (fgets(buf, sizeof(buf), f))
			now += strtoll(buf, NULL, 10);
		fclose(f);
	}
#endif
	return now;
}
