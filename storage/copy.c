/*
 * copy.c - the copy engine (copy.h): a pool of workers over a list of objects, each copied
 * server-side (CopyObject, or UploadPartCopy part by part) or streamed (GET + PUT, multipart
 * above one part), the streams bounded in number and charged to the memory budget.
 */
#include "mvbackupfs/storage/copy.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mvbackupfs/base/membudget.h"
#include "mvbackupfs/base/rand.h"
#include "mvbackupfs/base/workq.h"
#include "mvbackupfs/storage/objstore.h"

#define DEFAULT_PART		((uint64_t)8 << 20)
#define DEFAULT_STREAMS		8
#define COPY_PART_MIN		(5ULL << 20)	/* S3: the smallest part but the last */
#define COPY_PART_MAX		(5ULL << 30)	/* S3: the largest part */
#define MAX_PARTS		10000
#define BUDGET_WAIT_MS		500
#define BUDGET_WAITS		20	/* then the buffer goes uncharged */

struct run {
	const struct objcopy_opts *o;
	struct objcopy_item *items;
	size_t n;
	uint64_t part;			/* stream_part */
	int server_side;		/* opts->server_side and the stores share a backend */
	int max_streams;
	pthread_mutex_t lock;		/* guards next, rc, failed, err, streams */
	pthread_cond_t cond;		/* signalled when a stream slot frees */
	size_t next;			/* next item to take */
	int rc;				/* first failure (0 = none) */
	size_t failed;			/* its item */
	struct errmsg err;		/* its cause */
	int streams;			/* streams holding a buffer */
};

static int cancelled(const struct run *r)
{
	return r->o->cancelled && r->o->cancelled(r->o->arg);
}

/* The streaming buffer of one object (the part size at most), charged to the budget while it
 * exists: it is freed after each object, so buffers never outnumber the stream slots. */
struct sbuf {
	unsigned char *p;
	uint64_t charged;
};


/* A buffer of `need` bytes (<= one part) for one object. */
static int sbuf_get(struct run *r, struct sbuf *b, uint64_t need)
{
	/* wait for the budget, but not forever: read-ahead may hold it in spare chunks, and a
	 * copy that never starts is worse than one buffer over the budget */
	for (int t = 0; r->o->budget && t < BUDGET_WAITS && !cancelled(r); t++)
		if (membudget_acquire(r->o->budget, need, BUDGET_WAIT_MS) == 0) {
			b->charged = need;
			break;
		}
	if (cancelled(r))
		return -ECANCELED;
	if (!(b->p = malloc(need)))
		return -ENOMEM;
	return 0;
}

static void sbuf_free(struct run *r, struct sbuf *b)
{
	free(b->p);
	if (b->charged)
		membudget_release(r->o->budget, b->charged);
	memset(b, 0, sizeof(*b));
}

/* GET + PUT; above one part a multipart upload, aborted on any failure or cancel. */
static int stream_copy(struct run *r, const struct objcopy_item *it, struct sbuf *b,
		       struct errmsg *err)
{
	struct objstore *src = r->o->src_store, *dst = r->o->dst_store;
	uint64_t part = r->part, single = part;
	struct mpu_part *parts = NULL;
	char *upload = NULL;
	size_t got, nparts, i;
	int rc;

