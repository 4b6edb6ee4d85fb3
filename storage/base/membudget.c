/*
 * membudget.c - the global byte budget for in-flight data: a counter under a mutex, with a
 * condition variable for the callers that choose to wait (upload parts) rather than degrade
 * (read-ahead).  See membudget.h.
 */
#include "mvbackupfs/base/membudget.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "mvbackupfs/base/clock.h"

int membudget_init(struct membudget *b, uint64_t total)
{
	int rc;

	b->total = total ? total : MEMBUDGET_DEFAULT;
	b->used = 0;
	b->peak = 0;
	b->waiters = 0;
	rc = pthread_mutex_init(&b->lock, NULL);
	if (rc)
		return -rc;
	/* deadlines are measured on the monotonic clock: immune to wall-clock jumps */
	rc = cond_init_monotonic(&b->freed);
	if (rc)
		goto out_mutex;
	return 0;
out_mutex:
	pthread_mutex_destroy(&b->lock);
	return -rc;
}

void membudget_destroy(struct membudget *b)
{
	pthread_cond_destroy(&b->freed);
	pthread_mutex_destroy(&b->lock);
}

/* Take n bytes; b->lock held. */
static void take(struct membudget *b, uint64_t n)
{
	b->used += n;
	if (b->used > b->peak)
		b->peak = b->used;
}

int membudget_try_acquire(struct membudget *b, uint64_t n)
{
	int rc = 0;

	if (n > b->total)
		return -E2BIG;
	pthread_mutex_lock(&b->lock);
	if (b->used + n > b->total)
		rc = -EAGAIN;
	else
		take(b, n);
	pthread_mutex_unlock(&b->lock);
	return rc;
}

int membudget_acquire(struct membudget *b, uint64_t n, int64_t timeout_ms)
{
	struct timespec deadline;
	int rc = 0;

	if (n > b->total)
		return -E2BIG;
	if (timeout_ms >= 0) {
		deadline = deadline_in_ms(CLOCK_MONOTONIC, timeout_ms);
	}
	pthread_mutex_lock(&b->lock);
	b->waiters++;
	while (b->used + n > b->total) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&b->freed, &b->lock);
		} else if (pthread_cond_timedwait(&b->freed, &b->lock, &deadline) == ETIMEDOUT) {
			if (b->used + n > b->total)
				rc = -ETIMEDOUT;
			break;
		}
	}
	b->waiters--;
	if (!rc)
		take(b, n);
	pthread_mutex_unlock(&b->lock);
	return rc;
}

void membudget_release(struct membudget *b, uint64_t n)
{
	pthread_mutex_lock(&b->lock);
	if (n > b->used)
		abort();	/* BUG: more given back than was taken */
	b->used -= n;
	/* waiters may each need a different amount: wake them all, they re-check */
	if (b->waiters && n)
		pthread_cond_broadcast(&b->freed);
	pthread_mutex_unlock(&b->lock);
}

int membudget_has_waiters(struct membudget *b)
{
	int v;

	pthread_mutex_lock(&b->lock);
	v = b->waiters > 0;
	pthread_mutex_unlock(&b->lock);
	return v;
}

uint64_t membudget_used(struct membudget *b)
{
	uint64_t v;

	pthread_mutex_lock(&b->lock);
	v = b->used;
	pthread_mutex_unlock(&b->lock);
	return v;
}

uint64_t membudget_peak(struct membudget *b)
{
	uint64_t v;

	pthread_mutex_lock(&b->lock);
	v = b->peak;
	pthread_mutex_unlock(&b->lock);
	return v;
}

uint64_t membudget_total(const struct membudget *b)
{
	return b->total;
}

void *membudget_map(size_t n)
{
	void *data = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (data == MAP_FAILED)
		return NULL;
#ifdef MADV_NOHUGEPAGE
	/* small pages: see membudget.h (an advice; a kernel without THP ignores it) */
	madvise(data, n, MADV_NOHUGEPAGE);
#endif
	return data;
}
