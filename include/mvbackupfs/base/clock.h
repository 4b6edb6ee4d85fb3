/*
 * clock.h - the one monotonic clock of mvbackupfs.
 *
 * Every timeout, deadline, rate and cache age is measured with mono_ms(): milliseconds of
 * CLOCK_MONOTONIC, so a wall-clock step (NTP, a suspended VM) never expires or revives
 * anything.  Wall-clock instants (created/expires times, S3 dates) are Unix seconds from
 * time(NULL) and are formatted by timefmt.h.
 */
#ifndef MVBACKUPFS_CLOCK_H
#define MVBACKUPFS_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC (an arbitrary origin: compare, never display). */
int64_t mono_ms(void);

/* Sleep `ms` milliseconds (0 or less returns at once), resuming after a signal. */
void sleep_ms(int64_t ms);

#endif
