/*
 * restore_plan.c - the restore plan, pure (restore.h): which Import calls with which files
 * and options (milvus-backup-format.md §4.1 step 6.2, §4.2, §4.5); unit-tested on the meta of
 * every format generation (tests/unit/test_restore.c).
 */
#include "restore_internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void restore_units_free(struct restore_unit *u, size_t n)
{
	size_t i;

	for (i = 0; u && i < n; i++) {
		free(u[i].partition);
		free(u[i].files[0]);
		free(u[i].files[1]);
	}
	free(u);
}

static int has_logs(const struct meta_field_binlog *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].nbinlogs)
			return 1;
	return 0;
}

static int unit_add(struct restore_unit **v, size_t *n, const char *partition, int l0,
		    char *f0, char *f1, int64_t sv, int64_t rows)
{
	struct restore_unit *nv;

	if (!f0 || (!l0 && !f1) || !partition)
		goto nomem;
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		goto nomem;
	*v = nv;
	memset(&nv[*n], 0, sizeof(nv[*n]));
	nv[*n].partition = strdup(partition);
	if (!nv[*n].partition)
		goto nomem;
	nv[*n].l0 = l0;
	nv[*n].files[0] = f0;
	nv[*n].files[1] = f1;
	nv[*n].nfiles = l0 ? 1 : 2;
	nv[*n].storage_version = sv;
	nv[*n].rows = rows;
	(*n)++;
	return 0;
nomem:
	free(f0);
	free(f1);
	return -ENOMEM;
}

