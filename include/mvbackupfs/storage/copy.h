/*
 * copy.h - the one copy engine (issue 7 "storage/copy"): many objects from one store to
 * another, by a bounded pool of workers on a work queue.  Used by the snapshot job (Milvus'
 * bucket -> backup bucket) and the restore job (backup bucket -> Milvus' bucket); knows
 * nothing of Milvus or FUSE.
 *
 * Per object, in order of preference:
 *   server-side  CopyObject when both stores share a backend (objstore_same_backend) and
 *                `server_side` is set; above `part_copy_threshold` (when not 0) one
 *                UploadPartCopy at a time with cancellation checked between parts
 *   streaming    otherwise, or when the server-side copy answers -EXDEV: GET + PUT, and
 *                above one part (min(stream_part, part_copy_threshold)) a multipart upload of
 *                stream_part-sized parts; a zero-byte object is one empty PUT.  At most
 *                `stream_parallel` streams hold a buffer at a time (one object's, at most a
 *                part), each charged to `budget` (when set) before it is allocated: memory is
 *                bounded (after 10 s without room a buffer goes uncharged rather than wait
 *                forever on bytes read-ahead keeps)
 * Progress: `done(arg, bytes)` after each object; cancellation: `cancelled(arg)` polled before
 * each object and between parts; `tick(arg)` about once a second while the caller waits (the
 * snapshot renews its GC pause there).  The first failure stops the workers.
 */
#ifndef MVBACKUPFS_STORAGE_COPY_H
#define MVBACKUPFS_STORAGE_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/err.h"

struct objstore;
struct workq;
struct membudget;

/* One object to copy (the caller owns the strings). */
struct objcopy_item {
	const char *src, *dst;	/* keys in src_store / dst_store */
	uint64_t size;		/* bytes, as listed */
};

struct objcopy_opts {
	struct objstore *src_store, *dst_store;
	int server_side;		/* try server-side copies (if the stores allow it) */
	uint64_t part_copy_threshold;	/* server-side: UploadPartCopy above this; 0 = never */
	uint64_t stream_part;		/* streaming buffer and part size (0 = 8 MiB) */
	int parallel;			/* workers (>= 1; capped to the item count, and to
					 * stream_parallel when server-side copies are off) */
	int stream_parallel;		/* streams holding a buffer at once (0 = 8) */
	struct workq *wq;		/* NULL: a queue of the run's own */
	struct membudget *budget;	/* NULL: buffers not charged */
	int shuffle;			/* spread the order over prefixes (milvus-backup does) */
	int (*cancelled)(void *arg);	/* NULL: never */
	void (*done)(void *arg, uint64_t bytes);	/* NULL: no progress */
	void (*tick)(void *arg);	/* NULL: none */
	void *arg;
};

/* Copy items[0..n) (reordered when opts->shuffle).  0 when all are copied; -ECANCELED;
 * -ENOMEM / -EAGAIN when the workers cannot start (*failed untouched); else the first
 * failure, with *failed the index of its item (after the shuffle) and `err` the cause (the
 * caller names the object). */
int objcopy_run(const struct objcopy_opts *opts, struct objcopy_item *items, size_t n,
		size_t *failed, struct errmsg *err);

#endif
