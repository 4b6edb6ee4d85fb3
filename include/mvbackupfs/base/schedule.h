/*
 * schedule.h - when the daemon takes automatic snapshots (`mvbackupfs.schedule`, spec §5.6):
 * "HH:MM" (daily, local time) or a 5-field cron expression (minute hour day-of-month month
 * day-of-week; `*`, numbers, lists `1,15`, ranges `1-5`, steps `0-59/15`, `0-30/10` (and a star with a step); day of
 * week 0-7 with 0 and 7 Sunday; when both day fields are restricted, a day matching either
 * one matches, as in cron).  Names (`mon`, `jan`) and `@daily` are not accepted.
 *
 * Slots are wall-clock minutes of the local zone (TZ): a time inside the hour a DST change
 * skips does not occur that day, and a time inside the hour it repeats fires once (the first
 * time).  Pure apart from reading the zone (localtime_r).
 */
#ifndef MVBACKUPFS_SCHEDULE_H
#define MVBACKUPFS_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/err.h"

struct schedule {
	uint64_t minute;	/* bit m: minute m (0-59) */
	uint32_t hour;		/* bit h (0-23) */
	uint32_t dom;		/* bit d (1-31) */
	uint16_t month;		/* bit m (1-12) */
	uint8_t dow;		/* bit d (0-6, Sunday 0) */
	int dom_any, dow_any;	/* the field was `*` (cron's day rule) */
};

/* Parse `spec` into *out.  Returns 0 or -EINVAL with a sentence naming the bad field. */
int schedule_parse(const char *spec, struct schedule *out, struct errmsg *err);

/* The first slot strictly after `after` (Unix seconds), a whole minute; -1 when none within
 * 8 years (e.g. "0 0 31 2 *"). */
int64_t schedule_next(const struct schedule *s, int64_t after);

/* The name of the automatic snapshot of slot `t`: "auto_YYYYMMDD_HHMMSS" in UTC (so every
 * mount of one bucket with the same schedule picks the same name, whatever its zone). */
void schedule_snapshot_name(int64_t t, char out[32]);

#endif
