/*
 * create_util.c - the snapshot job's pure helpers (backup_create.h): backup names, the
 * collection filter, channel checkpoints, the backup id - no I/O, unit-tested on their own.
 */
#include "create_internal.h"
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
