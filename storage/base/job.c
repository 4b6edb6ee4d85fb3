/*
 * job.c - background jobs and their progress (see job.h).
 */
#include "mvbackupfs/base/job.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mvbackupfs/base/err.h"
#include "mvbackupfs/base/clock.h"

struct job {
	pthread_t thread;
	job_fn fn;
	void *arg;
	void (*free_arg)(void *);
	void (*notify)(void *);
	void *notify_ctx;
	atomic_int cancelled;
	/* guards p, finished, rate_*, and notify/notify_ctx (set by job_set_notify from another
	 * thread after the job has started, read by the job's thread on every change) */
	pthread_mutex_t lock;
	pthread_cond_t done_cond;	/* signalled when finished becomes 1 */
	struct job_progress p;
	int finished;
	int64_t rate_t0_ms;		/* when bytes_done was rate_b0 */
	uint64_t rate_b0;
};

static int64_t wall_s(void)
{
	return (int64_t)time(NULL);
}

const char *job_state_name(enum job_state st)
{
	switch (st) {
	case JOB_RUNNING:
		return "running";
	case JOB_DONE:
		return "done";
	case JOB_FAILED:
		return "failed";
	case JOB_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

/* Called with j->lock held, after a change. */
static void changed_locked(struct job *j)
{
	j->p.updated = wall_s();
	j->p.changes++;
}

/* Call the notify callback, read under the lock (it may be set while the job runs) and
 * called without it (the callback takes other locks: lock order is theirs, then the job's). */
static void notify(struct job *j)
{
	void (*cb)(void *);
	void *ctx;

	pthread_mutex_lock(&j->lock);
	cb = j->notify;
	ctx = j->notify_ctx;
	pthread_mutex_unlock(&j->lock);
	if (cb)
		cb(ctx);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	int rc = j->fn(j, j->arg);

	pthread_mutex_lock(&j->lock);
	j->p.rc = rc;
	if (rc == 0)
		j->p.state = JOB_DONE;
	else if (atomic_load(&j->cancelled) && rc == -ECANCELED)
		j->p.state = JOB_CANCELLED;
	else {
		j->p.state = JOB_FAILED;
		if (!j->p.error[0])
			snprintf(j->p.error, sizeof(j->p.error), "%s", strerror(rc < 0 ? -rc : rc));
	}
	if (j->p.state == JOB_DONE)
		snprintf(j->p.phase, sizeof(j->p.phase), "done");
	j->p.eta_s = j->p.state == JOB_DONE ? 0 : -1;
	j->finished = 1;
	changed_locked(j);
	pthread_cond_broadcast(&j->done_cond);
	pthread_mutex_unlock(&j->lock);
	notify(j);
	return NULL;
}

int job_start(const char *kind, job_fn fn, void *arg, void (*free_arg)(void *),
	      struct job **out)
{
	static atomic_uint seq;
	struct job *j = calloc(1, sizeof(*j));
	struct tm tm;
	time_t now = time(NULL);
	int rc;

	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;
	j->free_arg = free_arg;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->done_cond, NULL);
	gmtime_r(&now, &tm);
	snprintf(j->p.kind, sizeof(j->p.kind), "%s", kind);
	snprintf(j->p.id, sizeof(j->p.id), "%.15s-%04d%02d%02dT%02d%02d%02dZ-%u", kind,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 atomic_fetch_add(&seq, 1) + 1);
	snprintf(j->p.phase, sizeof(j->p.phase), "start");
	j->p.started = wall_s();
	j->p.updated = j->p.started;
	j->p.eta_s = -1;
	j->rate_t0_ms = mono_ms();
	*out = j;
	rc = pthread_create(&j->thread, NULL, job_main, j);
	if (rc) {
		*out = NULL;
		pthread_mutex_destroy(&j->lock);
		pthread_cond_destroy(&j->done_cond);
		free(j);
		return -rc;
	}
	return 0;
}

void job_set_notify(struct job *j, void (*cb)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&j->lock);
	j->notify = cb;
	j->notify_ctx = ctx;
	pthread_mutex_unlock(&j->lock);
}

