/*
 * test_readahead.c - the streaming read engine and the memory budget, against a fake
 * in-memory object store whose GETs the test can count, fail and hold (no network, no
 * sleeps: held GETs are released through a condition variable the test controls).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/membudget.h"
#include "mvbackupfs/storage/objstore.h"
#include "mvbackupfs/storage/readahead.h"

#define MiB (1024u * 1024u)
#define KiB 1024u

/* ---- a fake object store: one object, a pattern of bytes ---------------------------- */

struct fake {
	struct objstore base;	/* first: objstore_get dispatches on it */
	unsigned char *data;
	size_t size;		/* real bytes of the object */
	pthread_mutex_t lock;	/* protects every field below */
	pthread_cond_t cond;	/* broadcast on any change of hold/held */
	int hold;		/* GETs wait while set ... */
	unsigned allow;		/* ... except this many more */
	unsigned held;		/* GETs waiting now */
	uint64_t fail_lo, fail_hi;	/* GETs overlapping [lo, hi) fail ... */
	int fail_times;		/* ... this many more times */
	int fail_rc;
	unsigned gets;
	uint64_t bytes;		/* bytes returned by all GETs and streams */
	unsigned streams;	/* streamed GETs (fake_stream_ops only) */
	uint64_t stream_from;	/* where the first one started */
};

static int fake_get(struct objstore *s, const char *key, uint64_t off, size_t len, void *dst,
		    size_t *got, struct errmsg *err)
{
	struct fake *fk = (struct fake *)s;
	size_t n = 0;
	int rc = 0;

	pthread_mutex_lock(&fk->lock);
	fk->gets++;
	fk->held++;
	pthread_cond_broadcast(&fk->cond);
	while (fk->hold && !fk->allow)
		pthread_cond_wait(&fk->cond, &fk->lock);
	if (fk->hold)
		fk->allow--;
	fk->held--;
	if (fk->fail_times > 0 && off < fk->fail_hi && off + len > fk->fail_lo) {
		fk->fail_times--;
		rc = errmsg_set(err, fk->fail_rc, "cannot read '%s': injected failure", key);
	}
	if (!rc && off < fk->size) {
		n = len < fk->size - off ? len : fk->size - off;
		fk->bytes += n;
	}
	pthread_mutex_unlock(&fk->lock);
	if (!rc)
		memcpy(dst, fk->data + off, n);	/* the pattern is never written: no lock */
	*got = n;
	return rc;
}

static void fake_destroy(struct objstore *s)
{
	(void)s;
}

static const struct objstore_ops fake_ops = {
	.kind = "fake",
	.get = fake_get,
	.destroy = fake_destroy,
};

/* A streamed GET: the bytes in 256 KiB pieces, as a socket delivers them. */
static int fake_get_stream(struct objstore *s, const char *key, uint64_t off, uint64_t len,
			   objstore_sink sink, void *ctx, uint64_t *got, struct errmsg *err)
{
	struct fake *fk = (struct fake *)s;
	uint64_t end = off + len < fk->size ? off + len : fk->size, pos;

	(void)key;
	(void)err;
	pthread_mutex_lock(&fk->lock);
	if (!fk->streams++)
		fk->stream_from = off;
	pthread_mutex_unlock(&fk->lock);
	*got = 0;
	for (pos = off; pos < end;) {
		size_t n = end - pos < 256 * KiB ? (size_t)(end - pos) : 256 * KiB;
		int stop = sink(ctx, (const char *)fk->data + pos, n);

		pos += n;
		*got += n;
		pthread_mutex_lock(&fk->lock);
		fk->bytes += n;
		pthread_mutex_unlock(&fk->lock);
		if (stop)
			return -ECANCELED;
	}
	return 0;
}

/* The same fake, streaming like an S3 store (objstore_can_stream). */
static const struct objstore_ops fake_stream_ops = {
	.kind = "fake-stream",
	.get = fake_get,
	.get_stream = fake_get_stream,
	.destroy = fake_destroy,
};

static unsigned char pattern_byte(uint64_t i)
{
	return (unsigned char)((i * 2654435761u) >> 11 ^ (i >> 17));
}

