/*
 * timefmt.h - times and durations as people write them: RFC 3339 UTC times (the sidecar's
 * "created"/"expires", `.expires`), durations ("90m", "36h", "7d", "1d12h"), the value a user
 * writes to `.expires` (spec §5.6), and the daemon's wall clock (with a test-only offset).
 *
 * Pure functions apart from mvb_now(): no TZ environment is involved anywhere here (the
 * schedule's local time lives in schedule.h).
 */
#ifndef MVBACKUPFS_TIMEFMT_H
#define MVBACKUPFS_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Format Unix seconds as RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ".  Returns 0, or -EINVAL when
 * the year is outside 0000..9999. */
int rfc3339_format(int64_t t, char out[32]);

/* Parse an RFC 3339 time ("2026-08-20T02:00:00Z", "…T04:00:00+02:00", fractional seconds
 * allowed and dropped, 't'/'z' accepted) into Unix seconds.  Returns 0 or -EINVAL (also for
 * an instant outside the UTC years 0000..9999 that rfc3339_format writes). */
int rfc3339_parse(const char *s, int64_t *out);

/* Parse a duration: one or more <digits><unit> components, unit s, m, h, d or w (lower or
 * upper case), e.g. "90m", "36h", "7d", "1d12h".  A bare number is refused (is "90" minutes
 * or seconds?), so is a zero total.  Returns 0 with the seconds in *out, or -EINVAL (also on
 * overflow past 100 years). */
int timefmt_parse_duration(const char *s, int64_t *out);

/* Write `secs` (> 0) as the shortest duration of d/h/m/s components ("3d", "1d12h",
 * "90m" is written "1h30m").  Always NUL-terminates `out`. */
void timefmt_format_duration(int64_t secs, char *out, size_t size);

/*
 * The value written to `.expires` (spec §5.6), leading/trailing white space (the shell's
 * newline) ignored: "never" -> *out = 0; a duration -> now + duration; an RFC 3339 time ->
 * that time.  -EINVAL for anything else, and for a time that is not after `now` (a past
 * expiry would delete at once: the user meant something else).
 */
int timefmt_parse_expiry(const char *s, int64_t now, int64_t *out);

/*
 * The daemon's wall clock in Unix seconds: time(NULL).  In a test-hook build (CMake option
 * MVB_CRASH_POINTS, the build of the live test suites) the file named by $MVB_TEST_CLOCK_FILE,
 * when set and readable, holds a number of seconds added to it (re-read at every call), so
 * a test can move the schedule and the expiry forward by days without sleeping.  Every
 * other build ignores the variable.
 */
int64_t mvb_now(void);

#endif
