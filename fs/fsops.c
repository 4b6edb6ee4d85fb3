/*
 * fsops.c - the FUSE operations: map paths onto the namespace (namespace.h), serve object
 * reads through the read-ahead engine (readahead.h) and the virtual files (vfiles.h).
 *
 * Paths (spec §3):
 *   /                       the backup root
 *   /.info /.info.json      virtual, lookup-only: one row per backup
 *   /.snapshot              virtual, lookup-only directory: snapshots being taken
 *   /NAME                   a backup (directory) or a stray object (file)
 *   /NAME/.info[.json]      virtual: the backup's details
 *   /NAME/.status           virtual: state and progress of the job on the backup
 *   /NAME/...               the backup's objects
 * Virtual names never appear in readdir, so cp -r, rsync, tar, du and find see exactly the
 * stored objects.
 *
 * Control operations (spec §5.2, §5.5): `mkdir /.snapshot/NAME` validates, reserves the
 * name and starts a snapshot job; `rmdir /NAME` removes the meta at once and the data in the
 * background.  Removing anything *inside* a backup deletes nothing: it only marks the backup
 * pending for the `rmdir NAME` that `rm -rf` ends with (see remove_inside()).
 *
 * Milvus's own data (issue 6): when the backup root shares Milvus's root, Milvus's data
 * directories (ns_milvus_data) are never listed, resolve as empty read-only directories,
 * and every removal or snapshot naming them is EPERM with a log line; the deletes
 * themselves all go through backup_delete_keys, which refuses such keys again.
 */
#include "mvbackupfs/mount.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "mvbackupfs/backup_admin.h"
#include "mvbackupfs/backup_create.h"
#include "mvbackupfs/autopilot.h"
#include "mvbackupfs/crashpoint.h"
#include "mvbackupfs/import.h"
#include "mvbackupfs/log.h"
#include "mvbackupfs/restore_ctl.h"
#include "mvbackupfs/sidecar.h"
#include "mvbackupfs/version.h"
#include "mvbackupfs/vfiles.h"

enum vkind {
	V_NONE = 0,
	V_ROOT_INFO,
	V_ROOT_INFO_JSON,
	V_BACKUP_INFO,
	V_BACKUP_INFO_JSON,
	V_BACKUP_STATUS,
	V_BACKUP_EXPIRES,	/* read/write: autopilot.c */
	V_BACKUP_RESTORE,	/* the control file (restore_ctl.h) */
};

/* An open file: an object streamed through read-ahead, or a rendered virtual file. */
struct fh {
	struct ra_file *ra;	/* objects */
	struct import_handle *imp;	/* a file being copied in (fs/import.c) */
	char *text;		/* virtual files: rendered at open (.status: again at offset 0) */
	size_t len;
	enum vkind kind;
	char name[256];		/* the backup of a virtual file */
	pthread_mutex_t lock;	/* guards text, len, seen: a .status read at offset 0 replaces
				 * the text while another read of the same handle may copy it */
	uint64_t seen;		/* .status: the job change counter the text shows */
	struct fh *prev, *next;	/* in m->open_files (under m->open_lock) */
};

#define VFILE_MAX	(64u << 20)
#define DIRECT_IO_MIN	(8u << 20)	/* objects from this size on are read without page cache */

static struct mvbfs *ctx(void)
{
	return fuse_get_context()->private_data;
}

/* A handle the kernel now holds: listed, so that mvbfs_stop frees the ones it never releases
 * (after the loop ends, e.g. at SIGTERM, no RELEASE comes for files still open). */
static void fh_link(struct mvbfs *m, struct fh *h)
{
	pthread_mutex_lock(&m->open_lock);
	h->prev = NULL;
	h->next = m->open_files;
	if (h->next)
		h->next->prev = h;
	m->open_files = h;
	pthread_mutex_unlock(&m->open_lock);
}

static void fh_free(struct fh *h)
{
	if (h->ra)
		ra_close(h->ra);
	if (h->imp)
		import_release(h->imp);
	pthread_mutex_destroy(&h->lock);
	free(h->text);
	free(h);
}

/* "/NAME/.info" -> V_BACKUP_INFO with name "NAME"; "/.info" -> V_ROOT_INFO. */
static enum vkind classify_virtual(const char *path, char *name, size_t size)
{
	const char *p = path + 1, *slash;
	size_t len;

	if (!strcmp(path, "/.info"))
		return V_ROOT_INFO;
	if (!strcmp(path, "/.info.json"))
		return V_ROOT_INFO_JSON;
	slash = strchr(p, '/');
	if (!slash || strchr(slash + 1, '/'))
		return V_NONE;
	len = (size_t)(slash - p);
	if (len == 0 || len >= size || p[0] == '.')
		return V_NONE;
	memcpy(name, p, len);
	name[len] = '\0';
	if (!strcmp(slash + 1, ".info"))
		return V_BACKUP_INFO;
	if (!strcmp(slash + 1, ".info.json"))
		return V_BACKUP_INFO_JSON;
	if (!strcmp(slash + 1, ".status"))
		return V_BACKUP_STATUS;
	if (!strcmp(slash + 1, ".expires"))
		return V_BACKUP_EXPIRES;
	if (!strcmp(slash + 1, RESTORE_CTL_NAME))
		return V_BACKUP_RESTORE;
	return V_NONE;
}

static void log_failure(const char *op, const char *path, int rc, const struct errmsg *e)
{
	if (rc == -ENOENT)
		return;	/* lookups of absent names are normal */
	log_err("%s '%s': %s", op, path, errmsg_str(e, rc));
}

/* What this mount's jobs say about `s` (spec §4: creating / deleting are in-memory).  The
 * items were copied *before* storage was read, so a job that ended meanwhile still shows. */
static void overlay_state(const struct jt_item *items, size_t n, struct ns_summary *s)
{
	const struct jt_item *it = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(items[i].name, s->name))
			it = &items[i];
	if (!it)
		return;
	if (it->kind == JT_SNAPSHOT && it->p.state == JOB_RUNNING && s->state != NS_STATE_COMPLETE)
		s->state = NS_STATE_CREATING;
	else if (it->kind == JT_SNAPSHOT && it->p.state == JOB_FAILED && s->state != NS_STATE_COMPLETE)
		s->state = NS_STATE_FAILED;
	else if (it->kind == JT_DELETE && it->p.state == JOB_RUNNING)
		s->state = NS_STATE_DELETING;
	else if (it->kind == JT_RESTORE && it->p.state == JOB_RUNNING)
		s->state = NS_STATE_RESTORING;
	else
		return;
	free(s->reason);
	s->reason = strdup(it->p.error);
}

