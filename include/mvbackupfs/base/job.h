/*
 * job.h - a background job (snapshot, delete, later import and restore) and its progress.
 *
 * A job runs one function on its own thread.  The function reports progress through the
 * job_* setters, checks job_cancelled() between steps, and returns 0 or -errno (with the
 * sentence set by job_fail()).  Readers (the .status file) take consistent snapshots with
 * job_progress() at any time; a change counter and an optional callback let the FUSE layer
 * wake poll() waiters.  The job object outlives its thread: free it with job_free() after
 * job_wait().
 */
#ifndef MVBACKUPFS_JOB_H
#define MVBACKUPFS_JOB_H

#include <stdint.h>

enum job_state {
	JOB_RUNNING = 0,
	JOB_DONE,		/* the function returned 0 */
	JOB_FAILED,		/* it returned an error: see error */
	JOB_CANCELLED,		/* job_cancel() was called and the function stopped */
};

struct job_progress {
	enum job_state state;
	char id[64];		/* "snapshot-20261122T001500Z-1a2b" */
	char kind[16];		/* "snapshot", "delete", ... */
	char phase[32];		/* "connect", "flush", "copy", "verify", "meta", "done", ... */
	uint64_t bytes_done, bytes_total;
	uint64_t items_done, items_total;
	int64_t started;	/* Unix seconds */
	int64_t updated;	/* Unix seconds of the last change */
	double rate_bps;	/* bytes per second since the phase with bytes started */
	int64_t eta_s;		/* -1 when unknown */
	int rc;			/* the function's return value once finished */
	char error[1024];	/* "" unless failed */
	uint64_t changes;	/* bumped on every change (for poll) */
};

struct job;

typedef int (*job_fn)(struct job *j, void *arg);

/* Start `fn(j, arg)` on a new thread.  `free_arg` (may be NULL) is called on arg by
 * job_free().  Returns 0 or -errno. */
int job_start(const char *kind, job_fn fn, void *arg, void (*free_arg)(void *),
	      struct job **out);

/* Called (from the job's thread) on every progress change; for poll() wake-ups.  Set it
 * before or right after job_start; it must be cheap and must not call back into the job. */
void job_set_notify(struct job *j, void (*cb)(void *ctx), void *ctx);

/* --- used by the job function --- */
void job_set_phase(struct job *j, const char *phase);
void job_set_totals(struct job *j, uint64_t bytes_total, uint64_t items_total);
void job_add_done(struct job *j, uint64_t bytes, uint64_t items);	/* thread-safe */
int job_cancelled(const struct job *j);
/* Record the failure sentence (first one wins); returns `code` for `return job_fail(...)`. */
int job_fail(struct job *j, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Append to the failure sentence (e.g. what was undone after the failure).  Returns 0. */
int job_fail_append(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --- used by everyone else --- */
void job_progress(struct job *j, struct job_progress *out);
const char *job_id(const struct job *j);
void job_cancel(struct job *j);
/* Wait for the function to return; returns its value. */
int job_wait(struct job *j);
/* 1 once the function has returned. */
int job_finished(struct job *j);
void job_free(struct job *j);

const char *job_state_name(enum job_state st);

#endif
