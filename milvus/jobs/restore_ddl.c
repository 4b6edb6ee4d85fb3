/*
 * restore_ddl.c - the restore phases that create things in Milvus around the data (format
 * §4.1 steps 4, 6.1, 7): databases, collections (drop_existing, CreateCollection never retried
 * blindly, partitions), indexes (vector fields first), aliases, load.
 */
#include "restore_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/base/log.h"

int rs_databases(struct restore *r)
{
	Milvus__Proto__Milvus__ListDatabasesResponse *ld = NULL;
	size_t i, k;
	int rc;

	job_set_phase(r->j, "databases");
	rc = milvus_list_databases(r->p->milvus, &ld, &r->err);
	if (rc == -ENOSYS || rc == -EIO) {
		/* a server without databases: only "default" can be restored into */
		for (i = 0; i < r->p->ntargets; i++)
			if (strcmp(r->p->targets[i].db, "default"))
				return job_fail(r->j, rc, "cannot list databases: %s", r->err.msg);
		return 0;
	}
	if (rc)
		return job_fail(r->j, rc, "cannot list databases: %s", r->err.msg);
	for (i = 0; i < r->p->ntargets && !rc; i++) {
		const char *db = r->p->targets[i].db;
		int have = 0;

		for (k = 0; k < ld->n_db_names && !have; k++)
			have = !strcmp(ld->db_names[k], db);
		for (k = 0; k < i && !have; k++)
			have = !strcmp(r->p->targets[k].db, db);
		if (have)
			continue;
		rc = milvus_create_database(r->p->milvus, db, &r->err);
		if (rc)
			rc = job_fail(r->j, rc, "cannot create database '%s': %s", db, r->err.msg);
		else
			log_info("restore '%s': created database '%s'", r->p->name, db);
	}
	protobuf_c_message_free_unpacked(&ld->base, NULL);
	return rc;
}

#define FUNC_CHECK_KEY	"disable_func_runtime_check"

/* The original value of disable_func_runtime_check (collection or schema property), "" if
 * none. */
static const char *func_check_value(const struct meta_collection *c)
{
	size_t i;

	for (i = 0; i < c->properties.n; i++)
		if (!strcmp(c->properties.v[i].key, FUNC_CHECK_KEY))
			return c->properties.v[i].value;
	for (i = 0; i < c->schema.properties.n; i++)
		if (!strcmp(c->schema.properties.v[i].key, FUNC_CHECK_KEY))
			return c->schema.properties.v[i].value;
	return "";
}

/* §4.1 6.1: with functions, Milvus >= 2.6.8 checks them at create (calling model providers):
 * milvus-backup creates with disable_func_runtime_check=true and restores the value after. */
static int func_check_applies(const struct restore *r, const struct meta_collection *c)
{
	return c->schema.nfunctions &&
	       milvus_version_at_least(milvus_client_version(r->p->milvus), 2, 6, 8) == 1;
}

/* CreateCollection, never retried blindly: after a transport error, again only if
 * HasCollection says the first attempt did not take effect. */
static int create_call(struct restore *r, struct coll_state *cs,
		       Milvus__Proto__Milvus__CreateCollectionRequest *req)
{
	const struct meta_collection *c = cs->t->src;
	struct pbkvs props;
	int rc, exists = 0, check = func_check_applies(r, c);

	rc = rs_pbkvs_from(&c->properties, &props, &r->p->cmd.skip_coll_props,
			   check ? FUNC_CHECK_KEY : NULL, "true");
	if (!rc) {
		req->n_properties = props.n;
		req->properties = props.p;
		for (int attempt = 0; attempt < 2; attempt++) {
			rc = rs_call_status(r, "CreateCollection", cs->t->db, &req->base);
			if (!rs_maybe_done(rc))
				break;
			if (milvus_has_collection(r->p->milvus, cs->t->db, cs->t->coll, &exists,
						  NULL) == 0 && exists) {
				rc = 0;
				break;
			}
		}
	}
	rs_pbkvs_free(&props);
	return rc;
}