static const char *job_state_word(enum jt_kind k, const struct job_progress *p)
{
	switch (p->state) {
	case JOB_RUNNING:
		return k == JT_SNAPSHOT ? "creating" : k == JT_RESTORE ? "restoring" : "deleting";
	case JOB_DONE:
		return k == JT_DELETE ? "deleted" : "complete";
	case JOB_FAILED:
		return "failed";
	case JOB_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

/* .status of a backup with a job on this mount. */
static int render_job_status(const struct job_progress *p, enum jt_kind k, struct buf *out)
{
	struct vstatus st = { 0 };

	st.state = job_state_word(k, p);
	st.job = p->id;
	st.phase = p->phase;
	st.bytes_done = p->bytes_done;
	st.bytes_total = p->bytes_total;
	st.items_done = p->items_done;
	st.items_total = p->items_total;
	st.rate_bps = p->rate_bps;
	st.eta_s = p->eta_s;
	st.started = p->started;
	st.updated = p->updated;
	st.error = p->error;
	return vfile_status(&st, out);
}

/* Render a virtual file into `out`; *changes gets the job change counter shown (.status). */
static int render(struct mvbfs *m, enum vkind k, const char *name, struct buf *out,
		  uint64_t *changes, struct errmsg *err)
{
	struct job_progress p;
	struct jt_item *items = NULL;
	size_t nitems = 0;
	enum jt_kind jk;
	struct ns_summary s, *all = NULL;
	struct vstatus st = { 0 };
	size_t n = 0, i;
	int rc;

	switch (k) {
	case V_ROOT_INFO:
	case V_ROOT_INFO_JSON:
		rc = jobtable_items(m->jobs, &items, &nitems);
		if (rc)
			return rc;
		rc = ns_all_summaries(m->ns, &all, &n, err);
		if (rc) {
			free(items);
			return rc;
		}
		for (i = 0; i < n; i++) {
			overlay_state(items, nitems, &all[i]);
			autopilot_mark(&all[i]);
			if (all[i].state != NS_STATE_COMPLETE && import_active(m->imports, all[i].name))
				all[i].state = NS_STATE_IMPORTING;
		}
		free(items);
		rc = k == V_ROOT_INFO ? vfile_root_info(all, n, out) : vfile_root_info_json(all, n, out);
		if (!rc && k == V_ROOT_INFO)
			rc = autopilot_footer(m->autopilot, out);
		for (i = 0; i < n; i++)
			ns_summary_release(&all[i]);
		free(all);
		return rc;
	case V_BACKUP_INFO:
	case V_BACKUP_INFO_JSON:
	case V_BACKUP_STATUS:
	case V_BACKUP_EXPIRES:
	case V_BACKUP_RESTORE:
		if (k == V_BACKUP_RESTORE)
			return restore_ctl_render(m, name, out);
		if (k == V_BACKUP_STATUS) {
			jk = jobtable_get(m->jobs, name, &p);
			if (jk != JT_NONE) {
				if (changes)
					*changes = p.changes;
				return render_job_status(&p, jk, out);
			}
			rc = import_status(m->imports, name, out);
			if (rc != IMPORT_PASS)
				return rc;
		}
		rc = jobtable_items(m->jobs, &items, &nitems);
		if (rc)
			return rc;
		rc = ns_backup_summary(m->ns, name, &s, err);
		if (rc) {
			free(items);
			return rc;
		}
		overlay_state(items, nitems, &s);
		autopilot_mark(&s);
		free(items);
		if (s.state != NS_STATE_COMPLETE && import_active(m->imports, name))
			s.state = NS_STATE_IMPORTING;
		if (k == V_BACKUP_INFO)
			rc = vfile_backup_info(&s, out);
		else if (k == V_BACKUP_EXPIRES)
			rc = vfile_expires(&s, out);
		else if (k == V_BACKUP_INFO_JSON)
			rc = vfile_backup_info_json(&s, out);
		else {
			/* no job of this mount on it: what storage says, idle */
			st.state = ns_state_name(s.state);
			st.phase = "idle";
			st.eta_s = -1;
			st.bytes_done = st.bytes_total = s.state == NS_STATE_COMPLETE ? (uint64_t)s.size : 0;
			rc = vfile_status(&st, out);
		}
		ns_summary_release(&s);
		return rc;
	default:
		return -ENOENT;
	}
}

/* The backup a path is in ("/NAME/..." -> NAME); 0 for the root and virtual dirs. */
static int backup_of(const char *path, char *name, size_t size)
{
	const char *p = path + 1, *slash = strchr(p, '/');
	size_t len = slash ? (size_t)(slash - p) : strlen(p);

	if (len == 0 || len >= size || p[0] == '.')
		return 0;
	memcpy(name, p, len);
	name[len] = '\0';
	return 1;
}

static int pending(struct mvbfs *m, const char *name);

/* A backup this mount is deleting is hidden from lookups too; one marked pending (a removal
 * inside it, see remove_inside) only from listings. */
static int hidden(struct mvbfs *m, const char *name)
{
	return jobtable_deleting(m->jobs, name);
}

/* Listings hide every backup being deleted, at once (spec §5.5). */
static int unlisted(struct mvbfs *m, const char *name)
{
	return jobtable_deleting(m->jobs, name) || pending(m, name);
}

/* Refuse a removal or snapshot touching Milvus's data `dir` at root entry `name`. */
static int refuse_milvus_data(struct mvbfs *m, const char *op, const char *path,
			      const char *dir)
{
	log_err("refusing to %s '%s': '%s' is Milvus's own data (minio.rootPath '%s' in %s), "
		"not a backup; backups share Milvus's root - set minio.backupRootPath", op, path,
		dir, m->cfg->milvus_storage.root_path, objstore_name(m->store));
	return -EPERM;
}

/* Spec §7: only the owner (the mounting user) or root may snapshot or delete, even where
 * the kernel's default_permissions would let a request through. */
static int owner_only(struct mvbfs *m)
{
	uid_t uid = fuse_get_context()->uid;

	return uid == m->uid || uid == 0 ? 0 : -EACCES;
}

static void fill_stat(struct mvbfs *m, struct stat *st, const struct ns_attr *a)
{
	memset(st, 0, sizeof(*st));
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_mtime = a->mtime > 0 ? (time_t)a->mtime : m->mounted_at;
	st->st_ctime = st->st_mtime;
	st->st_atime = st->st_mtime;
	if (a->is_dir) {
		/*
		 * Directories are 0755 on a writable mount, also inside a complete backup: under
		 * default_permissions the kernel lets only a user with write permission on the
		 * parent unlink or rmdir, and the documented `rm -rf NAME` (spec §5.5) must work
		 * for the mounting user, not only for root (issue 6, bug 7).  Removing inside a
		 * backup deletes nothing by itself (remove_inside), and other users still get
		 * EACCES (no group/other write).  Files stay 0444 when committed.
		 */
		st->st_mode = S_IFDIR | (m->read_only ? 0555 : 0755);
		st->st_nlink = 2;
		st->st_size = 4096;
	} else {
		st->st_mode = S_IFREG | (a->committed || m->read_only ? 0444 : 0644);
		st->st_nlink = 1;
		st->st_size = (off_t)a->size;
		st->st_blksize = 1 << 20;	/* tells cp and friends to use large reads */
		st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	}
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct mvbfs *m = ctx();
	struct ns_attr a = { 0 };
	struct errmsg e = { { 0 } };
	char name[256];
	enum vkind k;
	int rc;

	if (!strcmp(path, "/") || !strcmp(path, "/.snapshot")) {
		a.is_dir = 1;
		a.mtime = m->mounted_at;
		fill_stat(m, st, &a);
		return 0;
	}
	k = classify_virtual(path, name, sizeof(name));
	if (k != V_NONE) {
		struct buf b = BUF_INIT(VFILE_MAX);

		if (k == V_BACKUP_INFO || k == V_BACKUP_INFO_JSON || k == V_BACKUP_STATUS ||
		    k == V_BACKUP_EXPIRES || k == V_BACKUP_RESTORE) {
			int job = jobtable_get(m->jobs, name, NULL) != JT_NONE;

			if (hidden(m, name)) {
				/* being deleted: its .status (the delete's progress), nothing else */
				if (k != V_BACKUP_STATUS || !job)
					return -ENOENT;
			} else if (!job) {
				/* an S3 failure is an I/O error, never "no such backup" (issue 6) */
				rc = ns_backup_exists(m->ns, name, &e);
				if (rc) {
					if (rc != -ENOENT)
						log_failure("cannot stat", path, rc, &e);
					return rc;
				}
			}
		}
		/* render to report the true size; the kernel re-reads at open (direct_io) */
		rc = render(m, k, name, &b, NULL, &e);
		if (rc) {
			log_failure("cannot render", path, rc, &e);
			buf_release(&b);
			return rc;
		}
		a.size = b.len;
		a.mtime = time(NULL);
		a.committed = k != V_BACKUP_EXPIRES;	/* .expires is 0644 (spec §3) */
		buf_release(&b);
		fill_stat(m, st, &a);
		if (k == V_BACKUP_RESTORE)
			st->st_mode = S_IFREG | (m->read_only ? 0400 : 0600);
		return 0;
	}
	if (!strncmp(path, "/.snapshot/", 11)) {
		if (strchr(path + 11, '/') || !jobtable_running(m->jobs, path + 11, JT_SNAPSHOT))
			return -ENOENT;	/* no snapshot in progress has that name */
		a.is_dir = 1;
		a.mtime = time(NULL);
		fill_stat(m, st, &a);
		return 0;
	}
	/*
	 * Two names resolve, unlisted, as an empty read-only directory and nothing below:
	 * Milvus's own data (never removable, issue 6), and a backup being deleted, whose content
	 * is gone for every reader at once (spec §5.5) while `cat NAME/.status` still follows
	 * the delete (issue 6, item 12).
	 */
	if (backup_of(path, name, sizeof(name)) && (ns_milvus_data(m->ns, name) || hidden(m, name))) {
		if (strchr(path + 1, '/'))
			return -ENOENT;
		a.is_dir = 1;
		a.mtime = ns_milvus_data(m->ns, name) ? m->mounted_at : time(NULL);
		fill_stat(m, st, &a);
		st->st_mode = S_IFDIR | 0555;
		return 0;
	}
	rc = import_getattr(m->imports, path, &a);	/* copies in, and their mtimes */
	if (rc == IMPORT_PASS)
		rc = ns_getattr(m->ns, path + 1, &a, NULL, &e);
	if (rc == -ENOENT && !strchr(path + 1, '/') &&
	    jobtable_running(m->jobs, path + 1, JT_SNAPSHOT)) {
		/* just reserved: the root listing has not caught up yet */
		a.is_dir = 1;
		a.mtime = time(NULL);
		rc = 0;
	}
	if (rc) {
		log_failure("cannot stat", path, rc, &e);
		return rc;
	}
	fill_stat(m, st, &a);
	return 0;
}

struct fill_ctx {
	struct mvbfs *m;
	void *buf;
	fuse_fill_dir_t filler;
	int plus;
	int root;	/* listing the root: skip backups being deleted */
	char **seen;	/* names filled, when listing inside a backup being copied in */
	size_t nseen, cap_seen;
	int hide_sidecar;	/* the top of a backup being copied in: the reservation */
};

static int fill_one(void *arg, const char *name, const struct ns_attr *a)
{
	struct fill_ctx *f = arg;
	struct stat st;

	if (f->root && unlisted(f->m, name))
		return 0;
	if (f->hide_sidecar && !strcmp(name, SIDECAR_NAME))
		return 0;
	if (f->cap_seen != (size_t)-1 && !ARRAY_GROW(f->seen, f->nseen, f->cap_seen, 16) &&
	    (f->seen[f->nseen] = strdup(name)) != NULL)
		f->nseen++;
	fill_stat(f->m, &st, a);
	return f->filler(f->buf, name, &st, 0, f->plus ? FUSE_FILL_DIR_PLUS : 0);
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct mvbfs *m = ctx();
	struct fill_ctx f = { m, buf, filler, (flags & FUSE_READDIR_PLUS) != 0, 0, NULL, 0,
			      (size_t)-1 };
	struct errmsg e = { { 0 } };
	char name[256];
	int rc;

	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	if (!strcmp(path, "/")) {
		f.root = 1;
		rc = ns_list_root(m->ns, fill_one, &f, &e);
	} else if (!strcmp(path, "/.snapshot")) {
		/* the snapshots being taken now */
		char **names = jobtable_names(m->jobs, JT_SNAPSHOT);
		struct ns_attr a = { .is_dir = 1, .mtime = time(NULL) };
		size_t i;

		for (i = 0; names && names[i]; i++)
			if (fill_one(&f, names[i], &a))
				break;
		jobtable_names_free(names);
		rc = 0;
	} else if (!strncmp(path, "/.snapshot/", 11)) {
		/* a snapshot being taken: an empty directory here; its data is at /NAME */
		rc = jobtable_running(m->jobs, path + 11, JT_SNAPSHOT) ? 0 : -ENOENT;
	} else if (backup_of(path, name, sizeof(name)) &&
		   (ns_milvus_data(m->ns, name) || hidden(m, name))) {
		/* Milvus's data (never walked) or a backup being deleted: empty (op_getattr) */
		rc = strchr(path + 1, '/') ? -ENOENT : 0;
	} else if (backup_of(path, name, sizeof(name)) && import_active(m->imports, name)) {
		/* being copied in: what is stored plus what is being written */
		f.cap_seen = 0;
		f.hide_sidecar = !strchr(path + 1, '/');
		rc = ns_list_dir(m->ns, path + 1, fill_one, &f, &e);
		if (rc == -ENOENT || rc == 0)
		{
			f.hide_sidecar = 0;	/* a copied sidecar held for the commit is listed */
			rc = import_readdir(m->imports, path, f.seen, f.nseen, fill_one, &f);
		}
		for (size_t i = 0; i < f.nseen; i++)
			free(f.seen[i]);
		free(f.seen);
	} else
		rc = ns_list_dir(m->ns, path + 1, fill_one, &f, &e);
	if (rc)
		log_failure("cannot list", path, rc, &e);
	return rc;
}

/* .restore opened for writing: each write() is one command (restore_ctl.h) */
static int open_restore_ctl(struct mvbfs *m, const char *name, struct fuse_file_info *fi)
{
	struct errmsg e = { { 0 } };
	struct fh *h;
	int rc;

	if (m->read_only)
		return -EROFS;
	if (hidden(m, name))
		return -ENOENT;
	if (jobtable_get(m->jobs, name, NULL) == JT_NONE && (rc = ns_backup_exists(m->ns, name, &e)))
		return rc;
	if (!(h = calloc(1, sizeof(*h))))
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->kind = V_BACKUP_RESTORE;
	snprintf(h->name, sizeof(h->name), "%s", name);
	fi->direct_io = 1;
	fi->fh = (uintptr_t)h;
	fh_link(m, h);
	return 0;
}


/* `echo cmd > .restore` truncates first: a no-op there */

static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct mvbfs *m = ctx();
	struct errmsg e = { { 0 } };
	struct ns_attr a;
	struct fh *h;
	char name[256], *key = NULL;
	enum vkind k;
	int rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY && restore_ctl_path(path, name, sizeof(name)))
		return open_restore_ctl(m, name, fi);
	k = classify_virtual(path, name, sizeof(name));
	if ((fi->flags & O_ACCMODE) != O_RDONLY && m->read_only)
		return -EROFS;
	if ((fi->flags & O_ACCMODE) != O_RDONLY && k != V_NONE && k != V_BACKUP_EXPIRES)
		return -EACCES;	/* the other virtual files are read-only */
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		rc = owner_only(m);
		if (!rc && k == V_BACKUP_EXPIRES) {
			/* .expires opened for writing: the value is taken at write() (autopilot.c) */
			h->kind = k;
			snprintf(h->name, sizeof(h->name), "%s", name);
		} else if (!rc) {
			/* spec §5.3: writing is copying in; anything else is read-only */
			rc = import_open_write(m->imports, path, fi->flags, &h->imp);
		}
		if (rc)
			goto fail;
		fi->direct_io = 1;
		fi->fh = (uintptr_t)h;
		fh_link(m, h);
		return 0;
	}
	if (k != V_NONE) {
		struct buf b = BUF_INIT(VFILE_MAX);

		rc = render(m, k, name, &b, &h->seen, &e);
		if (rc) {
			buf_release(&b);
			goto fail;
		}
		h->kind = k;
		snprintf(h->name, sizeof(h->name), "%s", name);
		h->text = buf_detach(&b, &h->len);
		if (!h->text) {
			rc = -ENOMEM;
			goto fail;
		}
		fi->direct_io = 1;	/* never cached: .status changes under the reader */
		fi->fh = (uintptr_t)h;
		fh_link(m, h);
		return 0;
	}
	rc = ns_getattr(m->ns, path + 1, &a, &key, &e);
	if (rc)
		goto fail;
	if (a.is_dir) {
		rc = -EISDIR;
		goto fail;
	}
	h->ra = ra_open(m->ra, key, a.size);
	free(key);
	if (!h->ra) {
		rc = -ENOMEM;
		goto fail;
	}
	/* a backup being read (cp -r, rsync) does not expire away under the reader */
	if (backup_of(path, h->name, sizeof(h->name)))
		autopilot_hold(m->autopilot, h->name);
	/*
	 * Large objects (binlogs) bypass the page cache: they are read once, in order (cp -r,
	 * rsync, cat), and caching GiBs of backup data would cost a copy per byte (measured:
	 * the daemon is CPU-bound on a 2-core host, spec §8) and evict the host's useful cache.
	 * Reads then arrive at the application's size (st_blksize 1 MiB) and the read-ahead
	 * engine still streams ahead.  Small objects (meta) stay cached; committed ones are
	 * immutable, so their cache is kept across opens.
	 */
	if (a.size >= DIRECT_IO_MIN)
		fi->direct_io = 1;
	else
		fi->keep_cache = a.committed;
	fi->fh = (uintptr_t)h;
	fh_link(m, h);
	return 0;
