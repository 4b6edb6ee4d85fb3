/*
 * mvbfs.h - the state of one mount, private to fs/: what the FUSE operations, the control
 * plane (mkdir/rmdir) and the mount's start/stop share.  Everyone else holds a
 * `struct mvbfs *` from mount.h and never looks inside.
 *
 * Locks: names_lock, pending_lock, stash_lock and open_lock are leaves among themselves
 * (none is taken while another is held); under pending_lock the namespace's own locks are
 * taken (ns_pin, ns_invalidate) and under stash_lock ns_generation's, never the other way
 * round.
 */
#ifndef MVBACKUPFS_MVBFS_H
#define MVBACKUPFS_MVBFS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "mount.h"

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/err.h"
#include "mvbackupfs/base/membudget.h"
#include "mvbackupfs/base/workq.h"
#include "mvbackupfs/config/config.h"
#include "mvbackupfs/format/sidecar.h"
#include "mvbackupfs/fs/jobtable.h"
#include "mvbackupfs/fs/namespace.h"
#include "mvbackupfs/rpc/milvus_client.h"
#include "mvbackupfs/storage/objstore.h"
#include "mvbackupfs/storage/readahead.h"

struct fh;
struct autopilot;
struct restore_ctl;
struct import_table;
struct dirsnap_book;

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
	struct workq *wq;		/* the fan-outs' threads: snapshot copies, root .info (owned) */
	struct autopilot *autopilot;	/* schedule and expiry worker (owned; autopilot.h) */
	struct restore_ctl *restore;	/* the .restore control files (restore_ctl.h; owned) */
	struct import_table *imports;	/* backups being copied in (fs/import.c; owned) */
	struct dirsnap_book *dirbook;	/* listings the kernel may keep cached (dirsnap.h; owned;
					 * NULL: it never keeps one) */
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
	pthread_mutex_t stash_lock;	/* guards stash */
	struct {			/* the root .info's summaries read by the last getattr */
		struct ns_summary *all;	/* (fsops.c, root_stash_put/_take) */
		size_t n;
		int64_t at_ms;
		uint64_t ns_gen;
	} stash;
	pthread_mutex_t open_lock;	/* guards open_files */
	struct fh *open_files;		/* open handles (fsops.c); mvbfs_stop frees the unreleased */
	int read_only;			/* -o ro */
	uid_t uid;
	gid_t gid;
	time_t mounted_at;
};

/* ---- shared by the fs/ files (fsops.c: the operations; status.c: rendering; control.c:
 * mkdir/rmdir and the pending marks; mount.c: start/stop) ---- */

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

/* fsops.c: free an open handle (mount.c frees those the kernel never released). */
void fh_free(struct fh *h);

/* status.c: render virtual file k of backup `name` into out; *changes gets the job change
 * counter shown (.status).  `changes` is NULL for getattr (which only needs the size) and set
 * for open, which may take the root .info's summaries getattr just read. */
int status_render(struct mvbfs *m, enum vkind k, const char *name, struct buf *out,
		  uint64_t *changes, struct errmsg *err);
/* status.c: free what getattr left for an open (mvbfs_stop). */
void status_stash_drop(struct mvbfs *m);

/* control.c (spec §5.2, §5.5): mkdir /.snapshot/NAME (made by `kind`, MANUAL or SCHEDULED:
 * its sidecar kind and retention); rmdir NAME (a delete as a whole); a
 * removal inside NAME (a pending mark); whether NAME is marked pending; the refusal of a
 * removal or snapshot touching Milvus's data `dir`.  Each returns 0 or -errno for the syscall. */
int snapshot_start(struct mvbfs *m, const char *name, enum sidecar_kind kind);
int delete_backup(struct mvbfs *m, const char *name);
int remove_inside(struct mvbfs *m, const char *name);
int pending_marked(struct mvbfs *m, const char *name);
int refuse_milvus_data(struct mvbfs *m, const char *op, const char *path, const char *dir);

/* sidecar_view.c: when `path` ("/<name>/mvbackupfs.json") is the sidecar of a committed copy
 * that still holds the bytes that arrived, those bytes into `out` and 1; else 0 (-ENOMEM). */
int sidecar_view(struct mvbfs *m, const char *path, struct buf *out);

#endif
