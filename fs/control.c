/*
 * control.c - the control plane of a mount (spec §5.2, §5.5): `mkdir /.snapshot/NAME`
 * (check, reserve the name, start the snapshot job), `rmdir NAME` (the meta at once, the data
 * by a delete job), the removals inside a backup that only mark it pending for the final
 * rmdir of `rm -rf`, and the per-name locks that run one mkdir/rmdir of a name at a time
 * while other names go on.  The FUSE operations that lead here are in fsops.c.
 */
#include "mvbfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/crashpoint.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/base/rand.h"
#include "mvbackupfs/base/timefmt.h"
#include "mvbackupfs/format/backup_admin.h"
#include "mvbackupfs/format/sidecar.h"
#include "mvbackupfs/jobs/backup_create.h"

/* Refuse a removal or snapshot touching Milvus's data `dir` at root entry `name`. */
int refuse_milvus_data(struct mvbfs *m, const char *op, const char *path, const char *dir)
{
	log_err("refusing to %s '%s': '%s' is Milvus's own data (minio.rootPath '%s' in %s), "
		"not a backup; backups share Milvus's root - set minio.backupRootPath", op, path,
		dir, m->cfg->milvus_storage.root_path, objstore_name(m->store));
	return -EPERM;
}

/* Take the control of backup `name` (mkdir/rmdir of it run one at a time).  0 or -ENOMEM. */
static int name_lock(struct mvbfs *m, const char *name)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&m->names_lock);
	for (;;) {
		for (i = 0; i < m->nbusy && strcmp(m->busy[i].name, name); i++)
			;
		if (i == m->nbusy)
			break;
		pthread_cond_wait(&m->names_cond, &m->names_lock);
	}
	if (ARRAY_GROW(m->busy, m->nbusy, m->cap_busy, 4))
		rc = -ENOMEM;
	else
		snprintf(m->busy[m->nbusy++].name, sizeof(m->busy[0].name), "%s", name);
	pthread_mutex_unlock(&m->names_lock);
	return rc;
}

static void name_unlock(struct mvbfs *m, const char *name)
{
	size_t i;

	pthread_mutex_lock(&m->names_lock);
	for (i = 0; i < m->nbusy; i++) {
		if (!strcmp(m->busy[i].name, name)) {
			m->busy[i] = m->busy[--m->nbusy];
			break;
		}
	}
	pthread_cond_broadcast(&m->names_cond);
	pthread_mutex_unlock(&m->names_lock);
}

/* Map a failed Milvus check to the errno mkdir returns (spec §5.2). */
static int milvus_errno(int rc)
{
	switch (rc) {
	case -EACCES:
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
		return rc;
	default:
		return -EHOSTUNREACH;
	}
}

/* Does Milvus answer, within well under a second? */
static int milvus_probe(struct mvbfs *m, struct errmsg *err)
{
	struct milvus_client_opts o;
	struct milvus_client *probe = NULL;
	int rc;

	mvbfs_milvus_opts(m->cfg, 800, 1, &o);
	rc = milvus_client_new(&o, &probe, err);
	if (!rc)
		rc = milvus_connect(probe, err);
	milvus_client_free(probe);
	return rc;
}

static char *prefix_of(struct mvbfs *m, const char *name)
{
	char *p;

	if (asprintf(&p, "%s%s/", ns_root_prefix(m->ns), name) < 0)
		return NULL;
	return p;
}

/* The snapshot job's parameters for backup `name` from the mount's config; NULL when out of
 * memory.  Free with backup_create_params_free (the job's free_arg). */