/* The fields added after creation, in the backup's order (format §4.1 6.1). */
static int add_fields(struct restore *r, struct coll_state *cs)
{
	const struct meta_schema *ms = &cs->t->src->schema;
	size_t i;
	int rc;

	for (i = 0; i < ms->nfields; i++) {
		const struct meta_field *mf = &ms->fields[i];
		Milvus__Proto__Milvus__AddCollectionFieldRequest req =
			MILVUS__PROTO__MILVUS__ADD_COLLECTION_FIELD_REQUEST__INIT;
		uint8_t *packed = NULL;
		size_t len = 0;

		if (!restore_field_added_later(ms, mf))
			continue;
		if ((rc = rs_field_pack(mf, &r->p->cmd, &packed, &len, &r->err)))
			return job_fail(r->j, rc, "cannot build field '%s' of '%s.%s': %s",
					mf->name ? mf->name : "", cs->t->db, cs->t->coll,
					rc == -ENOMEM ? "out of memory" : r->err.msg);
		req.db_name = cs->t->db;
		req.collection_name = cs->t->coll;
		req.schema.data = packed;
		req.schema.len = len;
		rc = rs_call_status(r, "AddCollectionField", cs->t->db, &req.base);
		free(packed);
		if (rc)
			return job_fail(r->j, rc, "cannot add field '%s' (ID %" PRId64 ") to '%s.%s': "
					"%s", mf->name ? mf->name : "", mf->field_id, cs->t->db,
					cs->t->coll, r->err.msg);
		log_info("restore '%s': added field '%s' to '%s.%s' (added after creation in the "
			 "source)", r->p->name, mf->name ? mf->name : "", cs->t->db, cs->t->coll);
	}
	return 0;
}

/* disable_func_runtime_check back to its original value (unless that was "true"). */
static int func_check_restore(struct restore *r, struct coll_state *cs)
{
	Milvus__Proto__Milvus__AlterCollectionRequest req =
		MILVUS__PROTO__MILVUS__ALTER_COLLECTION_REQUEST__INIT;
	Milvus__Proto__Common__KeyValuePair kv = MILVUS__PROTO__COMMON__KEY_VALUE_PAIR__INIT, *kvp;
	int rc;

	if (!func_check_applies(r, cs->t->src) || !strcmp(func_check_value(cs->t->src), "true"))
		return 0;
	kv.key = FUNC_CHECK_KEY;
	kv.value = "false";
	kvp = &kv;
	req.db_name = cs->t->db;
	req.collection_name = cs->t->coll;
	req.n_properties = 1;
	req.properties = &kvp;
	rc = rs_call_status(r, "AlterCollection", cs->t->db, &req.base);
	if (rc)
		return job_fail(r->j, rc, "cannot set %s=false on '%s.%s': %s", FUNC_CHECK_KEY,
				cs->t->db, cs->t->coll, r->err.msg);
	return 0;
}

static int partitions(struct restore *r, struct coll_state *cs)
{
	const struct meta_collection *c = cs->t->src;
	size_t i;
	int rc, exists = 0;

	for (i = 0; i < c->npartitions; i++) {
		const char *pn = c->partitions[i].partition_name;

		if (!pn || !*pn || !strcmp(pn, "_default"))
			continue;
		rc = milvus_has_partition(r->p->milvus, cs->t->db, cs->t->coll, pn, &exists, &r->err);
		if (!rc && !exists)
			rc = milvus_create_partition(r->p->milvus, cs->t->db, cs->t->coll, pn, &r->err);
		if (rc)
			return job_fail(r->j, rc, "cannot create partition '%s' of '%s.%s': %s", pn,
					cs->t->db, cs->t->coll, r->err.msg);
	}
	return 0;
}

