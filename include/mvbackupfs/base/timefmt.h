/*
 * timefmt.h - wall-clock instants and durations as text: RFC 3339 times (the sidecar's
 * created/expires, S3's LastModified, the .info files), durations ("90m", "7d") of the
 * configuration and the control files, the value a user writes to `.expires` (spec §5.6), and
 * the daemon's wall clock (with a test-only offset).  Written once; no timegm(), no TZ
 * environment (the schedule's local time lives in schedule.h).
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

/* Parse "90m", "36h", "7d", "3600" (seconds), "1h30m" -> seconds; -EINVAL on junk or
 * overflow.  Units: s, m, h, d, w; components may be combined ("1d12h"). */
int duration_parse(const char *s, int64_t *out);

/* Write `secs` (> 0) as the shortest duration of d/h/m/s components ("3d", "1d12h",
 * 5400 is written "1h30m"; 0 or less "0s").  Always NUL-terminates `out`. */
void duration_format(int64_t secs, char *out, size_t size);

/*
 * The value written to `.expires` (spec §5.6), leading/trailing white space (the shell's
 * newline) ignored: "never" -> *out = 0; a duration with units (duration_parse, but a bare
 * number is refused: minutes or seconds? so is a zero duration or one over 100 years) ->
 * now + duration; an RFC 3339 time -> that time.  -EINVAL for anything else, and for a time
 * that is not after `now` (a past expiry would delete at once: the user meant something else).
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
