/*
 * create_live_test.c - the snapshot job (milvus/jobs/backup_create.c) against a live Milvus stand-in
 * and an S3 server; run by tests/snapshot/create_live.sh, not by ctest.
 *
 *   create_live_test CASE
 *
 * Cases: ok (everything, server-side copies), streaming (GET+PUT with multipart), badroot (a
 * wrong minio.rootPath), flushfail (the stand-in fails Flush), cancel (cancelled mid-copy),
 * nocoll (a filter naming a missing collection), dbonly (filter "db1.").
 * Environment: S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; MILVUS_ADDRESS,
 * MILVUS_PORT; MILVUS_BUCKET, MILVUS_ROOT (default "files"); BACKUP_BUCKET; BACKUP_NAME;
 * EXPECT: populate.js's "db<TAB>collection<TAB>rows" file (case ok/streaming); FILTER.
 * Prints one line per failed check and a summary; exits 0 when every check passed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mvbackupfs/jobs/backup_create.h"
#include "mvbackupfs/format/backup_read.h"
#include "mvbackupfs/base/job.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/rpc/milvus_client.h"
#include "mvbackupfs/storage/s3.h"

#define TWO53 (INT64_C(1) << 53)

static int nfail, nok;

static void check(int cond, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		nok++;
		return;
	}
	nfail++;
	printf("not ok: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static const char *env(const char *k, const char *def)
{
	const char *v = getenv(k);

	return v && v[0] ? v : def;
}

static struct objstore *store(const char *bucket)
{
	const char *ep = env("S3_ENDPOINT", "http://127.0.0.1:7480");
	char host[256];
	int port = 80;
	struct s3_config c;
	struct objstore *s = NULL;
	struct errmsg err = { "" };

	if (sscanf(ep, "http://%255[^:/]:%d", host, &port) < 1) {
		fprintf(stderr, "cannot parse S3_ENDPOINT '%s'\n", ep);
		exit(2);
	}
	memset(&c, 0, sizeof(c));
	c.host = host;
	c.port = port;
	c.access_key = getenv("AWS_ACCESS_KEY_ID");
	c.secret_key = getenv("AWS_SECRET_ACCESS_KEY");
	c.region = env("S3_REGION", "us-east-1");
	c.bucket = bucket;
	if (s3_store_new(&c, &s, &err)) {
		fprintf(stderr, "s3_store_new: %s\n", err.msg);
		exit(2);
	}
	return s;
}

static struct milvus_client *client(void)
{
	struct milvus_client_opts o;
	struct milvus_client *mc = NULL;
	struct errmsg err = { "" };

	memset(&o, 0, sizeof(o));
	o.host = env("MILVUS_ADDRESS", "127.0.0.1");
	o.port = atoi(env("MILVUS_PORT", "19530"));
	if (milvus_client_new(&o, &mc, &err) || milvus_connect(mc, &err)) {
		fprintf(stderr, "milvus: %s\n", err.msg);
		exit(2);
	}
	return mc;
}

struct ctx {
	struct objstore *milvus_store, *backup_store;
	struct milvus_client *mc;
	char prefix[512];
};

/* Run the job to its end; with cancel_at_item > 0, cancel it once that many objects are
 * copied (polled with a deadline). */
static void run_job(struct ctx *x, struct backup_create_params *p, long cancel_at_item,
		    struct job_progress *out)
{
	struct job *j = NULL;
	struct timespec t0, now, nap = { 0, 2000000 };

	if (job_start("snapshot", backup_create_job, p, backup_create_params_free, &j)) {
		fprintf(stderr, "job_start failed\n");
		exit(2);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cancel_at_item > 0) {
		for (;;) {
			job_progress(j, out);
			if (out->state != JOB_RUNNING || out->items_done >= (uint64_t)cancel_at_item)
				break;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - t0.tv_sec > 120)
				break;
			nanosleep(&nap, NULL);
		}
		job_cancel(j);
	}
	job_wait(j);
	job_progress(j, out);
	job_free(j);
	(void)x;
}

static struct backup_create_params *params(struct ctx *x, const char *name, const char *root,
					   const char *filter)
{
	struct backup_create_params *p = calloc(1, sizeof(*p));

	snprintf(x->prefix, sizeof(x->prefix), "backup/%s/", name);
	p->backup_store = x->backup_store;
	p->backup_prefix = strdup(x->prefix);
	p->name = strdup(name);
	p->milvus_store = x->milvus_store;
	p->milvus_bucket = strdup(env("MILVUS_BUCKET", "milvus-bucket"));
	p->milvus_root = strdup(root);
	p->milvus = x->mc;
	p->filter = strdup(filter);
	p->gc_pause_address = strdup("");
	return p;
}

