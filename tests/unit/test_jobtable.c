/*
 * test_jobtable.c - the job table's poll() contract (.status, issue 6 bug 8) and shutdown:
 * jobtable_watch answers "changed since the reader's text" and registers in one step, and
 * jobtable_close stops every job without losing track of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "mvbackupfs/fs/jobtable.h"

/* a job that shows phase "one", then waits for the gate (or a cancel) */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int open;
};

static int gated(struct job *j, void *arg)
{
	struct gate *g = arg;
	int rc = 0;

	job_set_phase(j, "one");
	pthread_mutex_lock(&g->lock);
	while (!g->open && !job_cancelled(j)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->cond, &g->lock, &ts);
	}
	if (!g->open)
		rc = -ECANCELED;
	pthread_mutex_unlock(&g->lock);
	return rc;
}

static void open_gate(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = 1;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* the progress of `name` once its phase is `phase` (the job runs on its own thread) */
static struct job_progress wait_phase(struct jobtable *t, const char *name, const char *phase)
{
	struct job_progress p;
	int i;

	for (i = 0; i < 5000; i++) {
		assert_int_not_equal(jobtable_get(t, name, &p), JT_NONE);
		if (!strcmp(p.phase, phase))
			return p;
		nanosleep(&(struct timespec){ 0, 1000000L }, NULL);
	}
	fail_msg("phase '%s' never reached (last '%s')", phase, p.phase);
	return p;
}

static void test_watch_reports_changes_since_seen(void **state)
{
	struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	struct jobtable *t;
	struct job *j;
	struct job_progress p, q;
	int owner;

	assert_int_equal(jobtable_new(&t), 0);
	assert_int_equal(job_start("snapshot", gated, &g, NULL, &j), 0);
	assert_int_equal(jobtable_add(t, "a", JT_SNAPSHOT, j), 0);
	p = wait_phase(t, "a", "one");
	/* the reader's text is current: nothing to read, it waits */
	assert_int_equal(jobtable_watch(t, "a", &owner, p.changes, NULL), 0);
	/* the reader's text is older than the job: readable at once */
	assert_int_equal(jobtable_watch(t, "a", &owner, p.changes - 1, NULL), 1);
	/* no job of that name: nothing to report (a later job wakes it) */
	assert_int_equal(jobtable_watch(t, "b", &owner, 0, NULL), 0);
	/* the final change after the check: the reader's count is now stale */
	open_gate(&g);
	assert_int_equal(job_wait(j), 0);
	assert_int_not_equal(jobtable_get(t, "a", &q), JT_NONE);
	assert_int_equal(q.state, JOB_DONE);
	assert_true(q.changes != p.changes);
	assert_int_equal(jobtable_watch(t, "a", &owner, p.changes, NULL), 1);
	assert_int_equal(jobtable_watch(t, "a", &owner, q.changes, NULL), 0);
	jobtable_unwatch(t, &owner);
	jobtable_free(t);
}

static void test_close_cancels_jobs(void **state)
{
	struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	struct jobtable *t;
	struct job *j;
	struct job_progress p;

	assert_int_equal(jobtable_new(&t), 0);
	assert_int_equal(job_start("snapshot", gated, &g, NULL, &j), 0);
	assert_int_equal(jobtable_add(t, "a", JT_SNAPSHOT, j), 0);
	wait_phase(t, "a", "one");
	jobtable_close(t);
	jobtable_close(t);	/* idempotent */
	assert_int_equal(job_wait(j), -ECANCELED);
	assert_int_not_equal(jobtable_get(t, "a", &p), JT_NONE);
	assert_int_equal(p.state, JOB_CANCELLED);
	jobtable_free(t);
	jobtable_close(NULL);
	jobtable_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watch_reports_changes_since_seen),
		cmocka_unit_test(test_close_cancels_jobs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
