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

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC (an arbitrary origin: compare, never display). */
int64_t mono_ms(void);

/* The instant `ms` milliseconds (any non-negative count) from now on clock `clk`: the
 * absolute deadline pthread_cond_timedwait takes (CLOCK_MONOTONIC for a condition variable
 * made with that clock, CLOCK_REALTIME for a default one). */
struct timespec deadline_in_ms(clockid_t clk, int64_t ms);

/* Initialise a condition variable whose timed waits take CLOCK_MONOTONIC deadlines
 * (deadline_in_ms(CLOCK_MONOTONIC, ...)): 0 or a positive pthread error number. */
int cond_init_monotonic(pthread_cond_t *cv);

/* Sleep `ms` milliseconds (0 or less returns at once), resuming after a signal. */
void sleep_ms(int64_t ms);

#endif
