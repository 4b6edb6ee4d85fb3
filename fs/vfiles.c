/*
 * vfiles.c - text of the virtual files .info, .info.json and .status (see vfiles.h).
 */
#include "mvbackupfs/fs/vfiles.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mvbackupfs/base/err.h"
#include "mvbackupfs/base/timefmt.h"

/*
 * Append one printf-style line and make what it appended safe (text_sanitize), except its
 * final newline: names, reasons and errors come from meta files and servers, and must never
 * add a line to .info or .status (a reason "x\nstate complete" stays on its line).
 */
static int addf_line(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int addf_line(struct buf *out, const char *fmt, ...)
{
	size_t from = out->len;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vaddf(out, fmt, ap);
	va_end(ap);
	if (!rc && out->len > from) {
		int nl = out->p[out->len - 1] == '\n';

		if (nl)
			out->p[out->len - 1] = '\0';
		text_sanitize(out->p + from);
		if (nl)
			out->p[out->len - 1] = '\n';
	}
	return rc;
}

void vfile_human_size(uint64_t bytes, char *out, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(out, size, "%llu B", (unsigned long long)bytes);
	else
		snprintf(out, size, "%.1f %s", v, unit[u]);
}

static void fmt_time(int64_t t, char *out, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || !gmtime_r(&tt, &tm)) {
		snprintf(out, size, "-");
		return;
	}
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void fmt_expires(int64_t t, char *out, size_t size)
{
	if (t <= 0)
		snprintf(out, size, "never");
	else
		fmt_time(t, out, size);
}

/* The state word: `expired` is a complete backup past its expiry (spec §4). */
static const char *state_word(const struct ns_summary *s)
{
	return s->expired && s->state == NS_STATE_COMPLETE ? "expired" : ns_state_name(s->state);
}

static const char *type_word(const struct ns_summary *s)
{
	return s->type && *s->type ? s->type : "external";
}

/* Column widths: the longest cell of each column, for a table people can read. */
#define MAXCOLS 8

struct table {
	size_t ncols;
	size_t width[MAXCOLS];
	struct buf cells;	/* rows of ncols NUL-separated cells */
	size_t nrows;
};

static int table_row(struct table *t, const char *const *cells)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < t->ncols && !rc; i++) {
		size_t len = strlen(cells[i]);

		if (len > t->width[i])
			t->width[i] = len;
		rc = buf_add(&t->cells, cells[i], len + 1);
		if (!rc)
			text_sanitize(t->cells.p + t->cells.len - len - 1);	/* one row per line */
	}
	t->nrows++;
	return rc;
}

static int table_print(struct table *t, struct buf *out, const unsigned right_aligned)
{
	const char *p = t->cells.p;
	size_t r, c;
	int rc = 0;

	for (r = 0; r < t->nrows && !rc; r++) {
		for (c = 0; c < t->ncols && !rc; c++) {
			int w = (int)t->width[c];
			int last = c + 1 == t->ncols;

			if (right_aligned & (1u << c))
				rc = buf_addf(out, "%*s%s", w, p, last ? "" : "  ");
			else if (last)
				rc = buf_addf(out, "%s", p);
			else
				rc = buf_addf(out, "%-*s  ", w, p);
			p += strlen(p) + 1;
		}
		if (!rc)
			rc = buf_adds(out, "\n");
	}
	buf_release(&t->cells);
	return rc;
}

int vfile_root_info(const struct ns_summary *v, size_t n, struct buf *out)
{
	static const char *const head[] = { "NAME", "STATE", "TYPE", "CREATED", "EXPIRES",
					    "COLLECTIONS", "ENTITIES", "SIZE" };
	struct table t = { .ncols = 8 };
	size_t i;
	int rc;

	buf_init(&t.cells, 64u << 20);
	rc = table_row(&t, head);
	for (i = 0; i < n && !rc; i++) {
		const struct ns_summary *s = &v[i];
		char created[32], expires[32], colls[24], ents[24], size[24];
		const char *row[8];
		int known = s->state == NS_STATE_COMPLETE;

		fmt_time(s->created, created, sizeof(created));
		fmt_expires(s->expires, expires, sizeof(expires));
		snprintf(colls, sizeof(colls), known ? "%zu" : "-", s->ncollections);
		snprintf(ents, sizeof(ents), known ? "%lld" : "-", (long long)s->entities);
		vfile_human_size(s->size > 0 ? (uint64_t)s->size : 0, size, sizeof(size));
		row[0] = s->name;
		row[1] = state_word(s);
		row[2] = type_word(s);
		row[3] = created;
		row[4] = expires;
		row[5] = colls;
		row[6] = ents;
		row[7] = s->state == NS_STATE_UNKNOWN ? "-" : size;
		rc = table_row(&t, row);
	}
	if (rc) {
		buf_release(&t.cells);
		return rc;
	}
	return table_print(&t, out, (1u << 5) | (1u << 6) | (1u << 7));
}

