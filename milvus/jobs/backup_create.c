/*
 * backup_create.c - the snapshot job: milvus-backup's create flow (milvus-backup-format.md
 * §3.2, serial flush) producing a backup milvus-backup can restore (see backup_create.h).
 *
 * The job builds the backup's `struct meta_backup` as it goes (databases, then collections
 * with schema, indexes, partitions, flush checkpoints, segments and their binlogs), collects
 * one copy item per binlog, copies them on the mount's work queue, verifies the copies by
 * listing the backup, and writes the meta files in main's order with full_meta.json last.
 * This file runs the steps in order (and pauses Milvus's GC meanwhile); the steps are in
 * create_describe.c (describe, flush, segments) and create_copy.c (copy, verify, meta), the
 * pure helpers in create_util.c, what they share in create_internal.h.
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

/* Sleep ms, waking early when the job is cancelled. */
int create_nap(struct job *j, long ms)
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

void create_gc_renew(struct gcpause *g)
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
		create_gc_renew(&cr->gc);
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
	if ((rc = verify_copies(cr)))
		return rc;

	CHECK_CANCEL(cr);
	job_set_phase(cr->j, "meta");
	return write_meta_files(cr);
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
