/*
 * meta.h - milvus-backup's meta JSON as typed C structs: parse every historical version,
 * write the current (main / v0.6) format byte for byte.
 *
 * A backup's meta lives under <root>/<name>/meta/ (milvus-backup-format.md §1, §2).  This
 * module turns that untrusted JSON into a `struct meta_backup` tree at the boundary, so nothing
 * downstream re-parses strings, and turns a tree back into the five files exactly as
 * milvus-backup main writes them (§2.1: Go encoding/json key names in struct order, omitempty
 * except the always-present keys, integer enums, 64-bit integers as JSON numbers, compact, no
 * trailing newline).  It knows nothing of storage: backup_read.h fetches the bytes.
 *
 * Conventions for every struct below:
 *  - Strings are malloc'd, NUL-terminated and never NULL after a successful parse ("" when the
 *    key was absent).  Arrays are (pointer, count) pairs; a NULL pointer means count 0.
 *  - Integers are parsed exactly as 64-bit integers (never through a double): IDs and hybrid
 *    timestamps above 2^53 survive.  Proto uint64 fields are uint64_t; values above INT64_MAX
 *    cannot occur in practice and are rejected by the parser.
 *  - Missing keys (and JSON null) mean 0 / false / "" / empty, as in Go.  Unknown keys are
 *    ignored (as Go does); a known key of the wrong JSON type is an error.
 *  - Key/value lists keep the order they were read in.  On writing, proto `map<string,string>`
 *    fields are written with keys sorted (Go sorts map keys); repeated KeyValuePair lists keep
 *    their order.
 * Everything hanging off a `struct meta_backup` is owned by it and freed by
 * meta_backup_release().
 */
#ifndef MVBACKUPFS_META_H
#define MVBACKUPFS_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/err.h"

/* Upper bounds applied while parsing untrusted meta (each array, each nesting level). */
#define META_MAX_ARRAY	(1u << 22)	/* elements in any one JSON array or object */

/* BackupTaskStateCode (§2.2) */
enum meta_state_code {
	META_BACKUP_INITIAL = 0,
	META_BACKUP_EXECUTING = 1,
	META_BACKUP_SUCCESS = 2,
	META_BACKUP_FAIL = 3,
	META_BACKUP_TIMEOUT = 4,
};

/* An ordered list of string pairs: a proto `repeated KeyValuePair` or a `map<string,string>`. */
struct meta_kv {
	char *key;
	char *value;
};

struct meta_kvs {
	struct meta_kv *v;
	size_t n;
};

/* Binlog: one copied object.  log_path is the *source* Milvus key (§1.3). */
struct meta_binlog {
	int64_t entries_num;		/* deprecated, normally 0 */
	uint64_t timestamp_from;	/* deprecated, normally 0 */
	uint64_t timestamp_to;		/* deprecated, normally 0 */
	char *log_path;
	int64_t log_size;
	int64_t log_id;			/* absent before main: parsed from log_path's last element */
	bool log_id_derived;		/* log_id came from log_path, not from the JSON */
};

/* FieldBinlog: the binlogs of one field (v1) or column group (v2/v3).  For delta logs
 * field_id means nothing (absent in main, a bogus log ID in v0.4.x); `{}` entries (no
 * binlogs) occur with Milvus < 2.5.8 and are kept so that they round-trip. */
struct meta_field_binlog {
	int64_t field_id;
	struct meta_binlog *binlogs;
	size_t nbinlogs;
};

/* SegmentBackupInfo */
struct meta_segment {
	int64_t segment_id;
	int64_t collection_id;
	int64_t partition_id;		/* -1: an L0 segment of all partitions */
	int64_t num_of_rows;		/* rows; for L0 segments the delete count */
	struct meta_field_binlog *binlogs;	/* insert logs */
	size_t nbinlogs;
	struct meta_field_binlog *statslogs;	/* deprecated, never filled */
	size_t nstatslogs;
	struct meta_field_binlog *deltalogs;
	size_t ndeltalogs;
	int64_t size;			/* insert + delta bytes */
	int64_t group_id;		/* = segment_id (>= v0.4.4), size group 1..n, or 0 */
	bool backuped;			/* old, deprecated */
	bool is_l0;
	char *v_channel;
	int64_t storage_version;
};

/* PartitionBackupInfo */
struct meta_partition {
	int64_t partition_id;
	char *partition_name;
	int64_t collection_id;
	struct meta_segment *segments;	/* segment_backups */
	size_t nsegments;
	int64_t size;
	char *load_state;
};

/* FieldSchema (also the members of a struct-array field) */
struct meta_field {
	int64_t field_id;		/* "fieldID" */
	char *name;
	bool is_primary_key;
	char *description;
	int data_type;			/* DataType enum (§2.2) */
	struct meta_kvs type_params;	/* e.g. dim, max_length, max_capacity */
	struct meta_kvs index_params;
	bool auto_id;			/* "autoID" */
	int state;			/* FieldState enum */
	int element_type;		/* DataType of array elements */
	bool is_dynamic;
	bool is_partition_key;
	bool nullable;
	char *default_value_proto;	/* old: raw proto bytes in a JSON string */
	bool is_function_output;
	char *default_value_base64;	/* base64 of a serialized schema.ValueField */
};