char *rs_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
char *rs_fmt(const char *f, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, f);
	r = vasprintf(&s, f, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

/* The data units of partition `p`: one per group_id (first-seen order), or one for the
 * whole partition when a segment has no group (backups before v0.4.4). */
static int plan_partition(const struct meta_collection *c, const struct meta_partition *p,
			  const char *bp, struct restore_unit **v, size_t *n)
{
	int64_t cid = c->collection_id, pid = p->partition_id;
	size_t i, k;
	int rc, grouped = 1, any = 0;

	for (i = 0; i < p->nsegments; i++) {
		if (p->segments[i].is_l0)
			continue;
		any = 1;
		if (!p->segments[i].group_id)
			grouped = 0;
	}
	if (any && !grouped) {
		int64_t rows = 0, sv = 0;
		int ins = 0, del = 0;

		for (i = 0; i < p->nsegments; i++) {
			const struct meta_segment *s = &p->segments[i];

			if (s->is_l0)
				continue;
			ins |= has_logs(s->binlogs, s->nbinlogs);
			del |= has_logs(s->deltalogs, s->ndeltalogs);
			rows = meta_sat_add(rows, s->num_of_rows);
			sv = s->storage_version;
		}
		if (ins) {
			rc = unit_add(v, n, p->partition_name ? p->partition_name : "", 0,
				      rs_fmt("%sbinlogs/insert_log/%" PRId64 "/%" PRId64 "/", bp, cid, pid),
				      del ? rs_fmt("%sbinlogs/delta_log/%" PRId64 "/%" PRId64 "/", bp, cid,
						pid) : strdup(""), sv, rows);
			if (rc)
				return rc;
		}
	} else if (any) {
		for (i = 0; i < p->nsegments; i++) {
			const struct meta_segment *s = &p->segments[i];
			int64_t g = s->group_id, rows = 0;
			int ins = 0, del = 0, seen = 0;

			if (s->is_l0)
				continue;
			for (k = 0; k < i && !seen; k++)
				seen = !p->segments[k].is_l0 && p->segments[k].group_id == g;
			if (seen)
				continue;
			for (k = i; k < p->nsegments; k++) {
				const struct meta_segment *t = &p->segments[k];

				if (t->is_l0 || t->group_id != g)
					continue;
				ins |= has_logs(t->binlogs, t->nbinlogs);
				del |= has_logs(t->deltalogs, t->ndeltalogs);
				rows = meta_sat_add(rows, t->num_of_rows);
			}
			if (!ins)
				continue;
			rc = unit_add(v, n, p->partition_name ? p->partition_name : "", 0,
				      rs_fmt("%sbinlogs/insert_log/%" PRId64 "/%" PRId64 "/%" PRId64 "/", bp,
					  cid, pid, g),
				      del ? rs_fmt("%sbinlogs/delta_log/%" PRId64 "/%" PRId64 "/%" PRId64
						"/", bp, cid, pid, g) : strdup(""),
				      s->storage_version, rows);
			if (rc)
				return rc;
		}
	}
	/* that partition's L0 segments, after its data (§4.2) */
	for (i = 0; i < p->nsegments; i++) {
		const struct meta_segment *s = &p->segments[i];

		if (!s->is_l0 || !has_logs(s->deltalogs, s->ndeltalogs))
			continue;
		rc = unit_add(v, n, p->partition_name ? p->partition_name : "", 1,
			      rs_fmt("%sbinlogs/delta_log/%" PRId64 "/%" PRId64 "/%" PRId64 "/", bp, cid,
				  pid, s->group_id ? s->group_id : s->segment_id), NULL,
			      s->storage_version, s->num_of_rows);
		if (rc)
			return rc;
	}
	return 0;
}

int restore_plan_collection(const struct meta_collection *c, const char *backup_prefix,
			    struct restore_unit **out, size_t *n)
{
	struct restore_unit *v = NULL;
	size_t nv = 0, i;
	int rc = 0;

	for (i = 0; i < c->npartitions && !rc; i++)
		rc = plan_partition(c, &c->partitions[i], backup_prefix, &v, &nv);
	for (i = 0; i < c->nl0_segments && !rc; i++) {
		const struct meta_segment *s = &c->l0_segments[i];

		if (!has_logs(s->deltalogs, s->ndeltalogs))
			continue;
		rc = unit_add(&v, &nv, "", 1,
			      rs_fmt("%sbinlogs/delta_log/%" PRId64 "/-1/%" PRId64 "/", backup_prefix,
				  c->collection_id, s->segment_id), NULL, s->storage_version,
			      s->num_of_rows);
	}
	if (rc) {
		restore_units_free(v, nv);
		v = NULL;
		nv = 0;
	}
	*out = v;
	*n = nv;
	return rc;
}

static int kv_add(struct meta_kvs *o, const char *k, const char *v)
{
	struct meta_kv *nv = realloc(o->v, (o->n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	o->v = nv;
	nv[o->n].key = strdup(k);
	nv[o->n].value = strdup(v);
	if (!nv[o->n].key || !nv[o->n].value) {
		free(nv[o->n].key);
		free(nv[o->n].value);
		return -ENOMEM;
	}
	o->n++;
	return 0;
}

/* A hybrid TSO whose physical part is a plausible Unix time in ms (2019..2200); v0.3-v0.4.12
 * stored seconds << 18 there, which as an end_ts would drop every row (format Errata). */
static int plausible_tso(uint64_t ts)
{
	uint64_t ms = ts >> 18;

	return ms >= 1546300800000ull && ms < 7258118400000ull;
}

int restore_import_options(const struct restore_unit *u, const struct meta_collection *c,
			   int milvus_2_3, struct meta_kvs *out)
{
	char num[32];
	int rc = 0;

	if (milvus_2_3) {
		/* §4.5: what milvus-backup v0.4.25 sends to Milvus 2.3 */
		rc = kv_add(out, "backup", "true");
		if (!rc && c->backup_timestamp && plausible_tso(c->backup_timestamp)) {
			snprintf(num, sizeof(num), "%" PRIu64, c->backup_timestamp);
			rc = kv_add(out, "end_ts", num);
		}
		return rc;
	}
	rc = kv_add(out, "skip_disk_quota_check", "true");
	if (!rc)
		rc = kv_add(out, u->l0 ? "l0_import" : "backup", "true");
	if (!rc && u->storage_version > 0) {
		snprintf(num, sizeof(num), "%" PRId64, u->storage_version);
		rc = kv_add(out, "storage_version", num);
	}
	return rc;
}

static int has_id(const struct meta_schema *s, int64_t id)
{
	size_t i;

	for (i = 0; i < s->nfields; i++)
		if (!s->fields[i].is_dynamic && s->fields[i].field_id == id)
			return 1;
	return 0;
}

int64_t restore_dyn_field_id(const struct meta_schema *s)
{
	int64_t best = 0;
	size_t i;

	if (!s->enable_dynamic_field)
		return 0;
	for (i = 0; i < s->nfields; i++)
		if (s->fields[i].is_dynamic)
			return s->fields[i].field_id;
	/* the first gap in the sorted user IDs is the smallest id + 1 that is not an ID; with
	 * no gap that is the largest + 1 */
	for (i = 0; i < s->nfields; i++) {
		int64_t next = s->fields[i].field_id + 1;

		if (s->fields[i].field_id < 100 || has_id(s, next))
			continue;
		if (!best || next < best)
			best = next;
	}
	return best ? best : 100;
}

int restore_field_added_later(const struct meta_schema *s, const struct meta_field *f)
{
	if (!s->enable_dynamic_field || f->is_dynamic || f->field_id < 100)
		return 0;
	return f->field_id >= restore_dyn_field_id(s);
}

int restore_index_params(const struct meta_index *ix, int is_vector, int auto_index,
			 const struct restore_keys *skip, struct meta_kvs *out)
{
	const char *metric = "";
	size_t i;
	int rc = 0;

	for (i = 0; i < ix->params.n; i++)
		if (!strcmp(ix->params.v[i].key, "metric_type"))
			metric = ix->params.v[i].value;
	if (auto_index && is_vector) {
		/* §4.1 6.1 useAutoIndex: only the metric survives */
		rc = kv_add(out, "index_type", "AUTOINDEX");
		if (!rc && !restore_keys_has(skip, "metric_type"))
			rc = kv_add(out, "metric_type", metric);
		return rc;
	}
	for (i = 0; i < ix->params.n && !rc; i++) {
		const char *k = ix->params.v[i].key, *v = ix->params.v[i].value;

		if (restore_keys_has(skip, k))
			continue;
		if (!strcmp(k, "index_type") && !strcmp(v, "marisa-trie"))
			v = "Trie";
		rc = kv_add(out, k, v);
	}
	return rc;
}

const char *restore_index_name(const struct meta_index *ix, int is_vector)
{
	const char *n = ix->index_name ? ix->index_name : "", *p;

	if (is_vector || !*n)
		return n;
	if (*n != '_' && !isalpha((unsigned char)*n))
		return "";
	for (p = n; *p; p++)
		if (*p != '_' && !isalnum((unsigned char)*p))
			return "";
	return n;
}
