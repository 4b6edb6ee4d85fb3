/*
 * backup_create.c - the snapshot job: milvus-backup's create flow (milvus-backup-format.md
 * §3.2, serial flush) producing a backup milvus-backup can restore (see backup_create.h).
 *
 * The job builds the backup's `struct meta_backup` as it goes (databases, then collections
 * with schema, indexes, partitions, flush checkpoints, segments and their binlogs), collects
 * one copy item per binlog, copies them with a bounded pool of threads, verifies the copies by
 * listing the backup, and writes the meta files in main's order with full_meta.json last.
 */
#include "mvbackupfs/jobs/backup_create.h"
#include "mvbackupfs/format/backup_admin.h"
#include "mvbackupfs/config/config.h"
#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/rand.h"
#include "mvbackupfs/base/crashpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.pb-c.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/rpc/milvus_client.h"
#include "mvbackupfs/base/b64.h"
#include "schema_convert.h"

#define FLUSH_POLL_MS	200			/* GetFlushState polling interval */
#define FLUSH_DEADLINE_S 1800			/* give up waiting for a flush after this */
#define FLUSH_TRIES	8			/* Flush attempts when Milvus rate-limits (retriable) */
#define SEGINFO_TRIES	20			/* GetPersistentSegmentInfo attempts (§3.2 8.1) */
#define SEGCHECK_TRIES	5			/* listings before an inconsistent segment fails */
#define SEGCHECK_DELAY_MS 500L			/* first re-list delay, doubled each time */
#define GC_PAUSE_S	3600			/* pause_seconds of each GC pause request */
#define GC_RENEW_S	1800			/* renew the pause this often (milvus-backup: 30 min) */

/* ------------------------------------------------------------------------------------------
 * Pure helpers
 */

static void filter_db_release(struct backup_filter_db *d)
{
	free(d->db);
	for (size_t i = 0; i < d->ncolls; i++)
		free(d->colls[i]);
	free(d->colls);
	memset(d, 0, sizeof(*d));
}

void backup_filter_release(struct backup_filter *f)
{
	for (size_t i = 0; i < f->ndbs; i++)
		filter_db_release(&f->dbs[i]);
	free(f->dbs);
	f->dbs = NULL;
	f->ndbs = 0;
}

static struct backup_filter_db *filter_db(struct backup_filter *f, const char *db, size_t len)
{
	struct backup_filter_db *n;

	for (size_t i = 0; i < f->ndbs; i++)
		if (strlen(f->dbs[i].db) == len && !memcmp(f->dbs[i].db, db, len))
			return &f->dbs[i];
	n = realloc(f->dbs, (f->ndbs + 1) * sizeof(*n));
	if (!n)
		return NULL;
	f->dbs = n;
	n = &f->dbs[f->ndbs];
	memset(n, 0, sizeof(*n));
	if (!(n->db = strndup(db, len)))
		return NULL;
	f->ndbs++;
	return n;
}

static int filter_add_coll(struct backup_filter_db *d, const char *c, size_t len)
{
	char **n;

	for (size_t i = 0; i < d->ncolls; i++)
		if (strlen(d->colls[i]) == len && !memcmp(d->colls[i], c, len))
			return 0;
	n = realloc(d->colls, (d->ncolls + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	d->colls = n;
	if (!(d->colls[d->ncolls] = strndup(c, len)))
		return -ENOMEM;
	d->ncolls++;
	return 0;
}

int backup_filter_parse(const char *spec, struct backup_filter *out, struct errmsg *err)
{
	const char *p = spec ? spec : "";
	int rc = 0;

	out->dbs = NULL;
	out->ndbs = 0;
	while (*p) {
		const char *e = strchr(p, ','), *s = p, *dot;
		size_t len;
		struct backup_filter_db *d;

		if (!e)
			e = p + strlen(p);
		p = *e ? e + 1 : e;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		len = (size_t)(e - s);
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (!len)
			continue;
		dot = memchr(s, '.', len);
		if (!dot) {		/* "coll": the default database */
			if (!(d = filter_db(out, "default", 7))) {
				rc = -ENOMEM;
				goto fail;
			}
			if ((rc = filter_add_coll(d, s, len)))
				goto fail;
			continue;
		}
		if (dot == s) {
			rc = errmsg_set(err, -EINVAL, "bad filter entry '%.*s': no database name",
					(int)len, s);
			goto fail;
		}
		if (!(d = filter_db(out, s, (size_t)(dot - s)))) {
			rc = -ENOMEM;
			goto fail;
		}
		len -= (size_t)(dot + 1 - s);
		s = dot + 1;
		if (!len)
			d->db_only = 1;
		else if (len == 1 && *s == '*')
			d->all = 1;
		else if ((rc = filter_add_coll(d, s, len)))
			goto fail;
	}
	return 0;
fail:
	backup_filter_release(out);
	return rc;
}

/* A decimal int64 of exactly [s, s+len); -1 allowed only when neg_ok. */
static int parse_id(const char *s, size_t len, int neg_ok, int64_t *out)
{
	int64_t v = 0;
	size_t i = 0;
	int neg = 0;

	if (len && s[0] == '-') {
		if (!neg_ok)
			return -EINVAL;
		neg = 1;
		i = 1;
	}
	if (i == len || len - i > 19)
		return -EINVAL;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (neg && v != 1)		/* only -1 (all partitions) exists */
		return -EINVAL;
	*out = neg ? -v : v;
	return 0;
}

int backup_binlog_key_parse(const char *root, const char *key, struct backup_binlog_key *out)
{
	size_t rl = strlen(root), want;
	const char *p = key, *el[5];
	size_t ellen[5], n = 0;
	int64_t v[5];

	if (rl) {
		if (strncmp(key, root, rl) || key[rl] != '/')
			return -EINVAL;
		p = key + rl + 1;
	}
	memset(out, 0, sizeof(*out));
	if (!strncmp(p, "insert_log/", 11)) {
		out->kind = BACKUP_LOG_INSERT;
		p += 11;
		want = 5;
	} else if (!strncmp(p, "delta_log/", 10)) {
		out->kind = BACKUP_LOG_DELTA;
		p += 10;
		want = 4;
	} else {
		return -EINVAL;
	}
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (n == want)
			return -EINVAL;
		el[n] = p;
		ellen[n++] = len;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (n != want)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (parse_id(el[i], ellen[i], i == 1 && out->kind == BACKUP_LOG_DELTA, &v[i]))
			return -EINVAL;
	out->collection_id = v[0];
	out->partition_id = v[1];
	out->segment_id = v[2];
	if (out->kind == BACKUP_LOG_INSERT) {
		out->field_id = v[3];
		out->log_id = v[4];
	} else {
		out->log_id = v[3];
	}
	return 0;
}

int backup_dest_key(struct buf *out, const char *backup_prefix, enum backup_log_kind kind,
		    int64_t collection_id, int64_t partition_id, int64_t group_id,
		    int64_t segment_id, int64_t field_id, int64_t log_id)
{
	int rc;

	/* milvus-backup-format.md §1.3: group dir = segment ID; none for group 0 and for
	 * all-partition (-1) L0 delta logs */
	rc = buf_addf(out, "%sbinlogs/%s/%" PRId64 "/%" PRId64 "/", backup_prefix,
		      kind == BACKUP_LOG_INSERT ? "insert_log" : "delta_log", collection_id,
		      partition_id);
	if (!rc && group_id && !(kind == BACKUP_LOG_DELTA && partition_id == -1))
		rc = buf_addf(out, "%" PRId64 "/", group_id);
	if (!rc)
		rc = buf_addf(out, "%" PRId64 "/", segment_id);
	if (!rc && kind == BACKUP_LOG_INSERT)
		rc = buf_addf(out, "%" PRId64 "/", field_id);
	if (!rc)
		rc = buf_addf(out, "%" PRId64, log_id);
	return rc;
}

struct hit {
	size_t seg;			/* index into the segment table */
	struct backup_binlog_key k;
	const struct obj_entry *o;
};

static int cmp_segp(const void *a, const void *b)
{
	int64_t x = (*(struct meta_segment *const *)a)->segment_id;
	int64_t y = (*(struct meta_segment *const *)b)->segment_id;

	return x < y ? -1 : x > y;
}

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->seg != y->seg)
		return x->seg < y->seg ? -1 : 1;
	if (x->k.kind != y->k.kind)
		return x->k.kind < y->k.kind ? -1 : 1;
	if (x->k.field_id != y->k.field_id)
		return x->k.field_id < y->k.field_id ? -1 : 1;
	return x->k.log_id < y->k.log_id ? -1 : x->k.log_id > y->k.log_id;
}