static struct fake *fake_new(size_t size)
{
	struct fake *fk = calloc(1, sizeof(*fk));
	size_t i;

	assert_non_null(fk);
	fk->base.ops = &fake_ops;
	fk->data = malloc(size ? size : 1);
	assert_non_null(fk->data);
	for (i = 0; i < size; i++)
		fk->data[i] = pattern_byte(i);
	fk->size = size;
	pthread_mutex_init(&fk->lock, NULL);
	pthread_cond_init(&fk->cond, NULL);
	return fk;
}

static void fake_free(struct fake *fk)
{
	pthread_cond_destroy(&fk->cond);
	pthread_mutex_destroy(&fk->lock);
	free(fk->data);
	free(fk);
}

static void fake_hold(struct fake *fk, int on)
{
	pthread_mutex_lock(&fk->lock);
	fk->hold = on;
	pthread_cond_broadcast(&fk->cond);
	pthread_mutex_unlock(&fk->lock);
}

/* Let n held GETs through. */
static void fake_allow(struct fake *fk, unsigned n)
{
	pthread_mutex_lock(&fk->lock);
	fk->allow += n;
	pthread_cond_broadcast(&fk->cond);
	pthread_mutex_unlock(&fk->lock);
}

/* Wait until at least n GETs are held. */
static void fake_wait_held(struct fake *fk, unsigned n)
{
	pthread_mutex_lock(&fk->lock);
	while (fk->held < n)
		pthread_cond_wait(&fk->cond, &fk->lock);
	pthread_mutex_unlock(&fk->lock);
}

static void fake_fail(struct fake *fk, uint64_t lo, uint64_t hi, int times, int rc)
{
	pthread_mutex_lock(&fk->lock);
	fk->fail_lo = lo;
	fk->fail_hi = hi;
	fk->fail_times = times;
	fk->fail_rc = rc;
	pthread_mutex_unlock(&fk->lock);
}

/* ---- a fixture: store + budget + pool ------------------------------------------------ */

struct fix {
	struct fake *fk;
	struct membudget budget;
	struct ra_pool *pool;
};

static void fix_setup_ops(struct fix *x, size_t size, uint64_t budget,
			  const struct ra_config *cfg, const struct objstore_ops *ops)
{
	x->fk = fake_new(size);
	x->fk->base.ops = ops;
	assert_int_equal(membudget_init(&x->budget, budget), 0);
	assert_int_equal(ra_pool_new(&x->fk->base, &x->budget, cfg, &x->pool), 0);
}

static void fix_setup(struct fix *x, size_t size, uint64_t budget, const struct ra_config *cfg)
{
	fix_setup_ops(x, size, budget, cfg, &fake_ops);
}

/* Every byte charged to `b` goes back: spare chunks a while after the last close
 * (readahead.c RA_IDLE_MS); waited for with a deadline. */
static void assert_budget_freed(struct membudget *b)
{
	int64_t deadline = mono_ms() + 10000;

	while (membudget_used(b) && mono_ms() < deadline)
		usleep(10000);
	assert_int_equal(membudget_used(b), 0);
}

/* Tear down, checking what a user would notice: the budget was never exceeded and every
 * byte went back once the files were closed. */
static void fix_teardown(struct fix *x)
{
	assert_true(membudget_peak(&x->budget) <= membudget_total(&x->budget));
	assert_budget_freed(&x->budget);
	ra_pool_free(x->pool);
	membudget_destroy(&x->budget);
	fake_free(x->fk);
}

static void check_bytes(const unsigned char *buf, uint64_t off, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf[i] != pattern_byte(off + i))
			fail_msg("byte %llu differs", (unsigned long long)(off + i));
}

/* Read [0, size) in `step`-byte reads; check every byte. */
static void read_all(struct ra_file *f, uint64_t size, size_t step)
{
	unsigned char *buf = malloc(step);
	uint64_t off = 0;
	struct errmsg err;

	assert_non_null(buf);
	while (off < size) {
		ssize_t n = ra_read(f, buf, step, off, &err);

		assert_true(n > 0);
		assert_int_equal((uint64_t)n, size - off < step ? size - off : step);
		check_bytes(buf, off, (size_t)n);
		off += (uint64_t)n;
	}
	assert_int_equal(ra_read(f, buf, step, off, &err), 0);
	free(buf);
}