fail:
	log_failure("cannot open", path, rc, &e);
	free(h);
	return rc;
}

static int op_read(const char *path, char *dst, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	struct errmsg e = { { 0 } };
	ssize_t n;

	if (off < 0)
		return -EINVAL;
	if (h->imp)
		return -EBADF;	/* files being copied in are write-only */
	if (h->text) {
		int rc = 0;

		pthread_mutex_lock(&h->lock);
		if (off == 0 && h->kind == V_BACKUP_STATUS) {
			/* a reader that polls and re-reads from the start sees the news */
			struct buf b = BUF_INIT(VFILE_MAX);
			uint64_t seen = h->seen;
			char *text;
			size_t len;

			if (render(ctx(), h->kind, h->name, &b, &seen, &e) == 0) {
				text = buf_detach(&b, &len);
				if (text) {
					free(h->text);
					h->text = text;
					h->len = len;
					h->seen = seen;
				}
			}
			buf_release(&b);
		}
		if ((size_t)off < h->len) {
			if (size > h->len - (size_t)off)
				size = h->len - (size_t)off;
			memcpy(dst, h->text + off, size);
			rc = (int)size;
		}
		pthread_mutex_unlock(&h->lock);
		return rc;
	}
	n = ra_read(h->ra, dst, size, (uint64_t)off, &e);
	if (n < 0)
		log_failure("cannot read", path, (int)n, &e);
	return (int)n;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	struct mvbfs *m = ctx();
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;

	if (h->kind == V_BACKUP_STATUS)
		jobtable_unwatch(m->jobs, h);
	if (h->ra && h->name[0])
		autopilot_unhold(m->autopilot, h->name);
	if (h->imp)
		import_release(h->imp);	/* the upload goes on in the background */
	h->imp = NULL;
	pthread_mutex_lock(&m->open_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		m->open_files = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&m->open_lock);
	fh_free(h);
	return 0;
}

