/*
 * meta_parse.c - full_meta.json and backup_meta.json into typed structs (meta.h), through
 * jansson with typed getters that default missing keys and name the JSON path in errors.
 */
#include "meta_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------
 * Parsing: typed getters that default missing keys and name the JSON path in errors
 */


static size_t path_key(struct pctx *p, const char *key)
{
	size_t old = p->plen;
	int n = snprintf(p->path + p->plen, sizeof(p->path) - p->plen, "%s%s",
			 p->plen ? "." : "", key);

	if (n > 0)
		p->plen += (size_t)n < sizeof(p->path) - p->plen ? (size_t)n
								   : sizeof(p->path) - p->plen - 1;
	return old;
}

static size_t path_idx(struct pctx *p, size_t i)
{
	size_t old = p->plen;
	int n = snprintf(p->path + p->plen, sizeof(p->path) - p->plen, "[%zu]", i);

	if (n > 0)
		p->plen += (size_t)n < sizeof(p->path) - p->plen ? (size_t)n
								   : sizeof(p->path) - p->plen - 1;
	return old;
}

static void path_pop(struct pctx *p, size_t old)
{
	p->plen = old;
	p->path[old] = '\0';
}

static int bad(struct pctx *p, const char *key, const char *what)
{
	if (key)
		return errmsg_set(p->err, -EINVAL, "'%s%s%s' is not %s", p->path,
				  p->plen ? "." : "", key, what);
	return errmsg_set(p->err, -EINVAL, "'%s' is not %s", p->plen ? p->path : "(root)", what);
}

int mi_nomem(struct pctx *p)
{
	return errmsg_set(p->err, -ENOMEM, "out of memory parsing meta");
}

/* The member `key` of `o`, or NULL when absent or JSON null (Go: leave the zero value). */
static json_t *member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_null(v) ? NULL : v;
}

static int dupstr(struct pctx *p, const char *s, char **out)
{
	*out = strdup(s ? s : "");
	return *out ? 0 : mi_nomem(p);
}

static int get_str(struct pctx *p, json_t *o, const char *key, char **out)
{
	json_t *v = member(o, key);

	*out = NULL;
	if (v && !json_is_string(v))
		return bad(p, key, "a string");
	return dupstr(p, v ? json_string_value(v) : "", out);
}

/* A JSON number as an exact int64.  Integers come exact from jansson; a real is accepted only
 * when it is integral and within ±2^53 (some tools write 1e3). */
static int num_i64(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);

		if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(int64_t)d) {
			*out = (int64_t)d;
			return 0;
		}
	}
	return -1;
}

static int get_i64(struct pctx *p, json_t *o, const char *key, int64_t *out)
{
	json_t *v = member(o, key);

	*out = 0;
	if (v && num_i64(v, out))
		return bad(p, key, "a 64-bit integer");
	return 0;
}

static int get_u64(struct pctx *p, json_t *o, const char *key, uint64_t *out)
{
	int64_t x = 0;
	json_t *v = member(o, key);

	*out = 0;
	if (v && (num_i64(v, &x) || x < 0))
		return bad(p, key, "an unsigned 64-bit integer");
	*out = (uint64_t)x;
	return 0;
}

static int get_int(struct pctx *p, json_t *o, const char *key, int *out)
{
	int64_t x = 0;
	json_t *v = member(o, key);

	*out = 0;
	if (v && (num_i64(v, &x) || x < INT32_MIN || x > INT32_MAX))
		return bad(p, key, "a 32-bit integer");
	*out = (int)x;
	return 0;
}

static int get_bool(struct pctx *p, json_t *o, const char *key, bool *out)
{
	json_t *v = member(o, key);

	*out = false;
	if (v && !json_is_boolean(v))
		return bad(p, key, "a boolean");
	*out = v && json_is_true(v);
	return 0;
}