static struct backup_create_params *snapshot_params(struct mvbfs *m, const char *name,
						    const char *sidecar_job)
{
	const struct config *cfg = m->cfg;
	struct backup_create_params *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->backup_store = m->store;
	p->backup_prefix = prefix_of(m, name);
	p->name = strdup(name);
	p->milvus_store = m->milvus_store;
	p->milvus_bucket = strdup(cfg->milvus_storage.bucket);
	p->milvus_root = strdup(cfg->milvus_storage.root_path);
	p->milvus = m->milvus;
	p->filter = strdup(cfg->fs.snapshot_filter ? cfg->fs.snapshot_filter : "");
	p->copy_parallel = cfg->fs.copy_parallel;
	p->wq = m->wq;
	p->budget = &m->budget;
	p->force_streaming = cfg->cross_storage;
	p->multipart_threshold = cfg->multipart_copy_threshold;
	p->gc_pause_address = strdup(cfg->milvus.gc_pause_address ? cfg->milvus.gc_pause_address : "");
	p->gc_pause_enable = cfg->milvus.gc_pause_enable;
	p->sidecar_job = strdup(sidecar_job);
	if (!p->backup_prefix || !p->name || !p->milvus_bucket || !p->milvus_root || !p->filter ||
	    !p->gc_pause_address || !p->sidecar_job) {
		backup_create_params_free(p);
		return NULL;
	}
	return p;
}

/* mkdir /.snapshot/NAME (spec §5.2): check, reserve, start the job, return. */
int snapshot_start(struct mvbfs *m, const char *name, enum sidecar_kind kind)
{
	struct backup_create_params *p = NULL;
	struct errmsg e = { { 0 } };
	struct sidecar sc = { 0 };
	struct job *j = NULL;
	char rnd[9];
	int64_t keep;
	int rc;

	if (!backup_name_valid(name)) {
		log_err("cannot snapshot '%s': a backup name is a letter or '_' followed by up to "
			"127 letters, digits or '_'", name);
		return -EINVAL;
	}
	if (!m->milvus_store) {
		log_err("cannot snapshot '%s': the Milvus bucket is not reachable with this "
			"configuration (minio.*)", name);
		return -EIO;
	}
	/* the Milvus check needs no lock: it is a read of the outside world */
	rc = milvus_probe(m, &e);
	if (rc) {
		log_err("cannot snapshot '%s': %s", name, errmsg_str(&e, rc));
		return milvus_errno(rc);
	}
	rc = name_lock(m, name);
	if (rc)
		return rc;
	if (jobtable_running(m->jobs, name, JT_SNAPSHOT) || jobtable_running(m->jobs, name, JT_DELETE)) {
		rc = -EEXIST;
		goto out;
	}
	sc.format = SIDECAR_FORMAT;
	snprintf(sc.created_by, sizeof(sc.created_by), "%s", sidecar_creator());
	sc.created = mvb_now();	/* the test-hook clock in tests (timefmt.h) */
	/* spec §5.6: automatic snapshots expire after retention, manual ones after
	 * manual_retention (0 = never) */
	keep = kind == SIDECAR_KIND_SCHEDULED ? m->cfg->fs.retention_s :
	       m->cfg->fs.manual_retention_s;
	sc.expires = keep > 0 ? sc.created + keep : 0;
	sc.kind = kind;
	rand_hex(rnd, 4);	/* a failure leaves "00000000": the time still tells jobs apart */
	snprintf(sc.job, sizeof(sc.job), "snapshot-%lld-%s", (long long)sc.created, rnd);
	rc = backup_reserve(m->store, ns_root_prefix(m->ns), name, &sc, &e);
	if (rc) {
		if (rc != -EEXIST)
			log_err("cannot snapshot '%s': %s", name, errmsg_str(&e, rc));
		goto out;
	}
	(void)MVB_CRASH_POINT("snapshot_reserved");
	/* the session is opened once, before any job shares the client (its version string is
	 * read by running jobs without a lock: milvus_client_version) */
	rc = milvus_client_version(m->milvus)[0] ? 0 : milvus_connect(m->milvus, &e);
	if (rc) {
		rc = milvus_errno(rc);
		log_err("cannot snapshot '%s': %s", name, errmsg_str(&e, rc));
		goto unreserve;
	}
	p = snapshot_params(m, name, sc.job);
	if (!p) {
		rc = -ENOMEM;
		goto unreserve;
	}
	rc = job_start("snapshot", backup_create_job, p, backup_create_params_free, &j);
	if (rc)
		goto unreserve;
	p = NULL;
	rc = jobtable_add(m->jobs, name, JT_SNAPSHOT, j);
	if (rc) {
		job_cancel(j);
		job_free(j);
		goto unreserve;
	}
	log_info("snapshot '%s' started (%s)", name, job_id(j));
	ns_invalidate(m->ns, name);
	rc = 0;
	goto out;
unreserve:
	/* nothing but the reservation was written: give the name back */
	{
		char *key = NULL, *prefix = prefix_of(m, name);

		if (prefix && asprintf(&key, "%s%s", prefix, SIDECAR_NAME) >= 0) {
			const char *keys[1] = { key };

			backup_delete_keys(m->store, prefix, keys, 1, NULL);
		}
		free(key);
		free(prefix);
	}
	if (p)
		backup_create_params_free(p);
out:
	name_unlock(m, name);
	return rc;
}

