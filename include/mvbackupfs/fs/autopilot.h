/*
 * autopilot.h - what a mounted daemon does on its own (spec §5.6, issue 9): take automatic
 * snapshots on `mvbackupfs.schedule`, and delete expired backups - one at a time, through
 * the same delete path as `rmdir`, never one in use and never the newest
 * `mvbackupfs.keep_min` complete ones.  Also the `.expires` control file and the
 * "in use" test that keeps a backup from expiring while it is restored from or copied.
 *
 * One worker thread per writable mount (a read-only mount only shows `expired`).  It wakes
 * every second (no I/O then), runs a slot when the wall clock (mvb_now, which tests can move)
 * reaches it, and scans for expired backups every SCAN interval or when an expiry falls due.
 */
#ifndef MVBACKUPFS_AUTOPILOT_H
#define MVBACKUPFS_AUTOPILOT_H

#include <stddef.h>
#include <sys/types.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/fs/namespace.h"

struct mvbfs;
struct autopilot;

/* Build the autopilot of mount `m` (after the job table and namespace exist) and start its
 * worker unless the mount is read-only.  0 or -errno with a sentence. */
int autopilot_start(struct mvbfs *m, struct autopilot **out, struct errmsg *err);

/* Stop the worker and wait for it (a delete it started keeps running in the job table).
 * Idempotent; NULL is fine. */
void autopilot_stop(struct autopilot *a);

/* autopilot_stop, then free.  NULL is fine. */
void autopilot_free(struct autopilot *a);

/*
 * In use: 1 while backup `name` must not expire away - a job of this mount runs on it
 * (snapshot, delete, restore, import: any kind in the job table), or it is held (below), or
 * was released less than a minute ago (cp -r opens one file after another).  The hook for
 * every job that reads a backup: restore and copy-out call autopilot_hold/unhold around
 * their use, or register their job in the job table under the backup's name.
 */
int autopilot_busy(struct mvbfs *m, const char *name);
void autopilot_hold(struct autopilot *a, const char *name);
void autopilot_unhold(struct autopilot *a, const char *name);

/* Set s->expired when `s` is complete and its expiry has passed (by mvb_now). */
void autopilot_mark(struct ns_summary *s);

/* Scan for expired backups at the next tick (after .expires was written). */
void autopilot_poke(struct autopilot *a);

/* The lines the root .info shows under its table when a schedule is set or the last
 * automatic snapshot failed: the schedule and its next slot, the last run and its error. */
int autopilot_footer(struct autopilot *a, struct buf *out);

/*
 * A write of `size` bytes at `off` to NAME/.expires (spec §5.6): "never", a duration from
 * now ("90m", "36h", "7d") or an RFC 3339 time.  Returns `size`, or -EINVAL (junk, a past
 * time, offset not 0, too long), -ENOENT (no such backup, or being deleted), -EAGAIN (not
 * complete: creating, importing, incomplete), or the store's error.  Logged either way.
 */
int autopilot_expires_write(struct mvbfs *m, const char *name, const char *data, size_t size,
			    off_t off);

#endif