int vfile_backup_info(const struct ns_summary *s, struct buf *out)
{
	static const char *const head[] = { "DATABASE", "COLLECTION", "PARTITIONS", "SEGMENTS",
					    "ENTITIES", "SIZE", "INDEXES" };
	char created[32], expires[32], hsize[24];
	struct table t = { .ncols = 7 };
	size_t i;
	int rc = 0;

	fmt_time(s->created, created, sizeof(created));
	fmt_expires(s->expires, expires, sizeof(expires));
	vfile_human_size(s->size > 0 ? (uint64_t)s->size : 0, hsize, sizeof(hsize));
	rc |= addf_line(out, "name:         %s\n", s->name);
	rc |= addf_line(out, "state:        %s\n", state_word(s));
	rc |= addf_line(out, "type:         %s\n", type_word(s));
	if (s->state != NS_STATE_COMPLETE && s->reason && *s->reason)
		rc |= addf_line(out, "reason:       %s\n", s->reason);
	if (s->state == NS_STATE_COMPLETE) {
		rc |= addf_line(out, "format:       %s\n", s->format);
		rc |= addf_line(out, "milvus:       %s\n", *s->milvus_version ? s->milvus_version : "-");
		rc |= addf_line(out, "backup id:    %s\n", *s->backup_id ? s->backup_id : "-");
	}
	rc |= addf_line(out, "created:      %s\n", created);
	rc |= addf_line(out, "expires:      %s\n", expires);
	rc |= addf_line(out, "size:         %s (%lld bytes)\n", hsize, (long long)s->size);
	rc |= addf_line(out, "objects:      %llu\n", (unsigned long long)s->objects);
	if (s->state != NS_STATE_COMPLETE)
		return rc ? -E2BIG : 0;
	rc |= addf_line(out, "databases:    %zu (", s->ndatabases);
	for (i = 0; i < s->ndatabases; i++)
		rc |= addf_line(out, "%s%s", i ? ", " : "", s->databases[i]);
	rc |= buf_adds(out, ")\n");
	rc |= addf_line(out, "collections:  %zu\n", s->ncollections);
	if (!strcmp(s->format, "snapshot"))
		rc |= buf_adds(out, "entities:     - (not recorded by the snapshot format)\n");
	else
		rc |= addf_line(out, "entities:     %lld (rows stored in the backup's segments)\n",
			       (long long)s->entities);
	{
		/* milvus-backup --meta_only (format §3.2): collections without any segment */
		size_t nseg = 0;

		for (i = 0; i < s->ncollections; i++)
			nseg += s->collections[i].segments + s->collections[i].l0_segments;
		if (s->ncollections && !nseg && strcmp(s->format, "snapshot"))
			rc |= buf_adds(out, "data:         none (meta only: a restore gives empty "
				       "collections)\n");
	}
	if (rc)
		return -E2BIG;
	if (!s->ncollections)
		return 0;
	rc = buf_adds(out, "\n");
	buf_init(&t.cells, 64u << 20);
	rc = rc ? rc : table_row(&t, head);
	for (i = 0; i < s->ncollections && !rc; i++) {
		const struct ns_collection *c = &s->collections[i];
		char parts[24], segs[40], ents[24], size[24];
		const char *row[7];

		snprintf(parts, sizeof(parts), "%zu", c->partitions);
		if (c->l0_segments)
			snprintf(segs, sizeof(segs), "%zu+%zu L0", c->segments, c->l0_segments);
		else
			snprintf(segs, sizeof(segs), "%zu", c->segments);
		snprintf(ents, sizeof(ents), "%lld", (long long)c->entities);
		vfile_human_size(c->size > 0 ? (uint64_t)c->size : 0, size, sizeof(size));
		row[0] = c->db;
		row[1] = c->name;
		row[2] = parts;
		row[3] = segs;
		row[4] = ents;
		row[5] = size;
		row[6] = *c->indexes ? c->indexes : "-";
		rc = table_row(&t, row);
	}
	if (rc) {
		buf_release(&t.cells);
		return rc;
	}
	return table_print(&t, out, (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5));
}