static int op_opendir(const char *path, struct fuse_file_info *fi)
{
	return 0;
}

static int op_statfs(const char *path, struct statvfs *sv)
{
	memset(sv, 0, sizeof(*sv));
	/* object storage has no fixed size: report a large, mostly free filesystem */
	sv->f_bsize = 1 << 20;
	sv->f_frsize = 1 << 20;
	sv->f_blocks = 1ull << 30;
	sv->f_bfree = 1ull << 30;
	sv->f_bavail = 1ull << 30;
	sv->f_files = 1ull << 30;
	sv->f_ffree = 1ull << 30;
	sv->f_namemax = 255;
	return 0;
}

/* poll() on .status: readable when the job has changed since the text was rendered. */
static int op_poll(const char *path, struct fuse_file_info *fi, struct fuse_pollhandle *ph,
		   unsigned *revents)
{
	struct mvbfs *m = ctx();
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	uint64_t seen;
	int rc;

	if (h->kind != V_BACKUP_STATUS) {
		*revents |= POLLIN;	/* everything else is always readable */
		if (ph)
			fuse_pollhandle_destroy(ph);
		return 0;
	}
	pthread_mutex_lock(&h->lock);
	seen = h->seen;
	pthread_mutex_unlock(&h->lock);
	/* one atomic check-and-register: a separate check then register missed a change that
	 * fell in between (bug 8: the final one left the poller asleep) */
	rc = jobtable_watch(m->jobs, h->name, h, seen, ph);
	if (rc < 0)
		return rc;
	if (rc)
		*revents |= POLLIN;
	return 0;
}

