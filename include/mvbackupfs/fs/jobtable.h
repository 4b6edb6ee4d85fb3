/*
 * jobtable.h - the jobs a mount runs on its backups, by backup name: a snapshot being taken
 * (`mkdir .snapshot/NAME`), a backup being deleted (`rmdir NAME`).
 *
 * The table decides what the mount shows on top of storage: `creating` while a snapshot runs,
 * `deleting` (and hidden from ls) while a delete runs, and the job's progress in .status.  It
 * also wakes poll() waiters on .status when a job's progress changes.  A finished delete is
 * dropped from the table; a finished snapshot stays (so .status can show how it ended) until
 * the name is deleted or reused.
 *
 * Thread-safe; entries are looked up by name and results are copied out.
 */
#ifndef MVBACKUPFS_JOBTABLE_H
#define MVBACKUPFS_JOBTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/job.h"

struct fuse_pollhandle;
struct jobtable;

enum jt_kind { JT_NONE = 0, JT_SNAPSHOT, JT_DELETE, JT_RESTORE };

int jobtable_new(struct jobtable **out);
/* Stop touching FUSE and ask the jobs to stop: destroys every poll handle (no wake-up is
 * sent from now on, and later jobtable_watch calls keep none), runs no more finish or
 * forget callbacks, and cancels every running job without waiting for it.  Call it before
 * the FUSE session is unmounted and destroyed: job threads still running must not use it.
 * Idempotent; NULL is fine. */
void jobtable_close(struct jobtable *t);
/* jobtable_close, then waits for every job and frees everything. */
void jobtable_free(struct jobtable *t);

/* Register `j` (owned by the table from now on) as the `kind` job of `name`.  An earlier job
 * of that name whose function has returned is replaced (and freed).  -EBUSY when a job
 * still runs on the name. */
int jobtable_add(struct jobtable *t, const char *name, enum jt_kind kind, struct job *j);

/* The kind of job registered for `name` (running or finished), and its progress. */
enum jt_kind jobtable_get(struct jobtable *t, const char *name, struct job_progress *p);

/* Every entry, copied: to overlay job states on storage reads taken *after* this copy, so a
 * job that ends during the read still shows (spec §5.5: `deleting` until done). */
struct jt_item {
	char name[256];
	enum jt_kind kind;
	struct job_progress p;
};
int jobtable_items(struct jobtable *t, struct jt_item **out, size_t *n);

/* 1 when a job of `kind` is running on `name`. */
int jobtable_running(struct jobtable *t, const char *name, enum jt_kind kind);

/* 1 while a delete of `name` runs or has just succeeded: the backup is gone for ls and
 * lookups (spec §5.5).  A failed or cancelled delete stays
 * in the table JT_GHOST_MS, so its error shows in .status, but no longer hides the backup;
 * when an entry leaves the table the forget callback runs (the mount re-reads storage). */
#define JT_GHOST_MS 30000
int jobtable_deleting(struct jobtable *t, const char *name);
void jobtable_on_forget(struct jobtable *t, void (*cb)(void *ctx, const char *name), void *ctx);

/* Ask the job on `name` to stop, without waiting.  -ENOENT if none. */
int jobtable_cancel(struct jobtable *t, const char *name);

/* Cancel the job on `name` and wait for it to stop; returns its result.  -ENOENT if none. */
int jobtable_cancel_wait(struct jobtable *t, const char *name);

/* Names with a running job of `kind`, sorted; a malloc'd NULL-terminated array the caller
 * frees with jobtable_names_free. */
char **jobtable_names(struct jobtable *t, enum jt_kind kind);
void jobtable_names_free(char **names);

/* poll() on `name`'s .status, by the open file `owner` whose text shows change counter
 * `seen`: returns 1 when the job has changed since (readable now; `ph` is destroyed),
 * else 0 and wakes `ph` (taking ownership of it; may be NULL) at the job's next change.
 * The check and the registration are atomic, so no change is missed in between.  A new
 * handle replaces an earlier one of the same `owner`; handles are destroyed when woken or
 * when the owner calls jobtable_unwatch.  -ENOMEM (handle destroyed) when out of memory. */
int jobtable_watch(struct jobtable *t, const char *name, const void *owner, uint64_t seen,
		   struct fuse_pollhandle *ph);
void jobtable_unwatch(struct jobtable *t, const void *owner);

/* Called when a job finishes (from its thread): the callback lets the mount drop caches. */
void jobtable_on_finish(struct jobtable *t, void (*cb)(void *ctx, const char *name,
						      enum jt_kind kind, enum job_state st),
			void *ctx);

#endif
