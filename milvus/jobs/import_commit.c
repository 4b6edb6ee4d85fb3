/*
 * import_commit.c - the commit rule of a backup copied in (import_commit.h): which meta the
 * backup needs, which binlogs it names with which sizes, and the order of the final writes.
 */
#include "mvbackupfs/jobs/import_commit.h"

#include <errno.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/jobs/backup_create.h"
#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/format/expiry.h"
#include "mvbackupfs/format/meta.h"
#include "mvbackupfs/format/sidecar.h"


void import_need_release(struct import_need *n)
{
	size_t i;

	for (i = 0; i < n->n; i++)
		free(n->keys[i]);
	free(n->keys);
	free(n->sizes);
	memset(n, 0, sizeof(*n));
}

static const struct import_meta *find(const struct import_meta *f, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return &f[i];
	return NULL;
}

struct keyed {
	char *key;
	uint64_t size;
};

static int cmp_keyed(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key);
}

struct acc {
	struct keyed *v;
	size_t n, cap;
};

static int add_segment(struct acc *a, const char *prefix, const struct meta_segment *seg)
{
	int kind;

	for (kind = 0; kind < 2; kind++) {
		const struct meta_field_binlog *fbs = kind ? seg->deltalogs : seg->binlogs;
		size_t nfb = kind ? seg->ndeltalogs : seg->nbinlogs, i, k;

		for (i = 0; i < nfb; i++) {
			for (k = 0; k < fbs[i].nbinlogs; k++) {
				const struct meta_binlog *b = &fbs[i].binlogs[k];
				struct buf key = BUF_INIT(OBJSTORE_KEY_MAX);
				int rc;

				rc = backup_dest_key(&key, prefix,
						     kind ? BACKUP_LOG_DELTA : BACKUP_LOG_INSERT,
						     seg->collection_id, seg->partition_id,
						     seg->group_id, seg->segment_id, fbs[i].field_id,
						     b->log_id);
				if (!rc && ARRAY_GROW(a->v, a->n, a->cap, 64))
					rc = -ENOMEM;
				if (rc) {
					buf_release(&key);
					return rc;
				}
				a->v[a->n].key = buf_detach(&key, NULL);
				a->v[a->n].size = b->log_size > 0 ? (uint64_t)b->log_size : 0;
				if (!a->v[a->n].key)
					return -ENOMEM;
				a->n++;
			}
		}
	}
	return 0;
}

/*
 * pre-v0.3.1 shape (milvus-backup-format.md §1.4, §2.4): backup_meta.json carries the old
 * task fields (state_code, progress, start/end time: written up to v0.5.9) but no size (0:
 * v0.3.0 wrote none), no format, and no segment uses the v0.4.4+ layout (group_id ==
 * segment_id).  Anything else is a v0.3.1+ backup, which always has a full_meta.json.
 */
static int looks_pre_v031(const char *backup_json, size_t len, const struct meta_backup *b)
{
	json_t *root = json_loadb(backup_json, len, 0, NULL), *v;
	int old_task = 0, sized = 1;
	size_t i, j, k;

	if (!json_is_object(root)) {
		json_decref(root);
		return 0;
	}
	v = json_object_get(root, "size");
	sized = json_is_integer(v) && json_integer_value(v) != 0;
	old_task = json_object_get(root, "progress") || json_object_get(root, "start_time") ||
		   json_object_get(root, "end_time") ||
		   json_integer_value(json_object_get(root, "state_code")) != 0;
	json_decref(root);
	if (sized || !old_task || (b->format && b->format[0]))
		return 0;
	for (i = 0; i < b->ncollections; i++) {
		const struct meta_collection *c = &b->collections[i];

		for (j = 0; j < c->npartitions; j++)
			for (k = 0; k < c->partitions[j].nsegments; k++)
				if (c->partitions[j].segments[k].group_id ==
				    c->partitions[j].segments[k].segment_id)
					return 0;
	}
	return 1;
}

