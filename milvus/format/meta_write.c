/*
 * meta_write.c - typed structs back into milvus-backup's meta files, byte for byte as
 * milvus-backup main writes them (Go encoding/json: its string escaping, proto struct field
 * order; milvus-backup-format.md §2.1).
 */
#include "meta_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One JSON object being written: errors stick in rc, commas are automatic. */
struct wobj {
	struct buf *b;
	int *rc;
	int n;		/* members written so far */
};

static void w_raw(struct buf *b, int *rc, const char *s, size_t len)
{
	if (!*rc)
		*rc = buf_add(b, s, len);
}

static struct wobj w_open(struct buf *b, int *rc)
{
	w_raw(b, rc, "{", 1);
	return (struct wobj){ b, rc, 0 };
}

static void w_close(struct wobj *w)
{
	w_raw(w->b, w->rc, "}", 1);
}

static void w_key(struct wobj *w, const char *key)
{
	if (w->n++)
		w_raw(w->b, w->rc, ",", 1);
	w_raw(w->b, w->rc, "\"", 1);
	w_raw(w->b, w->rc, key, strlen(key));
	w_raw(w->b, w->rc, "\":", 2);
}

static void w_i64(struct wobj *w, const char *key, int64_t v, bool always)
{
	if (!v && !always)
		return;
	w_key(w, key);
	if (!*w->rc)
		*w->rc = buf_addf(w->b, "%" PRId64, v);
}

static void w_u64(struct wobj *w, const char *key, uint64_t v)
{
	if (!v)
		return;
	w_key(w, key);
	if (!*w->rc)
		*w->rc = buf_addf(w->b, "%" PRIu64, v);
}

static void w_bool(struct wobj *w, const char *key, bool v, bool always)
{
	if (!v && !always)
		return;
	w_key(w, key);
	w_raw(w->b, w->rc, v ? "true" : "false", v ? 4 : 5);
}

static void w_str(struct wobj *w, const char *key, const char *v)
{
	if (!v || !v[0])
		return;
	w_key(w, key);
	if (!*w->rc)
		*w->rc = meta_json_string(w->b, v);
}

static void w_strs(struct wobj *w, const char *key, char **v, size_t n)
{
	if (!n)
		return;
	w_key(w, key);
	w_raw(w->b, w->rc, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			w_raw(w->b, w->rc, ",", 1);
		if (!*w->rc)
			*w->rc = meta_json_string(w->b, v[i]);
	}
	w_raw(w->b, w->rc, "]", 1);
}

static void w_i64s(struct wobj *w, const char *key, const int64_t *v, size_t n)
{
	if (!n)
		return;
	w_key(w, key);
	w_raw(w->b, w->rc, "[", 1);
	for (size_t i = 0; i < n && !*w->rc; i++)
		*w->rc = buf_addf(w->b, "%s%" PRId64, i ? "," : "", v[i]);
	w_raw(w->b, w->rc, "]", 1);
}

/* repeated KeyValuePair: [{"key":…,"value":…}] in order */
static void w_kvlist(struct wobj *w, const char *key, const struct meta_kvs *k)
{
	if (!k->n)
		return;
	w_key(w, key);
	w_raw(w->b, w->rc, "[", 1);
	for (size_t i = 0; i < k->n; i++) {
		struct wobj o;

		if (i)
			w_raw(w->b, w->rc, ",", 1);
		o = w_open(w->b, w->rc);
		w_str(&o, "key", k->v[i].key);
		w_str(&o, "value", k->v[i].value);
		w_close(&o);
	}
	w_raw(w->b, w->rc, "]", 1);
}

