/*
 * mount.h - one mounted backup root: the state the FUSE operations work on, and the
 * operations table itself (fs/fsops.c).
 *
 * main() builds a `struct mvbfs` from the config after the startup checks, hands
 * mvbfs_operations() and the struct to libfuse, and frees it after the loop ends.
 */
#ifndef MVBACKUPFS_MOUNT_H
#define MVBACKUPFS_MOUNT_H

#define FUSE_USE_VERSION 35
#include <fuse.h>
#include <sys/types.h>
#include <time.h>

#include <pthread.h>

#include "mvbackupfs/config.h"
#include "mvbackupfs/jobtable.h"
#include "mvbackupfs/membudget.h"
#include "mvbackupfs/milvus_client.h"
#include "mvbackupfs/namespace.h"
#include "mvbackupfs/objstore.h"
#include "mvbackupfs/readahead.h"
#include "mvbackupfs/sidecar.h"

struct autopilot;

struct fh;
struct import_table;

struct mvbfs {
	const struct config *cfg;	/* not owned */
	struct objstore *store;		/* the backup bucket (owned) */
	struct ns *ns;			/* the tree (owned) */
	struct membudget budget;	/* in-flight bytes: read-ahead now, uploads later */
	int budget_ok;			/* budget initialised */
	struct ra_pool *ra;		/* read-ahead workers (owned) */
	struct objstore *milvus_store;	/* Milvus' own bucket, for snapshots (owned; may be NULL) */
	struct milvus_client *milvus;	/* the connected Milvus (owned; no I/O until used) */
	struct jobtable *jobs;		/* snapshot and delete jobs by backup name (owned) */
	struct autopilot *autopilot;	/* schedule and expiry worker (owned; autopilot.h) */
	struct restore_ctl *restore;	/* the .restore control files (restore_ctl.h; owned) */
	struct import_table *imports;	/* backups being copied in (fs/import.c; owned) */
	/* mkdir/rmdir of one backup name run one at a time; other names are not held up, even
	 * while a slow store answers for this one */
	pthread_mutex_t names_lock;	/* guards busy, nbusy, cap_busy */
	pthread_cond_t names_cond;	/* signalled when a name stops being busy */
	struct mvbfs_name {
		char name[256];
	} *busy;
	size_t nbusy, cap_busy;
	pthread_mutex_t pending_lock;	/* guards pending, npending, cap_pending */
	struct mvbfs_pending {		/* backups with a removal inside them (fsops.c) */
		char name[256];
		int64_t touched_ms;
	} *pending;
	size_t npending, cap_pending;
	pthread_mutex_t open_lock;	/* guards open_files */
	struct fh *open_files;		/* open handles (fsops.c); mvbfs_stop frees the unreleased */
	int read_only;			/* -o ro */
	uid_t uid;
	gid_t gid;
	time_t mounted_at;
};

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

/* Take a snapshot named `name` as `mkdir .snapshot/NAME` does, made by `kind` (MANUAL or
 * SCHEDULED: its sidecar kind and retention).  0 or -errno as mkdir returns it. */
int mvbfs_snapshot_kind(struct mvbfs *m, const char *name, enum sidecar_kind kind);

/* Delete backup `name` as `rmdir NAME` does (meta now, data in a job).  0 or -errno. */
int mvbfs_delete_backup(struct mvbfs *m, const char *name);

/* The FUSE operations; private_data must be the struct mvbfs. */
const struct fuse_operations *mvbfs_operations(void);

#endif
