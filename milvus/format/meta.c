/*
 * meta.c - milvus-backup meta JSON <-> typed structs (see meta.h): releasing them, the values
 * derived from them (sizes, entities, the backup's time) and Go-style JSON text.  The parser
 * is meta_parse.c (full_meta.json) and meta_levels.c (the level files), the writer
 * meta_write.c.
 *
 * Parsing goes through jansson, whose integers are `long long`: a JSON integer is converted
 * with strtoll, so IDs and hybrid timestamps above 2^53 arrive exact (a value beyond the
 * int64 range is a parse error, never a silent rounding).  Writing does not use jansson: Go's
 * encoding/json has its own string escaping and key order, and the files must match
 * milvus-backup main byte for byte (milvus-backup-format.md §2.1), so the writer emits the
 * text itself, field by field in proto struct order.
 */
#include "meta_internal.h"

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

void mi_segment_release(struct meta_segment *s)
{
	field_binlogs_release(&s->binlogs, &s->nbinlogs);
	field_binlogs_release(&s->statslogs, &s->nstatslogs);
	field_binlogs_release(&s->deltalogs, &s->ndeltalogs);
	free(s->v_channel);
	memset(s, 0, sizeof(*s));
}

void mi_segments_release(struct meta_segment **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		mi_segment_release(&(*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

static void partition_release(struct meta_partition *p)
{
	free(p->partition_name);
	mi_segments_release(&p->segments, &p->nsegments);
	free(p->load_state);
	memset(p, 0, sizeof(*p));
}

void mi_partitions_release(struct meta_partition **v, size_t *n)
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
	mi_partitions_release(&c->partitions, &c->npartitions);
	for (size_t i = 0; i < c->nindexes; i++)
		index_release(&c->indexes[i]);
	free(c->indexes);
	free(c->load_state);
	meta_kvs_release(&c->channel_checkpoints);
	mi_segments_release(&c->l0_segments, &c->nl0_segments);
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
int mi_json_value(struct buf *out, json_t *v)
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
				rc = mi_json_value(out, x);
		}
		return rc ? rc : buf_add(out, "}", 1);
	}
	case JSON_ARRAY:
		rc = buf_add(out, "[", 1);
		for (size_t i = 0; !rc && i < json_array_size(v); i++) {
			if (i)
				rc = buf_add(out, ",", 1);
			if (!rc)
				rc = mi_json_value(out, json_array_get(v, i));
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
