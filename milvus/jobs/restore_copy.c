/*
 * restore_copy.c - the units of a restore copied into Milvus' bucket when Milvus cannot read
 * the backup bucket (format §4.4, §1.9): listing, the copy pool (server-side copies, streaming
 * otherwise), and the removal of the temporary objects on every way out.
 */
#include "restore_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/base/log.h"
#include "mvbackupfs/base/workq.h"

int rs_list_units(struct restore *r)
{
	uint64_t bytes = 0;
	size_t i, u, f, k;
	int rc = 0;

	job_set_phase(r->j, "list");
	for (i = 0; i < r->ncs; i++) {
		struct coll_state *cs = &r->cs[i];

		for (u = 0; u < cs->nunits; u++) {
			for (f = 0; f < cs->units[u].nfiles; f++) {
				struct obj_listing l = { 0 };
				const char *pre = cs->units[u].files[f];

				if (!*pre || !cs->temp)
					continue;
				rc = objstore_list(r->p->backup_store, pre, NULL, &l, &r->err);
				if (rc)
					return job_fail(r->j, rc, "cannot list '%s': %s", pre, r->err.msg);
				if (l.nobjs) {
					struct copy_obj *nv = realloc(r->objs, (r->nobjs + l.nobjs) *
								      sizeof(*nv));

					if (!nv) {
						obj_listing_release(&l);
						return -ENOMEM;
					}
					r->objs = nv;
				}
				for (k = 0; k < l.nobjs; k++) {
					struct copy_obj *o = &r->objs[r->nobjs];

					o->src = strdup(l.objs[k].key);
					o->dst = rs_import_key(r, cs, l.objs[k].key);
					o->size = l.objs[k].size;
					if (!o->src || !o->dst) {
						free(o->src);
						free(o->dst);
						obj_listing_release(&l);
						return -ENOMEM;
					}
					r->nobjs++;
					bytes += o->size;
				}
				obj_listing_release(&l);
			}
		}
	}
	{
		size_t nunits = 0;

		for (i = 0; i < r->ncs; i++)
			nunits += r->cs[i].nunits;
		job_set_totals(r->j, bytes, r->nobjs + nunits);
	}
	return rc;
}

#define STREAM_PART	((uint64_t)8 << 20)

static int stream_one(struct restore *r, const struct copy_obj *o, unsigned char **buf,
		      struct errmsg *err)
{
	struct mpu_part *parts = NULL;
	char *upload = NULL;
	size_t got, nparts, i;
	int rc;

	if (!*buf && !(*buf = malloc(STREAM_PART)))
		return -ENOMEM;
	if (o->size <= STREAM_PART) {
		rc = objstore_get(r->p->backup_store, o->src, 0, (size_t)o->size, *buf, &got, err);
		if (!rc && got != o->size)
			rc = errmsg_set(err, -EIO, "'%s' changed size while being copied", o->src);
		if (!rc)
			rc = objstore_put(r->p->milvus_store, o->dst, *buf, got, 0, err);
		return rc;
	}
	nparts = (size_t)((o->size + STREAM_PART - 1) / STREAM_PART);
	if (!(parts = calloc(nparts, sizeof(*parts))))
		return -ENOMEM;
	rc = objstore_mpu_begin(r->p->milvus_store, o->dst, &upload, err);
	for (i = 0; !rc && i < nparts; i++) {
		uint64_t off = (uint64_t)i * STREAM_PART;
		size_t len = (size_t)(o->size - off < STREAM_PART ? o->size - off : STREAM_PART);

		if (job_cancelled(r->j))
			rc = -ECANCELED;
		if (!rc)
			rc = objstore_get(r->p->backup_store, o->src, off, len, *buf, &got, err);
		if (!rc && got != len)
			rc = errmsg_set(err, -EIO, "'%s' changed size while being copied", o->src);
		if (!rc)
			rc = objstore_mpu_part(r->p->milvus_store, o->dst, upload, (int)i + 1, *buf,
					       len, &parts[i], err);
	}
	if (!rc)
		rc = objstore_mpu_complete(r->p->milvus_store, o->dst, upload, parts, nparts, err);
	if (rc && upload)
		objstore_mpu_abort(r->p->milvus_store, o->dst, upload, NULL);
	free(upload);
	free(parts);
	return rc;
}

