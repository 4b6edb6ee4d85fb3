/*
 * import_internal.h - what the files of the copy-in share (import.c: the table, mkdir,
 * getattr, readdir, .status; import_file.c: the write handles, rename, unlink;
 * import_mtimes.c: the mtimes record; import_committer.c: the committer and the commit).
 * Private to fs/; everyone else uses import.h.
 *
 * Locking: t->lock protects the import list, every import's fields and every file's fields
 * except the content; f->wlock serialises the content of one file (writes, truncate, the
 * close that hands it to the upload), and is never taken while holding t->lock: writes take
 * f->wlock alone, then t->lock briefly for the counters.  The hooks of read-only operations
 * (getattr, readdir) look at t->live first and take no lock for a backup no copy writes;
 * the mtimes record of a committed copy is looked up only for a backup whose listing holds
 * one (ns_attr.has_mtimes).
 */
#ifndef MVBACKUPFS_IMPORT_INTERNAL_H
#define MVBACKUPFS_IMPORT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/err.h"
#include "mvbackupfs/fs/import.h"
#include "mvbackupfs/jobs/import_commit.h"
#include "mvbfs.h"

#define IMPORT_QUIET_MS	1500		/* no activity this long before a commit is tried */
#define IMPORT_SETTLE_MS 100		/* ... once the backup looks whole (quiet_needed_locked) */
#define IMPORT_RETRY_MAX_MS 30000	/* longest wait before a failed commit is tried again */
#define HELD_MAX	(256u << 20)	/* one held meta file (as the read side's meta limit) */
#define MTIMES_MAX	(64u << 20)

enum fstate { F_OPEN, F_UPLOADING, F_DONE, F_FAILED, F_HELD };
enum istate { I_IMPORTING, I_COMMITTING };

struct ifile {
	char *path;		/* below the backup: "meta/full_meta.json" */
	char *key_rel;		/* the object it becomes, below the backup's prefix */
	int held;		/* meta file or sidecar: kept in `data`, written at the commit */
	pthread_mutex_t wlock;	/* serialises data, up and size changes of the content */
	struct buf data;
	struct upload *up;
	uint64_t size;
	int64_t mtime;		/* what stat shows and the commit records: the last write's
				 * time, or what utimens set.  Always recorded: rsync skips
				 * its utimens when the source's mtime equals it already (a
				 * copy within the second the source was written), and a
				 * second rsync -a must then see this time, not the upload's */
	enum fstate state;
	int opens;		/* open handles */
	int waiters;		/* threads waiting for `up` with t->lock dropped: the committer
				 * leaves `up` to them (never frees it under a waiter) */
	int refs;		/* the table's (while listed) + one per handle */
	int listed;
	char err[512];
	struct import *imp;
	struct ifile *next;
};

struct import {
	char name[256];
	char *prefix;		/* "<root><name>/" */
	char job[64];		/* the reservation's job id in the sidecar */
	enum istate state;
	struct ifile *files;
	char **dirs;		/* directories made, below the backup */
	size_t ndirs, cap_dirs;
	uint64_t files_received, bytes_received;
	uint64_t expected_files, expected_bytes;	/* from the meta, once it parsed */
	int have_plan;
	int64_t started;	/* Unix s */
	int64_t activity_ms;	/* last change (monotonic) */
	int dirty;		/* changed since the last commit attempt */
	int read_refused;	/* a read of its files was refused (EBUSY) and logged */
	int64_t retry_ms;	/* after a commit attempt the store failed: try again at this
				 * time (monotonic), with no write to wake it; 0 = none */
	unsigned failed_tries;	/* such attempts in a row (the back-off doubles per try) */
	char reason[768];	/* why it has not committed yet (or the failure) */
	int failed;		/* an upload failed: .status `failed` until the file is rewritten */
	int refs;		/* the table's (while listed) + one per open handle */
	struct import *next;
};

struct mtimes {			/* recorded mtimes of a committed copy */
	char name[256];
	size_t n;
	char **rel;
	int64_t *mtime;		/* sorted by rel */
	uint64_t full_size;	/* full_meta.json's size the record is for */
	int64_t late_until_ms;	/* committed here: a tool's utimens until then (monotonic)
				 * still changes a file's mtime (imp_committed_set_mtime) */
	struct mtimes *next;
};

