/*
 * backup_read.h - load one backup's meta from an object store and decide whether it is
 * complete (milvus-backup-format.md §1.7; mvbackupfs.md §4).
 *
 * The rule (docs/format-notes.md, "When is a backup complete"):
 *  - complete   <=> meta/full_meta.json parses (it is written last by every version that
 *                   writes it, and by mvbackupfs: the commit point) and meta/backup_meta.json
 *                   exists (milvus-backup's Exist(); a delete removes it right after
 *                   full_meta.json, so a commit that landed on a backup being deleted does
 *                   not read complete);
 *               or, with no full_meta.json at all, the four level files (backup_meta,
 *                   collection_meta, partition_meta, segment_meta) all exist and parse AND
 *                   the backup looks like one from before full_meta existed (<= v0.3.0):
 *                   no segment has group_id == segment_id (that layout began with v0.4.4,
 *                   which always writes full_meta.json) and no sidecar says mvbackupfs
 *                   snapshotted it (we always write full_meta.json).
 *  - incomplete otherwise, with a reason.
 * Storage failures other than "no such key" are returned as errors, never as "incomplete":
 * a flaky S3 must not make a good backup look broken.
 */
#ifndef MVBACKUPFS_BACKUP_READ_H
#define MVBACKUPFS_BACKUP_READ_H

#include <stdbool.h>
#include <stdint.h>

#include "mvbackupfs/base/err.h"
#include "mvbackupfs/format/meta.h"
#include "mvbackupfs/storage/objstore.h"
#include "mvbackupfs/format/sidecar.h"

#define BACKUP_META_MAX	((size_t)256 << 20)	/* largest meta file read: 256 MiB */

enum backup_meta_source {
	BACKUP_META_NONE = 0,		/* incomplete: nothing parsed */
	BACKUP_META_FULL,		/* meta/full_meta.json */
	BACKUP_META_LEVELS,		/* the four level files (<= v0.3.0) */
};

struct backup_read {
	bool complete;
	char reason[512];		/* why incomplete ("" when complete) */
	enum backup_meta_source source;
	struct meta_backup meta;	/* parsed meta when complete (zeroed otherwise) */
	int64_t meta_mtime;		/* LastModified (Unix s) of the meta file used: full_meta,
					 * or the newest level file; 0 when incomplete */
	bool has_sidecar;
	struct sidecar sidecar;		/* when has_sidecar */
	char sidecar_error[256];	/* non-empty: mvbackupfs.json exists but is unreadable */
};

/* Read the backup at `prefix` ("<root>/<name>/", ending in '/', "" root allowed as
 * "<name>/").  `out` is overwritten.  Returns 0 whether the backup is complete or not (see
 * out->complete / out->reason); -errno for storage failures (-EACCES, -EIO, -ETIMEDOUT, …)
 * with the sentence in err, and -ENOMEM.  Costs one listing of <prefix>meta/, one GET of the
 * sidecar and one GET per meta file parsed.  It does not decide whether the backup exists:
 * an empty prefix reads as incomplete ("no meta/full_meta.json").  Release with
 * backup_read_release(). */
int backup_read(struct objstore *s, const char *prefix, struct backup_read *out,
		struct errmsg *err);

/* Free the meta; `r` is left zeroed. */
void backup_read_release(struct backup_read *r);

#endif
