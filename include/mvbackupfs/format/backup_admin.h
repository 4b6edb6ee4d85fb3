/*
 * backup_admin.h - administration of whole backups in the milvus-backup layout: checking a
 * name, reserving a new name, and deleting a backup (meta first, data in the background,
 * our sidecar last).
 *
 * A backup is the prefix "<root><name>/" of one object store (milvus-backup-format.md §1.1),
 * where <root> is "" or ends with '/' ("backup/").  This module knows the layout (meta/,
 * binlogs/, the sidecar <root><name>/mvbackupfs.json of sidecar.h) and nothing of FUSE: the
 * FUSE layer maps mkdir to backup_reserve and rmdir to backup_delete_meta + a job running
 * backup_delete_job (job.h).
 */
#ifndef MVBACKUPFS_BACKUP_ADMIN_H
#define MVBACKUPFS_BACKUP_ADMIN_H

#include "mvbackupfs/base/err.h"
#include "mvbackupfs/base/job.h"
#include "mvbackupfs/storage/objstore.h"
#include "mvbackupfs/format/sidecar.h"

#define BACKUP_NAME_MAX	128	/* milvus-backup's limit (milvus-backup-format.md §1.1) */

/* 1 when `name` satisfies milvus-backup's rule ^[A-Za-z_][A-Za-z0-9_]*$ with at most
 * BACKUP_NAME_MAX characters (so no dot, dash, space or non-ASCII byte), else 0.  NULL is
 * not valid. */
int backup_name_valid(const char *name);

/*
 * Reserve the new backup name `name` below `root_prefix` ("" or "backup/"; a missing final
 * '/' is added) by creating its sidecar "<root><name>/mvbackupfs.json" with the JSON of `sc`
 * (sidecar_write).  Two reservations of one name, on one mount or on two mounts of one bucket,
 * never both succeed when the server honours If-None-Match (spec §6):
 *
 *   1. the name is checked: -EINVAL when backup_name_valid() refuses it;
 *   2. the prefix is listed with max_keys 1: -EEXIST when ANY object exists under it, as
 *      milvus-backup requires (the remains of a failed backup block reuse of the name);
 *   3. the sidecar is created with OBJSTORE_IF_NONE_MATCH: -EEXIST when it already exists.
 *      This conditional create is what closes the race between 2 and 3: of two reservations
 *      that both passed step 2, exactly one PUT succeeds;
 *   4. the sidecar is read back and compared byte for byte with what we wrote: when it
 *      differs, another writer replaced it, so the server ignored If-None-Match (some older
 *      S3-compatible servers do): -EEXIST, and the other writer's sidecar is left alone.
 *
 * Fallback on servers without If-None-Match: steps 2 and 4 together are list-then-create
 * with a read-back.  They catch a reservation that comes in before our list or between our
 * PUT and our read-back, but not one whose list ran before our PUT and whose PUT and
 * read-back both finish before ours; that window (a few round trips) is documented in the
 * user docs (spec §6).  Step 4 can only tell two reservations apart by their content, so
 * callers should make sc->job unique across mounts (a job id plus host or random suffix).
 *
 * A key named exactly "<root><name>" (an object, not a prefix) also gives -EEXIST on the
 * local store, where it blocks the directory.  Other errors are the store's (-EACCES,
 * -EIO, …); if one comes after the PUT succeeded the sidecar stays, the name stays reserved
 * and backup_delete_* clears it.  Every error sets a sentence naming the backup in `err`.
 */
int backup_reserve(struct objstore *s, const char *root_prefix, const char *name,
		   const struct sidecar *sc, struct errmsg *err);

/*
 * Make the backup at `prefix` ("<root><name>/", must be non-empty and end with '/') vanish for
 * every reader at once, synchronously, before the data is deleted (spec §5.5):
 *   1. delete meta/full_meta.json: the commit point (milvus-backup-format.md §1.7), after
 *      which no reader considers the backup complete;
 *   2. delete meta/backup_meta.json: milvus-backup's Exist() test, after which milvus-backup
 *      no longer sees the backup at all (this is also what makes a pre-v0.3.1 backup, whose
 *      completion is "all four level files parse", incomplete);
 *   3. list meta/ and delete whatever else is there.
 * Before step 1 it re-marks the sidecar with a fresh "delete-..." job id, so a snapshot still
 * writing this backup (on any mount) sees the change and does not commit (see
 * backup_sidecar_job).  After step 2 it checks with a HEAD that both keys are really gone,
 * and deletes them again while one is back (a snapshot on another mount may commit just
 * after our delete; it takes its commit back once it sees the mark); -EIO if one is still
 * there after 3 rounds: a store that refused the delete must not leave a backup that reads
 * as complete.
 * Missing keys are not errors: running it on an incomplete or half-deleted backup, or twice,
 * is fine.  Returns 0, -EINVAL for a bad prefix, or the store's error with a sentence.
 */
int backup_delete_meta(struct objstore *s, const char *prefix, struct errmsg *err);

/* The job id in the sidecar of the backup at `prefix` (into job[64]): "" when there is no
 * sidecar.  A snapshot compares it with its own before and after committing, so that a
 * delete started meanwhile (here or by another mount: backup_delete_meta re-marks the
 * sidecar first) is never committed over.  0 or -errno. */