/* Take the control of backup `name` (mkdir/rmdir of it run one at a time).  0 or -ENOMEM. */
static int name_lock(struct mvbfs *m, const char *name)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&m->names_lock);
	for (;;) {
		for (i = 0; i < m->nbusy && strcmp(m->busy[i].name, name); i++)
			;
		if (i == m->nbusy)
			break;
		pthread_cond_wait(&m->names_cond, &m->names_lock);
	}
	if (ARRAY_GROW(m->busy, m->nbusy, m->cap_busy, 4))
		rc = -ENOMEM;
	else
		snprintf(m->busy[m->nbusy++].name, sizeof(m->busy[0].name), "%s", name);
	pthread_mutex_unlock(&m->names_lock);
	return rc;
}

static void name_unlock(struct mvbfs *m, const char *name)
{
	size_t i;

	pthread_mutex_lock(&m->names_lock);
	for (i = 0; i < m->nbusy; i++) {
		if (!strcmp(m->busy[i].name, name)) {
			m->busy[i] = m->busy[--m->nbusy];
			break;
		}
	}
	pthread_cond_broadcast(&m->names_cond);
	pthread_mutex_unlock(&m->names_lock);
}

/* Map a failed Milvus check to the errno mkdir returns (spec §5.2). */
static int milvus_errno(int rc)
{
	switch (rc) {
	case -EACCES:
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
		return rc;
	default:
		return -EHOSTUNREACH;
	}
}

/* Does Milvus answer, within well under a second? */
static int milvus_probe(struct mvbfs *m, struct errmsg *err)
{
	struct milvus_client_opts o;
	struct milvus_client *probe = NULL;
	int rc;

	mvbfs_milvus_opts(m->cfg, 800, 1, &o);
	rc = milvus_client_new(&o, &probe, err);
	if (!rc)
		rc = milvus_connect(probe, err);
	milvus_client_free(probe);
	return rc;
}

void mvbfs_milvus_opts(const struct config *cfg, long timeout_ms, int max_conns,
		       struct milvus_client_opts *o)
{
	const struct milvus_config *mc = &cfg->milvus;

	memset(o, 0, sizeof(*o));
	o->host = mc->address;
	o->port = mc->port;
	o->user = mc->user;
	o->password = mc->password;
	o->tls_mode = mc->tls_mode;
	o->ca_file = mc->ca_cert_path;
	o->server_name = mc->server_name;
	o->cert_file = mc->mtls_cert_path;
	o->key_file = mc->mtls_key_path;
	o->timeout_ms = timeout_ms;
	o->max_conns = max_conns;
}

static char *prefix_of(struct mvbfs *m, const char *name)
{
	char *p;

	if (asprintf(&p, "%s%s/", ns_root_prefix(m->ns), name) < 0)
		return NULL;
	return p;
}

/* mkdir /.snapshot/NAME (spec §5.2): check, reserve, start the job, return. */
static int snapshot_start(struct mvbfs *m, const char *name, enum sidecar_kind kind)
{
	struct backup_create_params *p = NULL;
	struct errmsg e = { { 0 } };
	struct sidecar sc = { 0 };
	struct job *j = NULL;
	unsigned char rnd[4] = { 0 };
	int rc;

	if (!backup_name_valid(name)) {
		log_err("cannot snapshot '%s': a backup name is a letter or '_' followed by up to "
			"127 letters, digits or '_'", name);
		return -EINVAL;
	}
	if (!m->milvus_store) {
		log_err("cannot snapshot '%s': the Milvus bucket is not reachable with this "
			"configuration (minio.*)", name);
		return -EIO;
	}
	/* the Milvus check needs no lock: it is a read of the outside world */
	rc = milvus_probe(m, &e);
	if (rc) {
		log_err("cannot snapshot '%s': %s", name, errmsg_str(&e, rc));
		return milvus_errno(rc);
	}
	rc = name_lock(m, name);
	if (rc)
		return rc;
	if (jobtable_running(m->jobs, name, JT_SNAPSHOT) || jobtable_running(m->jobs, name, JT_DELETE)) {
		rc = -EEXIST;
		goto out;
	}
	sc.format = SIDECAR_FORMAT;
	snprintf(sc.created_by, sizeof(sc.created_by), "%s", sidecar_creator());
	sc.created = mvb_now();	/* the test-hook clock in tests (timefmt.h) */
	{
		/* spec §5.6: automatic snapshots expire after retention, manual ones after
		 * manual_retention (0 = never) */
		int64_t keep = kind == SIDECAR_KIND_SCHEDULED ? m->cfg->fs.retention_s :
			       m->cfg->fs.manual_retention_s;

		sc.expires = keep > 0 ? sc.created + keep : 0;
	}
	sc.kind = kind;
	{
		FILE *f = fopen("/dev/urandom", "rb");

		if (f) {
			if (fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd))
				memset(rnd, 0, sizeof(rnd));
			fclose(f);
		}
	}
	snprintf(sc.job, sizeof(sc.job), "snapshot-%lld-%02x%02x%02x%02x", (long long)sc.created,
		 rnd[0], rnd[1], rnd[2], rnd[3]);
	rc = backup_reserve(m->store, ns_root_prefix(m->ns), name, &sc, &e);
	if (rc) {
		if (rc != -EEXIST)
			log_err("cannot snapshot '%s': %s", name, errmsg_str(&e, rc));
		goto out;
	}
	(void)MVB_CRASH_POINT("snapshot_reserved");
	/* the session is opened once, before any job shares the client (its version string is
	 * read by running jobs without a lock: milvus_client_version) */
	rc = milvus_client_version(m->milvus)[0] ? 0 : milvus_connect(m->milvus, &e);
	p = calloc(1, sizeof(*p));
	if (rc || !p) {
		rc = rc ? milvus_errno(rc) : -ENOMEM;
		log_err("cannot snapshot '%s': %s", name, errmsg_str(&e, rc));
		goto unreserve;
	}
	p->backup_store = m->store;
	p->backup_prefix = prefix_of(m, name);
	p->name = strdup(name);
	p->milvus_store = m->milvus_store;
	p->milvus_bucket = strdup(m->cfg->milvus_storage.bucket);
	p->milvus_root = strdup(m->cfg->milvus_storage.root_path);
	p->milvus = m->milvus;
	p->filter = strdup(m->cfg->fs.snapshot_filter ? m->cfg->fs.snapshot_filter : "");
	p->copy_parallel = m->cfg->fs.copy_parallel;
	p->force_streaming = m->cfg->cross_storage;
	p->multipart_threshold = m->cfg->multipart_copy_threshold;
	p->gc_pause_address = strdup(m->cfg->milvus.gc_pause_address ? m->cfg->milvus.gc_pause_address : "");
	p->gc_pause_enable = m->cfg->milvus.gc_pause_enable;
	p->sidecar_job = strdup(sc.job);
	if (!p->backup_prefix || !p->name || !p->milvus_bucket || !p->milvus_root || !p->filter ||
	    !p->gc_pause_address || !p->sidecar_job) {
		rc = -ENOMEM;
		goto unreserve;
	}
	rc = job_start("snapshot", backup_create_job, p, backup_create_params_free, &j);
	if (rc)
		goto unreserve;
	p = NULL;
	rc = jobtable_add(m->jobs, name, JT_SNAPSHOT, j);
	if (rc) {
		job_cancel(j);
		job_free(j);
		goto unreserve;
	}
	log_info("snapshot '%s' started (%s)", name, job_id(j));
	ns_invalidate(m->ns, name);
	rc = 0;
	goto out;
