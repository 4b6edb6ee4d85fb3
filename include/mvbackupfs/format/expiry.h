/*
 * expiry.h - which backups expire (spec §5.6, issue 9) and the storage side of it: setting a
 * backup's expiry in its sidecar, and the claim that lets exactly one of several mounts of
 * one bucket delete an expired backup.
 *
 * The policy is pure (expiry_plan); the daemon's worker (fs/autopilot.c) feeds it what the
 * mount sees and deletes what it says, one backup at a time, through the rmdir path.
 */
#ifndef MVBACKUPFS_EXPIRY_H
#define MVBACKUPFS_EXPIRY_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/err.h"
#include "mvbackupfs/storage/objstore.h"
#include "mvbackupfs/format/sidecar.h"

/* One backup as the policy sees it. */
struct expiry_backup {
	const char *name;
	int complete;		/* committed (spec §4 `complete`); only these ever expire */
	int64_t created;	/* Unix s (0 unknown: counts as oldest) */
	int64_t expires;	/* Unix s, 0 = never */
	int busy;		/* a job or a reader uses it (restored from, copied, ...) */
};

enum expiry_verdict {
	EXPIRY_KEEP = 0,	/* not expired (or not complete) */
	EXPIRY_DELETE,		/* expired: delete it */
	EXPIRY_HELD_BUSY,	/* expired, but in use: later */
	EXPIRY_HELD_KEEP_MIN,	/* expired, but one of the newest keep_min complete backups */
};

/* 1 when `b` is complete and its expiry is set and not after `now`. */
int expiry_due(const struct expiry_backup *b, int64_t now);

/*
 * The verdict for each of the `n` backups at `now` into out[i].  The newest `keep_min`
 * complete backups (by created, then name) are never deleted, expired or not, so a schedule
 * that has failed for days cannot expire away the last good backup.  Returns the number of
 * EXPIRY_DELETE verdicts.
 */
size_t expiry_plan(const struct expiry_backup *v, size_t n, int64_t now, int keep_min,
		   enum expiry_verdict *out);

/* Read the sidecar of the backup at `prefix` ("<root><name>/"): 0 with *sc filled,
 * -ENOENT when there is none, -EIO when it is unreadable, or the store's error. */
int backup_sidecar_get(struct objstore *s, const char *prefix, struct sidecar *sc,
		       struct errmsg *err);

/*
 * Set the expiry of the backup at `prefix` to `expires` (Unix s, 0 = never) in its sidecar,
 * keeping every other field; a backup without a sidecar (made by milvus-backup) gets one.
 * One PUT of the whole object, so readers see the old or the new sidecar, never a mix.
 * -EIO (with a sentence) when the existing sidecar is unreadable: it is not overwritten.
 */
int backup_set_expires(struct objstore *s, const char *prefix, int64_t expires,
		       struct errmsg *err);

#define EXPIRY_CLAIM_NAME	"mvbackupfs.expiring"	/* key below <root><name>/ */
#define EXPIRY_CLAIM_STALE_S	600	/* a claim older than this is a crashed mount's */

/*
 * Claim the deletion of the expired backup at `prefix` for `owner` (a unique string):
 * a conditional create (If-None-Match) of "<prefix>mvbackupfs.expiring", so of several
 * mounts that find one backup expired exactly one goes on to delete it (spec §6).  The
 * delete removes the claim with the rest of the prefix.  -EEXIST when another mount holds a
 * claim younger than EXPIRY_CLAIM_STALE_S (an older one is replaced), else the store's
 * error.  backup_unclaim gives a claim back after a delete that did not start.
 */
int backup_claim_expired(struct objstore *s, const char *prefix, const char *owner,
			 int64_t now, struct errmsg *err);
void backup_unclaim(struct objstore *s, const char *prefix);

#endif
