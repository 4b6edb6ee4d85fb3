/*
 * meta_levels.c - a backup without full_meta.json read from its four level files
 * (backup_meta, collection_meta, partition_meta, segment_meta: milvus-backup-format.md §1.7),
 * the tree put together from the IDs they share.
 */
#include "meta_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------
 * Level files (§1.7 Read without full_meta.json)
 */

struct part_ref {
	int64_t collection_id, partition_id;
	struct meta_partition *part;
	size_t want;		/* segments counted for it */
};

static int part_ref_cmp(const void *a, const void *b)
{
	const struct part_ref *x = a, *y = b;

	if (x->collection_id != y->collection_id)
		return x->collection_id < y->collection_id ? -1 : 1;
	if (x->partition_id != y->partition_id)
		return x->partition_id < y->partition_id ? -1 : 1;
	return 0;
}

static struct meta_collection *find_collection(struct meta_backup *b, int64_t id)
{
	for (size_t i = 0; i < b->ncollections; i++)
		if (b->collections[i].collection_id == id)
			return &b->collections[i];
	return NULL;
}

/* Parse the {"infos":[…]} wrapper of a level file with the typed getter `get`. */
#define PARSE_INFOS(p, what, text, len, get, arr, n)					\
	do {										\
		json_t *r_;								\
											\
		rc = mi_load_json((p), (what), (text), (len), &r_);			\
		if (rc)									\
			goto out;							\
		rc = get((p), r_, "infos", (arr), (n));					\
		json_decref(r_);							\
		if (rc) {								\
			errmsg_prefix((p)->err, rc, "%s", (what));			\
			goto out;							\
		}									\
	} while (0)

/* Index the partitions (from partition_meta.json, their nested segments dropped) by
 * (collection, partition) into refs[0..nparts), sorted; each must name a known collection. */
static int index_partitions(struct pctx *p, struct meta_backup *out, struct meta_partition *parts,
			    size_t nparts, struct part_ref *refs)
{
	for (size_t i = 0; i < nparts; i++) {
		mi_segments_release(&parts[i].segments, &parts[i].nsegments);
		if (!find_collection(out, parts[i].collection_id))
			return errmsg_set(p->err, -EINVAL,
					  "partition_meta.json: partition %" PRId64
					  " names unknown collection %" PRId64,
					  parts[i].partition_id, parts[i].collection_id);
		refs[i] = (struct part_ref){ parts[i].collection_id, parts[i].partition_id,
					     &parts[i], 0 };
	}
	qsort(refs, nparts, sizeof(*refs), part_ref_cmp);
	return 0;
}

/* Count the segments of each partition (refs[].want) and make room for them; a segment
 * naming an unknown partition or collection is an error. */
static int count_segments(struct pctx *p, struct meta_backup *out, struct part_ref *refs,
			  size_t nparts, const struct meta_segment *segs, size_t nsegs)
{
	for (size_t i = 0; i < nsegs; i++) {
		struct part_ref key = { segs[i].collection_id, segs[i].partition_id, NULL, 0 };
		struct part_ref *r;

		if (segs[i].partition_id == -1) {
			if (!find_collection(out, segs[i].collection_id))
				return errmsg_set(p->err, -EINVAL,
						  "segment_meta.json: segment %" PRId64
						  " names unknown collection %" PRId64,
						  segs[i].segment_id, segs[i].collection_id);
			continue;
		}
		r = bsearch(&key, refs, nparts, sizeof(*refs), part_ref_cmp);
		if (!r)
			return errmsg_set(p->err, -EINVAL,
					  "segment_meta.json: segment %" PRId64
					  " names unknown partition %" PRId64,
					  segs[i].segment_id, segs[i].partition_id);
		r->want++;
	}
	for (size_t i = 0; i < nparts; i++) {
		refs[i].part->segments = mi_alloc_n(refs[i].want, sizeof(struct meta_segment));
		if (refs[i].want && !refs[i].part->segments)
			return mi_nomem(p);
	}
	return 0;
}

/* Move the segments, in file order, into their partitions (an all-partition L0 segment into
 * its collection's l0_segments, once); segs[] is left empty. */
