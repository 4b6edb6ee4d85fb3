/*
 * create_describe.c - the snapshot job's look at one collection (milvus-backup-format.md
 * §3.2 steps 6-8.3): describe it (schema, indexes, partitions, load state), flush it and wait,
 * then list its segments and binlogs into copy items, re-listing a segment whose fields do not
 * line up (bug 5 of issue 6).
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
 * Describe one collection (§3.2 step 6)
 */

static int dup_strs(char *const *in, size_t n, char ***out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!n)
		return 0;
	if (!(*out = calloc(n, sizeof(**out))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!((*out)[i] = strdup(nz(in[i]))))
			return -ENOMEM;
		(*nout)++;
	}
	return 0;
}

/* GetLoadingProgress -> "NotLoad" / "Loading" / "Loaded" (part NULL = the collection). */
static int load_state(struct create *cr, const char *db, const char *coll, const char *part,
		      const char **state)
{
	int64_t progress = 0;
	int rc;

	rc = milvus_get_loading_progress(cr->p->milvus, db, coll, part, &progress, &cr->err);
	if (rc)
		return rc;
	*state = progress == 0 ? "NotLoad" : progress >= 100 ? "Loaded" : "Loading";
	return 0;
}

/* The index descriptions of a DescribeIndex reply into c->indexes.  0 or -ENOMEM. */
static int copy_indexes(struct meta_collection *c,
			const Milvus__Proto__Milvus__DescribeIndexResponse *ix)
{
	if (!ix->n_index_descriptions)
		return 0;
	if (!(c->indexes = calloc(ix->n_index_descriptions, sizeof(*c->indexes))))
		return -ENOMEM;
	for (size_t i = 0; i < ix->n_index_descriptions; i++) {
		const Milvus__Proto__Milvus__IndexDescription *x = ix->index_descriptions[i];
		struct meta_index *mi = &c->indexes[i];
		const char *type = "";

		c->nindexes++;
		for (size_t k = 0; k < x->n_params; k++)
			if (!strcmp(nz(x->params[k]->key), "index_type"))
				type = nz(x->params[k]->value);
		mi->index_id = x->indexid;
		if (!(mi->field_name = strdup(nz(x->field_name))) ||
		    !(mi->index_name = strdup(nz(x->index_name))) ||
		    !(mi->index_type = strdup(type)) ||
		    schema_kvs_from_proto(x->params, x->n_params, &mi->params))
			return -ENOMEM;
	}
	return 0;
}

/* The partitions of a ShowPartitions reply into c->partitions, each with its load state
 * (§3.2 step 6: only a collection that is partly loaded is asked per partition). */
static int describe_partitions(struct create *cr, struct meta_collection *c,
			       const Milvus__Proto__Milvus__ShowPartitionsResponse *sp)
{
	const char *db = c->db_name, *name = c->collection_name;
	int rc;

	if (sp->n_partition_names &&
	    !(c->partitions = calloc(sp->n_partition_names, sizeof(*c->partitions))))
		return -ENOMEM;
	for (size_t i = 0; i < sp->n_partition_names; i++) {
		struct meta_partition *p = &c->partitions[i];
		const char *pls = c->load_state;

		c->npartitions++;
		p->partition_id = i < sp->n_partitionids ? sp->partitionids[i] : 0;
		p->collection_id = c->collection_id;
		if (!strcmp(c->load_state, "Loading")) {
			rc = load_state(cr, db, name, sp->partition_names[i], &pls);
			if (rc)
				return job_fail(cr->j, rc, "cannot get the load state of '%s.%s' "
						"partition '%s': %s", db, name,
						sp->partition_names[i], cr->err.msg);
		}
		if (!(p->partition_name = strdup(nz(sp->partition_names[i]))) ||
		    !(p->load_state = strdup(pls)))
			return -ENOMEM;
	}
	return 0;
}

