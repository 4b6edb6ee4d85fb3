/*
 * schema_convert.h - Milvus protobuf replies -> milvus-backup meta structs (meta.h).
 *
 * The snapshot job (backup_create.h) describes a collection over gRPC and stores what it learns
 * in a `struct meta_collection`; this module does the field-by-field conversion of the schema
 * and of key/value lists (milvus-backup-format.md §2.3: CollectionSchema, FieldSchema,
 * FunctionSchema, StructArrayFieldSchema, KeyValuePair).  A field's default value is stored as
 * milvus-backup main does: base64 of the packed schema.ValueField in `default_value_base64`.
 * Everything produced is malloc'd and owned by the meta struct (meta_backup_release frees it).
 */
#ifndef MVBACKUPFS_SCHEMA_CONVERT_H
#define MVBACKUPFS_SCHEMA_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/format/meta.h"
#include "schema.pb-c.h"

/* Copy a repeated KeyValuePair into `out` (overwritten; order kept).  0 or -ENOMEM (then
 * `out` is left empty). */
int schema_kvs_from_proto(Milvus__Proto__Common__KeyValuePair *const *kv, size_t n,
			  struct meta_kvs *out);

/* Convert a CollectionSchema (NULL gives an empty schema).  `out` is overwritten.  0 or
 * -ENOMEM (then `out` is left empty). */
int schema_from_proto(const Milvus__Proto__Schema__CollectionSchema *in, struct meta_schema *out);
/* (Free the result with meta_schema_release(), meta.h.) */

#endif
