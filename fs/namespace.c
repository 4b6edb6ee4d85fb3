/*
 * namespace.c - the mount's view of the backup root, built from listings and cached
 * (see namespace.h; spec §3, §5.1).
 *
 * This file holds the root (listing, the backup table, stray objects) and each backup's
 * lifecycle (reference, tree listing, commit check, meta resolution); a backup's tree is
 * ns_tree.c's, the summaries behind .info are ns_summary.c's.  Locking: see ns_internal.h.
 */
#include "ns_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mvbackupfs/format/backup_admin.h"
#include "mvbackupfs/format/backup_read.h"
#include "mvbackupfs/jobs/import_commit.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/format/meta.h"
#include "mvbackupfs/format/sidecar.h"
#include "mvbackupfs/base/clock.h"

/* The TYPE column (issue 9): what the sidecar says made the backup. */
const char *ns_type_of(int has_sidecar, enum sidecar_kind kind)
{
	if (!has_sidecar)
		return "external";
	switch (kind) {
	case SIDECAR_KIND_MANUAL:
		return "manual";
	case SIDECAR_KIND_SCHEDULED:
		return "auto";
	case SIDECAR_KIND_IMPORT:
		return "copied";
	default:
		return "external";
	}
}

/* ------------------------------------------------------------------ backups */

static struct backup *backup_new(const char *name)
{
	struct backup *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->name = strdup(name);
	if (!b->name) {
		free(b);
		return NULL;
	}
	b->tree.is_dir = 1;
	b->refs = 1;	/* the table's reference */
	pthread_mutex_init(&b->lock, NULL);
	return b;
}

static void backup_destroy(struct backup *b)
{
	node_release(&b->tree);
	ns_summary_release(&b->sum);
	free(b->view);
	pthread_mutex_destroy(&b->lock);
	free(b->name);
	free(b);
}

void backup_put(struct ns *n, struct backup *b)
{
	int last;

	pthread_mutex_lock(&n->lock);
	last = --b->refs == 0;
	pthread_mutex_unlock(&n->lock);
	if (last)
		backup_destroy(b);
}

/* A backup is immutable once its summary says complete. */
static int backup_committed(const struct backup *b)
{
	return b->resolved && b->sum.state == NS_STATE_COMPLETE;
}

/*
 * A committed backup's contents are immutable, its existence is not: another mount, or
 * milvus-backup, or a person with an S3 client may delete it (issue 6).  At most once per TTL
 * one HEAD of its commit object, meta/full_meta.json: gone or replaced (another size or
 * ETag) -> forget the tree and the summary, so the caller re-lists and re-resolves.  A failed
 * HEAD keeps what is cached (and is tried again at the next call).  Called with b->lock held.
 */
static void backup_revalidate(struct ns *n, struct backup *b)
{
	struct obj_entry e = { 0 };
	struct errmsg err;
	char *key;
	int rc;

	if (!backup_committed(b) || atomic_load(&b->pinned) ||
	    mono_ms() - b->checked_at_ms < n->cfg.ttl_ms)
		return;
	if (asprintf(&key, "%s%s/meta/full_meta.json", n->prefix, b->name) < 0)
		return;
	rc = objstore_head(n->store, key, &e, &err);
	if (rc == 0 && e.size == b->commit_size &&
	    (!e.etag[0] || !b->commit_etag[0] || !strcmp(e.etag, b->commit_etag))) {
		b->checked_at_ms = mono_ms();
	} else if (rc == 0 || rc == -ENOENT) {
		log_info("backup '%s': its meta/full_meta.json %s since it was read: reading it "
			 "again", b->name, rc ? "is gone" : "changed");
		b->tree_valid = 0;
		b->resolved = 0;
	}
	obj_entry_release(&e);
	free(key);
}