int describe_collection(struct create *cr, struct meta_collection *c)
{
	struct milvus_client *mc = cr->p->milvus;
	const char *db = c->db_name, *name = c->collection_name, *ls;
	Milvus__Proto__Milvus__DescribeCollectionResponse *d = NULL;
	Milvus__Proto__Milvus__DescribeIndexResponse *ix = NULL;
	Milvus__Proto__Milvus__ShowPartitionsResponse *sp = NULL;
	int rc;

	rc = milvus_describe_collection(mc, db, name, &d, &cr->err);
	if (rc == -ENOENT)
		return job_fail(cr->j, rc, "no collection '%s.%s' in milvus (dropped meanwhile?)",
				db, name);
	if (rc)
		return job_fail(cr->j, rc, "cannot describe '%s.%s': %s", db, name, cr->err.msg);
	rc = -ENOMEM;
	if (!(c->id = strdup(cr->uuid)))
		goto out;
	c->collection_id = d->collectionid;
	if (schema_from_proto(d->schema, &c->schema))
		goto out;
	c->has_schema = true;
	c->shards_num = d->shards_num;
	c->consistency_level = (int)d->consistency_level;
	c->db_id = d->db_id;
	c->created_timestamp = d->created_timestamp;
	if (schema_kvs_from_proto(d->properties, d->n_properties, &c->properties) ||
	    dup_strs(d->virtual_channel_names, d->n_virtual_channel_names,
		     &c->virtual_channel_names, &c->nvirtual_channel_names) ||
	    dup_strs(d->physical_channel_names, d->n_physical_channel_names,
		     &c->physical_channel_names, &c->nphysical_channel_names) ||
	    dup_strs(d->aliases, d->n_aliases, &c->aliases, &c->naliases))
		goto out;

	if (job_cancelled(cr->j)) {
		rc = -ECANCELED;
		goto out;
	}
	rc = milvus_describe_index(mc, db, name, &ix, &cr->err);
	if (rc && rc != -ENOENT) {	/* "index not found" is tolerated */
		rc = job_fail(cr->j, rc, "cannot describe the indexes of '%s.%s': %s", db, name,
			      cr->err.msg);
		goto out;
	}
	if (ix && (rc = copy_indexes(c, ix)))
		goto out;
	c->has_index = c->nindexes > 0;

	if (job_cancelled(cr->j)) {
		rc = -ECANCELED;
		goto out;
	}
	rc = load_state(cr, db, name, NULL, &ls);
	if (rc) {
		rc = job_fail(cr->j, rc, "cannot get the load state of '%s.%s': %s", db, name,
			      cr->err.msg);
		goto out;
	}
	if (!(c->load_state = strdup(ls))) {
		rc = -ENOMEM;
		goto out;
	}

	rc = milvus_show_partitions(mc, db, name, &sp, &cr->err);
	if (rc) {
		rc = job_fail(cr->j, rc, "cannot list the partitions of '%s.%s': %s", db, name,
			      cr->err.msg);
		goto out;
	}
	rc = describe_partitions(cr, c, sp);
out:
	if (d)
		protobuf_c_message_free_unpacked(&d->base, NULL);
	if (ix)
		protobuf_c_message_free_unpacked(&ix->base, NULL);
	if (sp)
		protobuf_c_message_free_unpacked(&sp->base, NULL);
	return rc;
}

/* ------------------------------------------------------------------------------------------
 * Flush one collection and wait (§3.2 step 7, serial)
 */