/*
 * Removals inside a backup (spec §5.5).  `rm -rf NAME` unlinks every file and removes every
 * subdirectory before its final `rmdir NAME`, and GNU rm never gets to that rmdir once a
 * removal inside failed - so those removals must succeed.  But deleting anything on the
 * first unlink would let `rsync --remove-source-files` or `tar --remove-files` destroy a
 * backup they are still reading.  So a removal inside a backup deletes nothing: it marks the
 * backup *pending*: it leaves `ls` at once, its tree stays walkable exactly as it was
 * (frozen), later removals inside succeed too, and the final `rmdir NAME` deletes it as a
 * whole.  Without that rmdir within PENDING_MS of the last removal, the mark lapses and the
 * backup is back, untouched.
 */
#define PENDING_MS 30000

/* Called with m->pending_lock held: drop lapsed marks (re-reading those backups). */
static void pending_expire_locked(struct mvbfs *m)
{
	size_t i = 0;

	while (i < m->npending) {
		if (mono_ms() - m->pending[i].touched_ms <= PENDING_MS) {
			i++;
			continue;
		}
		log_warn("nothing deleted in '%s': removing files inside a backup only deletes it "
			 "together with 'rmdir %s' (as rm -rf does)", m->pending[i].name,
			 m->pending[i].name);
		ns_invalidate(m->ns, m->pending[i].name);
		m->pending[i] = m->pending[--m->npending];
	}
}

static int pending_find_locked(struct mvbfs *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->npending; i++)
		if (!strcmp(m->pending[i].name, name))
			return (int)i;
	return -1;
}

/* 1 while `name` is marked pending. */
int pending_marked(struct mvbfs *m, const char *name)
{
	int r;

	pthread_mutex_lock(&m->pending_lock);
	pending_expire_locked(m);
	r = pending_find_locked(m, name) >= 0;
	pthread_mutex_unlock(&m->pending_lock);
	return r;
}

/* Mark (or refresh) `name` pending; 0 or -ENOMEM. */
static int pending_touch(struct mvbfs *m, const char *name)
{
	int i, rc = 0;

	pthread_mutex_lock(&m->pending_lock);
	pending_expire_locked(m);
	i = pending_find_locked(m, name);
	if (i < 0) {
		if (ARRAY_GROW(m->pending, m->npending, m->cap_pending, 4)) {
			rc = -ENOMEM;
			goto out;
		}
		i = (int)m->npending++;
		snprintf(m->pending[i].name, sizeof(m->pending[i].name), "%s", name);
		ns_pin(m->ns, name);	/* the tree rm is walking stays as it was */
	}
	m->pending[i].touched_ms = mono_ms();
out:
	pthread_mutex_unlock(&m->pending_lock);
	return rc;
}

static void pending_clear(struct mvbfs *m, const char *name)
{
	int i;

	pthread_mutex_lock(&m->pending_lock);
	i = pending_find_locked(m, name);
	if (i >= 0)
		m->pending[i] = m->pending[--m->npending];
	pthread_mutex_unlock(&m->pending_lock);
}

