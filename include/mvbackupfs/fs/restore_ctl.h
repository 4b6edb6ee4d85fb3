/*
 * restore_ctl.h - the `.restore` control file of a backup (mvbackupfs.md §5.4, issue 8): the
 * FUSE side of restores.
 *
 * `<mnt>/NAME/.restore` is lookup-only (never listed), mode 0600.  A write() of one command
 * (restore_cmd.h) is checked completely before it returns - syntax, the backup's state, the
 * named collections, the target names, Milvus reachable, targets free - and only then starts
 * the restore job (restore.h), registered in the mount's job table as JT_RESTORE on NAME, so
 * NAME/.status follows it.  Nothing is created in Milvus before the write has returned 0.
 * Errors of the write: EINVAL, ENOENT, EEXIST, EBUSY, EAGAIN, EROFS, EHOSTUNREACH /
 * ECONNREFUSED / EACCES, ESRCH (`cancel` with no restore running); each is logged and, when
 * no job runs on NAME, shown in NAME/.status as a failed job in phase `refused`.
 * Reading `.restore` gives the last accepted command and its job:
 *   command collections=default.coll suffix=_bak
 *   job restore-20261205T081500Z-42
 */
#ifndef MVBACKUPFS_RESTORE_CTL_H
#define MVBACKUPFS_RESTORE_CTL_H

#include <stddef.h>
#include <sys/types.h>

#include "mvbackupfs/base/buf.h"

struct mvbfs;
struct restore_ctl;

#define RESTORE_CTL_NAME	".restore"

int restore_ctl_new(struct restore_ctl **out);
void restore_ctl_free(struct restore_ctl *c);

/* 1 when `path` is "/NAME/.restore" (NAME written to `name`), else 0. */
int restore_ctl_path(const char *path, char *name, size_t size);

/* Append the text of NAME/.restore ("" before any accepted command). */
int restore_ctl_render(struct mvbfs *m, const char *name, struct buf *out);

/* One write() to NAME/.restore: `size` on success, else -errno (see above). */
int restore_ctl_write(struct mvbfs *m, const char *name, const char *data, size_t size,
		      off_t off);

/* A restore job on NAME ended (the job table's finish callback): log how. */
void restore_ctl_finished(struct mvbfs *m, const char *name, int state);

#endif