int flush_collection(struct create *cr, struct meta_collection *c)
{
	struct milvus_client *mc = cr->p->milvus;
	const char *db = c->db_name, *name = c->collection_name;
	Milvus__Proto__Milvus__FlushResponse *r = NULL;
	const Milvus__Proto__Schema__LongArray *ids = NULL;
	uint64_t flush_ts = 0;
	int64_t t0;
	long delay = 1000;
	int rc, flushed = 0;

	for (int attempt = 1;; attempt++) {
		rc = milvus_flush(mc, db, name, &r, &cr->err);
		/* Milvus rate-limits Flush (retriable): back off and try again */
		if (rc != -EAGAIN || attempt == FLUSH_TRIES)
			break;
		log_info("flush of '%s.%s' rate-limited, retrying in %ld ms", db, name, delay);
		if ((rc = create_nap(cr->j, delay)))
			return rc;
		delay = delay * 2 > 16000 ? 16000 : delay * 2;
	}
	if (rc)
		return job_fail(cr->j, rc, "cannot flush '%s.%s': %s", db, name, cr->err.msg);

	rc = -ENOMEM;
	for (size_t i = 0; i < r->n_coll_segids; i++)
		if (!strcmp(nz(r->coll_segids[i]->key), name))
			ids = r->coll_segids[i]->value;
	for (size_t i = 0; i < r->n_coll_seal_times; i++)
		if (!strcmp(nz(r->coll_seal_times[i]->key), name) && r->coll_seal_times[i]->value > 0)
			c->backup_physical_timestamp = (uint64_t)r->coll_seal_times[i]->value;
	for (size_t i = 0; i < r->n_coll_flush_ts; i++)
		if (!strcmp(nz(r->coll_flush_ts[i]->key), name))
			flush_ts = r->coll_flush_ts[i]->value;
	/* channel_checkpoints: base64 of the packed MsgPosition; backup_timestamp = the max */
	if (r->n_channel_cps &&
	    !(c->channel_checkpoints.v = calloc(r->n_channel_cps, sizeof(struct meta_kv))))
		goto out;
	for (size_t i = 0; i < r->n_channel_cps; i++) {
		const Milvus__Proto__Msg__MsgPosition *pos = r->channel_cps[i]->value;
		struct meta_kv *kv = &c->channel_checkpoints.v[c->channel_checkpoints.n];
		unsigned char *packed;
		size_t n;

		if (!pos)
			continue;
		n = protobuf_c_message_get_packed_size(&pos->base);
		if (!(packed = malloc(n ? n : 1)))
			goto out;
		protobuf_c_message_pack(&pos->base, packed);
		kv->value = b64_encode(packed, n);
		free(packed);
		kv->key = strdup(nz(r->channel_cps[i]->key));
		c->channel_checkpoints.n++;
		if (!kv->key || !kv->value)
			goto out;
		if (pos->timestamp > c->backup_timestamp)
			c->backup_timestamp = pos->timestamp;
	}

	t0 = mono_ms();
	for (;;) {
		rc = milvus_get_flush_state(mc, db, name, ids ? ids->data : NULL,
					    ids ? ids->n_data : 0, flush_ts, &flushed, &cr->err);
		if (rc) {
			rc = job_fail(cr->j, rc, "cannot get the flush state of '%s.%s': %s", db,
				      name, cr->err.msg);
			goto out;
		}
		if (flushed)
			break;
		if (mono_ms() - t0 > FLUSH_DEADLINE_S * 1000LL) {
			rc = job_fail(cr->j, -ETIMEDOUT, "flush of '%s.%s' did not finish within "
				      "%d s", db, name, FLUSH_DEADLINE_S);
			goto out;
		}
		create_gc_renew(&cr->gc);
		if ((rc = create_nap(cr->j, FLUSH_POLL_MS)))
			goto out;
	}
	rc = 0;
out:
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return rc;
}

/* ------------------------------------------------------------------------------------------
 * Segments and binlogs of one collection (§3.2 step 8.1-8.3)
 */

static int segment_infos(struct create *cr, struct meta_collection *c,
			 Milvus__Proto__Milvus__GetPersistentSegmentInfoResponse **out)
{
	long delay = 200;
	int rc;

	for (int attempt = 1;; attempt++) {
		rc = milvus_get_persistent_segment_info(cr->p->milvus, c->db_name,
							c->collection_name, out, &cr->err);
		/* transient "segment not found" during compaction: retry (milvus-backup: 50x) */
		if (!rc || rc == -ENOENT || rc == -EACCES || attempt == SEGINFO_TRIES)
			break;
		log_info("segment list of '%s.%s' failed (%s), retrying", c->db_name,
			 c->collection_name, cr->err.msg);
		if ((rc = create_nap(cr->j, delay)))
			return rc;
		delay = delay * 2 > 3000 ? 3000 : delay * 2;
	}
	if (rc)
		return job_fail(cr->j, rc, "cannot list the segments of '%s.%s': %s", c->db_name,
				c->collection_name, cr->err.msg);
	return 0;
}

