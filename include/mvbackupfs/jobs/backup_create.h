/*
 * backup_create.h - the snapshot ("create") job: milvus-backup's create flow in C, writing a
 * backup that milvus-backup itself can list and restore (milvus-backup-format.md §1.3, §1.7,
 * §2, §3.2 with the serial flush strategy; mvbackupfs.md §5.2).
 *
 * The job, run by job.h on its own thread: read the server version, optionally pause Milvus'
 * garbage collection, enumerate the databases and collections chosen by the filter, describe
 * them (schema, indexes, load state, partitions), flush each collection and wait, list its
 * persistent segments, find their binlogs by listing the Milvus bucket, copy every binlog into
 * <backup_prefix>binlogs/ (server-side CopyObject when both stores share a backend, streaming
 * GET->PUT otherwise), verify every copied key and size, and finally write the five meta files
 * with meta/full_meta.json last (the commit point: it is never written unless everything
 * before it succeeded).
 *
 * Phases (job_set_phase): connect, gcpause, enumerate, describe, flush, segments, copy,
 * verify, meta.  Totals (bytes, objects) are set before the copy; every copied object is
 * counted with job_add_done.  The job checks job_cancelled() between every step and between
 * copies and then returns -ECANCELED.  Failures return -errno with a sentence (job_fail).
 *
 * The job never writes or deletes the sidecar mvbackupfs.json and never deletes anything: on
 * failure or cancel the caller (the FUSE layer) decides about the leftovers under the prefix.
 *
 * The pure helpers further down are exposed for the unit tests (tests/unit/test_backup_create.c).
 */
#ifndef MVBACKUPFS_BACKUP_CREATE_H
#define MVBACKUPFS_BACKUP_CREATE_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/err.h"
#include "mvbackupfs/base/workq.h"
#include "mvbackupfs/base/job.h"
#include "mvbackupfs/format/meta.h"
#include "mvbackupfs/storage/objstore.h"

struct milvus_client;
struct membudget;

#define BACKUP_COPY_PARALLEL	32	/* default server-side copies in flight */
#define BACKUP_STREAM_PARALLEL	8	/* at most this many streaming copies (memory bound) */
#define BACKUP_STREAM_PART	((uint64_t)8 << 20)	/* streaming buffer / multipart part size */

/*
 * What to back up and where.  Every pointer member is owned by the struct except those marked
 * "not owned"; backup_create_params_free() frees the strings and the struct itself (after the
 * job has finished; job_free() calls it when passed to job_start).
 */
struct backup_create_params {
	struct objstore *backup_store;	/* not owned: where the backup goes */
	char *backup_prefix;		/* "<root>/<name>/" (ends in '/'; "<name>/" for an empty root) */
	char *name;			/* the backup name (BackupInfo.name) */
	struct objstore *milvus_store;	/* not owned: Milvus' own bucket */
	char *milvus_bucket;		/* its bucket name, for messages */
	char *milvus_root;		/* minio.rootPath, cleaned ("files"; "" = bucket root) */
	struct milvus_client *milvus;	/* not owned; milvus_connect() already done */
	char *filter;			/* milvus-backup --filter syntax; "" = every collection of every db */
	int copy_parallel;		/* server-side copies in flight (0 = BACKUP_COPY_PARALLEL) */
	struct workq *wq;		/* the copies run on it (the mount's; not owned); NULL:
					 * the job makes its own for the copy phase */
	int force_streaming;		/* minio.crossStorage: GET+PUT even on one endpoint */
	struct membudget *budget;	/* streaming buffers are charged to it (NULL: not) */
	uint64_t multipart_threshold;	/* streaming: objects above it (and above
					 * BACKUP_STREAM_PART) go up in multipart parts of
					 * BACKUP_STREAM_PART; 0 = BACKUP_STREAM_PART.  Server-side
					 * copies above it go through UploadPartCopy in parts of its
					 * size (5 MiB..5 GiB), cancel checked between parts. */
	char *gc_pause_address;		/* management endpoint "http://host:9091"; "" or NULL = none */
	int gc_pause_enable;		/* pause GC during the job (failures only warn) */
	char *sidecar_job;		/* the job id of the reservation (mvbackupfs.json); when set,
					 * the job commits only while the sidecar still says it,
					 * checked right before and right after writing
					 * full_meta.json (a delete re-marks it first: never commit
					 * over a backup being deleted, by this or another mount) */
};

/* The job function for job_start("snapshot", backup_create_job, params,
 * backup_create_params_free, &j).  `params` is a struct backup_create_params.  Returns 0 when
 * meta/full_meta.json has been written; -ECANCELED when cancelled; otherwise -errno with the
 * sentence recorded by job_fail, e.g.
 *   no binlogs for 'db1.coll' under s3://milvus-bucket/files/insert_log/4624…/: check
 *   minio.bucketName and minio.rootPath
 *   cannot flush 'db1.coll': milvus Flush failed: boom (code 65535)
 *   no collection 'db1.nosuch' in milvus */
int backup_create_job(struct job *j, void *params);

