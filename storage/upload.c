/*
 * upload.c - streaming object writer with write-behind under the global memory budget
 * (upload.h).
 *
 * A writer fills a part buffer whose capacity is charged to the budget as it grows (64 KiB,
 * doubling, up to the part size).  A full part goes to the pool's queue as a task and the
 * writer starts a new buffer; the first full part also starts the multipart upload (one
 * round trip, in the writer's thread, so every part task knows the upload id).  Closing
 * queues what is left: the whole object as one PUT when no part was full, else the last part.
 * The worker that finishes the last request of a closed upload completes it (or aborts it
 * after an error), so no thread ever waits for another upload's parts.
 *
 * Full part buffers are mapped once and recycled (spares), like the read-ahead's chunks: a
 * fresh 8 MiB buffer per part meant the kernel faulted in and zeroed every page again, ~10%
 * of the daemons' CPU in a copy (spec §8 counts CPU per GiB).  Once an upload is multipart
 * its next parts take a full buffer at once instead of doubling up from 64 KiB.  At most
 * LIVE_MAX full buffers are mapped at once (enough for every worker plus the writer), all of
 * them kept as spares while uploads run: with the older 4 spares and a fresh mapping whenever
 * the budget had room, a 252 MiB copy mapped 12 fresh buffers for 32 parts and the kernel's
 * page zeroing was ~8% of the writing daemon's CPU.  Spares stay charged to the budget and
 * are dropped SPARE_IDLE_MS after the last upload of the pool ended, or as soon as someone
 * waits for the budget (idle RSS; a pause between two files of `cp -r` keeps them).
 *
 * A writer held back by a full budget waits as long as the pool has requests queued or being
 * sent: they give their buffers back when they end, within the store's tries and timeouts.
 * While the pool's requests are failing (the last one to end failed after the store's tries,
 * none succeeded since), a writer that finds the budget full gets that error at once instead
 * of waiting for the next failure: with a fixed one-minute wait, a server that stopped
 * answering (30 s per try, several tries) left `cp` with ENOBUFS, "No buffer space available",
 * before any upload had reported the real cause, and then one more minute per budget's worth
 * of files.  ENOBUFS stays for a budget that stayed full for BUDGET_WAIT_MS with none of the
 * pool's requests running (held by something else).
 */
#include "mvbackupfs/storage/upload.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/clock.h"

#define BUF_FIRST	(64u << 10)
#define BUDGET_WAIT_MS	60000
#define LIVE_MAX	8	/* full part buffers mapped at once: UPLOAD_WORKERS in flight + 2 */
#define SPARE_MAX	LIVE_MAX	/* full part buffers kept for reuse */
#define SPARE_POLL_MS	20	/* part_get: how often a writer held back re-checks the budget */
#define SPARE_IDLE_MS	1000	/* spares outlive the last upload by this long (the next file) */
#define BUDGET_POLL_MS	100	/* budget_wait: how often a writer held back looks at the pool */

enum task_kind { T_PART, T_PUT, T_FINAL };

struct task {
	struct upload *u;
	enum task_kind kind;
	int number;		/* T_PART */
	char *data;		/* T_PART, T_PUT: owned, `cap` bytes charged to the budget */
	size_t len, cap;
	struct task *next;
};

struct upload_pool {
	struct objstore *store;
	struct membudget *budget;
	size_t part_size;
	unsigned nworkers;
	pthread_t *threads;
	pthread_mutex_t lock;	/* protects head, tail, stop, spare, nspare, nlive, nflight, nactive,
				 * idle_ms, ntasks, failing, fail_rc, fail_err */
	pthread_cond_t work;	/* signalled when a task is queued, stop is set or the pool goes
				 * idle (CLOCK_MONOTONIC) */
	pthread_cond_t spared;	/* signalled when a spare is put back (CLOCK_MONOTONIC) */
	struct task *head, *tail;
	int stop;
	char *spare[SPARE_MAX];	/* unused full part buffers, each charged part_size */
	unsigned nspare;
	unsigned nlive;		/* full part buffers mapped: in use or spare */
	unsigned nflight;	/* full part buffers queued or being sent (they come back) */
	unsigned nactive;	/* uploads opened and not yet done */
	int64_t idle_ms;	/* mono_ms() when nactive last fell to 0 */
	unsigned ntasks;	/* tasks queued or being sent */
	int failing;		/* the last request to end failed (after the store's tries) */
	int fail_rc;		/* its error, for writers waiting for the budget */
	struct errmsg fail_err;
};

