/*
 * import_mtimes.c - the file mtimes a copy tool set (utimens), recorded at the commit in a
 * hidden object (import_commit.h's IMPORT_MTIMES_NAME) so that a second `rsync -a` finds
 * nothing to do: its writer, its reader, and the table's cache of what was read
 * (import_table.mt; the namespace tells which backups hold a record: ns_attr.has_mtimes).
 * Locking: see import_internal.h.
 */
#include "import_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>

#include <jansson.h>

#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/format/meta.h"

/* The index of `rel` in mt (sorted), or -1. */
static ssize_t mtime_find_locked(const struct mtimes *mt, const char *rel)
{
	size_t lo = 0, hi = mt->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(rel, mt->rel[mid]);

		if (!c)
			return (ssize_t)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

void imp_mtimes_free(struct mtimes *mt)
{
	size_t i;

	for (i = 0; i < mt->n; i++)
		free(mt->rel[i]);
	free(mt->rel);
	free(mt->mtime);
	free(mt);
}

static int cmp_relmt(const void *a, const void *b)
{
	return strcmp(((const struct relmt *)a)->rel, ((const struct relmt *)b)->rel);
}

/* Build an mtimes entry from `v` (taken). */
struct mtimes *imp_mtimes_build(const char *name, struct relmt *v, size_t n)
{
	struct mtimes *mt = calloc(1, sizeof(*mt));
	size_t i;

	if (!mt)
		goto fail;
	snprintf(mt->name, sizeof(mt->name), "%s", name);
	if (n)
		qsort(v, n, sizeof(*v), cmp_relmt);
	mt->rel = calloc(n + 1, sizeof(*mt->rel));
	mt->mtime = calloc(n + 1, sizeof(*mt->mtime));
	if (!mt->rel || !mt->mtime)
		goto fail;
	for (i = 0; i < n; i++) {
		mt->rel[i] = v[i].rel;
		mt->mtime[i] = v[i].mtime;
	}
	mt->n = n;
	free(v);
	return mt;
fail:
	for (i = 0; i < n; i++)
		free(v[i].rel);
	free(v);
	if (mt) {
		free(mt->rel);
		free(mt->mtime);
		free(mt);
	}
	return NULL;
}

/* Read "<prefix>.mvbackupfs-mtimes.json" of a committed copy (absent: an empty entry).  The
 * record is used only while full_meta.json has the size it was written for. */
static struct mtimes *mtimes_load(struct import_table *t, const char *name)
{
	struct mvbfs *m = t->m;
	struct buf b = BUF_INIT(MTIMES_MAX);
	struct relmt *v = NULL;
	struct ns_attr fa;
	char *key = NULL, *fm = NULL;
	json_t *root = NULL, *files;
	size_t n = 0;
	int rc;

	if (asprintf(&key, "%s%s/%s", ns_root_prefix(m->ns), name, IMPORT_MTIMES_NAME) < 0)
		return NULL;
	rc = objstore_get_all(m->store, key, &b, NULL);
	free(key);
	if (rc == 0) {
		/*
		 * The record is written before the commit point.  When full_meta.json is not
		 * visible here yet (this mount's listing of the backup predates the commit), the
		 * record cannot be checked: try again next time instead of remembering "no
		 * mtimes" for good (a second rsync -a then saw the stored times and re-sent all).
		 */
		if (asprintf(&fm, "%s/meta/full_meta.json", name) < 0 ||
		    ns_getattr(m->ns, fm, &fa, NULL, NULL) != 0) {
			free(fm);
			buf_release(&b);
			return NULL;
		}
		root = json_loadb(b.p ? b.p : "", b.len, 0, NULL);
	}
	free(fm);
	buf_release(&b);
	if (root && json_integer_value(json_object_get(root, "full_meta_size")) ==
	    (json_int_t)fa.size && json_is_object(files = json_object_get(root, "files"))) {
		const char *k;
		json_t *val;

		v = calloc(json_object_size(files) + 1, sizeof(*v));
		json_object_foreach(files, k, val) {
			if (!v || !json_is_integer(val))
				continue;
			v[n].rel = strdup(k);
			v[n].mtime = json_integer_value(val);
			if (v[n].rel)
				n++;
		}
	} else if (rc != 0 && rc != -ENOENT) {
		json_decref(root);
		return NULL;	/* try again next time */
	}
	json_decref(root);
	if (!v)
		v = calloc(1, sizeof(*v));
	return v ? imp_mtimes_build(name, v, n) : NULL;
}

/* getattr of a committed file: the source's mtime, when the copy recorded one. */
void imp_committed_mtime(struct import_table *t, const char *name, const char *rel,
			    struct ns_attr *a)
{
	struct mtimes *mt;
	ssize_t at;

	pthread_mutex_lock(&t->lock);
	for (mt = t->mt; mt && strcmp(mt->name, name); mt = mt->next)
		;
	pthread_mutex_unlock(&t->lock);
	if (!mt) {
		struct mtimes *nm = mtimes_load(t, name);

		if (!nm)
			return;
		pthread_mutex_lock(&t->lock);
		for (mt = t->mt; mt && strcmp(mt->name, name); mt = mt->next)
			;
		if (!mt) {
			nm->next = t->mt;
			t->mt = mt = nm;
			nm = NULL;
		}
		pthread_mutex_unlock(&t->lock);
		if (nm)
			imp_mtimes_free(nm);
	}
	/* entries are never freed while the table lives except by import_cancel/_table_free */
	pthread_mutex_lock(&t->lock);
	for (mt = t->mt; mt && strcmp(mt->name, name); mt = mt->next)
		;
	if (mt && (at = mtime_find_locked(mt, rel)) >= 0)
		a->mtime = mt->mtime[at];
	pthread_mutex_unlock(&t->lock);
}

/* The record's head and one entry of it ("files" entries after the first need a comma). */
static int record_head(struct buf *b, uint64_t full_size)
{
	return buf_addf(b, "{\"format\":1,\"full_meta_size\":%llu,\"files\":{",
			(unsigned long long)full_size);
}

static int record_entry(struct buf *b, int first, const char *rel, int64_t mtime)
{
	int rc = first ? 0 : buf_adds(b, ",");

	if (!rc)
		rc = meta_json_string(b, rel);
	return rc ? rc : buf_addf(b, ":%lld", (long long)mtime);
}

int imp_committed_set_mtime(struct import_table *t, const char *name, const char *rel,
			    int64_t mtime)
{
	struct buf b = BUF_INIT(MTIMES_MAX);
	struct errmsg e = { { 0 } };
	struct mtimes *mt;
	ssize_t at;
	size_t i;
	char *key = NULL;
	int rc = 0, found = 0;

	pthread_mutex_lock(&t->mt_put);	/* the rewrites land in the order they were built */
	pthread_mutex_lock(&t->lock);
	for (mt = t->mt; mt && strcmp(mt->name, name); mt = mt->next)
		;
	if (mt && mt->late_until_ms > mono_ms() && (at = mtime_find_locked(mt, rel)) >= 0) {
		found = mt->mtime[at] != mtime;
		mt->mtime[at] = mtime;
	}
	if (found) {
		rc = record_head(&b, mt->full_size);
		for (i = 0; !rc && i < mt->n; i++)
			rc = record_entry(&b, !i, mt->rel[i], mt->mtime[i]);
		if (!rc)
			rc = buf_adds(&b, "}}");
	}
	pthread_mutex_unlock(&t->lock);
	if (found && !rc) {
		if (asprintf(&key, "%s%s/%s", ns_root_prefix(t->m->ns), name,
			     IMPORT_MTIMES_NAME) < 0)
			rc = -ENOMEM;
		else
			rc = objstore_put(t->m->store, key, b.p, b.len, 0, &e);
		if (rc)
			log_err("copy into '%s': cannot record the mtime of '%s': %s", name, rel,
				errmsg_str(&e, rc));
	}
	pthread_mutex_unlock(&t->mt_put);
	free(key);
	buf_release(&b);
	return rc;
}

/* Write the recorded mtimes (hidden object, before the meta so the commit carries them). */
int imp_write_mtimes(struct import_table *t, struct import *imp, uint64_t full_size,
			struct relmt *v, size_t n, size_t *merged, struct errmsg *err)
{
	struct buf b = BUF_INIT(MTIMES_MAX), old = BUF_INIT(MTIMES_MAX);
	json_t *root = NULL, *files, *val;
	const char *k;
	char *key = NULL;
	size_t i, j;
	int rc;

	*merged = 0;
	if (asprintf(&key, "%s%s", imp->prefix, IMPORT_MTIMES_NAME) < 0)
		return -ENOMEM;
	/*
	 * The record an earlier run of this copy wrote before it died in its commit: the files it
	 * names that this run did not send again (rsync skipped them, finding them stored with
	 * their size and mtime) keep their entries, or a second rsync -a would find them changed.
	 */
	rc = objstore_get_all(t->m->store, key, &old, NULL);
	if (rc == 0)
		root = json_loadb(old.p ? old.p : "", old.len, 0, NULL);
	buf_release(&old);
	rc = record_head(&b, full_size);
	for (i = 0; !rc && i < n; i++)
		rc = record_entry(&b, !i, v[i].rel, v[i].mtime);
	files = json_object_get(root, "files");
	json_object_foreach(json_is_object(files) ? files : NULL, k, val) {
		if (rc)
			break;
		if (!json_is_integer(val))
			continue;
		for (j = 0; j < n && strcmp(v[j].rel, k); j++)
			;
		if (j < n)
			continue;	/* sent again: this run's mtime */
		rc = record_entry(&b, !(i + *merged), k, (int64_t)json_integer_value(val));
		if (!rc)
			(*merged)++;
	}
	json_decref(root);
	if (!rc)
		rc = buf_adds(&b, "}}");
	if (!rc)
		rc = objstore_put(t->m->store, key, b.p, b.len, 0, err);
	free(key);
	buf_release(&b);
	return rc;
}
