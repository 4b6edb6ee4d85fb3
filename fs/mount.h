/*
 * mount.h - one mounted backup root: the state the FUSE operations work on, and the
 * operations table itself (fs/fsops.c).
 *
 * main() makes a `struct mvbfs` (opaque: its fields are fs/mvbfs.h's, private to fs/), hands
 * mvbfs_operations() and it to libfuse, starts it from the config after the startup checks,
 * and stops and frees it after the loop ends.
 */
#ifndef MVBACKUPFS_MOUNT_H
#define MVBACKUPFS_MOUNT_H

#define FUSE_USE_VERSION 35
#include <fuse.h>

#include "mvbackupfs/base/err.h"
#include "mvbackupfs/config/config.h"

/* One mount's state; its fields are private to fs/ (fs/mvbfs.h). */
struct mvbfs;
struct fuse_session;
struct milvus_client_opts;

/* A zeroed mount, ready for mvbfs_start; NULL when out of memory.  Free with mvbfs_free. */
struct mvbfs *mvbfs_new(void);

/* Free what mvbfs_new allocated (call mvbfs_stop first); NULL is fine. */
void mvbfs_free(struct mvbfs *m);

/* The backup store's name for the "mounted ..." line ("s3://bucket", "local:/dir"); "" before
 * mvbfs_start succeeded. */
const char *mvbfs_store_name(const struct mvbfs *m);

/* Open the store and build the namespace and read-ahead pool.  Starts worker threads, so
 * call it after fuse_daemonize().  Returns 0 or -errno with a sentence. */
int mvbfs_start(struct mvbfs *m, const struct config *cfg, int read_only, struct errmsg *err);

/* The FUSE loop has ended: stop every use of the FUSE session by the mount's threads (no
 * more poll() wake-ups from jobs) and ask the jobs to stop, without waiting.  Call it before
 * fuse_unmount()/fuse_destroy(); safe on a mount that never started. */
void mvbfs_close(struct mvbfs *m);

/* Stop the workers (waiting for the jobs) and free everything mvbfs_start built.  Call it
 * before fuse_destroy(): a job still running must not outlive the session (bug 6). */
void mvbfs_stop(struct mvbfs *m);

/* The Milvus client options of a config (milvus.*), with the given per-call deadline and
 * connection-pool size; the strings stay owned by the config. */
void mvbfs_milvus_opts(const struct config *cfg, long timeout_ms, int max_conns,
		       struct milvus_client_opts *o);

/* The FUSE operations; private_data must be the struct mvbfs. */
const struct fuse_operations *mvbfs_operations(void);

/* fs/fsread.c: hook the session's device I/O so that read replies are written to the kernel
 * straight from the read-ahead chunks, without a copy.  Call it after fuse_mount(), before the
 * loop; 0 or -errno (then reads are copied as before). */
int mvbfs_read_io_install(struct fuse_session *se);

/* fs/fsread.c: the FUSE loop ended in this thread (fuse_loop, single-threaded): give back what
 * its last read reply held, before mvbfs_stop() closes the files. */
void mvbfs_read_thread_done(void);

#endif