static int exists(struct ctx *x, const char *file)
{
	char key[600];
	struct obj_entry e = { 0 };
	int rc;

	snprintf(key, sizeof(key), "%smeta/%s", x->prefix, file);
	rc = objstore_head(x->backup_store, key, &e, NULL);
	obj_entry_release(&e);
	return rc == 0;
}

static int cmp_entry(const void *k, const void *e)
{
	return strcmp(k, ((const struct obj_entry *)e)->key);
}

/* Every binlog of the meta exists in the backup with its size, and nothing else is there;
 * returns the number of logs. */
static size_t check_binlogs(struct ctx *x, const struct meta_backup *m, int compare_bytes)
{
	struct obj_listing l = { 0 };
	char lp[600];
	size_t nlogs = 0, compared = 0;

	snprintf(lp, sizeof(lp), "%sbinlogs/", x->prefix);
	check(objstore_list(x->backup_store, lp, NULL, &l, NULL) == 0, "list %s", lp);
	for (size_t ci = 0; ci < m->ncollections; ci++) {
		const struct meta_collection *c = &m->collections[ci];

		for (size_t k = 0; k <= c->npartitions; k++) {
			const struct meta_segment *segs = k < c->npartitions ?
				c->partitions[k].segments : c->l0_segments;
			size_t n = k < c->npartitions ? c->partitions[k].nsegments : c->nl0_segments;

			for (size_t i = 0; i < n; i++) {
				const struct meta_segment *s = &segs[i];

				check(s->segment_id > TWO53, "segment id %" PRId64 " above 2^53",
				      s->segment_id);
				check(s->group_id == (s->partition_id == -1 ? 0 : s->segment_id),
				      "segment %" PRId64 " group_id %" PRId64, s->segment_id,
				      s->group_id);
				for (int kind = 0; kind < 2; kind++) {
					const struct meta_field_binlog *fb = kind ? s->deltalogs : s->binlogs;
					size_t nfb = kind ? s->ndeltalogs : s->nbinlogs;

					for (size_t f = 0; f < nfb; f++) {
						for (size_t b = 0; b < fb[f].nbinlogs; b++) {
							const struct meta_binlog *lg = &fb[f].binlogs[b];
							struct buf key = BUF_INIT(4096);
							const struct obj_entry *e;

							backup_dest_key(&key, x->prefix, kind, s->collection_id,
									s->partition_id, s->group_id,
									s->segment_id, fb[f].field_id,
									lg->log_id);
							e = bsearch(key.p, l.objs, l.nobjs, sizeof(*l.objs),
								    cmp_entry);
							check(e != NULL, "binlog '%s' exists", key.p);
							if (e)
								check(e->size == (uint64_t)lg->log_size,
								      "binlog '%s' has %" PRIu64 " bytes, meta "
								      "says %" PRId64, key.p, e->size,
								      lg->log_size);
							if (e && compare_bytes && compared < 5 && e->size < 1 << 20) {
								struct buf a = BUF_INIT(1 << 20), bb = BUF_INIT(1 << 20);

								objstore_get_all(x->milvus_store, lg->log_path, &a, NULL);
								objstore_get_all(x->backup_store, key.p, &bb, NULL);
								check(a.len == bb.len && a.len == e->size &&
								      !memcmp(a.p, bb.p, a.len),
								      "'%s' is a byte copy of '%s'", key.p,
								      lg->log_path);
								buf_release(&a);
								buf_release(&bb);
								compared++;
							}
							check(lg->log_id > TWO53, "log id above 2^53");
							buf_release(&key);
							nlogs++;
						}
					}
				}
			}
		}
	}
	check(l.nobjs == nlogs, "%zu objects under binlogs/, %zu logs in the meta", l.nobjs, nlogs);
	obj_listing_release(&l);
	return nlogs;
}

static void check_expect(const struct meta_backup *m, const char *file)
{
	FILE *f = fopen(file, "r");
	char db[256], coll[256];
	long long rows;
	size_t lines = 0;

	check(f != NULL, "open %s", file);
	if (!f)
		return;
	while (fscanf(f, "%255s %255s %lld", db, coll, &rows) == 3) {
		const struct meta_collection *c = NULL;

		lines++;
		for (size_t i = 0; i < m->ncollections; i++)
			if (!strcmp(m->collections[i].db_name, db) &&
			    !strcmp(m->collections[i].collection_name, coll))
				c = &m->collections[i];
		check(c != NULL, "collection '%s.%s' in the backup", db, coll);
		if (c)
			check(meta_collection_entities(c) == rows, "'%s.%s' has %" PRId64
			      " entities, inserted %lld", db, coll, meta_collection_entities(c), rows);
	}
	fclose(f);
	check(lines == m->ncollections, "%zu collections expected, %zu in the backup", lines,
	      m->ncollections);
}

