/*
 * fsops.c - the FUSE operations and their table: classify paths, map them onto the namespace
 * (namespace.h), serve object reads through the read-ahead engine (readahead.h) and the
 * virtual files (rendered by status.c).
 *
 * Paths (spec §3):
 *   /                       the backup root
 *   /.info /.info.json      virtual, lookup-only: one row per backup
 *   /.snapshot              virtual, lookup-only directory: snapshots being taken
 *   /NAME                   a backup (directory) or a stray object (file)
 *   /NAME/.info[.json]      virtual: the backup's details
 *   /NAME/.status           virtual: state and progress of the job on the backup
 *   /NAME/.expires          virtual, read/write: the backup's expiry (autopilot.c)
 *   /NAME/.restore          virtual control file: restore commands (restore_ctl.c)
 *   /NAME/...               the backup's objects
 * Virtual names never appear in readdir, so cp -r, rsync, tar, du and find see exactly the
 * stored objects.
 *
 * Control operations (spec §5.2, §5.5; their work is in control.c): `mkdir /.snapshot/NAME`
 * validates, reserves the name and starts a snapshot job; `rmdir /NAME` removes the meta at
 * once and the data in the background.  Removing anything *inside* a backup deletes nothing:
 * it only marks the backup pending for the `rmdir NAME` that `rm -rf` ends with (see
 * remove_inside()).  Virtual files are rendered by status.c; the mount's start and stop are
 * mount.c's.
 *
 * Milvus's own data (issue 6): when the backup root shares Milvus's root, Milvus's data
 * directories (ns_milvus_data) are never listed, resolve as empty read-only directories,
 * and every removal or snapshot naming them is EPERM with a log line; the deletes
 * themselves all go through backup_delete_keys, which refuses such keys again.
 *
 * Four files: this one (path classification, attributes, opens and reads, the virtual files,
 * the table), fsread.c (how a read's bytes reach the kernel), fsops_dir.c (listings) and
 * fsops_write.c (mkdir/rmdir, removals, the writes of a copy in); what they share is in
 * fsops_internal.h, with an fo_ prefix.
 */
#include "fsops_internal.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "mvbackupfs/base/log.h"
#include "mvbackupfs/fs/autopilot.h"
#include "mvbackupfs/fs/import.h"
#include "mvbackupfs/fs/restore_ctl.h"

struct mvbfs *fo_ctx(void)
{
	return fuse_get_context()->private_data;
}

/* A handle the kernel now holds: listed, so that mvbfs_stop frees the ones it never releases
 * (after the loop ends, e.g. at SIGTERM, no RELEASE comes for files still open). */
void fo_fh_link(struct mvbfs *m, struct fh *h)
{
	pthread_mutex_lock(&m->open_lock);
	h->prev = NULL;
	h->next = m->open_files;
	if (h->next)
		h->next->prev = h;
	m->open_files = h;
	pthread_mutex_unlock(&m->open_lock);
}

void fh_free(struct fh *h)
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
enum vkind fo_classify_virtual(const char *path, char *name, size_t size)
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

void fo_log_failure(const char *op, const char *path, int rc, const struct errmsg *e)
{
	if (rc == -ENOENT)
		return;	/* lookups of absent names are normal */
	log_err("%s '%s': %s", op, path, errmsg_str(e, rc));
}

/* "/.snapshot/NAME[/...]" -> "NAME[/...]"; NULL for every other path. */
const char *fo_under_snapshot(const char *path)
{
	static const char dir[] = "/.snapshot/";

	return strncmp(path, dir, sizeof(dir) - 1) ? NULL : path + sizeof(dir) - 1;
}

/* The backup a path is in ("/NAME/..." -> NAME); 0 for the root and virtual dirs. */
int fo_backup_of(const char *path, char *name, size_t size)
{
	const char *p = path + 1, *slash = strchr(p, '/');
	size_t len = slash ? (size_t)(slash - p) : strlen(p);

	if (len == 0 || len >= size || p[0] == '.')
		return 0;
	memcpy(name, p, len);
	name[len] = '\0';
	return 1;
}