struct upload {
	struct upload_pool *pool;
	/* writer-owned until close: the part being filled */
	char *buf;
	size_t len, cap;
	int next_part;		/* number of the next part (from 1) */
	uint64_t size;		/* bytes accepted */
	pthread_mutex_t lock;	/* protects everything below */
	pthread_cond_t cv;	/* broadcast when `done` is set */
	char *key;
	char *upload_id;	/* multipart upload, once started */
	struct mpu_part *parts;	/* parts[number - 1] */
	size_t nparts, cap_parts;
	int inflight;		/* tasks queued or running */
	int started;		/* a request naming `key` has been sent */
	int closed, done;
	int rc;			/* first error */
	struct errmsg err;
};

/* Unmap every spare and give its bytes back to the budget; with `idle_only`, only while no
 * upload is open (one may have started since the caller looked). */
static void spares_drop(struct upload_pool *p, int idle_only)
{
	char *spare[SPARE_MAX];
	unsigned n, i;

	pthread_mutex_lock(&p->lock);
	n = idle_only && p->nactive ? 0 : p->nspare;
	for (i = 0; i < n; i++)
		spare[i] = p->spare[--p->nspare];	/* none taken: all kept (an upload began) */
	p->nlive -= n;
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < n; i++) {
		munmap(spare[i], p->part_size);
		membudget_release(p->budget, p->part_size);
	}
}

/*
 * A writer waiting for the budget (p->lock held) after a try that found it full: 0 to wait
 * on, or the error that ends the wait.  While the pool's requests are failing (and some still
 * run, holding the budget), that error.  While any of them is queued or being sent, the wait
 * goes on (they return their buffers,
 * each within the store's tries).  Only a budget that stayed full for BUDGET_WAIT_MS with
 * nothing of the pool running gives -ENOBUFS.  *deadline is moved on while requests run.
 */
static int wait_verdict_locked(struct upload_pool *p, int64_t *deadline, const char *key,
			       struct errmsg *err)
{
	int64_t now = mono_ms();

	if (p->failing && p->ntasks) {	/* an old failure with nothing running is history */
		errmsg_set(err, p->fail_rc, "cannot write '%s': uploads to the store are failing: %s",
			   key, errmsg_str(&p->fail_err, p->fail_rc));
		return p->fail_rc;
	}
	if (p->ntasks) {
		*deadline = now + BUDGET_WAIT_MS;
		return 0;
	}
	if (now >= *deadline)
		return errmsg_set(err, -ENOBUFS, "cannot buffer '%s': the memory budget stayed full",
				  key);
	return 0;
}

/* The budget for `n` more bytes of a small buffer, waited for as wait_verdict_locked says. */
static int budget_wait(struct upload_pool *p, size_t n, const char *key, struct errmsg *err)
{
	int64_t deadline = mono_ms() + BUDGET_WAIT_MS;
	int rc;

	for (;;) {
		rc = membudget_acquire(p->budget, n, BUDGET_POLL_MS);
		if (rc != -ETIMEDOUT)
			return rc;
		pthread_mutex_lock(&p->lock);
		rc = wait_verdict_locked(p, &deadline, key, err);
		pthread_mutex_unlock(&p->lock);
		if (rc)
			return rc;
	}
}

/* A full part buffer, charged to the budget: a spare, else a new mapping once the budget
 * has room and fewer than LIVE_MAX are mapped (past LIVE_MAX only while none is in flight:
 * then no spare would come back, e.g. LIVE_MAX writers each filling one).  A writer held back
 * (by the budget or by LIVE_MAX) waits for the next spare (a part sent) rather than for bytes given back, so that
 * a steady stream keeps reusing the same LIVE_MAX buffers and never maps (and the kernel
 * zeroes) fresh pages; bytes given back by other users are seen within SPARE_POLL_MS.
 * 0 or -errno with err set. */