/* (Re)list the backup's objects if needed.  Called with b->lock held. */
static int backup_load_tree(struct ns *n, struct backup *b, struct errmsg *err)
{
	struct obj_listing l = { 0 };
	struct node fresh = { 0 };
	char *prefix;
	size_t plen, i;
	int rc;

	backup_revalidate(n, b);
	if (b->tree_valid && (atomic_load(&b->pinned) || backup_committed(b) ||
			      mono_ms() - b->tree_at_ms < n->cfg.ttl_ms))
		return 0;
	if (asprintf(&prefix, "%s%s/", n->prefix, b->name) < 0)
		return -ENOMEM;
	plen = strlen(prefix);
	rc = objstore_list(n->store, prefix, NULL, &l, err);
	if (rc)
		goto out;
	fresh.is_dir = 1;
	b->tree_objects = 0;
	b->tree_bytes = 0;
	b->has_full_meta = 0;
	b->has_mtimes = 0;
	b->commit_size = 0;
	b->commit_etag[0] = '\0';
	b->sidecar_sig[0] = '\0';
	for (i = 0; i < l.nobjs; i++) {
		const char *rel = l.objs[i].key + plen;

		if (strncmp(l.objs[i].key, prefix, plen) != 0)
			continue;
		if (!strcmp(rel, IMPORT_MTIMES_NAME)) {
			/* a copy's recorded mtimes (import_commit.h): never listed; noted, so
			 * that only such a backup's getattrs look them up (fs/import.c) */
			b->has_mtimes = 1;
			continue;
		}
		rc = tree_insert(&fresh, rel, &l.objs[i]);
		if (rc)
			goto out;
		if (fresh.mtime < l.objs[i].mtime)
			fresh.mtime = l.objs[i].mtime;
		b->tree_objects++;
		b->tree_bytes += l.objs[i].size;
		if (!strcmp(rel, "meta/full_meta.json")) {
			b->has_full_meta = 1;
			b->commit_size = l.objs[i].size;
			snprintf(b->commit_etag, sizeof(b->commit_etag), "%s", l.objs[i].etag);
		} else if (!strcmp(rel, SIDECAR_NAME)) {
			sidecar_sig(&l.objs[i], b->sidecar_sig);	/* ns_sidecar.c */
		}
	}
	tree_sort(&fresh);
	node_release(&b->tree);
	b->tree = fresh;
	memset(&fresh, 0, sizeof(fresh));
	b->tree_valid = 1;
	b->tree_at_ms = mono_ms();
	b->checked_at_ms = b->tree_at_ms;
out:
	node_release(&fresh);
	obj_listing_release(&l);
	free(prefix);
	return rc;
}

/* Read the meta and decide the state, if needed.  Called with b->lock held. */
int backup_resolve(struct ns *n, struct backup *b, struct errmsg *err)
{
	struct backup_read br = { 0 };
	struct ns_summary s = { 0 };
	char *prefix;
	int rc;

	backup_revalidate(n, b);
	if (b->resolved && (atomic_load(&b->pinned) || backup_committed(b) ||
			    mono_ms() - b->sum_at_ms < n->cfg.ttl_ms))
		return 0;
	rc = backup_load_tree(n, b, err);
	if (rc)
		return rc;
	if (asprintf(&prefix, "%s%s/", n->prefix, b->name) < 0)
		return -ENOMEM;
	rc = backup_read(n->store, prefix, &br, err);
	free(prefix);
	if (rc)
		return rc;
	s.name = strdup(b->name);
	if (!s.name) {
		rc = -ENOMEM;
		goto out;
	}
	if (br.complete) {
		s.state = NS_STATE_COMPLETE;
		s.reason = strdup("");
		rc = summary_from_meta(&s, &br.meta);
		if (rc)
			goto out;
		if (s.size <= 0)
			s.size = (int64_t)b->tree_bytes;
	} else {
		s.state = NS_STATE_INCOMPLETE;
		s.reason = strdup(br.reason);
		s.format = strdup("");
		s.milvus_version = strdup("");
		s.backup_id = strdup("");
		s.size = (int64_t)b->tree_bytes;
	}
	s.objects = b->tree_objects;
	if (br.has_sidecar)
		s.expires = br.sidecar.expires;
	s.type = ns_type_of(br.has_sidecar && !br.sidecar_error[0], br.sidecar.kind);
	/* milvus-backup-format.md §2.5: meta fields, then the meta object's mtime, then the name */
	if (s.created <= 0)
		s.created = br.meta_mtime;
	if (s.created <= 0)
		s.created = time_from_name(b->name);
	if (s.created <= 0 && br.has_sidecar)
		s.created = br.sidecar.created;
	if (!s.reason || !s.format || !s.milvus_version || !s.backup_id) {
		rc = -ENOMEM;
		goto out;
	}
	ns_summary_release(&b->sum);
	b->sum = s;
	memset(&s, 0, sizeof(s));
	b->resolved = 1;
	b->sum_at_ms = mono_ms();
	b->sidecar_at_ms = b->sum_at_ms;
out:
	ns_summary_release(&s);
	backup_read_release(&br);
	return rc;
}

/* ------------------------------------------------------------------ the root */

