/*
 * import.c - copying a backup into the mount (import.h, spec §5.3, issue 11): the table of
 * imports, the reservation (mkdir), what getattr and readdir show of an import, .status, and
 * the table's start and stop.
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
 * The parts, behind import_internal.h (its locking comment holds for all of them):
 * import.c (this file), import_file.c (handles, write, truncate, rename, unlink, rmdir,
 * setattr), import_mtimes.c (the mtimes record of a committed copy), import_committer.c
 * (the committer thread and the commit).
 */
#include "import_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/base/rand.h"
#include "mvbackupfs/format/backup_admin.h"
#include "mvbackupfs/format/sidecar.h"
#include "mvbackupfs/fs/vfiles.h"
#include "mvbackupfs/storage/upload.h"

/* "/NAME/rest" -> name, rest ("" for "/NAME").  0 or -ENOENT (root, virtual, too long). */
int imp_split(const char *path, char name[256], const char **rest)
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

static unsigned live_slot(const char *name)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (*name)
		h = (h ^ (unsigned char)*name++) * 16777619u;
	return h % LIVE_SLOTS;
}

/* 0 when no import of `name` is listed (no lock taken); 1 when one may be. */
static int maybe_live(struct import_table *t, const char *name)
{
	return atomic_load(&t->live[live_slot(name)]) != 0;
}

/* Take `imp` out of the table's list (t->lock held); the caller frees it. */
void imp_unlist_locked(struct import_table *t, struct import *imp)
{
	struct import **pp;

	for (pp = &t->list; *pp != imp; pp = &(*pp)->next)
		;
	*pp = imp->next;
	atomic_fetch_sub(&t->live[live_slot(imp->name)], 1);
}

struct import *imp_find_locked(struct import_table *t, const char *name)
{
	struct import *i;

	for (i = t->list; i; i = i->next)
		if (!strcmp(i->name, name))
			return i;
	return NULL;
}

struct ifile *imp_file_find_locked(struct import *imp, const char *rel)
{
	struct ifile *f;

	for (f = imp->files; f; f = f->next)
		if (!strcmp(f->path, rel))
			return f;
	return NULL;
}

void imp_file_put(struct ifile *f)
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

void imp_put(struct import *imp)
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
void imp_free(struct import *imp)
{
	while (imp->files) {
		struct ifile *f = imp->files;

		imp->files = f->next;
		f->listed = 0;
		imp_file_put(f);
	}
	imp_put(imp);
}

void imp_touch_locked(struct import *imp)
{
	imp->activity_ms = mono_ms();
	imp->dirty = 1;
}

