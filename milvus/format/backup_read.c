/*
 * backup_read.c - fetch a backup's meta from an object store and decide complete/incomplete
 * (see backup_read.h for the rule; milvus-backup-format.md §1.7 is its source).
 */
#include "mvbackupfs/format/backup_read.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/base/buf.h"

static const char *const level_names[4] = {
	"backup_meta.json", "collection_meta.json", "partition_meta.json", "segment_meta.json",
};

void backup_read_release(struct backup_read *r)
{
	if (!r)
		return;
	meta_backup_release(&r->meta);
	memset(r, 0, sizeof(*r));
}

static void __attribute__((format(printf, 2, 3)))
set_reason(struct backup_read *r, const char *fmt, ...)
{
	va_list ap;

	r->complete = false;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

/* GET prefix+name into `b` (capped).  Returns 0, -ENOENT, -EFBIG, or another -errno. */
static int get_object(struct objstore *s, const char *prefix, const char *name, struct buf *b,
		      struct errmsg *err)
{
	char *key;
	int rc;

	if (asprintf(&key, "%s%s", prefix, name) < 0)
		return errmsg_set(err, -ENOMEM, "out of memory");
	rc = objstore_get_all(s, key, b, err);
	free(key);
	return rc;
}

static void read_sidecar(struct objstore *s, const char *prefix, struct backup_read *r,
			 struct errmsg *err, int *rc)
{
	struct buf b = BUF_INIT(SIDECAR_MAX);
	struct errmsg e = { { 0 } };

	*rc = get_object(s, prefix, SIDECAR_NAME, &b, err);
	if (*rc == -ENOENT) {
		*rc = 0;
	} else if (*rc == -EFBIG) {
		/* ours never grows that big: report it, do not fail the whole read */
		r->has_sidecar = true;
		snprintf(r->sidecar_error, sizeof(r->sidecar_error), "'%s' is larger than %d bytes",
			 SIDECAR_NAME, SIDECAR_MAX);
		*rc = 0;
	} else if (!*rc) {
		r->has_sidecar = true;
		if (sidecar_parse(b.p ? b.p : "", b.len, &r->sidecar, &e))
			snprintf(r->sidecar_error, sizeof(r->sidecar_error), "%.200s", e.msg);
	}
	buf_release(&b);
}

/* Did mvbackupfs itself take this backup?  Our snapshot job always writes full_meta.json, so
 * level files without it are a crash, never an old milvus-backup.  An "import" sidecar is no
 * evidence: copying a v0.3.0 backup in legitimately brings level files only. */
static bool our_snapshot(const struct backup_read *r)
{
	return r->has_sidecar && !r->sidecar_error[0] &&
	       (r->sidecar.kind == SIDECAR_KIND_MANUAL || r->sidecar.kind == SIDECAR_KIND_SCHEDULED);
}

/* v0.4.4+ layout: some segment's group directory is its own ID (§1.3, §1.4). */
static bool grouped_by_segment(const struct meta_backup *m)
{
	for (size_t i = 0; i < m->ncollections; i++)
		for (size_t j = 0; j < m->collections[i].npartitions; j++) {
			const struct meta_partition *p = &m->collections[i].partitions[j];

			for (size_t k = 0; k < p->nsegments; k++)
				if (p->segments[k].group_id &&
				    p->segments[k].group_id == p->segments[k].segment_id)
					return true;
		}
	return false;
}

static const struct obj_entry *find_entry(const struct obj_listing *l, const char *key)
{
	for (size_t i = 0; i < l->nobjs; i++)
		if (!strcmp(l->objs[i].key, key))
			return &l->objs[i];
	return NULL;
}

/* The listing entry of level file `i` (level_names) in `metadir`, or NULL. */
static const struct obj_entry *find_level(const struct obj_listing *l, const char *metadir,
					  int i)
{
	char key[1024];

	snprintf(key, sizeof(key), "%s%s", metadir, level_names[i]);
	return find_entry(l, key);
}

static int read_levels(struct objstore *s, const char *prefix, const char *metadir,
		       const struct obj_listing *l, struct backup_read *r, struct errmsg *err)
{
	struct buf b[4] = { BUF_INIT(BACKUP_META_MAX), BUF_INIT(BACKUP_META_MAX),
			    BUF_INIT(BACKUP_META_MAX), BUF_INIT(BACKUP_META_MAX) };
	struct errmsg e = { { 0 } };
	int64_t mtime = 0;
	char key[1024];
	int rc = 0;

	for (int i = 0; i < 4; i++) {
		const struct obj_entry *o;

		snprintf(key, sizeof(key), "%s%s", metadir, level_names[i]);
		o = find_entry(l, key);
		if (!o) {
			set_reason(r, "no meta/full_meta.json");
			goto out;
		}
		if (o->mtime > mtime)
			mtime = o->mtime;
		snprintf(key, sizeof(key), "meta/%s", level_names[i]);
		rc = get_object(s, prefix, key, &b[i], err);
		if (rc == -ENOENT || rc == -EFBIG) {
			/* vanished since the listing, or absurdly large */
			set_reason(r, "no meta/full_meta.json; cannot read 'meta/%s'%s",
				   level_names[i], rc == -EFBIG ? ": too large" : "");
			rc = 0;
			goto out;
		}
		if (rc)
			goto out;
	}
	if (meta_parse_levels(b[0].p, b[0].len, b[1].p, b[1].len, b[2].p, b[2].len, b[3].p,
			      b[3].len, &r->meta, &e)) {
		set_reason(r, "no meta/full_meta.json; level files do not parse: %s", e.msg);
		goto out;
	}
	/* §1.7: before v0.3.1 the level files were the whole meta; since then full_meta.json
	 * is written after them, so level files alone are a crash between the two */
	if (grouped_by_segment(&r->meta) || our_snapshot(r)) {
		meta_backup_release(&r->meta);
		set_reason(r, "no meta/full_meta.json (level files only, but the layout is one that "
			   "always writes full_meta.json last)");
		goto out;
	}
	r->complete = true;
	r->source = BACKUP_META_LEVELS;
	r->meta_mtime = mtime;
out:
	for (int i = 0; i < 4; i++)
		buf_release(&b[i]);
	return rc;
}

int backup_read(struct objstore *s, const char *prefix, struct backup_read *out,
		struct errmsg *err)
{
	struct obj_listing l = { 0 };
	struct buf b = BUF_INIT(BACKUP_META_MAX);
	const struct obj_entry *full;
	char *metadir = NULL, *fullkey = NULL;
	struct errmsg e = { { 0 } };
	int rc;

	memset(out, 0, sizeof(*out));
	if (asprintf(&metadir, "%smeta/", prefix) < 0 ||
	    asprintf(&fullkey, "%sfull_meta.json", metadir) < 0) {
		rc = errmsg_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	read_sidecar(s, prefix, out, err, &rc);
	if (rc)
		goto out;
	/* one listing tells which meta files exist and their LastModified */
	rc = objstore_list(s, metadir, "/", &l, err);
	if (rc == -ENOENT) {
		rc = 0;
	} else if (rc) {
		goto out;
	}

	full = find_entry(&l, fullkey);
	if (full && !find_level(&l, metadir, 0)) {
		/* §1.7: milvus-backup's Exist() is backup_meta.json, and a delete removes it right
		 * after full_meta.json.  A full_meta.json without it is a commit that landed on a
		 * backup being deleted (a snapshot killed between its commit and its check, issue
		 * 6): its binlogs may be gone, and milvus-backup would not see it either. */
		set_reason(out, "meta/full_meta.json without meta/backup_meta.json (a delete or a "
			   "snapshot was interrupted)");
		goto out;
	}
	if (full) {
		rc = objstore_get_all(s, fullkey, &b, err);
		if (rc == -EFBIG) {
			set_reason(out, "meta/full_meta.json is larger than 256 MiB");
			rc = 0;
			goto out;
		}
		if (rc == -ENOENT) {
			/* deleted since the listing (rmdir in progress elsewhere) */
			set_reason(out, "no meta/full_meta.json");
			rc = 0;
			goto out;
		}
		if (rc)
			goto out;
		if (meta_parse_full(b.p ? b.p : "", b.len, &out->meta, &e)) {
			set_reason(out, "meta/full_meta.json does not parse: %s", e.msg);
			goto out;
		}
		out->complete = true;
		out->source = BACKUP_META_FULL;
		out->meta_mtime = full->mtime;
		goto out;
	}
	rc = read_levels(s, prefix, metadir, &l, out, err);
out:
	buf_release(&b);
	obj_listing_release(&l);
	free(metadir);
	free(fullkey);
	if (rc)
		backup_read_release(out);
	return rc;
}
