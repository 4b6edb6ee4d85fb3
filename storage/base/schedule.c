/*
 * schedule.c - the automatic-snapshot schedule: "HH:MM" or 5-field cron, next slot in local
 * time (see schedule.h).
 */
#include "mvbackupfs/base/schedule.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
	const char *name;
	int lo, hi;
} fields[5] = {
	{ "minute", 0, 59 }, { "hour", 0, 23 }, { "day of month", 1, 31 }, { "month", 1, 12 },
	{ "day of week", 0, 7 },
};

static int number(const char **p, int *out)
{
	long v = 0;

	if (!isdigit((unsigned char)**p))
		return -1;
	for (; isdigit((unsigned char)**p); (*p)++) {
		v = v * 10 + (**p - '0');
		if (v > 1000)
			return -1;
	}
	*out = (int)v;
	return 0;
}

/* One cron field "a,b-c,*\/n" of `len` bytes into bits; *any when it is exactly "*". */
static int field_parse(const char *s, size_t len, int f, uint64_t *bits, int *any)
{
	char buf[128];
	const char *p;
	int lo = fields[f].lo, hi = fields[f].hi;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*bits = 0;
	*any = !strcmp(buf, "*");
	p = buf;
	for (;;) {
		int a, b, step = 1, v, ranged = 0;

		if (*p == '*') {
			ranged = 1;
			a = lo;
			b = hi;
			p++;
		} else {
			if (number(&p, &a))
				return -1;
			b = a;
			if (*p == '-') {
				p++;
				ranged = 1;
				if (number(&p, &b))
					return -1;
			}
		}
		if (*p == '/') {
			p++;
			if (number(&p, &step) || step < 1)
				return -1;
			if (!ranged)
				b = hi;	/* "5/15" = from 5 to the end, every 15 */
		}
		if (a < lo || b > hi || a > b)
			return -1;
		for (v = a; v <= b; v += step)
			*bits |= 1ull << (f == 4 ? v % 7 : v);	/* day of week 7 = Sunday 0 */
		if (*p == '\0')
			break;
		if (*p != ',')
			return -1;
		p++;
	}
	return 0;
}

int schedule_parse(const char *spec, struct schedule *out, struct errmsg *err)
{
	const char *p = spec, *start[5];
	size_t len[5];
	uint64_t bits;
	int n = 0, h, m, any, f;

	memset(out, 0, sizeof(*out));
	if (!spec)
		return errmsg_set(err, -EINVAL, "no schedule");
	/* "HH:MM": daily */
	if (strlen(spec) <= 5 && strchr(spec, ':')) {
		p = spec;
		if (number(&p, &h) || *p++ != ':' || !isdigit((unsigned char)p[0]) ||
		    !isdigit((unsigned char)p[1]) || p[2] || number(&p, &m) || h > 23 || m > 59)
			return errmsg_set(err, -EINVAL, "schedule '%s': expected HH:MM (00:00 to "
					  "23:59) or a 5-field cron expression", spec);
		out->minute = 1ull << m;
		out->hour = 1u << h;
		out->dom = 0xfffffffeu;
		out->month = 0x1ffe;
		out->dow = 0x7f;
		out->dom_any = out->dow_any = 1;
		return 0;
	}
	while (*p) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (n == 5)
			return errmsg_set(err, -EINVAL, "schedule '%s': more than 5 fields (minute "
					  "hour day-of-month month day-of-week)", spec);
		start[n] = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		len[n] = (size_t)(p - start[n]);
		n++;
	}
	if (n != 5)
		return errmsg_set(err, -EINVAL, "schedule '%s': expected HH:MM or 5 cron fields "
				  "(minute hour day-of-month month day-of-week), got %d", spec, n);
	for (f = 0; f < 5; f++) {
		if (field_parse(start[f], len[f], f, &bits, &any))
			return errmsg_set(err, -EINVAL, "schedule '%s': bad %s field '%.*s' (%d-%d)",
					  spec, fields[f].name, (int)len[f], start[f], fields[f].lo,
					  fields[f].hi);
		switch (f) {
		case 0: out->minute = bits; break;
		case 1: out->hour = (uint32_t)bits; break;
		case 2: out->dom = (uint32_t)bits; out->dom_any = any; break;
		case 3: out->month = (uint16_t)bits; break;
		case 4: out->dow = (uint8_t)bits; out->dow_any = any; break;
		}
	}
	return 0;
}

static int day_matches(const struct schedule *s, const struct tm *tm)
{
	int dom = (s->dom >> tm->tm_mday) & 1, dow = (s->dow >> tm->tm_wday) & 1;

	if (!((s->month >> (tm->tm_mon + 1)) & 1))
		return 0;
	if (!s->dom_any && !s->dow_any)
		return dom || dow;	/* cron: either day field */
	return dom && dow;
}

int64_t schedule_next(const struct schedule *s, int64_t after)
{
	int64_t t = after - (after % 60 + 60) % 60 + 60;	/* the next whole minute */
	int64_t limit = after + (int64_t)8 * 366 * 86400;

	while (t <= limit) {
		struct tm tm, prev;
		time_t tt = (time_t)t, pt;

		if (!localtime_r(&tt, &tm))
			return -1;
		if (!day_matches(s, &tm) || !((s->hour >> tm.tm_hour) & 1)) {
			/* on to the next local hour (a zone's offset is whole minutes) */
			t += (int64_t)(60 - tm.tm_min) * 60;
			continue;
		}
		if (!((s->minute >> tm.tm_min) & 1)) {
			t += 60;
			continue;
		}
		/* the hour a DST change repeats: fire the first time only */
		pt = (time_t)(t - 3600);
		if (localtime_r(&pt, &prev) && prev.tm_hour == tm.tm_hour &&
		    prev.tm_min == tm.tm_min && prev.tm_mday == tm.tm_mday && prev.tm_isdst != tm.tm_isdst) {
			t += 60;
			continue;
		}
		return t;
	}
	return -1;
}

void schedule_snapshot_name(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm)) {
		snprintf(out, 32, "auto_00000000_000000");
		return;
	}
	if (!strftime(out, 32, "auto_%Y%m%d_%H%M%S", &tm))
		snprintf(out, 32, "auto_00000000_000000");
}
