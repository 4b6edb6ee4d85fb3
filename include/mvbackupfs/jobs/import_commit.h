/*
 * import_commit.h - the commit rule of a backup copied in (spec §5.3, issue 11): what a
 * backup being written by a copy tool (cp -r, rsync -a, tar -x) needs before its meta may be
 * written, checked against a listing of what is on the server.  Pure functions on the held
 * meta files and a listing: no I/O, no FUSE.
 *
 * The rule (docs/format-notes.md "Copying a backup in"):
 *   - the meta files (meta/ *.json) are held back by the caller and written last;
 *   - what the backup IS decides what it needs, never the order in which files arrive:
 *       full_meta.json held                       -> a v0.3.1+ backup: its binlogs, and the
 *                                                    level files it names (backup, collection,
 *                                                    and partition + segment unless the format
 *                                                    is "snapshot");
 *       no full_meta.json, the four level files   -> pre-v0.3.1 only if backup_meta.json
 *       held                                         carries the old task fields (state_code,
 *                                                    progress, start/end_time) but no size (v0.3.0
 *                                                    wrote 0), no format, and no segment uses the
 *                                                    v0.4.4+ layout (group_id == segment_id); then
 *                                                    the binlogs of segment_meta.json.  Otherwise
 *                                                    it waits for full_meta.json;
 *   - every binlog the meta names must be listed with exactly its recorded size;
 *   - write order: level files first (backup_meta.json first), full_meta.json last; for a
 *     pre-v0.3.1 backup backup_meta.json last (milvus-backup's Exist()).
 */
#ifndef MVBACKUPFS_IMPORT_COMMIT_H
#define MVBACKUPFS_IMPORT_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/err.h"
#include "mvbackupfs/storage/objstore.h"

/* The file mtimes a copy tool set (utimens), recorded at the commit so that a second
 * `rsync -a` finds nothing to do: a hidden object "<root><name>/.mvbackupfs-mtimes.json"
 * ({"format":1,"full_meta_size":N,"files":{"rel/path":unix_s,...}}), never listed by the
 * mount (so never copied), used only while full_meta.json has that size. */
#define IMPORT_MTIMES_NAME ".mvbackupfs-mtimes.json"

/* One held meta file: its name below meta/ ("full_meta.json") and its bytes (borrowed). */
struct import_meta {
	const char *name;
	const char *data;
	size_t len;
};

/* What a backup needs before it commits.  Owned; release with import_need_release. */
struct import_need {
	char **keys;		/* full object keys of the binlogs, sorted */
	uint64_t *sizes;	/* their recorded sizes */
	size_t n;
	uint64_t bytes;		/* Σ sizes */
	int pre_v031;		/* committed from the level files (backup_meta.json last) */
	int64_t entities;	/* for the log line */
};

void import_need_release(struct import_need *n);

/* Decide from the held meta files what the backup at `prefix` ("<root><name>/") needs.
 * 0 with `need` filled; -EAGAIN when a meta file the backup needs has not arrived (the
 * sentence names it: "waiting for meta/full_meta.json"); -EINVAL when a held file does not
 * parse (the sentence names it); -ENOMEM. */
int import_plan(const struct import_meta *files, size_t nfiles, const char *prefix,
		struct import_need *need, struct errmsg *err);

/* Check `need` against a recursive listing of the prefix (any order).  0 when every key is
 * listed with its size; -EAGAIN otherwise, *missing = how many are absent or of another size,
 * and the sentence names the first ("missing 3 of 120 binlogs, e.g. '…' (wrong size 10, meta
 * says 12)").  -ENOMEM. */
int import_verify(const struct import_need *need, const struct obj_listing *l, size_t *missing,
		  struct errmsg *err);

/* The order in which to write the held files: indexes into `files`, the commit point last.
 * `order` has room for nfiles. */
void import_write_order(const struct import_meta *files, size_t nfiles, int pre_v031,
			size_t *order);

/*
 * Write the sidecar a copy commits with (before the meta, so the commit carries it): the
 * merge (sidecar_merge_copy) of the `len` bytes of `data` that arrived as mvbackupfs.json
 * (data NULL: none arrived) with the reservation at "<prefix>mvbackupfs.json", which must
 * still carry `job`.  While the merge keeps the expiry that arrived, the bytes that arrived
 * are kept too ("as_copied", sidecar.h), so the mount shows them unchanged.  The one
 * function of this module that does I/O: a GET of the reservation and a PUT.
 * 0; 1 when the bytes that arrived do not parse (the reservation is merged as if none had
 * arrived; the sentence says why, for a warning); -ESTALE when the reservation is gone or
 * another job's; the store's error.
 */
int import_commit_sidecar(struct objstore *s, const char *prefix, const char *job,
			  const char *data, size_t len, struct errmsg *err);

#endif