static void copy_worker(void *arg)
{
	struct restore *r = arg;
	unsigned char *buf = NULL;
	struct errmsg err = { "" };
	int server_side = !r->p->force_streaming &&
			  objstore_same_backend(r->p->milvus_store, r->p->backup_store);

	for (;;) {
		const struct copy_obj *o;
		int rc = -EXDEV;

		pthread_mutex_lock(&r->lock);
		if (r->rc || r->next == r->nobjs) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		o = &r->objs[r->next++];
		pthread_mutex_unlock(&r->lock);
		if (job_cancelled(r->j))
			rc = -ECANCELED;
		else if (server_side && o->size)
			rc = objstore_copy(r->p->milvus_store, o->dst, r->p->backup_store, o->src,
					   o->size, &err);
		if (rc == -EXDEV)
			rc = stream_one(r, o, &buf, &err);
		if (!rc) {
			job_add_done(r->j, o->size, 1);
			continue;
		}
		pthread_mutex_lock(&r->lock);
		if (!r->rc) {
			r->rc = rc;
			errmsg_set(&r->perr, rc, "cannot copy '%s' to 's3://%s/%s': %s", o->src,
				   r->p->milvus_bucket, o->dst, errmsg_str(&err, rc));
		}
		pthread_mutex_unlock(&r->lock);
		break;
	}
	free(buf);
}

/* The copies run on a work queue of their own (workq.h), not on the mount's: its workers
 * keep the root .info's meta reads going, and a restore's copy loops hold theirs for the
 * whole copy phase. */
int rs_copy_all(struct restore *r)
{
	struct workq *wq = NULL;
	struct workq_batch batch;
	int n = r->p->copy_parallel > 0 ? r->p->copy_parallel : RESTORE_PARALLEL, started = 0;

	job_set_phase(r->j, "copy");
	if (!r->nobjs)
		return 0;
	if (n > 64)
		n = 64;
	if ((size_t)n > r->nobjs)
		n = (int)r->nobjs;
	if (workq_new((unsigned)n, (unsigned)n, &wq))
		return job_fail(r->j, -ENOMEM, "cannot start copy threads");
	workq_batch_init(&batch);
	for (; started < n; started++)
		if (workq_submit(wq, &batch, copy_worker, r))
			break;
	workq_batch_wait(&batch);
	workq_batch_destroy(&batch);
	workq_free(wq);
	if (!started)
		return job_fail(r->j, -EAGAIN, "cannot start copy threads");
	if (job_cancelled(r->j))
		return -ECANCELED;
	if (r->rc)
		return job_fail(r->j, r->rc, "%s", r->perr.msg);
	return 0;
}

/* Delete every temporary object (those listed and anything else under the temp prefixes). */
int rs_cleanup(struct restore *r)
{
	size_t i, k;
	int rc = 0;

	for (i = 0; i < r->ncs; i++) {
		struct obj_listing l = { 0 };
		const char **keys;
		struct errmsg e = { "" };
		int rc2;

		if (!r->cs[i].temp)
			continue;
		rc2 = objstore_list(r->p->milvus_store, r->cs[i].temp, NULL, &l, &e);
		if (!rc2 && l.nobjs) {
			keys = calloc(l.nobjs, sizeof(*keys));
			if (!keys)
				rc2 = -ENOMEM;
			else {
				for (k = 0; k < l.nobjs; k++)
					keys[k] = l.objs[k].key;
				rc2 = objstore_delete(r->p->milvus_store, keys, l.nobjs, &e);
				free(keys);
			}
		}
		if (!rc2) {
			size_t naborted = 0;

			objstore_abort_uploads(r->p->milvus_store, r->cs[i].temp, &naborted, NULL);
		}
		obj_listing_release(&l);
		if (rc2) {
			log_err("restore '%s': cannot remove the temporary objects 's3://%s/%s': %s",
				r->p->name, r->p->milvus_bucket, r->cs[i].temp, errmsg_str(&e, rc2));
			if (!rc)
				rc = rc2;
		}
	}
	return rc;
}