static int part_get(struct upload_pool *p, const char *key, char **out, struct errmsg *err)
{
	int64_t deadline = mono_ms() + BUDGET_WAIT_MS;
	char *data = NULL;
	int rc;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct timespec ts;

		if (p->nspare) {
			data = p->spare[--p->nspare];
			break;
		}
		rc = p->nlive < LIVE_MAX || !p->nflight ?
			membudget_try_acquire(p->budget, p->part_size) : -EAGAIN;
		if (!rc)
			p->nlive++;
		if (rc != -EAGAIN)
			break;
		rc = wait_verdict_locked(p, &deadline, key, err);
		if (rc)
			break;
		ts = deadline_in_ms(CLOCK_MONOTONIC, SPARE_POLL_MS);
		pthread_cond_timedwait(&p->spared, &p->lock, &ts);
	}
	pthread_mutex_unlock(&p->lock);
	if (data) {
		*out = data;
		return 0;
	}
	if (rc)
		return rc;
	data = membudget_map(p->part_size);
	if (!data) {
		pthread_mutex_lock(&p->lock);
		p->nlive--;
		pthread_cond_signal(&p->spared);
		pthread_mutex_unlock(&p->lock);
		membudget_release(p->budget, p->part_size);
		return -ENOMEM;
	}
	*out = data;
	return 0;
}

/* Give back a buffer of capacity `cap`: a full part buffer (mapped by part_get) becomes a
 * spare while uploads are open, anything else is freed and uncharged. */
static void buf_put(struct upload_pool *p, char *data, size_t cap)
{
	int kept = 0, wanted;

	if (!cap) {
		free(data);
		return;
	}
	if (cap != p->part_size) {
		free(data);
		membudget_release(p->budget, cap);
		return;
	}
	/* a writer blocked on the budget (growing a small buffer) gets these bytes instead */
	wanted = membudget_has_waiters(p->budget);
	pthread_mutex_lock(&p->lock);
	if (p->nspare < SPARE_MAX && p->nactive && !p->stop && !wanted) {
		p->spare[p->nspare++] = data;
		kept = 1;
	} else {
		p->nlive--;
	}
	pthread_cond_signal(&p->spared);	/* a spare, or room under LIVE_MAX */
	pthread_mutex_unlock(&p->lock);
	if (!kept) {
		munmap(data, cap);
		membudget_release(p->budget, cap);
	}
}

static void pool_push(struct upload_pool *p, struct task *t)
{
	pthread_mutex_lock(&p->lock);
	t->next = NULL;
	if (p->tail)
		p->tail->next = t;
	else
		p->head = t;
	p->tail = t;
	p->ntasks++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

/* Called with u->lock held: record the first error. */
static void fail_locked(struct upload *u, int rc, const struct errmsg *e)
{
	if (u->rc)
		return;
	u->rc = rc;
	if (e && e->msg[0])
		u->err = *e;
	else
		errmsg_set(&u->err, rc, "cannot write '%s'", u->key);
}

/* The last request of a closed upload has ended: complete or abort the multipart upload. */
static void finalize(struct upload *u)
{
	struct upload_pool *p = u->pool;
	struct errmsg e = { { 0 } };
	int rc = 0;

	pthread_mutex_lock(&u->lock);
	if (u->upload_id) {
		int failed = u->rc != 0;

		pthread_mutex_unlock(&u->lock);
		if (failed)
			objstore_mpu_abort(p->store, u->key, u->upload_id, NULL);
		else
			rc = objstore_mpu_complete(p->store, u->key, u->upload_id, u->parts,
						   u->nparts, &e);
		pthread_mutex_lock(&u->lock);
		if (rc) {
			fail_locked(u, rc, &e);
			/* a failed complete leaves the parts on the server */
			pthread_mutex_unlock(&u->lock);
			objstore_mpu_abort(p->store, u->key, u->upload_id, NULL);
			pthread_mutex_lock(&u->lock);
		}
	}
	pthread_mutex_unlock(&u->lock);
	/* no upload running: a worker gives the spares back SPARE_IDLE_MS from now unless another
	 * upload starts first (idle RSS; see worker()) */
	pthread_mutex_lock(&p->lock);
	if (--p->nactive == 0) {
		p->idle_ms = mono_ms();
		pthread_cond_signal(&p->work);
	}
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_lock(&u->lock);
	u->done = 1;
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->lock);
}