	if (r->o->part_copy_threshold && r->o->part_copy_threshold < single)
		single = r->o->part_copy_threshold;
	if (!it->size)
		return objstore_put(dst, it->dst, "", 0, 0, err);
	if ((rc = sbuf_get(r, b, it->size < part ? it->size : part)))
		return errmsg_set(err, rc, "no buffer for '%s'", it->src);
	if (it->size <= single) {
		rc = objstore_get(src, it->src, 0, (size_t)it->size, b->p, &got, err);
		if (!rc && got != it->size)
			rc = errmsg_set(err, -EIO, "'%s' changed size while being copied", it->src);
		if (!rc)
			rc = objstore_put(dst, it->dst, b->p, got, 0, err);
		return rc;
	}
	nparts = (size_t)((it->size + part - 1) / part);
	if (nparts > MAX_PARTS)
		return errmsg_set(err, -EFBIG, "'%s' is too big to stream (%" PRIu64 " bytes)",
				  it->src, it->size);
	if (!(parts = calloc(nparts, sizeof(*parts))))
		return -ENOMEM;
	if ((rc = objstore_mpu_begin(dst, it->dst, &upload, err)))
		goto out;
	for (i = 0; i < nparts && !rc; i++) {
		uint64_t off = (uint64_t)i * part;
		size_t len = (size_t)(it->size - off < part ? it->size - off : part);

		if (cancelled(r))
			rc = -ECANCELED;
		if (!rc)
			rc = objstore_get(src, it->src, off, len, b->p, &got, err);
		if (!rc && got != len)
			rc = errmsg_set(err, -EIO, "'%s' changed size while being copied", it->src);
		if (!rc)
			rc = objstore_mpu_part(dst, it->dst, upload, (int)i + 1, b->p, len, &parts[i],
					       err);
	}
	if (!rc)
		rc = objstore_mpu_complete(dst, it->dst, upload, parts, nparts, err);
	if (rc)
		objstore_mpu_abort(dst, it->dst, upload, NULL);
out:
	free(upload);
	free(parts);
	return rc;
}

/*
 * Server-side copy above the threshold, one UploadPartCopy at a time, with cancellation
 * checked between parts: a single CopyObject of a multi-GiB object would hold a cancel for as
 * long as the whole copy takes.  Parts are the threshold's size (within S3's 5 MiB..5 GiB,
 * grown to stay within 10000 parts).  On any failure or cancel the upload is aborted.
 * -EXDEV when the stores cannot copy server-side.
 */
static int part_copy(struct run *r, const struct objcopy_item *it, struct errmsg *err)
{
	struct objstore *src = r->o->src_store, *dst = r->o->dst_store;
	uint64_t part = r->o->part_copy_threshold, off;
	struct mpu_part *parts = NULL;
	char *upload = NULL;
	size_t nparts, i;
	int rc;

	if (part < COPY_PART_MIN)
		part = COPY_PART_MIN;
	if (part > COPY_PART_MAX)
		part = COPY_PART_MAX;
	if ((it->size + part - 1) / part > MAX_PARTS)
		part = (it->size + MAX_PARTS - 1) / MAX_PARTS;
	nparts = (size_t)((it->size + part - 1) / part);
	if (!(parts = calloc(nparts, sizeof(*parts))))
		return errmsg_set(err, -ENOMEM, "cannot copy '%s': out of memory", it->src);
	if ((rc = objstore_mpu_begin(dst, it->dst, &upload, err)))
		goto out;
	for (i = 0, off = 0; i < nparts && !rc; i++, off += part) {
		uint64_t len = it->size - off < part ? it->size - off : part;

		if (cancelled(r))
			rc = -ECANCELED;
		else
			rc = objstore_mpu_part_copy(dst, it->dst, upload, (int)i + 1, src, it->src,
						    off, len, &parts[i], err);
	}
	if (!rc && cancelled(r))
		rc = -ECANCELED;
	if (!rc)
		rc = objstore_mpu_complete(dst, it->dst, upload, parts, nparts, err);
	if (rc)
		objstore_mpu_abort(dst, it->dst, upload, NULL);
	if (rc == -ECANCELED)
		errmsg_set(err, rc, "copying '%s' was cancelled", it->src);
out:
	free(upload);
	free(parts);
	return rc;
}

static int copy_one(struct run *r, const struct objcopy_item *it, struct sbuf *b,
		    struct errmsg *err)
{
	int rc;