/* How long after this mount committed a copy a utimens of one of its files still counts:
 * rclone closes a file and then sets its time by path, and the commit may fall in between
 * (IMPORT_SETTLE_MS of quiet after the last close). */
#define IMPORT_LATE_MS	5000

struct import_handle {
	struct import_table *t;
	struct ifile *f;
};

#define UNLINKED_RING	64
#define UNLINKED_MS	30000	/* as fsops.c's PENDING_MS */
#define LIVE_SLOTS	64

struct import_table {
	struct mvbfs *m;
	struct {			/* recent unlinks inside complete backups (import_unlink_again) */
		char *path;
		int64_t at_ms;
	} unlinked[UNLINKED_RING];
	unsigned next_unlinked;
	struct upload_pool *pool;
	/* How many listed imports have a name of each hash (live_slot): changed under `lock`,
	 * read without it, so that the hooks every read-only getattr and readdir call
	 * (import_getattr, import_active) take no lock for a backup no copy writes. */
	atomic_uint live[LIVE_SLOTS];
	pthread_mutex_t lock;	/* protects list, mt, stop and everything in them (see top) */
	pthread_mutex_t mt_put;	/* orders the rewrites of a record (imp_committed_set_mtime) */
	pthread_cond_t cv;	/* broadcast on every state change (commit done, stop) */
	struct import *list;
	struct mtimes *mt;
	int stop;
	pthread_t committer;
	int committer_ok;
};

/* A recorded mtime, by path below the backup. */
struct relmt {
	char *rel;
	int64_t mtime;
};

/* import.c: the table's helpers (t->lock held where the name says _locked) */

/* "/NAME/rest" -> name, rest ("" for "/NAME").  0 or -ENOENT (root, virtual, too long). */
int imp_split(const char *path, char name[256], const char **rest);
struct import *imp_find_locked(struct import_table *t, const char *name);
struct ifile *imp_file_find_locked(struct import *imp, const char *rel);
/* Drop a reference to a file / an import (freed at the last). */
void imp_file_put(struct ifile *f);
void imp_put(struct import *imp);
/* The import has left the table: drop its files (their uploads are aborted). */
void imp_free(struct import *imp);
/* Take `imp` out of the table's list; the caller frees it. */
void imp_unlist_locked(struct import_table *t, struct import *imp);
/* Something changed: the quiet period starts again. */
void imp_touch_locked(struct import *imp);
/* 1 when `rel` is a directory of the import (made, or implied by a file). */
int imp_dir_known_locked(struct import *imp, const char *rel);
/* The import of NAME for a write, adopting an incomplete backup; drops t->lock for storage
 * reads.  0 and *out, or -EROFS (complete), -ENOENT (none), -EBUSY (a snapshot writes it). */
int imp_for_write_locked(struct import_table *t, const char *name, struct import **out);

/* import_mtimes.c */

/* An mtimes entry built from `v` (taken: freed on failure too), or NULL. */
struct mtimes *imp_mtimes_build(const char *name, struct relmt *v, size_t n);
void imp_mtimes_free(struct mtimes *mt);
/* getattr of a committed file of a backup whose listing holds a record: its mtime from the
 * record (read once per mount), when there is one (t->lock NOT held). */
void imp_committed_mtime(struct import_table *t, const char *name, const char *rel,
			 struct ns_attr *a);
/* utimens of a file of a copy this mount committed less than IMPORT_LATE_MS ago: its mtime
 * in the record changes (memory and storage).  0 (also when it does not apply) or -errno of
 * the record's write (t->lock NOT held). */
int imp_committed_set_mtime(struct import_table *t, const char *name, const char *rel,
			    int64_t mtime);
/* Write the record of `imp` (before the meta, so that the commit carries it): v[n], plus the
 * entries of a record an earlier run of the copy left for files this run did not send again
 * (*merged of them). */
int imp_write_mtimes(struct import_table *t, struct import *imp, uint64_t full_size,
		     struct relmt *v, size_t n, size_t *merged, struct errmsg *err);

/* import_committer.c: the committer thread (arg: the table) */
void *imp_committer(void *arg);

#endif