static void run(struct upload_pool *p, struct task *t)
{
	struct upload *u = t->u;
	struct errmsg e = { { 0 } };
	struct mpu_part part = { 0 };
	int rc = 0, skip, last;

	pthread_mutex_lock(&u->lock);
	skip = u->rc != 0;
	if (t->kind == T_PUT)
		u->started = 1;
	pthread_mutex_unlock(&u->lock);
	if (!skip && t->kind == T_PART)
		rc = objstore_mpu_part(p->store, u->key, u->upload_id, t->number, t->data, t->len,
				       &part, &e);
	else if (!skip && t->kind == T_PUT)
		rc = objstore_put(p->store, u->key, t->data ? t->data : "", t->len, 0, &e);
	pthread_mutex_lock(&p->lock);
	if (t->cap == p->part_size)
		p->nflight--;
	p->ntasks--;
	if (rc) {
		p->failing = 1;
		p->fail_rc = rc;
		p->fail_err = e;
		pthread_cond_broadcast(&p->spared);	/* writers waiting for the budget */
	} else if (!skip) {
		p->failing = 0;
	}
	pthread_mutex_unlock(&p->lock);
	buf_put(p, t->data, t->cap);
	pthread_mutex_lock(&u->lock);
	if (rc)
		fail_locked(u, rc, &e);
	else if (!skip && t->kind == T_PART)
		u->parts[t->number - 1] = part;
	last = --u->inflight == 0 && u->closed;
	pthread_mutex_unlock(&u->lock);
	free(t);
	if (last)
		finalize(u);
}

/*
 * Wait for a task (p->lock held; returns with it held, NULL on stop).  While the pool is idle
 * with spares, the waiting worker gives them back SPARE_IDLE_MS after the last upload ended,
 * or at once when someone waits for the budget (checked every SPARE_POLL_MS).  Dropping them
 * as soon as no upload ran meant that `cp -r` mapped (and the kernel zeroed) a new set of
 * part buffers for every large file after a pause between files: 24 fresh 8 MiB mappings for
 * a 1 GiB copy, ~5 % of the writing daemon's CPU in huge-page clearing.
 */
static struct task *next_task_locked(struct upload_pool *p)
{
	while (!p->head && !p->stop) {
		struct timespec ts;
		int64_t left;

		if (!p->nspare || p->nactive) {
			pthread_cond_wait(&p->work, &p->lock);
			continue;
		}
		left = p->idle_ms + SPARE_IDLE_MS - mono_ms();
		pthread_mutex_unlock(&p->lock);
		if (left <= 0 || membudget_has_waiters(p->budget)) {
			spares_drop(p, 1);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		if (left > SPARE_POLL_MS)
			left = SPARE_POLL_MS;
		ts = deadline_in_ms(CLOCK_MONOTONIC, left);
		pthread_mutex_lock(&p->lock);
		pthread_cond_timedwait(&p->work, &p->lock, &ts);
	}
	return p->head;
}

static void *worker(void *arg)
{
	struct upload_pool *p = arg;
	struct task *t;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		t = next_task_locked(p);
		if (!t) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		p->head = t->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		run(p, t);
	}
}

size_t upload_part_size(uint64_t budget)
{
	return budget >= (uint64_t)UPLOAD_WORKERS * UPLOAD_PART_SIZE_LARGE ? UPLOAD_PART_SIZE_LARGE
									  : UPLOAD_PART_SIZE;
}

int upload_pool_new(struct objstore *store, struct membudget *budget, size_t part_size,
		    unsigned workers, struct upload_pool **out)
{
	struct upload_pool *p = calloc(1, sizeof(*p));
	unsigned i;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->store = store;
	p->budget = budget;
	p->part_size = part_size ? part_size : upload_part_size(membudget_total(budget));
	p->nworkers = workers ? workers : UPLOAD_WORKERS;
	pthread_mutex_init(&p->lock, NULL);
	cond_init_monotonic(&p->work);
	cond_init_monotonic(&p->spared);
	p->threads = calloc(p->nworkers, sizeof(*p->threads));
	if (!p->threads) {
		free(p);
		return -ENOMEM;
	}
	for (i = 0; i < p->nworkers; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p)) {
			p->nworkers = i;
			upload_pool_free(p);
			return -EAGAIN;
		}
	}
	*out = p;
	return 0;
}

