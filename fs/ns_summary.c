/*
 * ns_summary.c - what .info says of a backup (struct ns_summary, namespace.h): built from its
 * meta (milvus-backup-format.md §2), copied for callers, and for the root .info read for
 * every backup at once on the mount's work queue.
 */
#include "ns_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mvbackupfs/base/log.h"
#include "mvbackupfs/base/workq.h"
#include "mvbackupfs/format/sidecar.h"

const char *ns_state_name(enum ns_state st)
{
	switch (st) {
	case NS_STATE_COMPLETE:
		return "complete";
	case NS_STATE_INCOMPLETE:
		return "incomplete";
	case NS_STATE_CREATING:
		return "creating";
	case NS_STATE_DELETING:
		return "deleting";
	case NS_STATE_FAILED:
		return "failed";
	case NS_STATE_RESTORING:
		return "restoring";
	case NS_STATE_IMPORTING:
		return "importing";
	default:
		return "unknown";
	}
}

void ns_summary_release(struct ns_summary *s)
{
	size_t i;

	free(s->name);
	free(s->reason);
	free(s->format);
	free(s->milvus_version);
	free(s->backup_id);
	for (i = 0; i < s->ndatabases; i++)
		free(s->databases[i]);
	free(s->databases);
	for (i = 0; i < s->ncollections; i++) {
		struct ns_collection *c = &s->collections[i];

		free(c->db);
		free(c->name);
		free(c->indexes);
		free(c->load_state);
	}
	free(s->collections);
	memset(s, 0, sizeof(*s));
}

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

int summary_copy(struct ns_summary *dst, const struct ns_summary *src)
{
	size_t i;

	*dst = *src;
	dst->name = xstrdup(src->name);
	dst->reason = xstrdup(src->reason);
	dst->format = xstrdup(src->format);
	dst->milvus_version = xstrdup(src->milvus_version);
	dst->backup_id = xstrdup(src->backup_id);
	dst->databases = calloc(src->ndatabases + 1, sizeof(char *));
	dst->collections = calloc(src->ncollections + 1, sizeof(struct ns_collection));
	if (!dst->databases || !dst->collections)
		goto oom;
	for (i = 0; i < src->ndatabases; i++)
		dst->databases[i] = xstrdup(src->databases[i]);
	for (i = 0; i < src->ncollections; i++) {
		struct ns_collection *d = &dst->collections[i];
		const struct ns_collection *c = &src->collections[i];

		*d = *c;
		d->db = xstrdup(c->db);
		d->name = xstrdup(c->name);
		d->indexes = xstrdup(c->indexes);
		d->load_state = xstrdup(c->load_state);
	}
	return 0;
oom:
	dst->ndatabases = 0;
	dst->ncollections = 0;
	ns_summary_release(dst);
	return -ENOMEM;
}

/* "backup_2026_08_20_02_00_00_123456789" (milvus-backup's default name) -> Unix seconds. */
int64_t time_from_name(const char *name)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, s;

	if (sscanf(name, "backup_%4d_%2d_%2d_%2d_%2d_%2d", &y, &mo, &d, &h, &mi, &s) != 6)
		return 0;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