static int kv_cmp(const void *a, const void *b)
{
	const struct meta_kv *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

/* map<string,string>: a JSON object with the keys sorted bytewise, as Go writes maps */
static void w_map(struct wobj *w, const char *key, const struct meta_kvs *k)
{
	const struct meta_kv **sorted;

	if (!k->n)
		return;
	sorted = calloc(k->n, sizeof(*sorted));
	if (!sorted) {
		if (!*w->rc)
			*w->rc = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < k->n; i++)
		sorted[i] = &k->v[i];
	qsort(sorted, k->n, sizeof(*sorted), kv_cmp);
	w_key(w, key);
	w_raw(w->b, w->rc, "{", 1);
	for (size_t i = 0; i < k->n && !*w->rc; i++) {
		if (i)
			w_raw(w->b, w->rc, ",", 1);
		if (!*w->rc)
			*w->rc = meta_json_string(w->b, sorted[i]->key);
		w_raw(w->b, w->rc, ":", 1);
		if (!*w->rc)
			*w->rc = meta_json_string(w->b, sorted[i]->value);
	}
	w_raw(w->b, w->rc, "}", 1);
	free(sorted);
}

static void w_field_binlogs(struct wobj *w, const char *key, const struct meta_field_binlog *v,
			    size_t n)
{
	if (!n)
		return;
	w_key(w, key);
	w_raw(w->b, w->rc, "[", 1);
	for (size_t i = 0; i < n; i++) {
		struct wobj f;

		if (i)
			w_raw(w->b, w->rc, ",", 1);
		f = w_open(w->b, w->rc);
		w_i64(&f, "fieldID", v[i].field_id, false);
		if (v[i].nbinlogs) {
			w_key(&f, "binlogs");
			w_raw(w->b, w->rc, "[", 1);
			for (size_t j = 0; j < v[i].nbinlogs; j++) {
				const struct meta_binlog *l = &v[i].binlogs[j];
				struct wobj o;

				if (j)
					w_raw(w->b, w->rc, ",", 1);
				o = w_open(w->b, w->rc);
				w_i64(&o, "entries_num", l->entries_num, false);
				w_u64(&o, "timestamp_from", l->timestamp_from);
				w_u64(&o, "timestamp_to", l->timestamp_to);
				w_str(&o, "log_path", l->log_path);
				w_i64(&o, "log_size", l->log_size, true);
				w_i64(&o, "log_id", l->log_id, false);
				w_close(&o);
			}
			w_raw(w->b, w->rc, "]", 1);
		}
		w_close(&f);
	}
	w_raw(w->b, w->rc, "]", 1);
}

static void w_segment(struct buf *b, int *rc, const struct meta_segment *s)
{
	struct wobj o = w_open(b, rc);

	w_i64(&o, "segment_id", s->segment_id, false);
	w_i64(&o, "collection_id", s->collection_id, false);
	w_i64(&o, "partition_id", s->partition_id, false);
	w_i64(&o, "num_of_rows", s->num_of_rows, false);
	w_field_binlogs(&o, "binlogs", s->binlogs, s->nbinlogs);
	w_field_binlogs(&o, "statslogs", s->statslogs, s->nstatslogs);
	w_field_binlogs(&o, "deltalogs", s->deltalogs, s->ndeltalogs);
	w_i64(&o, "size", s->size, true);
	w_i64(&o, "group_id", s->group_id, false);
	w_bool(&o, "backuped", s->backuped, false);
	w_bool(&o, "is_l0", s->is_l0, false);
	w_str(&o, "v_channel", s->v_channel);
	w_i64(&o, "storage_version", s->storage_version, false);
	w_close(&o);
}

static void w_segments(struct wobj *w, const char *key, const struct meta_segment *v, size_t n)
{
	if (!n)
		return;
	w_key(w, key);
	w_raw(w->b, w->rc, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			w_raw(w->b, w->rc, ",", 1);
		w_segment(w->b, w->rc, &v[i]);
	}
	w_raw(w->b, w->rc, "]", 1);
}

static void w_partition(struct buf *b, int *rc, const struct meta_partition *p, bool segs)
{
	struct wobj o = w_open(b, rc);

	w_i64(&o, "partition_id", p->partition_id, false);
	w_str(&o, "partition_name", p->partition_name);
	w_i64(&o, "collection_id", p->collection_id, false);
	if (segs)
		w_segments(&o, "segment_backups", p->segments, p->nsegments);
	w_i64(&o, "size", p->size, true);
	w_str(&o, "load_state", p->load_state);
	w_close(&o);
}

static void w_fields(struct wobj *w, const char *key, const struct meta_field *v, size_t n)
{
	if (!n)
		return;
	w_key(w, key);
	w_raw(w->b, w->rc, "[", 1);
	for (size_t i = 0; i < n; i++) {
		const struct meta_field *f = &v[i];
		struct wobj o;

		if (i)
			w_raw(w->b, w->rc, ",", 1);
		o = w_open(w->b, w->rc);
		w_i64(&o, "fieldID", f->field_id, false);
		w_str(&o, "name", f->name);
		w_bool(&o, "is_primary_key", f->is_primary_key, false);
		w_str(&o, "description", f->description);
		w_i64(&o, "data_type", f->data_type, false);
		w_kvlist(&o, "type_params", &f->type_params);
		w_kvlist(&o, "index_params", &f->index_params);
		w_bool(&o, "autoID", f->auto_id, false);
		w_i64(&o, "state", f->state, false);
		w_i64(&o, "element_type", f->element_type, false);
		w_bool(&o, "is_dynamic", f->is_dynamic, false);
		w_bool(&o, "is_partition_key", f->is_partition_key, false);
		w_bool(&o, "nullable", f->nullable, false);
		w_str(&o, "default_value_proto", f->default_value_proto);
		w_bool(&o, "is_function_output", f->is_function_output, false);
		w_str(&o, "default_value_base64", f->default_value_base64);
		w_close(&o);
	}
	w_raw(w->b, w->rc, "]", 1);
}

static void w_schema(struct wobj *w, const struct meta_schema *s)
{
	struct wobj o;

	w_key(w, "schema");
	o = w_open(w->b, w->rc);
	w_str(&o, "name", s->name);
	w_str(&o, "description", s->description);
	w_bool(&o, "autoID", s->auto_id, false);
	w_fields(&o, "fields", s->fields, s->nfields);
	w_bool(&o, "enable_dynamic_field", s->enable_dynamic_field, false);
	w_kvlist(&o, "properties", &s->properties);
	if (s->nfunctions) {
		w_key(&o, "functions");
		w_raw(w->b, w->rc, "[", 1);
		for (size_t i = 0; i < s->nfunctions; i++) {
			const struct meta_function *f = &s->functions[i];
			struct wobj fo;

			if (i)
				w_raw(w->b, w->rc, ",", 1);
			fo = w_open(w->b, w->rc);
			w_str(&fo, "name", f->name);
			w_i64(&fo, "id", f->id, false);
			w_str(&fo, "description", f->description);
			w_i64(&fo, "type", f->type, false);
			w_strs(&fo, "input_field_names", f->input_field_names,
			       f->ninput_field_names);
			w_i64s(&fo, "input_field_ids", f->input_field_ids, f->ninput_field_ids);
			w_strs(&fo, "output_field_names", f->output_field_names,
			       f->noutput_field_names);
			w_i64s(&fo, "output_field_ids", f->output_field_ids, f->noutput_field_ids);
			w_kvlist(&fo, "params", &f->params);
			w_close(&fo);
		}
		w_raw(w->b, w->rc, "]", 1);
	}
	if (s->nstruct_fields) {
		w_key(&o, "struct_array_fields");
		w_raw(w->b, w->rc, "[", 1);
		for (size_t i = 0; i < s->nstruct_fields; i++) {
			const struct meta_struct_field *f = &s->struct_fields[i];
			struct wobj so;

			if (i)
				w_raw(w->b, w->rc, ",", 1);
			so = w_open(w->b, w->rc);
			w_i64(&so, "fieldID", f->field_id, false);
			w_str(&so, "name", f->name);
			w_str(&so, "description", f->description);
			w_fields(&so, "fields", f->fields, f->nfields);
			w_close(&so);
		}
		w_raw(w->b, w->rc, "]", 1);
	}
	w_close(&o);
}

static void w_indexes(struct wobj *w, const struct meta_index *v, size_t n)
{
	if (!n)
		return;
	w_key(w, "index_infos");
	w_raw(w->b, w->rc, "[", 1);
	for (size_t i = 0; i < n; i++) {
		const struct meta_index *x = &v[i];
		struct wobj o;

		if (i)
			w_raw(w->b, w->rc, ",", 1);
		o = w_open(w->b, w->rc);
		w_str(&o, "field_name", x->field_name);
		w_str(&o, "index_name", x->index_name);
		w_str(&o, "index_type", x->index_type);
		w_map(&o, "params", &x->params);
		w_i64(&o, "index_id", x->index_id, false);
		w_i64(&o, "field_id", x->field_id, false);
		w_u64(&o, "create_time", x->create_time);
		w_kvlist(&o, "type_params", &x->type_params);
		w_kvlist(&o, "index_params", &x->index_params);
		w_kvlist(&o, "user_index_params", &x->user_index_params);
		w_bool(&o, "is_auto_index", x->is_auto_index, false);
		w_i64(&o, "min_index_version", x->min_index_version, false);
		w_i64(&o, "max_index_version", x->max_index_version, false);
		w_close(&o);
	}
	w_raw(w->b, w->rc, "]", 1);
}

enum wdepth { W_NO_SEGMENTS, W_FULL };

/* CollectionBackupInfo as main declares it (the old task fields 2-6 are gone from it). */
static void w_collection(struct buf *b, int *rc, const struct meta_collection *c,
			 enum wdepth depth)
{
	struct wobj o = w_open(b, rc);

	w_str(&o, "id", c->id);
	w_i64(&o, "collection_id", c->collection_id, false);
	w_str(&o, "db_name", c->db_name);
	w_str(&o, "collection_name", c->collection_name);
	if (c->has_schema)
		w_schema(&o, &c->schema);
	w_i64(&o, "shards_num", c->shards_num, false);
	w_i64(&o, "consistency_level", c->consistency_level, false);
	if (c->npartitions) {
		w_key(&o, "partition_backups");
		w_raw(b, rc, "[", 1);
		for (size_t i = 0; i < c->npartitions; i++) {
			if (i)
				w_raw(b, rc, ",", 1);
			w_partition(b, rc, &c->partitions[i], depth == W_FULL);
		}
		w_raw(b, rc, "]", 1);
	}
	w_u64(&o, "backup_timestamp", c->backup_timestamp);
	w_i64(&o, "size", c->size, true);
	w_bool(&o, "has_index", c->has_index, true);
	w_indexes(&o, c->indexes, c->nindexes);
	w_str(&o, "load_state", c->load_state);
	w_u64(&o, "backup_physical_timestamp", c->backup_physical_timestamp);
	w_map(&o, "channel_checkpoints", &c->channel_checkpoints);
	if (depth == W_FULL)
		w_segments(&o, "l0_segments", c->l0_segments, c->nl0_segments);
	w_kvlist(&o, "properties", &c->properties);
	w_i64(&o, "db_id", c->db_id, false);
	w_u64(&o, "created_timestamp", c->created_timestamp);
	w_strs(&o, "virtual_channel_names", c->virtual_channel_names, c->nvirtual_channel_names);
	w_strs(&o, "physical_channel_names", c->physical_channel_names,
	       c->nphysical_channel_names);
	w_strs(&o, "aliases", c->aliases, c->naliases);
	if (c->has_snapshot_backup) {
		struct wobj so;

		w_key(&o, "snapshot_backup");
		so = w_open(b, rc);
		w_str(&so, "metadata_path", c->snapshot_metadata_path);
		w_i64(&so, "total_files", c->snapshot_total_files, false);
		w_i64(&so, "total_bytes", c->snapshot_total_bytes, false);
		w_close(&so);
	}
	w_close(&o);
}

/* BackupInfo: `tree` adds collections and everything only full_meta.json carries. */
static void w_root(struct buf *b, int *rc, const struct meta_backup *m, bool tree)
{
	struct wobj o = w_open(b, rc);

	w_str(&o, "id", m->id);
	w_i64(&o, "state_code", m->state_code, true);
	w_str(&o, "name", m->name);
	if (tree) {
		w_u64(&o, "backup_timestamp", m->backup_timestamp);
		if (m->ncollections) {
			w_key(&o, "collection_backups");
			w_raw(b, rc, "[", 1);
			for (size_t i = 0; i < m->ncollections; i++) {
				if (i)
					w_raw(b, rc, ",", 1);
				w_collection(b, rc, &m->collections[i], W_FULL);
			}
			w_raw(b, rc, "]", 1);
		}
	}
	w_i64(&o, "size", m->size, true);
	w_str(&o, "milvus_version", m->milvus_version);
	if (tree) {
		if (m->rbac_meta_json && m->rbac_meta_json[0]) {
			w_key(&o, "rbac_meta");
			w_raw(b, rc, m->rbac_meta_json, strlen(m->rbac_meta_json));
		}
		if (m->has_rpc_channel_info) {
			struct wobj ro;

			w_key(&o, "rpc_channel_info");
			ro = w_open(b, rc);
			w_str(&ro, "name", m->rpc_channel_name);
			w_str(&ro, "position", m->rpc_channel_position);
			w_close(&ro);
		}
		if (m->ndatabases) {
			w_key(&o, "database_backups");
			w_raw(b, rc, "[", 1);
			for (size_t i = 0; i < m->ndatabases; i++) {
				const struct meta_database *d = &m->databases[i];
				struct wobj dobj;

				if (i)
					w_raw(b, rc, ",", 1);
				dobj = w_open(b, rc);
				w_str(&dobj, "db_name", d->db_name);
				w_i64(&dobj, "db_id", d->db_id, false);
				w_kvlist(&dobj, "properties", &d->properties);
				w_str(&dobj, "ezk", d->ezk);
				w_close(&dobj);
			}
			w_raw(b, rc, "]", 1);
		}
		w_map(&o, "flush_all_msgs_base64", &m->flush_all_msgs_base64);
		w_str(&o, "control_channel_name", m->control_channel_name);
		w_strs(&o, "physical_channel_names", m->physical_channel_names,
		       m->nphysical_channel_names);
	}
	w_str(&o, "format", m->format);
	w_close(&o);
}

/* {"infos":[…]} with Go's omitempty: an empty list gives {} */
static void w_infos_begin(struct buf *b, int *rc, size_t n)
{
	w_raw(b, rc, n ? "{\"infos\":[" : "{", n ? 10 : 1);
}

static void w_infos_end(struct buf *b, int *rc, size_t n)
{
	w_raw(b, rc, n ? "]}" : "}", n ? 2 : 1);
}

#define META_WRITE_MAX ((size_t)1 << 32)	/* 4 GiB: far beyond any real meta */

int meta_write_files(const struct meta_backup *m, struct meta_files *out, struct errmsg *err)
{
	struct buf b = BUF_INIT(META_WRITE_MAX);
	bool snapshot = m->format && !strcmp(m->format, "snapshot");
	size_t nparts = 0, nsegs = 0, k;
	int rc = 0;

	memset(out, 0, sizeof(*out));

	/* backup_meta.json: the root without the tree (§2.4 main column) */
	w_root(&b, &rc, m, false);
	if (rc || !(out->backup_meta = buf_detach(&b, &out->backup_meta_len)))
		goto fail;

	w_infos_begin(&b, &rc, m->ncollections);
	for (size_t i = 0; i < m->ncollections; i++) {
		if (i)
			w_raw(&b, &rc, ",", 1);
		w_collection(&b, &rc, &m->collections[i], W_NO_SEGMENTS);
		nparts += m->collections[i].npartitions;
		for (size_t j = 0; j < m->collections[i].npartitions; j++)
			nsegs += m->collections[i].partitions[j].nsegments;
	}
	w_infos_end(&b, &rc, m->ncollections);
	if (rc || !(out->collection_meta = buf_detach(&b, &out->collection_meta_len)))
		goto fail;

	if (!snapshot) {
		w_infos_begin(&b, &rc, nparts);
		k = 0;
		for (size_t i = 0; i < m->ncollections; i++)
			for (size_t j = 0; j < m->collections[i].npartitions; j++) {
				if (k++)
					w_raw(&b, &rc, ",", 1);
				w_partition(&b, &rc, &m->collections[i].partitions[j], false);
			}
		w_infos_end(&b, &rc, nparts);
		if (rc || !(out->partition_meta = buf_detach(&b, &out->partition_meta_len)))
			goto fail;

		w_infos_begin(&b, &rc, nsegs);
		k = 0;
		for (size_t i = 0; i < m->ncollections; i++)
			for (size_t j = 0; j < m->collections[i].npartitions; j++) {
				const struct meta_partition *p = &m->collections[i].partitions[j];

				for (size_t s = 0; s < p->nsegments; s++) {
					if (k++)
						w_raw(&b, &rc, ",", 1);
					w_segment(&b, &rc, &p->segments[s]);
				}
			}
		w_infos_end(&b, &rc, nsegs);
		if (rc || !(out->segment_meta = buf_detach(&b, &out->segment_meta_len)))
			goto fail;
	}

	w_root(&b, &rc, m, true);
	if (rc || !(out->full_meta = buf_detach(&b, &out->full_meta_len)))
		goto fail;
	return 0;
fail:
	buf_release(&b);
	meta_files_release(out);
	if (!rc)
		rc = -ENOMEM;
	return errmsg_set(err, rc, "cannot write meta for '%s': %s", m->name ? m->name : "",
			  rc == -E2BIG ? "meta too large" : "out of memory");
}
