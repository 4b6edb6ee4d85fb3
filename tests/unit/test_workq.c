/*
 * test_workq.c - the bounded work queue: every task runs exactly once, never more workers at
 * once than the cap, a batch wait returns only when its tasks are done, a full queue holds
 * the submitter back instead of growing, and an idle queue has no threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/workq.h"

struct counters {
	atomic_int running, max_running, runs[200];
	atomic_int gate;	/* tasks spin until it is set */
};

struct job {
	struct counters *c;
	int i;
};

static void task(void *arg)
{
	struct job *j = arg;
	struct counters *c = j->c;
	int now = ++c->running, m = c->max_running;

	while (now > m && !atomic_compare_exchange_weak(&c->max_running, &m, now))
		;
	while (!c->gate)
		sleep_ms(1);
	sleep_ms(1);
	c->runs[j->i]++;
	c->running--;
}

static void test_every_task_once_within_the_cap(void **state)
{
	static struct counters c;
	struct job jobs[200];
	struct workq *q;
	struct workq_batch b;

	assert_int_equal(workq_new(4, 8, &q), 0);
	assert_int_equal(workq_max_threads(q), 4);
	workq_batch_init(&b);
	c.gate = 1;
	for (int i = 0; i < 200; i++) {
		jobs[i] = (struct job){ &c, i };
		assert_int_equal(workq_submit(q, &b, task, &jobs[i]), 0);
	}
	workq_batch_wait(&b);
	assert_int_equal(c.running, 0);
	for (int i = 0; i < 200; i++)
		assert_int_equal(c.runs[i], 1);
	assert_true(c.max_running >= 1 && c.max_running <= 4);
	workq_batch_destroy(&b);
	workq_free(q);
}

static void test_wait_ms_times_out_while_work_runs(void **state)
{
	static struct counters c;
	struct job j = { &c, 0 };
	struct workq *q;
	struct workq_batch b;

	assert_int_equal(workq_new(1, 1, &q), 0);
	workq_batch_init(&b);
	assert_int_equal(workq_submit(q, &b, task, &j), 0);
	assert_int_equal(workq_batch_wait_ms(&b, 20), -ETIMEDOUT);	/* held by the gate */
	c.gate = 1;
	workq_batch_wait(&b);
	assert_int_equal(workq_batch_wait_ms(&b, 0), 0);
	assert_int_equal(c.runs[0], 1);
	workq_batch_destroy(&b);
	workq_free(q);
}

struct slow_submit {
	struct workq *q;
	struct workq_batch *b;
	struct job *jobs;
	atomic_int submitted;
};

static void *submitter(void *arg)
{
	struct slow_submit *s = arg;

	for (int i = 0; i < 5; i++) {
		workq_submit(s->q, s->b, task, &s->jobs[i]);
		s->submitted++;
	}
	return NULL;
}

static void test_full_queue_blocks_the_submitter(void **state)
{
	static struct counters c;
	struct job jobs[5];
	struct slow_submit s = { 0 };
	struct workq_batch b;
	pthread_t th;
	int64_t deadline;

	for (int i = 0; i < 5; i++)
		jobs[i] = (struct job){ &c, i };
	assert_int_equal(workq_new(1, 2, &s.q), 0);
	workq_batch_init(&b);
	s.b = &b;
	s.jobs = jobs;
	assert_int_equal(pthread_create(&th, NULL, submitter, &s), 0);
	/* one task running (held by the gate) and two queued: the fourth submit waits */
	deadline = mono_ms() + 5000;
	while (s.submitted < 3 && mono_ms() < deadline)
		sleep_ms(1);
	assert_int_equal(s.submitted, 3);
	sleep_ms(50);
	assert_int_equal(s.submitted, 3);
	c.gate = 1;
	pthread_join(th, NULL);
	workq_batch_wait(&b);
	for (int i = 0; i < 5; i++)
		assert_int_equal(c.runs[i], 1);
	workq_batch_destroy(&b);
	workq_free(s.q);
}

static void test_free_runs_what_is_queued(void **state)
{
	static struct counters c;
	struct job jobs[10];
	struct workq *q;

	assert_int_equal(workq_new(2, 10, &q), 0);
	workq_free(NULL);
	c.gate = 1;
	for (int i = 0; i < 10; i++) {
		jobs[i] = (struct job){ &c, i };
		assert_int_equal(workq_submit(q, NULL, task, &jobs[i]), 0);
	}
	workq_free(q);
	for (int i = 0; i < 10; i++)
		assert_int_equal(c.runs[i], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_task_once_within_the_cap),
		cmocka_unit_test(test_wait_ms_times_out_while_work_runs),
		cmocka_unit_test(test_full_queue_blocks_the_submitter),
		cmocka_unit_test(test_free_runs_what_is_queued),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