static int create_collection(struct restore *r, struct coll_state *cs)
{
	const struct meta_collection *c = cs->t->src;
	Milvus__Proto__Milvus__CreateCollectionRequest req =
		MILVUS__PROTO__MILVUS__CREATE_COLLECTION_REQUEST__INIT;
	struct pbschema b;
	uint8_t *packed = NULL;
	size_t len, i;
	int rc, has_pkey = 0;

	rc = rs_schema_build(c, cs->t->coll, &r->p->cmd, &b, &r->err);
	if (rc) {
		rs_pbschema_free(&b);
		return job_fail(r->j, rc, "cannot build the schema of '%s.%s': %s", c->db_name,
				c->collection_name, rc == -ENOMEM ? "out of memory" : r->err.msg);
	}
	len = milvus__proto__schema__collection_schema__get_packed_size(&b.s);
	packed = malloc(len ? len : 1);
	if (!packed) {
		rs_pbschema_free(&b);
		return -ENOMEM;
	}
	milvus__proto__schema__collection_schema__pack(&b.s, packed);
	req.db_name = cs->t->db;
	req.collection_name = cs->t->coll;
	req.schema.data = packed;
	req.schema.len = len;
	req.shards_num = c->shards_num;
	req.consistency_level = c->consistency_level;
	for (i = 0; i < c->schema.nfields; i++)
		has_pkey |= c->schema.fields[i].is_partition_key;
	/* §4.1 6.1: NumPartitions only with a partition key (Milvus makes them itself) */
	if (has_pkey)
		req.num_partitions = (int64_t)c->npartitions;
	rc = create_call(r, cs, &req);
	free(packed);
	rs_pbschema_free(&b);
	if (rc)
		return job_fail(r->j, rc, "cannot create collection '%s.%s': %s", cs->t->db,
				cs->t->coll, r->err.msg);
	cs->created = 1;
	log_info("restore '%s': created collection '%s.%s'", r->p->name, cs->t->db, cs->t->coll);
	if ((rc = add_fields(r, cs)) || (rc = func_check_restore(r, cs)))
		return rc;
	return has_pkey ? 0 : partitions(r, cs);
}

int rs_collections(struct restore *r)
{
	size_t i;
	int rc = 0;

	job_set_phase(r->j, "collections");
	for (i = 0; i < r->ncs && !rc; i++) {
		struct coll_state *cs = &r->cs[i];

		if (job_cancelled(r->j))
			return -ECANCELED;
		if (r->p->cmd.drop_existing) {
			int exists = 0;

			rc = milvus_has_collection(r->p->milvus, cs->t->db, cs->t->coll, &exists,
						   &r->err);
			if (!rc && exists) {
				rc = milvus_drop_collection(r->p->milvus, cs->t->db, cs->t->coll, &r->err);
				if (!rc)
					log_info("restore '%s': dropped existing '%s.%s' (drop_existing=1)",
						 r->p->name, cs->t->db, cs->t->coll);
			}
			if (rc)
				return job_fail(r->j, rc, "cannot drop '%s.%s': %s", cs->t->db,
						cs->t->coll, r->err.msg);
		}
		rc = create_collection(r, cs);
	}
	return rc;
}

static int is_vector(int dt)
{
	return dt >= 100 && dt < 200;
}

static int field_type(const struct meta_collection *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->schema.nfields; i++)
		if (c->schema.fields[i].name && !strcmp(c->schema.fields[i].name, name))
			return c->schema.fields[i].data_type;
	return 0;
}

