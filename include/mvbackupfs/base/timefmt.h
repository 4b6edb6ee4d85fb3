/*
 * timefmt.h - wall-clock instants and durations as text: RFC 3339 times (the sidecar's
 * created/expires, S3's LastModified, the .info files) and durations ("90m", "7d") of the
 * configuration and the control files.  Written once; no timegm(), no TZ environment.
 */
#ifndef MVBACKUPFS_TIMEFMT_H
#define MVBACKUPFS_TIMEFMT_H

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

#endif