static void check_complete(struct ctx *x, const struct job_progress *pr, int streaming)
{
	static const char *files[] = { "backup_meta.json", "collection_meta.json",
				       "partition_meta.json", "segment_meta.json",
				       "full_meta.json" };
	struct backup_read r;
	struct errmsg err = { "" };
	const struct meta_backup *m = &r.meta;
	size_t nl0 = 0, ndelta = 0, nlogs;

	check(pr->state == JOB_DONE, "job state %s (%s)", job_state_name(pr->state), pr->error);
	for (size_t i = 0; i < 5; i++)
		check(exists(x, files[i]), "meta/%s exists", files[i]);
	check(backup_read(x->backup_store, x->prefix, &r, &err) == 0, "backup_read: %s", err.msg);
	check(r.complete, "backup_read says complete (%s)", r.reason);
	check(r.source == BACKUP_META_FULL, "read from full_meta.json");
	check(!strcmp(m->milvus_version, "v2.5.14"), "milvus_version '%s'", m->milvus_version);
	check(strlen(m->id) == 36 && m->state_code == 0, "id '%s', state_code %d", m->id,
	      m->state_code);
	check(m->ndatabases >= 2, "%zu database entries", m->ndatabases);
	if (getenv("EXPECT"))
		check_expect(m, getenv("EXPECT"));
	for (size_t ci = 0; ci < m->ncollections; ci++) {
		const struct meta_collection *c = &m->collections[ci];
		Milvus__Proto__Milvus__DescribeCollectionResponse *d = NULL;
		uint64_t maxts = 0;

		check(c->collection_id > TWO53, "collection id %" PRId64 " above 2^53",
		      c->collection_id);
		if (milvus_describe_collection(x->mc, c->db_name, c->collection_name, &d, &err) == 0) {
			check(d->collectionid == c->collection_id, "'%s' id %" PRId64 " exact",
			      c->collection_name, c->collection_id);
			check(d->schema && d->schema->n_fields == c->schema.nfields,
			      "schema of '%s' has every field", c->collection_name);
			protobuf_c_message_free_unpacked(&d->base, NULL);
		}
		check(c->npartitions >= 1 && c->partitions[0].partition_id > TWO53,
		      "partition id above 2^53");
		check(!strcmp(c->id, m->id), "collection id field is the backup id");
		check(c->channel_checkpoints.n >= 1, "'%s' has channel checkpoints", c->collection_name);
		for (size_t k = 0; k < c->channel_checkpoints.n; k++) {
			uint64_t ts = 0;

			check(backup_checkpoint_timestamp(c->channel_checkpoints.v[k].value, &ts) == 0,
			      "checkpoint decodes");
			if (ts > maxts)
				maxts = ts;
		}
		check(c->backup_timestamp > 0 && c->backup_timestamp == maxts,
		      "backup_timestamp %" PRIu64 " = max checkpoint %" PRIu64, c->backup_timestamp,
		      maxts);
		check(c->backup_physical_timestamp > 1700000000, "backup_physical_timestamp %" PRIu64,
		      c->backup_physical_timestamp);
		check(!strcmp(c->load_state, "NotLoad"), "load_state '%s'", c->load_state);
		check(c->has_index == (c->nindexes > 0) && c->nindexes == 1 &&
		      !strcmp(c->indexes[0].index_type, "HNSW"), "'%s' index HNSW",
		      c->collection_name);
		nl0 += c->nl0_segments;
		for (size_t k = 0; k < c->npartitions; k++)
			for (size_t i = 0; i < c->partitions[k].nsegments; i++)
				ndelta += c->partitions[k].segments[i].ndeltalogs;
		for (size_t i = 0; i < c->nl0_segments; i++)
			check(c->l0_segments[i].partition_id == -1 && c->l0_segments[i].is_l0 &&
			      c->l0_segments[i].ndeltalogs == 1, "all-partition L0 segment");
	}
	if (getenv("EXPECT_L0")) {
		check(nl0 >= 1, "an all-partition L0 segment was backed up (%zu)", nl0);
		check(ndelta >= 1, "a segment with delta logs was backed up (%zu)", ndelta);
	}
	nlogs = check_binlogs(x, m, 1);
	check(pr->items_total == nlogs && pr->items_done == nlogs, "progress %" PRIu64 "/%" PRIu64
	      " objects, %zu logs", pr->items_done, pr->items_total, nlogs);
	check(pr->bytes_total == (uint64_t)m->size && pr->bytes_done == pr->bytes_total,
	      "progress %" PRIu64 "/%" PRIu64 " bytes, backup size %" PRId64, pr->bytes_done,
	      pr->bytes_total, m->size);
	(void)streaming;
	backup_read_release(&r);
}