/* FunctionSchema */
struct meta_function {
	char *name;
	int64_t id;
	char *description;
	int type;			/* FunctionType enum: 1 BM25, 2 TextEmbedding */
	char **input_field_names;
	size_t ninput_field_names;
	int64_t *input_field_ids;
	size_t ninput_field_ids;
	char **output_field_names;
	size_t noutput_field_names;
	int64_t *output_field_ids;
	size_t noutput_field_ids;
	struct meta_kvs params;
};

/* StructArrayFieldSchema */
struct meta_struct_field {
	int64_t field_id;
	char *name;
	char *description;
	struct meta_field *fields;
	size_t nfields;
};

/* CollectionSchema */
struct meta_schema {
	char *name;
	char *description;
	bool auto_id;
	struct meta_field *fields;
	size_t nfields;
	bool enable_dynamic_field;
	struct meta_kvs properties;
	struct meta_function *functions;
	size_t nfunctions;
	struct meta_struct_field *struct_fields;	/* "struct_array_fields" */
	size_t nstruct_fields;
};

/* IndexInfo.  `params` is a map (written sorted); the *_params lists after index_id are only
 * filled with --backup_index_extra. */
struct meta_index {
	char *field_name;
	char *index_name;
	char *index_type;		/* may be "" for scalar auto-indexes */
	struct meta_kvs params;		/* map<string,string> */
	int64_t index_id;
	int64_t field_id;
	uint64_t create_time;
	struct meta_kvs type_params;
	struct meta_kvs index_params;
	struct meta_kvs user_index_params;
	bool is_auto_index;
	int64_t min_index_version;
	int64_t max_index_version;
};

/* CollectionBackupInfo */
struct meta_collection {
	char *id;			/* the backup task ID (a per-collection UUID in v0.3-v0.4.14) */
	/* old (<= v0.5.9) task fields; read, never written */
	int state_code;
	char *error_message;
	int64_t start_time;		/* Unix s */
	int64_t end_time;		/* Unix s */
	int progress;

	int64_t collection_id;
	char *db_name;			/* "default" when absent (Milvus 2.2 backups) */
	char *collection_name;
	struct meta_schema schema;
	bool has_schema;		/* the "schema" key was present */
	int shards_num;
	int consistency_level;		/* ConsistencyLevel enum */
	struct meta_partition *partitions;	/* partition_backups */
	size_t npartitions;
	uint64_t backup_timestamp;	/* hybrid TSO (or seconds << 18 in v0.3-v0.4.12) */
	int64_t size;
	bool has_index;
	struct meta_index *indexes;	/* index_infos */
	size_t nindexes;
	char *load_state;
	uint64_t backup_physical_timestamp;	/* Unix s */
	struct meta_kvs channel_checkpoints;	/* map vchannel -> base64 MsgPosition */
	struct meta_segment *l0_segments;	/* all-partition (-1) L0 segments */
	size_t nl0_segments;
	struct meta_kvs properties;
	int64_t db_id;
	uint64_t created_timestamp;	/* hybrid TSO of the collection's creation */
	char **virtual_channel_names;
	size_t nvirtual_channel_names;
	char **physical_channel_names;
	size_t nphysical_channel_names;
	char **aliases;
	size_t naliases;
	/* snapshot format only */
	bool has_snapshot_backup;
	char *snapshot_metadata_path;
	int64_t snapshot_total_files;
	int64_t snapshot_total_bytes;
};

/* DatabaseBackupInfo.  ezk is a database encryption key blob: sensitive, never log it. */
struct meta_database {
	char *db_name;
	int64_t db_id;
	struct meta_kvs properties;
	char *ezk;
};

/* BackupInfo: the root (backup_meta.json / full_meta.json). */
struct meta_backup {
	char *id;			/* task/request ID, not the name */
	int state_code;			/* enum meta_state_code; not reliable (§1.7) */
	/* old (<= v0.5.9) task fields; read, never written */
	char *error_message;
	int64_t start_time;		/* Unix ms */
	int64_t end_time;		/* Unix ms */
	int progress;
	int64_t meta_size;		/* v0.5.9 only */

	char *name;
	uint64_t backup_timestamp;	/* Unix ms in v0.3-v0.4.12, else 0 */
	struct meta_collection *collections;	/* collection_backups */
	size_t ncollections;
	int64_t size;			/* 0 in v0.3.0: use meta_backup_size() */
	char *milvus_version;
	char *rbac_meta_json;		/* "rbac_meta" kept as compact JSON text ("" if absent);
					 * written back verbatim.  May hold password hashes. */
	bool has_rpc_channel_info;
	char *rpc_channel_name;		/* rpc_channel_info.name */
	char *rpc_channel_position;	/* rpc_channel_info.position (base64) */
	struct meta_database *databases;	/* database_backups */
	size_t ndatabases;
	struct meta_kvs flush_all_msgs_base64;	/* map pchannel -> base64 */
	char *control_channel_name;
	char **physical_channel_names;
	size_t nphysical_channel_names;
	char *format;			/* "" = binlog, "snapshot" */
};

