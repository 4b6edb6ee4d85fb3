/*
 * ns_internal.h - what the files of the namespace share (namespace.c: the root and the
 * backups, their listings and caches; ns_tree.c: a backup's tree of objects; ns_summary.c:
 * the summaries behind .info).  Private to fs/; everyone else uses namespace.h.
 *
 * Locking: `ns->lock` guards the root listing (backup table, stray files, its timestamp)
 * and every backup's reference count; each backup's own `lock` guards its tree and summary
 * and is held across that backup's listing and meta reads, so two threads never list the
 * same backup twice.  Lock order: ns->refresh -> ns->lock; backup->lock is never taken
 * while holding ns->lock.
 */
#ifndef MVBACKUPFS_NS_INTERNAL_H
#define MVBACKUPFS_NS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "mvbackupfs/fs/namespace.h"
#include "mvbackupfs/format/sidecar.h"
#include "mvbackupfs/format/meta.h"

/* A file or directory inside a backup.  Children are kept sorted by name. */
struct node {
	char *name;
	int is_dir;
	uint64_t size;
	int64_t mtime;
	struct node *kids;
	size_t nkids, capkids;
};

struct backup {
	char *name;
	int refs;		/* guarded by ns->lock */
	pthread_mutex_t lock;	/* guards every field below */
	struct node tree;	/* root of the backup's tree (a directory) */
	int tree_valid;
	int64_t tree_at_ms;
	uint64_t tree_objects;
	uint64_t tree_bytes;
	int has_full_meta;	/* meta/full_meta.json was in the last listing */
	int has_mtimes;		/* so was a copy's mtimes record (IMPORT_MTIMES_NAME) */
	uint64_t commit_size;	/* its size and ETag then: a HEAD compares them */
	char commit_etag[72];
	int64_t checked_at_ms;	/* when a committed backup's commit object was last seen */
	atomic_int pinned;	/* ns_pin: serve the cached tree as it is, never re-list, and
				 * keep the backup in the root table even when no longer listed
				 * (read without b->lock: root_refresh holds ns->lock) */
	char sidecar_sig[72];	/* the sidecar's ETag when sum was taken from it ("" none) */
	int64_t sidecar_at_ms;	/* when the sidecar was last checked (ns_sidecar.c) */
	char view_sig[72];	/* the sidecar's signature when view was taken ("" never) */
	char *view;		/* a copy's sidecar as it arrived ("as_copied"), view_len bytes */
	size_t view_len;
	int view_has;		/* the sidecar at view_sig carries them (else view is unused) */
	int resolved;		/* sum is valid */
	int64_t sum_at_ms;
	struct ns_summary sum;
};

struct rootfile {
	char *name;
	uint64_t size;
	int64_t mtime;
};

struct ns {
	struct objstore *store;
	char *prefix;			/* "backup/" or "" */
	char *milvus_root;		/* Milvus's rootPath in this bucket, or NULL */
	struct ns_config cfg;
	pthread_mutex_t refresh;	/* serialises root re-listings (held across the I/O) */
	pthread_mutex_t lock;		/* guards the fields below and every backup's refs */
	struct backup **backups;	/* sorted by name */
	size_t nbackups;
	struct rootfile *files;		/* stray objects at the root, sorted by name */
	size_t nfiles;
	int root_valid;
	uint64_t root_gen;		/* bumped by ns_invalidate: a listing started before is stale */
	int64_t root_at_ms;
	int64_t root_mtime;		/* shown as the mtime of backup dirs not yet listed */
	pthread_mutex_t listed;		/* serialises ns_refresh_listed (held across its I/O;
					 * taken before lock and any b->lock, never inside them) */
	int64_t listed_at_ms;		/* when ns_refresh_listed last finished (under listed) */
};

/* ns_tree.c */
void node_release(struct node *n);
int tree_insert(struct node *root, const char *rel, const struct obj_entry *e);
void tree_sort(struct node *n);
const struct node *tree_find(const struct node *n, const char *path);

/* ns_summary.c */
int summary_copy(struct ns_summary *dst, const struct ns_summary *src);
int64_t time_from_name(const char *name);
int summary_from_meta(struct ns_summary *s, const struct meta_backup *m);

/* namespace.c: a backup's reference (under ns->lock), its meta read into b->sum, a re-listing
 * of the root (force: even within the TTL), and a referenced backup by name */
void backup_put(struct ns *n, struct backup *b);
int backup_resolve(struct ns *n, struct backup *b, struct errmsg *err);
int root_refresh(struct ns *n, int force, struct errmsg *err);
struct backup *backup_get(struct ns *n, const char *name, int *rc, struct errmsg *err);
const char *ns_type_of(int has_sidecar, enum sidecar_kind kind);

/* ns_sidecar.c: a listing entry's signature (ETag, else "size:mtime"; "" for NULL); the
 * per-backup check of the sidecar (b->lock held), at most once per TTL; and the check of
 * every committed backup from one listing, at most once per TTL (0 or the store's error) */
void sidecar_sig(const struct obj_entry *e, char out[72]);
/* ns_sidecar.c: the bytes a copy's sidecar arrived with (sidecar_view.c), read once per
 * signature of the sidecar (b->lock held): 1 when b->view holds them, 0 when the sidecar has
 * none, none is listed, or it cannot be read now (then the next call tries again). */
int backup_sidecar_view(struct ns *n, struct backup *b);
void backup_sidecar_refresh(struct ns *n, struct backup *b);
int ns_refresh_listed(struct ns *n, struct errmsg *err);

#endif