int ns_new(struct objstore *store, const char *root, const struct ns_config *cfg,
	   struct ns **out)
{
	struct ns *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->store = store;
	n->cfg = *cfg;
	if (n->cfg.resolve_parallel <= 0)
		n->cfg.resolve_parallel = 16;
	if (asprintf(&n->prefix, "%s%s", root, *root ? "/" : "") < 0) {
		free(n);
		return -ENOMEM;
	}
	n->cfg.milvus_root = NULL;
	if (cfg->milvus_root && !(n->milvus_root = strdup(cfg->milvus_root))) {
		free(n->prefix);
		free(n);
		return -ENOMEM;
	}
	pthread_mutex_init(&n->lock, NULL);
	pthread_mutex_init(&n->refresh, NULL);
	pthread_mutex_init(&n->listed, NULL);
	*out = n;
	return 0;
}

static void root_clear(struct ns *n)
{
	size_t i;

	for (i = 0; i < n->nfiles; i++)
		free(n->files[i].name);
	free(n->files);
	n->files = NULL;
	n->nfiles = 0;
}

void ns_free(struct ns *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nbackups; i++)
		backup_put(n, n->backups[i]);
	free(n->backups);
	root_clear(n);
	pthread_mutex_destroy(&n->lock);
	pthread_mutex_destroy(&n->refresh);
	pthread_mutex_destroy(&n->listed);
	free(n->prefix);
	free(n->milvus_root);
	free(n);
}

const char *ns_milvus_data(const struct ns *n, const char *name)
{
	char prefix[1024];
	int len;

	if (!n->milvus_root)
		return NULL;
	len = snprintf(prefix, sizeof(prefix), "%s%s/", n->prefix, name);
	if (len < 0 || (size_t)len >= sizeof(prefix))
		return NULL;	/* longer than any key: cannot be listed, so never a backup */
	return backup_prefix_milvus_data(n->milvus_root, prefix);
}

const char *ns_root_prefix(const struct ns *n)
{
	return n->prefix;
}

static struct backup *find_backup_locked(struct ns *n, const char *name)
{
	size_t lo = 0, hi = n->nbackups;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(n->backups[mid]->name, name);

