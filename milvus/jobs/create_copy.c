/*
 * create_copy.c - the snapshot job's copies (milvus-backup-format.md §3.2 step 8.4: server-side
 * CopyObject, multipart copy above the threshold, or a streamed GET+PUT across endpoints, in
 * worker loops on the work queue), the verify of every copy (8.5), and the meta files with
 * full_meta.json last (§1.7 the commit point; step 12).
 */
#include "create_internal.h"
#include "mvbackupfs/format/backup_admin.h"
#include "mvbackupfs/config/config.h"
#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/rand.h"
#include "mvbackupfs/base/crashpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.pb-c.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/rpc/milvus_client.h"
#include "mvbackupfs/base/b64.h"
#include "schema_convert.h"

/* ------------------------------------------------------------------------------------------
 * Copy (§3.2 step 8.4): a bounded pool of threads over a shuffled list
 */

struct pool {
	struct create *cr;
	int server_side;		/* try objstore_copy first */
	pthread_mutex_t lock;		/* guards next, rc, err, streams */
	pthread_cond_t cond;		/* signalled when a stream slot frees */
	size_t next;			/* next item to take */
	int rc;				/* first failure (0 = none) */
	struct errmsg err;		/* its sentence */
	int streams;			/* streaming copies in progress (<= BACKUP_STREAM_PARALLEL) */
};

static int stream_copy(struct pool *pl, const struct copy_item *it, unsigned char **bufp,
		       struct errmsg *err)
{
	struct backup_create_params *p = pl->cr->p;
	uint64_t part = BACKUP_STREAM_PART, single = part;
	struct mpu_part *parts = NULL;
	char *upload = NULL;
	size_t got, nparts;
	int rc;

	if (p->multipart_threshold && p->multipart_threshold < single)
		single = p->multipart_threshold;
	if (!it->size)
		return objstore_put(p->backup_store, it->dst, "", 0, 0, err);
	if (!*bufp && !(*bufp = malloc(part)))
		return -ENOMEM;
	if (it->size <= single) {
		rc = objstore_get(p->milvus_store, it->src, 0, (size_t)it->size, *bufp, &got, err);
		if (!rc && got != it->size)
			rc = errmsg_set(err, -EIO, "'%s' changed size while being copied", it->src);
		if (!rc)
			rc = objstore_put(p->backup_store, it->dst, *bufp, got, 0, err);
		return rc;
	}
	nparts = (size_t)((it->size + part - 1) / part);
	if (nparts > 10000)
		return errmsg_set(err, -EFBIG, "'%s' is too big to stream (%" PRIu64 " bytes)",
				  it->src, it->size);
	if (!(parts = calloc(nparts, sizeof(*parts))))
		return -ENOMEM;
	if ((rc = objstore_mpu_begin(p->backup_store, it->dst, &upload, err)))
		goto out;
	for (size_t i = 0; i < nparts; i++) {
		uint64_t off = (uint64_t)i * part;
		size_t len = (size_t)(it->size - off < part ? it->size - off : part);

		if (job_cancelled(pl->cr->j)) {
			rc = -ECANCELED;
			break;
		}
		rc = objstore_get(p->milvus_store, it->src, off, len, *bufp, &got, err);
		if (!rc && got != len)
			rc = errmsg_set(err, -EIO, "'%s' changed size while being copied", it->src);
		if (!rc)
			rc = objstore_mpu_part(p->backup_store, it->dst, upload, (int)i + 1, *bufp,
					       len, &parts[i], err);
		if (rc)
			break;
	}
	if (!rc)
		rc = objstore_mpu_complete(p->backup_store, it->dst, upload, parts, nparts, err);
	if (rc)
		objstore_mpu_abort(p->backup_store, it->dst, upload, NULL);
out:
	free(upload);
	free(parts);
	return rc;
}

#define COPY_PART_MIN	(5ULL << 20)	/* S3: the smallest part but the last */
#define COPY_PART_MAX	(5ULL << 30)	/* S3: the largest part */

/*
 * Server-side copy of an object above the multipart threshold, one UploadPartCopy at a time,
 * with cancellation checked between parts: a single objstore_copy of a multi-GiB binlog
 * would hold an rmdir (which cancels and waits) for as long as the whole copy takes.  Parts
 * are the threshold's size (within S3's 5 MiB..5 GiB, grown to stay within 10000 parts).
 * On any failure or cancel the upload is aborted.  -EXDEV when the stores cannot copy
 * server-side (the caller streams instead).
 */