void upload_pool_free(struct upload_pool *p)
{
	unsigned i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nworkers; i++)
		pthread_join(p->threads[i], NULL);
	spares_drop(p, 0);
	free(p->threads);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->spared);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int upload_open(struct upload_pool *p, const char *key, struct upload **out)
{
	struct upload *u = calloc(1, sizeof(*u));

	*out = NULL;
	if (!u || !(u->key = strdup(key))) {
		free(u);
		return -ENOMEM;
	}
	u->pool = p;
	u->next_part = 1;
	pthread_mutex_lock(&p->lock);
	p->nactive++;
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cv, NULL);
	*out = u;
	return 0;
}

/* Queue the current buffer as part `next_part` (or as the whole object: kind T_PUT). */
static int submit(struct upload *u, enum task_kind kind)
{
	struct task *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->u = u;
	t->kind = kind;
	t->data = u->buf;
	t->len = u->len;
	t->cap = u->cap;
	u->buf = NULL;
	u->len = u->cap = 0;
	pthread_mutex_lock(&u->lock);
	if (kind == T_PART) {
		t->number = u->next_part++;
		if (ARRAY_GROW(u->parts, u->nparts, u->cap_parts, 16)) {
			pthread_mutex_unlock(&u->lock);
			buf_put(u->pool, t->data, t->cap);
			free(t);
			return -ENOMEM;
		}
		memset(&u->parts[u->nparts++], 0, sizeof(u->parts[0]));
	}
	u->inflight++;
	pthread_mutex_unlock(&u->lock);
	if (t->cap == u->pool->part_size) {
		pthread_mutex_lock(&u->pool->lock);
		u->pool->nflight++;
		pthread_mutex_unlock(&u->pool->lock);
	}
	pool_push(u->pool, t);
	return 0;
}

/* Make room for `need` bytes in the part buffer, charging the budget for its growth: a
 * malloc'd buffer doubling from BUF_FIRST while the object may still be small, a full part
 * buffer (part_get) once it reaches the part size or the upload is multipart. */
static int grow(struct upload *u, size_t need, struct errmsg *err)
{
	size_t cap = u->cap ? u->cap : BUF_FIRST;
	char *nb = NULL;
	int rc;

	while (cap < need)
		cap *= 2;
	if (cap > u->pool->part_size || u->upload_id)
		cap = u->pool->part_size;
	if (cap <= u->cap)
		return 0;
	if (cap < u->pool->part_size) {
		/* a spare is charged already: use it rather than wait for the budget while
		 * the pool holds it (the spares of the previous file's parts, say) */
		pthread_mutex_lock(&u->pool->lock);
		if (u->pool->nspare) {
			nb = u->pool->spare[--u->pool->nspare];
			cap = u->pool->part_size;
		}
		pthread_mutex_unlock(&u->pool->lock);
		if (nb) {
			if (u->len)
				memcpy(nb, u->buf, u->len);
			buf_put(u->pool, u->buf, u->cap);
			u->buf = nb;
			u->cap = cap;
			return 0;
		}
	}
	if (cap == u->pool->part_size) {
		rc = part_get(u->pool, u->key, &nb, err);
		if (rc)
			return rc;
		if (u->len)
			memcpy(nb, u->buf, u->len);
		buf_put(u->pool, u->buf, u->cap);
		u->buf = nb;
		u->cap = cap;
		return 0;
	}
	rc = budget_wait(u->pool, cap - u->cap, u->key, err);
	if (rc)
		return rc;
	nb = realloc(u->buf, cap);
	if (!nb) {
		membudget_release(u->pool->budget, cap - u->cap);
		return -ENOMEM;
	}
	u->buf = nb;
	u->cap = cap;
	return 0;
}