static int build_segments(struct create *cr, struct meta_collection *c,
			  const Milvus__Proto__Milvus__GetPersistentSegmentInfoResponse *r)
{
	size_t nl0 = 0;
	/* milvus-backup leaves v_channel empty without the REST API; with one shard it can only
	 * be the collection's single vchannel */
	const char *vch = c->nvirtual_channel_names == 1 ? c->virtual_channel_names[0] : "";

	for (size_t i = 0; i < r->n_infos; i++) {
		const Milvus__Proto__Milvus__PersistentSegmentInfo *s = r->infos[i];
		size_t k;

		if (s->partitionid == -1) {
			nl0++;
			continue;
		}
		for (k = 0; k < c->npartitions; k++)
			if (c->partitions[k].partition_id == s->partitionid)
				break;
		if (k == c->npartitions)
			return job_fail(cr->j, -EIO, "segment %" PRId64 " of '%s.%s' belongs to "
					"partition %" PRId64 ", which milvus does not list",
					s->segmentid, c->db_name, c->collection_name,
					s->partitionid);
		c->partitions[k].nsegments++;	/* counted here, filled below */
	}
	for (size_t k = 0; k < c->npartitions; k++) {
		struct meta_partition *p = &c->partitions[k];
		size_t n = p->nsegments;

		p->nsegments = 0;	/* from here on: how many are filled */
		if (n && !(p->segments = calloc(n, sizeof(*p->segments)))) {
			while (++k < c->npartitions)
				c->partitions[k].nsegments = 0;
			return -ENOMEM;
		}
	}
	if (nl0 && !(c->l0_segments = calloc(nl0, sizeof(*c->l0_segments))))
		return -ENOMEM;
	for (size_t i = 0; i < r->n_infos; i++) {
		const Milvus__Proto__Milvus__PersistentSegmentInfo *s = r->infos[i];
		struct meta_segment *seg;

		if (s->partitionid == -1) {
			seg = &c->l0_segments[c->nl0_segments++];
		} else {
			size_t k = 0;

			while (c->partitions[k].partition_id != s->partitionid)
				k++;
			seg = &c->partitions[k].segments[c->partitions[k].nsegments++];
		}
		seg->segment_id = s->segmentid;
		seg->collection_id = c->collection_id;
		seg->partition_id = s->partitionid;
		seg->num_of_rows = s->num_rows;
		seg->is_l0 = s->level == MILVUS__PROTO__COMMON__SEGMENT_LEVEL__L0;
		/* §1.3: group = segment ID, 0 for all-partition L0 segments */
		seg->group_id = s->partitionid == -1 ? 0 : s->segmentid;
		seg->storage_version = s->storage_version;
		if (!(seg->v_channel = strdup(vch)))
			return -ENOMEM;
	}
	return 0;
}

static int add_item(struct create *cr, const char *src, struct buf *dst, uint64_t size)
{
	struct copy_item *it;

	if (ARRAY_GROW(cr->items, cr->nitems, cr->cap_items, 256))
		return -ENOMEM;
	it = &cr->items[cr->nitems];
	it->size = size;
	it->src = strdup(src);
	it->dst = buf_detach(dst, NULL);
	if (!it->src || !it->dst) {
		free(it->src);
		free(it->dst);
		return -ENOMEM;
	}
	cr->nitems++;
	return 0;
}

