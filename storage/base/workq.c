/*
 * workq.c - the bounded work queue (workq.h).
 *
 * One mutex guards the FIFO and the thread counts; `more` wakes idle workers, `room` wakes
 * submitters waiting for space.  Workers start lazily (on a submit that finds none idle) and
 * stay until workq_free.
 */
#include "mvbackupfs/base/workq.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "mvbackupfs/base/clock.h"

struct task {
	void (*fn)(void *arg);
	void *arg;
	struct workq_batch *batch;
};

struct workq {
	pthread_mutex_t lock;	/* protects everything below */
	pthread_cond_t more;	/* a task was queued, or stopping */
	pthread_cond_t room;	/* a task left the queue */
	struct task *ring;	/* max_queued slots */
	unsigned max_queued, head, len;
	unsigned max_threads, nthreads, idle;
	pthread_t *threads;
	int stopping;
};

static void batch_finish(struct workq_batch *b)
{
	pthread_mutex_lock(&b->lock);
	if (--b->pending == 0)
		pthread_cond_broadcast(&b->done);
	pthread_mutex_unlock(&b->lock);
}

static void *worker_main(void *arg)
{
	struct workq *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct task t;

		while (!q->len && !q->stopping) {
			q->idle++;
			pthread_cond_wait(&q->more, &q->lock);
			q->idle--;
		}
		if (!q->len)
			break;	/* stopping, and nothing left */
		t = q->ring[q->head];
		q->head = (q->head + 1) % q->max_queued;
		q->len--;
		pthread_cond_signal(&q->room);
		pthread_mutex_unlock(&q->lock);
		t.fn(t.arg);
		if (t.batch)
			batch_finish(t.batch);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int workq_new(unsigned max_threads, unsigned max_queued, struct workq **out)
{
	struct workq *q = calloc(1, sizeof(*q));

	*out = NULL;
	if (!q)
		return -ENOMEM;
	q->max_threads = max_threads ? max_threads : 1;
	q->max_queued = max_queued ? max_queued : 1;
	q->ring = calloc(q->max_queued, sizeof(*q->ring));
	q->threads = calloc(q->max_threads, sizeof(*q->threads));
	if (!q->ring || !q->threads) {
		free(q->ring);
		free(q->threads);
		free(q);
		return -ENOMEM;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->more, NULL);
	pthread_cond_init(&q->room, NULL);
	*out = q;
	return 0;
}

void workq_free(struct workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_cond_broadcast(&q->more);
	pthread_mutex_unlock(&q->lock);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	pthread_cond_destroy(&q->room);
	pthread_cond_destroy(&q->more);
	pthread_mutex_destroy(&q->lock);
	free(q->threads);
	free(q->ring);
	free(q);
}

unsigned workq_max_threads(const struct workq *q)
{
	return q->max_threads;
}

void workq_batch_init(struct workq_batch *b)
{
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->done, NULL);
	b->pending = 0;
}

void workq_batch_destroy(struct workq_batch *b)
{
	pthread_cond_destroy(&b->done);
	pthread_mutex_destroy(&b->lock);
}

int workq_submit(struct workq *q, struct workq_batch *b, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&q->lock);
	/* a worker for it: an idle one, or a new one while under the cap */
	if (q->idle <= q->len && q->nthreads < q->max_threads &&
	    pthread_create(&q->threads[q->nthreads], NULL, worker_main, q) == 0)
		q->nthreads++;
	if (!q->nthreads || q->stopping) {
		pthread_mutex_unlock(&q->lock);
		return -EAGAIN;
	}
	while (q->len == q->max_queued)
		pthread_cond_wait(&q->room, &q->lock);
	q->ring[(q->head + q->len) % q->max_queued] = (struct task){ fn, arg, b };
	q->len++;
	if (b) {
		pthread_mutex_lock(&b->lock);
		b->pending++;
		pthread_mutex_unlock(&b->lock);
	}
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void workq_batch_wait(struct workq_batch *b)
{
	pthread_mutex_lock(&b->lock);
	while (b->pending)
		pthread_cond_wait(&b->done, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

int workq_batch_wait_ms(struct workq_batch *b, int64_t ms)
{
	struct timespec ts;
	int rc = 0;

	ts = deadline_in_ms(CLOCK_REALTIME, ms);
	pthread_mutex_lock(&b->lock);
	while (b->pending && rc == 0)
		rc = pthread_cond_timedwait(&b->done, &b->lock, &ts);
	rc = b->pending ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&b->lock);
	return rc;
}
