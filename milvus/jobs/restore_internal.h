/*
 * restore_internal.h - what the restore job's files share (restore.c, restore_plan.c,
 * restore_schema.c, restore_ddl.c, restore_copy.c); not a public API.
 */
#ifndef MVBACKUPFS_RESTORE_INTERNAL_H
#define MVBACKUPFS_RESTORE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "mvbackupfs/base/err.h"
#include "mvbackupfs/jobs/restore.h"
#include "mvbackupfs/rpc/milvus_client.h"

#define RESTORE_PARALLEL	16

struct copy_obj {
	char *src, *dst;
	uint64_t size;
};

struct coll_state {
	struct restore_target *t;
	struct restore_unit *units;
	size_t nunits;
	char *temp;		/* "restore-temp-<job>-<db>-<coll>/" or NULL (no copy) */
	int created;		/* we created it: drop it on failure */
};

struct restore {
	struct job *j;
	struct restore_params *p;
	struct coll_state *cs;
	size_t ncs;
	struct copy_obj *objs;
	size_t nobjs;
	int v23;		/* Milvus 2.3: no L0, v0.4 import options */
	struct errmsg err;
};

struct pbkvs {
	Milvus__Proto__Common__KeyValuePair *v;
	Milvus__Proto__Common__KeyValuePair **p;
	size_t n;
};

struct pbschema {
	Milvus__Proto__Schema__CollectionSchema s;
	Milvus__Proto__Schema__FieldSchema *f;
	Milvus__Proto__Schema__FieldSchema **fp;
	struct pbkvs *ftp, *fip;
	Milvus__Proto__Schema__ValueField **dv;
	Milvus__Proto__Schema__FunctionSchema *fn;
	Milvus__Proto__Schema__FunctionSchema **fnp;
	struct pbkvs *fnparams;
	struct pbkvs props;
	size_t nf, nfn;
};

/* restore_plan.c */
char *rs_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* restore_schema.c: meta -> packed CollectionSchema (the reverse of schema_convert.c) */
/* `in` as KeyValuePairs (pointing into `in`), without the keys in `skip` (NULL: none); with
 * set_key (not NULL) any entry of that key replaced by set_key=set_value at the end. */
int rs_pbkvs_from(const struct meta_kvs *in, struct pbkvs *o, const struct restore_keys *skip,
		  const char *set_key, const char *set_value);
void rs_pbkvs_free(struct pbkvs *o);
void rs_pbschema_free(struct pbschema *b);
int rs_schema_build(const struct meta_collection *c, const char *name,
		    const struct restore_cmd *cmd, struct pbschema *b, struct errmsg *err);
/* One field as a packed FieldSchema (AddCollectionField's `schema`); *out malloc'd. */
int rs_field_pack(const struct meta_field *mf, const struct restore_cmd *cmd, uint8_t **out,
		  size_t *len, struct errmsg *err);

/* restore.c */
int rs_nap(struct job *j, long ms);
long rs_poll_max(const struct restore *r);
int rs_call_status(struct restore *r, const char *method, const char *db,
		   const ProtobufCMessage *req);
int rs_maybe_done(int rc);
char *rs_import_key(struct restore *r, struct coll_state *cs, const char *backup_key);

/* restore_ddl.c: the phases before and after the data */
int rs_databases(struct restore *r);
int rs_collections(struct restore *r);
int rs_indexes(struct restore *r);
int rs_aliases(struct restore *r);
int rs_load(struct restore *r);

/* restore_copy.c: the units into Milvus' bucket, and the temporary objects out again */
int rs_list_units(struct restore *r);
int rs_copy_all(struct restore *r);
int rs_cleanup(struct restore *r);

#endif
