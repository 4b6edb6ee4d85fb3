/*
 * readahead.c - the streaming read engine: a worker pool that runs ranged GETs into chunk
 * buffers, and per-file windows that keep those chunks ahead of a sequential reader
 * (spec §5.1, §8).  See readahead.h for the policy.
 *
 * Locking: a file's lock protects its chunk list and window; the pool's lock protects the
 * queue.  The order is file lock, then pool lock (workers pop a chunk under the pool lock,
 * drop it, then take the chunk's file lock).  A chunk that a reader is copying from is pinned
 * so that the copy runs without the lock held; a pinned chunk is never freed.  ra_read_pin
 * hands a pin to its caller (the FUSE reply goes out of the chunk's own pages), and ra_close
 * waits until every such pin is given back.
 */
#include "mvbackupfs/storage/readahead.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/log.h"

#define MiB (1024u * 1024u)

/*
 * Buffers of a steady stream's chunk size (steady_chunk: chunk_size with the default window)
 * are recycled rather than unmapped, and a smaller chunk reuses one too: the kernel zeroes every fresh
 * page, which was 40% of the CPU of a 1 GiB stream (§8 counts CPU per GiB).  A stream
 * keeps up to 8 chunks in flight and frees each one just before it needs another, so a
 * window's worth of spares means a steady stream never maps a fresh buffer (with only 2,
 * page zeroing was still ~8% of the daemon's CPU).  Spares stay charged to the budget, are given back first when the budget runs short, and are dropped
 * RA_IDLE_MS after the last file closed (idle RSS, §8), at once if someone waits for the
 * budget.  Dropping them at the last close itself meant that `cp -r`, which has one file open
 * at a time, mapped a fresh window of chunks for every large file: 36 fresh 8 MiB buffers for
 * a 1 GiB copy, ~6% of the reading daemon's CPU in huge-page clearing.
 */
#define RA_SPARE_MAX 12
#define RA_IDLE_MS 1000		/* spares outlive the last file by this long (the next file) */
#define RA_POLL_MS 20		/* meanwhile, how often a budget waiter is looked for */
#define RA_STREAM_WAIT_MS 2000	/* a stream waiting this long for the reader lets go
				 * (cfg.stream_wait_ms) */
#define RA_CATCHUP_MS 100	/* a reader at a stream's frontier waits this long for it */

enum chunk_state {
	CHUNK_QUEUED,		/* in the pool's queue */
	CHUNK_RUNNING,		/* a worker is fetching it */
	CHUNK_DONE,		/* data[0, got) valid */
	CHUNK_FAILED,		/* rc and err say why */
};

struct ra_chunk {
	struct ra_file *file;
	struct ra_chunk *next;	/* file's list, by offset; file lock */
	struct ra_chunk *qnext;	/* pool queue; pool lock */
	uint64_t off;
	size_t len;		/* requested bytes */
	size_t got;		/* bytes fetched (short only past the object's real end) */
	size_t charged;		/* bytes mapped and charged to the budget */
	char *data;
	enum chunk_state state;	/* file lock */
	unsigned pins;		/* readers copying out without the lock; file lock */
	int stream;		/* queued as the start of a stream (the rest of the file) */
	uint64_t consumed;	/* bytes copied out so far; file lock */
	int rc;
	struct errmsg err;	/* written by the worker while RUNNING, read after */
};

struct ra_file {
	struct ra_pool *pool;
	char *key;		/* immutable */
	uint64_t size;		/* immutable */
	pthread_mutex_t lock;	/* protects every field below and the chunks' file-lock fields */
	pthread_cond_t done;	/* broadcast when a chunk leaves QUEUED/RUNNING, a stream adds
				 * a chunk or ends (CLOCK_MONOTONIC) */
	pthread_cond_t room;	/* signalled when the reader moved on or the window changed
				 * while a stream waits for room (CLOCK_MONOTONIC) */
	struct ra_chunk *chunks;	/* sorted by offset, never overlapping */
	unsigned inflight;	/* chunks QUEUED or RUNNING */
	uint64_t seq_end;	/* where the last read ended: the next sequential offset */
	uint64_t window;	/* bytes to keep scheduled ahead of the reader; 0 = off */
	unsigned streak;	/* sequential reads in a row */
	uint64_t ahead;		/* end of the furthest scheduled chunk */
	int streaming;		/* a stream is queued or running: it schedules from f->ahead on */
	int stream_off;		/* a stream of this file failed: no more */
	unsigned stream_waits;	/* a stream waits on `room` */
	int closing;
};