int import_plan(const struct import_meta *files, size_t nfiles, const char *prefix,
		struct import_need *need, struct errmsg *err)
{
	static const char *const levels[] = { "backup_meta.json", "collection_meta.json",
					      "partition_meta.json", "segment_meta.json" };
	const struct import_meta *full = find(files, nfiles, "full_meta.json"), *lv[4];
	struct meta_backup b = { 0 };
	struct acc a = { 0 };
	size_t i, j, k, nlevels;
	int rc, snapshot;

	memset(need, 0, sizeof(*need));
	for (i = 0; i < 4; i++)
		lv[i] = find(files, nfiles, levels[i]);
	if (full) {
		rc = meta_parse_full(full->data, full->len, &b, err);
		if (rc)
			return errmsg_prefix(err, rc, "meta/full_meta.json does not parse");
		snapshot = b.format && !strcmp(b.format, "snapshot");
		/* milvus-backup-format.md §1.4: every v0.3.1+ writer puts the level files down
		 * before full_meta.json (the snapshot format only backup and collection) */
		nlevels = snapshot ? 2 : 4;
		for (i = 0; i < nlevels; i++) {
			if (!lv[i]) {
				rc = errmsg_set(err, -EAGAIN, "waiting for meta/%s", levels[i]);
				goto out;
			}
		}
	} else {
		for (i = 0; i < 4; i++) {
			if (!lv[i]) {
				rc = errmsg_set(err, -EAGAIN, "waiting for meta/%s",
						lv[0] ? levels[i] : "full_meta.json");
				goto out;
			}
		}
		rc = meta_parse_levels(lv[0]->data, lv[0]->len, lv[1]->data, lv[1]->len,
				       lv[2]->data, lv[2]->len, lv[3]->data, lv[3]->len, &b, err);
		if (rc)
			return errmsg_prefix(err, rc, "the level files do not parse");
		if (!looks_pre_v031(lv[0]->data, lv[0]->len, &b)) {
			rc = errmsg_set(err, -EAGAIN, "waiting for meta/full_meta.json (the level "
					"files are of a v0.3.1+ backup)");
			goto out;
		}
		need->pre_v031 = 1;
	}
	for (i = 0; i < b.ncollections; i++) {
		const struct meta_collection *c = &b.collections[i];

		for (j = 0; j < c->npartitions; j++)
			for (k = 0; k < c->partitions[j].nsegments; k++)
				if ((rc = add_segment(&a, prefix, &c->partitions[j].segments[k])))
					goto out;
		for (k = 0; k < c->nl0_segments; k++)
			if ((rc = add_segment(&a, prefix, &c->l0_segments[k])))
				goto out;
		need->entities = meta_sat_add(need->entities, meta_collection_entities(c));
	}
	if (a.n)
		qsort(a.v, a.n, sizeof(*a.v), cmp_keyed);
	need->keys = calloc(a.n ? a.n : 1, sizeof(*need->keys));
	need->sizes = calloc(a.n ? a.n : 1, sizeof(*need->sizes));
	if (!need->keys || !need->sizes) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < a.n; i++) {
		/* one binlog named twice (a segment in two places) is needed once */
		if (need->n && !strcmp(need->keys[need->n - 1], a.v[i].key)) {
			free(a.v[i].key);
			continue;
		}
		need->keys[need->n] = a.v[i].key;
		need->sizes[need->n++] = a.v[i].size;
		need->bytes += a.v[i].size;
	}
	a.n = 0;
	rc = 0;
out:
	for (i = 0; i < a.n; i++)
		free(a.v[i].key);
	free(a.v);
	meta_backup_release(&b);
	if (rc) {
		int pre = need->pre_v031;

		import_need_release(need);
		need->pre_v031 = pre;
	}
	return rc;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp((const char *)a, ((const struct obj_entry *)b)->key);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct obj_entry *)a)->key, ((const struct obj_entry *)b)->key);
}

int import_verify(const struct import_need *need, const struct obj_listing *l, size_t *missing,
		  struct errmsg *err)
{
	struct obj_entry *sorted = NULL;
	size_t i, miss = 0;
	int rc = 0;