static int part_copy(struct pool *pl, const struct copy_item *it, struct errmsg *err)
{
	struct backup_create_params *p = pl->cr->p;
	uint64_t part = p->multipart_threshold, off;
	struct mpu_part *parts = NULL;
	char *upload = NULL;
	size_t nparts, i;
	int rc;

	if (part < COPY_PART_MIN)
		part = COPY_PART_MIN;
	if (part > COPY_PART_MAX)
		part = COPY_PART_MAX;
	if ((it->size + part - 1) / part > 10000)
		part = (it->size + 9999) / 10000;
	nparts = (size_t)((it->size + part - 1) / part);
	if (!(parts = calloc(nparts, sizeof(*parts))))
		return errmsg_set(err, -ENOMEM, "cannot copy '%s': out of memory", it->src);
	if ((rc = objstore_mpu_begin(p->backup_store, it->dst, &upload, err)))
		goto out;
	for (i = 0, off = 0; i < nparts; i++, off += part) {
		uint64_t len = it->size - off < part ? it->size - off : part;

		if (job_cancelled(pl->cr->j)) {
			rc = -ECANCELED;
			break;
		}
		rc = objstore_mpu_part_copy(p->backup_store, it->dst, upload, (int)i + 1,
					    p->milvus_store, it->src, off, len, &parts[i], err);
		if (rc)
			break;
	}
	if (!rc && job_cancelled(pl->cr->j))
		rc = -ECANCELED;
	if (!rc)
		rc = objstore_mpu_complete(p->backup_store, it->dst, upload, parts, nparts, err);
	if (rc)
		objstore_mpu_abort(p->backup_store, it->dst, upload, NULL);
	if (rc == -ECANCELED)
		errmsg_set(err, rc, "copying '%s' was cancelled", it->src);
out:
	free(upload);
	free(parts);
	return rc;
}

static int copy_one(struct pool *pl, const struct copy_item *it, unsigned char **bufp,
		    struct errmsg *err)
{
	struct backup_create_params *p = pl->cr->p;
	int rc;

	if (pl->server_side && p->multipart_threshold && it->size > p->multipart_threshold &&
	    objstore_same_backend(p->backup_store, p->milvus_store)) {
		rc = part_copy(pl, it, err);
		if (rc != -EXDEV)
			return rc;
	} else if (pl->server_side) {
		rc = objstore_copy(p->backup_store, it->dst, p->milvus_store, it->src, it->size,
				   err);
		if (rc != -EXDEV)
			return rc;
	}
	/* streaming: bound how many buffers are in use at once */
	pthread_mutex_lock(&pl->lock);
	while (pl->streams >= BACKUP_STREAM_PARALLEL)
		pthread_cond_wait(&pl->cond, &pl->lock);
	pl->streams++;
	pthread_mutex_unlock(&pl->lock);
	rc = stream_copy(pl, it, bufp, err);
	pthread_mutex_lock(&pl->lock);
	pl->streams--;
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
	return rc;
}

/* One worker's loop (a task on the work queue): take items until none is left or one failed. */
static void copy_worker(void *arg)
{
	struct pool *pl = arg;
	struct create *cr = pl->cr;
	unsigned char *buf = NULL;
	struct errmsg err = { "" };

	for (;;) {
		const struct copy_item *it;
		int rc;

		pthread_mutex_lock(&pl->lock);
		if (pl->rc || pl->next == cr->nitems) {
			pthread_mutex_unlock(&pl->lock);
			break;
		}
		it = &cr->items[pl->next++];
		pthread_mutex_unlock(&pl->lock);
		if (job_cancelled(cr->j))
			rc = -ECANCELED;
		else
			rc = copy_one(pl, it, &buf, &err);
		if (!rc) {
			job_add_done(cr->j, it->size, 1);
			continue;
		}
		pthread_mutex_lock(&pl->lock);
		if (!pl->rc) {
			pl->rc = rc;
			if (rc != -ECANCELED)
				errmsg_set(&pl->err, rc, "cannot copy 's3://%s/%s' to '%s': %s",
					   nz(cr->p->milvus_bucket), it->src, it->dst,
					   errmsg_str(&err, rc));
		}
		pthread_mutex_unlock(&pl->lock);
		break;
	}
	free(buf);
}