/* ---- tests ------------------------------------------------------------------------- */

/* A reader half way through a file larger than the budget leaves RA_RESERVE of it to the
 * other users of the budget (a copy's upload parts, written by the same cp that reads): with
 * chunks read ahead and spares filling the budget, a writer in the same daemon starved. */
static void test_leaves_reserve_to_writers(void **state)
{
	const size_t size = 50 * MiB;
	unsigned char *buf = malloc(128 * KiB);
	struct errmsg err;
	struct fix x;
	struct ra_file *f;
	uint64_t off;

	(void)state;
	assert_non_null(buf);
	fix_setup(&x, size, 32ull * MiB, NULL);
	f = ra_open(x.pool, "obj/half", size);
	assert_non_null(f);
	for (off = 0; off < 20 * MiB; off += 128 * KiB) {
		assert_int_equal(ra_read(f, buf, 128 * KiB, off, &err), 128 * KiB);
		check_bytes(buf, off, 128 * KiB);
		assert_true(membudget_used(&x.budget) <= 32 * MiB - RA_RESERVE);
	}
	/* the writer's part buffers fit while the reader waits for it */
	assert_int_equal(membudget_try_acquire(&x.budget, RA_RESERVE), 0);
	membudget_release(&x.budget, RA_RESERVE);
	/* and the reader still reads the rest, every byte */
	for (; off < size; off += 128 * KiB) {
		ssize_t n = ra_read(f, buf, 128 * KiB, off, &err);

		assert_int_equal(n, size - off < 128 * KiB ? size - off : 128 * KiB);
		check_bytes(buf, off, (size_t)n);
	}
	ra_close(f);
	free(buf);
	fix_teardown(&x);
}

static void test_sequential_50mib(void **state)
{
	const size_t size = 50 * MiB;
	struct ra_stats st;
	struct fix x;
	struct ra_file *f;

	(void)state;
	fix_setup(&x, size, 96ull * MiB, NULL);
	f = ra_open(x.pool, "obj/seq", size);
	assert_non_null(f);
	read_all(f, size, 128 * KiB);
	ra_close(f);
	ra_pool_stats(x.pool, &st);
	/* read-ahead served it, in a few large GETs, and nothing was fetched twice */
	assert_true(st.hit_bytes >= size - 128 * KiB);
	assert_true(x.fk->gets < 40);
	assert_int_equal(x.fk->bytes, size);
	assert_int_equal(st.retries, 0);
	fix_teardown(&x);
}

/* A window below parallel * chunk_size (mvbackupfs.readahead.max 16 MiB: 2 MiB chunks) still
 * recycles its chunk buffers: they were recycled only at chunk_size (8 MiB), so every chunk
 * of such a stream was a fresh mapping the kernel zeroed (1.2-1.4 CPU-s per GiB against
 * 0.94-1.06 with the default window, bench-read on RGW). */
static void test_small_window_recycles_buffers(void **state)
{
	const size_t size = 64 * MiB;
	struct ra_config cfg = { .max_window = 16 * MiB };
	struct ra_stats st;
	struct fix x;
	struct ra_file *f;

	(void)state;
	fix_setup(&x, size, 96ull * MiB, &cfg);
	f = ra_open(x.pool, "obj/small-window", size);
	assert_non_null(f);
	read_all(f, size, MiB);
	ra_pool_stats(x.pool, &st);
	ra_close(f);
	assert_true(st.hit_bytes >= size - MiB);
	/* a window's worth of buffers (and the small first chunks), not one per chunk */
	if (st.mapped_bytes > 2 * cfg.max_window)
		fail_msg("%llu MiB of fresh buffers mapped to read %zu MiB",
			 (unsigned long long)(st.mapped_bytes / MiB), size / MiB);
	fix_teardown(&x);
}

/* `cp -r` opens one file at a time: the chunks of a closed file stay mapped for the next one
 * (a fresh window per file meant the kernel zeroed it again), but are given back at once to a
 * budget waiter, and a while after the last close otherwise (fix_teardown). */