int imp_dir_known_locked(struct import *imp, const char *rel)
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
	atomic_fetch_add(&t->live[live_slot(name)], 1);
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
int imp_for_write_locked(struct import_table *t, const char *name, struct import **out)
{
	struct mvbfs *m = t->m;
	struct ns_summary s = { 0 };
	struct errmsg e = { { 0 } };
	struct import *imp;
	char job[64] = "", *prefix = NULL;
	int rc;

	for (;;) {
		imp = imp_find_locked(t, name);
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
	imp = imp_find_locked(t, name);	/* another thread adopted it meanwhile */
	if (!imp) {
		imp = import_new_locked(t, name, job);
		if (!imp)
			return -ENOMEM;
		log_info("copy into incomplete backup '%s': continuing it", name);
	}
	if (imp->state == I_COMMITTING)
		return imp_for_write_locked(t, name, out);
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
	rc = imp_find_locked(t, name) ? -EEXIST : 0;
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
	rc = imp_find_locked(t, name) || import_new_locked(t, name, sc.job) ? 0 : -ENOMEM;
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

	if (imp_split(path, name, &rel) || !*rel)
		return IMPORT_PASS;
	pthread_mutex_lock(&t->lock);
	rc = imp_for_write_locked(t, name, &imp);
	if (rc)
		goto out;
	if (imp_dir_known_locked(imp, rel) || imp_file_find_locked(imp, rel)) {
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
	imp = imp_find_locked(t, name);
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
	imp_touch_locked(imp);
	rc = 0;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}
int import_getattr(struct import_table *t, const char *path, struct ns_attr *a)
{
	char name[256];
	const char *rel;
	struct import *imp;
	struct ifile *f;
	int rc = IMPORT_PASS;

	if (imp_split(path, name, &rel))
		return IMPORT_PASS;
	memset(a, 0, sizeof(*a));
	if (!maybe_live(t, name))
		goto committed;
	pthread_mutex_lock(&t->lock);
	imp = imp_find_locked(t, name);
	if (imp) {
		if (!*rel || imp_dir_known_locked(imp, rel)) {
			a->is_dir = 1;
			a->mtime = time(NULL);
			rc = 0;
		} else if ((f = imp_file_find_locked(imp, rel))) {
			a->size = f->held ? f->data.len : f->size;
			a->mtime = f->mtime ? f->mtime : time(NULL);
			rc = 0;
		} else if (!strcmp(rel, SIDECAR_NAME)) {
			rc = -ENOENT;	/* the reservation: invisible until a copied one arrives */
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (rc != IMPORT_PASS || imp)
		return rc;
committed:
	if (!*rel)
		return IMPORT_PASS;
	/* a committed copy: the file mtimes the copy tool set (rsync's quick check); only a
	 * backup whose listing holds the record has any (no lock, no request for the others) */
	rc = ns_getattr(t->m->ns, path + 1, a, NULL, NULL);
	if (rc)
		return rc;
	if (a->has_mtimes && !a->is_dir)
		imp_committed_mtime(t, name, rel, a);
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

	if (imp_split(path, name, &rel))
		return 0;
	rlen = strlen(rel);
	pthread_mutex_lock(&t->lock);
	imp = imp_find_locked(t, name);
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

	if (!maybe_live(t, name))
		return 0;
	pthread_mutex_lock(&t->lock);
	r = imp_find_locked(t, name) != NULL;
	pthread_mutex_unlock(&t->lock);
	return r;
}

int import_read_refused(struct import_table *t, const char *name)
{
	struct import *imp;
	int first = 0;

	pthread_mutex_lock(&t->lock);
	imp = imp_find_locked(t, name);
	if (imp && !imp->read_refused)
		first = imp->read_refused = 1;
	pthread_mutex_unlock(&t->lock);
	return first;
}

int import_cancel(struct import_table *t, const char *name)
{
	struct import *imp;
	struct mtimes *mt, **mp;

	pthread_mutex_lock(&t->lock);
	for (;;) {
		imp = imp_find_locked(t, name);
		if (!imp || imp->state != I_COMMITTING)
			break;
		pthread_cond_wait(&t->cv, &t->lock);
	}
	if (imp)
		imp_unlist_locked(t, imp);
	for (mp = &t->mt; (mt = *mp) != NULL;) {
		if (!strcmp(mt->name, name)) {
			*mp = mt->next;
			imp_mtimes_free(mt);
		} else {
			mp = &mt->next;
		}
	}
	if (imp) {
		log_info("copy into '%s' cancelled by rmdir", name);
		imp_free(imp);	/* aborts the uploads (open handles keep their files) */
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
	imp = imp_find_locked(t, name);
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
	imp = imp_find_locked(t, name);
	if (imp)
		s = imp->failed ? "failed" : "importing";
	pthread_mutex_unlock(&t->lock);
	return s;
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
	pthread_mutex_init(&t->mt_put, NULL);
	pthread_cond_init(&t->cv, NULL);
	rc = upload_pool_new(m->store, &m->budget, 0, 0, &t->pool);
	if (rc)
		goto fail;
	if (pthread_create(&t->committer, NULL, imp_committer, t)) {
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
		imp_free(imp);
	}
	while (t->mt) {
		struct mtimes *mt = t->mt;

		t->mt = mt->next;
		imp_mtimes_free(mt);
	}
	for (unsigned i = 0; i < UNLINKED_RING; i++)
		free(t->unlinked[i].path);
	upload_pool_free(t->pool);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->mt_put);
	free(t);
}
