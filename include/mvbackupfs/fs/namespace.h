/*
 * namespace.h - what the mount shows: the backup root as a tree, built from object listings
 * and cached (spec §3, §5.1).
 *
 * The root is one delimiter listing of "<root>/": each common prefix is a backup directory,
 * each plain object a stray file shown read-only.  A backup's own tree comes from one
 * recursive listing of "<root>/<name>/"; directories are implied by key prefixes (directory
 * marker objects are tolerated).  The state of a backup (complete / incomplete, with a summary
 * of its meta for .info) is resolved lazily, only when asked for.
 *
 * Caching: a complete backup is immutable, so its tree and summary are kept until the backup
 * is deleted or the cache is dropped; the root listing and the trees of other backups are
 * re-listed after `ttl_ms`.  A complete backup's existence is revalidated at that TTL too,
 * with one HEAD of its meta/full_meta.json when it is next used: deleted (or replaced) by
 * another mount or tool, it is listed and resolved again, so .info shows the new state
 * within the TTL.
 *
 * Thread-safety: every function may be called from any FUSE worker thread.  Results are
 * copied out; no pointer into the cache escapes a lock.
 */
#ifndef MVBACKUPFS_NAMESPACE_H
#define MVBACKUPFS_NAMESPACE_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/err.h"
#include "mvbackupfs/base/workq.h"
#include "mvbackupfs/storage/objstore.h"

struct ns;

enum ns_state {
	NS_STATE_UNKNOWN = 0,	/* not resolved yet */
	NS_STATE_COMPLETE,
	NS_STATE_INCOMPLETE,
	/* set by the mount, never by storage alone (spec §4) */
	NS_STATE_CREATING,	/* a snapshot job of this mount is writing it */
	NS_STATE_DELETING,	/* a delete job of this mount is removing it */
	NS_STATE_FAILED,	/* this mount's snapshot job failed (storage says incomplete) */
	NS_STATE_RESTORING,	/* a restore job of this mount reads it */
	NS_STATE_IMPORTING,	/* a copy into this mount is writing it (fs/import.c) */
};

const char *ns_state_name(enum ns_state st);

/* One collection of a resolved backup, as shown by .info. */
struct ns_collection {
	char *db;
	char *name;
	int64_t id;
	size_t partitions;
	size_t segments;	/* non-L0 data segments */
	size_t l0_segments;
	int64_t entities;	/* Σ num_of_rows of non-L0 segments: deletes not subtracted */
	int64_t size;
	char *indexes;		/* "embedding_idx(HNSW), title_idx" or "" */
	char *load_state;	/* "" when not recorded */
};

/* What .info shows of one backup.  Owned by the caller after ns_backup_summary. */
struct ns_summary {
	char *name;
	enum ns_state state;
	char *reason;		/* why incomplete ("" when complete) */
	char *format;		/* "binlog" or "snapshot" */
	char *milvus_version;
	char *backup_id;
	int64_t created;	/* Unix seconds, 0 unknown */
	int64_t expires;	/* Unix seconds, 0 = never */
	const char *type;	/* who made it: "manual", "auto", "copied", or "external" (no
				 * sidecar of ours: milvus-backup's); static, never freed */
	int expired;		/* set by the mount, not by storage: complete and past its
				 * expiry (shown as state `expired`, spec §4) */
	int64_t size;		/* bytes: from the meta when complete, else Σ stored objects */
	uint64_t objects;	/* stored objects under the prefix (when the tree is known) */
	char **databases;
	size_t ndatabases;
	struct ns_collection *collections;
	size_t ncollections;
	int64_t entities;	/* Σ over collections */
};

void ns_summary_release(struct ns_summary *s);

/* What getattr needs. */
struct ns_attr {
	int is_dir;
	uint64_t size;
	int64_t mtime;		/* Unix seconds */
	int committed;		/* inside (or being) a complete backup: read-only modes */
	int has_mtimes;		/* ns_getattr of a path inside a backup whose listing holds a
				 * copy's mtimes record (import_commit.h's IMPORT_MTIMES_NAME):
				 * only then may the copy tool's mtimes differ from `mtime` */
};

struct ns_config {
	int ttl_ms;		/* re-list uncommitted listings after this long */
	int resolve_parallel;	/* meta reads in flight for the root .info */
	struct workq *wq;	/* they run on it (the mount's; not owned); NULL: ns_all_summaries
				 * makes its own for the call */
	const char *milvus_root;	/* Milvus's rootPath when it is in the same bucket as the
					 * backups, else NULL (copied by ns_new): names whose
					 * prefix overlaps Milvus's data are never backups */
};