int backup_sidecar_job(struct objstore *s, const char *prefix, char job[64], struct errmsg *err);

/* Parameters of backup_delete_job, owned by the job (free with backup_delete_params_free,
 * the job's free_arg).  The store is borrowed: it must outlive the job. */
struct backup_delete_params {
	struct objstore *store;
	char *prefix;		/* "<root><name>/", malloc'd */
	char *name;		/* "<name>" for messages, malloc'd */
};

/* Free prefix, name and the struct (not the store).  NULL is fine. */
void backup_delete_params_free(void *params);

/*
 * The delete job (a job_fn: job_start("delete", backup_delete_job, params,
 * backup_delete_params_free, &j)).  Deletes everything under params->prefix:
 *   phase "meta":   backup_delete_meta() again (cheap when already done; it guarantees
 *                   that no binlog disappears while a meta still names it);
 *   phase "list":   abort the multipart uploads left open under the prefix and remove the
 *                   local store's temporary files (objstore_abort_uploads: a cancelled or
 *                   crashed snapshot's), then count the objects and bytes (page by page,
 *                   nothing kept in memory); they become the job's items/bytes totals;
 *   phase "delete": list page by page (1000 keys) and delete each page with one
 *                   DeleteObjects, job_add_done per page; job_cancelled() is checked before
 *                   every page (returns -ECANCELED: the backup stays incomplete and
 *                   reserved, rmdir again finishes it);
 *   the sidecar mvbackupfs.json is deleted LAST, after a re-list has shown that nothing else
 *   remains: it keeps the name reserved until the data is gone, so a new mkdir of the same
 *   name cannot mix with leftovers.
 * Whenever the job stops early (failure, cancel, -EBUSY) it deletes full_meta.json and
 * backup_meta.json once more first: some data is gone, and a commit that landed meanwhile
 * must not name it.
 * If objects remain (or appear) under the prefix after the pass, something else is writing
 * there: the job fails with -EBUSY ("… objects appeared under '…' while it was being
 * deleted …") and keeps the sidecar.  There is no re-list after the sidecar is gone: the
 * name is free then, and what appears belongs to a new backup.  Works on complete,
 * incomplete and half-deleted backups; a second run on a deleted backup succeeds and does
 * nothing.  Returns 0, -ECANCELED, -EBUSY, -EINVAL (bad prefix) or the store's error, with
 * the sentence in the job's error.
 */
int backup_delete_job(struct job *j, void *params);

/*
 * Milvus's own data (issue 6, bug 1).  With minio.backupRootPath unset, milvus-backup puts
 * the backup root at minio.rootPath (milvus-backup-format.md §5.3), so the directories
 * Milvus writes there would look like backups.  They never are, and nothing here ever
 * deletes under them.
 */

/* The top-level directories Milvus 2.3-2.6 writes under its rootPath (Milvus
 * pkg/common InternalStorageRootSegments): insert_log, delta_log, stats_log, index_files,
 * bm25_stats, part_stats, analyze_stats, text_log, json_key_index_log, json_stats, wp.
 * NULL-terminated. */
extern const char *const backup_milvus_data_dirs[];

/* When the backup prefix `prefix` ("<root><name>/") and one of Milvus's data directories
 * "<milvus_root>/<dir>/" overlap - one is a prefix of the other, or they are equal - the
 * name of that directory ("insert_log"); else NULL.  `milvus_root` is Milvus's rootPath
 * in the same store ("files", "" for the bucket root; no leading or trailing '/'); NULL
 * means Milvus's data is not in this store: never an overlap. */
const char *backup_prefix_milvus_data(const char *milvus_root, const char *prefix);

/*
 * The key guard: may `key` be deleted as part of the backup at `prefix`?  0 when the prefix
 * names one backup ("<root><name>/", not "" and not absolute), the key lies strictly below
 * it without a ".." element, and neither the prefix nor the key overlaps Milvus's data
 * under `milvus_root` (see above; NULL = none).  Otherwise -EPERM with a sentence naming
 * the key and the reason.  A pure function: no I/O.
 */
int backup_key_guard(const char *prefix, const char *milvus_root, const char *key,
		     struct errmsg *err);

/* Declare that store `s` also holds Milvus's data under `milvus_root` (same endpoint and
 * bucket), so every backup_delete_keys on `s` refuses keys under Milvus's data directories.
 * Call before any delete on `s` starts; backup_guard_forget(s) before freeing the store.
 * 0 or -ENOMEM (-ENOSPC past 16 stores). */
int backup_guard_protect(struct objstore *s, const char *milvus_root);
void backup_guard_forget(struct objstore *s);

/*
 * Delete `keys` of the backup at `prefix` from `s` - the ONE way objects of a backup are
 * deleted (rmdir's meta and data, cancel clean-up, giving back a reservation; expiry later).
 * Every key first passes backup_key_guard (with the Milvus root registered for `s`); if one
 * fails, nothing is deleted and it returns -EPERM with the guard's sentence, which is also
 * logged as an error.  Otherwise objstore_delete's result.
 */
int backup_delete_keys(struct objstore *s, const char *prefix, const char *const *keys,
		       size_t nkeys, struct errmsg *err);

#endif
