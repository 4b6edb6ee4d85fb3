/*
 * import.h - copying a backup into the mount (spec §5.3, issue 11): the FUSE side of the
 * write path.  `mkdir /NAME` reserves NAME as an `importing` backup; inside it the copy tools
 * (cp -r, cp -a, rsync -a, tar -x) create directories and files, write them in order,
 * rename and unlink them.  Data files stream to storage through upload.h (write-behind under
 * the global budget); the meta files (meta/ *.json) and the sidecar are held in memory and
 * written last by the committer thread, when import_commit.h's rule says the backup is whole.
 *
 * fs/fsops.c calls these hooks from its operations.  A hook that returns IMPORT_PASS has
 * nothing to say about the path: fsops goes on as for a read-only backup.  Every other return
 * is the operation's result (0 or -errno).
 */
#ifndef MVBACKUPFS_IMPORT_H
#define MVBACKUPFS_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/fs/namespace.h"

#define IMPORT_PASS	1

struct mvbfs;
struct import_table;
struct import_handle;

/* The imports of mount `m` (its store, namespace, budget and jobs are used, not owned); starts
 * the committer thread.  0 or -errno. */
int import_table_new(struct mvbfs *m, struct import_table **out);
/* Abort every upload still running (the backups stay incomplete) and stop.  NULL is fine. */
void import_table_free(struct import_table *t);

/* mkdir "/NAME": reserve NAME like a snapshot (EINVAL, EEXIST) and start importing it. */
int import_mkdir_root(struct import_table *t, const char *name);

/* mkdir "/NAME/dir...".  IMPORT_PASS when NAME is no backup. */
int import_mkdir(struct import_table *t, const char *path);

/* getattr of a path inside an importing backup (files being written or uploaded,
 * directories made), and the recorded mtimes of committed copies.  0 with *a filled, or
 * IMPORT_PASS. */
int import_getattr(struct import_table *t, const char *path, struct ns_attr *a);

/* After a readdir of `path` by the namespace: call fill for the entries of an import the
 * listing did not show (`seen` holds the names already filled, sorted or not). */
typedef int (*import_fill_fn)(void *ctx, const char *name, const struct ns_attr *a);
int import_readdir(struct import_table *t, const char *path, char *const *seen, size_t nseen,
		   import_fill_fn fill, void *ctx);

/* create / open for writing "/NAME/...": *h receives the handle. */
int import_create(struct import_table *t, const char *path, int flags,
		  struct import_handle **h);
int import_open_write(struct import_table *t, const char *path, int flags,
		      struct import_handle **h);
int import_write(struct import_handle *h, const char *buf, size_t size, off_t off);
int import_flush(struct import_handle *h);
int import_fsync(struct import_handle *h);
/* The last close: the upload goes on in the background. */
int import_release(struct import_handle *h);

/* truncate (h may be NULL). */
int import_truncate(struct import_table *t, const char *path, off_t size,
		    struct import_handle *h);
int import_rename(struct import_table *t, const char *from, const char *to, unsigned flags);
int import_unlink(struct import_table *t, const char *path);
int import_rmdir(struct import_table *t, const char *path);
/* chmod/chown (mtime < 0) and utimens (mtime = the new mtime). */
int import_setattr(struct import_table *t, const char *path, int64_t mtime);

/* rmdir "/NAME" of an importing backup: abort its uploads and forget it (the caller then
 * deletes what is stored).  0 whether or not NAME was importing. */
int import_cancel(struct import_table *t, const char *name);

/* An unlink inside a complete backup deletes nothing (fsops.c remove_inside), so the file is
 * still there: a tool that unlinks and re-creates (tar -x over an existing backup: EEXIST,
 * unlink, EEXIST, ...) would loop forever.  1 when `path` was unlinked already in the last
 * 30 s (the caller answers ENOENT: rm -rf unlinks every path once), else 0 (remembered). */
int import_unlink_again(struct import_table *t, const char *path);

/* 1 when NAME is importing on this mount. */
int import_active(struct import_table *t, const char *name);

/* A read of a file of NAME's copy was refused (EBUSY): 1 the first time for this copy (the
 * caller logs why), 0 after that and when NAME is not importing. */
int import_read_refused(struct import_table *t, const char *name);

/* The .status text of an importing backup (spec §5.7 keys).  0, or IMPORT_PASS when NAME
 * is not importing. */
int import_status(struct import_table *t, const char *name, struct buf *out);

/* The state shown in .info for NAME while importing (NULL when not importing). */
const char *import_state_name(struct import_table *t, const char *name);

#endif