/* The array at `key` (NULL when absent), bounded by META_MAX_ARRAY. */
static int get_array(struct pctx *p, json_t *o, const char *key, json_t **arr, size_t *n)
{
	json_t *v = member(o, key);

	*arr = NULL;
	*n = 0;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return bad(p, key, "an array");
	if (json_array_size(v) > META_MAX_ARRAY)
		return bad(p, key, "an array of sane length");
	*arr = v;
	*n = json_array_size(v);
	return 0;
}

void *mi_alloc_n(size_t n, size_t size)
{
	return n ? calloc(n, size) : NULL;
}

static int get_strs(struct pctx *p, json_t *o, const char *key, char ***out, size_t *nout)
{
	json_t *arr;
	size_t n;
	int rc = get_array(p, o, key, &arr, &n);

	*out = NULL;
	*nout = 0;
	if (rc || !n)
		return rc;
	*out = mi_alloc_n(n, sizeof(char *));
	if (!*out)
		return mi_nomem(p);
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);

		if (!json_is_string(s)) {
			size_t old = path_key(p, key);

			path_idx(p, i);
			rc = bad(p, NULL, "a string");
			path_pop(p, old);
			return rc;
		}
		rc = dupstr(p, json_string_value(s), &(*out)[i]);
		if (rc)
			return rc;
		(*nout)++;
	}
	return 0;
}

static int get_i64s(struct pctx *p, json_t *o, const char *key, int64_t **out, size_t *nout)
{
	json_t *arr;
	size_t n;
	int rc = get_array(p, o, key, &arr, &n);

	*out = NULL;
	*nout = 0;
	if (rc || !n)
		return rc;
	*out = mi_alloc_n(n, sizeof(int64_t));
	if (!*out)
		return mi_nomem(p);
	for (size_t i = 0; i < n; i++) {
		if (num_i64(json_array_get(arr, i), &(*out)[i])) {
			size_t old = path_key(p, key);

			path_idx(p, i);
			rc = bad(p, NULL, "a 64-bit integer");
			path_pop(p, old);
			return rc;
		}
		(*nout)++;
	}
	return 0;
}

/* A key/value list: a repeated KeyValuePair ([{"key":…,"value":…}]) or a map ({"k":"v"}).
 * Both shapes are accepted for either kind of field, so a guess about the proto type of a
 * rarely seen field (e.g. IndexInfo.type_params) cannot make a backup unreadable. */
static int get_kvs(struct pctx *p, json_t *o, const char *key, struct meta_kvs *out)
{
	json_t *v = member(o, key);
	size_t old, n;
	int rc = 0;

	out->v = NULL;
	out->n = 0;
	if (!v)
		return 0;
	if (!json_is_array(v) && !json_is_object(v))
		return bad(p, key, "a key/value list");
	n = json_is_array(v) ? json_array_size(v) : json_object_size(v);
	if (n > META_MAX_ARRAY)
		return bad(p, key, "a key/value list of sane length");
	if (!n)
		return 0;
	out->v = mi_alloc_n(n, sizeof(*out->v));
	if (!out->v)
		return mi_nomem(p);
	old = path_key(p, key);
	if (json_is_array(v)) {
		for (size_t i = 0; i < n && !rc; i++) {
			json_t *kv = json_array_get(v, i);
			size_t o2 = path_idx(p, i);

			if (!json_is_object(kv)) {
				rc = bad(p, NULL, "a key/value object");
			} else {
				rc = get_str(p, kv, "key", &out->v[i].key);
				if (!rc)
					rc = get_str(p, kv, "value", &out->v[i].value);
				out->n++;
			}
			path_pop(p, o2);
		}
	} else {
		const char *k;
		json_t *val;

		json_object_foreach(v, k, val) {
			size_t i = out->n;

			if (!json_is_string(val) && !json_is_null(val)) {
				rc = bad(p, k, "a string");
				break;
			}
			out->n++;
			rc = dupstr(p, k, &out->v[i].key);
			if (!rc)
				rc = dupstr(p, json_is_string(val) ? json_string_value(val) : "",
					    &out->v[i].value);
			if (rc)
				break;
		}
	}
	path_pop(p, old);
	return rc;
}