unreserve:
	/* nothing but the reservation was written: give the name back */
	{
		char *key = NULL, *prefix = prefix_of(m, name);

		if (prefix && asprintf(&key, "%s%s", prefix, SIDECAR_NAME) >= 0) {
			const char *keys[1] = { key };

			backup_delete_keys(m->store, prefix, keys, 1, NULL);
		}
		free(key);
		free(prefix);
	}
	if (p)
		backup_create_params_free(p);
out:
	name_unlock(m, name);
	return rc;
}

static int op_mkdir(const char *path, mode_t mode)
{
	struct mvbfs *m = ctx();
	const char *dir;
	int rc;

	if (m->read_only)
		return -EROFS;
	rc = owner_only(m);
	if (rc)
		return rc;
	if (!strncmp(path, "/.snapshot/", 11) && !strchr(path + 11, '/')) {
		dir = ns_milvus_data(m->ns, path + 11);
		if (dir)
			return refuse_milvus_data(m, "snapshot into", path, dir);
		return snapshot_start(m, path + 11, SIDECAR_KIND_MANUAL);
	}
	if (!strncmp(path, "/.snapshot/", 11))
		return -ENOENT;
	if (!strchr(path + 1, '/')) {
		/* a plain directory at the root is a copy target (spec §5.3) */
		if ((dir = ns_milvus_data(m->ns, path + 1)))
			return refuse_milvus_data(m, "create", path, dir);
		if (path[1] == '.')
			return -EROFS;
		return import_mkdir_root(m->imports, path + 1);
	}
	rc = import_mkdir(m->imports, path);
	return rc == IMPORT_PASS ? -EROFS : rc;
}

/*
 * Removals inside a backup (spec §5.5).  `rm -rf NAME` unlinks every file and removes every
 * subdirectory before its final `rmdir NAME`, and GNU rm never gets to that rmdir once a
 * removal inside failed - so those removals must succeed.  But deleting anything on the
 * first unlink would let `rsync --remove-source-files` or `tar --remove-files` destroy a
 * backup they are still reading.  So a removal inside a backup deletes nothing: it marks the
 * backup *pending*: it leaves `ls` at once, its tree stays walkable exactly as it was
 * (frozen), later removals inside succeed too, and the final `rmdir NAME` deletes it as a
 * whole.  Without that rmdir within PENDING_MS of the last removal, the mark lapses and the
 * backup is back, untouched.
 */
#define PENDING_MS 30000

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Called with m->pending_lock held: drop lapsed marks (re-reading those backups). */
static void pending_expire_locked(struct mvbfs *m)
{
	size_t i = 0;

	while (i < m->npending) {
		if (mono_ms() - m->pending[i].touched_ms <= PENDING_MS) {
			i++;
			continue;
		}
		log_warn("nothing deleted in '%s': removing files inside a backup only deletes it "
			 "together with 'rmdir %s' (as rm -rf does)", m->pending[i].name,
			 m->pending[i].name);
		ns_invalidate(m->ns, m->pending[i].name);
		m->pending[i] = m->pending[--m->npending];
	}
}

static int pending_find_locked(struct mvbfs *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->npending; i++)
		if (!strcmp(m->pending[i].name, name))
			return (int)i;
	return -1;
}

/* 1 while `name` is marked pending. */
static int pending(struct mvbfs *m, const char *name)
{
	int r;

	pthread_mutex_lock(&m->pending_lock);
	pending_expire_locked(m);
	r = pending_find_locked(m, name) >= 0;
	pthread_mutex_unlock(&m->pending_lock);
	return r;
}

/* Mark (or refresh) `name` pending; 0 or -ENOMEM. */
static int pending_touch(struct mvbfs *m, const char *name)
{
	int i, rc = 0;

	pthread_mutex_lock(&m->pending_lock);
	pending_expire_locked(m);
	i = pending_find_locked(m, name);
	if (i < 0) {
		if (ARRAY_GROW(m->pending, m->npending, m->cap_pending, 4)) {
			rc = -ENOMEM;
			goto out;
		}
		i = (int)m->npending++;
		snprintf(m->pending[i].name, sizeof(m->pending[i].name), "%s", name);
		ns_pin(m->ns, name);	/* the tree rm is walking stays as it was */
	}
	m->pending[i].touched_ms = mono_ms();
out:
	pthread_mutex_unlock(&m->pending_lock);
	return rc;
}

static void pending_clear(struct mvbfs *m, const char *name)
{
	int i;

	pthread_mutex_lock(&m->pending_lock);
	i = pending_find_locked(m, name);
	if (i >= 0)
		m->pending[i] = m->pending[--m->npending];
	pthread_mutex_unlock(&m->pending_lock);
}

/* A removal inside backup `name`: mark it pending (see above). */
static int remove_inside(struct mvbfs *m, const char *name)
{
	struct errmsg e = { { 0 } };
	int rc;

	if (jobtable_deleting(m->jobs, name))
		return 0;	/* rmdir NAME came first: the delete is running already */
	if (jobtable_running(m->jobs, name, JT_SNAPSHOT))
		return -EBUSY;	/* a snapshot writes it: rmdir NAME cancels it */
	if (jobtable_running(m->jobs, name, JT_RESTORE))
		return -EBUSY;	/* a restore reads it */
	if (!pending(m, name)) {
		/* an S3 failure must not read as ENOENT: rm -rf ignores that and goes on to
		 * report success with the backup still there (issue 6, bug 11) */
		rc = ns_backup_exists(m->ns, name, &e);
		if (rc) {
			if (rc != -ENOENT)
				log_err("cannot remove inside '%s': %s", name, errmsg_str(&e, rc));
			return rc;
		}
	}
	return pending_touch(m, name);
}