struct ra_pool {
	struct objstore *store;
	struct membudget *budget;
	struct ra_config cfg;
	uint64_t slack;		/* out-of-order tolerance of "sequential", bytes */
	pthread_t *threads;
	unsigned nthreads;
	size_t spare_size;	/* the one buffer size recycled: the page-rounded size of a
				 * chunk of a full window (steady_chunk) */
	pthread_mutex_t lock;	/* protects qhead, qtail, qlen, stopping, spare, nspare, nfiles,
				 * idle_ms, charged */
	pthread_cond_t work;	/* signalled when a chunk is queued, the pool stops or the last
				 * file closes (CLOCK_MONOTONIC) */
	struct ra_chunk *qhead, *qtail;
	unsigned qlen;
	int stopping;
	char *spare[RA_SPARE_MAX];	/* freed full-size buffers, still charged to the budget */
	unsigned nspare;
	unsigned nfiles;	/* files open */
	int64_t idle_ms;	/* mono_ms() when nfiles last fell to 0 */
	uint64_t charged;	/* budget bytes held (chunks and spares), at most cfg.share */
	unsigned nstreams;	/* streams queued or running, at most cfg.streams */
	struct {		/* relaxed atomics: counters only */
		atomic_uint_fast64_t chunk_gets, chunk_bytes, direct_gets, direct_bytes,
			hit_bytes, pinned_bytes, retries, degraded, wasted_bytes, mapped_bytes,
			streams, stream_bytes;
	} st;
};

#define STAT_ADD(p, field, n) atomic_fetch_add_explicit(&(p)->st.field, (n), memory_order_relaxed)

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t chunk_end(const struct ra_chunk *c)
{
	return c->off + c->len;
}

/* ---- chunk memory: mapped (membudget_map) so that freeing returns it to the system at once */

static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

/* Unmap up to `max` spare buffers and give their bytes back; returns how many.  With
 * `idle_only`, only while no file is open (one may have been opened since the caller looked). */
static unsigned spares_drop(struct ra_pool *p, int idle_only, unsigned max)
{
	char *spare[RA_SPARE_MAX];
	unsigned n, i;

	pthread_mutex_lock(&p->lock);
	n = idle_only && p->nfiles ? 0 : p->nspare;
	if (n > max)
		n = max;
	for (i = 0; i < n; i++)
		spare[i] = p->spare[--p->nspare];
	p->charged -= (uint64_t)n * p->spare_size;
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < n; i++) {
		munmap(spare[i], p->spare_size);
		membudget_release(p->budget, p->spare_size);
	}
	return n;
}