int main(int argc, char **argv)
{
	const char *cs = argc > 1 ? argv[1] : "ok";
	const char *name = env("BACKUP_NAME", cs);
	const char *root = env("MILVUS_ROOT", "files");
	struct ctx x;
	struct backup_create_params *p;
	struct job_progress pr;

	log_setup(LOG_DEST_STDERR, LOG_LVL_WARN);
	memset(&x, 0, sizeof(x));
	x.milvus_store = store(env("MILVUS_BUCKET", "milvus-bucket"));
	x.backup_store = store(env("BACKUP_BUCKET", "backup-bucket"));
	x.mc = client();

	if (!strcmp(cs, "ok")) {
		p = params(&x, name, root, env("FILTER", ""));
		/* nothing answers on port 1: the pause fails, which only warns */
		p->gc_pause_enable = 1;
		free(p->gc_pause_address);
		p->gc_pause_address = strdup("http://127.0.0.1:1");
		run_job(&x, p, 0, &pr);
		check_complete(&x, &pr, 0);
	} else if (!strcmp(cs, "streaming")) {
		p = params(&x, name, root, env("FILTER", ""));
		p->force_streaming = 1;
		p->multipart_threshold = 1024;	/* bigger objects go up in multipart */
		p->copy_parallel = 4;
		run_job(&x, p, 0, &pr);
		check_complete(&x, &pr, 1);
	} else if (!strcmp(cs, "badroot")) {
		char want[300];

		p = params(&x, name, "wrongroot", "");
		run_job(&x, p, 0, &pr);
		snprintf(want, sizeof(want), "under s3://%s/wrongroot/insert_log/",
			 env("MILVUS_BUCKET", "milvus-bucket"));
		check(pr.state == JOB_FAILED, "job state %s", job_state_name(pr.state));
		check(strstr(pr.error, want) && strstr(pr.error, "minio.rootPath") &&
		      strstr(pr.error, "no binlogs for '"), "error names the prefix: '%s'", pr.error);
		check(!exists(&x, "full_meta.json"), "no full_meta.json");
		check(!exists(&x, "backup_meta.json"), "no meta at all");
	} else if (!strcmp(cs, "flushfail")) {
		p = params(&x, name, root, "");
		run_job(&x, p, 0, &pr);
		check(pr.state == JOB_FAILED, "job state %s", job_state_name(pr.state));
		check(strstr(pr.error, "cannot flush '") && strstr(pr.error, "boom"),
		      "error gives the cause: '%s'", pr.error);
		check(!strcmp(pr.phase, "flush"), "failed in phase '%s'", pr.phase);
		check(!exists(&x, "full_meta.json"), "no full_meta.json");
	} else if (!strcmp(cs, "cancel")) {
		p = params(&x, name, root, "");
		p->force_streaming = 1;
		p->copy_parallel = 1;
		run_job(&x, p, 2, &pr);
		check(pr.state == JOB_CANCELLED, "job state %s (%s)", job_state_name(pr.state),
		      pr.error);
		check(pr.items_done >= 2 && pr.items_done < pr.items_total,
		      "cancelled mid-copy: %" PRIu64 "/%" PRIu64, pr.items_done, pr.items_total);
		check(!exists(&x, "full_meta.json"), "no full_meta.json");
	} else if (!strcmp(cs, "nocoll")) {
		p = params(&x, name, root, "db1.nosuch");
		run_job(&x, p, 0, &pr);
		check(pr.state == JOB_FAILED && strstr(pr.error, "no collection 'db1.nosuch'"),
		      "state %s, error '%s'", job_state_name(pr.state), pr.error);
		check(!exists(&x, "full_meta.json"), "no full_meta.json");
	} else if (!strcmp(cs, "dbonly")) {
		struct backup_read r;

		p = params(&x, name, root, "db1.");
		run_job(&x, p, 0, &pr);
		check(pr.state == JOB_DONE, "job state %s (%s)", job_state_name(pr.state), pr.error);
		check(backup_read(x.backup_store, x.prefix, &r, NULL) == 0 && r.complete,
		      "backup complete");
		check(r.meta.ncollections == 0 && r.meta.ndatabases == 1 &&
		      !strcmp(r.meta.databases[0].db_name, "db1") && r.meta.databases[0].db_id > 0,
		      "only the db1 entry (%zu collections, %zu dbs)", r.meta.ncollections,
		      r.meta.ndatabases);
		backup_read_release(&r);
	} else {
		fprintf(stderr, "unknown case '%s'\n", cs);
		return 2;
	}
	milvus_client_free(x.mc);
	objstore_free(x.milvus_store);
	objstore_free(x.backup_store);
	printf("%s: %d checks passed, %d failed%s%s\n", cs, nok, nfail,
	       pr.error[0] ? "; job error: " : "", pr.error);
	return nfail ? 1 : 0;
}