void job_set_phase(struct job *j, const char *phase)
{
	pthread_mutex_lock(&j->lock);
	snprintf(j->p.phase, sizeof(j->p.phase), "%s", phase);
	j->rate_t0_ms = mono_ms();
	j->rate_b0 = j->p.bytes_done;
	changed_locked(j);
	pthread_mutex_unlock(&j->lock);
	notify(j);
}

void job_set_totals(struct job *j, uint64_t bytes_total, uint64_t items_total)
{
	pthread_mutex_lock(&j->lock);
	j->p.bytes_total = bytes_total;
	j->p.items_total = items_total;
	changed_locked(j);
	pthread_mutex_unlock(&j->lock);
	notify(j);
}

void job_add_done(struct job *j, uint64_t bytes, uint64_t items)
{
	int64_t dt;

	pthread_mutex_lock(&j->lock);
	j->p.bytes_done += bytes;
	j->p.items_done += items;
	dt = mono_ms() - j->rate_t0_ms;
	if (dt > 0 && j->p.bytes_done >= j->rate_b0) {
		j->p.rate_bps = (double)(j->p.bytes_done - j->rate_b0) * 1000.0 / (double)dt;
		if (j->p.rate_bps > 0 && j->p.bytes_total >= j->p.bytes_done)
			j->p.eta_s = (int64_t)((double)(j->p.bytes_total - j->p.bytes_done) / j->p.rate_bps + 0.5);
	}
	changed_locked(j);
	pthread_mutex_unlock(&j->lock);
	notify(j);
}

int job_cancelled(const struct job *j)
{
	return atomic_load(&((struct job *)j)->cancelled);
}

int job_fail(struct job *j, int code, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&j->lock);
	if (!j->p.error[0]) {
		va_start(ap, fmt);
		vsnprintf(j->p.error, sizeof(j->p.error), fmt, ap);
		va_end(ap);
		text_sanitize(j->p.error);	/* .status is one "key value" per line */
		changed_locked(j);
	}
	pthread_mutex_unlock(&j->lock);
	notify(j);
	return code;
}

int job_fail_append(struct job *j, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	pthread_mutex_lock(&j->lock);
	n = strlen(j->p.error);
	if (n < sizeof(j->p.error) - 1) {
		va_start(ap, fmt);
		vsnprintf(j->p.error + n, sizeof(j->p.error) - n, fmt, ap);
		va_end(ap);
		text_sanitize(j->p.error);
		changed_locked(j);
	}
	pthread_mutex_unlock(&j->lock);
	notify(j);
	return 0;
}

void job_progress(struct job *j, struct job_progress *out)
{
	pthread_mutex_lock(&j->lock);
	*out = j->p;
	pthread_mutex_unlock(&j->lock);
}

const char *job_id(const struct job *j)
{
	return j->p.id;	/* written once before the thread starts */
}

void job_cancel(struct job *j)
{
	atomic_store(&j->cancelled, 1);
}

int job_wait(struct job *j)
{
	int rc;

	pthread_mutex_lock(&j->lock);
	while (!j->finished)
		pthread_cond_wait(&j->done_cond, &j->lock);
	rc = j->p.rc;
	pthread_mutex_unlock(&j->lock);
	return rc;
}

int job_finished(struct job *j)
{
	int f;

	pthread_mutex_lock(&j->lock);
	f = j->finished;
	pthread_mutex_unlock(&j->lock);
	return f;
}

void job_free(struct job *j)
{
	if (!j)
		return;
	job_wait(j);
	pthread_join(j->thread, NULL);
	if (j->free_arg)
		j->free_arg(j->arg);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->done_cond);
	free(j);
}