/* The five meta files as main writes them (§2.4 main column), each compact JSON without a
 * trailing newline; malloc'd, freed by meta_files_release().  For the snapshot format
 * partition_meta / segment_meta are NULL (not written). */
struct meta_files {
	char *backup_meta;
	size_t backup_meta_len;
	char *collection_meta;
	size_t collection_meta_len;
	char *partition_meta;
	size_t partition_meta_len;
	char *segment_meta;
	size_t segment_meta_len;
	char *full_meta;
	size_t full_meta_len;
};

/* Parse full_meta.json (`len` bytes, need not be NUL-terminated; the caller bounds len).
 * `out` is overwritten (not released first).  Returns 0; -EINVAL for malformed JSON, a
 * wrong type, an out-of-range integer or too many elements, with the JSON path in err;
 * -ENOMEM.  On failure `out` is left released (empty). */
int meta_parse_full(const char *json, size_t len, struct meta_backup *out, struct errmsg *err);

/* Rebuild the tree from the four level files as milvus-backup's Read does when there is no
 * full_meta.json (§1.7, §2.4): the root from backup_meta.json, collections from
 * collection_meta.json (nested partitions/segments there are discarded), partitions from
 * partition_meta.json attached to their collection by collection_id, segments from
 * segment_meta.json attached to their partition by (collection_id, partition_id); segments of
 * partition -1 go to the collection's l0_segments.  Partition, collection and backup sizes are
 * recomputed from the segments (so all-partition L0 segments are not counted, §2.4; the sums
 * saturate).  Errors as
 * meta_parse_full, plus -EINVAL for a partition or segment naming an unknown parent. */
int meta_parse_levels(const char *backup_json, size_t backup_len, const char *coll_json,
		      size_t coll_len, const char *part_json, size_t part_len,
		      const char *seg_json, size_t seg_len, struct meta_backup *out,
		      struct errmsg *err);

/* Free everything `b` holds; it is left zeroed (reusable).  Safe on a zeroed struct. */
void meta_backup_release(struct meta_backup *b);

/* Release pieces built outside a meta_backup (e.g. a schema converted from a Milvus reply,
 * schema_convert.h): free what they own and zero them. */
void meta_kvs_release(struct meta_kvs *k);
void meta_field_release(struct meta_field *f);
void meta_function_release(struct meta_function *f);
void meta_schema_release(struct meta_schema *s);

/* Derived values (§2.5).  The numbers come from untrusted meta: every sum of num_of_rows or
 * size saturates at INT64_MAX / INT64_MIN (meta_sat_add) instead of overflowing. */

/* a + b clamped to [INT64_MIN, INT64_MAX]. */
static inline int64_t meta_sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return a > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* Σ num_of_rows of the non-L0 segments of the collection's partitions: the rows stored in the
 * backup's segments (deletes in delta logs are not subtracted; rows compaction dropped are gone).  0 for the snapshot format. */
int64_t meta_collection_entities(const struct meta_collection *c);

/* Number of non-L0 data segments in the collection's partitions. */
size_t meta_collection_segments(const struct meta_collection *c);

/* The collection's stored size, or, when that is 0, Σ segment sizes of its partitions plus
 * its all-partition L0 segments (main's rule). */
int64_t meta_collection_size(const struct meta_collection *c);

/* The backup's stored size, or, when that is 0 (v0.3.0), Σ meta_collection_size(). */
int64_t meta_backup_size(const struct meta_backup *b);

/* The backup's creation time in Unix seconds from the meta alone, by §2.5 steps (1)-(3) with
 * the Errata magnitude rules: (1) start_time / end_time / backup_timestamp of the root (ms),
 * (2) the earliest collection backup_physical_timestamp (s), (3) the earliest collection
 * backup_timestamp >> 18 (ms for a hybrid TSO, s for v0.3-v0.4.12's seconds << 18).  Values
 * outside 2019..2200 are ignored; returns 0 when nothing plausible is found (the caller then
 * uses the object mtime and the name; never show a 1970 date). */
int64_t meta_backup_time(const struct meta_backup *b);

/* Serialise `b` into the five files exactly as milvus-backup main writes them (§2.1, §2.4):
 * backup_meta = id, state_code, name, size, milvus_version, format; collection_meta =
 * collections with partitions but no segment_backups / l0_segments; partition_meta = all
 * partitions without segments; segment_meta = all partitions' segments (not the
 * all-partition L0 ones); full_meta = the whole tree.  The old task fields (start_time, …,
 * meta_size) are not written.  `out` is overwritten.  Returns 0 or -ENOMEM; on failure `out`
 * is left empty. */
int meta_write_files(const struct meta_backup *b, struct meta_files *out, struct errmsg *err);

/* Free the files; `f` is left zeroed. */
void meta_files_release(struct meta_files *f);

/* Append `s` as a JSON string literal with Go encoding/json's escaping (<, >, & and U+2028/9
 * as \u escapes, invalid UTF-8 as \ufffd).  Exposed for the sidecar writer and tests. */
struct buf;
int meta_json_string(struct buf *out, const char *s);

#endif