static void shuffle(struct copy_item *v, size_t n)
{
	uint64_t x;

	/* spread copies over prefixes (milvus-backup shuffles to avoid hot spots) */
	if (rand_bytes(&x, sizeof(x)) || !x)
		x = (uint64_t)time(NULL) | 1;
	for (size_t i = n; i > 1; i--) {
		struct copy_item t;
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

int copy_all(struct create *cr)
{
	struct backup_create_params *p = cr->p;
	struct workq *wq = p->wq, *own = NULL;
	struct workq_batch batch;
	struct pool pl;
	int nworkers = p->copy_parallel > 0 ? p->copy_parallel : BACKUP_COPY_PARALLEL;
	int started = 0, rc = 0;

	if (!cr->nitems)
		return 0;
	memset(&pl, 0, sizeof(pl));
	pl.cr = cr;
	pl.server_side = !p->force_streaming && objstore_same_backend(p->milvus_store,
								      p->backup_store);
	if (!pl.server_side && nworkers > BACKUP_STREAM_PARALLEL)
		nworkers = BACKUP_STREAM_PARALLEL;
	if ((size_t)nworkers > cr->nitems)
		nworkers = (int)cr->nitems;
	shuffle(cr->items, cr->nitems);
	if (!wq) {
		if (workq_new((unsigned)nworkers, (unsigned)nworkers, &own))
			return job_fail(cr->j, -ENOMEM, "cannot start copy threads");
		wq = own;
	}
	pthread_mutex_init(&pl.lock, NULL);
	pthread_cond_init(&pl.cond, NULL);
	workq_batch_init(&batch);
	for (; started < nworkers; started++)
		if (workq_submit(wq, &batch, copy_worker, &pl))
			break;
	if (!started) {
		rc = job_fail(cr->j, -EAGAIN, "cannot start copy threads");
		goto out;
	}
	/* wait, renewing the GC pause now and then */
	while (workq_batch_wait_ms(&batch, 1000))
		create_gc_renew(&cr->gc);
	if (job_cancelled(cr->j))
		rc = -ECANCELED;
	else if (pl.rc)
		rc = job_fail(cr->j, pl.rc, "%s", pl.err.msg);
out:
	workq_batch_destroy(&batch);
	pthread_cond_destroy(&pl.cond);
	pthread_mutex_destroy(&pl.lock);
	workq_free(own);
	return rc;
}

/* ------------------------------------------------------------------------------------------
 * Verify (§1.7, §3.2 8.5) and meta (§1.7, §3.2 step 12)
 */

static int cmp_entry_key(const void *key, const void *e)
{
	return strcmp(key, ((const struct obj_entry *)e)->key);
}

int verify_copies(struct create *cr)
{
	struct obj_listing l = { 0 };
	char prefix[OBJSTORE_KEY_MAX];
	int rc;

	if (!cr->nitems)
		return 0;
	snprintf(prefix, sizeof(prefix), "%sbinlogs/", cr->p->backup_prefix);
	rc = objstore_list(cr->p->backup_store, prefix, NULL, &l, &cr->err);
	if (rc)
		return job_fail(cr->j, rc, "cannot list '%s' to verify the copies: %s", prefix,
				cr->err.msg);
	for (size_t i = 0; i < cr->nitems; i++) {
		const struct copy_item *it = &cr->items[i];
		const struct obj_entry *e = bsearch(it->dst, l.objs, l.nobjs, sizeof(*l.objs),
						    cmp_entry_key);

		if (!e) {
			rc = job_fail(cr->j, -EIO, "copy of '%s' is missing after the copy", it->dst);
			break;
		}
		if (e->size != it->size) {
			rc = job_fail(cr->j, -EIO, "copy of '%s' has %" PRIu64 " bytes, expected %"
				      PRIu64, it->dst, e->size, it->size);
			break;
		}
	}
	obj_listing_release(&l);
	return rc;
}

/* Is the reservation still ours (see backup_create_params.sidecar_job)? */
static int still_ours(struct create *cr, const char *when)
{
	char job[64];
	int rc;

	if (!cr->p->sidecar_job || !*cr->p->sidecar_job)
		return 0;
	rc = backup_sidecar_job(cr->p->backup_store, cr->p->backup_prefix, job, &cr->err);
	if (rc)
		return job_fail(cr->j, rc, "cannot check the reservation of '%s' %s: %s",
				nz(cr->p->name), when, cr->err.msg);
	if (strcmp(job, cr->p->sidecar_job))
		return job_fail(cr->j, -EBUSY, "not committed: '%s' is being deleted (its "
				"mvbackupfs.json now says job '%s', not '%s')", nz(cr->p->name),
				job, cr->p->sidecar_job);
	return 0;
}

/*
 * Take back our own commit `key` (meta/full_meta.json) after a delete began while we
 * committed: the delete may already be removing binlogs it names, so it must not stay.
 * Delete and check with a HEAD, a few times (the delete removes it again too: see
 * backup_delete_meta).  0 once it is gone, else the last error (logged: the backup may read
 * complete until an rmdir).
 */
#define UNDO_TRIES 5

static int take_back(struct create *cr, const char *key)
{
	struct errmsg e = { { 0 } };
	int rc = 0;

	for (int t = 0; t < UNDO_TRIES; t++) {
		struct obj_entry ent = { 0 };
		const char *k = key;

		if (t)
			sleep_ms(100LL << (t - 1));	/* 0.1 s, 0.2 s, ... */
		rc = backup_delete_keys(cr->p->backup_store, cr->p->backup_prefix, &k, 1, &e);
		if (rc)
			continue;
		rc = objstore_head(cr->p->backup_store, key, &ent, &e);
		obj_entry_release(&ent);
		if (rc == -ENOENT)
			return 0;
		if (rc == 0)
			rc = errmsg_set(&e, -EIO, "it is still there after the delete");
	}
	log_err("snapshot '%s': cannot take back '%s' after a delete began: %s; rmdir '%s' "
		"again removes it", nz(cr->p->name), key, e.msg, nz(cr->p->name));
	return rc;
}

int write_meta_files(struct create *cr)
{
	struct meta_backup *m = &cr->meta;
	struct meta_files f = { 0 };
	struct {
		const char *name;
		const char *data;
		size_t len;
	} files[5];
	int rc;

	if (!(m->id = strdup(cr->uuid)) || !(m->name = strdup(nz(cr->p->name))) ||
	    !(m->milvus_version = strdup(milvus_client_version(cr->p->milvus))))
		return -ENOMEM;
	m->state_code = META_BACKUP_INITIAL;	/* main never sets it (§1.7) */
	backup_sum_sizes(m);
	rc = meta_write_files(m, &f, &cr->err);
	if (rc)
		return job_fail(cr->j, rc, "cannot build the meta of '%s': %s", nz(cr->p->name),
				cr->err.msg);
	/* milvus-backup-format.md §1.7: main's order, full_meta.json last = the commit point */
	files[0].name = "backup_meta.json";
	files[0].data = f.backup_meta;
	files[0].len = f.backup_meta_len;
	files[1].name = "collection_meta.json";
	files[1].data = f.collection_meta;
	files[1].len = f.collection_meta_len;
	files[2].name = "partition_meta.json";
	files[2].data = f.partition_meta;
	files[2].len = f.partition_meta_len;
	files[3].name = "segment_meta.json";
	files[3].data = f.segment_meta;
	files[3].len = f.segment_meta_len;
	files[4].name = "full_meta.json";
	files[4].data = f.full_meta;
	files[4].len = f.full_meta_len;
	for (int i = 0; i < 5; i++) {
		char key[OBJSTORE_KEY_MAX];

		if (job_cancelled(cr->j)) {
			rc = -ECANCELED;
			break;
		}
		if (i == 4) {
			rc = still_ours(cr, "before the commit");
			if (rc)
				break;
			(void)MVB_CRASH_POINT("snapshot_meta_levels");
		}
		snprintf(key, sizeof(key), "%smeta/%s", cr->p->backup_prefix, files[i].name);
		rc = objstore_put(cr->p->backup_store, key, files[i].data, files[i].len, 0,
				  &cr->err);
		if (rc) {
			rc = job_fail(cr->j, rc, "cannot write '%s': %s", key, cr->err.msg);
			break;
		}
		if (i == 4)
			(void)MVB_CRASH_POINT("snapshot_commit_put");
		if (i == 4 && (rc = still_ours(cr, "after the commit")) != 0) {
			/* a delete began while we committed: take the commit back */
			take_back(cr, key);
			break;
		}
	}
	meta_files_release(&f);
	return rc;
}
