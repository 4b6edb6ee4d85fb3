/*
 * meta.c - milvus-backup meta JSON <-> typed structs (see meta.h).
 *
 * Parsing goes through jansson, whose integers are `long long`: a JSON integer is converted
 * with strtoll, so IDs and hybrid timestamps above 2^53 arrive exact (a value beyond the
 * int64 range is a parse error, never a silent rounding).  Writing does not use jansson: Go's
 * encoding/json has its own string escaping and key order, and the files must match
 * milvus-backup main byte for byte (milvus-backup-format.md §2.1), so the writer emits the
 * text itself, field by field in proto struct order.
 */
#include "mvbackupfs/format/meta.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/base/buf.h"

/* ------------------------------------------------------------------------------------------
 * Release
 */

void meta_kvs_release(struct meta_kvs *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->v[i].key);
		free(k->v[i].value);
	}
	free(k->v);
	k->v = NULL;
	k->n = 0;
}

static void strs_release(char ***v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

static void field_binlogs_release(struct meta_field_binlog **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		struct meta_field_binlog *f = &(*v)[i];

		for (size_t j = 0; j < f->nbinlogs; j++)
			free(f->binlogs[j].log_path);
		free(f->binlogs);
	}
	free(*v);
	*v = NULL;
	*n = 0;
}

static void segment_release(struct meta_segment *s)
{
	field_binlogs_release(&s->binlogs, &s->nbinlogs);
	field_binlogs_release(&s->statslogs, &s->nstatslogs);
	field_binlogs_release(&s->deltalogs, &s->ndeltalogs);
	free(s->v_channel);
	memset(s, 0, sizeof(*s));
}