static void test_spares_between_files(void **state)
{
	const size_t size = 50 * MiB;
	struct fix x;
	struct ra_file *f;
	int64_t t0;

	(void)state;
	fix_setup(&x, size, 96ull * MiB, NULL);
	f = ra_open(x.pool, "obj/one", size);
	assert_non_null(f);
	read_all(f, size, 128 * KiB);
	t0 = mono_ms();
	ra_close(f);
	/* kept (unless this thread was held up past the idle delay) */
	if (mono_ms() - t0 < 500)
		assert_true(membudget_used(&x.budget) >= 8 * MiB);
	/* the whole budget for someone else: the idle spares make way well before the delay */
	t0 = mono_ms();
	assert_int_equal(membudget_acquire(&x.budget, 96ull * MiB, 5000), 0);
	assert_true(mono_ms() - t0 < 900);
	membudget_release(&x.budget, 96ull * MiB);
	f = ra_open(x.pool, "obj/two", size);
	assert_non_null(f);
	read_all(f, size, 128 * KiB);
	ra_close(f);
	fix_teardown(&x);
}

static void test_unaligned_cross_chunks(void **state)
{
	const size_t size = 5 * MiB + 12345;
	struct ra_config cfg = { .chunk_size = 256 * KiB, .min_chunk = 64 * KiB,
				 .max_window = MiB, .parallel = 3, .threads = 4 };
	unsigned char *buf = malloc(300 * KiB);
	struct errmsg err;
	struct fix x;
	struct ra_file *f;
	uint64_t off = 7;
	ssize_t n;

	(void)state;
	assert_non_null(buf);
	fix_setup(&x, size, 8 * MiB, &cfg);
	f = ra_open(x.pool, "obj/unaligned", size);
	assert_non_null(f);
	while (off < size) {	/* 100003-byte reads: never aligned, often across chunks */
		n = ra_read(f, buf, 100003, off, &err);
		assert_true(n > 0);
		check_bytes(buf, off, (size_t)n);
		off += (uint64_t)n;
	}
	/* one read larger than a whole chunk, at an odd offset */
	n = ra_read(f, buf, 300 * KiB, 1 * MiB + 3, &err);
	assert_int_equal(n, 300 * KiB);
	check_bytes(buf, 1 * MiB + 3, (size_t)n);
	ra_close(f);
	free(buf);
	fix_teardown(&x);
}

struct reader_arg {
	struct ra_file *f;
	uint64_t size;
	atomic_uint_fast64_t *next;	/* next 128 KiB block to read, shared by the readers */
	int bad;
};

/* Takes the next 128 KiB block from a shared counter, as FUSE's worker threads take
 * requests: together the threads read the file in order, slightly out of order. */