/* Delete backup `name` as a whole (spec §5.5): meta first, data in the background. */
static int delete_backup(struct mvbfs *m, const char *name)
{
	struct backup_delete_params *p = NULL;
	struct errmsg e = { { 0 } };
	struct job *j = NULL;
	const char *dir;
	char *prefix = NULL;
	int rc;

	rc = name_lock(m, name);
	if (rc)
		return rc;
	pending_clear(m, name);
	if (jobtable_deleting(m->jobs, name)) {
		rc = 0;	/* already going */
		goto out;
	}
	if (jobtable_running(m->jobs, name, JT_RESTORE)) {
		log_err("cannot delete '%s': a restore from it is running", name);
		rc = -EBUSY;	/* spec §5.5 */
		goto out;
	}
	if (jobtable_running(m->jobs, name, JT_SNAPSHOT)) {
		/* spec §5.2: rmdir of a creating backup cancels it and removes what it wrote */
		log_info("snapshot '%s' cancelled by rmdir", name);
		jobtable_cancel_wait(m->jobs, name);
	} else if ((rc = ns_backup_exists(m->ns, name, &e)) != 0) {
		struct ns_attr a;

		if (rc == -ENOENT) {
			rc = ns_getattr(m->ns, name, &a, NULL, NULL);
			rc = rc == 0 ? -ENOTDIR : rc;
		} else {
			/* the store failed: EIO/ETIMEDOUT, never "no such backup" (issue 6) */
			log_err("cannot delete '%s': %s", name, errmsg_str(&e, rc));
		}
		goto out;
	}
	if ((dir = ns_milvus_data(m->ns, name)) != NULL) {
		rc = refuse_milvus_data(m, "delete", name, dir);
		goto out;
	}
	prefix = prefix_of(m, name);
	if (!prefix) {
		rc = -ENOMEM;
		goto out;
	}
	rc = backup_delete_meta(m->store, prefix, &e);
	if (rc) {
		log_err("cannot delete '%s': %s", name, errmsg_str(&e, rc));
		rc = rc == -ENOENT ? -EIO : rc;
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		rc = -ENOMEM;
		goto out;
	}
	p->store = m->store;
	p->prefix = prefix;
	prefix = NULL;
	p->name = strdup(name);
	if (!p->name) {
		rc = -ENOMEM;
		goto out;
	}
	rc = job_start("delete", backup_delete_job, p, backup_delete_params_free, &j);
	if (rc)
		goto out;
	p = NULL;
	/* replaces a finished snapshot or an earlier failed delete of the name */
	rc = jobtable_add(m->jobs, name, JT_DELETE, j);
	if (rc) {
		log_err("cannot track the delete of '%s': %s", name, strerror(-rc));
		job_free(j);	/* it runs to the end: the meta is gone already */
		goto out;
	}
	log_info("deleting backup '%s' (%s)", name, job_id(j));
out:
	/* Also on failure: the meta may be half gone (.info must re-read storage, never show
	 * the cached `complete`), and a tree pinned by rm -rf must not outlive its rmdir. */
	ns_invalidate(m->ns, name);
	name_unlock(m, name);
	if (p)
		backup_delete_params_free(p);
	free(prefix);
	return rc;
}

static int op_rmdir(const char *path)
{
	struct mvbfs *m = ctx();
	const char *dir;
	char name[256];
	int rc;

	if (m->read_only)
		return -EROFS;
	rc = owner_only(m);
	if (rc)
		return rc;
	if (backup_of(path, name, sizeof(name)) && (dir = ns_milvus_data(m->ns, name)))
		return refuse_milvus_data(m, "delete", path, dir);
	if (!strncmp(path, "/.snapshot/", 11)) {
		if (strchr(path + 11, '/') || !jobtable_running(m->jobs, path + 11, JT_SNAPSHOT))
			return -ENOENT;
		return delete_backup(m, path + 11);
	}
	if (!backup_of(path, name, sizeof(name)))
		return -EPERM;	/* ".snapshot" itself and other virtual names */
	if (strchr(path + 1, '/')) {
		rc = import_rmdir(m->imports, path);
		return rc != IMPORT_PASS ? rc : remove_inside(m, name);
	}
	import_cancel(m->imports, name);	/* a copy in: stop its uploads first */
	return delete_backup(m, name);
}

/* unlink inside a backup: see remove_inside() */
static int op_unlink(const char *path)
{
	struct mvbfs *m = ctx();
	const char *dir;
	char name[256];
	int rc;

	if (m->read_only)
		return -EROFS;
	rc = owner_only(m);
	if (rc)
		return rc;
	if (backup_of(path, name, sizeof(name)) && (dir = ns_milvus_data(m->ns, name)))
		return refuse_milvus_data(m, "delete", path, dir);
	if (!backup_of(path, name, sizeof(name)) || !strchr(path + 1, '/') ||
	    classify_virtual(path, name, sizeof(name)) != V_NONE)
		return -EROFS;	/* a stray object at the root, or a virtual file */
	rc = import_unlink(m->imports, path);
	if (rc == IMPORT_PASS && import_unlink_again(m->imports, path))
		return -ENOENT;	/* tar -x over a complete backup: no endless unlink/EEXIST */
	return rc != IMPORT_PASS ? rc : remove_inside(m, name);
}

/* The write path (spec §5.3): every call goes to fs/import.c. */
static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct mvbfs *m = ctx();
	struct fh *h;
	int rc;

	if (m->read_only)
		return -EROFS;
	rc = owner_only(m);
	if (rc)
		return rc;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	rc = import_create(m->imports, path, fi->flags, &h->imp);
	if (rc) {
		pthread_mutex_destroy(&h->lock);
		free(h);
		return rc;
	}
	fi->direct_io = 1;
	fi->fh = (uintptr_t)h;
	fh_link(m, h);
	return 0;
}


static int op_flush(const char *path, struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;

	return h->imp ? import_flush(h->imp) : 0;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;

	return h->imp ? import_fsync(h->imp) : 0;
}


static int op_rename(const char *from, const char *to, unsigned int flags)
{
	struct mvbfs *m = ctx();

	return m->read_only ? -EROFS : import_rename(m->imports, from, to, flags);
}

/* chmod/chown/utimens: recorded (mtime) while copying in, accepted as no-ops inside any
 * other backup (cp -a, tar and rsync set them after the last file); EROFS elsewhere. */
static int op_setattr_common(const char *path, int64_t mtime)
{
	struct mvbfs *m = ctx();

	if (m->read_only)
		return -EROFS;
	if (!strcmp(path, "/"))
		return 0;	/* rsync -a and tar set the target directory's times too */
	return import_setattr(m->imports, path, mtime);
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return op_setattr_common(path, -1);
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	return op_setattr_common(path, -1);
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	int64_t mt = -1;

	if (tv[1].tv_nsec == UTIME_NOW)
		mt = time(NULL);
	else if (tv[1].tv_nsec != UTIME_OMIT)
		mt = tv[1].tv_sec;
	return op_setattr_common(path, mt);
}

/* Writes: a file being copied in (fs/import.c), or a control file opened for writing
 * (op_open): .expires, .restore. */
static int op_write(const char *path, const char *src, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;

	if (h->imp)
		return import_write(h->imp, src, size, off);	/* copying in (fs/import.c) */
	if (h->kind == V_BACKUP_EXPIRES)
		return autopilot_expires_write(ctx(), h->name, src, size, off);
	if (h->kind == V_BACKUP_RESTORE && !h->text)
		return restore_ctl_write(ctx(), h->name, src, size, off);
	return -EBADF;
}

/* `echo 7d > NAME/.expires` truncates first: a no-op on a control file; a file being
 * copied in may be truncated to 0 (fs/import.c); anything else is read-only. */
static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct mvbfs *m = ctx();
	struct fh *h = fi ? (struct fh *)(uintptr_t)fi->fh : NULL;
	char name[256];
	int rc;

	if (m->read_only)
		return -EROFS;
	if (restore_ctl_path(path, name, sizeof(name)))
		return 0;	/* `echo > .restore` truncates first: nothing to do */
	if (classify_virtual(path, name, sizeof(name)) == V_BACKUP_EXPIRES)
		return owner_only(m);
	rc = import_truncate(m->imports, path, size, h ? h->imp : NULL);	/* copying in */
	return rc == IMPORT_PASS ? -EROFS : rc;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct mvbfs *m = ctx();

	cfg->use_ino = 0;
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 0.0;	/* a backup may appear at any moment */
	cfg->nullpath_ok = 0;
	/* large kernel read-ahead: cat and cp read sequentially */
	conn->max_readahead = 1u << 20;
	/* copy in (spec §8 CPU per GiB): 1 MiB writes instead of 128 KiB, 8x fewer requests */
	conn->max_write = 1u << 20;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	return m;
}

