/*
 * restore.h - the restore job: a complete backup back into Milvus (milvus-backup-format.md §4,
 * mvbackupfs.md §5.4, issue 8).
 *
 * The job, run by job.h on its own thread, for the collections the caller chose (the caller,
 * fs/restore_ctl.c, has already parsed the command, checked names, existence and Milvus):
 *   databases    CreateDatabase for each missing target database
 *   collections  DropCollection (drop_existing), CreateCollection with the stored schema
 *                (fields, dynamic field, partition key, nullable / default values, functions,
 *                consistency level, shards, properties), CreatePartition for each partition
 *   copy         when Milvus cannot read the backup bucket (§4.4: other bucket or endpoint),
 *                every object of every import unit is copied into Milvus' bucket under
 *                restore-temp-<job>-<db>-<coll>/ (bucket root, §1.9): server-side when both
 *                stores share an endpoint, streaming otherwise
 *   import       one gRPC Import per unit (§4.1 step 6.3 "v1": [insert, delta or ""] with
 *                backup=true, then L0 units [delta] with l0_import=true), GetImportState
 *                polled to Completed or Failed
 *   index        CreateIndex for each backed-up index, vector fields first (index=1)
 *   load         LoadCollection, polled to 100 % (load=1)
 *   cleanup      the temporary objects are deleted - also after a failure or a cancel
 * On a failure or cancel after CreateCollection the collections this job created are dropped
 * again, and the error sentence says so.  CreateCollection and Import are never retried
 * blindly: after a transport error CreateCollection is retried only if HasCollection says the
 * first attempt did not take effect; Import is not retried.
 *
 * The plan of import calls is built by pure functions (restore_plan_collection,
 * restore_import_options), unit-tested on the fixtures of every format generation.
 */
#ifndef MVBACKUPFS_RESTORE_H
#define MVBACKUPFS_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/job.h"
#include "mvbackupfs/format/meta.h"
#include "mvbackupfs/storage/objstore.h"
#include "mvbackupfs/jobs/restore_cmd.h"

struct milvus_client;
struct membudget;

/* One chosen collection of the backup and where it goes. */
struct restore_target {
	const struct meta_collection *src;	/* points into restore_params.meta */
	char *db, *coll;			/* target names */
	int exists;				/* it existed at the check (drop_existing) */
};

struct restore_params {
	struct objstore *backup_store;	/* not owned */
	char *backup_prefix;		/* "<root>/<name>/" */
	char *name;			/* the backup */
	struct meta_backup meta;	/* owned: the backup's parsed meta */
	struct restore_cmd cmd;		/* owned: the accepted command */
	struct restore_target *targets;	/* owned */
	size_t ntargets;
	struct objstore *milvus_store;	/* not owned: Milvus' bucket */
	char *milvus_bucket;		/* for messages */
	int copy;			/* copy the units into Milvus' bucket first (§4.4) */
	int force_streaming;		/* never server-side copies */
	int copy_parallel;		/* copies in flight (0 = 16) */
	struct membudget *budget;	/* not owned: streaming buffers are charged to it (NULL:
					 * not) */
	struct milvus_client *milvus;	/* not owned, connected */
	long poll_ms;			/* GetImportState / loading polls back off from 100 ms
					 * to this (0 = 2000) */
};

/* The job function: job_start("restore", restore_job, params, restore_params_free, &j).
 * 0 when everything is restored; -ECANCELED after `cancel`; else -errno with the sentence. */
int restore_job(struct job *j, void *params);
void restore_params_free(void *params);

/* ------------------------------------------------------------------------------------------
 * The plan (pure, unit-tested)
 */

/* One Import call.  files[] are keys in the *backup* store (under backup_prefix, ending in
 * '/'); data units have two entries, the second "" when the group has no delta logs; L0
 * units have one. */
struct restore_unit {
	char *partition;	/* backup partition name; "" for an all-partition L0 unit */
	int l0;			/* l0_import=true rather than backup=true */
	char *files[2];
	size_t nfiles;
	int64_t storage_version;
	int64_t rows;		/* Σ num_of_rows of its segments (L0: deletes) */
};

/* The units of collection `c` in import order (§4.1 step 6.2): per partition its data groups
 * (segments grouped by group_id; old backups without group_id: the whole partition prefix as
 * one unit), then that partition's L0 segments; then the collection's all-partition L0
 * segments.  Groups without insert logs are left out.  *out is malloc'd; free with
 * restore_units_free.  0 or -ENOMEM. */
int restore_plan_collection(const struct meta_collection *c, const char *backup_prefix,
			    struct restore_unit **out, size_t *n);
void restore_units_free(struct restore_unit *u, size_t n);

/* The Import options of a unit (§4.1 6.3, §4.5): on Milvus >= 2.4 skip_disk_quota_check=true,
 * backup=true or l0_import=true, storage_version when > 0; on Milvus 2.3 (v0.4 line) backup=true
 * and end_ts=<collection backup_timestamp> when it is a hybrid TSO.  Appends to `out`
 * (strings malloc'd: meta_kvs_release).  0 or -ENOMEM. */
int restore_import_options(const struct restore_unit *u, const struct meta_collection *c,
			   int milvus_2_3, struct meta_kvs *out);

/* The field ID Milvus gave the dynamic field `$meta` when the collection was created, as
 * milvus-backup guesses it (funcs.GuessDynFieldID; DescribeCollection hides `$meta`): the ID
 * of a field marked is_dynamic if the backup has one; else the first gap in the sorted
 * user-field IDs (>= 100), or the largest + 1.  0 when the schema has no dynamic field. */
int64_t restore_dyn_field_id(const struct meta_schema *s);

/* 1 when `f` was added after the collection was created (Milvus 2.6 AddCollectionField): its
 * ID comes after the guessed `$meta` ID (format §4.1 step 6.1).  Only collections with a
 * dynamic field can tell; elsewhere every field is created with the collection. */
int restore_field_added_later(const struct meta_schema *s, const struct meta_field *f);

/* The CreateIndex parameters of a backed-up index (format §4.1 step 6.1): with `auto_index`
 * a vector index becomes {index_type: AUTOINDEX, metric_type}; index_type marisa-trie is sent
 * as Trie; the keys in `skip` (skip_index_params) are left out.  Strings malloc'd into `out`
 * (meta_kvs_release).  0 or -ENOMEM. */
int restore_index_params(const struct meta_index *ix, int is_vector, int auto_index,
			 const struct restore_keys *skip, struct meta_kvs *out);

/* The index name to send: "" for a scalar index whose name Milvus would refuse (JSON-path
 * indexes: a first character that is not a letter or '_', or one not a letter, digit or '_'),
 * else the backed-up name. */
const char *restore_index_name(const struct meta_index *ix, int is_vector);

#endif