/* Fill seg's binlogs/deltalogs from hits[0..n) (all of this segment, sorted). */
static int fill_segment(struct meta_segment *seg, const struct hit *h, size_t n)
{
	size_t nfields = 0, ndelta = 0;

	for (size_t i = 0; i < n; i++) {
		if (h[i].k.kind == BACKUP_LOG_DELTA)
			ndelta++;
		else if (!i || h[i - 1].k.field_id != h[i].k.field_id)
			nfields++;
	}
	if (nfields && !(seg->binlogs = calloc(nfields, sizeof(*seg->binlogs))))
		return -ENOMEM;
	if (ndelta && !(seg->deltalogs = calloc(1, sizeof(*seg->deltalogs))))
		return -ENOMEM;
	if (ndelta && !(seg->deltalogs[0].binlogs = calloc(ndelta, sizeof(struct meta_binlog))))
		return -ENOMEM;
	seg->ndeltalogs = ndelta ? 1 : 0;
	for (size_t i = 0; i < n; i++) {
		struct meta_field_binlog *fb;
		struct meta_binlog *b;

		if (h[i].k.kind == BACKUP_LOG_DELTA) {
			fb = &seg->deltalogs[0];
		} else {
			if (!i || h[i - 1].k.field_id != h[i].k.field_id) {
				/* a new field: count its logs */
				size_t m = 0;

				while (i + m < n && h[i + m].k.kind == BACKUP_LOG_INSERT &&
				       h[i + m].k.field_id == h[i].k.field_id)
					m++;
				fb = &seg->binlogs[seg->nbinlogs++];
				fb->field_id = h[i].k.field_id;
				if (!(fb->binlogs = calloc(m, sizeof(*fb->binlogs))))
					return -ENOMEM;
			}
			fb = &seg->binlogs[seg->nbinlogs - 1];
		}
		b = &fb->binlogs[fb->nbinlogs];
		if (!(b->log_path = strdup(h[i].o->key)))
			return -ENOMEM;
		fb->nbinlogs++;
		b->log_size = (int64_t)h[i].o->size;
		b->log_id = h[i].k.log_id;
		seg->size += b->log_size;
	}
	return 0;
}

int backup_attach_binlogs(struct meta_collection *c, const char *root,
			  const struct obj_entry *objs, size_t nobjs, size_t *nfound)
{
	struct meta_segment **segs = NULL;
	struct hit *hits = NULL;
	size_t nsegs = 0, nhits = 0;
	int rc = -ENOMEM;

	*nfound = 0;
	for (size_t i = 0; i < c->npartitions; i++)
		nsegs += c->partitions[i].nsegments;
	nsegs += c->nl0_segments;
	if (!nsegs || !nobjs)
		return 0;
	if (!(segs = malloc(nsegs * sizeof(*segs))) || !(hits = malloc(nobjs * sizeof(*hits))))
		goto out;
	nsegs = 0;
	for (size_t i = 0; i < c->npartitions; i++)
		for (size_t j = 0; j < c->partitions[i].nsegments; j++)
			segs[nsegs++] = &c->partitions[i].segments[j];
	for (size_t i = 0; i < c->nl0_segments; i++)
		segs[nsegs++] = &c->l0_segments[i];
	qsort(segs, nsegs, sizeof(*segs), cmp_segp);
	for (size_t i = 0; i < nobjs; i++) {
		struct hit h;
		struct meta_segment key, *kp = &key, **found;

		if (backup_binlog_key_parse(root, objs[i].key, &h.k) ||
		    h.k.collection_id != c->collection_id)
			continue;
		key.segment_id = h.k.segment_id;
		found = bsearch(&kp, segs, nsegs, sizeof(*segs), cmp_segp);
		if (!found)
			continue;	/* not a persistent segment: compacted-away leftovers */
		h.seg = (size_t)(found - segs);
		h.o = &objs[i];
		hits[nhits++] = h;
	}
	qsort(hits, nhits, sizeof(*hits), cmp_hit);
	for (size_t i = 0; i < nhits;) {
		size_t m = 1;

		while (i + m < nhits && hits[i + m].seg == hits[i].seg)
			m++;
		if ((rc = fill_segment(segs[hits[i].seg], &hits[i], m)))
			goto out;
		i += m;
	}
	*nfound = nhits;
	rc = 0;
out:
	free(segs);
	free(hits);
	return rc;
}

/* A schema field every storage-v1 segment must have insert logs for: not a field added later
 * (nullable, so old segments have none), not one being dropped. */
static bool field_required(const struct meta_field *f)
{
	return f->field_id >= 100 && !f->nullable && f->state == 0;
}

int backup_segment_check(const struct meta_collection *c, const struct meta_segment *s,
			 struct errmsg *err)
{
	const struct meta_field_binlog *fb = s->binlogs;

	if (s->is_l0 || !s->nbinlogs)
		return 0;	/* delta logs only, or nothing: checked elsewhere */
	/* §3.2 8.2 (b): every field has as many insert logs as the others */
	for (size_t i = 1; i < s->nbinlogs; i++)
		if (fb[i].nbinlogs != fb[0].nbinlogs)
			return errmsg_set(err, -EIO, "field %" PRId64 " has %zu binlogs, field %"
					  PRId64 " has %zu", fb[i].field_id, fb[i].nbinlogs,
					  fb[0].field_id, fb[0].nbinlogs);
	/* storage v2 groups columns: its keys name groups, not schema fields */
	if (s->storage_version >= 2)
		return 0;
	for (int64_t sys = 0; sys <= 1; sys++) {
		size_t i = 0;

		while (i < s->nbinlogs && fb[i].field_id != sys)
			i++;
		if (i == s->nbinlogs)
			return errmsg_set(err, -EIO, "field %" PRId64 " (%s) has no binlogs", sys,
					  sys ? "timestamp" : "row id");
	}
	if (!c->has_schema)
		return 0;
	for (size_t j = 0; j < c->schema.nfields; j++) {
		const struct meta_field *f = &c->schema.fields[j];
		size_t i = 0;

		if (!field_required(f))
			continue;
		while (i < s->nbinlogs && fb[i].field_id != f->field_id)
			i++;
		if (i == s->nbinlogs)
			return errmsg_set(err, -EIO, "field %" PRId64 " ('%s') has no binlogs",
					  f->field_id, f->name ? f->name : "");
	}
	return 0;
}

void backup_sum_sizes(struct meta_backup *b)
{
	b->size = 0;
	for (size_t i = 0; i < b->ncollections; i++) {
		struct meta_collection *c = &b->collections[i];

		c->size = 0;
		for (size_t j = 0; j < c->npartitions; j++) {
			struct meta_partition *p = &c->partitions[j];

			p->size = 0;
			for (size_t k = 0; k < p->nsegments; k++)
				p->size += p->segments[k].size;
			c->size += p->size;
		}
		for (size_t k = 0; k < c->nl0_segments; k++)
			c->size += c->l0_segments[k].size;
		b->size += c->size;
	}
}

int backup_checkpoint_timestamp(const char *b64, uint64_t *ts)
{
	unsigned char *raw;
	size_t n;
	Milvus__Proto__Msg__MsgPosition *pos;
	int rc = b64_decode(b64, &raw, &n);

	if (rc)
		return rc;
	pos = milvus__proto__msg__msg_position__unpack(NULL, n, raw);
	free(raw);
	if (!pos)
		return -EINVAL;
	*ts = pos->timestamp;
	milvus__proto__msg__msg_position__free_unpacked(pos, NULL);
	return 0;
}