static int add_database(struct ns_summary *s, const char *db)
{
	char **v;
	size_t i;

	for (i = 0; i < s->ndatabases; i++)
		if (!strcmp(s->databases[i], db))
			return 0;
	v = realloc(s->databases, (s->ndatabases + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->databases = v;
	v[s->ndatabases] = strdup(db);
	if (!v[s->ndatabases])
		return -ENOMEM;
	s->ndatabases++;
	return 0;
}

/* Index list for the table: "name(TYPE)" joined with ", ". */
static char *index_list(const struct meta_collection *c)
{
	struct buf b = BUF_INIT(4096);
	size_t i;

	for (i = 0; i < c->nindexes; i++) {
		const struct meta_index *x = &c->indexes[i];

		buf_addf(&b, "%s%s", i ? ", " : "", x->index_name && *x->index_name ? x->index_name : x->field_name);
		if (x->index_type && *x->index_type)
			buf_addf(&b, "(%s)", x->index_type);
	}
	return buf_detach(&b, NULL);
}

/* Fill `s` from a parsed, complete backup (milvus-backup-format.md §2.5). */
int summary_from_meta(struct ns_summary *s, const struct meta_backup *m)
{
	size_t i, p;
	int rc;

	s->format = xstrdup(m->format && *m->format ? m->format : "binlog");
	s->milvus_version = xstrdup(m->milvus_version);
	s->backup_id = xstrdup(m->id);
	s->size = meta_backup_size(m);
	s->created = meta_backup_time(m);
	for (i = 0; i < m->ndatabases; i++) {
		rc = add_database(s, m->databases[i].db_name);
		if (rc)
			return rc;
	}
	s->collections = calloc(m->ncollections + 1, sizeof(*s->collections));
	if (!s->collections)
		return -ENOMEM;
	for (i = 0; i < m->ncollections; i++) {
		const struct meta_collection *c = &m->collections[i];
		struct ns_collection *d = &s->collections[s->ncollections++];

		d->db = xstrdup(c->db_name && *c->db_name ? c->db_name : "default");
		d->name = xstrdup(c->collection_name);
		d->id = c->collection_id;
		d->partitions = c->npartitions;
		d->segments = meta_collection_segments(c);
		d->l0_segments = c->nl0_segments;
		for (p = 0; p < c->npartitions; p++) {
			size_t g;

			for (g = 0; g < c->partitions[p].nsegments; g++)
				if (c->partitions[p].segments[g].is_l0)
					d->l0_segments++;
		}
		d->entities = meta_collection_entities(c);
		d->size = meta_collection_size(c);
		d->indexes = index_list(c);
		d->load_state = xstrdup(c->load_state);
		s->entities = meta_sat_add(s->entities, d->entities);	/* crafted meta: no overflow */
		rc = add_database(s, d->db);
		if (rc)
			return rc;
		if (!d->db || !d->name || !d->indexes || !d->load_state)
			return -ENOMEM;
	}
	return 0;
}

int ns_backup_summary(struct ns *n, const char *name, struct ns_summary *out,
		      struct errmsg *err)
{
	struct backup *b;
	int rc;

	memset(out, 0, sizeof(*out));
	b = backup_get(n, name, &rc, err);
	if (!b)
		return rc;
	pthread_mutex_lock(&b->lock);
	rc = backup_resolve(n, b, err);
	if (!rc)
		backup_sidecar_refresh(n, b);	/* another mount's .expires (ns_sidecar.c) */
	if (!rc)
		rc = summary_copy(out, &b->sum);
	pthread_mutex_unlock(&b->lock);
	backup_put(n, b);
	return rc;
}

struct resolve_work {
	struct ns *n;
	struct backup **v;
	size_t nv;
	size_t next;			/* guarded by lock */
	pthread_mutex_t lock;
};

/* One worker's loop (a task on the work queue; the caller runs one too). */
static void resolve_worker(void *arg)
{
	struct resolve_work *w = arg;

	for (;;) {
		struct backup *b;
		struct errmsg e = { { 0 } };	/* ENOMEM paths set no sentence */
		size_t i;
		int rc;

		pthread_mutex_lock(&w->lock);
		i = w->next++;
		pthread_mutex_unlock(&w->lock);
		if (i >= w->nv)
			return;
		b = w->v[i];
		pthread_mutex_lock(&b->lock);
		rc = backup_resolve(w->n, b, &e);
		if (rc)
			log_warn("cannot read backup '%s': %s", b->name, errmsg_str(&e, rc));
		pthread_mutex_unlock(&b->lock);
	}
}

int ns_all_summaries(struct ns *n, struct ns_summary **out, size_t *count, struct errmsg *err)
{
	struct resolve_work w = { 0 };
	struct workq *wq = n->cfg.wq, *own = NULL;
	struct workq_batch batch;
	size_t i, nth, done = 0;
	struct ns_summary *v;
	int rc;

	*out = NULL;
	*count = 0;
	rc = root_refresh(n, 0, err);
	if (rc)
		return rc;
	ns_refresh_listed(n, NULL);	/* spares a HEAD per backup; best effort (ns_sidecar.c) */
	pthread_mutex_lock(&n->lock);
	w.v = calloc(n->nbackups + 1, sizeof(*w.v));
	if (!w.v) {
		pthread_mutex_unlock(&n->lock);
		return -ENOMEM;
	}
	for (i = 0; i < n->nbackups; i++) {
		w.v[i] = n->backups[i];
		w.v[i]->refs++;
	}
	w.nv = n->nbackups;
	pthread_mutex_unlock(&n->lock);
	w.n = n;
	pthread_mutex_init(&w.lock, NULL);
	nth = (size_t)n->cfg.resolve_parallel;
	if (nth > 64)
		nth = 64;
	if (nth > w.nv)
		nth = w.nv;
	if (!wq && nth && workq_new((unsigned)nth, (unsigned)nth, &own) == 0)
		wq = own;
	workq_batch_init(&batch);
	for (i = 0; wq && i < nth; i++)
		if (workq_submit(wq, &batch, resolve_worker, &w))
			break;
	resolve_worker(&w);	/* the caller works too (and alone if no worker started) */
	workq_batch_wait(&batch);
	workq_batch_destroy(&batch);
	workq_free(own);
	pthread_mutex_destroy(&w.lock);

	v = calloc(w.nv + 1, sizeof(*v));
	for (i = 0; i < w.nv; i++) {
		struct backup *b = w.v[i];

		pthread_mutex_lock(&b->lock);
		if (v && b->resolved) {
			if (summary_copy(&v[done], &b->sum) == 0)
				done++;
		} else if (v) {
			/* could not be read (logged above): still a row, state unknown */
			v[done].name = strdup(b->name);
			v[done].state = NS_STATE_UNKNOWN;
			if (v[done].name)
				done++;
		}
		pthread_mutex_unlock(&b->lock);
		backup_put(n, b);
	}
	free(w.v);
	if (!v)
		return -ENOMEM;
	*out = v;
	*count = done;
	return 0;
}