/* One copy item per binlog of `seg`. */
static int segment_items(struct create *cr, const struct meta_segment *seg)
{
	for (int kind = 0; kind < 2; kind++) {
		const struct meta_field_binlog *fbs = kind ? seg->deltalogs : seg->binlogs;
		size_t nfb = kind ? seg->ndeltalogs : seg->nbinlogs;

		for (size_t i = 0; i < nfb; i++) {
			for (size_t k = 0; k < fbs[i].nbinlogs; k++) {
				const struct meta_binlog *b = &fbs[i].binlogs[k];
				struct buf dst = BUF_INIT(OBJSTORE_KEY_MAX);
				int rc;

				rc = backup_dest_key(&dst, cr->p->backup_prefix,
						     kind ? BACKUP_LOG_DELTA : BACKUP_LOG_INSERT,
						     seg->collection_id, seg->partition_id,
						     seg->group_id, seg->segment_id, fbs[i].field_id,
						     b->log_id);
				if (!rc)
					rc = add_item(cr, b->log_path, &dst, (uint64_t)b->log_size);
				buf_release(&dst);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

static int list_prefix(struct create *cr, const char *what, int64_t coll_id,
		       struct obj_listing *out, char *prefix, size_t prefix_size)
{
	const char *root = cr->p->milvus_root ? cr->p->milvus_root : "";

	snprintf(prefix, prefix_size, "%s%s%s/%" PRId64 "/", root, root[0] ? "/" : "", what,
		 coll_id);
	return objstore_list(cr->p->milvus_store, prefix, NULL, out, &cr->err);
}

/* Undo backup_attach_binlogs: free every segment's binlogs and delta logs, sizes back to 0. */
static void detach_one(struct meta_field_binlog **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		for (size_t j = 0; j < (*v)[i].nbinlogs; j++)
			free((*v)[i].binlogs[j].log_path);
		free((*v)[i].binlogs);
	}
	free(*v);
	*v = NULL;
	*n = 0;
}

static void detach_binlogs(struct meta_collection *c)
{
	for (size_t k = 0; k <= c->npartitions; k++) {
		struct meta_segment *segs = k < c->npartitions ? c->partitions[k].segments
							       : c->l0_segments;
		size_t n = k < c->npartitions ? c->partitions[k].nsegments : c->nl0_segments;

		for (size_t i = 0; i < n; i++) {
			detach_one(&segs[i].binlogs, &segs[i].nbinlogs);
			detach_one(&segs[i].deltalogs, &segs[i].ndeltalogs);
			segs[i].size = 0;
		}
	}
}

/*
 * Bug 5 of issue 6: never commit a segment whose fields do not line up.  milvus-backup refuses
 * such a segment too (milvus-backup-format.md §3.2 step 8.2 (b): "field X has different file
 * num to other fields"), and a restore of it would import columns of different lengths.  A
 * flush that is still writing its objects looks the same for a moment, so the first
 * SEGCHECK_TRIES - 1 findings ask for a re-list (-EAGAIN, logged); the last one fails the job
 * naming the collection and the segment.  0 when every segment is consistent.
 */
static int segments_consistent(struct create *cr, struct meta_collection *c, int attempt)
{
	for (size_t k = 0; k <= c->npartitions; k++) {
		const struct meta_segment *segs = k < c->npartitions ? c->partitions[k].segments
								     : c->l0_segments;
		size_t n = k < c->npartitions ? c->partitions[k].nsegments : c->nl0_segments;

		for (size_t i = 0; i < n; i++) {
			struct errmsg why = { 0 };

			if (!backup_segment_check(c, &segs[i], &why))
				continue;
			if (attempt < SEGCHECK_TRIES) {
				log_info("segment %" PRId64 " of '%s.%s' is inconsistent (%s): a "
					 "flush may still be settling, re-listing in %ld ms",
					 segs[i].segment_id, c->db_name, c->collection_name,
					 why.msg, (long)SEGCHECK_DELAY_MS << (attempt - 1));
				return -EAGAIN;
			}
			return job_fail(cr->j, -EIO, "segment %" PRId64 " of '%s.%s' is "
					"inconsistent in the milvus bucket: %s (milvus-backup "
					"refuses it too)", segs[i].segment_id, c->db_name,
					c->collection_name, why.msg);
		}
	}
	return 0;
}

/* Rows over the collection's segments (L0 ones included). */
static int64_t collection_rows(const struct meta_collection *c)
{
	int64_t rows = 0;

	for (size_t k = 0; k < c->npartitions; k++)
		for (size_t i = 0; i < c->partitions[k].nsegments; i++)
			rows += c->partitions[k].segments[i].num_of_rows;
	for (size_t i = 0; i < c->nl0_segments; i++)
		rows += c->l0_segments[i].num_of_rows;
	return rows;
}

int collection_segments(struct create *cr, struct meta_collection *c)
{
	Milvus__Proto__Milvus__GetPersistentSegmentInfoResponse *r = NULL;
	struct obj_listing ins = { 0 }, del = { 0 };
	struct obj_entry *all = NULL;
	char iprefix[512], dprefix[512];
	size_t nfound = 0;
	int rc;

	if ((rc = segment_infos(cr, c, &r)))
		return rc;
	rc = build_segments(cr, c, r);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	if (rc)
		return rc;
	if (!c->npartitions && !c->nl0_segments)
		return 0;
	if (!collection_rows(c))
		return 0;	/* nothing persisted yet: an empty collection */

	for (int attempt = 1;; attempt++) {
		CHECK_CANCEL(cr);
		/* one recursive listing per kind and collection (§3.2 8.2 b) */
		rc = list_prefix(cr, "insert_log", c->collection_id, &ins, iprefix,
				 sizeof(iprefix));
		if (!rc)
			rc = list_prefix(cr, "delta_log", c->collection_id, &del, dprefix,
					 sizeof(dprefix));
		if (rc) {
			rc = job_fail(cr->j, rc, "cannot list the binlogs of '%s.%s' in s3://%s: %s",
				      c->db_name, c->collection_name, nz(cr->p->milvus_bucket),
				      cr->err.msg);
			goto out;
		}
		if (ins.nobjs + del.nobjs) {
			if (!(all = malloc((ins.nobjs + del.nobjs) * sizeof(*all)))) {
				rc = -ENOMEM;
				goto out;
			}
			/* shallow copies: the listings keep owning the keys */
			if (ins.nobjs)
				memcpy(all, ins.objs, ins.nobjs * sizeof(*all));
			if (del.nobjs)
				memcpy(all + ins.nobjs, del.objs, del.nobjs * sizeof(*all));
		}
		rc = backup_attach_binlogs(c, nz(cr->p->milvus_root), all,
					   ins.nobjs + del.nobjs, &nfound);
		if (rc)
			goto out;
		rc = segments_consistent(cr, c, attempt);
		if (rc != -EAGAIN)
			break;
		/* settling: drop this listing and look again */
		detach_binlogs(c);
		free(all);
		all = NULL;
		obj_listing_release(&ins);
		obj_listing_release(&del);
		if ((rc = create_nap(cr->j, SEGCHECK_DELAY_MS << (attempt - 1))))
			goto out;
	}
	if (rc)
		goto out;
	/* mvbackupfs.md §5.2 guard rail: rows but no binlogs means a wrong bucket or rootPath */
	if (!nfound) {
		rc = job_fail(cr->j, -ENOENT, "no binlogs for '%s.%s' under s3://%s/%s: check "
			      "minio.bucketName and minio.rootPath", c->db_name,
			      c->collection_name, nz(cr->p->milvus_bucket), iprefix);
		goto out;
	}
	for (size_t k = 0; k <= c->npartitions; k++) {
		struct meta_segment *segs = k < c->npartitions ? c->partitions[k].segments
							       : c->l0_segments;
		size_t n = k < c->npartitions ? c->partitions[k].nsegments : c->nl0_segments;

		for (size_t i = 0; i < n; i++) {
			struct meta_segment *s = &segs[i];

			/* a segment with rows must have logs: never commit it silently empty */
			if (s->num_of_rows > 0 && !(s->is_l0 ? s->ndeltalogs : s->nbinlogs)) {
				rc = job_fail(cr->j, -ENOENT, "no binlogs for segment %" PRId64
					      " of '%s.%s' under s3://%s/%s", s->segment_id,
					      c->db_name, c->collection_name,
					      nz(cr->p->milvus_bucket),
					      s->is_l0 ? dprefix : iprefix);
				goto out;
			}
			if ((rc = segment_items(cr, s)))
				goto out;
		}
	}
out:
	free(all);
	obj_listing_release(&ins);
	obj_listing_release(&del);
	return rc;
}