/* Free the strings of a struct backup_create_params and the struct (NULL is a no-op).  The
 * stores and the Milvus client are not touched. */
void backup_create_params_free(void *params);

/* ---------------------------------------------------------------------------------------
 * Pure helpers (no I/O), exposed for the unit tests.
 */

/* A parsed --filter (milvus-backup-format.md §3.3): "db1.coll1,db2.*,coll3,db4." */
struct backup_filter_db {
	char *db;
	int all;		/* "db.*": every collection */
	int db_only;		/* "db." seen: the database entry even without collections */
	char **colls;		/* named collections, in first-seen order, no duplicates */
	size_t ncolls;
};

struct backup_filter {
	struct backup_filter_db *dbs;	/* in first-seen order; none = no filter (everything) */
	size_t ndbs;
};

/* Parse `spec` (NULL or "" or only blanks = no filter).  Entries are separated by commas and
 * may be surrounded by blanks; "coll" means "default.coll"; "db.*" every collection of db;
 * "db." only the database entry; "db.*" wins over named collections of the same db.
 * -EINVAL with a sentence for an entry with an empty database or collection name (".c", "."),
 * -ENOMEM.  `out` is overwritten; release with backup_filter_release. */
int backup_filter_parse(const char *spec, struct backup_filter *out, struct errmsg *err);
void backup_filter_release(struct backup_filter *f);

/* One binlog key of the Milvus bucket, parsed (§1.2). */
enum backup_log_kind { BACKUP_LOG_INSERT = 0, BACKUP_LOG_DELTA = 1 };

struct backup_binlog_key {
	enum backup_log_kind kind;
	int64_t collection_id;
	int64_t partition_id;	/* -1 for all-partition L0 delta logs */
	int64_t segment_id;
	int64_t field_id;	/* insert logs only (field or column-group ID); 0 for delta */
	int64_t log_id;		/* the last path element */
};

/* Parse `key` under `root` (cleaned, "" = bucket root):
 *   <root>/insert_log/<c>/<p>/<s>/<field>/<logid>   (p >= 0)
 *   <root>/delta_log/<c>/<p>/<s>/<logid>            (p >= -1)
 * every element a decimal integer.  0, or -EINVAL for anything else (other layouts, LOB
 * paths, stray objects: the caller skips them). */
int backup_binlog_key_parse(const char *root, const char *key, struct backup_binlog_key *out);

/* Append the backup-side key of a binlog to `out` (§1.3), built from IDs:
 *   <prefix>binlogs/insert_log/<c>/<p>/[<group>/]<s>/<field>/<logid>
 *   <prefix>binlogs/delta_log/<c>/<p>/[<group>/]<s>/<logid>
 * The group directory is left out when group_id is 0 and, for delta logs, when the partition
 * is -1 (all-partition L0).  0 or the buf error. */
int backup_dest_key(struct buf *out, const char *backup_prefix, enum backup_log_kind kind,
		    int64_t collection_id, int64_t partition_id, int64_t group_id,
		    int64_t segment_id, int64_t field_id, int64_t log_id);

/* Attach the binlogs of collection `c` found in a listing of the Milvus bucket to its segments
 * (those of c's partitions and c's l0_segments, which must already carry segment_id,
 * partition_id): insert keys become `binlogs` (one FieldBinlog per field, ascending field ID,
 * logs ascending by log ID), delta keys one `deltalogs` FieldBinlog.  log_path = the key,
 * log_size = its size, log_id = the last element.  Keys of other collections, unparsable keys
 * and keys of segments `c` does not name (compacted-away leftovers) are ignored.  Each
 * segment's size becomes the sum of its logs.  *nfound counts the logs attached.
 * 0 or -ENOMEM. */
int backup_attach_binlogs(struct meta_collection *c, const char *root,
			  const struct obj_entry *objs, size_t nobjs, size_t *nfound);

/* Whether segment `s` of `c` (after backup_attach_binlogs) may be committed: every field has
 * the same number of insert logs (milvus-backup-format.md §3.2 step 8.2 (b), milvus-backup's
 * own rule) and, for storage v0/v1, fields 0 and 1 and every schema field of ID >= 100 that
 * is not nullable (nullable ones may have been added after the segment was flushed) and not
 * being dropped have insert logs.  L0 and log-less segments pass (checked elsewhere).
 * 0, or -EIO with the reason ("field 101 has 1 binlogs, field 0 has 2") in `err`. */
int backup_segment_check(const struct meta_collection *c, const struct meta_segment *s,
			 struct errmsg *err);

/* Sum the sizes up the tree (main's rule, §2.3): partition = Σ its segments, collection =
 * Σ partitions + its l0_segments, backup = Σ collections.  Segment sizes are taken as set. */
void backup_sum_sizes(struct meta_backup *b);

/* The `timestamp` (field 4) of a base64 MsgPosition as stored in channel_checkpoints.
 * 0, or -EINVAL for bad base64 / protobuf. */
int backup_checkpoint_timestamp(const char *b64, uint64_t *ts);

/* A random UUID v4, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" (OpenSSL RAND_bytes).  0 or -EIO. */
int backup_uuid4(char out[37]);

#endif
