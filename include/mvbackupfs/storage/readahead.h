/*
 * readahead.h - the streaming read engine behind read() of backup files (spec §5.1, §8).
 *
 * A `struct ra_pool` is created once per daemon: a fixed set of worker threads with a bounded
 * queue that run ranged objstore_get() calls straight into chunk buffers charged to a
 * `struct membudget`.  Each open file gets a `struct ra_file`; ra_read() serves a read from
 * the chunks already fetched and keeps a read-ahead window in flight ahead of the reader:
 *
 *   - sequential reads (each starting near where the last one ended; FUSE may deliver them
 *     slightly out of order) grow the window: it starts at cfg.min_chunk and doubles on every
 *     sequential read up to cfg.max_window; up to cfg.parallel chunks are in flight at once,
 *     each clamp(window / parallel, min_chunk, chunk_size) bytes (small first chunks answer
 *     the first read quickly, large later chunks keep the request count low);
 *   - a read that is not sequential turns the window off and is served by one direct ranged
 *     GET into the caller's buffer (no read-ahead, no copy); two sequential reads in a row
 *     turn it back on;
 *   - a chunk is freed (its bytes given back to the budget) as soon as it has been read
 *     through, or once the reader is well past it;
 *   - when the budget, the pool's share of it (cfg.share) or the pool's queue is full, the
 *     window halves instead of waiting;
 *     a read that finds no chunk reads directly into the caller's buffer, so every read makes
 *     progress even with a budget of zero bytes to spare;
 *   - a chunk whose GET failed is fetched again, once, directly by the reader that needs it;
 *     if that fails too the read fails with the store's -errno and sentence;
 *   - on a store that streams, a sequential reader of a file with at least two chunks left
 *     gets the rest of it as one streamed GET (objstore_get_stream) from its first sequential
 *     read on (a read at offset 0 right after open is one), instead of a ranged GET per
 *     chunk: one worker fills chunk after chunk from it (the first one window-sized, so that
 *     the first read is answered quickly, then chunk_size ones) and waits while it is
 *     RA_STREAM_LEAD (or the window, when smaller) ahead of the reader, so the server sends
 *     one long response, as to a whole-object GET (with the S3 server on its own CPU, 8
 *     parallel 8 MiB GETs cost it ~15-25% more per byte than one long one).  The stream ends
 *     when the reader closes, turns random, or leaves it waiting cfg.stream_wait_ms, when the
 *     budget has no room for its next chunk, or on an error (a server that stops sending
 *     is one once a request timeout passes without a byte; not retried: the rest is read
 *     chunk by chunk, and that file streams no more); the chunk it was filling keeps what
 *     arrived.  At most cfg.streams streams run at once, so workers stay free for other
 *     files; a file that finds none free goes chunk by chunk and streams once one is.
 *
 * Memory: chunk buffers are anonymous mappings charged to the budget before they exist; the
 * pool keeps up to RA_SPARE_MAX (12, a window's worth) spare buffers of a full window's chunk
 * size (still charged; a smaller chunk reuses one when there is one) while any file is open, so
 * that a stream does not pay the kernel for zeroing fresh pages, and gives them up first
 * when the budget runs short and when the last file closes.  With one stream and the
 * defaults, at most max_window + one chunk is in use chunk by chunk (72 MiB measured for a
 * 1 GiB `cat`), RA_STREAM_LEAD + two chunks streamed.
 * Chunks and spares together never hold more than cfg.share of the budget, so that writers
 * of the same daemon always find room (RA_RESERVE).
 *
 * The read path costs one uncontended mutex round trip, a short list walk and a memcpy per
 * call (none with ra_read_pin, which lends the chunk's bytes instead); it makes no system call
 * unless it has to wait for a chunk or read directly.
 */
#ifndef MVBACKUPFS_READAHEAD_H
#define MVBACKUPFS_READAHEAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mvbackupfs/base/err.h"
#include "mvbackupfs/base/membudget.h"
#include "mvbackupfs/storage/objstore.h"

struct ra_pool;
struct ra_file;

/* Tuning; a zero field takes the default shown. */
struct ra_config {
	size_t chunk_size;	/* largest chunk (one ranged GET): 8 MiB */
	size_t min_chunk;	/* first chunk of a sequential run, smallest chunk: 1 MiB */
	uint64_t max_window;	/* most bytes scheduled ahead of one reader: 64 MiB */
	unsigned parallel;	/* most chunks of one file in flight at once: 8 */
	unsigned threads;	/* worker threads of the pool: 16 */
	unsigned queue_max;	/* most chunks waiting in the pool's queue: 4 * threads */
	uint64_t share;		/* most budget bytes the pool holds (chunks and spares): the
				 * budget less RA_RESERVE (or less 3/4 of it when that is smaller) */
	unsigned streams;	/* most streamed reads at once (below): threads / 4 */
	int no_stream;		/* never stream (comparisons: MVBACKUPFS_NO_STREAM=1) */
	unsigned stream_wait_ms;	/* a stream waiting this long for its reader ends: 2000 */
};