static const struct fuse_operations ops = {
	.init = op_init,
	.getattr = op_getattr,
	.readdir = op_readdir,
	.opendir = op_opendir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.statfs = op_statfs,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.unlink = op_unlink,
	.create = op_create,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.truncate = op_truncate,
	.rename = op_rename,
	.chmod = op_chmod,
	.chown = op_chown,
	.utimens = op_utimens,
	.poll = op_poll,
};

const struct fuse_operations *mvbfs_operations(void)
{
	return &ops;
}

int mvbfs_snapshot_kind(struct mvbfs *m, const char *name, enum sidecar_kind kind)
{
	return snapshot_start(m, name, kind);
}

int mvbfs_delete_backup(struct mvbfs *m, const char *name)
{
	return delete_backup(m, name);
}

/* A job ended (its thread): what storage says about the backup has changed. */
static void on_job_finish(void *arg, const char *name, enum jt_kind kind, enum job_state st)
{
	struct mvbfs *m = arg;
	struct job_progress p;

	if (kind == JT_RESTORE) {
		restore_ctl_finished(m, name, st);
		return;
	}
	if (kind == JT_SNAPSHOT && st == JOB_DONE)
		log_info("snapshot '%s' complete", name);
	else if (kind == JT_DELETE && st == JOB_DONE)
		log_info("backup '%s' deleted", name);
	else if (jobtable_get(m->jobs, name, &p) != JT_NONE)
		log_err("%s of '%s' %s: %s", kind == JT_SNAPSHOT ? "snapshot" : "delete", name,
			job_state_name(st), p.error);
	ns_invalidate(m->ns, name);
}

/* A delete's entry left the table: let go of the backup's frozen tree. */
static void on_job_forget(void *arg, const char *name)
{
	struct mvbfs *m = arg;

	ns_invalidate(m->ns, name);
}

int mvbfs_start(struct mvbfs *m, const struct config *cfg, int read_only, struct errmsg *err)
{
	struct ns_config nc = { 0 };
	struct ra_config rc_cfg = { 0 };
	struct milvus_client_opts mo = { 0 };
	struct errmsg e2 = { { 0 } };
	int rc;

	m->cfg = cfg;
	m->read_only = read_only;
	m->uid = getuid();
	m->gid = getgid();
	m->mounted_at = time(NULL);
	pthread_mutex_init(&m->names_lock, NULL);
	pthread_cond_init(&m->names_cond, NULL);
	pthread_mutex_init(&m->pending_lock, NULL);
	pthread_mutex_init(&m->open_lock, NULL);
	rc = config_open_store(cfg, &cfg->backup_storage, &m->store, err);
	if (rc)
		return rc;
	nc.ttl_ms = cfg->fs.cache_ttl_ms;
	nc.resolve_parallel = 16;
	if (config_same_bucket(&cfg->milvus_storage, &cfg->backup_storage)) {
		/* issue 6: Milvus's data directories in this bucket are never backups, and
		 * no delete of this mount may touch them */
		nc.milvus_root = cfg->milvus_storage.root_path;
		rc = backup_guard_protect(m->store, cfg->milvus_storage.root_path);
		if (rc) {
			errmsg_set(err, rc, "cannot protect Milvus's data in %s: %s",
				   objstore_name(m->store), strerror(-rc));
			goto fail;
		}
		if (config_backups_share_milvus_root(cfg))
			log_warn("backups share Milvus's root: backupRootPath '%s' and Milvus's "
				 "rootPath '%s' overlap in %s; Milvus's data directories (insert_log, "
				 "delta_log, ...) are not shown and are never deleted - set "
				 "minio.backupRootPath (e.g. 'backup') to keep them apart",
				 cfg->backup_storage.root_path, cfg->milvus_storage.root_path,
				 objstore_name(m->store));
	}
	rc = ns_new(m->store, cfg->backup_storage.root_path, &nc, &m->ns);
	if (rc)
		goto fail;
	rc = membudget_init(&m->budget, cfg->fs.memory_budget);
	if (rc)
		goto fail;
	m->budget_ok = 1;
	rc_cfg.max_window = cfg->fs.readahead_max;
	rc_cfg.parallel = (unsigned)cfg->fs.read_parallel;
	rc = ra_pool_new(m->store, &m->budget, &rc_cfg, &m->ra);
	if (rc) {
		errmsg_set(err, rc, "cannot start the read-ahead workers: %s", strerror(-rc));
		goto fail;
	}
	rc = jobtable_new(&m->jobs);
	if (rc)
		goto fail;
	jobtable_on_finish(m->jobs, on_job_finish, m);
	jobtable_on_forget(m->jobs, on_job_forget, m);
	rc = restore_ctl_new(&m->restore);
	if (rc)
		goto fail;
	rc = import_table_new(m, &m->imports);
	if (rc)
		goto fail;
	/* the Milvus side: only snapshots need it, so a failure here is a warning (spec §2) */
	if (config_open_store(cfg, &cfg->milvus_storage, &m->milvus_store, &e2))
		log_warn("snapshots are unavailable: %s", errmsg_str(&e2, -EIO));
	mvbfs_milvus_opts(cfg, 0, 8, &mo);	/* 0: the client's default deadline */
	rc = milvus_client_new(&mo, &m->milvus, err);
	if (rc)
		goto fail;
	rc = autopilot_start(m, &m->autopilot, err);
	if (rc)
		goto fail;
	return 0;
fail:
	mvbfs_stop(m);
	return rc;
}

void mvbfs_close(struct mvbfs *m)
{
	autopilot_stop(m->autopilot);	/* no new snapshot or delete from now on */
	jobtable_close(m->jobs);
}

void mvbfs_stop(struct mvbfs *m)
{
	/* jobs first: they use the stores and the client */
	autopilot_free(m->autopilot);
	m->autopilot = NULL;
	jobtable_free(m->jobs);	/* also drops the poll handles of open .status files */
	m->jobs = NULL;
	restore_ctl_free(m->restore);
	m->restore = NULL;
	milvus_client_free(m->milvus);
	m->milvus = NULL;
	/* files still open when the loop ended: the kernel sends no RELEASE for them any more
	 * (the FUSE loop is over), so free them here, before the read-ahead pool they use */
	while (m->open_files) {
		struct fh *h = m->open_files;

		m->open_files = h->next;
		fh_free(h);
	}
	import_table_free(m->imports);	/* unfinished copies stay incomplete */
	m->imports = NULL;
	if (m->ra)
		ra_pool_free(m->ra);
	m->ra = NULL;
	if (m->budget_ok)
		membudget_destroy(&m->budget);
	m->budget_ok = 0;
	ns_free(m->ns);
	m->ns = NULL;
	objstore_free(m->milvus_store);
	m->milvus_store = NULL;
	if (m->store)
		backup_guard_forget(m->store);
	objstore_free(m->store);
	m->store = NULL;
	free(m->pending);
	m->pending = NULL;
	m->npending = m->cap_pending = 0;
	free(m->busy);
	m->busy = NULL;
	m->nbusy = m->cap_busy = 0;
}