int rs_indexes(struct restore *r)
{
	size_t i, k;
	int pass, rc;

	job_set_phase(r->j, "index");
	for (i = 0; i < r->ncs; i++) {
		const struct meta_collection *c = r->cs[i].t->src;

		/* §4.1 6.1: vector indexes first */
		for (pass = 0; pass < 2; pass++)
			for (k = 0; k < c->nindexes; k++) {
				const struct meta_index *ix = &c->indexes[k];
				Milvus__Proto__Milvus__CreateIndexRequest req =
					MILVUS__PROTO__MILVUS__CREATE_INDEX_REQUEST__INIT;
				struct meta_kvs params = { 0 };
				struct pbkvs kv;
				int vec = ix->field_name && is_vector(field_type(c, ix->field_name));

				if (!ix->field_name || vec != !pass)
					continue;
				if (job_cancelled(r->j))
					return -ECANCELED;
				rc = restore_index_params(ix, vec, r->p->cmd.auto_index,
							  &r->p->cmd.skip_index, &params);
				if (!rc && (rc = rs_pbkvs_from(&params, &kv, NULL, NULL, NULL)))
					rs_pbkvs_free(&kv);
				if (rc) {
					meta_kvs_release(&params);
					return rc;
				}
				req.db_name = r->cs[i].t->db;
				req.collection_name = r->cs[i].t->coll;
				req.field_name = ix->field_name;
				req.index_name = (char *)restore_index_name(ix, vec);
				req.n_extra_params = kv.n;
				req.extra_params = kv.p;
				rc = rs_call_status(r, "CreateIndex", r->cs[i].t->db, &req.base);
				rs_pbkvs_free(&kv);
				meta_kvs_release(&params);
				if (rc)
					return job_fail(r->j, rc, "cannot create index '%s' on '%s.%s': %s",
							req.index_name, r->cs[i].t->db,
							r->cs[i].t->coll, r->err.msg);
			}
	}
	return 0;
}

/* The backed-up aliases (the order: after indexes, before load).  An alias that
 * Milvus refuses - typically because it already names another collection, e.g. the source
 * of a restore with a suffix into the same Milvus - is logged and skipped: the data is
 * restored, and moving an alias is the operator's decision. */
int rs_aliases(struct restore *r)
{
	size_t i, k;
	int rc;

	job_set_phase(r->j, "alias");
	for (i = 0; i < r->ncs; i++) {
		const struct meta_collection *c = r->cs[i].t->src;

		for (k = 0; k < c->naliases; k++) {
			Milvus__Proto__Milvus__CreateAliasRequest req =
				MILVUS__PROTO__MILVUS__CREATE_ALIAS_REQUEST__INIT;

			if (job_cancelled(r->j))
				return -ECANCELED;
			if (!c->aliases[k] || !*c->aliases[k])
				continue;
			req.db_name = r->cs[i].t->db;
			req.collection_name = r->cs[i].t->coll;
			req.alias = c->aliases[k];
			rc = rs_call_status(r, "CreateAlias", r->cs[i].t->db, &req.base);
			if (rc)
				log_warn("restore '%s': alias '%s' not created for '%s.%s': %s",
					 r->p->name, c->aliases[k], r->cs[i].t->db, r->cs[i].t->coll,
					 r->err.msg);
		}
	}
	return 0;
}

int rs_load(struct restore *r)
{
	size_t i;
	int rc;

	job_set_phase(r->j, "load");
	for (i = 0; i < r->ncs; i++) {
		int64_t prog = 0;
		long delay = 100;

		rc = milvus_load_collection(r->p->milvus, r->cs[i].t->db, r->cs[i].t->coll, &r->err);
		if (rc)
			return job_fail(r->j, rc, "cannot load '%s.%s': %s", r->cs[i].t->db,
					r->cs[i].t->coll, r->err.msg);
		while (prog < 100) {
			if ((rc = rs_nap(r->j, delay)))
				return rc;
			delay = delay * 2 > rs_poll_max(r) ? rs_poll_max(r) : delay * 2;
			rc = milvus_get_loading_progress(r->p->milvus, r->cs[i].t->db,
							 r->cs[i].t->coll, NULL, &prog, &r->err);
			if (rc)
				return job_fail(r->j, rc, "cannot follow the load of '%s.%s': %s",
						r->cs[i].t->db, r->cs[i].t->coll, r->err.msg);
		}
	}
	return 0;
}