/* Budget bytes the read-ahead leaves to the other users (upload parts) by default: a copy read
 * and written by one daemon (`cp` inside one mount) waits in write() for a part buffer while it
 * reads nothing, so a reader holding the whole budget in chunks read ahead would starve the
 * writer until its budget wait ran out (ENOBUFS).  A writer needs 1.5 parts at most at once to
 * make progress (the grown buffer is copied into the first full one): 24 MiB is 3 parts of
 * 8 MiB, or exactly the 1.5 of 16 MiB that a budget of 96 MiB or more uploads
 * (upload_part_size; tests/mount/t_copy_budget.sh copies inside one mount with both). */
#define RA_RESERVE (24ull << 20)

/* Most bytes a stream fills ahead of its reader (or the window, when that is smaller; one
 * chunk at least).  The chunk-by-chunk path needs a full window to hide each GET's latency;
 * a stream has no per-chunk latency to hide, and every chunk it holds beyond the reader is a
 * buffer a fresh mount maps and the kernel zeroes.  Measured (bench-read, stop 22): fresh
 * buffers per 1 GiB `cat` 26-43 MiB at 32 MiB, 50-77 at 64, ~113 before streams started at
 * the first read; 16 MiB let the reader overtake the stream (hundreds of direct GETs). */
#define RA_STREAM_LEAD (32ull << 20)

/* Counters for benchmarks and tests (monotonic; snapshot with ra_pool_stats). */
struct ra_stats {
	uint64_t chunk_gets;	/* read-ahead GETs issued by the workers */
	uint64_t chunk_bytes;	/* bytes they fetched */
	uint64_t direct_gets;	/* GETs issued by readers into their own buffer */
	uint64_t direct_bytes;
	uint64_t hit_bytes;	/* bytes served from chunks */
	uint64_t pinned_bytes;	/* of those, bytes lent out by ra_read_pin (no copy) */
	uint64_t retries;	/* failed chunks fetched again by a reader */
	uint64_t degraded;	/* times a window was halved for lack of budget or queue */
	uint64_t wasted_bytes;	/* fetched chunk bytes freed without being read */
	uint64_t streams;	/* streamed GETs (one per steady sequential run) */
	uint64_t stream_bytes;	/* chunk bytes they filled */
	uint64_t mapped_bytes;	/* bytes of fresh chunk buffers mapped (not spares reused):
				 * the kernel zeroes each of their pages on first touch */
	uint64_t queued;	/* chunks waiting in the queue now (not a counter) */
};

/* Start the pool: `threads` workers reading from `store` (not owned; must outlive the pool)
 * with chunk memory charged to `budget` (not owned).  `cfg` may be NULL (all defaults).
 * Returns 0, -EINVAL (bad config), -ENOMEM, or -errno from pthread_create. */
int ra_pool_new(struct objstore *store, struct membudget *budget, const struct ra_config *cfg,
		struct ra_pool **out);

/* Stop and join the workers and free the pool.  Every ra_file must be closed first. */
void ra_pool_free(struct ra_pool *p);

/* Snapshot of the pool's counters. */
void ra_pool_stats(struct ra_pool *p, struct ra_stats *out);

/* Open `key` of `size` bytes (as listed; immutable while open) for reading through the pool.
 * Does no I/O.  Returns NULL only when out of memory. */
struct ra_file *ra_open(struct ra_pool *p, const char *key, uint64_t size);

/* Read up to `len` bytes at `off` into `dst`.  Returns the number of bytes read (short only
 * at the end of the object, 0 at or past it) or -errno from the store (-ENOENT, -EACCES,
 * -EIO, -ETIMEDOUT, ...) with the store's sentence in `err`.  Thread-safe: several threads
 * may read one file at once. */
ssize_t ra_read(struct ra_file *f, void *dst, size_t len, uint64_t off, struct errmsg *err);

/* Bytes of a fetched chunk lent to the caller by ra_read_pin (data == NULL: none). */
struct ra_pin {
	const char *data;
	size_t len;
	struct ra_chunk *chunk;	/* private: what ra_unpin gives back */
};

/* ra_read, except that a read lying wholly in one fetched chunk copies nothing: the chunk is
 * pinned and `pin` describes the bytes (pin->data, pin->len; the return value is pin->len).
 * The pinned bytes stay valid and unchanged, and their memory charged to the budget, until
 * ra_unpin(pin); ra_close waits for that, so give every pin back promptly (the FUSE layer
 * holds one only until the kernel has copied the reply out of it).  Otherwise pin->data is
 * NULL and the bytes are in dst, as with ra_read (dst must hold `len` bytes). */
ssize_t ra_read_pin(struct ra_file *f, void *dst, size_t len, uint64_t off, struct ra_pin *pin,
		    struct errmsg *err);

/* Give back what ra_read_pin pinned (a no-op for an empty pin); the pin is emptied.  Any
 * thread may call it, also while another thread reads the same file. */
void ra_unpin(struct ra_pin *pin);

/* Cancel the file's queued chunks, wait for the running ones and for the pins lent by
 * ra_read_pin to be given back, free everything (its bytes return to the budget).  No ra_read
 * may be running on `f`.  NULL is a no-op. */
void ra_close(struct ra_file *f);

#endif
