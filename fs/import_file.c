/*
 * import_file.c - the files of an import (import.h, import_internal.h): the write handles
 * (create, open for writing, write, fsync, the last close that leaves the upload to run in
 * the background), truncate, rename (rsync's ".NAME.XXXXXX" temporary names cost nothing:
 * the upload is named for the final name from the start), unlink, rmdir and setattr.
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

#include "mvbackupfs/base/log.h"
#include "mvbackupfs/format/backup_admin.h"
#include "mvbackupfs/format/sidecar.h"
#include "mvbackupfs/storage/upload.h"

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

static struct ifile *file_by_key_locked(struct import *imp, const char *key_rel)
{
	struct ifile *f;

	for (f = imp->files; f; f = f->next)
		if (!strcmp(f->key_rel, key_rel))
			return f;
	return NULL;
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
	imp_file_put(f);
}

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
	while ((old = imp_file_find_locked(imp, rel)) || (old = file_by_key_locked(imp, key))) {
		if (old->opens > 0) {
			free(key);
			log_err("cannot write '%s/%s': it is open for writing already", imp->name, rel);
			return -EBUSY;
		}
		if (old->state == F_UPLOADING) {
			struct upload *up = old->up;

			old->refs++;
			old->waiters++;
			pthread_mutex_unlock(&t->lock);
			upload_wait(up, NULL);
			pthread_mutex_lock(&t->lock);
			old->waiters--;
			if (old->up == up)
				old->state = F_DONE;	/* superseded: the new upload wins */
			imp_file_put(old);
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
	f->mtime = time(NULL);
	if (!f->path) {
		imp_file_put(f);
		return -ENOMEM;
	}
	if (!f->held) {
		char *full;

		if (asprintf(&full, "%s%s", imp->prefix, key) < 0) {
			imp_file_put(f);
			return -ENOMEM;
		}
		rc = upload_open(t->pool, full, &f->up);
		free(full);
		if (rc) {
			imp_file_put(f);
			return rc;
		}
	}
	f->next = imp->files;
	imp->files = f;
	imp_touch_locked(imp);
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
	if (imp_split(path, name, &rel) || !*rel)
		return -EROFS;	/* the root, a stray object at the root, virtual names */
	if (!strcmp(rel, IMPORT_MTIMES_NAME) || !strcmp(rel, ".info") ||
	    !strcmp(rel, ".status") || !strcmp(rel, ".info.json"))
		return -EROFS;
	pthread_mutex_lock(&t->lock);
	rc = imp_for_write_locked(t, name, &imp);
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
		f->mtime = time(NULL);
		imp_touch_locked(f->imp);
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
		imp_touch_locked(f->imp);
	{
		struct import *imp = f->imp;

		imp_file_put(f);
		imp_put(imp);
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

	if (imp_split(path, name, &rel) || !*rel)
		return IMPORT_PASS;
	pthread_mutex_lock(&t->lock);
	imp = imp_find_locked(t, name);
	f = h ? h->f : imp ? imp_file_find_locked(imp, rel) : NULL;
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

/*
 * rename of a file to another object key (t->lock held, dropped while an upload finishes):
 * the running upload is renamed when it can be; a data file renamed after its upload
 * started, or a file changing between held and streamed, is finished first, then its object
 * moved or written.  0 or -errno.
 */
static int rekey_locked(struct import_table *t, struct import *imp, struct ifile *f,
			const char *key2, const char *from, const char *to)
{
	int was_held = f->held, slow = f->held != is_held(key2), rc = 0;
	char *full = NULL;

	if (!slow && f->up) {
		rc = asprintf(&full, "%s%s", imp->prefix, key2) < 0 ? -ENOMEM :
		     upload_rekey(f->up, full);
		free(full);
		if (rc == -EALREADY)
			slow = 1;
		else if (rc)
			return rc;
	}
	if (slow) {
		/* a data file renamed after its upload started, or a file changing between
		 * held and streamed: finish it, then move or write the object */
		struct upload *up = f->up;
		uint64_t size = f->size;
		char *old_key = strdup(f->key_rel);

		f->refs++;
		f->waiters++;
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
		f->waiters--;
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
		imp_file_put(f);
		if (rc)
			return rc;
	}
	return 0;
}

int import_rename(struct import_table *t, const char *from, const char *to, unsigned flags)
{
	char name[256], name2[256];
	const char *rel, *rel2;
	struct import *imp;
	struct ifile *f, *old;
	char *key2 = NULL;
	int rc;

	if (imp_split(from, name, &rel) || imp_split(to, name2, &rel2) || !*rel || !*rel2)
		return -EROFS;
	if (strcmp(name, name2))
		return -EXDEV;
	if (flags)
		return -EINVAL;	/* RENAME_NOREPLACE / EXCHANGE: not needed by the copy tools */
	pthread_mutex_lock(&t->lock);
	rc = imp_for_write_locked(t, name, &imp);
	if (rc)
		goto out;
	f = imp_file_find_locked(imp, rel);
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
		if (imp_dir_known_locked(imp, rel)) {
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
	old = imp_file_find_locked(imp, rel2);
	if (old && old != f) {
		if (old->state == F_FAILED && imp->failed)
			imp->failed--;
		file_unlist_locked(old);
	}
	if (strcmp(key2, f->key_rel)) {
		rc = rekey_locked(t, imp, f, key2, from, to);
		if (rc)
			goto out;
	}
	free(f->path);
	f->path = strdup(rel2);
	free(f->key_rel);
	f->key_rel = key2;
	key2 = NULL;
	f->held = is_held(f->key_rel) && f->held;
	rc = f->path ? 0 : -ENOMEM;
	imp_touch_locked(imp);
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

	if (imp_split(path, name, &rel) || !*rel)
		return IMPORT_PASS;
	pthread_mutex_lock(&t->lock);
	imp = imp_find_locked(t, name);
	if (!imp) {
		pthread_mutex_unlock(&t->lock);
		return IMPORT_PASS;	/* a complete backup: rm -rf (fsops remove_inside) */
	}
	if (imp->state == I_COMMITTING) {
		rc = imp_for_write_locked(t, name, &imp);
		if (rc) {
			pthread_mutex_unlock(&t->lock);
			return rc == -EROFS ? IMPORT_PASS : rc;
		}
	}
	f = imp_file_find_locked(imp, rel);
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
		imp_touch_locked(imp);
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

	if (imp_split(path, name, &rel) || !*rel)
		return IMPORT_PASS;
	pthread_mutex_lock(&t->lock);
	imp = imp_find_locked(t, name);
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

	if (imp_split(path, name, &rel))
		return -EROFS;	/* the root, .snapshot, virtual names */
	pthread_mutex_lock(&t->lock);
	imp = imp_find_locked(t, name);
	while (imp && imp->state == I_COMMITTING) {
		pthread_cond_wait(&t->cv, &t->lock);
		imp = imp_find_locked(t, name);
	}
	if (imp && mtime >= 0 && *rel && (f = imp_file_find_locked(imp, rel)))
		f->mtime = mtime;
	if (imp)
		imp_touch_locked(imp);
	pthread_mutex_unlock(&t->lock);
	/* a file of a copy committed here a moment ago: rclone sets a file's time after
	 * closing it, and the commit may have come in between */
	if (!imp && mtime >= 0 && *rel) {
		int rc = imp_committed_set_mtime(t, name, rel, mtime);

		if (rc)
			return rc;
	}
	/* anything else inside a backup (a complete one: cp -a, tar and rsync set the modes and
	 * times of directories after their last file): accepted, nothing changes */
	return 0;
}
