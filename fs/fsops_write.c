/*
 * fsops_write.c - the FUSE operations that change things: mkdir (a snapshot under
 * .snapshot, a copy in at the root or inside one), rmdir and unlink (a delete, or a removal
 * inside a backup that only marks it pending: see remove_inside in control.c), and the
 * writes of a copy in (create, write, flush, fsync, rename, truncate, chmod/chown/utimens),
 * which import*.c carries out; .expires and .restore writes go to autopilot.c and
 * restore_ctl.c.  Everything else answers EROFS.
 */
#include "fsops_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mvbackupfs/base/log.h"
#include "mvbackupfs/fs/autopilot.h"
#include "mvbackupfs/fs/import.h"
#include "mvbackupfs/fs/restore_ctl.h"

int op_mkdir(const char *path, mode_t mode)
{
	struct mvbfs *m = fo_ctx();
	const char *snap;
	const char *dir;
	int rc;

	rc = fo_may_write(m);
	if (rc)
		return rc;
	if ((snap = fo_under_snapshot(path)) != NULL) {
		if (strchr(snap, '/'))
			return -ENOENT;
		dir = ns_milvus_data(m->ns, snap);
		if (dir)
			return refuse_milvus_data(m, "snapshot into", path, dir);
		return snapshot_start(m, snap, SIDECAR_KIND_MANUAL);
	}
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

/* What every removal checks first: a writable mount, the owner, not Milvus's data.  0 or
 * -errno; *in_backup tells whether `path` is a backup or inside one (named in name). */
static int removal_check(struct mvbfs *m, const char *path, char *name, size_t size,
			 int *in_backup)
{
	const char *dir;
	int rc;

	rc = fo_may_write(m);
	if (rc)
		return rc;
	*in_backup = fo_backup_of(path, name, size);
	if (*in_backup && (dir = ns_milvus_data(m->ns, name)))
		return refuse_milvus_data(m, "delete", path, dir);
	return 0;
}

int op_rmdir(const char *path)
{
	struct mvbfs *m = fo_ctx();
	const char *snap;
	char name[256];
	int rc, in_backup;

	rc = removal_check(m, path, name, sizeof(name), &in_backup);
	if (rc)
		return rc;
	if ((snap = fo_under_snapshot(path)) != NULL) {
		if (strchr(snap, '/') || !jobtable_running(m->jobs, snap, JT_SNAPSHOT))
			return -ENOENT;
		return delete_backup(m, snap);
	}
	if (!in_backup)
		return -EPERM;	/* ".snapshot" itself and other virtual names */
	if (strchr(path + 1, '/')) {
		rc = import_rmdir(m->imports, path);
		return rc != IMPORT_PASS ? rc : remove_inside(m, name);
	}
	import_cancel(m->imports, name);	/* a copy in: stop its uploads first */
	return delete_backup(m, name);
}

/* unlink inside a backup: see remove_inside() */
int op_unlink(const char *path)
{
	struct mvbfs *m = fo_ctx();
	char name[256];
	int rc, in_backup;

	rc = removal_check(m, path, name, sizeof(name), &in_backup);
	if (rc)
		return rc;
	if (!in_backup || !strchr(path + 1, '/') ||
	    fo_classify_virtual(path, name, sizeof(name)) != V_NONE)
		return -EROFS;	/* a stray object at the root, or a virtual file */
	rc = import_unlink(m->imports, path);
	if (rc == IMPORT_PASS && import_unlink_again(m->imports, path))
		return -ENOENT;	/* tar -x over a complete backup: no endless unlink/EEXIST */
	return rc != IMPORT_PASS ? rc : remove_inside(m, name);
}

/* The write path (spec §5.3): every call goes to fs/import.c. */
int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct mvbfs *m = fo_ctx();
	struct fh *h;
	int rc;

	rc = fo_may_write(m);
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
	fo_fh_link(m, h);
	return 0;
}

int op_flush(const char *path, struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;

	return h->imp ? import_flush(h->imp) : 0;
}

int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;

	return h->imp ? import_fsync(h->imp) : 0;
}

int op_rename(const char *from, const char *to, unsigned int flags)
{
	struct mvbfs *m = fo_ctx();

	return m->read_only ? -EROFS : import_rename(m->imports, from, to, flags);
}

/* chmod/chown/utimens: recorded (mtime) while copying in, accepted as no-ops inside any
 * other backup (cp -a, tar and rsync set them after the last file); EROFS elsewhere. */
static int op_setattr_common(const char *path, int64_t mtime)
{
	struct mvbfs *m = fo_ctx();

	if (m->read_only)
		return -EROFS;
	if (!strcmp(path, "/"))
		return 0;	/* rsync -a and tar set the target directory's times too */
	return import_setattr(m->imports, path, mtime);
}

int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return op_setattr_common(path, -1);
}

int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	return op_setattr_common(path, -1);
}

int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
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
int op_write(const char *path, const char *src, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;

	if (h->imp)
		return import_write(h->imp, src, size, off);	/* copying in (fs/import.c) */
	if (h->kind == V_BACKUP_EXPIRES)
		return autopilot_expires_write(fo_ctx(), h->name, src, size, off);
	if (h->kind == V_BACKUP_RESTORE && !h->text)
		return restore_ctl_write(fo_ctx(), h->name, src, size, off);
	return -EBADF;
}

/* `echo 7d > NAME/.expires` and `echo cmd > NAME/.restore` truncate first: a no-op on a
 * control file; a file being copied in may be truncated to 0 (fs/import.c); anything else
 * is read-only. */
int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct mvbfs *m = fo_ctx();
	struct fh *h = fi ? (struct fh *)(uintptr_t)fi->fh : NULL;
	char name[256];
	int rc;

	if (m->read_only)
		return -EROFS;
	if (restore_ctl_path(path, name, sizeof(name)))
		return 0;	/* nothing to do */
	if (fo_classify_virtual(path, name, sizeof(name)) == V_BACKUP_EXPIRES)
		return fo_owner_only(m);
	rc = import_truncate(m->imports, path, size, h ? h->imp : NULL);
	return rc == IMPORT_PASS ? -EROFS : rc;
}