static int upload_error(struct upload *u, struct errmsg *err)
{
	int rc;

	pthread_mutex_lock(&u->lock);
	rc = u->rc;
	if (rc && err)
		*err = u->err;
	pthread_mutex_unlock(&u->lock);
	return rc;
}

int upload_write(struct upload *u, const void *data, size_t len, struct errmsg *err)
{
	const char *src = data;
	int rc = upload_error(u, err);

	while (!rc && len > 0) {
		size_t n = u->pool->part_size - u->len;

		if (n > len)
			n = len;
		rc = grow(u, u->len + n, err);
		if (rc)
			break;
		memcpy(u->buf + u->len, src, n);
		u->len += n;
		u->size += n;
		src += n;
		len -= n;
		if (u->len < u->pool->part_size)
			break;
		if (!u->upload_id) {
			char *id = NULL;

			pthread_mutex_lock(&u->lock);
			u->started = 1;
			pthread_mutex_unlock(&u->lock);
			rc = objstore_mpu_begin(u->pool->store, u->key, &id, err);
			if (rc)
				break;
			pthread_mutex_lock(&u->lock);
			u->upload_id = id;
			pthread_mutex_unlock(&u->lock);
		}
		rc = submit(u, T_PART);
		if (!rc)
			rc = upload_error(u, err);
	}
	if (rc) {
		pthread_mutex_lock(&u->lock);
		fail_locked(u, rc, err);
		pthread_mutex_unlock(&u->lock);
	}
	return rc;
}

int upload_close(struct upload *u)
{
	int rc, idle;

	pthread_mutex_lock(&u->lock);
	if (u->closed) {
		rc = u->rc;
		pthread_mutex_unlock(&u->lock);
		return rc;
	}
	pthread_mutex_unlock(&u->lock);
	if (!u->upload_id)
		rc = submit(u, T_PUT);
	else if (u->len > 0)
		rc = submit(u, T_PART);
	else
		rc = 0;
	pthread_mutex_lock(&u->lock);
	if (rc)
		fail_locked(u, rc, NULL);
	u->closed = 1;
	idle = u->inflight == 0;
	rc = u->rc;
	pthread_mutex_unlock(&u->lock);
	if (u->buf) {
		buf_put(u->pool, u->buf, u->cap);
		u->buf = NULL;
		u->cap = u->len = 0;
	}
	if (idle)
		finalize(u);	/* every part is sent already: one complete request */
	return rc;
}

int upload_wait(struct upload *u, struct errmsg *err)
{
	int rc;

	pthread_mutex_lock(&u->lock);
	while (!u->done)
		pthread_cond_wait(&u->cv, &u->lock);
	rc = u->rc;
	if (rc && err)
		*err = u->err;
	pthread_mutex_unlock(&u->lock);
	return rc;
}

int upload_done(struct upload *u)
{
	int d;

	pthread_mutex_lock(&u->lock);
	d = u->done;
	pthread_mutex_unlock(&u->lock);
	return d;
}

uint64_t upload_size(struct upload *u)
{
	return u->size;
}

int upload_rekey(struct upload *u, const char *key)
{
	char *k = strdup(key);
	int rc = 0;

	if (!k)
		return -ENOMEM;
	pthread_mutex_lock(&u->lock);
	if (u->started || u->upload_id) {
		rc = -EALREADY;
		free(k);
	} else {
		free(u->key);
		u->key = k;
	}
	pthread_mutex_unlock(&u->lock);
	return rc;
}

void upload_abort(struct upload *u)
{
	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	if (!u->rc)
		errmsg_set(&u->err, u->rc = -ECANCELED, "upload of '%s' cancelled", u->key);
	pthread_mutex_unlock(&u->lock);
	upload_close(u);
	upload_wait(u, NULL);
	upload_free(u);
}

void upload_free(struct upload *u)
{
	if (!u)
		return;
	upload_wait(u, NULL);
	buf_put(u->pool, u->buf, u->cap);
	free(u->key);
	free(u->upload_id);
	free(u->parts);
	pthread_cond_destroy(&u->cv);
	pthread_mutex_destroy(&u->lock);
	free(u);
}
