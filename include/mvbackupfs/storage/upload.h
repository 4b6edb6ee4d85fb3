/*
 * upload.h - streaming object writer: bytes written in order become one object, as a single
 * PUT when small or a multipart upload with parts sent in parallel (spec §5.3, §8).
 *
 * A `struct upload_pool` owns a few worker threads that send what writers hand them.  Every
 * byte waiting in a writer's part buffer or in the queue is charged to the one global memory
 * budget (membudget.h) before it is allocated: when the budget is full, upload_write blocks
 * until a worker has sent a part (back-pressure, never growth).  upload_close returns at
 * once; the object is finished in the background (write-behind), and upload_wait waits for
 * it and returns its result.  This layer knows nothing of Milvus or FUSE.
 */
#ifndef MVBACKUPFS_UPLOAD_H
#define MVBACKUPFS_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/err.h"
#include "mvbackupfs/base/membudget.h"
#include "mvbackupfs/storage/objstore.h"

struct upload_pool;
struct upload;

#define UPLOAD_PART_SIZE	(8u << 20)	/* bytes per part (S3 needs >= 5 MiB) ... */
#define UPLOAD_PART_SIZE_LARGE	(16u << 20)	/* ... or this, when the budget holds
						 * UPLOAD_WORKERS of them (upload_part_size) */
#define UPLOAD_WORKERS		6		/* requests in flight per pool */

/* The part size for a pool charging a budget of `budget` bytes: UPLOAD_PART_SIZE_LARGE when
 * the budget holds UPLOAD_WORKERS parts of it (the default 96 MiB does), else
 * UPLOAD_PART_SIZE.  Larger parts cost the S3 server less per byte (Ceph RGW on bluestore:
 * 5.8 CPU-s per GiB of a backup copy against 6.1-6.3 with 8 MiB parts, docs/performance.md);
 * a smaller budget keeps 8 MiB parts so that as many are in flight. */
size_t upload_part_size(uint64_t budget);

/* A pool sending to `store` (borrowed), charging `budget` (borrowed).  part_size 0 =
 * upload_part_size(the budget's total) (must be >= 5 MiB on S3), workers 0 =
 * UPLOAD_WORKERS.  0 or -errno. */
int upload_pool_new(struct objstore *store, struct membudget *budget, size_t part_size,
		    unsigned workers, struct upload_pool **out);
/* Stop the workers after the queue is empty.  Every upload must have been waited for or
 * aborted first.  NULL is fine. */
void upload_pool_free(struct upload_pool *p);

/* Start writing object `key` (copied).  Nothing is sent before the first part is full or
 * the upload is closed.  0 or -ENOMEM. */
int upload_open(struct upload_pool *p, const char *key, struct upload **out);

/* Append `len` bytes.  Blocks while the budget is full, for as long as the pool's requests
 * run (they give buffers back).  Returns 0, the error of an earlier part (the upload has
 * failed), the error of the pool's requests when the budget is full while they are failing
 * (the last one to end failed and none succeeded since: the store is in trouble), -ENOBUFS when the budget stayed full
 * for a minute with none of the pool's requests running, or the store's error from starting
 * the multipart upload. */
int upload_write(struct upload *u, const void *data, size_t len, struct errmsg *err);

/* No more bytes: the rest is sent in the background.  Returns at once (0, or the error the
 * upload already has).  Idempotent. */
int upload_close(struct upload *u);

/* Wait until the object is written (after upload_close) and return the result: 0 or the
 * store's -errno with its sentence in err. */
int upload_wait(struct upload *u, struct errmsg *err);

/* 1 when the upload has finished (successfully or not). */
int upload_done(struct upload *u);

/* Bytes accepted by upload_write so far. */
uint64_t upload_size(struct upload *u);

/* Change the key before anything was sent (a rename of a file still being written or
 * queued): 0, or -EALREADY when a request for the old key has started (the caller copies
 * after upload_wait instead). */
int upload_rekey(struct upload *u, const char *key);

/* Give up: wait for the requests in flight, abort the multipart upload, free everything.
 * The object is not written (a single PUT that already went through stays: delete it). */
void upload_abort(struct upload *u);

/* Free a finished upload (after upload_wait).  NULL is fine. */
void upload_free(struct upload *u);

#endif