static void *reader_main(void *arg)
{
	struct reader_arg *a = arg;
	unsigned char *buf = malloc(128 * KiB);
	struct errmsg err;
	uint64_t off;
	size_t i;

	while (buf && (off = atomic_fetch_add(a->next, 1) * 128 * KiB) < a->size) {
		ssize_t n = ra_read(a->f, buf, 128 * KiB, off, &err);
		size_t want = a->size - off < 128 * KiB ? a->size - off : 128 * KiB;

		if (n != (ssize_t)want) {
			a->bad = 1;
			break;
		}
		for (i = 0; i < want; i++)
			if (buf[i] != pattern_byte(off + i))
				a->bad = 1;
	}
	if (!buf)
		a->bad = 1;
	free(buf);
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	const size_t size = 20 * MiB + 777;
	atomic_uint_fast64_t next = 0;
	struct reader_arg args[4];
	pthread_t th[4];
	struct ra_stats st;
	struct fix x;
	struct ra_file *f;
	unsigned i;

	(void)state;
	fix_setup(&x, size, 32ull * MiB, NULL);
	f = ra_open(x.pool, "obj/concurrent", size);
	assert_non_null(f);
	for (i = 0; i < 4; i++) {
		args[i] = (struct reader_arg){ .f = f, .size = size, .next = &next };
		assert_int_equal(pthread_create(&th[i], NULL, reader_main, &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_false(args[i].bad);
	}
	ra_close(f);
	ra_pool_stats(x.pool, &st);
	assert_true(st.hit_bytes > size / 2);	/* read-ahead kept working */
	fix_teardown(&x);
}

static void test_random_access_reads_directly(void **state)
{
	const size_t size = 64 * MiB;
	unsigned char buf[4096];
	struct errmsg err;
	struct ra_stats st;
	struct fix x;
	struct ra_file *f;
	uint64_t r = 12345;
	unsigned i;

	(void)state;
	fix_setup(&x, size, 96ull * MiB, NULL);
	f = ra_open(x.pool, "obj/random", size);
	assert_non_null(f);
	for (i = 0; i < 200; i++) {
		uint64_t off;

		r = r * 6364136223846793005ull + 1442695040888963407ull;
		off = (r >> 20) % (size - 4096);
		assert_int_equal(ra_read(f, buf, 4096, off, &err), 4096);
		check_bytes(buf, off, 4096);
	}
	ra_pool_stats(x.pool, &st);
	/* 4 KiB random reads must not drag whole chunks in: at most the first read's chunk */
	assert_true(x.fk->bytes <= 200 * 4096 + MiB);
	assert_true(st.direct_gets >= 199);
	ra_close(f);
	fix_teardown(&x);
}

static void test_eof_and_short_reads(void **state)
{
	const size_t size = 3 * MiB + 10;
	unsigned char *buf = malloc(MiB);
	struct errmsg err;
	struct fix x;
	struct ra_file *f, *g;

	(void)state;
	assert_non_null(buf);
	fix_setup(&x, size, 96ull * MiB, NULL);
	f = ra_open(x.pool, "obj/eof", size);
	assert_non_null(f);
	assert_int_equal(ra_read(f, buf, MiB, size - 10, &err), 10);
	check_bytes(buf, size - 10, 10);
	assert_int_equal(ra_read(f, buf, MiB, size, &err), 0);
	assert_int_equal(ra_read(f, buf, MiB, size + 5000, &err), 0);
	assert_int_equal(ra_read(f, buf, 0, 0, &err), 0);
	read_all(f, size, 128 * KiB);
	ra_close(f);
	/* listed size larger than the object (it shrank): reads end at the real end */
	g = ra_open(x.pool, "obj/shrunk", size + MiB);
	assert_non_null(g);
	assert_int_equal(ra_read(g, buf, MiB, size - 100, &err), 100);
	check_bytes(buf, size - 100, 100);
	ra_close(g);
	ra_close(NULL);
	free(buf);
	fix_teardown(&x);
}

static void test_error_propagates(void **state)
{
	const size_t size = 16 * MiB;
	unsigned char *buf = malloc(128 * KiB);
	struct errmsg err;
	struct ra_stats st;
	struct fix x;
	struct ra_file *f;
	uint64_t off;
	ssize_t n = 0;

	(void)state;
	assert_non_null(buf);
	fix_setup(&x, size, 96ull * MiB, NULL);

	/* the prefetch of 4..5 MiB fails once: the reader fetches it again and succeeds */
	fake_fail(x.fk, 4 * MiB, 5 * MiB, 1, -EIO);
	f = ra_open(x.pool, "obj/flaky", size);
	assert_non_null(f);
	read_all(f, size, 128 * KiB);
	ra_close(f);
	ra_pool_stats(x.pool, &st);
	assert_int_equal(st.retries, 1);

	/* it fails twice: the read fails with the store's errno and sentence */
	fake_fail(x.fk, 6 * MiB, 6 * MiB + 1, 2, -EACCES);
	f = ra_open(x.pool, "obj/denied", size);
	assert_non_null(f);
	errmsg_clear(&err);
	for (off = 0; off < size; off += 128 * KiB) {
		n = ra_read(f, buf, 128 * KiB, off, &err);
		if (n < 0)
			break;
		check_bytes(buf, off, (size_t)n);
	}
	assert_int_equal(n, -EACCES);
	assert_true(off <= 6 * MiB && off + 128 * KiB > 5 * MiB);
	assert_string_equal(err.msg, "cannot read 'obj/denied': injected failure");
	ra_close(f);

	/* a direct (random) read fails at once */
	fake_fail(x.fk, 0, size, 1, -ENOENT);
	f = ra_open(x.pool, "obj/gone", size);
	assert_non_null(f);
	assert_int_equal(ra_read(f, buf, 4096, 9 * MiB, &err), -ENOENT);
	assert_string_equal(err.msg, "cannot read 'obj/gone': injected failure");
	ra_close(f);
	free(buf);
	fix_teardown(&x);
}

static void test_tiny_budget_progresses(void **state)
{
	const size_t size = 6 * MiB + 1;
	struct ra_stats st;
	struct fix x;
	struct ra_file *f;

	(void)state;
	/* smaller than one chunk: every read goes directly to the store, and still succeeds */
	fix_setup(&x, size, 64 * KiB, NULL);
	f = ra_open(x.pool, "obj/tiny", size);
	assert_non_null(f);
	read_all(f, size, 128 * KiB);
	ra_close(f);
	ra_pool_stats(x.pool, &st);
	assert_true(st.hit_bytes <= 64 * KiB);	/* a tail smaller than the budget may fit */
	assert_true(st.degraded > 0);
	fix_teardown(&x);

	/* room for a few chunks only: the window degrades, the data stays right (the whole
	 * budget is the read-ahead's here: by default it leaves 3/4 of so small a one to writers) */
	fix_setup(&x, 20 * MiB, 3 * MiB, &(struct ra_config){ .share = 3 * MiB });
	f = ra_open(x.pool, "obj/small", 20 * MiB);
	assert_non_null(f);
	read_all(f, 20 * MiB, 128 * KiB);
	ra_close(f);
	ra_pool_stats(x.pool, &st);
	assert_true(st.hit_bytes > 10 * MiB);
	assert_true(membudget_peak(&x.budget) <= 3 * MiB);
	fix_teardown(&x);
}

static void test_two_files_share_budget(void **state)
{
	const size_t size = 24 * MiB;
	atomic_uint_fast64_t next[2] = { 0, 0 };
	struct reader_arg a[2];
	pthread_t th[2];
	struct fix x;
	struct ra_file *f[2];
	unsigned i;

	(void)state;
	fix_setup(&x, size, 40ull * MiB, NULL);
	for (i = 0; i < 2; i++) {
		f[i] = ra_open(x.pool, i ? "obj/b" : "obj/a", size);
		assert_non_null(f[i]);
		a[i] = (struct reader_arg){ .f = f[i], .size = size, .next = &next[i] };
		assert_int_equal(pthread_create(&th[i], NULL, reader_main, &a[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_false(a[i].bad);
		ra_close(f[i]);
	}
	fix_teardown(&x);
}

struct close_arg {
	struct ra_file *f;
	unsigned char *buf;
	ssize_t n;
};

static void *closer_main(void *arg)
{
	ra_close(((struct close_arg *)arg)->f);
	return NULL;
}

static void *first_read_main(void *arg)
{
	struct close_arg *a = arg;
	struct errmsg err;

	a->n = ra_read(a->f, a->buf, 128 * KiB, 0, &err);
	return NULL;
}

static void test_close_with_chunks_in_flight(void **state)
{
	const size_t size = 64 * MiB;
	struct ra_config cfg = { .threads = 2, .parallel = 8 };
	struct close_arg ca;
	struct ra_stats st;
	struct errmsg err;
	struct fix x;
	pthread_t th;
	unsigned i;

	(void)state;
	fix_setup(&x, size, 96ull * MiB, &cfg);
	ca.buf = malloc(128 * KiB);
	assert_non_null(ca.buf);
	ca.f = ra_open(x.pool, "obj/closing", size);
	assert_non_null(ca.f);
	fake_hold(x.fk, 1);
	/* the first read waits for the first chunk: let exactly that GET through */
	assert_int_equal(pthread_create(&th, NULL, first_read_main, &ca), 0);
	fake_wait_held(x.fk, 1);
	fake_allow(x.fk, 1);
	pthread_join(th, NULL);
	assert_int_equal(ca.n, 128 * KiB);
	/* reads served from that chunk grow the window: 8 chunks in flight, 2 of them held by
	 * the 2 workers, 6 queued */
	for (i = 1; i < 8; i++) {
		assert_int_equal(ra_read(ca.f, ca.buf, 128 * KiB, i * 128 * KiB, &err), 128 * KiB);
		check_bytes(ca.buf, i * 128 * KiB, 128 * KiB);
	}
	fake_wait_held(x.fk, 2);
	assert_true(membudget_used(&x.budget) >= 8 * MiB);
	ra_pool_stats(x.pool, &st);
	assert_int_equal(st.queued, 6);
	/* close cancels the queued chunks at once, then waits for the 2 running GETs (the
	 * workers are held, so only close can empty the queue) */
	assert_int_equal(pthread_create(&th, NULL, closer_main, &ca), 0);
	do {
		sched_yield();
		ra_pool_stats(x.pool, &st);
	} while (st.queued);
	fake_hold(x.fk, 0);
	pthread_join(th, NULL);
	assert_int_equal(x.fk->gets, 3);
	free(ca.buf);
	fix_teardown(&x);
}

/* ra_read_pin: sequential 1 MiB reads are lent from the chunks (no copy), each byte right,
 * a pin held across the next read keeps its bytes unchanged; ra_close waits for a pin given
 * back by another thread; every byte of the budget returns. */
struct unpin_arg {
	struct ra_pin pin;
	atomic_int given_back;
};

static void *unpin_later(void *arg)
{
	struct unpin_arg *a = arg;

	usleep(100 * 1000);
	atomic_store(&a->given_back, 1);
	ra_unpin(&a->pin);
	return NULL;
}

/* On a store that streams, a sequential reader gets the file from one streamed GET that
 * starts at its first read: no ranged GETs, nothing fetched twice, and at most the stream's
 * lead plus two chunks of buffers ever mapped.  Streaming only once the window was full cost
 * eight ranged GETs and ~40 MiB of fresh ramp-up buffers per file first (issue 10, stop 22). */
static void test_stream_from_first_read(void **state)
{
	const size_t size = 96 * MiB + 12345;
	/* the stream never gives up on this reader, however slow (valgrind): one stream */
	struct ra_config cfg = { .stream_wait_ms = 600000 };
	struct ra_stats st;
	struct fix x;
	struct ra_file *f;

	(void)state;
	fix_setup_ops(&x, size, 128ull * MiB, &cfg, &fake_stream_ops);
	f = ra_open(x.pool, "obj/streamed", size);
	assert_non_null(f);
	read_all(f, size, MiB);
	ra_close(f);
	ra_pool_stats(x.pool, &st);
	assert_int_equal(x.fk->streams, 1);
	assert_int_equal(x.fk->stream_from, 0);
	assert_int_equal(st.chunk_gets, 0);
	assert_int_equal(x.fk->gets, st.direct_gets);	/* no read-ahead GET besides it */
	assert_true(st.direct_bytes <= MiB);		/* at most the very first read */
	assert_int_equal(x.fk->bytes, size);		/* nothing fetched twice */
	assert_true(st.mapped_bytes <= RA_STREAM_LEAD + 2 * 8 * MiB);
	fix_teardown(&x);
}

static void test_pinned_reads(void **state)
{
	const size_t size = 40 * MiB + 777;
	unsigned char *buf = malloc(MiB);
	struct ra_pin prev = { 0 }, pin;
	struct unpin_arg ua = { .given_back = 0 };
	uint64_t off = 0, prev_off = 0;
	struct ra_stats st;
	struct errmsg err;
	struct fix x;
	struct ra_file *f;
	pthread_t t;
	ssize_t n;

	(void)state;
	assert_non_null(buf);
	fix_setup(&x, size, 96ull * MiB, NULL);
	f = ra_open(x.pool, "obj/pinned", size);
	assert_non_null(f);
	while ((n = ra_read_pin(f, buf, MiB, off, &pin, &err)) > 0) {
		assert_int_equal((uint64_t)n, size - off < MiB ? size - off : MiB);
		if (pin.data) {
			assert_int_equal(pin.len, (size_t)n);
			check_bytes((const unsigned char *)pin.data, off, (size_t)n);
		} else {
			check_bytes(buf, off, (size_t)n);
		}
		if (prev.data)	/* still intact after the next read */
			check_bytes((const unsigned char *)prev.data, prev_off, prev.len);
		ra_unpin(&prev);
		prev = pin;
		prev_off = off;
		off += (uint64_t)n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(off, size);
	ra_unpin(&prev);
	ra_pool_stats(x.pool, &st);
	assert_true(st.pinned_bytes >= size - 2 * MiB);

	/* a pin outstanding at close: ra_close returns only once it is given back */
	n = ra_read_pin(f, buf, MiB, 0, &ua.pin, &err);
	assert_int_equal(n, MiB);
	check_bytes(ua.pin.data ? (const unsigned char *)ua.pin.data : buf, 0, MiB);
	if (ua.pin.data) {
		assert_int_equal(pthread_create(&t, NULL, unpin_later, &ua), 0);
		ra_close(f);
		assert_int_equal(atomic_load(&ua.given_back), 1);
		pthread_join(t, NULL);
	} else {
		ra_close(f);
	}
	free(buf);
	fix_teardown(&x);
}

static void test_membudget(void **state)
{
	struct membudget b;

	(void)state;
	assert_int_equal(membudget_init(&b, 100), 0);
	assert_int_equal(membudget_try_acquire(&b, 60), 0);
	assert_int_equal(membudget_try_acquire(&b, 60), -EAGAIN);
	assert_int_equal(membudget_try_acquire(&b, 101), -E2BIG);
	assert_int_equal(membudget_acquire(&b, 50, 0), -ETIMEDOUT);
	assert_int_equal(membudget_acquire(&b, 40, 0), 0);
	assert_int_equal(membudget_used(&b), 100);
	membudget_release(&b, 100);
	assert_int_equal(membudget_used(&b), 0);
	assert_int_equal(membudget_peak(&b), 100);
	assert_int_equal(membudget_acquire(&b, 100, -1), 0);
	membudget_release(&b, 100);
	membudget_destroy(&b);
	assert_int_equal(membudget_init(&b, 0), 0);
	assert_int_equal(membudget_total(&b), MEMBUDGET_DEFAULT);
	membudget_destroy(&b);
}

struct waiter_arg {
	struct membudget *b;
	int rc;
};

static void *waiter_main(void *arg)
{
	struct waiter_arg *w = arg;

	w->rc = membudget_acquire(w->b, 80, -1);
	return NULL;
}

static void test_membudget_blocking_acquire(void **state)
{
	struct waiter_arg w;
	struct membudget b;
	pthread_t th;

	(void)state;
	assert_int_equal(membudget_init(&b, 100), 0);
	assert_int_equal(membudget_try_acquire(&b, 50), 0);
	w = (struct waiter_arg){ .b = &b, .rc = 1 };
	assert_int_equal(pthread_create(&th, NULL, waiter_main, &w), 0);
	membudget_release(&b, 50);	/* whether the waiter already waits or not, it gets it */
	pthread_join(th, NULL);
	assert_int_equal(w.rc, 0);
	assert_int_equal(membudget_used(&b), 80);
	membudget_release(&b, 80);
	membudget_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_membudget),
		cmocka_unit_test(test_membudget_blocking_acquire),
		cmocka_unit_test(test_sequential_50mib),
		cmocka_unit_test(test_spares_between_files),
		cmocka_unit_test(test_unaligned_cross_chunks),
		cmocka_unit_test(test_small_window_recycles_buffers),
		cmocka_unit_test(test_concurrent_readers),
		cmocka_unit_test(test_random_access_reads_directly),
		cmocka_unit_test(test_eof_and_short_reads),
		cmocka_unit_test(test_error_propagates),
		cmocka_unit_test(test_tiny_budget_progresses),
		cmocka_unit_test(test_two_files_share_budget),
		cmocka_unit_test(test_close_with_chunks_in_flight),
		cmocka_unit_test(test_pinned_reads),
		cmocka_unit_test(test_stream_from_first_read),
		cmocka_unit_test(test_leaves_reserve_to_writers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