/* A namespace over `store` (not owned) with backups under `root` ("backup", "" = bucket root;
 * no leading or trailing '/').  Does no I/O. */
int ns_new(struct objstore *store, const char *root, const struct ns_config *cfg,
	   struct ns **out);
void ns_free(struct ns *n);

/* The object key prefix of the root ("backup/" or ""), owned by n. */
const char *ns_root_prefix(const struct ns *n);

/* Names at the root: backups (is_dir 1) and stray objects (is_dir 0), in name order.
 * Calls fill(ctx, name, attr) for each; a non-zero return stops the walk. */
typedef int (*ns_fill_fn)(void *ctx, const char *name, const struct ns_attr *attr);
int ns_list_root(struct ns *n, ns_fill_fn fill, void *ctx, struct errmsg *err);

/* Attributes of "/<name>[/<rest>]" (a path below the root, without the leading '/').
 * -ENOENT when absent.  If key_out is not NULL and the path is a file, *key_out receives the
 * malloc'd object key. */
int ns_getattr(struct ns *n, const char *path, struct ns_attr *attr, char **key_out,
	       struct errmsg *err);

/* List the directory at `path` ("<name>" or "<name>/sub/dir"). */
int ns_list_dir(struct ns *n, const char *path, ns_fill_fn fill, void *ctx,
		struct errmsg *err);

/* When the root entry `name` overlaps Milvus's own data (see ns_config.milvus_root and
 * backup_prefix_milvus_data), the Milvus data directory it overlaps ("insert_log"); else
 * NULL.  Such names are never backups: the root listing, .info and every lookup skip them.
 * No I/O. */
const char *ns_milvus_data(const struct ns *n, const char *name);

/* 1 when `name` is a backup directory at the root (by the cached or a fresh root listing);
 * 0 when it is not OR when the listing failed: callers that act on the answer (delete) use
 * ns_backup_exists, which tells the two apart. */
int ns_is_backup(struct ns *n, const char *name, struct errmsg *err);

/* 0 when `name` is a backup directory at the root, -ENOENT when it is not, or the store's
 * error (-EIO, -ETIMEDOUT, ...) with a sentence in err when the root listing failed: an S3
 * failure is never "no such backup". */
int ns_backup_exists(struct ns *n, const char *name, struct errmsg *err);

/* Resolve and return the summary of backup `name` (reads its meta if not cached; a committed
 * backup's sidecar is checked at most once per TTL by a HEAD, so another mount's `.expires`
 * shows within the TTL).  -ENOENT when no such backup. */
int ns_backup_summary(struct ns *n, const char *name, struct ns_summary *out,
		      struct errmsg *err);

/* Summaries of every backup at the root, resolved in parallel.  *out is a malloc'd array.
 * Committed backups are checked (commit object, sidecar) by one listing of the root at most
 * once per TTL instead of a HEAD each (fs/ns_sidecar.c). */
int ns_all_summaries(struct ns *n, struct ns_summary **out, size_t *count, struct errmsg *err);

/* The bytes a copy's NAME/mvbackupfs.json shows (sidecar_view.c): 1 with them appended to out
 * when its stored sidecar carries the bytes that arrived ("as_copied"), else 0 (none, or not
 * readable now: the stored sidecar is shown).  Read once per version of the sidecar; checks
 * first whether another mount changed it (at most one HEAD per cache TTL).  ns_getattr gives
 * their length as the sidecar's size. */
int ns_sidecar_view(struct ns *n, const char *name, struct buf *out);

/* Freeze what is cached about `name` (its tree stays as listed, no re-listing) until the
 * next ns_invalidate of it: for `rm -rf`, which walks a backup while it is being deleted. */
void ns_pin(struct ns *n, const char *name);

/* The root listing is re-read at its next use, as if its TTL had passed (nothing else is
 * forgotten): for a background reader (the expiry scan) whose listing must not make a
 * user's next lookup miss a backup made meanwhile by another mount. */
void ns_root_stale(struct ns *n);

/* A counter bumped by every ns_invalidate: what was read under one value may be stale
 * under another. */
uint64_t ns_generation(struct ns *n);

/* Forget everything cached about `name` (after delete/commit), or everything (name NULL). */
void ns_invalidate(struct ns *n, const char *name);

#endif