/* A backup this mount is deleting is hidden from lookups too; one marked pending (a removal
 * inside it, see remove_inside) only from listings. */
int fo_hidden(struct mvbfs *m, const char *name)
{
	return jobtable_deleting(m->jobs, name);
}

/* Listings hide every backup being deleted, at once (spec §5.5). */
int fo_unlisted(struct mvbfs *m, const char *name)
{
	return jobtable_deleting(m->jobs, name) || pending_marked(m, name);
}

/* Spec §7: only the owner (the mounting user) or root may snapshot or delete, even where
 * the kernel's default_permissions would let a request through. */
int fo_owner_only(struct mvbfs *m)
{
	uid_t uid = fuse_get_context()->uid;

	return uid == m->uid || uid == 0 ? 0 : -EACCES;
}

/* A writing operation: a writable mount, and the owner (owner_only).  0 or -errno. */
int fo_may_write(struct mvbfs *m)
{
	return m->read_only ? -EROFS : fo_owner_only(m);
}

void fo_fill_stat(struct mvbfs *m, struct stat *st, const struct ns_attr *a)
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

/*
 * The attributes of a stored (listable) path: a copy in progress and a copied file's recorded
 * mtime first, then the namespace.  op_getattr and the listings (fill_one) both use it, so a
 * readdirplus entry, which the kernel caches as if looked up, says what a lookup would.
 */
int fo_stat_stored(struct mvbfs *m, const char *path, struct ns_attr *a, struct errmsg *e)
{
	int rc;

	rc = import_getattr(m->imports, path, a);	/* copies in, and their mtimes */
	if (rc == IMPORT_PASS)
		rc = ns_getattr(m->ns, path + 1, a, NULL, e);
	if (rc == -ENOENT && !strchr(path + 1, '/') &&
	    jobtable_running(m->jobs, path + 1, JT_SNAPSHOT)) {
		/* just reserved: the root listing has not caught up yet */
		memset(a, 0, sizeof(*a));
		a->is_dir = 1;
		a->mtime = time(NULL);
		rc = 0;
	}
	return rc;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct mvbfs *m = fo_ctx();
	const char *snap;
	struct ns_attr a = { 0 };
	struct errmsg e = { { 0 } };
	char name[256];
	enum vkind k;
	int rc;

	if (!strcmp(path, "/") || !strcmp(path, "/.snapshot")) {
		a.is_dir = 1;
		a.mtime = m->mounted_at;
		fo_fill_stat(m, st, &a);
		return 0;
	}
	k = fo_classify_virtual(path, name, sizeof(name));
	if (k != V_NONE) {
		struct buf b = BUF_INIT(VFILE_MAX);

		if (k == V_BACKUP_INFO || k == V_BACKUP_INFO_JSON || k == V_BACKUP_STATUS ||
		    k == V_BACKUP_EXPIRES || k == V_BACKUP_RESTORE) {
			int job = jobtable_get(m->jobs, name, NULL) != JT_NONE;

			if (fo_hidden(m, name)) {
				/* being deleted: its .status (the delete's progress), nothing else */
				if (k != V_BACKUP_STATUS || !job)
					return -ENOENT;
			} else if (!job) {
				/* an S3 failure is an I/O error, never "no such backup" (issue 6) */
				rc = ns_backup_exists(m->ns, name, &e);
				if (rc) {
					if (rc != -ENOENT)
						fo_log_failure("cannot stat", path, rc, &e);
					return rc;
				}
			}
		}
		/* render to report the true size; the kernel re-reads at open (direct_io) */
		rc = status_render(m, k, name, &b, NULL, &e);
		if (rc) {
			fo_log_failure("cannot render", path, rc, &e);
			buf_release(&b);
			return rc;
		}
		a.size = b.len;
		a.mtime = time(NULL);
		a.committed = k != V_BACKUP_EXPIRES;	/* .expires is 0644 (spec §3) */
		buf_release(&b);
		fo_fill_stat(m, st, &a);
		if (k == V_BACKUP_RESTORE)
			st->st_mode = S_IFREG | (m->read_only ? 0400 : 0600);
		return 0;
	}
	if ((snap = fo_under_snapshot(path)) != NULL) {
		if (strchr(snap, '/') || !jobtable_running(m->jobs, snap, JT_SNAPSHOT))
			return -ENOENT;	/* no snapshot in progress has that name */
		a.is_dir = 1;
		a.mtime = time(NULL);
		fo_fill_stat(m, st, &a);
		return 0;
	}
	/*
	 * Two names resolve, unlisted, as an empty read-only directory and nothing below:
	 * Milvus's own data (never removable, issue 6), and a backup being deleted, whose content
	 * is gone for every reader at once (spec §5.5) while `cat NAME/.status` still follows
	 * the delete (issue 6, item 12).
	 */
	if (fo_backup_of(path, name, sizeof(name)) && (ns_milvus_data(m->ns, name) || fo_hidden(m, name))) {
		if (strchr(path + 1, '/'))
			return -ENOENT;
		a.is_dir = 1;
		a.mtime = ns_milvus_data(m->ns, name) ? m->mounted_at : time(NULL);
		fo_fill_stat(m, st, &a);
		st->st_mode = S_IFDIR | 0555;
		return 0;
	}
	rc = fo_stat_stored(m, path, &a, &e);
	if (rc) {
		fo_log_failure("cannot stat", path, rc, &e);
		return rc;
	}
	/* (a copy's sidecar: the size it arrived with, from ns_getattr: sidecar_view.c) */
	fo_fill_stat(m, st, &a);
	return 0;
}