static int place_segments(struct pctx *p, struct meta_backup *out, struct part_ref *refs,
			  size_t nparts, struct meta_segment *segs, size_t nsegs)
{
	for (size_t i = 0; i < nsegs; i++) {
		struct part_ref key = { segs[i].collection_id, segs[i].partition_id, NULL, 0 };
		struct meta_collection *c = find_collection(out, segs[i].collection_id);
		struct part_ref *r;
		bool dup = false;

		if (segs[i].partition_id == -1) {
			/* an all-partition L0 segment (not written here by main, but tolerate it) */
			struct meta_segment *n;

			for (size_t j = 0; j < c->nl0_segments; j++)
				dup |= c->l0_segments[j].segment_id == segs[i].segment_id;
			if (dup) {
				mi_segment_release(&segs[i]);
				continue;
			}
			n = realloc(c->l0_segments, (c->nl0_segments + 1) * sizeof(*n));
			if (!n)
				return mi_nomem(p);
			c->l0_segments = n;
			c->l0_segments[c->nl0_segments++] = segs[i];
		} else {
			r = bsearch(&key, refs, nparts, sizeof(*refs), part_ref_cmp);
			r->part->segments[r->part->nsegments++] = segs[i];
		}
		memset(&segs[i], 0, sizeof(segs[i]));
	}
	return 0;
}

/* Attach the partitions to their collections in file order; sizes recomputed from the
 * segments (§2.4).  parts[] is left empty. */
static int attach_partitions(struct pctx *p, struct meta_backup *out, struct meta_partition *parts,
			     size_t nparts)
{
	for (size_t i = 0; i < out->ncollections; i++) {
		struct meta_collection *c = &out->collections[i];
		size_t want = 0;

		for (size_t j = 0; j < nparts; j++)
			want += parts[j].collection_id == c->collection_id;
		c->partitions = mi_alloc_n(want, sizeof(*c->partitions));
		if (want && !c->partitions)
			return mi_nomem(p);
		c->size = 0;
		for (size_t j = 0; j < nparts; j++) {
			if (parts[j].collection_id != c->collection_id)
				continue;
			parts[j].size = 0;
			for (size_t k = 0; k < parts[j].nsegments; k++)
				parts[j].size = meta_sat_add(parts[j].size,
							     parts[j].segments[k].size);
			c->size = meta_sat_add(c->size, parts[j].size);
			c->partitions[c->npartitions++] = parts[j];
			memset(&parts[j], 0, sizeof(parts[j]));
		}
	}
	out->size = 0;
	for (size_t i = 0; i < out->ncollections; i++)
		out->size = meta_sat_add(out->size, out->collections[i].size);
	return 0;
}

int meta_parse_levels(const char *backup_json, size_t backup_len, const char *coll_json,
		      size_t coll_len, const char *part_json, size_t part_len,
		      const char *seg_json, size_t seg_len, struct meta_backup *out,
		      struct errmsg *err)
{
	struct pctx p = { .err = err };
	struct meta_partition *parts = NULL;
	struct meta_segment *segs = NULL;
	struct part_ref *refs = NULL;
	size_t nparts = 0, nsegs = 0;
	json_t *root = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = mi_load_json(&p, "backup_meta.json", backup_json, backup_len, &root);
	if (rc)
		goto out;
	rc = mi_parse_root(&p, root, out, false);
	if (rc) {
		errmsg_prefix(err, rc, "backup_meta.json");
		goto out;
	}
	PARSE_INFOS(&p, "collection_meta.json", coll_json, coll_len, mi_get_collections,
		    &out->collections, &out->ncollections);
	PARSE_INFOS(&p, "partition_meta.json", part_json, part_len, mi_get_partitions, &parts,
		    &nparts);
	PARSE_INFOS(&p, "segment_meta.json", seg_json, seg_len, mi_get_segments, &segs, &nsegs);

	/* Partitions come from partition_meta.json only: whatever collection_meta.json nests
	 * (full trees up to v0.5.12, stripped ones later) is replaced, and segments nested in
	 * partition_meta.json are dropped in favour of segment_meta.json. */
	for (size_t i = 0; i < out->ncollections; i++)
		mi_partitions_release(&out->collections[i].partitions,
				      &out->collections[i].npartitions);
	refs = mi_alloc_n(nparts ? nparts : 1, sizeof(*refs));
	if (!refs) {
		rc = mi_nomem(&p);
		goto out;
	}
	if ((rc = index_partitions(&p, out, parts, nparts, refs)) ||
	    (rc = count_segments(&p, out, refs, nparts, segs, nsegs)) ||
	    (rc = place_segments(&p, out, refs, nparts, segs, nsegs)) ||
	    (rc = attach_partitions(&p, out, parts, nparts)))
		goto out;
	rc = 0;
out:
	if (root)
		json_decref(root);
	free(refs);
	mi_segments_release(&segs, &nsegs);
	mi_partitions_release(&parts, &nparts);
	if (rc)
		meta_backup_release(out);
	return rc;
}
