/*
 * restore.c - the restore job (restore.h): milvus-backup's restore flow (format §4.1, §4.5)
 * over the gRPC client: the phases in order (run), the Import calls polled to completion, and
 * on a failure or cancel the partly restored collections dropped and the temporary objects
 * removed.  The other phases: restore_rbac.c (rbac=1), restore_ddl.c (databases, collections,
 * indexes, aliases, load), restore_copy.c (the units into Milvus' bucket); the pure plan:
 * restore_plan.c, restore_schema.c.
 */
#include "restore_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/jobs/restore_rbac.h"

void restore_params_free(void *arg)
{
	struct restore_params *p = arg;
	size_t i;

	if (!p)
		return;
	free(p->backup_prefix);
	free(p->name);
	meta_backup_release(&p->meta);
	restore_cmd_release(&p->cmd);
	for (i = 0; i < p->ntargets; i++) {
		free(p->targets[i].db);
		free(p->targets[i].coll);
	}
	free(p->targets);
	free(p->milvus_bucket);
	free(p);
}

int rs_nap(struct job *j, long ms)
{
	while (ms > 0) {
		if (job_cancelled(j))
			return -ECANCELED;
		sleep_ms(ms > 100 ? 100 : ms);
		ms -= 100;
	}
	return job_cancelled(j) ? -ECANCELED : 0;
}

/* Polls start at 100 ms and back off to this (a restore of small collections should not
 * wait seconds per import unit; a long import is asked about every poll_ms). */
long rs_poll_max(const struct restore *r)
{
	return r->p->poll_ms > 0 ? r->p->poll_ms : 2000;
}