/* .restore opened for writing: each write() is one command (restore_ctl.h) */
static int open_restore_ctl(struct mvbfs *m, const char *name, struct fuse_file_info *fi)
{
	struct errmsg e = { { 0 } };
	struct fh *h;
	int rc;

	if (m->read_only)
		return -EROFS;
	if (fo_hidden(m, name))
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
	fo_fh_link(m, h);
	return 0;
}

/* A file opened for writing (h: its new handle): .expires, or a file of a copy in. */
static int open_for_write(struct mvbfs *m, const char *path, enum vkind k, const char *name,
			  struct fh *h, struct fuse_file_info *fi)
{
	int rc = fo_owner_only(m);

	if (!rc && k == V_BACKUP_EXPIRES) {
		/* .expires opened for writing: the value is taken at write() (autopilot.c) */
		h->kind = k;
		snprintf(h->name, sizeof(h->name), "%s", name);
	} else if (!rc) {
		/* spec §5.3: writing is copying in; anything else is read-only */
		rc = import_open_write(m->imports, path, fi->flags, &h->imp);
	}
	if (rc)
		return rc;
	fi->direct_io = 1;
	fi->fh = (uintptr_t)h;
	fo_fh_link(m, h);
	return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct mvbfs *m = fo_ctx();
	struct errmsg e = { { 0 } };
	struct ns_attr a;
	struct fh *h;
	char name[256], *key = NULL;
	enum vkind k;
	int rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY && restore_ctl_path(path, name, sizeof(name)))
		return open_restore_ctl(m, name, fi);
	k = fo_classify_virtual(path, name, sizeof(name));
	if ((fi->flags & O_ACCMODE) != O_RDONLY && m->read_only)
		return -EROFS;
	if ((fi->flags & O_ACCMODE) != O_RDONLY && k != V_NONE && k != V_BACKUP_EXPIRES)
		return -EACCES;	/* the other virtual files are read-only */
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		rc = open_for_write(m, path, k, name, h, fi);
		if (rc)
			goto fail;
		return 0;
	}
	if (k != V_NONE) {
		struct buf b = BUF_INIT(VFILE_MAX);

		rc = status_render(m, k, name, &b, &h->seen, &e);
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
		fo_fh_link(m, h);
		return 0;
	}
	if (fo_backup_of(path, name, sizeof(name)) && import_active(m->imports, name) &&
	    import_getattr(m->imports, path, &a) == 0 && !a.is_dir) {
		/*
		 * stat shows it (0644): say why it cannot be read yet, not "no such file".  Once
		 * per copy: rsync tries a read-only open of every file it wrote (its fchmod path,
		 * then O_PATH), a line per file would bury the log of a good copy.
		 */
		rc = errmsg_set(&e, -EBUSY, "it is being copied in: readable once the backup "
				"is committed (cat %s/.status); further reads of its files are "
				"refused without a log line until then", name);
		if (import_read_refused(m->imports, name))
			goto fail;
		free(h);
		return rc;
	}
	rc = ns_getattr(m->ns, path + 1, &a, &key, &e);
	if (rc)
		goto fail;
	if (a.is_dir) {
		rc = -EISDIR;
		goto fail;
	}
	if (a.committed) {
		struct buf v = BUF_INIT(SIDECAR_MAX);

		if (sidecar_view(m, path, &v) == 1) {
			/* a copy's sidecar as it arrived (sidecar_view.c) */
			free(key);
			h->text = buf_detach(&v, &h->len);
			buf_release(&v);
			if (!h->text && (rc = -ENOMEM))
				goto fail;
			fi->direct_io = 1;
			fi->fh = (uintptr_t)h;
			fo_fh_link(m, h);
			return 0;
		}
		buf_release(&v);
		if (fo_backup_of(path, name, sizeof(name)) && !strcmp(path + 1 + strlen(name),
								     "/" SIDECAR_NAME)) {
			/* not (or no longer) as it arrived: the stored size, as the check left it */
			free(key);
			rc = ns_getattr(m->ns, path + 1, &a, &key, &e);
			if (rc)
				goto fail;
		}
	}
	h->ra = ra_open(m->ra, key, a.size);
	free(key);
	if (!h->ra) {
		rc = -ENOMEM;
		goto fail;
	}
	/* a backup being read (cp -r, rsync) does not expire away under the reader */
	if (fo_backup_of(path, h->name, sizeof(h->name)))
		autopilot_hold(m->autopilot, h->name);
	/*
	 * Large objects (binlogs) bypass the page cache: they are read once, in order (cp -r,
	 * rsync, cat), and caching GiBs of backup data would cost a copy per byte (measured:
	 * the daemon is CPU-bound on a 2-core host, spec §8) and evict the host's useful cache.
	 * Reads then arrive at the application's size (st_blksize 1 MiB) and the read-ahead
	 * engine still streams ahead.  Measured against the page cache with the kernel's
	 * read-ahead pipelining the READs (docs/performance.md, 171f90e): slower and more CPU
	 * per GiB on a CPU-bound host.  Small objects (meta) stay cached; committed ones are
	 * immutable, so their cache is kept across opens.
	 */
	if (a.size >= DIRECT_IO_MIN)
		fi->direct_io = 1;
	else
		fi->keep_cache = a.committed;
	fi->fh = (uintptr_t)h;
	fo_fh_link(m, h);
	return 0;
fail:
	fo_log_failure("cannot open", path, rc, &e);
	free(h);
	return rc;
}

/* A read copied into dst: virtual files, and objects when fsread.c cannot lend the chunk. */
int fo_read_copy(const char *path, char *dst, size_t size, off_t off, struct fuse_file_info *fi)
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

			if (status_render(fo_ctx(), h->kind, h->name, &b, &seen, &e) == 0) {
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
		fo_log_failure("cannot read", path, (int)n, &e);
	return (int)n;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	struct mvbfs *m = fo_ctx();
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
	struct mvbfs *m = fo_ctx();
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


static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct mvbfs *m = fo_ctx();

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
	fo_read_init(conn);	/* replies spliced from the chunks (fsread.c) */
	return m;
}

static const struct fuse_operations ops = {
	.init = op_init,
	.getattr = op_getattr,
	.readdir = op_readdir,
	.opendir = op_opendir,
	.releasedir = op_releasedir,
	.open = op_open,
	.read_buf = op_read_buf,
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

