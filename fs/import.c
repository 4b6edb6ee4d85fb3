/*
 * import.c - copying a backup into the mount (import.h, spec §5.3, issue 11).
 *
 * Each backup being copied in is a `struct import` in the mount's table: the directories the
 * copy tool made and the files it wrote, by path.  A data file streams to its object through
 * an upload (upload.h) from its first write; at the last close the upload goes on in the
 * background (write-behind, bounded by the budget).  The meta files and the sidecar are held
 * in memory.  A committer thread finishes what the uploads report and, once an import has
 * been quiet (no file open, no upload running, nothing changed for IMPORT_QUIET_MS), asks
 * import_commit.h whether the backup is whole: it verifies every binlog by one listing, then
 * writes the held files, full_meta.json last.  Until then storage holds data without a
 * commit: every reader, this mount after a restart included, sees `incomplete`.
 *
 * Locking: t->lock protects the import list, every import's fields and every file's fields
 * except the content; f->wlock serialises the content of one file (writes, truncate, the
 * close that hands it to the upload), and is never taken while holding t->lock... except
 * never: writes take f->wlock alone, then t->lock briefly for the counters.
 *
 * Size: about 1700 lines, over the tree's ~800-line rule, because every part here (the
 * table, the file handles, renames, the mtimes record, the committer) works under the one
 * t->lock on the same private structs.  It was written beside the layer refactor; the split
 * planned is import.c (table, reservation, status, committer), import_file.c (handles,
 * write, rename, unlink) and import_mtimes.c behind a private import_internal.h.
 */
#include "mvbackupfs/fs/import.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/rand.h"
#include "mvbackupfs/format/backup_admin.h"
#include "mvbackupfs/jobs/import_commit.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/format/meta.h"
#include "mvbfs.h"
#include "mvbackupfs/format/sidecar.h"
#include "mvbackupfs/storage/upload.h"
#include "mvbackupfs/fs/vfiles.h"

#define IMPORT_QUIET_MS	1500		/* no activity this long before a commit is tried */
#define IMPORT_SETTLE_MS 100		/* ... once the backup looks whole (quiet_needed_locked) */
#define HELD_MAX	(256u << 20)	/* one held meta file (as the read side's meta limit) */
#define MTIMES_MAX	(64u << 20)

enum fstate { F_OPEN, F_UPLOADING, F_DONE, F_FAILED, F_HELD };
enum istate { I_IMPORTING, I_COMMITTING };

struct ifile {
	char *path;		/* below the backup: "meta/full_meta.json" */
	char *key_rel;		/* the object it becomes, below the backup's prefix */
	int held;		/* meta file or sidecar: kept in `data`, written at the commit */
	pthread_mutex_t wlock;	/* serialises data, up and size changes of the content */
	struct buf data;
	struct upload *up;
	uint64_t size;
	int64_t mtime;		/* from utimens, 0 = none */
	enum fstate state;
	int opens;		/* open handles */
	int refs;		/* the table's (while listed) + one per handle */
	int listed;
	char err[512];
	struct import *imp;
	struct ifile *next;
};

struct import {
	char name[256];
	char *prefix;		/* "<root><name>/" */
	char job[64];		/* the reservation's job id in the sidecar */
	enum istate state;
	struct ifile *files;
	char **dirs;		/* directories made, below the backup */
	size_t ndirs, cap_dirs;
	uint64_t files_received, bytes_received;
	uint64_t expected_files, expected_bytes;	/* from the meta, once it parsed */
	int have_plan;
	int64_t started;	/* Unix s */
	int64_t activity_ms;	/* last change (monotonic) */
	int dirty;		/* changed since the last commit attempt */
	char reason[768];	/* why it has not committed yet (or the failure) */
	int failed;		/* an upload failed: .status `failed` until the file is rewritten */
	int refs;		/* the table's (while listed) + one per open handle */
	struct import *next;
};

struct mtimes {			/* recorded mtimes of a committed copy */
	char name[256];
	size_t n;
	char **rel;
	int64_t *mtime;		/* sorted by rel */
	struct mtimes *next;
};

struct import_handle {
	struct import_table *t;
	struct ifile *f;
};

#define UNLINKED_RING	64
#define UNLINKED_MS	30000	/* as fsops.c's PENDING_MS */

struct import_table {
	struct mvbfs *m;
	struct {			/* recent unlinks inside complete backups (import_unlink_again) */
		char *path;
		int64_t at_ms;
	} unlinked[UNLINKED_RING];
	unsigned next_unlinked;
	struct upload_pool *pool;
	pthread_mutex_t lock;	/* protects list, mt, stop and everything in them (see top) */
	pthread_cond_t cv;	/* broadcast on every state change (commit done, stop) */
	struct import *list;
	struct mtimes *mt;
	int stop;
	pthread_t committer;
	int committer_ok;
};

/* "/NAME/rest" -> name, rest ("" for "/NAME").  0 or -ENOENT (root, virtual, too long). */
static int split(const char *path, char name[256], const char **rest)
{
	const char *p = path + 1, *slash = strchr(p, '/');
	size_t len = slash ? (size_t)(slash - p) : strlen(p);

	if (len == 0 || len >= 256 || p[0] == '.')
		return -ENOENT;
	memcpy(name, p, len);
	name[len] = '\0';
	*rest = slash ? slash + 1 : "";
	return 0;
}

/* rsync writes "dir/.NAME.XXXXXX" and renames it to "dir/NAME": upload under the final name
 * from the start, so the rename costs nothing (a backup never holds dot names). */
static char *key_for(const char *rel)
{
	const char *base = strrchr(rel, '/');
	size_t dlen, blen, i;
	char *k;

	base = base ? base + 1 : rel;
	dlen = (size_t)(base - rel);
	blen = strlen(base);
	if (base[0] == '.' && blen >= 9 && base[blen - 7] == '.') {
		for (i = blen - 6; i < blen; i++)
			if (!((base[i] >= 'a' && base[i] <= 'z') || (base[i] >= 'A' && base[i] <= 'Z') ||
			      (base[i] >= '0' && base[i] <= '9')))
				break;
		if (i == blen) {
			k = malloc(dlen + blen);
			if (!k)
				return NULL;
			memcpy(k, rel, dlen);
			memcpy(k + dlen, base + 1, blen - 8);
			k[dlen + blen - 8] = '\0';
			return k;
		}
	}
	return strdup(rel);
}

/* Held back until the commit: meta/<x>.json and the sidecar. */
static int is_held(const char *key_rel)
{
	size_t n = strlen(key_rel);

	if (!strcmp(key_rel, SIDECAR_NAME))
		return 1;
	return !strncmp(key_rel, "meta/", 5) && !strchr(key_rel + 5, '/') && n > 10 &&
	       !strcmp(key_rel + n - 5, ".json");
}

static struct import *find_locked(struct import_table *t, const char *name)
{
	struct import *i;