		if (c == 0)
			return n->backups[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int backup_cmp(const void *a, const void *b)
{
	return strcmp((*(struct backup *const *)a)->name, (*(struct backup *const *)b)->name);
}

static int bsearch_name(struct backup **v, size_t nv, const char *name)
{
	size_t lo = 0, hi = nv;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v[mid]->name, name);

		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Re-list the root if the cached listing is older than the TTL (or `force`). */
/* A pinned backup (being removed by rm -rf) stays in the new table nb[0..*nnb) until
 * unpinned, listed or not.  Called with n->lock held; 0 or -ENOMEM. */
static int keep_pinned_locked(struct ns *n, struct backup ***nbp, size_t *nnb)
{
	struct backup **nb = realloc(*nbp, (*nnb + n->nbackups + 1) * sizeof(*nb));

	if (!nb)
		return -ENOMEM;
	*nbp = nb;
	for (size_t i = 0; i < n->nbackups; i++) {
		struct backup *old = n->backups[i];
		size_t k;

		if (!atomic_load(&old->pinned))
			continue;
		for (k = 0; k < *nnb && nb[k] != old; k++)
			;
		if (k < *nnb)
			continue;
		old->refs++;
		nb[(*nnb)++] = old;
	}
	return 0;
}

/* The stray objects of a root listing into nf (*nnf of them); a key equal to a backup's name
 * ("x" beside "x/") is left out: the directory wins.  0 or -ENOMEM. */
static int root_files(const struct obj_listing *l, size_t plen, struct backup **nb, size_t nnb,
		      struct rootfile *nf, size_t *nnf)
{
	for (size_t i = 0; i < l->nobjs; i++) {
		const char *name = l->objs[i].key + plen;

		if (!*name || name[0] == '.')
			continue;
		if (nnb && bsearch_name(nb, nnb, name))
			continue;
		nf[*nnf].name = strdup(name);
		if (!nf[*nnf].name)
			return -ENOMEM;
		nf[*nnf].size = l->objs[i].size;
		nf[*nnf].mtime = l->objs[i].mtime;
		(*nnf)++;
	}
	return 0;
}

int root_refresh(struct ns *n, int force, struct errmsg *err)
{
	struct obj_listing l = { 0 };
	struct backup **nb = NULL;
	struct rootfile *nf = NULL;
	size_t i, nnb = 0, nnf = 0, plen = strlen(n->prefix);
	uint64_t gen;
	int rc = 0, fresh;

	pthread_mutex_lock(&n->refresh);
	pthread_mutex_lock(&n->lock);
	fresh = n->root_valid && !force && mono_ms() - n->root_at_ms < n->cfg.ttl_ms;
	gen = n->root_gen;
	pthread_mutex_unlock(&n->lock);
	if (fresh)
		goto out;

	rc = objstore_list(n->store, n->prefix, "/", &l, err);
	if (rc)
		goto out;
	nb = calloc(l.nprefixes + 1, sizeof(*nb));
	nf = calloc(l.nobjs + 1, sizeof(*nf));
	if (!nb || !nf) {
		rc = -ENOMEM;
		goto out;
	}
	pthread_mutex_lock(&n->lock);
	for (i = 0; i < l.nprefixes; i++) {
		char *name = l.prefixes[i] + plen;
		size_t len = strlen(name);
		struct backup *b;

		if (len < 2 || name[len - 1] != '/')
			continue;
		name[len - 1] = '\0';
		if (strchr(name, '/') || name[0] == '.')
			continue;	/* not a name a backup can have; never shadow virtual names */
		if (ns_milvus_data(n, name))
			continue;	/* Milvus's own data (issue 6): never a backup */
		b = find_backup_locked(n, name);
		if (b)
			b->refs++;
		else
			b = backup_new(name);
		if (!b) {
			rc = -ENOMEM;
			break;
		}
		nb[nnb++] = b;
	}
	if (rc == 0)
		rc = keep_pinned_locked(n, &nb, &nnb);
	/* key order is not name order ("a-b/" sorts before "a/"): sort for lookups */
	qsort(nb, nnb, sizeof(*nb), backup_cmp);
	if (rc == 0)
		rc = root_files(&l, plen, nb, nnb, nf, &nnf);
	if (rc == 0) {
		struct backup **old = n->backups;
		size_t nold = n->nbackups;

		root_clear(n);
		n->backups = nb;
		n->nbackups = nnb;
		n->files = nf;
		n->nfiles = nnf;
		nb = NULL;
		nf = NULL;
		/* an invalidation during our listing makes it stale: use it once, re-list next time */
		n->root_valid = gen == n->root_gen;
		n->root_at_ms = mono_ms();
		n->root_mtime = time(NULL);
		pthread_mutex_unlock(&n->lock);
		for (i = 0; i < nold; i++)
			backup_put(n, old[i]);	/* the old table's references */
		free(old);
	} else {
		pthread_mutex_unlock(&n->lock);
	}
out:
	if (nb) {
		for (i = 0; i < nnb; i++)
			backup_put(n, nb[i]);
		free(nb);
	}
	if (nf) {
		for (i = 0; i < nnf; i++)
			free(nf[i].name);
		free(nf);
	}
	obj_listing_release(&l);
	pthread_mutex_unlock(&n->refresh);
	return rc;
}

/* A reference to backup `name` as the table has it now (no listing); NULL if absent. */
static struct backup *backup_ref(struct ns *n, const char *name)
{
	struct backup *b;

	pthread_mutex_lock(&n->lock);
	b = find_backup_locked(n, name);
	if (b)
		b->refs++;
	pthread_mutex_unlock(&n->lock);
	return b;
}

/* Take a reference to backup `name`, refreshing the root listing if stale.  NULL if absent. */
struct backup *backup_get(struct ns *n, const char *name, int *rc, struct errmsg *err)
{
	struct backup *b;

	*rc = root_refresh(n, 0, err);
	if (*rc)
		return NULL;
	b = backup_ref(n, name);
	if (!b)
		*rc = -ENOENT;
	return b;
}

int ns_list_root(struct ns *n, ns_fill_fn fill, void *ctx, struct errmsg *err)
{
	struct ns_attr a = { 0 };
	char **names = NULL;
	struct ns_attr *attrs = NULL;
	size_t i, bi = 0, fi = 0, count = 0;
	int rc;

	rc = root_refresh(n, 0, err);
	if (rc)
		return rc;
	/* copy out under the lock, call back without it (fill may block in the kernel) */
	pthread_mutex_lock(&n->lock);
	names = calloc(n->nbackups + n->nfiles + 1, sizeof(*names));
	attrs = calloc(n->nbackups + n->nfiles + 1, sizeof(*attrs));
	if (!names || !attrs) {
		pthread_mutex_unlock(&n->lock);
		rc = -ENOMEM;
		goto out;
	}
	while (bi < n->nbackups || fi < n->nfiles) {
		int take_backup = fi >= n->nfiles ||
			(bi < n->nbackups && strcmp(n->backups[bi]->name, n->files[fi].name) < 0);

		memset(&a, 0, sizeof(a));
		if (take_backup) {
			a.is_dir = 1;
			a.mtime = n->root_mtime;
			names[count] = strdup(n->backups[bi++]->name);
		} else {
			a.size = n->files[fi].size;
			a.mtime = n->files[fi].mtime;
			names[count] = strdup(n->files[fi++].name);
		}
		if (!names[count]) {
			rc = -ENOMEM;
			break;
		}
		attrs[count++] = a;
	}
	pthread_mutex_unlock(&n->lock);
	for (i = 0; rc == 0 && i < count; i++)
		if (fill(ctx, names[i], &attrs[i]))
			break;
out:
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
	free(attrs);
	return rc;
}

int ns_backup_exists(struct ns *n, const char *name, struct errmsg *err)
{
	int rc;
	struct backup *b = backup_get(n, name, &rc, err);

	if (!b)
		return rc ? rc : -ENOENT;
	backup_put(n, b);
	return 0;
}

int ns_is_backup(struct ns *n, const char *name, struct errmsg *err)
{
	return ns_backup_exists(n, name, err) == 0;
}

/* Split "name/rest" into the backup name (copied to `name`) and the rest. */
static int split_path(const char *path, char *name, size_t size, const char **rest)
{
	const char *slash = strchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : strlen(path);

	if (len == 0 || len >= size)
		return -ENOENT;
	memcpy(name, path, len);
	name[len] = '\0';
	*rest = slash ? slash + 1 : "";
	return 0;
}

int ns_getattr(struct ns *n, const char *path, struct ns_attr *attr, char **key_out,
	       struct errmsg *err)
{
	char name[256];
	const char *rest;
	const struct node *nd;
	struct backup *b;
	size_t i;
	int rc;

	memset(attr, 0, sizeof(*attr));
	if (key_out)
		*key_out = NULL;
	rc = split_path(path, name, sizeof(name), &rest);
	if (rc)
		return rc;
	b = backup_get(n, name, &rc, err);
	if (!b) {
		if (rc != -ENOENT || *rest)
			return rc;
		int found = 0;

		/* a stray object at the root? */
		pthread_mutex_lock(&n->lock);
		for (i = 0; i < n->nfiles; i++) {
			if (!strcmp(n->files[i].name, name)) {
				attr->size = n->files[i].size;
				attr->mtime = n->files[i].mtime;
				attr->committed = 1;
				found = 1;	/* decided under the lock: nfiles may change after it */
				break;
			}
		}
		pthread_mutex_unlock(&n->lock);
		if (!found)
			return -ENOENT;
		if (key_out && asprintf(key_out, "%s%s", n->prefix, name) < 0)
			return -ENOMEM;
		return 0;
	}
	pthread_mutex_lock(&b->lock);
	if (!*rest) {
		/* the backup directory itself: no request needed (spec §8: ls -l makes none) */
		attr->is_dir = 1;
		attr->mtime = b->tree_valid && b->tree.mtime ? b->tree.mtime : n->root_mtime;
		attr->committed = 1;
		goto unlock;
	}
	rc = backup_load_tree(n, b, err);
	if (rc)
		goto unlock;
	if (b->has_full_meta && !b->resolved) {
		/* entering a backup resolves it once, so its tree is then cached for good */
		struct errmsg e2 = { { 0 } };	/* ENOMEM paths set no sentence */
		int rc2 = backup_resolve(n, b, &e2);

		if (rc2)
			log_warn("cannot read backup '%s': %s", b->name, errmsg_str(&e2, rc2));
	}
	nd = tree_find(&b->tree, rest);
	if (!nd) {
		rc = -ENOENT;
		goto unlock;
	}
	attr->is_dir = nd->is_dir;
	attr->size = nd->size;
	attr->mtime = nd->mtime;
	attr->committed = 1;
	attr->has_mtimes = b->has_mtimes;
	if (!nd->is_dir && !strcmp(rest, SIDECAR_NAME) && backup_sidecar_view(n, b))
		attr->size = b->view_len;	/* a copy's sidecar as it arrived (sidecar_view.c) */
	if (!nd->is_dir && key_out && asprintf(key_out, "%s%s/%s", n->prefix, name, rest) < 0)
		rc = -ENOMEM;
unlock:
	pthread_mutex_unlock(&b->lock);
	backup_put(n, b);
	return rc;
}

int ns_sidecar_view(struct ns *n, const char *name, struct buf *out)
{
	struct errmsg e = { { 0 } };
	struct backup *b;
	int rc;

	b = backup_get(n, name, &rc, &e);
	if (!b)
		return 0;
	pthread_mutex_lock(&b->lock);
	rc = backup_load_tree(n, b, &e) == 0 && b->tree_valid;
	if (rc) {
		backup_sidecar_refresh(n, b);	/* another mount's .expires: at most a HEAD per TTL */
		rc = backup_sidecar_view(n, b);
	}
	if (rc == 1 && b->view_len && buf_add(out, b->view, b->view_len))
		rc = 0;	/* out of memory: the stored sidecar is shown */
	pthread_mutex_unlock(&b->lock);
	backup_put(n, b);
	return rc;
}

int ns_list_dir(struct ns *n, const char *path, ns_fill_fn fill, void *ctx,
		struct errmsg *err)
{
	char name[256];
	const char *rest;
	const struct node *nd;
	struct backup *b;
	char **names = NULL;
	struct ns_attr *attrs = NULL;
	size_t i, count = 0;
	int rc;

	rc = split_path(path, name, sizeof(name), &rest);
	if (rc)
		return rc;
	b = backup_get(n, name, &rc, err);
	if (!b)
		return rc;
	pthread_mutex_lock(&b->lock);
	rc = backup_load_tree(n, b, err);
	if (rc)
		goto unlock;
	nd = tree_find(&b->tree, rest);
	if (!nd) {
		rc = -ENOENT;
		goto unlock;
	}
	if (!nd->is_dir) {
		rc = -ENOTDIR;
		goto unlock;
	}
	names = calloc(nd->nkids + 1, sizeof(*names));
	attrs = calloc(nd->nkids + 1, sizeof(*attrs));
	if (!names || !attrs) {
		rc = -ENOMEM;
		goto unlock;
	}
	for (i = 0; i < nd->nkids; i++) {
		names[i] = strdup(nd->kids[i].name);
		if (!names[i]) {
			rc = -ENOMEM;
			break;
		}
		attrs[i].is_dir = nd->kids[i].is_dir;
		attrs[i].size = nd->kids[i].size;
		attrs[i].mtime = nd->kids[i].mtime;
		attrs[i].committed = 1;
		count++;
	}
unlock:
	pthread_mutex_unlock(&b->lock);
	backup_put(n, b);
	for (i = 0; rc == 0 && i < count; i++)
		if (fill(ctx, names[i], &attrs[i]))
			break;
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
	free(attrs);
	return rc;
}

void ns_pin(struct ns *n, const char *name)
{
	struct backup *b = backup_ref(n, name);

	if (!b)
		return;
	atomic_store(&b->pinned, 1);
	backup_put(n, b);
}

void ns_root_stale(struct ns *n)
{
	pthread_mutex_lock(&n->lock);
	n->root_valid = 0;	/* re-listed at the next use; a listing in flight still counts */
	pthread_mutex_unlock(&n->lock);
}

uint64_t ns_generation(struct ns *n)
{
	uint64_t g;

	pthread_mutex_lock(&n->lock);
	g = n->root_gen;
	pthread_mutex_unlock(&n->lock);
	return g;
}

void ns_invalidate(struct ns *n, const char *name)
{
	struct backup **v;
	size_t i, nv = 0;

	pthread_mutex_lock(&n->lock);
	n->root_valid = 0;
	n->root_gen++;
	v = calloc(n->nbackups + 1, sizeof(*v));
	for (i = 0; v && i < n->nbackups; i++) {
		if (name && strcmp(n->backups[i]->name, name))
			continue;
		v[nv] = n->backups[i];
		v[nv++]->refs++;
	}
	pthread_mutex_unlock(&n->lock);
	/* b->lock is never taken under n->lock: flip the flags after letting go of it */
	for (i = 0; i < nv; i++) {
		pthread_mutex_lock(&v[i]->lock);
		v[i]->tree_valid = 0;
		v[i]->resolved = 0;
		atomic_store(&v[i]->pinned, 0);
		pthread_mutex_unlock(&v[i]->lock);
		backup_put(n, v[i]);
	}
	free(v);
}