int rs_call_status(struct restore *r, const char *method, const char *db,
		       const ProtobufCMessage *req)
{
	ProtobufCMessage *resp = NULL;
	int rc;

	rc = milvus_call(r->p->milvus, method, db, req, &milvus__proto__common__status__descriptor,
			 &resp, 0, &r->err);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

/* a transport failure, after which the server may or may not have acted */
int rs_maybe_done(int rc)
{
	return rc == -ETIMEDOUT || rc == -EPROTO || rc == -ECONNRESET || rc == -EHOSTUNREACH ||
	       rc == -ECONNREFUSED || rc == -EPIPE;
}

/* The key Milvus imports from for a unit file (the backup key, or its temporary copy). */
char *rs_import_key(struct restore *r, struct coll_state *cs, const char *backup_key)
{
	if (!*backup_key)
		return strdup("");
	if (!cs->temp)
		return strdup(backup_key);
	return rs_fmt("%s%s", cs->temp, backup_key + strlen(r->p->backup_prefix));
}

static const char *info(Milvus__Proto__Milvus__GetImportStateResponse *s, const char *k)
{
	size_t i;

	for (i = 0; i < s->n_infos; i++)
		if (s->infos[i]->key && !strcmp(s->infos[i]->key, k))
			return s->infos[i]->value ? s->infos[i]->value : "";
	return "";
}

static int import_unit(struct restore *r, struct coll_state *cs, const struct restore_unit *u)
{
	Milvus__Proto__Milvus__ImportRequest req = MILVUS__PROTO__MILVUS__IMPORT_REQUEST__INIT;
	Milvus__Proto__Milvus__ImportResponse *resp = NULL;
	Milvus__Proto__Common__KeyValuePair kv[8], *kvp[8];
	struct meta_kvs opts = { 0 };
	char *files[2] = { NULL, NULL };
	int64_t task;
	size_t i;
	int rc;

	for (i = 0; i < u->nfiles; i++)
		if (!(files[i] = rs_import_key(r, cs, u->files[i]))) {
			rc = -ENOMEM;
			goto out;
		}
	if ((rc = restore_import_options(u, cs->t->src, r->v23, &opts)))
		goto out;
	for (i = 0; i < opts.n && i < 8; i++) {
		milvus__proto__common__key_value_pair__init(&kv[i]);
		kv[i].key = opts.v[i].key;
		kv[i].value = opts.v[i].value;
		kvp[i] = &kv[i];
	}
	req.db_name = cs->t->db;
	req.collection_name = cs->t->coll;
	req.partition_name = u->partition;
	req.n_files = u->nfiles;
	req.files = files;
	req.n_options = i;
	req.options = kvp;
	/* not idempotent: no retry (milvus_methods marks Import so) */
	rc = milvus_call(r->p->milvus, "Import", cs->t->db, &req.base,
			 &milvus__proto__milvus__import_response__descriptor,
			 (ProtobufCMessage **)&resp, 0, &r->err);
	if (rc) {
		rc = job_fail(r->j, rc, "cannot import '%s' into '%s.%s': %s", u->files[0],
			      cs->t->db, cs->t->coll, r->err.msg);
		goto out;
	}
	if (!resp->n_tasks) {
		rc = job_fail(r->j, -EIO, "milvus Import of '%s' into '%s.%s' returned no task",
			      files[0], cs->t->db, cs->t->coll);
		goto out;
	}
	task = resp->tasks[0];
	for (long delay = 100;; delay = delay * 2 > rs_poll_max(r) ? rs_poll_max(r) : delay * 2) {
		Milvus__Proto__Milvus__GetImportStateRequest sr =
			MILVUS__PROTO__MILVUS__GET_IMPORT_STATE_REQUEST__INIT;
		Milvus__Proto__Milvus__GetImportStateResponse *s = NULL;
		int st;

		if ((rc = rs_nap(r->j, delay)))
			goto out;
		sr.task = task;
		rc = milvus_call(r->p->milvus, "GetImportState", cs->t->db, &sr.base,
				 &milvus__proto__milvus__get_import_state_response__descriptor,
				 (ProtobufCMessage **)&s, 0, &r->err);
		if (rc) {
			rc = job_fail(r->j, rc, "cannot follow import task %" PRId64 " of '%s.%s': %s",
				      task, cs->t->db, cs->t->coll, r->err.msg);
			goto out;
		}
		st = s->state;
		if (st == MILVUS__PROTO__COMMON__IMPORT_STATE__ImportFailed ||
		    st == MILVUS__PROTO__COMMON__IMPORT_STATE__ImportFailedAndCleaned) {
			char reason[512];

			snprintf(reason, sizeof(reason), "%s", info(s, "failed_reason"));
			protobuf_c_message_free_unpacked(&s->base, NULL);
			rc = job_fail(r->j, -EIO, "milvus import of '%s' into '%s.%s' failed: %s",
				      files[0], cs->t->db, cs->t->coll, reason);
			goto out;
		}
		protobuf_c_message_free_unpacked(&s->base, NULL);
		if (st == MILVUS__PROTO__COMMON__IMPORT_STATE__ImportCompleted)
			break;
	}
	job_add_done(r->j, 0, 1);
out:
	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	meta_kvs_release(&opts);
	free(files[0]);
	free(files[1]);
	return rc;
}

static int import_all(struct restore *r)
{
	size_t i, u;
	int rc;

	job_set_phase(r->j, "import");
	for (i = 0; i < r->ncs; i++)
		for (u = 0; u < r->cs[i].nunits; u++) {
			if (r->v23 && r->cs[i].units[u].l0)
				return job_fail(r->j, -ENOTSUP, "'%s.%s' has L0 deletes, which Milvus "
						"%s cannot import", r->cs[i].t->src->db_name,
						r->cs[i].t->src->collection_name,
						milvus_client_version(r->p->milvus));
			if ((rc = import_unit(r, &r->cs[i], &r->cs[i].units[u])))
				return rc;
		}
	return 0;
}

/* After a failure or cancel: drop what this job created, and say so. */
static void undo(struct restore *r, int rc)
{
	struct buf dropped = BUF_INIT(4096);
	size_t i;

	for (i = 0; i < r->ncs; i++) {
		struct errmsg e = { "" };

		if (!r->cs[i].created)
			continue;
		if (milvus_drop_collection(r->p->milvus, r->cs[i].t->db, r->cs[i].t->coll, &e) == 0) {
			buf_addf(&dropped, "%s'%s.%s'", dropped.len ? ", " : "", r->cs[i].t->db,
				    r->cs[i].t->coll);
			log_info("restore '%s': dropped the partly restored '%s.%s'", r->p->name,
				 r->cs[i].t->db, r->cs[i].t->coll);
		} else
			log_err("restore '%s': cannot drop the partly restored '%s.%s': %s",
				r->p->name, r->cs[i].t->db, r->cs[i].t->coll, e.msg);
	}
	if (dropped.len) {
		if (rc == -ECANCELED)
			job_fail(r->j, rc, "cancelled; dropped the partly restored %s", dropped.p);
		else
			job_fail_append(r->j, "; dropped the partly restored %s", dropped.p);
	} else if (rc == -ECANCELED)
		job_fail(r->j, rc, "cancelled");
	buf_release(&dropped);
}

static int run(struct restore *r)
{
	const char *ver;
	size_t i;
	int rc;

	ver = milvus_client_version(r->p->milvus);
	r->v23 = milvus_version_at_least(ver, 2, 4, 0) == 0;
	if (!(r->cs = calloc(r->p->ntargets ? r->p->ntargets : 1, sizeof(*r->cs))))
		return -ENOMEM;
	r->ncs = r->p->ntargets;
	for (i = 0; i < r->ncs; i++) {
		struct coll_state *cs = &r->cs[i];

		cs->t = &r->p->targets[i];
		if (!r->p->cmd.meta_only &&
		    (rc = restore_plan_collection(cs->t->src, r->p->backup_prefix, &cs->units,
						  &cs->nunits)))
			return rc;
		/* §1.9: at the bucket root, named after the job and the target */
		if (r->p->copy && !(cs->temp = rs_fmt("restore-temp-%s-%s-%s/", job_id(r->j),
						    cs->t->db, cs->t->coll)))
			return -ENOMEM;
	}
	/* §4.1 step 3, before the databases */
	if (r->p->cmd.rbac && (rc = restore_rbac_run(r->j, r->p->milvus, r->p->name,
						     r->p->meta.rbac_meta_json)))
		return rc;
	if ((rc = rs_databases(r)) || (rc = rs_collections(r)))
		return rc;
	if (!r->p->cmd.meta_only) {
		if ((rc = rs_list_units(r)) || (rc = rs_copy_all(r)) || (rc = import_all(r)))
			return rc;
	}
	if (r->p->cmd.index && (rc = rs_indexes(r)))
		return rc;
	if ((rc = rs_aliases(r)))
		return rc;
	if (r->p->cmd.load && (rc = rs_load(r)))
		return rc;
	return 0;
}

int restore_job(struct job *j, void *arg)
{
	struct restore r;
	size_t i;
	int rc, rc2;

	memset(&r, 0, sizeof(r));
	r.j = j;
	r.p = arg;
	rc = run(&r);
	if (rc == -ENOMEM)
		job_fail(j, rc, "out of memory");
	if (job_cancelled(j) && !rc)
		rc = -ECANCELED;
	if (rc)
		undo(&r, rc);
	job_set_phase(j, "cleanup");
	rc2 = rs_cleanup(&r);
	if (!rc && rc2)
		rc = job_fail(j, rc2, "restored, but the temporary objects under 's3://%s/restore-"
			      "temp-%s-…' could not all be removed (see the log)",
			      r.p->milvus_bucket, job_id(j));
	if (!rc)
		job_set_phase(j, "done");
	for (i = 0; i < r.nobjs; i++) {
		free(r.objs[i].src);
		free(r.objs[i].dst);
	}
	free(r.objs);
	for (i = 0; i < r.ncs; i++) {
		restore_units_free(r.cs[i].units, r.cs[i].nunits);
		free(r.cs[i].temp);
	}
	free(r.cs);
	return rc;
}
