/*
 * workq.h - the bounded work queue every fan-out runs on.
 *
 * A work queue owns up to `max_threads` worker threads, started when work arrives and no
 * worker is idle (an idle mount has none), kept until workq_free().  Tasks wait in a FIFO of
 * at most `max_queued` entries; workq_submit() blocks while it is full (back-pressure, never
 * growth).  A caller that fans out N pieces of work submits them in a `struct workq_batch`
 * and waits for the batch: the snapshot's copies (milvus/jobs/backup_create.c) and the root
 * .info's meta reads (fs/namespace.c) do so on the mount's one queue (fs/mount.c), sized
 * from the configuration; import is to do the same; the restore
 * (milvus/jobs/restore.c) runs its copy loops on a queue of its own.
 *
 * A task must not wait for another task of the same queue (it could wait for itself).
 */
#ifndef MVBACKUPFS_WORKQ_H
#define MVBACKUPFS_WORKQ_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct workq;

/* Tasks submitted together, waited for together.  Init before use, destroy after the wait. */
struct workq_batch {
	pthread_mutex_t lock;	/* protects pending */
	pthread_cond_t done;	/* signalled when pending drops to 0 */
	size_t pending;		/* submitted and not finished */
};

/* A queue of up to max_threads workers (at least 1) and max_queued waiting tasks (at least
 * 1).  0 or -ENOMEM. */
int workq_new(unsigned max_threads, unsigned max_queued, struct workq **out);

/* Run what is queued, then stop and join the workers and free the queue.  NULL is fine. */
void workq_free(struct workq *q);

/* Most workers the queue runs at once. */
unsigned workq_max_threads(const struct workq *q);

void workq_batch_init(struct workq_batch *b);
void workq_batch_destroy(struct workq_batch *b);

/* Queue fn(arg) as part of batch b, waiting while the queue is full.  0, or -EAGAIN when no
 * worker runs and none can be started (then fn was not queued: run it yourself). */
int workq_submit(struct workq *q, struct workq_batch *b, void (*fn)(void *arg), void *arg);

/* Wait until every task of b has finished. */
void workq_batch_wait(struct workq_batch *b);

/* As workq_batch_wait, for at most ms milliseconds: 0 when done, -ETIMEDOUT otherwise (for a
 * waiter with its own chores, such as renewing the GC pause). */
int workq_batch_wait_ms(struct workq_batch *b, int64_t ms);

#endif