	if (r->server_side && it->size) {
		if (r->o->part_copy_threshold && it->size > r->o->part_copy_threshold)
			rc = part_copy(r, it, err);
		else
			rc = objstore_copy(r->o->dst_store, it->dst, r->o->src_store, it->src,
					   it->size, err);
		if (rc != -EXDEV)
			return rc;
	}
	/* streaming: bound how many buffers are in use at once */
	pthread_mutex_lock(&r->lock);
	while (r->streams >= r->max_streams)
		pthread_cond_wait(&r->cond, &r->lock);
	r->streams++;
	pthread_mutex_unlock(&r->lock);
	rc = stream_copy(r, it, b, err);
	sbuf_free(r, b);
	pthread_mutex_lock(&r->lock);
	r->streams--;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* One worker's loop (a task on the work queue): take items until none is left or one failed. */
static void worker(void *arg)
{
	struct run *r = arg;
	struct sbuf b = { NULL, 0 };
	struct errmsg err = { "" };

	for (;;) {
		size_t k;
		int rc;

		pthread_mutex_lock(&r->lock);
		if (r->rc || r->next == r->n) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		k = r->next++;
		pthread_mutex_unlock(&r->lock);
		rc = cancelled(r) ? -ECANCELED : copy_one(r, &r->items[k], &b, &err);
		if (!rc) {
			if (r->o->done)
				r->o->done(r->o->arg, r->items[k].size);
			continue;
		}
		pthread_mutex_lock(&r->lock);
		if (!r->rc) {
			r->rc = rc;
			r->failed = k;
			errmsg_set(&r->err, rc, "%s", errmsg_str(&err, rc));
		}
		pthread_mutex_unlock(&r->lock);
		break;
	}
	sbuf_free(r, &b);
}

static void shuffle(struct objcopy_item *v, size_t n)
{
	uint64_t x;

	if (rand_bytes(&x, sizeof(x)) || !x)
		x = (uint64_t)time(NULL) | 1;
	for (size_t i = n; i > 1; i--) {
		struct objcopy_item t;
		size_t k;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = (size_t)(x % i);
		t = v[i - 1];
		v[i - 1] = v[k];
		v[k] = t;
	}
}

int objcopy_run(const struct objcopy_opts *o, struct objcopy_item *items, size_t n,
		size_t *failed, struct errmsg *err)
{
	struct workq *wq = o->wq, *own = NULL;
	struct workq_batch batch;
	struct run r;
	int nworkers = o->parallel > 0 ? o->parallel : 1, started = 0, rc;

	if (!n)
		return 0;
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.items = items;
	r.n = n;
	r.part = o->stream_part ? o->stream_part : DEFAULT_PART;
	r.max_streams = o->stream_parallel > 0 ? o->stream_parallel : DEFAULT_STREAMS;
	r.server_side = o->server_side && objstore_same_backend(o->dst_store, o->src_store);
	if (!r.server_side && nworkers > r.max_streams)
		nworkers = r.max_streams;
	if ((size_t)nworkers > n)
		nworkers = (int)n;
	if (o->shuffle)
		shuffle(items, n);
	if (!wq) {
		if (workq_new((unsigned)nworkers, (unsigned)nworkers, &own))
			return errmsg_set(err, -ENOMEM, "cannot start copy threads");
		wq = own;
	}
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	workq_batch_init(&batch);
	for (; started < nworkers; started++)
		if (workq_submit(wq, &batch, worker, &r))
			break;
	if (started) {
		while (workq_batch_wait_ms(&batch, 1000))
			if (o->tick)
				o->tick(o->arg);
	}
	workq_batch_destroy(&batch);
	if (!started)
		rc = errmsg_set(err, -EAGAIN, "cannot start copy threads");
	else if (cancelled(&r))
		rc = -ECANCELED;
	else if ((rc = r.rc)) {
		if (failed)
			*failed = r.failed;
		errmsg_set(err, rc, "%s", r.err.msg);
	}
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	workq_free(own);
	return rc;
}