static void segments_release(struct meta_segment **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		segment_release(&(*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

static void partition_release(struct meta_partition *p)
{
	free(p->partition_name);
	segments_release(&p->segments, &p->nsegments);
	free(p->load_state);
	memset(p, 0, sizeof(*p));
}

static void partitions_release(struct meta_partition **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		partition_release(&(*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

void meta_field_release(struct meta_field *f)
{
	free(f->name);
	free(f->description);
	meta_kvs_release(&f->type_params);
	meta_kvs_release(&f->index_params);
	free(f->default_value_proto);
	free(f->default_value_base64);
	memset(f, 0, sizeof(*f));
}

static void fields_release(struct meta_field **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		meta_field_release(&(*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

void meta_function_release(struct meta_function *f)
{
	free(f->name);
	free(f->description);
	strs_release(&f->input_field_names, &f->ninput_field_names);
	free(f->input_field_ids);
	strs_release(&f->output_field_names, &f->noutput_field_names);
	free(f->output_field_ids);
	meta_kvs_release(&f->params);
	memset(f, 0, sizeof(*f));
}

void meta_schema_release(struct meta_schema *s)
{
	free(s->name);
	free(s->description);
	fields_release(&s->fields, &s->nfields);
	meta_kvs_release(&s->properties);
	for (size_t i = 0; i < s->nfunctions; i++)
		meta_function_release(&s->functions[i]);
	free(s->functions);
	for (size_t i = 0; i < s->nstruct_fields; i++) {
		struct meta_struct_field *f = &s->struct_fields[i];

		free(f->name);
		free(f->description);
		fields_release(&f->fields, &f->nfields);
	}
	free(s->struct_fields);
	memset(s, 0, sizeof(*s));
}

static void index_release(struct meta_index *x)
{
	free(x->field_name);
	free(x->index_name);
	free(x->index_type);
	meta_kvs_release(&x->params);
	meta_kvs_release(&x->type_params);
	meta_kvs_release(&x->index_params);
	meta_kvs_release(&x->user_index_params);
	memset(x, 0, sizeof(*x));
}

static void collection_release(struct meta_collection *c)
{
	free(c->id);
	free(c->error_message);
	free(c->db_name);
	free(c->collection_name);
	meta_schema_release(&c->schema);
	partitions_release(&c->partitions, &c->npartitions);
	for (size_t i = 0; i < c->nindexes; i++)
		index_release(&c->indexes[i]);
	free(c->indexes);
	free(c->load_state);
	meta_kvs_release(&c->channel_checkpoints);
	segments_release(&c->l0_segments, &c->nl0_segments);
	meta_kvs_release(&c->properties);
	strs_release(&c->virtual_channel_names, &c->nvirtual_channel_names);
	strs_release(&c->physical_channel_names, &c->nphysical_channel_names);
	strs_release(&c->aliases, &c->naliases);
	free(c->snapshot_metadata_path);
	memset(c, 0, sizeof(*c));
}

static void collections_release(struct meta_collection **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		collection_release(&(*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

void meta_backup_release(struct meta_backup *b)
{
	if (!b)
		return;
	free(b->id);
	free(b->error_message);
	free(b->name);
	collections_release(&b->collections, &b->ncollections);
	free(b->milvus_version);
	free(b->rbac_meta_json);
	free(b->rpc_channel_name);
	free(b->rpc_channel_position);
	for (size_t i = 0; i < b->ndatabases; i++) {
		free(b->databases[i].db_name);
		meta_kvs_release(&b->databases[i].properties);
		free(b->databases[i].ezk);
	}
	free(b->databases);
	meta_kvs_release(&b->flush_all_msgs_base64);
	free(b->control_channel_name);
	strs_release(&b->physical_channel_names, &b->nphysical_channel_names);
	free(b->format);
	memset(b, 0, sizeof(*b));
}

void meta_files_release(struct meta_files *f)
{
	if (!f)
		return;
	free(f->backup_meta);
	free(f->collection_meta);
	free(f->partition_meta);
	free(f->segment_meta);
	free(f->full_meta);
	memset(f, 0, sizeof(*f));
}

/* ------------------------------------------------------------------------------------------
 * Parsing: typed getters that default missing keys and name the JSON path in errors
 */

struct pctx {
	struct errmsg *err;
	char path[256];		/* JSON path of the value being parsed, for messages */
	size_t plen;
};

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

static int nomem(struct pctx *p)
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
	return *out ? 0 : nomem(p);
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

static void *alloc_n(size_t n, size_t size)
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
	*out = alloc_n(n, sizeof(char *));
	if (!*out)
		return nomem(p);
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
	*out = alloc_n(n, sizeof(int64_t));
	if (!*out)
		return nomem(p);
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
	out->v = alloc_n(n, sizeof(*out->v));
	if (!out->v)
		return nomem(p);
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
	*out = alloc_n(n, elem_size);
	if (!*out)
		return nomem(p);
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

static int json_emit_value(struct buf *out, json_t *v);

/* The root (BackupInfo).  `with_tree` = false skips collection_backups (level files). */
static int parse_root(struct pctx *p, json_t *o, struct meta_backup *b, bool with_tree)
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

		if ((rc = json_emit_value(&t, rbac)) || !(b->rbac_meta_json = buf_detach(&t, NULL))) {
			buf_release(&t);
			return rc ? errmsg_set(p->err, rc, "cannot keep 'rbac_meta'") : nomem(p);
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

static int load_json(struct pctx *p, const char *what, const char *text, size_t len,
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
	rc = load_json(&p, "full_meta.json", json, len, &root);
	if (rc)
		return rc;
	rc = parse_root(&p, root, out, true);
	json_decref(root);
	if (rc) {
		errmsg_prefix(err, rc, "full_meta.json");
		meta_backup_release(out);
	}
	return rc;
}

/* ------------------------------------------------------------------------------------------
 * Level files (§1.7 Read without full_meta.json)
 */

struct part_ref {
	int64_t collection_id, partition_id;
	struct meta_partition *part;
	size_t want;		/* segments counted for it */
};

static int part_ref_cmp(const void *a, const void *b)
{
	const struct part_ref *x = a, *y = b;

	if (x->collection_id != y->collection_id)
		return x->collection_id < y->collection_id ? -1 : 1;
	if (x->partition_id != y->partition_id)
		return x->partition_id < y->partition_id ? -1 : 1;
	return 0;
}

static struct meta_collection *find_collection(struct meta_backup *b, int64_t id)
{
	for (size_t i = 0; i < b->ncollections; i++)
		if (b->collections[i].collection_id == id)
			return &b->collections[i];
	return NULL;
}

/* Parse the {"infos":[…]} wrapper of a level file with the typed getter `get`. */
#define PARSE_INFOS(p, what, text, len, get, arr, n)					\
	do {										\
		json_t *r_;								\
											\
		rc = load_json((p), (what), (text), (len), &r_);			\
		if (rc)									\
			goto out;							\
		rc = get((p), r_, "infos", (arr), (n));					\
		json_decref(r_);							\
		if (rc) {								\
			errmsg_prefix((p)->err, rc, "%s", (what));			\
			goto out;							\
		}									\
	} while (0)

int meta_parse_levels(const char *backup_json, size_t backup_len, const char *coll_json,
		      size_t coll_len, const char *part_json, size_t part_len,
		      const char *seg_json, size_t seg_len, struct meta_backup *out,
		      struct errmsg *err)
{
	struct pctx p = { .err = err };
	struct meta_partition *parts = NULL;
	struct meta_segment *segs = NULL;
	struct part_ref *refs = NULL;
	size_t nparts = 0, nsegs = 0;
	json_t *root = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = load_json(&p, "backup_meta.json", backup_json, backup_len, &root);
	if (rc)
		goto out;
	rc = parse_root(&p, root, out, false);
	if (rc) {
		errmsg_prefix(err, rc, "backup_meta.json");
		goto out;
	}
	PARSE_INFOS(&p, "collection_meta.json", coll_json, coll_len, get_collections,
		    &out->collections, &out->ncollections);
	PARSE_INFOS(&p, "partition_meta.json", part_json, part_len, get_partitions, &parts,
		    &nparts);
	PARSE_INFOS(&p, "segment_meta.json", seg_json, seg_len, get_segments, &segs, &nsegs);

	/* Partitions come from partition_meta.json only: whatever collection_meta.json nests
	 * (full trees up to v0.5.12, stripped ones later) is replaced, and segments nested in
	 * partition_meta.json are dropped in favour of segment_meta.json. */
	for (size_t i = 0; i < out->ncollections; i++)
		partitions_release(&out->collections[i].partitions,
				   &out->collections[i].npartitions);
	refs = alloc_n(nparts ? nparts : 1, sizeof(*refs));
	if (!refs) {
		rc = nomem(&p);
		goto out;
	}
	for (size_t i = 0; i < nparts; i++) {
		segments_release(&parts[i].segments, &parts[i].nsegments);
		if (!find_collection(out, parts[i].collection_id)) {
			rc = errmsg_set(err, -EINVAL,
					"partition_meta.json: partition %" PRId64
					" names unknown collection %" PRId64,
					parts[i].partition_id, parts[i].collection_id);
			goto out;
		}
		refs[i] = (struct part_ref){ parts[i].collection_id, parts[i].partition_id,
					     &parts[i], 0 };
	}
	qsort(refs, nparts, sizeof(*refs), part_ref_cmp);

	/* count segments per partition, then move them in file order */
	for (size_t i = 0; i < nsegs; i++) {
		struct part_ref key = { segs[i].collection_id, segs[i].partition_id, NULL, 0 };
		struct part_ref *r;

		if (segs[i].partition_id == -1) {
			if (!find_collection(out, segs[i].collection_id)) {
				rc = errmsg_set(err, -EINVAL,
						"segment_meta.json: segment %" PRId64
						" names unknown collection %" PRId64,
						segs[i].segment_id, segs[i].collection_id);
				goto out;
			}
			continue;
		}
		r = bsearch(&key, refs, nparts, sizeof(*refs), part_ref_cmp);
		if (!r) {
			rc = errmsg_set(err, -EINVAL,
					"segment_meta.json: segment %" PRId64
					" names unknown partition %" PRId64,
					segs[i].segment_id, segs[i].partition_id);
			goto out;
		}
		r->want++;
	}
	for (size_t i = 0; i < nparts; i++) {
		refs[i].part->segments = alloc_n(refs[i].want, sizeof(struct meta_segment));
		if (refs[i].want && !refs[i].part->segments) {
			rc = nomem(&p);
			goto out;
		}
	}
	for (size_t i = 0; i < nsegs; i++) {
		struct part_ref key = { segs[i].collection_id, segs[i].partition_id, NULL, 0 };
		struct meta_collection *c = find_collection(out, segs[i].collection_id);
		struct part_ref *r;
		bool dup = false;

		if (segs[i].partition_id == -1) {
			/* an all-partition L0 segment (not written here by main, but tolerate it) */
			struct meta_segment *n;

			for (size_t j = 0; j < c->nl0_segments; j++)
				dup |= c->l0_segments[j].segment_id == segs[i].segment_id;
			if (dup) {
				segment_release(&segs[i]);
				continue;
			}
			n = realloc(c->l0_segments, (c->nl0_segments + 1) * sizeof(*n));
			if (!n) {
				rc = nomem(&p);
				goto out;
			}
			c->l0_segments = n;
			c->l0_segments[c->nl0_segments++] = segs[i];
		} else {
			r = bsearch(&key, refs, nparts, sizeof(*refs), part_ref_cmp);
			r->part->segments[r->part->nsegments++] = segs[i];
		}
		memset(&segs[i], 0, sizeof(segs[i]));
	}

	/* attach partitions in file order; sizes recomputed from the segments (§2.4) */
	for (size_t i = 0; i < out->ncollections; i++) {
		struct meta_collection *c = &out->collections[i];
		size_t want = 0;

		for (size_t j = 0; j < nparts; j++)
			want += parts[j].collection_id == c->collection_id;
		c->partitions = alloc_n(want, sizeof(*c->partitions));
		if (want && !c->partitions) {
			rc = nomem(&p);
			goto out;
		}
		c->size = 0;
		for (size_t j = 0; j < nparts; j++) {
			if (parts[j].collection_id != c->collection_id)
				continue;
			parts[j].size = 0;
			for (size_t k = 0; k < parts[j].nsegments; k++)
				parts[j].size = meta_sat_add(parts[j].size,
							     parts[j].segments[k].size);
			c->size = meta_sat_add(c->size, parts[j].size);
			c->partitions[c->npartitions++] = parts[j];
			memset(&parts[j], 0, sizeof(parts[j]));
		}
	}
	out->size = 0;
	for (size_t i = 0; i < out->ncollections; i++)
		out->size = meta_sat_add(out->size, out->collections[i].size);
	rc = 0;
out:
	if (root)
		json_decref(root);
	free(refs);
	segments_release(&segs, &nsegs);
	partitions_release(&parts, &nparts);
	if (rc)
		meta_backup_release(out);
	return rc;
}

/* ------------------------------------------------------------------------------------------
 * Derived values (§2.5)
 */

int64_t meta_collection_entities(const struct meta_collection *c)
{
	int64_t n = 0;

	for (size_t i = 0; i < c->npartitions; i++)
		for (size_t j = 0; j < c->partitions[i].nsegments; j++)
			if (!c->partitions[i].segments[j].is_l0)
				n = meta_sat_add(n, c->partitions[i].segments[j].num_of_rows);
	return n;
}

size_t meta_collection_segments(const struct meta_collection *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->npartitions; i++)
		for (size_t j = 0; j < c->partitions[i].nsegments; j++)
			n += !c->partitions[i].segments[j].is_l0;
	return n;
}

int64_t meta_collection_size(const struct meta_collection *c)
{
	int64_t n = 0;

	if (c->size)
		return c->size;
	for (size_t i = 0; i < c->npartitions; i++)
		for (size_t j = 0; j < c->partitions[i].nsegments; j++)
			n = meta_sat_add(n, c->partitions[i].segments[j].size);
	for (size_t i = 0; i < c->nl0_segments; i++)
		n = meta_sat_add(n, c->l0_segments[i].size);
	return n;
}

int64_t meta_backup_size(const struct meta_backup *b)
{
	int64_t n = 0;

	if (b->size)
		return b->size;
	for (size_t i = 0; i < b->ncollections; i++)
		n = meta_sat_add(n, meta_collection_size(&b->collections[i]));
	return n;
}

/* Plausible creation times: 2019-01-01 .. 2200-01-01 (milvus-backup is from 2022). */
#define T_MIN 1546300800LL
#define T_MAX 7258118400LL

/* Unix seconds from a value that may be seconds or milliseconds (decided by magnitude; the
 * two ranges do not overlap), or 0. */
static int64_t plausible(int64_t v)
{
	if (v >= T_MIN && v < T_MAX)
		return v;
	if (v >= T_MIN * 1000 && v < T_MAX * 1000)
		return v / 1000;
	return 0;
}

static int64_t earlier(int64_t best, int64_t t)
{
	return t && (!best || t < best) ? t : best;
}

int64_t meta_backup_time(const struct meta_backup *b)
{
	int64_t t, best = 0;

	/* (1) root start_time / end_time (ms), and backup_timestamp (ms in v0.3-v0.4.12) */
	if ((t = plausible(b->start_time)) || (t = plausible(b->end_time)))
		return t;
	if (b->backup_timestamp <= INT64_MAX && (t = plausible((int64_t)b->backup_timestamp)))
		return t;
	/* (2) backup_physical_timestamp (s) */
	for (size_t i = 0; i < b->ncollections; i++) {
		uint64_t v = b->collections[i].backup_physical_timestamp;

		if (v <= INT64_MAX)
			best = earlier(best, plausible((int64_t)v));
	}
	if (best)
		return best;
	/* (3) backup_timestamp >> 18: ms for a hybrid TSO, s for v0.3-v0.4.12 (Errata) */
	for (size_t i = 0; i < b->ncollections; i++)
		best = earlier(best, plausible((int64_t)(b->collections[i].backup_timestamp >> 18)));
	return best;
}

/* ------------------------------------------------------------------------------------------
 * Writing: Go encoding/json, field by field
 */

int meta_json_string(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t start = 0, i = 0;
	int rc = buf_add(out, "\"", 1);

	while (!rc && p[i]) {
		unsigned char c = p[i];
		char esc[8];
		size_t elen = 0, skip = 1;

		if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' &&
		    c < 0x80) {
			i++;
			continue;
		}
		if (c < 0x80) {
			switch (c) {
			case '"': memcpy(esc, "\\\"", 2); elen = 2; break;
			case '\\': memcpy(esc, "\\\\", 2); elen = 2; break;
			case '\n': memcpy(esc, "\\n", 2); elen = 2; break;
			case '\r': memcpy(esc, "\\r", 2); elen = 2; break;
			case '\t': memcpy(esc, "\\t", 2); elen = 2; break;
			case '\b': memcpy(esc, "\\b", 2); elen = 2; break;	/* Go >= 1.22 */
			case '\f': memcpy(esc, "\\f", 2); elen = 2; break;	/* Go >= 1.22 */
			default:	/* other controls and the HTML-sensitive <, >, & */
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				elen = 6;
			}
		} else {
			/* decode one UTF-8 sequence; invalid bytes become \ufffd one by one */
			uint32_t cp = 0;
			size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
			bool ok = n > 0 && c < 0xf5;

			for (size_t k = 1; ok && k < n; k++)
				ok = (p[i + k] & 0xc0) == 0x80;
			if (ok) {
				cp = n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
				for (size_t k = 1; k < n; k++)
					cp = cp << 6 | (p[i + k] & 0x3f);
				ok = !(n == 3 && cp < 0x800) && !(n == 4 && cp < 0x10000) &&
				     cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
			}
			if (!ok) {
				memcpy(esc, "\\ufffd", 6);
				elen = 6;
			} else if (cp == 0x2028 || cp == 0x2029) {
				memcpy(esc, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
				elen = 6;
				skip = n;
			} else {
				i += n;
				continue;
			}
		}
		rc = buf_add(out, s + start, i - start);
		if (!rc)
			rc = buf_add(out, esc, elen);
		i += skip;
		start = i;
	}
	if (!rc)
		rc = buf_add(out, s + start, i - start);
	if (!rc)
		rc = buf_add(out, "\"", 1);
	return rc;
}

/* A jansson value as compact Go-style JSON, keys in their stored (insertion) order. */
static int json_emit_value(struct buf *out, json_t *v)
{
	int rc = 0;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		bool first = true;

		rc = buf_add(out, "{", 1);
		json_object_foreach(v, k, x) {
			if (!rc && !first)
				rc = buf_add(out, ",", 1);
			first = false;
			if (!rc)
				rc = meta_json_string(out, k);
			if (!rc)
				rc = buf_add(out, ":", 1);
			if (!rc)
				rc = json_emit_value(out, x);
		}
		return rc ? rc : buf_add(out, "}", 1);
	}
	case JSON_ARRAY:
		rc = buf_add(out, "[", 1);
		for (size_t i = 0; !rc && i < json_array_size(v); i++) {
			if (i)
				rc = buf_add(out, ",", 1);
			if (!rc)
				rc = json_emit_value(out, json_array_get(v, i));
		}
		return rc ? rc : buf_add(out, "]", 1);
	case JSON_STRING:
		return meta_json_string(out, json_string_value(v));
	case JSON_INTEGER:
		return buf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		return buf_addf(out, "%.17g", json_real_value(v));
	case JSON_TRUE:
		return buf_adds(out, "true");
	case JSON_FALSE:
		return buf_adds(out, "false");
	case JSON_NULL:
		return buf_adds(out, "null");
	}
	return -EINVAL;
}

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