	for (i = t->list; i; i = i->next)
		if (!strcmp(i->name, name))
			return i;
	return NULL;
}

static struct ifile *file_find_locked(struct import *imp, const char *rel)
{
	struct ifile *f;

	for (f = imp->files; f; f = f->next)
		if (!strcmp(f->path, rel))
			return f;
	return NULL;
}

static struct ifile *file_by_key_locked(struct import *imp, const char *key_rel)
{
	struct ifile *f;

	for (f = imp->files; f; f = f->next)
		if (!strcmp(f->key_rel, key_rel))
			return f;
	return NULL;
}

static void file_put(struct ifile *f)
{
	if (--f->refs > 0)
		return;
	if (f->up)
		upload_abort(f->up);
	buf_release(&f->data);
	pthread_mutex_destroy(&f->wlock);
	free(f->path);
	free(f->key_rel);
	free(f);
}

/* Take f out of its import's list (t->lock held). */
static void file_unlist_locked(struct ifile *f)
{
	struct ifile **pp;

	if (!f->listed)
		return;
	for (pp = &f->imp->files; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	f->listed = 0;
	file_put(f);
}

static void import_put(struct import *imp)
{
	size_t i;

	if (--imp->refs > 0)
		return;
	for (i = 0; i < imp->ndirs; i++)
		free(imp->dirs[i]);
	free(imp->dirs);
	free(imp->prefix);
	free(imp);
}

/* The import has left the table (t->lock held): drop its files (aborting their uploads; files still open
 * stay until their handles are released, as does the import itself). */
static void import_free(struct import *imp)
{
	while (imp->files) {
		struct ifile *f = imp->files;

		imp->files = f->next;
		f->listed = 0;
		file_put(f);
	}
	import_put(imp);
}

static void touch_locked(struct import *imp)
{
	imp->activity_ms = mono_ms();
	imp->dirty = 1;
}

static int dir_known_locked(struct import *imp, const char *rel)
{
	size_t i, len = strlen(rel);
	struct ifile *f;

	for (i = 0; i < imp->ndirs; i++)
		if (!strcmp(imp->dirs[i], rel))
			return 1;
	for (f = imp->files; f; f = f->next)
		if (!strncmp(f->path, rel, len) && f->path[len] == '/')
			return 1;
	return 0;
}

static struct import *import_new_locked(struct import_table *t, const char *name,
					const char *job)
{
	struct import *imp = calloc(1, sizeof(*imp));

	if (!imp)
		return NULL;
	snprintf(imp->name, sizeof(imp->name), "%s", name);
	snprintf(imp->job, sizeof(imp->job), "%s", job);
	if (asprintf(&imp->prefix, "%s%s/", ns_root_prefix(t->m->ns), name) < 0) {
		free(imp);
		return NULL;
	}
	imp->started = time(NULL);
	imp->activity_ms = mono_ms();
	imp->refs = 1;
	imp->next = t->list;
	t->list = imp;
	return imp;
}

/*
 * The import of NAME for a write, adopting an incomplete backup (an interrupted copy being
 * run again: spec §5.3 "copying again into it continues").  Waits while a commit runs.
 * Called with t->lock held; drops it for storage reads.  0 and *out, or -errno: EROFS for a
 * complete backup, ENOENT for none, EBUSY while a snapshot writes it.
 */
static int import_for_write_locked(struct import_table *t, const char *name, struct import **out)
{
	struct mvbfs *m = t->m;
	struct ns_summary s = { 0 };
	struct errmsg e = { { 0 } };
	struct import *imp;
	char job[64] = "", *prefix = NULL;
	int rc;

	for (;;) {
		imp = find_locked(t, name);
		if (imp && imp->state == I_COMMITTING) {
			pthread_cond_wait(&t->cv, &t->lock);
			continue;
		}
		if (imp) {
			*out = imp;
			return 0;
		}
		break;
	}
	pthread_mutex_unlock(&t->lock);
	if (jobtable_running(m->jobs, name, JT_SNAPSHOT))
		rc = -EBUSY;
	else if (jobtable_deleting(m->jobs, name))
		rc = -ENOENT;
	else
		rc = ns_backup_summary(m->ns, name, &s, &e);
	if (!rc && s.state == NS_STATE_COMPLETE)
		rc = -EROFS;
	if (!rc) {
		prefix = NULL;
		if (asprintf(&prefix, "%s%s/", ns_root_prefix(m->ns), name) < 0)
			rc = -ENOMEM;
		else
			rc = backup_sidecar_job(m->store, prefix, job, &e);
		free(prefix);
	}
	ns_summary_release(&s);
	pthread_mutex_lock(&t->lock);
	if (rc) {
		if (rc != -ENOENT && rc != -EROFS && rc != -EBUSY)
			log_err("cannot write into '%s': %s", name, errmsg_str(&e, rc));
		return rc;
	}
	imp = find_locked(t, name);	/* another thread adopted it meanwhile */
	if (!imp) {
		imp = import_new_locked(t, name, job);
		if (!imp)
			return -ENOMEM;
		log_info("copy into incomplete backup '%s': continuing it", name);
	}
	if (imp->state == I_COMMITTING)
		return import_for_write_locked(t, name, out);
	*out = imp;
	return 0;
}

/* ---- mkdir, getattr, readdir ---------------------------------------------------------- */

int import_mkdir_root(struct import_table *t, const char *name)
{
	struct mvbfs *m = t->m;
	struct errmsg e = { { 0 } };
	struct sidecar sc = { 0 };
	unsigned char rnd[4] = { 0 };
	int rc;

	if (!backup_name_valid(name)) {
		log_err("cannot create '%s': a backup name is a letter or '_' followed by up to "
			"127 letters, digits or '_'", name);
		return -EINVAL;
	}
	if (jobtable_running(m->jobs, name, JT_SNAPSHOT) || jobtable_deleting(m->jobs, name))
		return -EEXIST;
	pthread_mutex_lock(&t->lock);
	rc = find_locked(t, name) ? -EEXIST : 0;
	pthread_mutex_unlock(&t->lock);
	if (rc)
		return rc;
	sc.format = SIDECAR_FORMAT;
	snprintf(sc.created_by, sizeof(sc.created_by), "%s", sidecar_creator());
	sc.created = time(NULL);
	sc.kind = SIDECAR_KIND_IMPORT;
	if (rand_bytes(rnd, sizeof(rnd)) != 0)
		memset(rnd, 0, sizeof(rnd));
	snprintf(sc.job, sizeof(sc.job), "import-%lld-%02x%02x%02x%02x", (long long)sc.created,
		 rnd[0], rnd[1], rnd[2], rnd[3]);
	rc = backup_reserve(m->store, ns_root_prefix(m->ns), name, &sc, &e);
	if (rc) {
		if (rc != -EEXIST)
			log_err("cannot create '%s': %s", name, errmsg_str(&e, rc));
		return rc;
	}
	pthread_mutex_lock(&t->lock);
	rc = find_locked(t, name) || import_new_locked(t, name, sc.job) ? 0 : -ENOMEM;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->lock);
	ns_invalidate(m->ns, name);
	if (!rc)
		log_info("importing backup '%s' (%s)", name, sc.job);
	return rc;
}