/* Iterate the objects of array `key`: allocates *out (count *nout) and calls fn per element. */
typedef int (*elem_fn)(struct pctx *p, json_t *o, void *elem);

static int get_objs(struct pctx *p, json_t *o, const char *key, size_t elem_size,
		    elem_fn fn, void **out, size_t *nout)
{
	json_t *arr;
	size_t n, old;
	int rc = get_array(p, o, key, &arr, &n);

	*out = NULL;
	*nout = 0;
	if (rc || !n)
		return rc;
	*out = mi_alloc_n(n, elem_size);
	if (!*out)
		return mi_nomem(p);
	old = path_key(p, key);
	for (size_t i = 0; i < n && !rc; i++) {
		json_t *e = json_array_get(arr, i);
		size_t o2 = path_idx(p, i);

		/* counted before filling, so a half-filled element is released too */
		(*nout)++;
		if (!json_is_object(e))
			rc = bad(p, NULL, "an object");
		else
			rc = fn(p, e, (char *)*out + i * elem_size);
		path_pop(p, o2);
	}
	path_pop(p, old);
	return rc;
}

/* A typed getter `name` for an array of `type` parsed element-wise by `fn`. */
#define OBJS_GETTER(name, type, fn)							\
	static int fn##_v(struct pctx *p, json_t *o, void *e)				\
	{										\
		return fn(p, o, (type *)e);						\
	}										\
	static int name(struct pctx *p, json_t *o, const char *key, type **out,		\
			size_t *n)							\
	{										\
		void *v = NULL;								\
		int rc = get_objs(p, o, key, sizeof(type), fn##_v, &v, n);		\
											\
		*out = v;								\
		return rc;								\
	}

static int parse_binlog(struct pctx *p, json_t *o, struct meta_binlog *b)
{
	int rc;

	if ((rc = get_i64(p, o, "entries_num", &b->entries_num)) ||
	    (rc = get_u64(p, o, "timestamp_from", &b->timestamp_from)) ||
	    (rc = get_u64(p, o, "timestamp_to", &b->timestamp_to)) ||
	    (rc = get_str(p, o, "log_path", &b->log_path)) ||
	    (rc = get_i64(p, o, "log_size", &b->log_size)) ||
	    (rc = get_i64(p, o, "log_id", &b->log_id)))
		return rc;
	/* §2.3: log_id is absent before main; the log ID is the last path element */
	if (!b->log_id && b->log_path[0]) {
		const char *slash = strrchr(b->log_path, '/');
		const char *s = slash ? slash + 1 : b->log_path;
		char *end;
		long long x;

		errno = 0;
		x = strtoll(s, &end, 10);
		if (*s && !*end && !errno && x > 0) {
			b->log_id = x;
			b->log_id_derived = true;
		}
	}
	return 0;
}

OBJS_GETTER(get_binlogs, struct meta_binlog, parse_binlog)

static int parse_field_binlog(struct pctx *p, json_t *o, struct meta_field_binlog *f)
{
	int rc = get_i64(p, o, "fieldID", &f->field_id);

	return rc ? rc : get_binlogs(p, o, "binlogs", &f->binlogs, &f->nbinlogs);
}

OBJS_GETTER(get_field_binlogs, struct meta_field_binlog, parse_field_binlog)

static int parse_segment(struct pctx *p, json_t *o, struct meta_segment *s)
{
	int rc;

	if ((rc = get_i64(p, o, "segment_id", &s->segment_id)) ||
	    (rc = get_i64(p, o, "collection_id", &s->collection_id)) ||
	    (rc = get_i64(p, o, "partition_id", &s->partition_id)) ||
	    (rc = get_i64(p, o, "num_of_rows", &s->num_of_rows)) ||
	    (rc = get_field_binlogs(p, o, "binlogs", &s->binlogs, &s->nbinlogs)) ||
	    (rc = get_field_binlogs(p, o, "statslogs", &s->statslogs, &s->nstatslogs)) ||
	    (rc = get_field_binlogs(p, o, "deltalogs", &s->deltalogs, &s->ndeltalogs)) ||
	    (rc = get_i64(p, o, "size", &s->size)) ||
	    (rc = get_i64(p, o, "group_id", &s->group_id)) ||
	    (rc = get_bool(p, o, "backuped", &s->backuped)) ||
	    (rc = get_bool(p, o, "is_l0", &s->is_l0)) ||
	    (rc = get_str(p, o, "v_channel", &s->v_channel)) ||
	    (rc = get_i64(p, o, "storage_version", &s->storage_version)))
		return rc;
	return 0;
}

OBJS_GETTER(get_segments, struct meta_segment, parse_segment)

static int parse_partition(struct pctx *p, json_t *o, struct meta_partition *pt)
{
	int rc;

	if ((rc = get_i64(p, o, "partition_id", &pt->partition_id)) ||
	    (rc = get_str(p, o, "partition_name", &pt->partition_name)) ||
	    (rc = get_i64(p, o, "collection_id", &pt->collection_id)) ||
	    (rc = get_segments(p, o, "segment_backups", &pt->segments, &pt->nsegments)) ||
	    (rc = get_i64(p, o, "size", &pt->size)) ||
	    (rc = get_str(p, o, "load_state", &pt->load_state)))
		return rc;
	return 0;
}

OBJS_GETTER(get_partitions, struct meta_partition, parse_partition)

static int parse_field(struct pctx *p, json_t *o, struct meta_field *f)
{
	int rc;

	if ((rc = get_i64(p, o, "fieldID", &f->field_id)) ||
	    (rc = get_str(p, o, "name", &f->name)) ||
	    (rc = get_bool(p, o, "is_primary_key", &f->is_primary_key)) ||
	    (rc = get_str(p, o, "description", &f->description)) ||
	    (rc = get_int(p, o, "data_type", &f->data_type)) ||
	    (rc = get_kvs(p, o, "type_params", &f->type_params)) ||
	    (rc = get_kvs(p, o, "index_params", &f->index_params)) ||
	    (rc = get_bool(p, o, "autoID", &f->auto_id)) ||
	    (rc = get_int(p, o, "state", &f->state)) ||
	    (rc = get_int(p, o, "element_type", &f->element_type)) ||
	    (rc = get_bool(p, o, "is_dynamic", &f->is_dynamic)) ||
	    (rc = get_bool(p, o, "is_partition_key", &f->is_partition_key)) ||
	    (rc = get_bool(p, o, "nullable", &f->nullable)) ||
	    (rc = get_str(p, o, "default_value_proto", &f->default_value_proto)) ||
	    (rc = get_bool(p, o, "is_function_output", &f->is_function_output)) ||
	    (rc = get_str(p, o, "default_value_base64", &f->default_value_base64)))
		return rc;
	return 0;
}

OBJS_GETTER(get_fields, struct meta_field, parse_field)

static int parse_function(struct pctx *p, json_t *o, struct meta_function *f)
{
	int rc;

	if ((rc = get_str(p, o, "name", &f->name)) ||
	    (rc = get_i64(p, o, "id", &f->id)) ||
	    (rc = get_str(p, o, "description", &f->description)) ||
	    (rc = get_int(p, o, "type", &f->type)) ||
	    (rc = get_strs(p, o, "input_field_names", &f->input_field_names,
			   &f->ninput_field_names)) ||
	    (rc = get_i64s(p, o, "input_field_ids", &f->input_field_ids,
			   &f->ninput_field_ids)) ||
	    (rc = get_strs(p, o, "output_field_names", &f->output_field_names,
			   &f->noutput_field_names)) ||
	    (rc = get_i64s(p, o, "output_field_ids", &f->output_field_ids,
			   &f->noutput_field_ids)) ||
	    (rc = get_kvs(p, o, "params", &f->params)))
		return rc;
	return 0;
}

OBJS_GETTER(get_functions, struct meta_function, parse_function)

static int parse_struct_field(struct pctx *p, json_t *o, struct meta_struct_field *f)
{
	int rc;

	if ((rc = get_i64(p, o, "fieldID", &f->field_id)) ||
	    (rc = get_str(p, o, "name", &f->name)) ||
	    (rc = get_str(p, o, "description", &f->description)) ||
	    (rc = get_fields(p, o, "fields", &f->fields, &f->nfields)))
		return rc;
	return 0;
}

OBJS_GETTER(get_struct_fields, struct meta_struct_field, parse_struct_field)

static int parse_schema(struct pctx *p, json_t *o, struct meta_schema *s)
{
	int rc;

	if ((rc = get_str(p, o, "name", &s->name)) ||
	    (rc = get_str(p, o, "description", &s->description)) ||
	    (rc = get_bool(p, o, "autoID", &s->auto_id)) ||
	    (rc = get_fields(p, o, "fields", &s->fields, &s->nfields)) ||
	    (rc = get_bool(p, o, "enable_dynamic_field", &s->enable_dynamic_field)) ||
	    (rc = get_kvs(p, o, "properties", &s->properties)) ||
	    (rc = get_functions(p, o, "functions", &s->functions, &s->nfunctions)) ||
	    (rc = get_struct_fields(p, o, "struct_array_fields", &s->struct_fields, &s->nstruct_fields)))
		return rc;
	return 0;
}

static int parse_index(struct pctx *p, json_t *o, struct meta_index *x)
{
	int rc;

	if ((rc = get_str(p, o, "field_name", &x->field_name)) ||
	    (rc = get_str(p, o, "index_name", &x->index_name)) ||
	    (rc = get_str(p, o, "index_type", &x->index_type)) ||
	    (rc = get_kvs(p, o, "params", &x->params)) ||
	    (rc = get_i64(p, o, "index_id", &x->index_id)) ||
	    (rc = get_i64(p, o, "field_id", &x->field_id)) ||
	    (rc = get_u64(p, o, "create_time", &x->create_time)) ||
	    (rc = get_kvs(p, o, "type_params", &x->type_params)) ||
	    (rc = get_kvs(p, o, "index_params", &x->index_params)) ||
	    (rc = get_kvs(p, o, "user_index_params", &x->user_index_params)) ||
	    (rc = get_bool(p, o, "is_auto_index", &x->is_auto_index)) ||
	    (rc = get_i64(p, o, "min_index_version", &x->min_index_version)) ||
	    (rc = get_i64(p, o, "max_index_version", &x->max_index_version)))
		return rc;
	return 0;
}

OBJS_GETTER(get_indexes, struct meta_index, parse_index)

static int parse_object(struct pctx *p, json_t *o, const char *key, json_t **out)
{
	json_t *v = member(o, key);

	*out = NULL;
	if (v && !json_is_object(v))
		return bad(p, key, "an object");
	*out = v;
	return 0;
}

static int parse_collection(struct pctx *p, json_t *o, struct meta_collection *c)
{
	json_t *schema, *snap;
	size_t old;
	int rc;

	if ((rc = get_str(p, o, "id", &c->id)) ||
	    (rc = get_int(p, o, "state_code", &c->state_code)) ||
	    (rc = get_str(p, o, "errorMessage", &c->error_message)) ||
	    (rc = get_i64(p, o, "start_time", &c->start_time)) ||
	    (rc = get_i64(p, o, "end_time", &c->end_time)) ||
	    (rc = get_int(p, o, "progress", &c->progress)) ||
	    (rc = get_i64(p, o, "collection_id", &c->collection_id)) ||
	    (rc = get_str(p, o, "db_name", &c->db_name)) ||
	    (rc = get_str(p, o, "collection_name", &c->collection_name)) ||
	    (rc = parse_object(p, o, "schema", &schema)))
		return rc;
	/* §2.3: db_name may be absent in backups of Milvus 2.2, meaning "default" */
	if (!c->db_name[0]) {
		free(c->db_name);
		if ((rc = dupstr(p, "default", &c->db_name)))
			return rc;
	}
	if (schema) {
		c->has_schema = true;
		old = path_key(p, "schema");
		rc = parse_schema(p, schema, &c->schema);
		path_pop(p, old);
		if (rc)
			return rc;
	}
	if ((rc = get_int(p, o, "shards_num", &c->shards_num)) ||
	    (rc = get_int(p, o, "consistency_level", &c->consistency_level)) ||
	    (rc = get_partitions(p, o, "partition_backups", &c->partitions, &c->npartitions)) ||
	    (rc = get_u64(p, o, "backup_timestamp", &c->backup_timestamp)) ||
	    (rc = get_i64(p, o, "size", &c->size)) ||
	    (rc = get_bool(p, o, "has_index", &c->has_index)) ||
	    (rc = get_indexes(p, o, "index_infos", &c->indexes, &c->nindexes)) ||
	    (rc = get_str(p, o, "load_state", &c->load_state)) ||
	    (rc = get_u64(p, o, "backup_physical_timestamp", &c->backup_physical_timestamp)) ||
	    (rc = get_kvs(p, o, "channel_checkpoints", &c->channel_checkpoints)) ||
	    (rc = get_segments(p, o, "l0_segments", &c->l0_segments, &c->nl0_segments)) ||
	    (rc = get_kvs(p, o, "properties", &c->properties)) ||
	    (rc = get_i64(p, o, "db_id", &c->db_id)) ||
	    (rc = get_u64(p, o, "created_timestamp", &c->created_timestamp)) ||
	    (rc = get_strs(p, o, "virtual_channel_names", &c->virtual_channel_names,
			   &c->nvirtual_channel_names)) ||
	    (rc = get_strs(p, o, "physical_channel_names", &c->physical_channel_names,
			   &c->nphysical_channel_names)) ||
	    (rc = get_strs(p, o, "aliases", &c->aliases, &c->naliases)) ||
	    (rc = parse_object(p, o, "snapshot_backup", &snap)))
		return rc;
	if (snap) {
		c->has_snapshot_backup = true;
		old = path_key(p, "snapshot_backup");
		if (!(rc = get_str(p, snap, "metadata_path", &c->snapshot_metadata_path)) &&
		    !(rc = get_i64(p, snap, "total_files", &c->snapshot_total_files)))
			rc = get_i64(p, snap, "total_bytes", &c->snapshot_total_bytes);
		path_pop(p, old);
		if (rc)
			return rc;
	} else if ((rc = dupstr(p, "", &c->snapshot_metadata_path))) {
		return rc;
	}
	return 0;
}

OBJS_GETTER(get_collections, struct meta_collection, parse_collection)

static int parse_database(struct pctx *p, json_t *o, struct meta_database *d)
{
	int rc;

	if ((rc = get_str(p, o, "db_name", &d->db_name)) ||
	    (rc = get_i64(p, o, "db_id", &d->db_id)) ||
	    (rc = get_kvs(p, o, "properties", &d->properties)) ||
	    (rc = get_str(p, o, "ezk", &d->ezk)))
		return rc;
	return 0;
}

OBJS_GETTER(get_databases, struct meta_database, parse_database)

/* The root (BackupInfo).  `with_tree` = false skips collection_backups (level files). */
int mi_parse_root(struct pctx *p, json_t *o, struct meta_backup *b, bool with_tree)
{
	json_t *rbac, *rpc;
	size_t old;
	int rc;

	if ((rc = get_str(p, o, "id", &b->id)) ||
	    (rc = get_int(p, o, "state_code", &b->state_code)) ||
	    (rc = get_str(p, o, "errorMessage", &b->error_message)) ||
	    (rc = get_i64(p, o, "start_time", &b->start_time)) ||
	    (rc = get_i64(p, o, "end_time", &b->end_time)) ||
	    (rc = get_int(p, o, "progress", &b->progress)) ||
	    (rc = get_str(p, o, "name", &b->name)) ||
	    (rc = get_u64(p, o, "backup_timestamp", &b->backup_timestamp)) ||
	    (with_tree && (rc = get_collections(p, o, "collection_backups", &b->collections, &b->ncollections))) ||
	    (rc = get_i64(p, o, "size", &b->size)) ||
	    (rc = get_str(p, o, "milvus_version", &b->milvus_version)) ||
	    (rc = parse_object(p, o, "rbac_meta", &rbac)) ||
	    (rc = parse_object(p, o, "rpc_channel_info", &rpc)) ||
	    (rc = get_databases(p, o, "database_backups", &b->databases, &b->ndatabases)) ||
	    (rc = get_kvs(p, o, "flush_all_msgs_base64", &b->flush_all_msgs_base64)) ||
	    (rc = get_str(p, o, "control_channel_name", &b->control_channel_name)) ||
	    (rc = get_strs(p, o, "physical_channel_names", &b->physical_channel_names,
			   &b->nphysical_channel_names)) ||
	    (rc = get_str(p, o, "format", &b->format)))
		return rc;
	/* meta_size (v0.5.9) shares field number 15 with flush_all_msgs_base64 in main, but keys
	 * are names, so both can be read independently */
	if ((rc = get_i64(p, o, "meta_size", &b->meta_size)))
		return rc;
	if (rbac) {
		struct buf t = BUF_INIT(SIZE_MAX / 2);

		if ((rc = mi_json_value(&t, rbac)) || !(b->rbac_meta_json = buf_detach(&t, NULL))) {
			buf_release(&t);
			return rc ? errmsg_set(p->err, rc, "cannot keep 'rbac_meta'") : mi_nomem(p);
		}
	} else if ((rc = dupstr(p, "", &b->rbac_meta_json))) {
		return rc;
	}
	if (rpc) {
		b->has_rpc_channel_info = true;
		old = path_key(p, "rpc_channel_info");
		if (!(rc = get_str(p, rpc, "name", &b->rpc_channel_name)))
			rc = get_str(p, rpc, "position", &b->rpc_channel_position);
		path_pop(p, old);
		return rc;
	}
	if ((rc = dupstr(p, "", &b->rpc_channel_name)) ||
	    (rc = dupstr(p, "", &b->rpc_channel_position)))
		return rc;
	return 0;
}

int mi_load_json(struct pctx *p, const char *what, const char *text, size_t len,
		     json_t **out)
{
	json_error_t je;

	*out = json_loadb(text, len, 0, &je);
	if (!*out)
		return errmsg_set(p->err, -EINVAL, "'%s' is not valid JSON: %s at line %d column %d",
				  what, je.text, je.line, je.column);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return errmsg_set(p->err, -EINVAL, "'%s' is not a JSON object", what);
	}
	return 0;
}

int meta_parse_full(const char *json, size_t len, struct meta_backup *out, struct errmsg *err)
{
	struct pctx p = { .err = err };
	json_t *root;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = mi_load_json(&p, "full_meta.json", json, len, &root);
	if (rc)
		return rc;
	rc = mi_parse_root(&p, root, out, true);
	json_decref(root);
	if (rc) {
		errmsg_prefix(err, rc, "full_meta.json");
		meta_backup_release(out);
	}
	return rc;
}

/* the level files' getters (meta_levels.c) */
int mi_get_collections(struct pctx *p, json_t *o, const char *key, struct meta_collection **out,
		       size_t *n)
{
	return get_collections(p, o, key, out, n);
}

int mi_get_partitions(struct pctx *p, json_t *o, const char *key, struct meta_partition **out,
		      size_t *n)
{
	return get_partitions(p, o, key, out, n);
}

int mi_get_segments(struct pctx *p, json_t *o, const char *key, struct meta_segment **out,
		    size_t *n)
{
	return get_segments(p, o, key, out, n);
}
