/*
 * restore_copy.c - the units of a restore copied into Milvus' bucket when Milvus cannot read
 * the backup bucket (format §4.4, §1.9): listing, the copies (the storage copy engine:
 * server-side when the stores share an endpoint, streaming otherwise), and the removal of the
 * temporary objects on every way out.
 */
#include "restore_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/base/log.h"
#include "mvbackupfs/storage/copy.h"

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

static int copy_cancelled(void *arg)
{
	return job_cancelled(((struct restore *)arg)->j);
}

static void copy_done(void *arg, uint64_t bytes)
{
	job_add_done(((struct restore *)arg)->j, bytes, 1);
}

/* The copies go through the storage copy engine (storage/copy.h) on a work queue of their
 * own, not the mount's: its workers keep the root .info's meta reads going, and a restore's
 * copy loops hold theirs for the whole copy phase. */
int rs_copy_all(struct restore *r)
{
	struct objcopy_opts o;
	struct objcopy_item *v;
	struct errmsg e = { "" };
	size_t i, failed = (size_t)-1;
	int n = r->p->copy_parallel > 0 ? r->p->copy_parallel : RESTORE_PARALLEL, rc;

	job_set_phase(r->j, "copy");
	if (!r->nobjs)
		return 0;
	if (!(v = calloc(r->nobjs, sizeof(*v))))
		return -ENOMEM;
	for (i = 0; i < r->nobjs; i++) {
		v[i].src = r->objs[i].src;
		v[i].dst = r->objs[i].dst;
		v[i].size = r->objs[i].size;
	}
	memset(&o, 0, sizeof(o));
	o.src_store = r->p->backup_store;
	o.dst_store = r->p->milvus_store;
	o.server_side = !r->p->force_streaming;
	o.stream_part = (uint64_t)8 << 20;
	o.parallel = n > 64 ? 64 : n;
	o.stream_parallel = o.parallel;	/* bounded by the budget */
	o.budget = r->p->budget;
	o.cancelled = copy_cancelled;
	o.done = copy_done;
	o.arg = r;
	rc = objcopy_run(&o, v, r->nobjs, &failed, &e);
	if (rc && job_cancelled(r->j))
		rc = -ECANCELED;
	else if (rc && failed != (size_t)-1)
		rc = job_fail(r->j, rc, "cannot copy '%s' to 's3://%s/%s': %s", v[failed].src,
			      r->p->milvus_bucket, v[failed].dst, e.msg);
	else if (rc)
		rc = job_fail(r->j, rc, "%s", errmsg_str(&e, rc));
	free(v);
	return rc;
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