int import_mkdir(struct import_table *t, const char *path)
{
	char name[256];
	const char *rel;
	struct import *imp;
	struct ns_attr a;
	char *d;
	int rc;

	if (split(path, name, &rel) || !*rel)
		return IMPORT_PASS;
	pthread_mutex_lock(&t->lock);
	rc = import_for_write_locked(t, name, &imp);
	if (rc)
		goto out;
	if (dir_known_locked(imp, rel) || file_find_locked(imp, rel)) {
		rc = -EEXIST;
		goto out;
	}
	pthread_mutex_unlock(&t->lock);
	rc = ns_getattr(t->m->ns, path + 1, &a, NULL, NULL);
	pthread_mutex_lock(&t->lock);
	if (rc == 0) {
		rc = -EEXIST;
		goto out;
	}
	if (rc != -ENOENT)
		goto out;
	imp = find_locked(t, name);
	if (!imp) {
		rc = -ENOENT;
		goto out;
	}
	d = strdup(rel);
	if (!d || ARRAY_GROW(imp->dirs, imp->ndirs, imp->cap_dirs, 8)) {
		free(d);
		rc = -ENOMEM;
		goto out;
	}
	imp->dirs[imp->ndirs++] = d;
	touch_locked(imp);
	rc = 0;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static int mtime_lookup_locked(struct mtimes *mt, const char *rel, int64_t *out)
{
	size_t lo = 0, hi = mt->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(rel, mt->rel[mid]);

		if (!c) {
			*out = mt->mtime[mid];
			return 1;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static void mtimes_free(struct mtimes *mt)
{
	size_t i;

	for (i = 0; i < mt->n; i++)
		free(mt->rel[i]);
	free(mt->rel);
	free(mt->mtime);
	free(mt);
}

struct relmt {
	char *rel;
	int64_t mtime;
};

static int cmp_relmt(const void *a, const void *b)
{
	return strcmp(((const struct relmt *)a)->rel, ((const struct relmt *)b)->rel);
}

/* Build an mtimes entry from `v` (taken). */
static struct mtimes *mtimes_build(const char *name, struct relmt *v, size_t n)
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
	return v ? mtimes_build(name, v, n) : NULL;
}

/* getattr of a committed file: the source's mtime, when the copy recorded one. */
static void committed_mtime(struct import_table *t, const char *name, const char *rel,
			    struct ns_attr *a)
{
	struct mtimes *mt;

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
			mtimes_free(nm);
	}
	/* entries are never freed while the table lives except by import_cancel/_table_free */
	pthread_mutex_lock(&t->lock);
	for (mt = t->mt; mt && strcmp(mt->name, name); mt = mt->next)
		;
	if (mt)
		mtime_lookup_locked(mt, rel, &a->mtime);
	pthread_mutex_unlock(&t->lock);
}

int import_getattr(struct import_table *t, const char *path, struct ns_attr *a)
{
	char name[256];
	const char *rel;
	struct import *imp;
	struct ifile *f;
	int rc = IMPORT_PASS;

	if (split(path, name, &rel))
		return IMPORT_PASS;
	memset(a, 0, sizeof(*a));
	pthread_mutex_lock(&t->lock);
	imp = find_locked(t, name);
	if (imp) {
		if (!*rel || dir_known_locked(imp, rel)) {
			a->is_dir = 1;
			a->mtime = time(NULL);
			rc = 0;
		} else if ((f = file_find_locked(imp, rel))) {
			a->size = f->held ? f->data.len : f->size;
			a->mtime = f->mtime ? f->mtime : time(NULL);
			rc = 0;
		} else if (!strcmp(rel, SIDECAR_NAME)) {
			rc = -ENOENT;	/* the reservation: invisible until a copied one arrives */
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (rc != IMPORT_PASS || imp || !*rel)
		return rc;
	/* a committed copy: the file mtimes the copy tool set (rsync's quick check) */
	rc = ns_getattr(t->m->ns, path + 1, a, NULL, NULL);
	if (rc)
		return rc;
	if (a->committed && !a->is_dir)
		committed_mtime(t, name, rel, a);
	return 0;
}

int import_readdir(struct import_table *t, const char *path, char *const *seen, size_t nseen,
		   import_fill_fn fill, void *ctx)
{
	char name[256], **names = NULL;
	struct ns_attr *attrs = NULL;
	const char *rel;
	struct import *imp;
	struct ifile *f;
	size_t n = 0, cap = 0, i, j, rlen;
	int rc = 0;

	if (split(path, name, &rel))
		return 0;
	rlen = strlen(rel);
	pthread_mutex_lock(&t->lock);
	imp = find_locked(t, name);
	for (f = imp ? imp->files : NULL; f; f = f->next) {
		const char *p = f->path, *child, *slash;
		struct ns_attr a = { 0 };

		if (rlen && (strncmp(p, rel, rlen) || p[rlen] != '/'))
			continue;
		child = rlen ? p + rlen + 1 : p;
		slash = strchr(child, '/');
		a.is_dir = slash != NULL;
		a.size = f->held ? f->data.len : f->size;
		a.mtime = f->mtime ? f->mtime : time(NULL);
		if (ARRAY_GROW(names, n, cap, 16) || !(attrs = realloc(attrs, cap * sizeof(*attrs))))
			break;
		names[n] = slash ? strndup(child, (size_t)(slash - child)) : strdup(child);
		attrs[n] = a;
		if (names[n])
			n++;
	}
	for (i = 0; imp && i < imp->ndirs; i++) {
		const char *p = imp->dirs[i], *child;
		struct ns_attr a = { .is_dir = 1 };

		if (rlen && (strncmp(p, rel, rlen) || p[rlen] != '/'))
			continue;
		child = rlen ? p + rlen + 1 : p;
		if (strchr(child, '/') || ARRAY_GROW(names, n, cap, 16) ||
		    !(attrs = realloc(attrs, cap * sizeof(*attrs))))
			continue;
		a.mtime = time(NULL);
		names[n] = strdup(child);
		attrs[n] = a;
		if (names[n])
			n++;
	}
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < n && !rc; i++) {
		int dup = 0;

		for (j = 0; j < nseen && !dup; j++)
			dup = !strcmp(seen[j], names[i]);
		for (j = 0; j < i && !dup; j++)
			dup = !strcmp(names[j], names[i]);
		if (!dup)
			rc = fill(ctx, names[i], &attrs[i]);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(attrs);
	return 0;
}

/* ---- files ----------------------------------------------------------------------------- */

/* Start (or restart, O_TRUNC) file `rel` of `imp`.  t->lock held. */
static int file_start_locked(struct import_table *t, struct import *imp, const char *rel,
			     struct ifile **out)
{
	struct ifile *f, *old;
	char *key;
	int rc;

	key = key_for(rel);
	if (!key)
		return -ENOMEM;
	/* an earlier version of this path, or another file bound for the same object */
	while ((old = file_find_locked(imp, rel)) || (old = file_by_key_locked(imp, key))) {
		if (old->opens > 0) {
			free(key);
			log_err("cannot write '%s/%s': it is open for writing already", imp->name, rel);
			return -EBUSY;
		}
		if (old->state == F_UPLOADING) {
			struct upload *up = old->up;

			old->refs++;
			pthread_mutex_unlock(&t->lock);
			upload_wait(up, NULL);
			pthread_mutex_lock(&t->lock);
			if (old->up == up)
				old->state = F_DONE;	/* superseded: the new upload wins */
			file_put(old);
			continue;
		}
		if (old->state == F_FAILED && imp->failed)
			imp->failed--;
		file_unlist_locked(old);
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		free(key);
		return -ENOMEM;
	}
	f->path = strdup(rel);
	f->key_rel = key;
	f->imp = imp;
	pthread_mutex_init(&f->wlock, NULL);
	buf_init(&f->data, HELD_MAX);
	f->held = is_held(key);
	f->state = f->held ? F_HELD : F_OPEN;
	f->refs = 1;
	f->listed = 1;
	if (!f->path) {
		file_put(f);
		return -ENOMEM;
	}
	if (!f->held) {
		char *full;

		if (asprintf(&full, "%s%s", imp->prefix, key) < 0) {
			file_put(f);
			return -ENOMEM;
		}
		rc = upload_open(t->pool, full, &f->up);
		free(full);
		if (rc) {
			file_put(f);
			return rc;
		}
	}
	f->next = imp->files;
	imp->files = f;
	touch_locked(imp);
	*out = f;
	return 0;
}

static int handle_new(struct import_table *t, struct ifile *f, struct import_handle **h)
{
	*h = calloc(1, sizeof(**h));
	if (!*h)
		return -ENOMEM;
	(*h)->t = t;
	(*h)->f = f;
	f->refs++;
	f->opens++;
	f->imp->refs++;
	return 0;
}

static int open_common(struct import_table *t, const char *path, int create,
		       struct import_handle **h)
{
	char name[256];
	const char *rel;
	struct import *imp;
	struct ifile *f;
	int rc;

	*h = NULL;
	if (split(path, name, &rel) || !*rel)
		return -EROFS;	/* the root, a stray object at the root, virtual names */
	if (!strcmp(rel, IMPORT_MTIMES_NAME) || !strcmp(rel, ".info") ||
	    !strcmp(rel, ".status") || !strcmp(rel, ".info.json"))
		return -EROFS;
	pthread_mutex_lock(&t->lock);
	rc = import_for_write_locked(t, name, &imp);
	if (!rc)
		rc = file_start_locked(t, imp, rel, &f);
	if (!rc)
		rc = handle_new(t, f, h);
	pthread_mutex_unlock(&t->lock);
	(void)create;
	return rc;
}

int import_create(struct import_table *t, const char *path, int flags,
		  struct import_handle **h)
{
	return open_common(t, path, 1, h);
}

int import_open_write(struct import_table *t, const char *path, int flags,
		      struct import_handle **h)
{
	/* an object is written whole: opening for writing starts it again from byte 0 (the
	 * copy tools open with O_TRUNC or on a new file) */
	return open_common(t, path, 0, h);
}

int import_write(struct import_handle *h, const char *buf, size_t size, off_t off)
{
	struct ifile *f = h->f;
	struct errmsg e = { { 0 } };
	uint64_t cur;
	int rc = 0;

	pthread_mutex_lock(&f->wlock);
	cur = f->held ? f->data.len : f->size;
	if (off < 0 || (uint64_t)off != cur) {
		log_err("cannot write '%s/%s' at offset %lld: files are written in order from the "
			"start (next offset %llu)", f->imp->name, f->path, (long long)off,
			(unsigned long long)cur);
		pthread_mutex_unlock(&f->wlock);
		return -EINVAL;
	}
	if (f->held) {
		rc = buf_add(&f->data, buf, size);
		if (rc)
			log_err("cannot hold '%s/%s': meta files are held in memory up to %u MiB",
				f->imp->name, f->path, HELD_MAX >> 20);
	} else if (!f->up) {
		rc = -EINVAL;	/* closed already (written after fsync) */
	} else {
		rc = upload_write(f->up, buf, size, &e);
		if (rc)
			log_err("cannot write '%s/%s': %s", f->imp->name, f->path,
				errmsg_str(&e, rc));
	}
	if (!rc)
		f->size += size;
	pthread_mutex_unlock(&f->wlock);
	pthread_mutex_lock(&h->t->lock);
	if (!rc) {
		f->imp->bytes_received += size;
		touch_locked(f->imp);
	}
	pthread_mutex_unlock(&h->t->lock);
	return rc ? (rc == -EFBIG || rc == -ENOBUFS || rc == -ENOMEM ? rc : -EIO) : (int)size;
}

int import_flush(struct import_handle *h)
{
	return 0;
}

/* Hand the rest to the upload (f->wlock held). */
static int close_upload(struct import_table *t, struct ifile *f)
{
	int rc = 0;

	if (f->held || !f->up)
		return 0;
	pthread_mutex_lock(&t->lock);
	if (f->state == F_OPEN) {
		f->state = F_UPLOADING;
		f->imp->files_received++;
	}
	pthread_mutex_unlock(&t->lock);
	rc = upload_close(f->up);
	return rc;
}

int import_fsync(struct import_handle *h)
{
	struct ifile *f = h->f;
	struct errmsg e = { { 0 } };
	struct upload *up;
	int rc;

	pthread_mutex_lock(&f->wlock);
	rc = close_upload(h->t, f);
	up = f->up;
	pthread_mutex_unlock(&f->wlock);
	if (!rc && up) {
		rc = upload_wait(up, &e);
		if (rc)
			log_err("cannot write '%s/%s': %s", f->imp->name, f->path, errmsg_str(&e, rc));
	}
	return rc ? -EIO : 0;
}

int import_release(struct import_handle *h)
{
	struct import_table *t = h->t;
	struct ifile *f = h->f;
	int listed;

	pthread_mutex_lock(&t->lock);
	listed = f->listed;
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_lock(&f->wlock);
	/* unlinked while open: never finished (file_put aborts the upload) */
	if (f->opens == 1 && listed)
		close_upload(t, f);
	pthread_mutex_unlock(&f->wlock);
	pthread_mutex_lock(&t->lock);
	if (f->held && f->opens == 1 && f->listed)
		f->imp->files_received++;
	f->opens--;
	if (f->listed)
		touch_locked(f->imp);
	{
		struct import *imp = f->imp;

		file_put(f);
		import_put(imp);
	}
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->lock);
	free(h);
	return 0;
}

int import_truncate(struct import_table *t, const char *path, off_t size,
		    struct import_handle *h)
{
	char name[256];
	const char *rel;
	struct import *imp;
	struct ifile *f;
	int rc;

	if (split(path, name, &rel) || !*rel)
		return IMPORT_PASS;
	pthread_mutex_lock(&t->lock);
	imp = find_locked(t, name);
	f = h ? h->f : imp ? file_find_locked(imp, rel) : NULL;
	if (f) {
		uint64_t cur = f->held ? f->data.len : f->size;

		rc = (uint64_t)size == cur ? 0 : -EINVAL;
		if (rc)
			log_err("cannot truncate '%s' to %lld bytes: a file being copied in can only "
				"be truncated to its current size (0 when new)", path, (long long)size);
		pthread_mutex_unlock(&t->lock);
		return rc;
	}
	pthread_mutex_unlock(&t->lock);
	if (size != 0)
		return -EINVAL;
	/* truncate(path, 0) of a stored file of an importing (or incomplete) backup: it is
	 * written again from scratch (an empty object unless data follows) */
	{
		struct import_handle *nh = NULL;

		rc = open_common(t, path, 0, &nh);
		if (!rc)
			rc = import_release(nh);
	}
	return rc;
}

/* Copy the stored object `from_rel` to `to_rel` and delete the old one. */
static int move_object(struct import_table *t, struct import *imp, const char *from_rel,
		       const char *to_rel, uint64_t size)
{
	struct mvbfs *m = t->m;
	struct errmsg e = { { 0 } };
	char *from = NULL, *to = NULL;
	int rc = -ENOMEM;

	if (asprintf(&from, "%s%s", imp->prefix, from_rel) < 0 ||
	    asprintf(&to, "%s%s", imp->prefix, to_rel) < 0)
		goto out;
	rc = objstore_copy(m->store, to, m->store, from, size, &e);
	if (!rc) {
		const char *keys[1] = { from };

		rc = backup_delete_keys(m->store, imp->prefix, keys, 1, &e);
	}
	if (rc)
		log_err("cannot rename '%s' in '%s': %s", from_rel, imp->name, errmsg_str(&e, rc));
out:
	free(from);
	free(to);
	return rc;
}

int import_rename(struct import_table *t, const char *from, const char *to, unsigned flags)
{
	char name[256], name2[256];
	const char *rel, *rel2;
	struct import *imp;
	struct ifile *f, *old;
	char *key2 = NULL;
	int rc;

	if (split(from, name, &rel) || split(to, name2, &rel2) || !*rel || !*rel2)
		return -EROFS;
	if (strcmp(name, name2))
		return -EXDEV;
	if (flags)
		return -EINVAL;	/* RENAME_NOREPLACE / EXCHANGE: not needed by the copy tools */
	pthread_mutex_lock(&t->lock);
	rc = import_for_write_locked(t, name, &imp);
	if (rc)
		goto out;
	f = file_find_locked(imp, rel);
	key2 = f ? key_for(rel2) : NULL;
	if (f && !key2) {
		rc = -ENOMEM;
		goto out;
	}
	if (!f && !strcmp(rel, SIDECAR_NAME)) {
		rc = -ENOENT;	/* the reservation */
		goto out;
	}
	if (!f) {
		struct ns_attr a;

		/* a directory made here, or a stored object of an earlier run */
		if (dir_known_locked(imp, rel)) {
			rc = -EXDEV;	/* mv falls back to copying */
			goto out;
		}
		pthread_mutex_unlock(&t->lock);
		rc = ns_getattr(t->m->ns, from + 1, &a, NULL, NULL);
		if (!rc)
			rc = a.is_dir ? -EXDEV : move_object(t, imp, rel, rel2, a.size);
		ns_invalidate(t->m->ns, name);
		pthread_mutex_lock(&t->lock);
		goto out;
	}
	/* the target's earlier version goes (POSIX rename replaces it) */
	old = file_find_locked(imp, rel2);
	if (old && old != f) {
		if (old->state == F_FAILED && imp->failed)
			imp->failed--;
		file_unlist_locked(old);
	}
	if (strcmp(key2, f->key_rel)) {
		int was_held = f->held;

		char *full = NULL;
		int slow = f->held != is_held(key2);

		if (!slow && f->up) {
			rc = asprintf(&full, "%s%s", imp->prefix, key2) < 0 ? -ENOMEM :
			     upload_rekey(f->up, full);
			free(full);
			if (rc == -EALREADY)
				slow = 1;
			else if (rc)
				goto out;
		}
		if (slow) {
			/* a data file renamed after its upload started, or a file changing between
			 * held and streamed: finish it, then move or write the object */
			struct upload *up = f->up;
			uint64_t size = f->size;
			char *old_key = strdup(f->key_rel);

			f->refs++;
			pthread_mutex_unlock(&t->lock);
			rc = old_key ? 0 : -ENOMEM;
			if (!rc && up) {
				upload_close(up);
				rc = upload_wait(up, NULL);
				if (!rc && !is_held(key2))
					rc = move_object(t, imp, old_key, key2, size);
				else if (!rc)
					rc = -EINVAL;	/* streamed data cannot become a meta file */
			}
			pthread_mutex_lock(&t->lock);
			free(old_key);
			if (!rc && was_held && !is_held(key2)) {
				/* the held bytes become a plain object now */
				pthread_mutex_unlock(&t->lock);
				rc = asprintf(&full, "%s%s", imp->prefix, key2) < 0 ? -ENOMEM :
				     objstore_put(t->m->store, full, f->data.p ? f->data.p : "",
						  f->data.len, 0, NULL);
				free(full);
				pthread_mutex_lock(&t->lock);
				if (!rc) {
					f->held = 0;
					f->state = F_DONE;
				}
			}
			if (rc == -EINVAL)
				log_err("cannot rename '%s' to '%s': a file written as data cannot "
					"become a meta file", from, to);
			if (!rc && up && f->up == up) {
				f->up = NULL;
				upload_free(up);
				f->state = F_DONE;
			}
			file_put(f);
			if (rc)
				goto out;
		}
	}
	free(f->path);
	f->path = strdup(rel2);
	free(f->key_rel);
	f->key_rel = key2;
	key2 = NULL;
	f->held = is_held(f->key_rel) && f->held;
	rc = f->path ? 0 : -ENOMEM;
	touch_locked(imp);
out:
	pthread_mutex_unlock(&t->lock);
	free(key2);
	return rc;
}

int import_unlink(struct import_table *t, const char *path)
{
	char name[256];
	const char *rel;
	struct import *imp;
	struct ifile *f;
	struct ns_attr a;
	char *key = NULL, *stored = NULL;
	int rc;

	if (split(path, name, &rel) || !*rel)
		return IMPORT_PASS;
	pthread_mutex_lock(&t->lock);
	imp = find_locked(t, name);
	if (!imp) {
		pthread_mutex_unlock(&t->lock);
		return IMPORT_PASS;	/* a complete backup: rm -rf (fsops remove_inside) */
	}
	if (imp->state == I_COMMITTING) {
		rc = import_for_write_locked(t, name, &imp);
		if (rc) {
			pthread_mutex_unlock(&t->lock);
			return rc == -EROFS ? IMPORT_PASS : rc;
		}
	}
	f = file_find_locked(imp, rel);
	if (!f && !strcmp(rel, SIDECAR_NAME)) {
		pthread_mutex_unlock(&t->lock);
		return -ENOENT;	/* the reservation is not the copy's to remove */
	}
	if (f) {
		if (!f->held && f->state != F_OPEN) {
			/* uploaded or uploading: the object goes too */
			stored = strdup(f->key_rel);
		}
		if (f->state == F_FAILED && imp->failed)
			imp->failed--;
		if (f->up && f->opens == 0) {
			struct upload *up = f->up;

			f->up = NULL;
			pthread_mutex_unlock(&t->lock);
			upload_close(up);
			upload_wait(up, NULL);
			upload_free(up);
			pthread_mutex_lock(&t->lock);
		}
		file_unlist_locked(f);
		touch_locked(imp);
		pthread_mutex_unlock(&t->lock);
		rc = 0;
	} else {
		pthread_mutex_unlock(&t->lock);
		rc = ns_getattr(t->m->ns, path + 1, &a, NULL, NULL);
		if (!rc && a.is_dir)
			rc = -EISDIR;
		if (!rc)
			stored = strdup(rel);
	}
	if (!rc && stored) {
		struct errmsg e = { { 0 } };
		const char *keys[1];

		if (asprintf(&key, "%s%s", imp->prefix, stored) < 0) {
			rc = -ENOMEM;
		} else {
			keys[0] = key;
			rc = backup_delete_keys(t->m->store, imp->prefix, keys, 1, &e);
			if (rc)
				log_err("cannot unlink '%s': %s", path, errmsg_str(&e, rc));
		}
		ns_invalidate(t->m->ns, name);
	}
	free(key);
	free(stored);
	return rc;
}

int import_rmdir(struct import_table *t, const char *path)
{
	char name[256];
	const char *rel;
	struct import *imp;
	size_t i, len;
	struct ifile *f;
	int rc = IMPORT_PASS;

	if (split(path, name, &rel) || !*rel)
		return IMPORT_PASS;
	pthread_mutex_lock(&t->lock);
	imp = find_locked(t, name);
	if (imp) {
		len = strlen(rel);
		for (f = imp->files; f; f = f->next)
			if (!strncmp(f->path, rel, len) && f->path[len] == '/')
				break;
		rc = f ? -ENOTEMPTY : 0;
		for (i = 0; !rc && i < imp->ndirs; i++) {
			if (!strcmp(imp->dirs[i], rel)) {
				free(imp->dirs[i]);
				imp->dirs[i] = imp->dirs[--imp->ndirs];
				i--;
			} else if (!strncmp(imp->dirs[i], rel, len) && imp->dirs[i][len] == '/') {
				rc = -ENOTEMPTY;
			}
		}
		/* a directory of stored objects: nothing to remove (directories are implied) */
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int import_setattr(struct import_table *t, const char *path, int64_t mtime)
{
	char name[256];
	const char *rel;
	struct import *imp;
	struct ifile *f;

	if (split(path, name, &rel))
		return -EROFS;	/* the root, .snapshot, virtual names */
	pthread_mutex_lock(&t->lock);
	imp = find_locked(t, name);
	while (imp && imp->state == I_COMMITTING) {
		pthread_cond_wait(&t->cv, &t->lock);
		imp = find_locked(t, name);
	}
	if (imp && mtime >= 0 && *rel && (f = file_find_locked(imp, rel)))
		f->mtime = mtime;
	if (imp)
		touch_locked(imp);
	pthread_mutex_unlock(&t->lock);
	/* anything else inside a backup (a complete one: cp -a, tar and rsync set the modes and
	 * times of directories after their last file): accepted, nothing changes */
	return 0;
}

int import_unlink_again(struct import_table *t, const char *path)
{
	int64_t now = mono_ms();
	unsigned i;
	int again = 0;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < UNLINKED_RING && !again; i++)
		again = t->unlinked[i].path && now - t->unlinked[i].at_ms <= UNLINKED_MS &&
			!strcmp(t->unlinked[i].path, path);
	if (!again) {
		i = t->next_unlinked++ % UNLINKED_RING;
		free(t->unlinked[i].path);
		t->unlinked[i].path = strdup(path);
		t->unlinked[i].at_ms = now;
	}
	pthread_mutex_unlock(&t->lock);
	return again;
}

int import_active(struct import_table *t, const char *name)
{
	int r;

	pthread_mutex_lock(&t->lock);
	r = find_locked(t, name) != NULL;
	pthread_mutex_unlock(&t->lock);
	return r;
}

int import_cancel(struct import_table *t, const char *name)
{
	struct import *imp, **pp;
	struct mtimes *mt, **mp;

	pthread_mutex_lock(&t->lock);
	for (;;) {
		imp = find_locked(t, name);
		if (!imp || imp->state != I_COMMITTING)
			break;
		pthread_cond_wait(&t->cv, &t->lock);
	}
	if (imp) {
		for (pp = &t->list; *pp != imp; pp = &(*pp)->next)
			;
		*pp = imp->next;
	}
	for (mp = &t->mt; (mt = *mp) != NULL;) {
		if (!strcmp(mt->name, name)) {
			*mp = mt->next;
			mtimes_free(mt);
		} else {
			mp = &mt->next;
		}
	}
	if (imp) {
		log_info("copy into '%s' cancelled by rmdir", name);
		import_free(imp);	/* aborts the uploads (open handles keep their files) */
	}
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

/* ---- .status ---------------------------------------------------------------------------- */

int import_status(struct import_table *t, const char *name, struct buf *out)
{
	struct import *imp;
	struct vstatus st = { 0 };
	char reason[768], job[64];
	double secs;
	int64_t now = time(NULL);

	pthread_mutex_lock(&t->lock);
	imp = find_locked(t, name);
	if (!imp) {
		pthread_mutex_unlock(&t->lock);
		return IMPORT_PASS;
	}
	snprintf(reason, sizeof(reason), "%s", imp->reason);
	snprintf(job, sizeof(job), "%s", imp->job);
	st.state = imp->failed ? "failed" : "importing";
	st.job = job;
	st.phase = imp->state == I_COMMITTING ? "commit" : imp->have_plan ? "verify" : "receive";
	st.bytes_done = imp->bytes_received;
	st.items_done = imp->files_received;
	st.bytes_total = imp->expected_bytes;
	st.items_total = imp->expected_files;
	st.started = imp->started;
	st.updated = now;
	secs = (double)(now - imp->started);
	st.rate_bps = secs > 0 ? (double)imp->bytes_received / secs : 0;
	st.eta_s = imp->have_plan && st.rate_bps > 0 && st.bytes_total > st.bytes_done ?
		   (int64_t)((double)(st.bytes_total - st.bytes_done) / st.rate_bps) :
		   imp->have_plan ? 0 : -1;
	st.error = reason;
	pthread_mutex_unlock(&t->lock);
	return vfile_status(&st, out);
}

const char *import_state_name(struct import_table *t, const char *name)
{
	const char *s = NULL;
	struct import *imp;

	pthread_mutex_lock(&t->lock);
	imp = find_locked(t, name);
	if (imp)
		s = imp->failed ? "failed" : "importing";
	pthread_mutex_unlock(&t->lock);
	return s;
}

/* ---- the commit ------------------------------------------------------------------------- */

/* Write the recorded mtimes (hidden object, before the meta so the commit carries them). */
static int write_mtimes(struct import_table *t, struct import *imp, uint64_t full_size,
			struct relmt *v, size_t n, struct errmsg *err)
{
	struct buf b = BUF_INIT(MTIMES_MAX);
	char *key = NULL;
	size_t i;
	int rc;

	rc = buf_addf(&b, "{\"format\":1,\"full_meta_size\":%llu,\"files\":{",
		      (unsigned long long)full_size);
	for (i = 0; !rc && i < n; i++) {
		if (i)
			rc = buf_adds(&b, ",");
		if (!rc)
			rc = meta_json_string(&b, v[i].rel);
		if (!rc)
			rc = buf_addf(&b, ":%lld", (long long)v[i].mtime);
	}
	if (!rc)
		rc = buf_adds(&b, "}}");
	if (!rc && asprintf(&key, "%s%s", imp->prefix, IMPORT_MTIMES_NAME) < 0)
		rc = -ENOMEM;
	if (!rc)
		rc = objstore_put(t->m->store, key, b.p, b.len, 0, err);
	free(key);
	buf_release(&b);
	return rc;
}

/*
 * Try to commit `imp` (state I_COMMITTING, so nothing changes its files meanwhile; t->lock
 * NOT held).  Returns 1 when committed, 0 when not yet (imp->reason says why), -errno on a
 * failure that needs the user (also in imp->reason).
 */
static int try_commit(struct import_table *t, struct import *imp)
{
	struct mvbfs *m = t->m;
	struct import_meta *mf = NULL;
	struct import_need need = { 0 };
	struct obj_listing l = { 0 };
	struct errmsg e = { { 0 } };
	struct ifile *f, *sidecar = NULL;
	struct relmt *mt = NULL;
	size_t nmf = 0, nfiles = 0, nmt = 0, i, missing, *order = NULL;
	uint64_t full_size = 0;
	char job[64], *key = NULL;
	int rc;

	for (f = imp->files; f; f = f->next)
		nfiles++;
	mf = calloc(nfiles + 1, sizeof(*mf));
	mt = calloc(nfiles + 1, sizeof(*mt));
	order = calloc(nfiles + 1, sizeof(*order));
	if (!mf || !mt || !order) {
		rc = -ENOMEM;
		goto out;
	}
	for (f = imp->files; f; f = f->next) {
		if (f->held && !strncmp(f->key_rel, "meta/", 5)) {
			mf[nmf].name = f->key_rel + 5;
			mf[nmf].data = f->data.p ? f->data.p : "";
			mf[nmf].len = f->data.len;
			if (!strcmp(mf[nmf].name, "full_meta.json"))
				full_size = f->data.len;
			nmf++;
		} else if (f->held) {
			sidecar = f;
		}
		if (f->mtime) {
			mt[nmt].rel = f->key_rel;
			mt[nmt++].mtime = f->mtime;
		}
	}
	rc = import_plan(mf, nmf, imp->prefix, &need, &e);
	if (rc) {
		pthread_mutex_lock(&t->lock);
		snprintf(imp->reason, sizeof(imp->reason), "%s", errmsg_str(&e, rc));
		pthread_mutex_unlock(&t->lock);
		rc = rc == -EAGAIN ? 0 : rc;
		goto out;
	}
	pthread_mutex_lock(&t->lock);
	imp->have_plan = 1;
	imp->expected_files = need.n + nmf + (sidecar ? 1 : 0);
	imp->expected_bytes = need.bytes;
	for (i = 0; i < nmf; i++)
		imp->expected_bytes += mf[i].len;
	pthread_mutex_unlock(&t->lock);
	/* spec §5.3: verified by listing, never by trusting write-behind */
	rc = objstore_list(m->store, imp->prefix, NULL, &l, &e);
	if (!rc)
		rc = import_verify(&need, &l, &missing, &e);
	if (rc) {
		pthread_mutex_lock(&t->lock);
		snprintf(imp->reason, sizeof(imp->reason), "%s", errmsg_str(&e, rc));
		pthread_mutex_unlock(&t->lock);
		rc = rc == -EAGAIN ? 0 : rc;
		goto out;
	}
	/* the reservation must still be ours: a delete (any mount) re-marks the sidecar */
	rc = backup_sidecar_job(m->store, imp->prefix, job, &e);
	if (!rc && strcmp(job, imp->job)) {
		rc = errmsg_set(&e, -ESTALE, "the reservation of '%s' changed (sidecar job '%s', "
				"ours '%s'): deleted or taken over meanwhile; not committing",
				imp->name, job, imp->job);
	}
	if (!rc && nmt)
		rc = write_mtimes(t, imp, full_size, mt, nmt, &e);
	if (!rc && sidecar) {
		struct sidecar sc;
		struct errmsg e2 = { { 0 } };

		/* the copied sidecar travels verbatim (expiry, origin), so the copy is
		 * byte-identical; ours stays when the copied one does not parse */
		if (sidecar_parse(sidecar->data.p ? sidecar->data.p : "", sidecar->data.len,
				  &sc, &e2) == 0) {
			if (asprintf(&key, "%s%s", imp->prefix, SIDECAR_NAME) < 0)
				rc = -ENOMEM;
			else
				rc = objstore_put(m->store, key, sidecar->data.p ? sidecar->data.p : "",
						  sidecar->data.len, 0, &e);
			free(key);
			key = NULL;
		} else {
			log_warn("copy into '%s': the copied %s does not parse (%s): keeping ours",
				 imp->name, SIDECAR_NAME, errmsg_str(&e2, -EINVAL));
		}
	}
	/* level files first, the commit point last (milvus-backup-format.md §1.7) */
	import_write_order(mf, nmf, need.pre_v031, order);
	for (i = 0; !rc && i < nmf; i++) {
		const struct import_meta *x = &mf[order[i]];

		if (asprintf(&key, "%smeta/%s", imp->prefix, x->name) < 0)
			rc = -ENOMEM;
		else
			rc = objstore_put(m->store, key, x->data, x->len, 0, &e);
		free(key);
		key = NULL;
	}
	if (rc) {
		pthread_mutex_lock(&t->lock);
		snprintf(imp->reason, sizeof(imp->reason), "cannot commit: %s", errmsg_str(&e, rc));
		pthread_mutex_unlock(&t->lock);
		log_err("copy into '%s': cannot commit: %s", imp->name, errmsg_str(&e, rc));
		goto out;
	}
	/* readers see `complete` from now on: before the import leaves the table, so that no
	 * write in between takes the backup for an incomplete one to continue */
	ns_invalidate(m->ns, imp->name);
	/* what a killed earlier run of this copy left open (invisible, but holding storage) */
	{
		size_t n_ab = 0;

		objstore_abort_uploads(m->store, imp->prefix, &n_ab, NULL);
	}
	log_info("copy into '%s' complete: %zu binlogs (%llu bytes) verified, %zu meta files "
		 "written%s", imp->name, need.n, (unsigned long long)need.bytes, nmf,
		 need.pre_v031 ? " (pre-v0.3.1 backup: level files only)" : "");
	/* keep the mtimes for getattr (rsync's quick check) */
	{
		struct relmt *v = calloc(nmt + 1, sizeof(*v));
		struct mtimes *nm;

		for (i = 0; v && i < nmt; i++)
			v[i].rel = strdup(mt[i].rel), v[i].mtime = mt[i].mtime;
		nm = v ? mtimes_build(imp->name, v, nmt) : NULL;
		if (nm) {
			pthread_mutex_lock(&t->lock);
			nm->next = t->mt;
			t->mt = nm;
			pthread_mutex_unlock(&t->lock);
		}
	}
	rc = 1;
out:
	import_need_release(&need);
	obj_listing_release(&l);
	free(order);
	free(mt);
	free(mf);
	return rc;
}

/* Collect finished uploads of `imp` (t->lock held). */
static void reap_locked(struct import *imp)
{
	struct ifile *f;

	for (f = imp->files; f; f = f->next) {
		struct errmsg e = { { 0 } };
		int rc;

		if (f->state != F_UPLOADING || !f->up || !upload_done(f->up))
			continue;
		rc = upload_wait(f->up, &e);
		upload_free(f->up);
		f->up = NULL;
		imp->dirty = 1;
		if (!rc) {
			f->state = F_DONE;
			continue;
		}
		f->state = F_FAILED;
		imp->failed++;
		snprintf(imp->reason, sizeof(imp->reason), "cannot write '%s': %s", f->path,
			 errmsg_str(&e, rc));
		log_err("copy into '%s': %s", imp->name, imp->reason);
	}
}

/*
 * How long `imp` must have been quiet before a commit is tried (t->lock held).  The full
 * IMPORT_QUIET_MS while the tool may still be between files; only IMPORT_SETTLE_MS once the
 * backup looks whole: full_meta.json is held and either the plan is not known yet (a try
 * learns it) or as many files as the plan expects are written.  A try commits only when the
 * listing verifies every binlog (try_commit), so an early try costs one listing, never a
 * half-written commit.  Without full_meta.json (a pre-v0.3.1 backup, or one whose
 * full_meta.json is still to come) the full quiet period stays: format-notes.md.
 */
static int64_t quiet_needed_locked(const struct import *imp)
{
	const struct ifile *f;
	uint64_t ready = 0;
	int full_meta = 0;

	for (f = imp->files; f; f = f->next) {
		if (f->state == F_DONE || f->state == F_HELD)
			ready++;
		if (f->held && !strcmp(f->key_rel, "meta/full_meta.json"))
			full_meta = 1;
	}
	if (full_meta && (!imp->have_plan || ready >= imp->expected_files))
		return IMPORT_SETTLE_MS;
	return IMPORT_QUIET_MS;
}

static int quiet_locked(struct import *imp)
{
	struct ifile *f;

	if (!imp->dirty || imp->failed || mono_ms() - imp->activity_ms < IMPORT_SETTLE_MS)
		return 0;
	for (f = imp->files; f; f = f->next)
		if (f->opens > 0 || f->state == F_UPLOADING || f->state == F_OPEN)
			return 0;
	return mono_ms() - imp->activity_ms >= quiet_needed_locked(imp);
}

/* The committer's poll period (t->lock held): short while a copy is changing, so that its
 * commit follows its last upload closely (spec §8 copy time); 200 ms otherwise. */
static long committer_tick_ms_locked(const struct import_table *t)
{
	const struct import *imp;

	for (imp = t->list; imp; imp = imp->next)
		if (imp->dirty && !imp->failed)
			return 25;
	return 200;
}

static void *committer(void *arg)
{
	struct import_table *t = arg;
	struct import *imp;

	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		struct timespec ts;

		for (imp = t->list; imp; imp = imp->next)
			reap_locked(imp);
		for (imp = t->list; imp; imp = imp->next) {
			int rc;

			if (imp->state != I_IMPORTING || !quiet_locked(imp))
				continue;
			imp->state = I_COMMITTING;
			imp->dirty = 0;
			pthread_mutex_unlock(&t->lock);
			rc = try_commit(t, imp);
			pthread_mutex_lock(&t->lock);
			imp->state = I_IMPORTING;
			if (rc == 1) {
				struct import **pp;

				for (pp = &t->list; *pp != imp; pp = &(*pp)->next)
					;
				*pp = imp->next;
				import_free(imp);
				pthread_cond_broadcast(&t->cv);
			} else {
				pthread_cond_broadcast(&t->cv);
			}
			break;	/* the list may have changed while unlocked */
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += committer_tick_ms_locked(t) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&t->cv, &t->lock, &ts);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

int import_table_new(struct mvbfs *m, struct import_table **out)
{
	struct import_table *t = calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->m = m;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cv, NULL);
	rc = upload_pool_new(m->store, &m->budget, 0, 0, &t->pool);
	if (rc)
		goto fail;
	if (pthread_create(&t->committer, NULL, committer, t)) {
		rc = -EAGAIN;
		goto fail;
	}
	t->committer_ok = 1;
	*out = t;
	return 0;
fail:
	import_table_free(t);
	return rc;
}

void import_table_free(struct import_table *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->lock);
	if (t->committer_ok)
		pthread_join(t->committer, NULL);
	while (t->list) {
		struct import *imp = t->list;

		t->list = imp->next;
		import_free(imp);
	}
	while (t->mt) {
		struct mtimes *mt = t->mt;

		t->mt = mt->next;
		mtimes_free(mt);
	}
	for (unsigned i = 0; i < UNLINKED_RING; i++)
		free(t->unlinked[i].path);
	upload_pool_free(t->pool);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