static json_t *summary_json(const struct ns_summary *s)
{
	char created[32], expires[32];
	json_t *o = json_object(), *dbs = json_array(), *colls = json_array();
	size_t i;

	if (!o || !dbs || !colls)
		goto fail;
	fmt_time(s->created, created, sizeof(created));
	fmt_expires(s->expires, expires, sizeof(expires));
	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "state", json_string(state_word(s)));
	json_object_set_new(o, "type", json_string(type_word(s)));
	json_object_set_new(o, "reason", json_string(s->reason ? s->reason : ""));
	json_object_set_new(o, "format", json_string(s->format ? s->format : ""));
	json_object_set_new(o, "milvus_version", json_string(s->milvus_version ? s->milvus_version : ""));
	json_object_set_new(o, "backup_id", json_string(s->backup_id ? s->backup_id : ""));
	json_object_set_new(o, "created", s->created > 0 ? json_string(created) : json_null());
	json_object_set_new(o, "expires", s->expires > 0 ? json_string(expires) : json_string("never"));
	json_object_set_new(o, "size", json_integer(s->size));
	json_object_set_new(o, "objects", json_integer((json_int_t)s->objects));
	json_object_set_new(o, "entities", json_integer(s->entities));
	for (i = 0; i < s->ndatabases; i++)
		json_array_append_new(dbs, json_string(s->databases[i]));
	for (i = 0; i < s->ncollections; i++) {
		const struct ns_collection *c = &s->collections[i];
		json_t *co = json_object();

		if (!co)
			goto fail;
		json_object_set_new(co, "db", json_string(c->db));
		json_object_set_new(co, "name", json_string(c->name));
		json_object_set_new(co, "id", json_integer(c->id));
		json_object_set_new(co, "partitions", json_integer((json_int_t)c->partitions));
		json_object_set_new(co, "segments", json_integer((json_int_t)c->segments));
		json_object_set_new(co, "l0_segments", json_integer((json_int_t)c->l0_segments));
		json_object_set_new(co, "entities", json_integer(c->entities));
		json_object_set_new(co, "size", json_integer(c->size));
		json_object_set_new(co, "indexes", json_string(c->indexes));
		json_object_set_new(co, "load_state", json_string(c->load_state));
		json_array_append_new(colls, co);
	}
	json_object_set_new(o, "databases", dbs);
	json_object_set_new(o, "collections", colls);
	return o;
fail:
	json_decref(o);
	json_decref(dbs);
	json_decref(colls);
	return NULL;
}

static int dump_json(json_t *j, struct buf *out)
{
	char *text;
	int rc;

	if (!j)
		return -ENOMEM;
	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!text)
		return -ENOMEM;
	rc = buf_adds(out, text);
	free(text);
	return rc ? rc : buf_adds(out, "\n");
}

int vfile_backup_info_json(const struct ns_summary *s, struct buf *out)
{
	return dump_json(summary_json(s), out);
}

int vfile_root_info_json(const struct ns_summary *v, size_t n, struct buf *out)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++) {
		json_t *o = summary_json(&v[i]);

		if (!o) {
			json_decref(a);
			return -ENOMEM;
		}
		json_array_append_new(a, o);
	}
	return dump_json(a, out);
}

int vfile_expires(const struct ns_summary *s, struct buf *out)
{
	char t[32];

	if (s->expires <= 0 || rfc3339_format(s->expires, t))
		return buf_adds(out, "never\n");
	return buf_addf(out, "%s\n", t);
}

int vfile_status(const struct vstatus *st, struct buf *out)
{
	char started[32], updated[32];
	double pct = 0.0;
	int rc = 0;

	if (st->bytes_total)
		pct = 100.0 * (double)st->bytes_done / (double)st->bytes_total;
	else if (st->items_total)
		pct = 100.0 * (double)st->items_done / (double)st->items_total;
	else if (!strcmp(st->state, "complete"))
		pct = 100.0;
	fmt_time(st->started, started, sizeof(started));
	fmt_time(st->updated, updated, sizeof(updated));
	rc |= addf_line(out, "state %s\n", st->state);
	rc |= addf_line(out, "job %s\n", st->job && *st->job ? st->job : "-");
	rc |= addf_line(out, "phase %s\n", st->phase && *st->phase ? st->phase : "idle");
	rc |= addf_line(out, "progress %.2f\n", pct);
	rc |= addf_line(out, "bytes_done %llu\n", (unsigned long long)st->bytes_done);
	rc |= addf_line(out, "bytes_total %llu\n", (unsigned long long)st->bytes_total);
	rc |= addf_line(out, "items_done %llu\n", (unsigned long long)st->items_done);
	rc |= addf_line(out, "items_total %llu\n", (unsigned long long)st->items_total);
	rc |= addf_line(out, "rate_bps %.0f\n", st->rate_bps);
	if (st->eta_s >= 0)
		rc |= addf_line(out, "eta_s %lld\n", (long long)st->eta_s);
	else
		rc |= addf_line(out, "eta_s -\n");
	rc |= addf_line(out, "started %s\n", started);
	rc |= addf_line(out, "updated %s\n", updated);
	rc |= addf_line(out, "error %s\n", st->error && *st->error ? st->error : "-");
	return rc ? -E2BIG : 0;
}