/* A removal inside backup `name`: mark it pending (see above). */
int remove_inside(struct mvbfs *m, const char *name)
{
	struct errmsg e = { { 0 } };
	int rc;

	if (jobtable_deleting(m->jobs, name))
		return 0;	/* rmdir NAME came first: the delete is running already */
	if (jobtable_running(m->jobs, name, JT_SNAPSHOT))
		return -EBUSY;	/* a snapshot writes it: rmdir NAME cancels it */
	if (jobtable_running(m->jobs, name, JT_RESTORE))
		return -EBUSY;	/* a restore reads it */
	if (!pending_marked(m, name)) {
		/* an S3 failure must not read as ENOENT: rm -rf ignores that and goes on to
		 * report success with the backup still there (issue 6, bug 11) */
		rc = ns_backup_exists(m->ns, name, &e);
		if (rc) {
			if (rc != -ENOENT)
				log_err("cannot remove inside '%s': %s", name, errmsg_str(&e, rc));
			return rc;
		}
	}
	return pending_touch(m, name);
}

/* Delete backup `name` as a whole (spec §5.5): meta first, data in the background. */
int delete_backup(struct mvbfs *m, const char *name)
{
	struct backup_delete_params *p = NULL;
	struct errmsg e = { { 0 } };
	struct job *j = NULL;
	const char *dir;
	char *prefix = NULL;
	int rc;

	rc = name_lock(m, name);
	if (rc)
		return rc;
	pending_clear(m, name);
	if (jobtable_deleting(m->jobs, name)) {
		rc = 0;	/* already going */
		goto out;
	}
	if (jobtable_running(m->jobs, name, JT_RESTORE)) {
		log_err("cannot delete '%s': a restore from it is running", name);
		rc = -EBUSY;	/* spec §5.5 */
		goto out;
	}
	if (jobtable_running(m->jobs, name, JT_SNAPSHOT)) {
		/* spec §5.2: rmdir of a creating backup cancels it and removes what it wrote */
		log_info("snapshot '%s' cancelled by rmdir", name);
		jobtable_cancel_wait(m->jobs, name);
	} else if ((rc = ns_backup_exists(m->ns, name, &e)) != 0) {
		struct ns_attr a;

		if (rc == -ENOENT) {
			rc = ns_getattr(m->ns, name, &a, NULL, NULL);
			rc = rc == 0 ? -ENOTDIR : rc;
		} else {
			/* the store failed: EIO/ETIMEDOUT, never "no such backup" (issue 6) */
			log_err("cannot delete '%s': %s", name, errmsg_str(&e, rc));
		}
		goto out;
	}
	if ((dir = ns_milvus_data(m->ns, name)) != NULL) {
		rc = refuse_milvus_data(m, "delete", name, dir);
		goto out;
	}
	prefix = prefix_of(m, name);
	if (!prefix) {
		rc = -ENOMEM;
		goto out;
	}
	rc = backup_delete_meta(m->store, prefix, &e);
	if (rc) {
		log_err("cannot delete '%s': %s", name, errmsg_str(&e, rc));
		rc = rc == -ENOENT ? -EIO : rc;
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		rc = -ENOMEM;
		goto out;
	}
	p->store = m->store;
	p->prefix = prefix;
	prefix = NULL;
	p->name = strdup(name);
	if (!p->name) {
		rc = -ENOMEM;
		goto out;
	}
	rc = job_start("delete", backup_delete_job, p, backup_delete_params_free, &j);
	if (rc)
		goto out;
	p = NULL;
	/* replaces a finished snapshot or an earlier failed delete of the name */
	rc = jobtable_add(m->jobs, name, JT_DELETE, j);
	if (rc) {
		log_err("cannot track the delete of '%s': %s", name, strerror(-rc));
		job_free(j);	/* it runs to the end: the meta is gone already */
		goto out;
	}
	log_info("deleting backup '%s' (%s)", name, job_id(j));
out:
	/* Also on failure: the meta may be half gone (.info must re-read storage, never show
	 * the cached `complete`), and a tree pinned by rm -rf must not outlive its rmdir. */
	ns_invalidate(m->ns, name);
	name_unlock(m, name);
	if (p)
		backup_delete_params_free(p);
	free(prefix);
	return rc;
}