	*missing = 0;
	if (l->nobjs) {
		sorted = malloc(l->nobjs * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		memcpy(sorted, l->objs, l->nobjs * sizeof(*sorted));
		qsort(sorted, l->nobjs, sizeof(*sorted), cmp_entry);
	}
	for (i = 0; i < need->n; i++) {
		const struct obj_entry *e = sorted ? bsearch(need->keys[i], sorted, l->nobjs,
							      sizeof(*sorted), cmp_key) : NULL;

		if (e && e->size == need->sizes[i])
			continue;
		if (!miss++) {
			if (e)
				errmsg_set(err, -EAGAIN, "'%s' has %llu bytes, the meta says %llu",
					   need->keys[i], (unsigned long long)e->size,
					   (unsigned long long)need->sizes[i]);
			else
				errmsg_set(err, -EAGAIN, "'%s' is missing", need->keys[i]);
		}
	}
	free(sorted);
	if (miss) {
		*missing = miss;
		rc = errmsg_prefix(err, -EAGAIN, "%zu of %zu binlogs not on the server", miss,
				   need->n);
	}
	return rc;
}

/* rank in the write order: level files in main's order, the rest, the commit point last */
static int rank(const char *name, int pre_v031)
{
	static const char *const order[] = { "backup_meta.json", "collection_meta.json",
					     "partition_meta.json", "segment_meta.json" };
	int i;

	if (!strcmp(name, "full_meta.json"))
		return 100;
	if (pre_v031 && !strcmp(name, "backup_meta.json"))
		return 99;
	for (i = 0; i < 4; i++)
		if (!strcmp(name, order[i]))
			return i;
	return 10;	/* channel_cp_meta.json and the like: after the levels, before full */
}

void import_write_order(const struct import_meta *files, size_t nfiles, int pre_v031,
			size_t *order)
{
	size_t i, j;

	for (i = 0; i < nfiles; i++)
		order[i] = i;
	/* insertion sort: a handful of files */
	for (i = 1; i < nfiles; i++) {
		size_t v = order[i];
		int r = rank(files[v].name, pre_v031);

		for (j = i; j > 0 && rank(files[order[j - 1]].name, pre_v031) > r; j--)
			order[j] = order[j - 1];
		order[j] = v;
	}
}

int import_commit_sidecar(struct objstore *s, const char *prefix, const char *job,
			  const char *data, size_t len, struct errmsg *err)
{
	struct sidecar src, resv, out;
	struct buf b = BUF_INIT(8 * SIDECAR_MAX);	/* escaped "as_copied": checked below */
	struct errmsg e2 = { { 0 } };
	char *key = NULL;
	int rc, bad = 0;

	if (data && sidecar_parse(data, len, &src, &e2)) {
		bad = 1;
		data = NULL;
	}
	rc = backup_sidecar_get(s, prefix, &resv, err);
	if (rc == -ENOENT || (!rc && strcmp(resv.job, job)))
		rc = errmsg_set(err, -ESTALE, "the reservation of '%s' changed (sidecar job "
				"'%s', ours '%s'): deleted or taken over meanwhile", prefix,
				rc ? "" : resv.job, job);
	if (rc)
		goto out;
	sidecar_merge_copy(data ? &src : NULL, &resv, &out);
	rc = sidecar_write_copied(&out, data, data ? len : 0, &b);
	if (!rc && b.len > SIDECAR_MAX) {
		/* the bytes as copied do not fit beside the merge: the merge alone */
		buf_reset(&b);
		rc = sidecar_write(&out, &b);
	}
	if (!rc && asprintf(&key, "%s%s", prefix, SIDECAR_NAME) < 0)
		rc = -ENOMEM;
	if (rc)
		rc = errmsg_set(err, rc, "cannot encode the sidecar of '%s'", prefix);
	else
		rc = objstore_put(s, key, b.p, b.len, 0, err);
	if (!rc && bad)
		rc = errmsg_set(err, 1, "the copied %s does not parse (%s)", SIDECAR_NAME,
				errmsg_str(&e2, -EINVAL));
out:
	free(key);
	buf_release(&b);
	return rc;
}
