/*
 * fsops_internal.h - what the three files of the FUSE operations share, private to them:
 * fsops.c (path classification, attributes, reads, the virtual files, the table),
 * fsops_dir.c (listings), fsops_write.c (mkdir/rmdir, removals, copy-in writes) and fsread.c
 * (read replies).
 *
 * The helpers are fsops.c's; each says in fsops.c what it does.  They run in a FUSE request's
 * thread (fo_ctx() reads the request's context) and take no lock of their own except
 * fo_fh_link (m->open_lock).
 */
#ifndef MVBACKUPFS_FSOPS_INTERNAL_H
#define MVBACKUPFS_FSOPS_INTERNAL_H

#include "mvbfs.h"

#include <sys/stat.h>

/* the mount of the current FUSE request */
struct mvbfs *fo_ctx(void);
/* list an open handle, so mvbfs_stop frees what the kernel never releases */
void fo_fh_link(struct mvbfs *m, struct fh *h);
/* which virtual file a path names (V_NONE: none), and the backup it belongs to in name */
enum vkind fo_classify_virtual(const char *path, char *name, size_t size);
/* log an operation's failure with its sentence; ENOENT is normal and not logged */
void fo_log_failure(const char *op, const char *path, int rc, const struct errmsg *e);
/* "/.snapshot/NAME[/...]" -> "NAME[/...]"; NULL for every other path */
const char *fo_under_snapshot(const char *path);
/* "/NAME[/...]" -> 1 with NAME in name; 0 for the root and virtual top-level names */
int fo_backup_of(const char *path, char *name, size_t size);
/* a backup being deleted (it left every listing); a name the root listing skips */
int fo_hidden(struct mvbfs *m, const char *name);
int fo_unlisted(struct mvbfs *m, const char *name);
/* 0 when the caller may change things on this mount, else -EROFS / -EACCES */
int fo_owner_only(struct mvbfs *m);
int fo_may_write(struct mvbfs *m);
/* the stat of namespace attributes, as every operation reports them */
void fo_fill_stat(struct mvbfs *m, struct stat *st, const struct ns_attr *a);
/* the attributes of a stored path: a copy in progress, a copy's recorded mtime, the namespace */
int fo_stat_stored(struct mvbfs *m, const char *path, struct ns_attr *a, struct errmsg *e);

/* a read served by copying into dst (virtual files; objects when no chunk can be lent) */
int fo_read_copy(const char *path, char *dst, size_t size, off_t off, struct fuse_file_info *fi);

/* fsread.c: reads whose bytes go to the kernel from the read-ahead chunk without a copy */
int op_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
		struct fuse_file_info *fi);
/* from op_init: want SPLICE_WRITE and use the pipes when the hooks and a pipe can be had */
void fo_read_init(struct fuse_conn_info *conn);

/* fsops_dir.c */
int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
	       struct fuse_file_info *fi, enum fuse_readdir_flags flags);
int op_opendir(const char *path, struct fuse_file_info *fi);
int op_releasedir(const char *path, struct fuse_file_info *fi);

/* fsops_write.c */
int op_mkdir(const char *path, mode_t mode);
int op_rmdir(const char *path);
int op_unlink(const char *path);
int op_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int op_flush(const char *path, struct fuse_file_info *fi);
int op_fsync(const char *path, int datasync, struct fuse_file_info *fi);
int op_rename(const char *from, const char *to, unsigned int flags);
int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi);
int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi);
int op_write(const char *path, const char *src, size_t size, off_t off,
	     struct fuse_file_info *fi);
int op_truncate(const char *path, off_t size, struct fuse_file_info *fi);

#endif
