/*
 * mount.c - one mount's life (mount.h): build the store, the namespace, the memory budget,
 * the read-ahead pool, the work queue, the job table, the .restore control files, the Milvus
 * client and the autopilot (schedule and expiry) from the config, and take them down again in the order that lets running jobs finish first (bug 6).
 */
#include "mvbfs.h"
#include "dirsnap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mvbackupfs/base/log.h"
#include "mvbackupfs/format/backup_admin.h"
#include "mvbackupfs/fs/autopilot.h"
#include "mvbackupfs/fs/import.h"
#include "mvbackupfs/fs/restore_ctl.h"

void mvbfs_milvus_opts(const struct config *cfg, long timeout_ms, int max_conns,
		       struct milvus_client_opts *o)
{
	const struct milvus_config *mc = &cfg->milvus;

	memset(o, 0, sizeof(*o));
	o->host = mc->address;
	o->port = mc->port;
	o->user = mc->user;
	o->password = mc->password;
	o->tls_mode = mc->tls_mode;
	o->ca_file = mc->ca_cert_path;
	o->server_name = mc->server_name;
	o->cert_file = mc->mtls_cert_path;
	o->key_file = mc->mtls_key_path;
	o->timeout_ms = timeout_ms;
	o->max_conns = max_conns;
}

/* A job ended (its thread): what storage says about the backup has changed. */
static void on_job_finish(void *arg, const char *name, enum jt_kind kind, enum job_state st)
{
	struct mvbfs *m = arg;
	struct job_progress p;

	if (kind == JT_RESTORE) {
		restore_ctl_finished(m, name, st);
		return;
	}
	/* a finished snapshot logs its own line, with its totals (backup_create.c) */
	if (kind == JT_DELETE && st == JOB_DONE)
		log_info("backup '%s' deleted", name);
	else if (st != JOB_DONE && jobtable_get(m->jobs, name, &p) != JT_NONE)
		log_err("%s of '%s' %s: %s", kind == JT_SNAPSHOT ? "snapshot" : "delete", name,
			job_state_name(st), p.error);
	ns_invalidate(m->ns, name);
}

/* A delete's entry left the table: let go of the backup's frozen tree. */
static void on_job_forget(void *arg, const char *name)
{
	struct mvbfs *m = arg;

	ns_invalidate(m->ns, name);
}

/* meta reads in flight for the root .info (ns_config.resolve_parallel) */
#define RESOLVE_PARALLEL 16

