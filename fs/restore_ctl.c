/*
 * restore_ctl.c - `NAME/.restore` (restore_ctl.h): check a command completely, synchronously,
 * then start the restore job (milvus/jobs/restore.c) and remember the command for reads.
 */
#include "mvbackupfs/fs/restore_ctl.h"
#include "mvbfs.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/base/log.h"
#include "mvbackupfs/format/backup_read.h"
#include "mvbackupfs/jobs/restore.h"
#include "mvbackupfs/jobs/restore_rbac.h"
#include "mvbackupfs/jobs/restore_cmd.h"

struct restore_ctl {
	pthread_mutex_t lock;		/* guards v, n */
	pthread_mutex_t start_lock;	/* one command is checked and started at a time */
	struct rc_entry {
		char name[256];
		char cmd[RESTORE_CMD_MAX + 1];	/* the last accepted command, sanitised */
		char job[64];
	} *v;
	size_t n;
};

int restore_ctl_new(struct restore_ctl **out)
{
	struct restore_ctl *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->start_lock, NULL);
	*out = c;
	return 0;
}

void restore_ctl_free(struct restore_ctl *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->start_lock);
	free(c->v);
	free(c);
}

int restore_ctl_path(const char *path, char *name, size_t size)
{
	const char *p = path + 1, *slash = strchr(p, '/');
	size_t len;

	if (path[0] != '/' || !slash || strcmp(slash + 1, RESTORE_CTL_NAME))
		return 0;
	len = (size_t)(slash - p);
	if (!len || len >= size || p[0] == '.')
		return 0;
	memcpy(name, p, len);
	name[len] = '\0';
	return 1;
}

int restore_ctl_render(struct mvbfs *m, const char *name, struct buf *out)
{
	struct restore_ctl *c = m->restore;
	int rc = 0;
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].name, name))
			rc = buf_addf(out, "command %s\njob %s\n", c->v[i].cmd, c->v[i].job);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int remember(struct restore_ctl *c, const char *name, const char *cmd, size_t len,
		    const char *job)
{
	struct rc_entry *e = NULL;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n && !e; i++)
		if (!strcmp(c->v[i].name, name))
			e = &c->v[i];
	if (!e) {
		struct rc_entry *nv = realloc(c->v, (c->n + 1) * sizeof(*nv));

		if (!nv) {
			rc = -ENOMEM;
			goto out;
		}
		c->v = nv;
		e = &c->v[c->n++];
		snprintf(e->name, sizeof(e->name), "%s", name);
	}
	while (len && (cmd[len - 1] == '\n' || cmd[len - 1] == '\r'))
		len--;
	snprintf(e->cmd, sizeof(e->cmd), "%.*s", (int)len, cmd);
	text_sanitize(e->cmd);
	snprintf(e->job, sizeof(e->job), "%s", job);
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* A refused command shows in .status as a finished job (phase `refused`, the reason as its
 * error), unless a job runs on the backup (its progress stays what .status shows). */
struct refusal {
	int code;
	char msg[1024];
};

static int refused_job(struct job *j, void *arg)
{
	struct refusal *r = arg;

	job_set_phase(j, "refused");
	return job_fail(j, r->code, "%s", r->msg);
}

