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
#include "mvbackupfs/storage/copy.h"

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
 * Copy (§3.2 step 8.4): the storage copy engine (storage/copy.h) over a shuffled list
 */

static int copy_cancelled(void *arg)
{
	return job_cancelled(((struct create *)arg)->j);
}

static void copy_done(void *arg, uint64_t bytes)
{
	job_add_done(((struct create *)arg)->j, bytes, 1);
}

/* renew the GC pause while the copies run */
static void copy_tick(void *arg)
{
	create_gc_renew(&((struct create *)arg)->gc);
}

int copy_all(struct create *cr)
{
	struct backup_create_params *p = cr->p;
	struct objcopy_opts o;
	struct objcopy_item *v;
	struct errmsg e = { "" };
	size_t i, failed = (size_t)-1;
	int rc;

	if (!cr->nitems)
		return 0;
	if (!(v = calloc(cr->nitems, sizeof(*v))))
		return -ENOMEM;
	for (i = 0; i < cr->nitems; i++) {
		v[i].src = cr->items[i].src;
		v[i].dst = cr->items[i].dst;
		v[i].size = cr->items[i].size;
	}
	memset(&o, 0, sizeof(o));
	o.src_store = p->milvus_store;
	o.dst_store = p->backup_store;
	o.server_side = !p->force_streaming;
	o.part_copy_threshold = p->multipart_threshold;
	o.stream_part = BACKUP_STREAM_PART;
	o.parallel = p->copy_parallel > 0 ? p->copy_parallel : BACKUP_COPY_PARALLEL;
	o.stream_parallel = BACKUP_STREAM_PARALLEL;
	o.wq = p->wq;
	o.budget = p->budget;
	o.shuffle = 1;	/* spread copies over prefixes (milvus-backup shuffles: hot spots) */
	o.cancelled = copy_cancelled;
	o.done = copy_done;
	o.tick = copy_tick;
	o.arg = cr;
	rc = objcopy_run(&o, v, cr->nitems, &failed, &e);
	if (rc && job_cancelled(cr->j))
		rc = -ECANCELED;
	else if (rc && failed != (size_t)-1)
		rc = job_fail(cr->j, rc, "cannot copy 's3://%s/%s' to '%s': %s",
			      nz(p->milvus_bucket), v[failed].src, v[failed].dst, e.msg);
	else if (rc)
		rc = job_fail(cr->j, rc, "%s", errmsg_str(&e, rc));
	free(v);
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