int mvbfs_start(struct mvbfs *m, const struct config *cfg, int read_only, struct errmsg *err)
{
	struct ns_config nc = { 0 };
	struct ra_config rc_cfg = { 0 };
	struct milvus_client_opts mo = { 0 };
	struct errmsg e2 = { { 0 } };
	int rc;

	m->cfg = cfg;
	m->read_only = read_only;
	m->uid = getuid();
	m->gid = getgid();
	m->mounted_at = time(NULL);
	pthread_mutex_init(&m->names_lock, NULL);
	pthread_cond_init(&m->names_cond, NULL);
	pthread_mutex_init(&m->pending_lock, NULL);
	pthread_mutex_init(&m->open_lock, NULL);
	pthread_mutex_init(&m->stash_lock, NULL);
	rc = config_open_store(cfg, &cfg->backup_storage, &m->store, err);
	if (rc)
		return rc;
	nc.ttl_ms = cfg->fs.cache_ttl_ms;
	nc.resolve_parallel = RESOLVE_PARALLEL;
	/* the one queue of the mount's fan-outs: a snapshot's copies and the root .info's meta
	 * reads, each up to its own share, so neither waits for the other */
	rc = workq_new((unsigned)(cfg->fs.copy_parallel + RESOLVE_PARALLEL),
		       (unsigned)(cfg->fs.copy_parallel + RESOLVE_PARALLEL), &m->wq);
	if (rc) {
		errmsg_set(err, rc, "cannot start the work queue: %s", strerror(-rc));
		goto fail;
	}
	nc.wq = m->wq;
	if (config_same_bucket(&cfg->milvus_storage, &cfg->backup_storage)) {
		/* issue 6: Milvus's data directories in this bucket are never backups, and
		 * no delete of this mount may touch them */
		nc.milvus_root = cfg->milvus_storage.root_path;
		rc = backup_guard_protect(m->store, cfg->milvus_storage.root_path);
		if (rc) {
			errmsg_set(err, rc, "cannot protect Milvus's data in %s: %s",
				   objstore_name(m->store), strerror(-rc));
			goto fail;
		}
		if (config_backups_share_milvus_root(cfg))
			log_warn("backups share Milvus's root: backupRootPath '%s' and Milvus's "
				 "rootPath '%s' overlap in %s; Milvus's data directories (insert_log, "
				 "delta_log, ...) are not shown and are never deleted - set "
				 "minio.backupRootPath (e.g. 'backup') to keep them apart",
				 cfg->backup_storage.root_path, cfg->milvus_storage.root_path,
				 objstore_name(m->store));
	}
	rc = ns_new(m->store, cfg->backup_storage.root_path, &nc, &m->ns);
	if (rc)
		goto fail;
	rc = membudget_init(&m->budget, cfg->fs.memory_budget);
	if (rc)
		goto fail;
	m->budget_ok = 1;
	rc_cfg.max_window = cfg->fs.readahead_max;
	rc_cfg.parallel = (unsigned)cfg->fs.read_parallel;
	{
		/* streamed reads off, for comparisons (storage/readahead.h) */
		const char *ns = getenv("MVBACKUPFS_NO_STREAM");

		rc_cfg.no_stream = ns && *ns && strcmp(ns, "0");
	}
	rc = ra_pool_new(m->store, &m->budget, &rc_cfg, &m->ra);
	if (rc) {
		errmsg_set(err, rc, "cannot start the read-ahead workers: %s", strerror(-rc));
		goto fail;
	}
	rc = jobtable_new(&m->jobs);
	if (rc)
		goto fail;
	jobtable_on_finish(m->jobs, on_job_finish, m);
	jobtable_on_forget(m->jobs, on_job_forget, m);
	rc = restore_ctl_new(&m->restore);
	if (rc)
		goto fail;
	rc = import_table_new(m, &m->imports);
	if (rc)
		goto fail;
	m->dirbook = dirsnap_book_new();	/* NULL: listings are read at every opendir */
	/* the Milvus side: only snapshots need it, so a failure here is a warning (spec §2) */
	if (config_open_store(cfg, &cfg->milvus_storage, &m->milvus_store, &e2))
		log_warn("snapshots are unavailable: %s", errmsg_str(&e2, -EIO));
	mvbfs_milvus_opts(cfg, 0, 8, &mo);	/* 0: the client's default deadline */
	rc = milvus_client_new(&mo, &m->milvus, err);
	if (rc)
		goto fail;
	rc = autopilot_start(m, &m->autopilot, err);
	if (rc)
		goto fail;
	return 0;
fail:
	mvbfs_stop(m);
	return rc;
}

struct mvbfs *mvbfs_new(void)
{
	return calloc(1, sizeof(struct mvbfs));
}

void mvbfs_free(struct mvbfs *m)
{
	free(m);
}

const char *mvbfs_store_name(const struct mvbfs *m)
{
	return m->store ? objstore_name(m->store) : "";
}

void mvbfs_close(struct mvbfs *m)
{
	autopilot_stop(m->autopilot);	/* no new snapshot or delete from now on */
	jobtable_close(m->jobs);
}

void mvbfs_stop(struct mvbfs *m)
{
	/* jobs first: they use the stores and the client */
	autopilot_free(m->autopilot);
	m->autopilot = NULL;
	jobtable_free(m->jobs);	/* also drops the poll handles of open .status files */
	m->jobs = NULL;
	restore_ctl_free(m->restore);
	m->restore = NULL;
	milvus_client_free(m->milvus);
	m->milvus = NULL;
	/* files still open when the loop ended: the kernel sends no RELEASE for them any more
	 * (the FUSE loop is over), so free them here, before the read-ahead pool they use */
	while (m->open_files) {
		struct fh *h = m->open_files;

		m->open_files = h->next;
		fh_free(h);
	}
	import_table_free(m->imports);	/* unfinished copies stay incomplete */
	dirsnap_book_free(m->dirbook);
	m->dirbook = NULL;
	m->imports = NULL;
	if (m->ra)
		ra_pool_free(m->ra);
	m->ra = NULL;
	if (m->budget_ok)
		membudget_destroy(&m->budget);
	m->budget_ok = 0;
	status_stash_drop(m);
	ns_free(m->ns);
	m->ns = NULL;
	workq_free(m->wq);	/* after the jobs and the namespace, its only users */
	m->wq = NULL;
	objstore_free(m->milvus_store);
	m->milvus_store = NULL;
	if (m->store)
		backup_guard_forget(m->store);
	objstore_free(m->store);
	m->store = NULL;
	free(m->pending);
	m->pending = NULL;
	m->npending = m->cap_pending = 0;
	free(m->busy);
	m->busy = NULL;
	m->nbusy = m->cap_busy = 0;
}