/* Charge n bytes to the budget within the pool's share: 0, or -EAGAIN when either is full. */
static int charge(struct ra_pool *p, size_t n)
{
	int rc = -EAGAIN;

	/* pool lock, then the budget's (a leaf lock) */
	pthread_mutex_lock(&p->lock);
	if (p->charged + n <= p->cfg.share && !membudget_try_acquire(p->budget, n)) {
		p->charged += n;
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Give back n bytes charged by charge(). */
static void uncharge(struct ra_pool *p, size_t n)
{
	pthread_mutex_lock(&p->lock);
	p->charged -= n;
	pthread_mutex_unlock(&p->lock);
	membudget_release(p->budget, n);
}

/* A charged buffer of at least `want` bytes (page-rounded), its charged size in *charged: a
 * spare if one is kept and `want` fits in it (a first, smaller chunk of a run reuses a spare
 * too), else a new mapping of `want` bytes charged to the budget now.  NULL when the budget is
 * full or memory is short.  A file's first chunks are small (the ramp up to chunk_size);
 * taking spares for them too keeps one set of buffers going round from file to file. */
static char *buffer_get(struct ra_pool *p, size_t want, size_t *charged)
{
	char *data = NULL;

	if (want <= p->spare_size) {
		pthread_mutex_lock(&p->lock);
		if (p->nspare)
			data = p->spare[--p->nspare];
		pthread_mutex_unlock(&p->lock);
		if (data) {
			*charged = p->spare_size;
			return data;
		}
	}
	/* spares are the first thing to give up, one at a time: dropping them all for one small
	 * chunk at the share's edge meant mapping (and zeroing) a fresh window right after */
	while (charge(p, want))
		if (!spares_drop(p, 0, 1))
			return NULL;
	data = membudget_map(want);
	if (!data) {
		uncharge(p, want);
		return NULL;
	}
	STAT_ADD(p, mapped_bytes, want);
	*charged = want;
	return data;
}

/* Keep a buffer as a spare, or unmap it and give its bytes back. */
static void buffer_put(struct ra_pool *p, char *data, size_t charged)
{
	if (charged == p->spare_size) {
		int kept = 0, wanted;

		/* nor while someone waits for the budget: the bytes are theirs */
		wanted = membudget_has_waiters(p->budget);
		pthread_mutex_lock(&p->lock);
		if (p->nspare < RA_SPARE_MAX && p->nfiles && !p->stopping && !wanted) {
			p->spare[p->nspare++] = data;
			kept = 1;
		}
		pthread_mutex_unlock(&p->lock);
		if (kept)
			return;
	}
	munmap(data, charged);
	uncharge(p, charged);
}

/* A chunk of `len` bytes at `off`, its buffer charged to the budget; NULL when the budget
 * is full or memory is short. */
static struct ra_chunk *chunk_new(struct ra_pool *p, struct ra_file *f, uint64_t off,
				  size_t len)
{
	struct ra_chunk *c = calloc(1, sizeof(*c));
	size_t charged = 0;

	if (!c)
		return NULL;
	c->data = buffer_get(p, page_round(len), &charged);
	if (!c->data) {
		free(c);
		return NULL;
	}
	c->file = f;
	c->off = off;
	c->len = len;
	c->charged = charged;
	c->state = CHUNK_QUEUED;
	return c;
}

static void chunk_free(struct ra_pool *p, struct ra_chunk *c)
{
	if (c->state == CHUNK_DONE && c->consumed < c->got)
		STAT_ADD(p, wasted_bytes, c->got - c->consumed);
	buffer_put(p, c->data, c->charged);
	free(c);
}

/* Unlink and free chunk c (not pinned, not in flight); f->lock held. */
static void chunk_drop(struct ra_file *f, struct ra_chunk *c)
{
	struct ra_chunk **pp = &f->chunks;

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	chunk_free(f->pool, c);
}

/* The chunk covering byte `pos`, or NULL; f->lock held. */
static struct ra_chunk *chunk_find(struct ra_file *f, uint64_t pos)
{
	struct ra_chunk *c;

	for (c = f->chunks; c && c->off <= pos; c = c->next)
		if (pos < chunk_end(c))
			return c;
	return NULL;
}

/* Start of the first chunk beginning after `pos` (f->size if none); f->lock held. */
static uint64_t next_chunk_start(struct ra_file *f, uint64_t pos)
{
	struct ra_chunk *c;

	for (c = f->chunks; c; c = c->next)
		if (c->off > pos)
			return c->off;
	return f->size;
}

/* ---- the pool ------------------------------------------------------------------------ */

/* The chunk size of a window of w bytes: w / parallel within [min_chunk, chunk_size]. */
static uint64_t window_chunk(const struct ra_config *cfg, uint64_t w)
{
	uint64_t csize = w / cfg->parallel;

	if (csize < cfg->min_chunk)
		csize = cfg->min_chunk;
	if (csize > cfg->chunk_size)
		csize = cfg->chunk_size;
	return csize;
}

/* The size of a steady stream's chunks (a full window): the size worth recycling.  It was
 * chunk_size, which a window below parallel * chunk_size (mvbackupfs.readahead.max < 64 MiB)
 * never uses: every chunk was then a fresh mapping whose pages the kernel zeroed (measured,
 * readahead.max 32 MiB: 1.2-1.4 CPU-s per GiB against 0.94-1.06 at 64 MiB). */
static uint64_t steady_chunk(const struct ra_config *cfg)
{
	return window_chunk(cfg, cfg->max_window);
}

static void *worker_main(void *arg);

static int queue_push(struct ra_pool *p, struct ra_chunk *c)
{
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	if (p->qlen >= p->cfg.queue_max) {
		rc = -EAGAIN;
	} else {
		c->qnext = NULL;
		if (p->qtail)
			p->qtail->qnext = c;
		else
			p->qhead = c;
		p->qtail = c;
		p->qlen++;
		pthread_cond_signal(&p->work);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* A stream of f ended or was cancelled before it ran: f may stream again, the pool has a
 * slot more.  f->lock held, and the pool's lock when `pool_locked`. */
static void stream_release(struct ra_file *f, int pool_locked)
{
	f->streaming = 0;
	pthread_cond_broadcast(&f->done);	/* readers at its frontier read on their own */
	if (!pool_locked)
		pthread_mutex_lock(&f->pool->lock);
	f->pool->nstreams--;
	if (!pool_locked)
		pthread_mutex_unlock(&f->pool->lock);
}

/* Remove every queued chunk of file f from the queue; returns how many.  f->lock held. */
static unsigned queue_cancel(struct ra_pool *p, struct ra_file *f)
{
	struct ra_chunk **pp, *c;
	unsigned n = 0;

	pthread_mutex_lock(&p->lock);
	p->qtail = NULL;
	for (pp = &p->qhead; (c = *pp);) {
		if (c->file == f) {
			*pp = c->qnext;
			p->qlen--;
			c->state = CHUNK_FAILED;
			c->rc = -ECANCELED;
			if (c->stream)
				stream_release(f, 1);
			n++;
		} else {
			p->qtail = c;
			pp = &c->qnext;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* ---- streams ------------------------------------------------------------------------ */

/* A stream in progress: written by the worker running it, read under nobody's lock. */
struct ra_stream {
	struct ra_file *f;
	struct ra_chunk *cur;	/* the chunk being filled (RUNNING; only the stream writes it) */
	size_t filled;		/* bytes of cur written */
};

/* Insert chunk c into f's list by offset; f->lock held. */
static void chunk_insert(struct ra_file *f, struct ra_chunk *c)
{
	struct ra_chunk **pp;

	for (pp = &f->chunks; *pp && (*pp)->off < c->off; pp = &(*pp)->next)
		;
	c->next = *pp;
	*pp = c;
}

/*
 * Start streaming the rest of f from f->ahead (f->lock held): 1 when a stream is queued
 * (schedule leaves the rest to it), 0 to go on chunk by chunk.  For a sequential reader of a
 * file with at least two full chunks left, fewer than cfg.parallel chunks in flight and
 * nothing fetched beyond f->ahead yet, on a store that streams.  From the first sequential
 * read on: the stream's first chunk is window-sized (small: it answers the first read
 * quickly), the others chunk_size ones (recycled spares), and the file is one GET from the
 * server's point of view, as for `curl` of the whole object.  Waiting for a full window first
 * cost a fresh mount eight parallel ranged GETs and ~40 MiB of ramp-up chunk buffers per
 * file, each mapped fresh (page zeroing was 12-16% of the daemon's CPU for a 1 GiB `cat`,
 * perf, stop 22).
 */
static int stream_start(struct ra_file *f)
{
	struct ra_pool *p = f->pool;
	const struct ra_config *cfg = &p->cfg;
	struct ra_chunk *c;
	int slot = 0;

	if (cfg->no_stream || f->stream_off || !f->window ||
	    f->size - f->ahead < 2 * (uint64_t)cfg->chunk_size ||
	    f->inflight >= cfg->parallel || chunk_find(f, f->ahead) ||
	    next_chunk_start(f, f->ahead) < f->size)
		return 0;
	pthread_mutex_lock(&p->lock);
	if (p->nstreams < cfg->streams) {
		p->nstreams++;
		slot = 1;
	}
	pthread_mutex_unlock(&p->lock);
	if (!slot)
		return 0;
	c = chunk_new(p, f, f->ahead, window_chunk(cfg, f->window));
	if (c) {
		c->stream = 1;
		chunk_insert(f, c);
		if (!queue_push(p, c)) {
			f->inflight++;
			f->streaming = 1;
			f->ahead = chunk_end(c);
			return 1;
		}
		chunk_drop(f, c);
	}
	pthread_mutex_lock(&p->lock);
	p->nstreams--;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* How far ahead of the reader a stream fills: RA_STREAM_LEAD, the window when that is
 * smaller, and one chunk at least (the stream's chunks are chunk_size ones after the first). */
static uint64_t stream_room(const struct ra_file *f)
{
	uint64_t w = min_u64(f->window, RA_STREAM_LEAD);

	return w > f->pool->cfg.chunk_size ? w : f->pool->cfg.chunk_size;
}

/* Make the chunk at `off` the stream's next, once the reader has left room for it in the
 * window and the budget has room for its buffer (f->lock held, waiting on f->room meanwhile:
 * readers signal it as they move on and free chunks): 0, or nonzero to end the stream (see
 * readahead.h). */
static int stream_next_locked(struct ra_stream *s, uint64_t off)
{
	struct ra_file *f = s->f;
	struct ra_pool *p = f->pool;
	int64_t deadline = mono_ms() + p->cfg.stream_wait_ms;
	uint64_t len;
	struct ra_chunk *c = NULL;

	for (;;) {
		struct timespec ts;

		if (f->closing || !f->window)
			return -1;
		len = min_u64(p->cfg.chunk_size, f->size - off);
		if (off + len <= f->seq_end + stream_room(f)) {
			if (chunk_find(f, off) || next_chunk_start(f, off) < off + len)
				return -1;	/* an earlier run fetched some of it */
			c = chunk_new(p, f, off, (size_t)len);
			if (c)
				break;
		}
		if (mono_ms() >= deadline) {
			log_debug("read-ahead: stream of '%s' waited %u ms for the reader to make "
				  "room", f->key, p->cfg.stream_wait_ms);
			return -1;	/* the reader paused: give the connection back */
		}
		ts = deadline_in_ms(CLOCK_MONOTONIC, RA_POLL_MS * 10);
		f->stream_waits++;
		pthread_cond_timedwait(&f->room, &f->lock, &ts);
		f->stream_waits--;
	}
	c->state = CHUNK_RUNNING;
	chunk_insert(f, c);
	f->ahead = chunk_end(c);
	s->cur = c;
	s->filled = 0;
	pthread_cond_broadcast(&f->done);	/* a reader at the frontier waits for it */
	return 0;
}

/* objstore_sink of a stream: fill the current chunk; each full one is done (readers wake)
 * and the next one is taken. */
static int stream_sink(void *ctx, const char *data, size_t len)
{
	struct ra_stream *s = ctx;
	struct ra_file *f = s->f;

	while (len) {
		struct ra_chunk *c = s->cur;
		size_t n;
		int stop;

		if (!c)
			return 1;	/* past the end of the file as listed */
		n = min_u64(len, c->len - s->filled);
		memcpy(c->data + s->filled, data, n);
		s->filled += n;
		data += n;
		len -= n;
		if (s->filled < c->len)
			continue;
		pthread_mutex_lock(&f->lock);
		c->got = c->len;
		c->state = CHUNK_DONE;
		s->cur = NULL;
		STAT_ADD(f->pool, stream_bytes, c->len);
		pthread_cond_broadcast(&f->done);
		stop = chunk_end(c) < f->size && stream_next_locked(s, chunk_end(c));
		pthread_mutex_unlock(&f->lock);
		if (stop)
			return 1;
	}
	return 0;
}

/* Run the stream that starts with chunk c (popped from the queue; f->lock held, and held
 * again on return).  Whatever ends it, the chunks it completed stay, the one it was filling
 * keeps what arrived, and f->ahead is where chunk-by-chunk scheduling goes on. */
static void stream_run(struct ra_pool *p, struct ra_file *f, struct ra_chunk *c)
{
	struct ra_stream s = { .f = f, .cur = c };
	struct errmsg e = { { 0 } };
	uint64_t from = c->off, got = 0;	/* c is freed once read through */
	int rc;

	c->state = CHUNK_RUNNING;
	pthread_mutex_unlock(&f->lock);
	rc = objstore_get_stream(p->store, f->key, from, f->size - from, stream_sink, &s, &got,
				 &e);
	STAT_ADD(p, streams, 1);
	pthread_mutex_lock(&f->lock);
	if (s.cur) {
		struct ra_chunk *cur = s.cur;

		f->ahead = cur->off + s.filled;
		if (s.filled) {
			cur->len = cur->got = s.filled;	/* the rest is read the usual way */
			cur->state = CHUNK_DONE;
		} else {
			cur->state = CHUNK_FAILED;
			cur->rc = -ECANCELED;
			chunk_drop(f, cur);	/* RUNNING: nobody has pinned it */
		}
	}
	/* a failure (not a stop asked for) is not tried again by streaming: the chunk-by-chunk
	 * path retries, and reports what persists */
	if (rc && rc != -ECANCELED)
		f->stream_off = 1;
	log_debug("read-ahead: stream of '%s' from %llu: %llu bytes, %s", f->key,
		  (unsigned long long)from, (unsigned long long)got,
		  rc == -ECANCELED ? "stopped" : rc ? errmsg_str(&e, rc) : "to the end");
	stream_release(f, 0);
}

/*
 * Keep the window scheduled: chunks from f->ahead up to pos + window, at most cfg.parallel
 * in flight.  When the budget or the queue is full the window halves (degrades) instead of
 * waiting: readers will read directly meanwhile.  f->lock held.
 */
static void schedule(struct ra_file *f, uint64_t pos)
{
	struct ra_pool *p = f->pool;
	const struct ra_config *cfg = &p->cfg;
	uint64_t limit, csize;

	if (!f->window || f->closing || pos >= f->size || f->streaming)
		return;
	limit = min_u64(f->size, pos + f->window);
	if (f->ahead < pos || f->ahead > pos + cfg->max_window + cfg->chunk_size)
		f->ahead = pos;		/* a new run: start at the reader */
	csize = window_chunk(cfg, f->window);
	if (f->ahead < limit && stream_start(f))
		return;
	while (f->ahead < limit && f->inflight < cfg->parallel) {
		struct ra_chunk *c = chunk_find(f, f->ahead), **pp;
		uint64_t len;

		if (c) {		/* already covered (an earlier run) */
			f->ahead = chunk_end(c);
			continue;
		}
		len = min_u64(csize, next_chunk_start(f, f->ahead) - f->ahead);
		c = chunk_new(p, f, f->ahead, len);
		if (!c)
			goto degrade;
		for (pp = &f->chunks; *pp && (*pp)->off < c->off; pp = &(*pp)->next)
			;
		c->next = *pp;
		*pp = c;
		if (queue_push(p, c)) {
			*pp = c->next;
			chunk_free(p, c);
			goto degrade;
		}
		f->inflight++;
		f->ahead = chunk_end(c);
	}
	return;
degrade:
	STAT_ADD(p, degraded, 1);
	f->window /= 2;
	if (f->window < cfg->min_chunk)
		f->window = cfg->min_chunk;
}

/* Wait for a queued chunk (p->lock held; returns with it held, NULL when stopping and
 * nothing is left).  While no file is open and spares are kept, the waiting worker gives them
 * back RA_IDLE_MS after the last close, or as soon as someone waits for the budget. */
static struct ra_chunk *next_chunk_locked(struct ra_pool *p)
{
	while (!p->qhead && !p->stopping) {
		struct timespec ts;
		int64_t left;

		if (!p->nspare || p->nfiles) {
			pthread_cond_wait(&p->work, &p->lock);
			continue;
		}
		left = p->idle_ms + RA_IDLE_MS - mono_ms();
		pthread_mutex_unlock(&p->lock);
		if (left <= 0 || membudget_has_waiters(p->budget)) {
			spares_drop(p, 1, RA_SPARE_MAX);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		if (left > RA_POLL_MS)
			left = RA_POLL_MS;
		ts = deadline_in_ms(CLOCK_MONOTONIC, left);
		pthread_mutex_lock(&p->lock);
		pthread_cond_timedwait(&p->work, &p->lock, &ts);
	}
	return p->qhead;
}

static void *worker_main(void *arg)
{
	struct ra_pool *p = arg;

	for (;;) {
		struct ra_chunk *c;
		struct ra_file *f;
		size_t got = 0;
		int rc;

		pthread_mutex_lock(&p->lock);
		c = next_chunk_locked(p);
		if (!c) {	/* stopping and nothing left */
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		p->qhead = c->qnext;
		if (!p->qhead)
			p->qtail = NULL;
		p->qlen--;
		pthread_mutex_unlock(&p->lock);

		/* popped chunks stay counted in f->inflight, so f cannot go away under us */
		f = c->file;
		pthread_mutex_lock(&f->lock);
		if (f->closing) {
			c->state = CHUNK_FAILED;
			c->rc = -ECANCELED;
			if (c->stream)
				stream_release(f, 0);
			goto finish;
		}
		if (c->stream) {
			stream_run(p, f, c);
			goto finish;
		}
		c->state = CHUNK_RUNNING;
		pthread_mutex_unlock(&f->lock);

		rc = objstore_get(p->store, f->key, c->off, c->len, c->data, &got, &c->err);
		STAT_ADD(p, chunk_gets, 1);
		STAT_ADD(p, chunk_bytes, got);

		pthread_mutex_lock(&f->lock);
		c->got = rc ? 0 : got;
		c->rc = rc;
		c->state = rc ? CHUNK_FAILED : CHUNK_DONE;
finish:
		f->inflight--;
		/* keep `parallel` chunks in flight even while the reader waits on an earlier one */
		schedule(f, f->seq_end);
		pthread_cond_broadcast(&f->done);
		pthread_mutex_unlock(&f->lock);
	}
}

int ra_pool_new(struct objstore *store, struct membudget *budget, const struct ra_config *cfg,
		struct ra_pool **out)
{
	struct ra_pool *p;
	unsigned i;
	int rc;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (cfg)
		p->cfg = *cfg;
	if (!p->cfg.chunk_size)
		p->cfg.chunk_size = 8 * MiB;
	if (!p->cfg.min_chunk)
		p->cfg.min_chunk = p->cfg.chunk_size < MiB ? p->cfg.chunk_size : MiB;
	if (!p->cfg.max_window)
		p->cfg.max_window = 64ull * MiB;
	if (!p->cfg.parallel)
		p->cfg.parallel = 8;
	if (!p->cfg.threads)
		p->cfg.threads = 16;
	if (!p->cfg.queue_max)
		p->cfg.queue_max = 4 * p->cfg.threads;
	if (!p->cfg.streams)
		p->cfg.streams = p->cfg.threads / 4 ? p->cfg.threads / 4 : 1;
	if (!p->cfg.stream_wait_ms)
		p->cfg.stream_wait_ms = RA_STREAM_WAIT_MS;
	if (!objstore_can_stream(store))
		p->cfg.no_stream = 1;
	if (!p->cfg.share) {
		uint64_t total = membudget_total(budget);
		uint64_t reserve = total / 4 * 3 < RA_RESERVE ? total / 4 * 3 : RA_RESERVE;

		p->cfg.share = total - reserve;
	}
	if (p->cfg.min_chunk > p->cfg.chunk_size || p->cfg.max_window < p->cfg.min_chunk) {
		free(p);
		return -EINVAL;
	}
	/* FUSE keeps up to max_background (12) 128 KiB reads in flight: they may arrive out of
	 * order by about that much; a chunk is also kept that long after the reader passed it */
	p->slack = 2 * MiB;
	p->store = store;
	p->budget = budget;
	p->spare_size = page_round(steady_chunk(&p->cfg));
	rc = -pthread_mutex_init(&p->lock, NULL);
	if (rc)
		goto out_free;
	rc = -cond_init_monotonic(&p->work);
	if (rc)
		goto out_mutex;
	p->threads = calloc(p->cfg.threads, sizeof(*p->threads));
	if (!p->threads) {
		rc = -ENOMEM;
		goto out_cond;
	}
	for (i = 0; i < p->cfg.threads; i++) {
		rc = -pthread_create(&p->threads[i], NULL, worker_main, p);
		if (rc)
			break;
		p->nthreads++;
	}
	if (rc) {
		ra_pool_free(p);
		return rc;
	}
	*out = p;
	return 0;
out_cond:
	pthread_cond_destroy(&p->work);
out_mutex:
	pthread_mutex_destroy(&p->lock);
out_free:
	free(p);
	return rc;
}

void ra_pool_free(struct ra_pool *p)
{
	unsigned i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	spares_drop(p, 0, RA_SPARE_MAX);
	free(p->threads);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void ra_pool_stats(struct ra_pool *p, struct ra_stats *out)
{
	out->chunk_gets = atomic_load_explicit(&p->st.chunk_gets, memory_order_relaxed);
	out->chunk_bytes = atomic_load_explicit(&p->st.chunk_bytes, memory_order_relaxed);
	out->direct_gets = atomic_load_explicit(&p->st.direct_gets, memory_order_relaxed);
	out->direct_bytes = atomic_load_explicit(&p->st.direct_bytes, memory_order_relaxed);
	out->hit_bytes = atomic_load_explicit(&p->st.hit_bytes, memory_order_relaxed);
	out->pinned_bytes = atomic_load_explicit(&p->st.pinned_bytes, memory_order_relaxed);
	out->retries = atomic_load_explicit(&p->st.retries, memory_order_relaxed);
	out->degraded = atomic_load_explicit(&p->st.degraded, memory_order_relaxed);
	out->wasted_bytes = atomic_load_explicit(&p->st.wasted_bytes, memory_order_relaxed);
	out->mapped_bytes = atomic_load_explicit(&p->st.mapped_bytes, memory_order_relaxed);
	out->streams = atomic_load_explicit(&p->st.streams, memory_order_relaxed);
	out->stream_bytes = atomic_load_explicit(&p->st.stream_bytes, memory_order_relaxed);
	pthread_mutex_lock(&p->lock);
	out->queued = p->qlen;
	pthread_mutex_unlock(&p->lock);
}

/* ---- files --------------------------------------------------------------------------- */

struct ra_file *ra_open(struct ra_pool *p, const char *key, uint64_t size)
{
	struct ra_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->key = strdup(key);
	if (!f->key)
		goto out_free;
	if (pthread_mutex_init(&f->lock, NULL))
		goto out_key;
	if (cond_init_monotonic(&f->done))
		goto out_mutex;
	if (cond_init_monotonic(&f->room)) {
		pthread_cond_destroy(&f->done);
		goto out_mutex;
	}
	f->pool = p;
	f->size = size;
	f->streak = 1;
	pthread_mutex_lock(&p->lock);
	p->nfiles++;
	pthread_mutex_unlock(&p->lock);
	return f;
out_mutex:
	pthread_mutex_destroy(&f->lock);
out_key:
	free(f->key);
out_free:
	free(f);
	return NULL;
}

/* Whether a chunk of f is pinned; f->lock held. */
static int any_pinned(const struct ra_file *f)
{
	const struct ra_chunk *c;

	for (c = f->chunks; c; c = c->next)
		if (c->pins)
			return 1;
	return 0;
}

void ra_close(struct ra_file *f)
{
	struct ra_pool *p;
	struct ra_chunk *c;
	unsigned left;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->closing = 1;
	f->inflight -= queue_cancel(f->pool, f);
	pthread_cond_broadcast(&f->room);	/* a stream waiting for the reader ends */
	/* in flight, or handed out by ra_read_pin and not yet given back */
	while (f->inflight || any_pinned(f))
		pthread_cond_wait(&f->done, &f->lock);
	while ((c = f->chunks)) {
		f->chunks = c->next;
		chunk_free(f->pool, c);
	}
	pthread_mutex_unlock(&f->lock);
	pthread_cond_destroy(&f->room);
	pthread_cond_destroy(&f->done);
	pthread_mutex_destroy(&f->lock);
	p = f->pool;
	free(f->key);
	free(f);
	pthread_mutex_lock(&p->lock);
	left = --p->nfiles;
	pthread_mutex_unlock(&p->lock);
	if (!left) {
		/* idle: a worker gives the spares back RA_IDLE_MS from now (next_chunk_locked) */
		pthread_mutex_lock(&p->lock);
		p->idle_ms = mono_ms();
		pthread_cond_signal(&p->work);
		pthread_mutex_unlock(&p->lock);
	}
}

/* Free chunks nobody needs any more: read through, or left well behind (or far ahead,
 * after a seek back) by the reader.  f->lock held. */
static void trim(struct ra_file *f)
{
	struct ra_pool *p = f->pool;
	uint64_t behind = f->seq_end > p->slack ? f->seq_end - p->slack : 0;
	uint64_t beyond = f->seq_end + p->cfg.max_window + p->cfg.chunk_size;
	struct ra_chunk *c, *next;

	for (c = f->chunks; c; c = next) {
		next = c->next;
		if (c->pins || c->state == CHUNK_QUEUED || c->state == CHUNK_RUNNING)
			continue;
		if ((c->state == CHUNK_DONE && c->consumed >= c->got) ||
		    chunk_end(c) <= behind || c->off > beyond)
			chunk_drop(f, c);
	}
}

/* Update the access pattern with a read of [off, off+len); f->lock held. */
static void note_access(struct ra_file *f, uint64_t off, uint64_t len)
{
	struct ra_pool *p = f->pool;
	/* out-of-order tolerance scales with the read size: FUSE keeps a dozen reads in
	 * flight, so 128 KiB reads may arrive ~1.5 MiB apart, while small random reads that
	 * happen to land near each other must not look sequential */
	uint64_t tol = min_u64(p->slack, 16 * len);
	int sequential = (off + tol >= f->seq_end && off <= f->seq_end + tol) ||
			 chunk_find(f, off);

	if (sequential) {
		/* two sequential reads in a row turn read-ahead on; open counts as one, so that
		 * a first read at offset 0 starts it at once */
		if (f->streak < 2)
			f->streak++;
		if (f->streak < 2)
			f->window = 0;
		else if (!f->window)
			f->window = p->cfg.min_chunk;
		else if (f->window < p->cfg.max_window)
			f->window = min_u64(2 * f->window, p->cfg.max_window);
		if (off + len > f->seq_end)
			f->seq_end = off + len;
	} else {
		f->window = 0;	/* random access: direct reads only */
		f->streak = 0;
		f->seq_end = off + len;
	}
}

ssize_t ra_read(struct ra_file *f, void *dst, size_t len, uint64_t off, struct errmsg *err)
{
	return ra_read_pin(f, dst, len, off, NULL, err);
}

ssize_t ra_read_pin(struct ra_file *f, void *dst, size_t len, uint64_t off, struct ra_pin *pin,
		    struct errmsg *err)
{
	struct ra_pool *p = f->pool;
	uint64_t pos, end, catchup = UINT64_MAX;
	int rc = 0;

	if (pin)
		*pin = (struct ra_pin){ 0 };
	if (off >= f->size || !len)
		return 0;
	end = off + min_u64(len, f->size - off);
	pos = off;

	pthread_mutex_lock(&f->lock);
	note_access(f, off, end - off);
	if (f->stream_waits)
		pthread_cond_signal(&f->room);	/* the reader moved on (or turned random) */
	schedule(f, off);
	while (pos < end) {
		struct ra_chunk *c = chunk_find(f, pos);
		uint64_t stop;
		size_t got = 0, n;

		if (c && (c->state == CHUNK_QUEUED || c->state == CHUNK_RUNNING)) {
			pthread_cond_wait(&f->done, &f->lock);
			continue;	/* c may be gone: look again */
		}
		if (c && c->state == CHUNK_DONE) {
			if (pos >= c->off + c->got)
				break;	/* the object ended early */
			n = min_u64(end - pos, c->off + c->got - pos);
			if (pin && pos == off && n == end - pos) {
				/* the whole read in one chunk: hand it out, copy nothing */
				c->pins++;
				c->consumed += n;
				pin->data = c->data + (pos - c->off);
				pin->len = n;
				pin->chunk = c;
				pos += n;
				STAT_ADD(p, hit_bytes, n);
				STAT_ADD(p, pinned_bytes, n);
				break;
			}
			c->pins++;
			pthread_mutex_unlock(&f->lock);
			memcpy((char *)dst + (pos - off), c->data + (pos - c->off), n);
			pthread_mutex_lock(&f->lock);
			c->pins--;
			c->consumed += n;
			pos += n;
			STAT_ADD(p, hit_bytes, n);
			continue;
		}
		if (!c && f->streaming && pos >= f->ahead && pos - f->ahead < p->cfg.chunk_size &&
		    catchup != f->ahead) {
			/*
			 * The stream's next chunk starts at f->ahead and will hold pos; the stream
			 * only waits for the room this read has just made.  Wait for it rather
			 * than fetch pos twice, directly and in the stream (a reader that got
			 * there before the stream's thread woke did); read directly only if the
			 * stream made no progress meanwhile (no budget, or it ended).
			 */
			struct timespec ts = deadline_in_ms(CLOCK_MONOTONIC, RA_CATCHUP_MS);

			catchup = f->ahead;
			if (f->stream_waits)
				pthread_cond_signal(&f->room);
			pthread_cond_timedwait(&f->done, &f->lock, &ts);
			continue;
		}
		if (c) {	/* failed: fetch its part once more, directly */
			STAT_ADD(p, retries, 1);
			stop = min_u64(end, chunk_end(c));
			if (!c->pins)
				chunk_drop(f, c);
		} else {
			stop = min_u64(end, next_chunk_start(f, pos));
		}
		/* direct read into the caller's buffer: always allowed, needs no budget */
		pthread_mutex_unlock(&f->lock);
		rc = objstore_get(p->store, f->key, pos, stop - pos, (char *)dst + (pos - off),
				  &got, err);
		STAT_ADD(p, direct_gets, 1);
		STAT_ADD(p, direct_bytes, got);
		pthread_mutex_lock(&f->lock);
		if (rc)
			break;
		pos += got;
		if (pos < stop)
			break;	/* the object ended early */
	}
	trim(f);
	if (f->stream_waits)
		pthread_cond_signal(&f->room);	/* chunks freed: budget for the stream */
	pthread_mutex_unlock(&f->lock);
	return rc ? rc : (ssize_t)(pos - off);
}

void ra_unpin(struct ra_pin *pin)
{
	struct ra_chunk *c = pin->chunk;
	struct ra_file *f;

	if (!c)
		return;
	f = c->file;
	pthread_mutex_lock(&f->lock);
	if (!--c->pins) {
		if (f->closing)
			pthread_cond_broadcast(&f->done);	/* ra_close waits for it */
		else
			trim(f);	/* read through: give its memory back now */
		if (f->stream_waits)
			pthread_cond_signal(&f->room);
	}
	pthread_mutex_unlock(&f->lock);
	*pin = (struct ra_pin){ 0 };
}