int backup_uuid4(char out[37])
{
	unsigned char r[16];

	if (rand_bytes(r, sizeof(r)))
		return -EIO;
	r[6] = (r[6] & 0x0f) | 0x40;	/* version 4 */
	r[8] = (r[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
		 r[13], r[14], r[15]);
	return 0;
}

/* ------------------------------------------------------------------------------------------
 * The job's state
 */

struct copy_item {
	char *src;		/* Milvus key */
	char *dst;		/* backup key */
	uint64_t size;
};

struct gcpause {
	const char *addr;	/* "" = disabled */
	int paused;
	time_t last;		/* when the pause was last requested */
};

struct create {
	struct job *j;
	struct backup_create_params *p;
	struct meta_backup meta;
	size_t cap_collections;
	struct copy_item *items;
	size_t nitems, cap_items;
	struct gcpause gc;
	char uuid[37];
	struct errmsg err;
};

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* Sleep ms, waking early when the job is cancelled. */
static int nap(struct job *j, long ms)
{
	while (ms > 0) {
		long step = ms > 50 ? 50 : ms;

		if (job_cancelled(j))
			return -ECANCELED;
		sleep_ms(step);
		ms -= step;
	}
	return job_cancelled(j) ? -ECANCELED : 0;
}

#define CHECK_CANCEL(cr)						\
	do {								\
		if (job_cancelled((cr)->j))				\
			return -ECANCELED;				\
	} while (0)

/* ------------------------------------------------------------------------------------------
 * GC pause (§3.2 step 3, Milvus < 2.6.8: one cluster-wide pause, renewed, resumed at the end).
 * Failures only warn.
 */

/* GET on the management endpoint (milvus_client.h); failures are logged with the address
 * redacted and only warn. */
static int gc_get(const char *addr, const char *path)
{
	struct errmsg e = { "" };
	char url[1024];
	long code = 0;
	int rc;

	rc = milvus_management_get(addr, path, &code, &e);
	if (!rc)
		return 0;
	config_redact_url(addr, url, sizeof(url));	/* never log a credential in it */
	if (rc == -EHOSTUNREACH)
		log_warn("cannot reach the milvus management endpoint '%s': %s", url, e.msg);
	else
		log_warn("milvus management endpoint '%s' answered HTTP %ld to %s", url, code,
			 path);
	return rc;
}

static void gc_pause(struct gcpause *g)
{
	static const char path[] = "/management/datacoord/garbage_collection/pause"
				   "?pause_seconds=3600&collection_id=0";

	if (!g->addr[0])
		return;
	_Static_assert(GC_PAUSE_S == 3600, "the path above says 3600");
	g->last = time(NULL);
	if (gc_get(g->addr, path)) {
		log_warn("garbage collection of milvus not paused: the backup goes on, but "
			 "compaction may remove binlogs while they are copied");
		return;
	}
	g->paused = 1;
}

static void gc_renew(struct gcpause *g)
{
	if (g->addr[0] && g->paused && time(NULL) - g->last >= GC_RENEW_S)
		gc_pause(g);
}

static void gc_resume(struct gcpause *g)
{
	if (!g->addr[0] || !g->paused)
		return;
	if (gc_get(g->addr, "/management/datacoord/garbage_collection/resume"))
		log_warn("garbage collection of milvus not resumed: it resumes by itself within "
			 "%d s", GC_PAUSE_S);
	g->paused = 0;
}

/* ------------------------------------------------------------------------------------------
 * Enumerate (§3.2 step 4-5)
 */

static int add_database(struct create *cr, const char *db, int64_t id)
{
	struct meta_backup *m = &cr->meta;
	struct meta_database *n;

	for (size_t i = 0; i < m->ndatabases; i++)
		if (!strcmp(m->databases[i].db_name, db))
			return 0;
	n = realloc(m->databases, (m->ndatabases + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	m->databases = n;
	n = &m->databases[m->ndatabases];
	memset(n, 0, sizeof(*n));
	if (!(n->db_name = strdup(db)))
		return -ENOMEM;
	n->db_id = id;
	m->ndatabases++;
	return 0;
}

static int add_collection(struct create *cr, const char *db, const char *coll)
{
	struct meta_backup *m = &cr->meta;
	struct meta_collection *c;

	for (size_t i = 0; i < m->ncollections; i++)
		if (!strcmp(m->collections[i].db_name, db) &&
		    !strcmp(m->collections[i].collection_name, coll))
			return 0;
	if (ARRAY_GROW(m->collections, m->ncollections, cr->cap_collections, 16))
		return -ENOMEM;
	c = &m->collections[m->ncollections];
	memset(c, 0, sizeof(*c));
	m->ncollections++;
	if (!(c->db_name = strdup(db)) || !(c->collection_name = strdup(coll)))
		return -ENOMEM;
	return 0;
}

static int show_collections(struct create *cr, const char *db)
{
	Milvus__Proto__Milvus__ShowCollectionsResponse *r = NULL;
	int rc;

	rc = milvus_show_collections(cr->p->milvus, db, &r, &cr->err);
	if (rc == -ENOENT)
		return job_fail(cr->j, rc, "no database '%s' in milvus", db);
	if (rc)
		return job_fail(cr->j, rc, "cannot list the collections of database '%s': %s", db,
				cr->err.msg);
	for (size_t i = 0; !rc && i < r->n_collection_names; i++)
		rc = add_collection(cr, db, r->collection_names[i]);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return rc;
}

static int enumerate(struct create *cr)
{
	struct backup_filter f;
	int rc;

	rc = backup_filter_parse(cr->p->filter, &f, &cr->err);
	if (rc)
		return job_fail(cr->j, rc, "%s", cr->err.msg);
	if (!f.ndbs) {
		Milvus__Proto__Milvus__ListDatabasesResponse *r = NULL;

		rc = milvus_list_databases(cr->p->milvus, &r, &cr->err);
		if (rc == -ENOSYS) {	/* before Milvus 2.2.9: only "default" */
			rc = add_database(cr, "default", 0);
		} else if (rc) {
			rc = job_fail(cr->j, rc, "cannot list the databases of milvus: %s",
				      cr->err.msg);
		} else {
			for (size_t i = 0; !rc && i < r->n_db_names; i++)
				rc = add_database(cr, r->db_names[i],
						  i < r->n_db_ids ? r->db_ids[i] : 0);
			protobuf_c_message_free_unpacked(&r->base, NULL);
		}
		for (size_t i = 0; !rc && i < cr->meta.ndatabases; i++) {
			if (job_cancelled(cr->j))
				rc = -ECANCELED;
			else
				rc = show_collections(cr, cr->meta.databases[i].db_name);
		}
		goto out;
	}
	for (size_t i = 0; !rc && i < f.ndbs; i++) {
		struct backup_filter_db *d = &f.dbs[i];

		if ((rc = add_database(cr, d->db, 0)))
			break;
		if (d->all) {
			rc = show_collections(cr, d->db);
			continue;
		}
		for (size_t k = 0; !rc && k < d->ncolls; k++) {
			int exists = 0;

			if (job_cancelled(cr->j)) {
				rc = -ECANCELED;
				break;
			}
			rc = milvus_has_collection(cr->p->milvus, d->db, d->colls[k], &exists,
						   &cr->err);
			if (rc == -ENOENT || (!rc && !exists))
				rc = job_fail(cr->j, -ENOENT, "no collection '%s.%s' in milvus", d->db,
					      d->colls[k]);
			else if (rc)
				rc = job_fail(cr->j, rc, "cannot look up collection '%s.%s': %s",
					      d->db, d->colls[k], cr->err.msg);
			else
				rc = add_collection(cr, d->db, d->colls[k]);
		}
	}
out:
	backup_filter_release(&f);
	return rc;
}

static int describe_databases(struct create *cr)
{
	/* §3.1 feature flags: DescribeDatabase exists from Milvus 2.4.3.  An older server is not
	 * asked: it answers UNIMPLEMENTED before reading the request and resets the stream, and
	 * when that reset overtakes the request body libcurl 7.88 loses the answer, so the call
	 * failed as a dropped connection instead of -ENOSYS (issue 13 item 8). */
	if (milvus_version_at_least(milvus_client_version(cr->p->milvus), 2, 4, 3) == 0)
		return 0;
	for (size_t i = 0; i < cr->meta.ndatabases; i++) {
		struct meta_database *d = &cr->meta.databases[i];
		Milvus__Proto__Milvus__DescribeDatabaseResponse *r = NULL;
		int rc;

		CHECK_CANCEL(cr);
		rc = milvus_describe_database(cr->p->milvus, d->db_name, &r, &cr->err);
		if (rc == -ENOSYS)	/* before Milvus 2.4.3: names only (§3.1) */
			continue;
		if (rc == -ENOENT)
			return job_fail(cr->j, rc, "no database '%s' in milvus", d->db_name);
		if (rc)
			return job_fail(cr->j, rc, "cannot describe database '%s': %s", d->db_name,
					cr->err.msg);
		d->db_id = r->dbid;
		rc = schema_kvs_from_proto(r->properties, r->n_properties, &d->properties);
		protobuf_c_message_free_unpacked(&r->base, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------
 * Describe one collection (§3.2 step 6)
 */

static int dup_strs(char *const *in, size_t n, char ***out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!n)
		return 0;
	if (!(*out = calloc(n, sizeof(**out))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!((*out)[i] = strdup(nz(in[i]))))
			return -ENOMEM;
		(*nout)++;
	}
	return 0;
}

/* GetLoadingProgress -> "NotLoad" / "Loading" / "Loaded" (part NULL = the collection). */
static int load_state(struct create *cr, const char *db, const char *coll, const char *part,
		      const char **state)
{
	int64_t progress = 0;
	int rc;

	rc = milvus_get_loading_progress(cr->p->milvus, db, coll, part, &progress, &cr->err);
	if (rc)
		return rc;
	*state = progress == 0 ? "NotLoad" : progress >= 100 ? "Loaded" : "Loading";
	return 0;
}

static int describe_collection(struct create *cr, struct meta_collection *c)
{
	struct milvus_client *mc = cr->p->milvus;
	const char *db = c->db_name, *name = c->collection_name, *ls;
	Milvus__Proto__Milvus__DescribeCollectionResponse *d = NULL;
	Milvus__Proto__Milvus__DescribeIndexResponse *ix = NULL;
	Milvus__Proto__Milvus__ShowPartitionsResponse *sp = NULL;
	int rc;

	rc = milvus_describe_collection(mc, db, name, &d, &cr->err);
	if (rc == -ENOENT)
		return job_fail(cr->j, rc, "no collection '%s.%s' in milvus (dropped meanwhile?)",
				db, name);
	if (rc)
		return job_fail(cr->j, rc, "cannot describe '%s.%s': %s", db, name, cr->err.msg);
	rc = -ENOMEM;
	if (!(c->id = strdup(cr->uuid)))
		goto out;
	c->collection_id = d->collectionid;
	if (schema_from_proto(d->schema, &c->schema))
		goto out;
	c->has_schema = true;
	c->shards_num = d->shards_num;
	c->consistency_level = (int)d->consistency_level;
	c->db_id = d->db_id;
	c->created_timestamp = d->created_timestamp;
	if (schema_kvs_from_proto(d->properties, d->n_properties, &c->properties) ||
	    dup_strs(d->virtual_channel_names, d->n_virtual_channel_names,
		     &c->virtual_channel_names, &c->nvirtual_channel_names) ||
	    dup_strs(d->physical_channel_names, d->n_physical_channel_names,
		     &c->physical_channel_names, &c->nphysical_channel_names) ||
	    dup_strs(d->aliases, d->n_aliases, &c->aliases, &c->naliases))
		goto out;

	if (job_cancelled(cr->j)) {
		rc = -ECANCELED;
		goto out;
	}
	rc = milvus_describe_index(mc, db, name, &ix, &cr->err);
	if (rc && rc != -ENOENT) {	/* "index not found" is tolerated */
		rc = job_fail(cr->j, rc, "cannot describe the indexes of '%s.%s': %s", db, name,
			      cr->err.msg);
		goto out;
	}
	if (ix && ix->n_index_descriptions) {
		rc = -ENOMEM;
		if (!(c->indexes = calloc(ix->n_index_descriptions, sizeof(*c->indexes))))
			goto out;
		for (size_t i = 0; i < ix->n_index_descriptions; i++) {
			const Milvus__Proto__Milvus__IndexDescription *x = ix->index_descriptions[i];
			struct meta_index *mi = &c->indexes[i];
			const char *type = "";

			c->nindexes++;
			for (size_t k = 0; k < x->n_params; k++)
				if (!strcmp(nz(x->params[k]->key), "index_type"))
					type = nz(x->params[k]->value);
			mi->index_id = x->indexid;
			if (!(mi->field_name = strdup(nz(x->field_name))) ||
			    !(mi->index_name = strdup(nz(x->index_name))) ||
			    !(mi->index_type = strdup(type)) ||
			    schema_kvs_from_proto(x->params, x->n_params, &mi->params))
				goto out;
		}
	}
	c->has_index = c->nindexes > 0;

	if (job_cancelled(cr->j)) {
		rc = -ECANCELED;
		goto out;
	}
	rc = load_state(cr, db, name, NULL, &ls);
	if (rc) {
		rc = job_fail(cr->j, rc, "cannot get the load state of '%s.%s': %s", db, name,
			      cr->err.msg);
		goto out;
	}
	if (!(c->load_state = strdup(ls))) {
		rc = -ENOMEM;
		goto out;
	}

	rc = milvus_show_partitions(mc, db, name, &sp, &cr->err);
	if (rc) {
		rc = job_fail(cr->j, rc, "cannot list the partitions of '%s.%s': %s", db, name,
			      cr->err.msg);
		goto out;
	}
	rc = -ENOMEM;
	if (sp->n_partition_names &&
	    !(c->partitions = calloc(sp->n_partition_names, sizeof(*c->partitions))))
		goto out;
	for (size_t i = 0; i < sp->n_partition_names; i++) {
		struct meta_partition *p = &c->partitions[i];
		const char *pls = c->load_state;

		c->npartitions++;
		p->partition_id = i < sp->n_partitionids ? sp->partitionids[i] : 0;
		p->collection_id = c->collection_id;
		/* §3.2 step 6: only a collection that is partly loaded is asked per partition */
		if (!strcmp(c->load_state, "Loading")) {
			rc = load_state(cr, db, name, sp->partition_names[i], &pls);
			if (rc) {
				rc = job_fail(cr->j, rc, "cannot get the load state of '%s.%s' "
					      "partition '%s': %s", db, name,
					      sp->partition_names[i], cr->err.msg);
				goto out;
			}
			rc = -ENOMEM;
		}
		if (!(p->partition_name = strdup(nz(sp->partition_names[i]))) ||
		    !(p->load_state = strdup(pls)))
			goto out;
	}
	rc = 0;
out:
	if (d)
		protobuf_c_message_free_unpacked(&d->base, NULL);
	if (ix)
		protobuf_c_message_free_unpacked(&ix->base, NULL);
	if (sp)
		protobuf_c_message_free_unpacked(&sp->base, NULL);
	return rc;
}

/* ------------------------------------------------------------------------------------------
 * Flush one collection and wait (§3.2 step 7, serial)
 */

static int flush_collection(struct create *cr, struct meta_collection *c)
{
	struct milvus_client *mc = cr->p->milvus;
	const char *db = c->db_name, *name = c->collection_name;
	Milvus__Proto__Milvus__FlushResponse *r = NULL;
	const Milvus__Proto__Schema__LongArray *ids = NULL;
	uint64_t flush_ts = 0;
	int64_t t0;
	long delay = 1000;
	int rc, flushed = 0;

	for (int attempt = 1;; attempt++) {
		rc = milvus_flush(mc, db, name, &r, &cr->err);
		/* Milvus rate-limits Flush (retriable): back off and try again */
		if (rc != -EAGAIN || attempt == FLUSH_TRIES)
			break;
		log_info("flush of '%s.%s' rate-limited, retrying in %ld ms", db, name, delay);
		if ((rc = nap(cr->j, delay)))
			return rc;
		delay = delay * 2 > 16000 ? 16000 : delay * 2;
	}
	if (rc)
		return job_fail(cr->j, rc, "cannot flush '%s.%s': %s", db, name, cr->err.msg);

	rc = -ENOMEM;
	for (size_t i = 0; i < r->n_coll_segids; i++)
		if (!strcmp(nz(r->coll_segids[i]->key), name))
			ids = r->coll_segids[i]->value;
	for (size_t i = 0; i < r->n_coll_seal_times; i++)
		if (!strcmp(nz(r->coll_seal_times[i]->key), name) && r->coll_seal_times[i]->value > 0)
			c->backup_physical_timestamp = (uint64_t)r->coll_seal_times[i]->value;
	for (size_t i = 0; i < r->n_coll_flush_ts; i++)
		if (!strcmp(nz(r->coll_flush_ts[i]->key), name))
			flush_ts = r->coll_flush_ts[i]->value;
	/* channel_checkpoints: base64 of the packed MsgPosition; backup_timestamp = the max */
	if (r->n_channel_cps &&
	    !(c->channel_checkpoints.v = calloc(r->n_channel_cps, sizeof(struct meta_kv))))
		goto out;
	for (size_t i = 0; i < r->n_channel_cps; i++) {
		const Milvus__Proto__Msg__MsgPosition *pos = r->channel_cps[i]->value;
		struct meta_kv *kv = &c->channel_checkpoints.v[c->channel_checkpoints.n];
		unsigned char *packed;
		size_t n;

		if (!pos)
			continue;
		n = protobuf_c_message_get_packed_size(&pos->base);
		if (!(packed = malloc(n ? n : 1)))
			goto out;
		protobuf_c_message_pack(&pos->base, packed);
		kv->value = b64_encode(packed, n);
		free(packed);
		kv->key = strdup(nz(r->channel_cps[i]->key));
		c->channel_checkpoints.n++;
		if (!kv->key || !kv->value)
			goto out;
		if (pos->timestamp > c->backup_timestamp)
			c->backup_timestamp = pos->timestamp;
	}

	t0 = mono_ms();
	for (;;) {
		rc = milvus_get_flush_state(mc, db, name, ids ? ids->data : NULL,
					    ids ? ids->n_data : 0, flush_ts, &flushed, &cr->err);
		if (rc) {
			rc = job_fail(cr->j, rc, "cannot get the flush state of '%s.%s': %s", db,
				      name, cr->err.msg);
			goto out;
		}
		if (flushed)
			break;
		if (mono_ms() - t0 > FLUSH_DEADLINE_S * 1000LL) {
			rc = job_fail(cr->j, -ETIMEDOUT, "flush of '%s.%s' did not finish within "
				      "%d s", db, name, FLUSH_DEADLINE_S);
			goto out;
		}
		gc_renew(&cr->gc);
		if ((rc = nap(cr->j, FLUSH_POLL_MS)))
			goto out;
	}
	rc = 0;
out:
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return rc;
}

/* ------------------------------------------------------------------------------------------
 * Segments and binlogs of one collection (§3.2 step 8.1-8.3)
 */

static int segment_infos(struct create *cr, struct meta_collection *c,
			 Milvus__Proto__Milvus__GetPersistentSegmentInfoResponse **out)
{
	long delay = 200;
	int rc;

	for (int attempt = 1;; attempt++) {
		rc = milvus_get_persistent_segment_info(cr->p->milvus, c->db_name,
							c->collection_name, out, &cr->err);
		/* transient "segment not found" during compaction: retry (milvus-backup: 50x) */
		if (!rc || rc == -ENOENT || rc == -EACCES || attempt == SEGINFO_TRIES)
			break;
		log_info("segment list of '%s.%s' failed (%s), retrying", c->db_name,
			 c->collection_name, cr->err.msg);
		if ((rc = nap(cr->j, delay)))
			return rc;
		delay = delay * 2 > 3000 ? 3000 : delay * 2;
	}
	if (rc)
		return job_fail(cr->j, rc, "cannot list the segments of '%s.%s': %s", c->db_name,
				c->collection_name, cr->err.msg);
	return 0;
}

static int build_segments(struct create *cr, struct meta_collection *c,
			  const Milvus__Proto__Milvus__GetPersistentSegmentInfoResponse *r)
{
	size_t nl0 = 0;
	/* milvus-backup leaves v_channel empty without the REST API; with one shard it can only
	 * be the collection's single vchannel */
	const char *vch = c->nvirtual_channel_names == 1 ? c->virtual_channel_names[0] : "";

	for (size_t i = 0; i < r->n_infos; i++) {
		const Milvus__Proto__Milvus__PersistentSegmentInfo *s = r->infos[i];
		size_t k;

		if (s->partitionid == -1) {
			nl0++;
			continue;
		}
		for (k = 0; k < c->npartitions; k++)
			if (c->partitions[k].partition_id == s->partitionid)
				break;
		if (k == c->npartitions)
			return job_fail(cr->j, -EIO, "segment %" PRId64 " of '%s.%s' belongs to "
					"partition %" PRId64 ", which milvus does not list",
					s->segmentid, c->db_name, c->collection_name,
					s->partitionid);
		c->partitions[k].nsegments++;	/* counted here, filled below */
	}
	for (size_t k = 0; k < c->npartitions; k++) {
		struct meta_partition *p = &c->partitions[k];
		size_t n = p->nsegments;

		p->nsegments = 0;	/* from here on: how many are filled */
		if (n && !(p->segments = calloc(n, sizeof(*p->segments)))) {
			while (++k < c->npartitions)
				c->partitions[k].nsegments = 0;
			return -ENOMEM;
		}
	}
	if (nl0 && !(c->l0_segments = calloc(nl0, sizeof(*c->l0_segments))))
		return -ENOMEM;
	for (size_t i = 0; i < r->n_infos; i++) {
		const Milvus__Proto__Milvus__PersistentSegmentInfo *s = r->infos[i];
		struct meta_segment *seg;

		if (s->partitionid == -1) {
			seg = &c->l0_segments[c->nl0_segments++];
		} else {
			size_t k = 0;

			while (c->partitions[k].partition_id != s->partitionid)
				k++;
			seg = &c->partitions[k].segments[c->partitions[k].nsegments++];
		}
		seg->segment_id = s->segmentid;
		seg->collection_id = c->collection_id;
		seg->partition_id = s->partitionid;
		seg->num_of_rows = s->num_rows;
		seg->is_l0 = s->level == MILVUS__PROTO__COMMON__SEGMENT_LEVEL__L0;
		/* §1.3: group = segment ID, 0 for all-partition L0 segments */
		seg->group_id = s->partitionid == -1 ? 0 : s->segmentid;
		seg->storage_version = s->storage_version;
		if (!(seg->v_channel = strdup(vch)))
			return -ENOMEM;
	}
	return 0;
}

static int add_item(struct create *cr, const char *src, struct buf *dst, uint64_t size)
{
	struct copy_item *it;

	if (ARRAY_GROW(cr->items, cr->nitems, cr->cap_items, 256))
		return -ENOMEM;
	it = &cr->items[cr->nitems];
	it->size = size;
	it->src = strdup(src);
	it->dst = buf_detach(dst, NULL);
	if (!it->src || !it->dst) {
		free(it->src);
		free(it->dst);
		return -ENOMEM;
	}
	cr->nitems++;
	return 0;
}

/* One copy item per binlog of `seg`. */
static int segment_items(struct create *cr, const struct meta_segment *seg)
{
	for (int kind = 0; kind < 2; kind++) {
		const struct meta_field_binlog *fbs = kind ? seg->deltalogs : seg->binlogs;
		size_t nfb = kind ? seg->ndeltalogs : seg->nbinlogs;

		for (size_t i = 0; i < nfb; i++) {
			for (size_t k = 0; k < fbs[i].nbinlogs; k++) {
				const struct meta_binlog *b = &fbs[i].binlogs[k];
				struct buf dst = BUF_INIT(OBJSTORE_KEY_MAX);
				int rc;

				rc = backup_dest_key(&dst, cr->p->backup_prefix,
						     kind ? BACKUP_LOG_DELTA : BACKUP_LOG_INSERT,
						     seg->collection_id, seg->partition_id,
						     seg->group_id, seg->segment_id, fbs[i].field_id,
						     b->log_id);
				if (!rc)
					rc = add_item(cr, b->log_path, &dst, (uint64_t)b->log_size);
				buf_release(&dst);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

static int list_prefix(struct create *cr, const char *what, int64_t coll_id,
		       struct obj_listing *out, char *prefix, size_t prefix_size)
{
	const char *root = cr->p->milvus_root ? cr->p->milvus_root : "";

	snprintf(prefix, prefix_size, "%s%s%s/%" PRId64 "/", root, root[0] ? "/" : "", what,
		 coll_id);
	return objstore_list(cr->p->milvus_store, prefix, NULL, out, &cr->err);
}

/* Undo backup_attach_binlogs: free every segment's binlogs and delta logs, sizes back to 0. */
static void detach_one(struct meta_field_binlog **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		for (size_t j = 0; j < (*v)[i].nbinlogs; j++)
			free((*v)[i].binlogs[j].log_path);
		free((*v)[i].binlogs);
	}
	free(*v);
	*v = NULL;
	*n = 0;
}

static void detach_binlogs(struct meta_collection *c)
{
	for (size_t k = 0; k <= c->npartitions; k++) {
		struct meta_segment *segs = k < c->npartitions ? c->partitions[k].segments
							       : c->l0_segments;
		size_t n = k < c->npartitions ? c->partitions[k].nsegments : c->nl0_segments;

		for (size_t i = 0; i < n; i++) {
			detach_one(&segs[i].binlogs, &segs[i].nbinlogs);
			detach_one(&segs[i].deltalogs, &segs[i].ndeltalogs);
			segs[i].size = 0;
		}
	}
}

/*
 * Bug 5 of issue 6: never commit a segment whose fields do not line up.  milvus-backup refuses
 * such a segment too (milvus-backup-format.md §3.2 step 8.2 (b): "field X has different file
 * num to other fields"), and a restore of it would import columns of different lengths.  A
 * flush that is still writing its objects looks the same for a moment, so the first
 * SEGCHECK_TRIES - 1 findings ask for a re-list (-EAGAIN, logged); the last one fails the job
 * naming the collection and the segment.  0 when every segment is consistent.
 */
static int segments_consistent(struct create *cr, struct meta_collection *c, int attempt)
{
	for (size_t k = 0; k <= c->npartitions; k++) {
		const struct meta_segment *segs = k < c->npartitions ? c->partitions[k].segments
								     : c->l0_segments;
		size_t n = k < c->npartitions ? c->partitions[k].nsegments : c->nl0_segments;

		for (size_t i = 0; i < n; i++) {
			struct errmsg why = { 0 };

			if (!backup_segment_check(c, &segs[i], &why))
				continue;
			if (attempt < SEGCHECK_TRIES) {
				log_info("segment %" PRId64 " of '%s.%s' is inconsistent (%s): a "
					 "flush may still be settling, re-listing in %ld ms",
					 segs[i].segment_id, c->db_name, c->collection_name,
					 why.msg, (long)SEGCHECK_DELAY_MS << (attempt - 1));
				return -EAGAIN;
			}
			return job_fail(cr->j, -EIO, "segment %" PRId64 " of '%s.%s' is "
					"inconsistent in the milvus bucket: %s (milvus-backup "
					"refuses it too)", segs[i].segment_id, c->db_name,
					c->collection_name, why.msg);
		}
	}
	return 0;
}

static int collection_segments(struct create *cr, struct meta_collection *c)
{
	Milvus__Proto__Milvus__GetPersistentSegmentInfoResponse *r = NULL;
	struct obj_listing ins = { 0 }, del = { 0 };
	struct obj_entry *all = NULL;
	char iprefix[512], dprefix[512];
	size_t nfound = 0;
	int64_t rows = 0;
	int rc;

	if ((rc = segment_infos(cr, c, &r)))
		return rc;
	rc = build_segments(cr, c, r);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	if (rc)
		return rc;
	if (!c->npartitions && !c->nl0_segments)
		return 0;
	for (size_t k = 0; k < c->npartitions; k++)
		for (size_t i = 0; i < c->partitions[k].nsegments; i++)
			rows += c->partitions[k].segments[i].num_of_rows;
	for (size_t i = 0; i < c->nl0_segments; i++)
		rows += c->l0_segments[i].num_of_rows;
	if (!rows)
		return 0;	/* nothing persisted yet: an empty collection */

	for (int attempt = 1;; attempt++) {
		CHECK_CANCEL(cr);
		/* one recursive listing per kind and collection (§3.2 8.2 b) */
		rc = list_prefix(cr, "insert_log", c->collection_id, &ins, iprefix,
				 sizeof(iprefix));
		if (!rc)
			rc = list_prefix(cr, "delta_log", c->collection_id, &del, dprefix,
					 sizeof(dprefix));
		if (rc) {
			rc = job_fail(cr->j, rc, "cannot list the binlogs of '%s.%s' in s3://%s: %s",
				      c->db_name, c->collection_name, nz(cr->p->milvus_bucket),
				      cr->err.msg);
			goto out;
		}
		if (ins.nobjs + del.nobjs) {
			if (!(all = malloc((ins.nobjs + del.nobjs) * sizeof(*all)))) {
				rc = -ENOMEM;
				goto out;
			}
			/* shallow copies: the listings keep owning the keys */
			if (ins.nobjs)
				memcpy(all, ins.objs, ins.nobjs * sizeof(*all));
			if (del.nobjs)
				memcpy(all + ins.nobjs, del.objs, del.nobjs * sizeof(*all));
		}
		rc = backup_attach_binlogs(c, nz(cr->p->milvus_root), all,
					   ins.nobjs + del.nobjs, &nfound);
		if (rc)
			goto out;
		rc = segments_consistent(cr, c, attempt);
		if (rc != -EAGAIN)
			break;
		/* settling: drop this listing and look again */
		detach_binlogs(c);
		free(all);
		all = NULL;
		obj_listing_release(&ins);
		obj_listing_release(&del);
		if ((rc = nap(cr->j, SEGCHECK_DELAY_MS << (attempt - 1))))
			goto out;
	}
	if (rc)
		goto out;
	/* mvbackupfs.md §5.2 guard rail: rows but no binlogs means a wrong bucket or rootPath */
	if (!nfound) {
		rc = job_fail(cr->j, -ENOENT, "no binlogs for '%s.%s' under s3://%s/%s: check "
			      "minio.bucketName and minio.rootPath", c->db_name,
			      c->collection_name, nz(cr->p->milvus_bucket), iprefix);
		goto out;
	}
	for (size_t k = 0; k <= c->npartitions; k++) {
		struct meta_segment *segs = k < c->npartitions ? c->partitions[k].segments
							       : c->l0_segments;
		size_t n = k < c->npartitions ? c->partitions[k].nsegments : c->nl0_segments;

		for (size_t i = 0; i < n; i++) {
			struct meta_segment *s = &segs[i];

			/* a segment with rows must have logs: never commit it silently empty */
			if (s->num_of_rows > 0 && !(s->is_l0 ? s->ndeltalogs : s->nbinlogs)) {
				rc = job_fail(cr->j, -ENOENT, "no binlogs for segment %" PRId64
					      " of '%s.%s' under s3://%s/%s", s->segment_id,
					      c->db_name, c->collection_name,
					      nz(cr->p->milvus_bucket),
					      s->is_l0 ? dprefix : iprefix);
				goto out;
			}
			if ((rc = segment_items(cr, s)))
				goto out;
		}
	}
out:
	free(all);
	obj_listing_release(&ins);
	obj_listing_release(&del);
	return rc;
}

/* ------------------------------------------------------------------------------------------
 * Copy (§3.2 step 8.4): a bounded pool of threads over a shuffled list
 */

struct pool {
	struct create *cr;
	int server_side;		/* try objstore_copy first */
	pthread_mutex_t lock;		/* guards next, rc, err, streams */
	pthread_cond_t cond;		/* signalled when a stream slot frees */
	size_t next;			/* next item to take */
	int rc;				/* first failure (0 = none) */
	struct errmsg err;		/* its sentence */
	int streams;			/* streaming copies in progress (<= BACKUP_STREAM_PARALLEL) */
};

static int stream_copy(struct pool *pl, const struct copy_item *it, unsigned char **bufp,
		       struct errmsg *err)
{
	struct backup_create_params *p = pl->cr->p;
	uint64_t part = BACKUP_STREAM_PART, single = part;
	struct mpu_part *parts = NULL;
	char *upload = NULL;
	size_t got, nparts;
	int rc;

	if (p->multipart_threshold && p->multipart_threshold < single)
		single = p->multipart_threshold;
	if (!it->size)
		return objstore_put(p->backup_store, it->dst, "", 0, 0, err);
	if (!*bufp && !(*bufp = malloc(part)))
		return -ENOMEM;
	if (it->size <= single) {
		rc = objstore_get(p->milvus_store, it->src, 0, (size_t)it->size, *bufp, &got, err);
		if (!rc && got != it->size)
			rc = errmsg_set(err, -EIO, "'%s' changed size while being copied", it->src);
		if (!rc)
			rc = objstore_put(p->backup_store, it->dst, *bufp, got, 0, err);
		return rc;
	}
	nparts = (size_t)((it->size + part - 1) / part);
	if (nparts > 10000)
		return errmsg_set(err, -EFBIG, "'%s' is too big to stream (%" PRIu64 " bytes)",
				  it->src, it->size);
	if (!(parts = calloc(nparts, sizeof(*parts))))
		return -ENOMEM;
	if ((rc = objstore_mpu_begin(p->backup_store, it->dst, &upload, err)))
		goto out;
	for (size_t i = 0; i < nparts; i++) {
		uint64_t off = (uint64_t)i * part;
		size_t len = (size_t)(it->size - off < part ? it->size - off : part);

		if (job_cancelled(pl->cr->j)) {
			rc = -ECANCELED;
			break;
		}
		rc = objstore_get(p->milvus_store, it->src, off, len, *bufp, &got, err);
		if (!rc && got != len)
			rc = errmsg_set(err, -EIO, "'%s' changed size while being copied", it->src);
		if (!rc)
			rc = objstore_mpu_part(p->backup_store, it->dst, upload, (int)i + 1, *bufp,
					       len, &parts[i], err);
		if (rc)
			break;
	}
	if (!rc)
		rc = objstore_mpu_complete(p->backup_store, it->dst, upload, parts, nparts, err);
	if (rc)
		objstore_mpu_abort(p->backup_store, it->dst, upload, NULL);
out:
	free(upload);
	free(parts);
	return rc;
}

#define COPY_PART_MIN	(5ULL << 20)	/* S3: the smallest part but the last */
#define COPY_PART_MAX	(5ULL << 30)	/* S3: the largest part */

/*
 * Server-side copy of an object above the multipart threshold, one UploadPartCopy at a time,
 * with cancellation checked between parts: a single objstore_copy of a multi-GiB binlog
 * would hold an rmdir (which cancels and waits) for as long as the whole copy takes.  Parts
 * are the threshold's size (within S3's 5 MiB..5 GiB, grown to stay within 10000 parts).
 * On any failure or cancel the upload is aborted.  -EXDEV when the stores cannot copy
 * server-side (the caller streams instead).
 */
static int part_copy(struct pool *pl, const struct copy_item *it, struct errmsg *err)
{
	struct backup_create_params *p = pl->cr->p;
	uint64_t part = p->multipart_threshold, off;
	struct mpu_part *parts = NULL;
	char *upload = NULL;
	size_t nparts, i;
	int rc;

	if (part < COPY_PART_MIN)
		part = COPY_PART_MIN;
	if (part > COPY_PART_MAX)
		part = COPY_PART_MAX;
	if ((it->size + part - 1) / part > 10000)
		part = (it->size + 9999) / 10000;
	nparts = (size_t)((it->size + part - 1) / part);
	if (!(parts = calloc(nparts, sizeof(*parts))))
		return errmsg_set(err, -ENOMEM, "cannot copy '%s': out of memory", it->src);
	if ((rc = objstore_mpu_begin(p->backup_store, it->dst, &upload, err)))
		goto out;
	for (i = 0, off = 0; i < nparts; i++, off += part) {
		uint64_t len = it->size - off < part ? it->size - off : part;

		if (job_cancelled(pl->cr->j)) {
			rc = -ECANCELED;
			break;
		}
		rc = objstore_mpu_part_copy(p->backup_store, it->dst, upload, (int)i + 1,
					    p->milvus_store, it->src, off, len, &parts[i], err);
		if (rc)
			break;
	}
	if (!rc && job_cancelled(pl->cr->j))
		rc = -ECANCELED;
	if (!rc)
		rc = objstore_mpu_complete(p->backup_store, it->dst, upload, parts, nparts, err);
	if (rc)
		objstore_mpu_abort(p->backup_store, it->dst, upload, NULL);
	if (rc == -ECANCELED)
		errmsg_set(err, rc, "copying '%s' was cancelled", it->src);
out:
	free(upload);
	free(parts);
	return rc;
}

static int copy_one(struct pool *pl, const struct copy_item *it, unsigned char **bufp,
		    struct errmsg *err)
{
	struct backup_create_params *p = pl->cr->p;
	int rc;

	if (pl->server_side && p->multipart_threshold && it->size > p->multipart_threshold &&
	    objstore_same_backend(p->backup_store, p->milvus_store)) {
		rc = part_copy(pl, it, err);
		if (rc != -EXDEV)
			return rc;
	} else if (pl->server_side) {
		rc = objstore_copy(p->backup_store, it->dst, p->milvus_store, it->src, it->size,
				   err);
		if (rc != -EXDEV)
			return rc;
	}
	/* streaming: bound how many buffers are in use at once */
	pthread_mutex_lock(&pl->lock);
	while (pl->streams >= BACKUP_STREAM_PARALLEL)
		pthread_cond_wait(&pl->cond, &pl->lock);
	pl->streams++;
	pthread_mutex_unlock(&pl->lock);
	rc = stream_copy(pl, it, bufp, err);
	pthread_mutex_lock(&pl->lock);
	pl->streams--;
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
	return rc;
}

/* One worker's loop (a task on the work queue): take items until none is left or one failed. */
static void copy_worker(void *arg)
{
	struct pool *pl = arg;
	struct create *cr = pl->cr;
	unsigned char *buf = NULL;
	struct errmsg err = { "" };

	for (;;) {
		const struct copy_item *it;
		int rc;

		pthread_mutex_lock(&pl->lock);
		if (pl->rc || pl->next == cr->nitems) {
			pthread_mutex_unlock(&pl->lock);
			break;
		}
		it = &cr->items[pl->next++];
		pthread_mutex_unlock(&pl->lock);
		if (job_cancelled(cr->j))
			rc = -ECANCELED;
		else
			rc = copy_one(pl, it, &buf, &err);
		if (!rc) {
			job_add_done(cr->j, it->size, 1);
			continue;
		}
		pthread_mutex_lock(&pl->lock);
		if (!pl->rc) {
			pl->rc = rc;
			if (rc != -ECANCELED)
				errmsg_set(&pl->err, rc, "cannot copy 's3://%s/%s' to '%s': %s",
					   nz(cr->p->milvus_bucket), it->src, it->dst,
					   errmsg_str(&err, rc));
		}
		pthread_mutex_unlock(&pl->lock);
		break;
	}
	free(buf);
}

static void shuffle(struct copy_item *v, size_t n)
{
	uint64_t x;

	/* spread copies over prefixes (milvus-backup shuffles to avoid hot spots) */
	if (rand_bytes(&x, sizeof(x)) || !x)
		x = (uint64_t)time(NULL) | 1;
	for (size_t i = n; i > 1; i--) {
		struct copy_item t;
		size_t k;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = (size_t)(x % i);
		t = v[i - 1];
		v[i - 1] = v[k];
		v[k] = t;
	}
}

static int copy_all(struct create *cr)
{
	struct backup_create_params *p = cr->p;
	struct workq *wq = p->wq, *own = NULL;
	struct workq_batch batch;
	struct pool pl;
	int nworkers = p->copy_parallel > 0 ? p->copy_parallel : BACKUP_COPY_PARALLEL;
	int started = 0, rc = 0;

	if (!cr->nitems)
		return 0;
	memset(&pl, 0, sizeof(pl));
	pl.cr = cr;
	pl.server_side = !p->force_streaming && objstore_same_backend(p->milvus_store,
								      p->backup_store);
	if (!pl.server_side && nworkers > BACKUP_STREAM_PARALLEL)
		nworkers = BACKUP_STREAM_PARALLEL;
	if ((size_t)nworkers > cr->nitems)
		nworkers = (int)cr->nitems;
	shuffle(cr->items, cr->nitems);
	if (!wq) {
		if (workq_new((unsigned)nworkers, (unsigned)nworkers, &own))
			return job_fail(cr->j, -ENOMEM, "cannot start copy threads");
		wq = own;
	}
	pthread_mutex_init(&pl.lock, NULL);
	pthread_cond_init(&pl.cond, NULL);
	workq_batch_init(&batch);
	for (; started < nworkers; started++)
		if (workq_submit(wq, &batch, copy_worker, &pl))
			break;
	if (!started) {
		rc = job_fail(cr->j, -EAGAIN, "cannot start copy threads");
		goto out;
	}
	/* wait, renewing the GC pause now and then */
	while (workq_batch_wait_ms(&batch, 1000))
		gc_renew(&cr->gc);
	if (job_cancelled(cr->j))
		rc = -ECANCELED;
	else if (pl.rc)
		rc = job_fail(cr->j, pl.rc, "%s", pl.err.msg);
out:
	workq_batch_destroy(&batch);
	pthread_cond_destroy(&pl.cond);
	pthread_mutex_destroy(&pl.lock);
	workq_free(own);
	return rc;
}

/* ------------------------------------------------------------------------------------------
 * Verify (§1.7, §3.2 8.5) and meta (§1.7, §3.2 step 12)
 */

static int cmp_entry_key(const void *key, const void *e)
{
	return strcmp(key, ((const struct obj_entry *)e)->key);
}

static int verify(struct create *cr)
{
	struct obj_listing l = { 0 };
	char prefix[OBJSTORE_KEY_MAX];
	int rc;

	if (!cr->nitems)
		return 0;
	snprintf(prefix, sizeof(prefix), "%sbinlogs/", cr->p->backup_prefix);
	rc = objstore_list(cr->p->backup_store, prefix, NULL, &l, &cr->err);
	if (rc)
		return job_fail(cr->j, rc, "cannot list '%s' to verify the copies: %s", prefix,
				cr->err.msg);
	for (size_t i = 0; i < cr->nitems; i++) {
		const struct copy_item *it = &cr->items[i];
		const struct obj_entry *e = bsearch(it->dst, l.objs, l.nobjs, sizeof(*l.objs),
						    cmp_entry_key);

		if (!e) {
			rc = job_fail(cr->j, -EIO, "copy of '%s' is missing after the copy", it->dst);
			break;
		}
		if (e->size != it->size) {
			rc = job_fail(cr->j, -EIO, "copy of '%s' has %" PRIu64 " bytes, expected %"
				      PRIu64, it->dst, e->size, it->size);
			break;
		}
	}
	obj_listing_release(&l);
	return rc;
}

/* Is the reservation still ours (see backup_create_params.sidecar_job)? */
static int still_ours(struct create *cr, const char *when)
{
	char job[64];
	int rc;

	if (!cr->p->sidecar_job || !*cr->p->sidecar_job)
		return 0;
	rc = backup_sidecar_job(cr->p->backup_store, cr->p->backup_prefix, job, &cr->err);
	if (rc)
		return job_fail(cr->j, rc, "cannot check the reservation of '%s' %s: %s",
				nz(cr->p->name), when, cr->err.msg);
	if (strcmp(job, cr->p->sidecar_job))
		return job_fail(cr->j, -EBUSY, "not committed: '%s' is being deleted (its "
				"mvbackupfs.json now says job '%s', not '%s')", nz(cr->p->name),
				job, cr->p->sidecar_job);
	return 0;
}

/*
 * Take back our own commit `key` (meta/full_meta.json) after a delete began while we
 * committed: the delete may already be removing binlogs it names, so it must not stay.
 * Delete and check with a HEAD, a few times (the delete removes it again too: see
 * backup_delete_meta).  0 once it is gone, else the last error (logged: the backup may read
 * complete until an rmdir).
 */
#define UNDO_TRIES 5

static int take_back(struct create *cr, const char *key)
{
	struct errmsg e = { { 0 } };
	int rc = 0;

	for (int t = 0; t < UNDO_TRIES; t++) {
		struct obj_entry ent = { 0 };
		const char *k = key;

		if (t)
			sleep_ms(100LL << (t - 1));	/* 0.1 s, 0.2 s, ... */
		rc = backup_delete_keys(cr->p->backup_store, cr->p->backup_prefix, &k, 1, &e);
		if (rc)
			continue;
		rc = objstore_head(cr->p->backup_store, key, &ent, &e);
		obj_entry_release(&ent);
		if (rc == -ENOENT)
			return 0;
		if (rc == 0)
			rc = errmsg_set(&e, -EIO, "it is still there after the delete");
	}
	log_err("snapshot '%s': cannot take back '%s' after a delete began: %s; rmdir '%s' "
		"again removes it", nz(cr->p->name), key, e.msg, nz(cr->p->name));
	return rc;
}

static int write_meta(struct create *cr)
{
	struct meta_backup *m = &cr->meta;
	struct meta_files f = { 0 };
	struct {
		const char *name;
		const char *data;
		size_t len;
	} files[5];
	int rc;

	if (!(m->id = strdup(cr->uuid)) || !(m->name = strdup(nz(cr->p->name))) ||
	    !(m->milvus_version = strdup(milvus_client_version(cr->p->milvus))))
		return -ENOMEM;
	m->state_code = META_BACKUP_INITIAL;	/* main never sets it (§1.7) */
	backup_sum_sizes(m);
	rc = meta_write_files(m, &f, &cr->err);
	if (rc)
		return job_fail(cr->j, rc, "cannot build the meta of '%s': %s", nz(cr->p->name),
				cr->err.msg);
	/* milvus-backup-format.md §1.7: main's order, full_meta.json last = the commit point */
	files[0].name = "backup_meta.json";
	files[0].data = f.backup_meta;
	files[0].len = f.backup_meta_len;
	files[1].name = "collection_meta.json";
	files[1].data = f.collection_meta;
	files[1].len = f.collection_meta_len;
	files[2].name = "partition_meta.json";
	files[2].data = f.partition_meta;
	files[2].len = f.partition_meta_len;
	files[3].name = "segment_meta.json";
	files[3].data = f.segment_meta;
	files[3].len = f.segment_meta_len;
	files[4].name = "full_meta.json";
	files[4].data = f.full_meta;
	files[4].len = f.full_meta_len;
	for (int i = 0; i < 5; i++) {
		char key[OBJSTORE_KEY_MAX];

		if (job_cancelled(cr->j)) {
			rc = -ECANCELED;
			break;
		}
		if (i == 4) {
			rc = still_ours(cr, "before the commit");
			if (rc)
				break;
			(void)MVB_CRASH_POINT("snapshot_meta_levels");
		}
		snprintf(key, sizeof(key), "%smeta/%s", cr->p->backup_prefix, files[i].name);
		rc = objstore_put(cr->p->backup_store, key, files[i].data, files[i].len, 0,
				  &cr->err);
		if (rc) {
			rc = job_fail(cr->j, rc, "cannot write '%s': %s", key, cr->err.msg);
			break;
		}
		if (i == 4)
			(void)MVB_CRASH_POINT("snapshot_commit_put");
		if (i == 4 && (rc = still_ours(cr, "after the commit")) != 0) {
			/* a delete began while we committed: take the commit back */
			take_back(cr, key);
			break;
		}
	}
	meta_files_release(&f);
	return rc;
}

/* ------------------------------------------------------------------------------------------
 * The job
 */

static void totals(struct create *cr)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < cr->nitems; i++)
		bytes += cr->items[i].size;
	job_set_totals(cr->j, bytes, cr->nitems);
}

static int run(struct create *cr)
{
	struct backup_create_params *p = cr->p;
	int rc;

	job_set_phase(cr->j, "connect");
	if (!milvus_client_version(p->milvus)[0] &&
	    (rc = milvus_connect(p->milvus, &cr->err)))
		return job_fail(cr->j, rc, "cannot connect to milvus: %s", cr->err.msg);
	CHECK_CANCEL(cr);
	if (p->gc_pause_enable && cr->gc.addr[0]) {
		job_set_phase(cr->j, "gcpause");
		gc_pause(&cr->gc);
		CHECK_CANCEL(cr);
	}

	job_set_phase(cr->j, "enumerate");
	if ((rc = enumerate(cr)) || (rc = describe_databases(cr)))
		return rc;
	log_info("snapshot '%s': %zu collection(s) in %zu database(s)", nz(p->name),
		 cr->meta.ncollections, cr->meta.ndatabases);

	job_set_phase(cr->j, "describe");
	for (size_t i = 0; i < cr->meta.ncollections; i++) {
		CHECK_CANCEL(cr);
		if ((rc = describe_collection(cr, &cr->meta.collections[i])))
			return rc;
	}

	job_set_phase(cr->j, "flush");
	for (size_t i = 0; i < cr->meta.ncollections; i++) {
		CHECK_CANCEL(cr);
		gc_renew(&cr->gc);
		if ((rc = flush_collection(cr, &cr->meta.collections[i])))
			return rc;
	}

	job_set_phase(cr->j, "segments");
	for (size_t i = 0; i < cr->meta.ncollections; i++) {
		CHECK_CANCEL(cr);
		if ((rc = collection_segments(cr, &cr->meta.collections[i])))
			return rc;
	}

	CHECK_CANCEL(cr);
	totals(cr);
	job_set_phase(cr->j, "copy");
	if ((rc = copy_all(cr)))
		return rc;

	CHECK_CANCEL(cr);
	job_set_phase(cr->j, "verify");
	if ((rc = verify(cr)))
		return rc;

	CHECK_CANCEL(cr);
	job_set_phase(cr->j, "meta");
	return write_meta(cr);
}

int backup_create_job(struct job *j, void *params)
{
	struct create cr;
	int rc;

	memset(&cr, 0, sizeof(cr));
	cr.j = j;
	cr.p = params;
	cr.gc.addr = cr.p->gc_pause_enable ? nz(cr.p->gc_pause_address) : "";
	if (backup_uuid4(cr.uuid))
		return job_fail(j, -EIO, "cannot generate a backup id: no randomness");
	rc = run(&cr);
	gc_resume(&cr.gc);
	if (rc == -ENOMEM)
		job_fail(j, rc, "out of memory while creating '%s'", nz(cr.p->name));
	if (rc && rc != -ECANCELED) {
		struct job_progress pr;

		job_progress(j, &pr);
		log_err("snapshot '%s' failed: %s", nz(cr.p->name), pr.error);
	} else if (!rc) {
		log_info("snapshot '%s' complete: %zu object(s), %" PRId64 " bytes", nz(cr.p->name),
			 cr.nitems, cr.meta.size);
	}
	for (size_t i = 0; i < cr.nitems; i++) {
		free(cr.items[i].src);
		free(cr.items[i].dst);
	}
	free(cr.items);
	meta_backup_release(&cr.meta);
	return rc;
}

void backup_create_params_free(void *params)
{
	struct backup_create_params *p = params;

	if (!p)
		return;
	free(p->backup_prefix);
	free(p->name);
	free(p->milvus_bucket);
	free(p->milvus_root);
	free(p->filter);
	free(p->gc_pause_address);
	free(p->sidecar_job);
	free(p);
}