static int refuse(struct mvbfs *m, const char *name, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int refuse(struct mvbfs *m, const char *name, int code, const char *fmt, ...)
{
	struct refusal *r = calloc(1, sizeof(*r));
	struct job *j = NULL;
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	text_sanitize(msg);
	log_err("restore from '%s' refused: %s", name, msg);
	if (!r)
		return code;
	r->code = code;
	snprintf(r->msg, sizeof(r->msg), "restore refused: %s", msg);
	if (jobtable_get(m->jobs, name, NULL) != JT_NONE &&
	    (jobtable_running(m->jobs, name, JT_SNAPSHOT) ||
	     jobtable_running(m->jobs, name, JT_DELETE) ||
	     jobtable_running(m->jobs, name, JT_RESTORE) || jobtable_deleting(m->jobs, name))) {
		free(r);
		return code;
	}
	if (job_start("restore", refused_job, r, free, &j)) {
		free(r);
		return code;
	}
	job_wait(j);
	if (jobtable_add(m->jobs, name, JT_RESTORE, j))
		job_free(j);
	return code;
}

static int milvus_errno(int rc)
{
	return rc == -EACCES || rc == -ECONNREFUSED || rc == -EHOSTUNREACH ? rc : -EHOSTUNREACH;
}

/* Pick the collections, map them to targets: ENOENT / EINVAL. */
static int choose(struct mvbfs *m, const char *name, struct restore_params *p)
{
	const struct restore_cmd *c = &p->cmd;
	const struct meta_backup *b = &p->meta;
	struct errmsg e = { "" };
	size_t i, k;
	int rc;

	/* every collection named must be in the backup; a db.* must match something */
	for (i = 0; c->has_filter && i < c->filter.ndbs; i++) {
		const struct backup_filter_db *d = &c->filter.dbs[i];
		int any = 0;

		for (k = 0; k < b->ncollections; k++)
			any |= !strcmp(b->collections[k].db_name, d->db);
		if ((d->all || d->db_only) && !any)
			return refuse(m, name, -ENOENT, "no collection of database '%s' in backup "
				      "'%s'", d->db, name);
		for (k = 0; k < d->ncolls; k++) {
			size_t x;
			int found = 0;

			for (x = 0; x < b->ncollections && !found; x++)
				found = !strcmp(b->collections[x].db_name, d->db) &&
					!strcmp(b->collections[x].collection_name, d->colls[k]);
			if (!found)
				return refuse(m, name, -ENOENT, "no collection '%s.%s' in backup '%s'",
					      d->db, d->colls[k], name);
		}
	}
	p->targets = calloc(b->ncollections ? b->ncollections : 1, sizeof(*p->targets));
	if (!p->targets)
		return -ENOMEM;
	for (i = 0; i < b->ncollections; i++) {
		const struct meta_collection *mc = &b->collections[i];
		struct restore_target *t = &p->targets[p->ntargets];

		if (!restore_cmd_selects(c, mc->db_name, mc->collection_name))
			continue;
		rc = restore_cmd_target(c, mc->db_name, mc->collection_name, &t->db, &t->coll, &e);
		if (rc)
			return rc == -EINVAL ? refuse(m, name, rc, "%s", e.msg) : rc;
		t->src = mc;
		p->ntargets++;
		for (k = 0; k + 1 < p->ntargets; k++)
			if (!strcmp(p->targets[k].db, t->db) && !strcmp(p->targets[k].coll, t->coll))
				return refuse(m, name, -EINVAL, "two collections would both be "
					      "restored as '%s.%s'", t->db, t->coll);
	}
	if (!p->ntargets)
		return refuse(m, name, -ENOENT, "backup '%s' holds no collection to restore", name);
	return 0;
}

/* Milvus answers, and the targets are free (or drop_existing): EHOSTUNREACH..., EEXIST. */
static int check_milvus(struct mvbfs *m, const char *name, struct restore_params *p)
{
	struct milvus_client_opts o;
	struct milvus_client *probe = NULL;
	struct errmsg e = { "" };
	size_t i;
	int rc;

	mvbfs_milvus_opts(m->cfg, 3000, 1, &o);
	rc = milvus_client_new(&o, &probe, &e);
	if (!rc)
		rc = milvus_connect(probe, &e);
	for (i = 0; !rc && i < p->ntargets; i++) {
		int exists = 0;

		rc = milvus_has_collection(probe, p->targets[i].db, p->targets[i].coll, &exists, &e);
		if (rc == -ENOENT) {
			rc = 0;	/* its database does not exist yet */
			exists = 0;
		}
		if (rc)
			break;
		p->targets[i].exists = exists;
		if (exists && !p->cmd.drop_existing) {
			milvus_client_free(probe);
			return refuse(m, name, -EEXIST, "collection '%s.%s' exists in milvus (add "
				      "drop_existing=1 to replace it)", p->targets[i].db,
				      p->targets[i].coll);
		}
	}
	if (!rc && p->cmd.rbac && (rc = restore_rbac_check(probe, &e)) == -ENOTSUP) {
		milvus_client_free(probe);
		return refuse(m, name, rc, "%s", e.msg);
	}
	milvus_client_free(probe);
	if (rc)
		return refuse(m, name, milvus_errno(rc), "milvus at %s:%d: %s", m->cfg->milvus.address,
			      m->cfg->milvus.port, errmsg_str(&e, rc));
	return 0;
}

static int start(struct mvbfs *m, const char *name, const char *data, size_t size,
		 struct restore_cmd *cmd)
{
	struct restore_params *p = NULL;
	struct backup_read br;
	struct errmsg e = { "" };
	struct job *j = NULL;
	int rc;

	if (jobtable_running(m->jobs, name, JT_RESTORE))
		return refuse(m, name, -EBUSY, "a restore from '%s' is running (write 'cancel' to "
			      "stop it)", name);
	if (jobtable_deleting(m->jobs, name))
		return refuse(m, name, -ENOENT, "backup '%s' is being deleted", name);
	if (jobtable_running(m->jobs, name, JT_SNAPSHOT))
		return refuse(m, name, -EAGAIN, "backup '%s' is not complete: its snapshot is "
			      "running", name);
	rc = ns_backup_exists(m->ns, name, &e);
	if (rc)
		return rc == -ENOENT ? rc : refuse(m, name, rc, "%s", errmsg_str(&e, rc));
	if (!(p = calloc(1, sizeof(*p))))
		return -ENOMEM;
	if (asprintf(&p->backup_prefix, "%s%s/", ns_root_prefix(m->ns), name) < 0) {
		p->backup_prefix = NULL;
		rc = -ENOMEM;
		goto out;
	}
	memset(&br, 0, sizeof(br));
	rc = backup_read(m->store, p->backup_prefix, &br, &e);
	if (rc) {
		rc = refuse(m, name, rc, "cannot read backup '%s': %s", name, errmsg_str(&e, rc));
		goto out;
	}
	if (!br.complete) {
		rc = refuse(m, name, -EAGAIN, "backup '%s' is not complete: %s", name, br.reason);
		backup_read_release(&br);
		goto out;
	}
	p->meta = br.meta;	/* moved */
	memset(&br.meta, 0, sizeof(br.meta));
	backup_read_release(&br);
	p->cmd = *cmd;		/* moved */
	memset(cmd, 0, sizeof(*cmd));
	if (p->meta.format && !strcmp(p->meta.format, "snapshot")) {
		rc = refuse(m, name, -EINVAL, "backup '%s' is in the snapshot format (Milvus 3), "
			    "which cannot be restored through binlog import", name);
		goto out;
	}
	if ((rc = choose(m, name, p)))
		goto out;
	p->copy = !config_same_bucket(&m->cfg->milvus_storage, &m->cfg->backup_storage) ||
		  m->cfg->cross_storage;
	if (p->copy && !m->milvus_store && !p->cmd.meta_only) {
		rc = refuse(m, name, -EHOSTUNREACH, "the Milvus bucket is not reachable with this "
			    "configuration (minio.*)");
		goto out;
	}
	if ((rc = check_milvus(m, name, p)))
		goto out;
	/* the shared session is opened once (its version is read by jobs without a lock) */
	rc = milvus_client_version(m->milvus)[0] ? 0 : milvus_connect(m->milvus, &e);
	if (rc) {
		rc = refuse(m, name, milvus_errno(rc), "%s", errmsg_str(&e, rc));
		goto out;
	}
	p->backup_store = m->store;
	p->name = strdup(name);
	p->milvus_store = m->milvus_store;
	p->milvus_bucket = strdup(m->cfg->milvus_storage.bucket ? m->cfg->milvus_storage.bucket : "");
	p->force_streaming = m->cfg->cross_storage;
	p->copy_parallel = m->cfg->fs.copy_parallel;
	p->budget = &m->budget;
	p->milvus = m->milvus;
	if (!p->name || !p->milvus_bucket) {
		rc = -ENOMEM;
		goto out;
	}
	rc = job_start("restore", restore_job, p, restore_params_free, &j);
	if (rc)
		goto out;
	p = NULL;
	rc = jobtable_add(m->jobs, name, JT_RESTORE, j);
	if (rc) {
		job_cancel(j);
		job_wait(j);
		job_free(j);
		goto out;
	}
	remember(m->restore, name, data, size, job_id(j));
	log_info("restore from '%s' started (%s): %.*s", name, job_id(j),
		 (int)(size && data[size - 1] == '\n' ? size - 1 : size), data);
	rc = 0;
out:
	restore_params_free(p);
	return rc;
}

int restore_ctl_write(struct mvbfs *m, const char *name, const char *data, size_t size,
		      off_t off)
{
	struct restore_cmd cmd;
	struct errmsg e = { "" };
	uid_t uid = fuse_get_context()->uid;
	int rc;

	if (m->read_only)
		return -EROFS;
	if (uid != m->uid && uid != 0)
		return -EACCES;
	if (off != 0)
		return refuse(m, name, -EINVAL, "one command per write, at offset 0 (got offset %lld)",
			      (long long)off);
	rc = restore_cmd_parse(data, size, &cmd, &e);
	if (rc)
		return rc == -EINVAL ? refuse(m, name, rc, "%s", e.msg) : rc;
	if (cmd.cancel) {
		restore_cmd_release(&cmd);
		if (!jobtable_running(m->jobs, name, JT_RESTORE)) {
			log_err("restore from '%s': nothing to cancel", name);
			return -ESRCH;
		}
		log_info("restore from '%s': cancel requested", name);
		jobtable_cancel(m->jobs, name);
		return (int)size;
	}
	pthread_mutex_lock(&m->restore->start_lock);
	rc = start(m, name, data, size, &cmd);
	pthread_mutex_unlock(&m->restore->start_lock);
	restore_cmd_release(&cmd);
	return rc ? rc : (int)size;
}

void restore_ctl_finished(struct mvbfs *m, const char *name, int state)
{
	struct job_progress p;

	if (jobtable_get(m->jobs, name, &p) != JT_RESTORE || !strcmp(p.phase, "refused"))
		return;	/* a refusal was logged when it was answered */
	if (state == JOB_DONE)
		log_info("restore from '%s' complete (%s)", name, p.id);
	else
		log_err("restore from '%s' %s (%s): %s", name, job_state_name(state), p.id, p.error);
}
