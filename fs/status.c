/*
 * status.c - what the virtual files say: the root .info and .info.json (every backup), a
 * backup's .info, .info.json, .expires and .status (.restore: restore_ctl.c renders it).
 * Storage's view (namespace.h) is combined here, in one place, with this mount's jobs
 * (jobtable.h: creating, deleting, restoring, failed) and the expiry (autopilot.h), and
 * formatted by vfiles.h.  The root .info's summaries read for a getattr are kept for the
 * open that follows, so a `cat` reads them once.
 */
#include "mvbfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/fs/autopilot.h"
#include "mvbackupfs/fs/import.h"
#include "mvbackupfs/fs/restore_ctl.h"
#include "mvbackupfs/fs/vfiles.h"

/* What this mount's jobs say about `s` (spec §4: creating / deleting are in-memory).  The
 * items were copied *before* storage was read, so a job that ended meanwhile still shows. */
static void overlay_state(const struct jt_item *items, size_t n, struct ns_summary *s)
{
	const struct jt_item *it = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(items[i].name, s->name))
			it = &items[i];
	if (!it)
		return;
	if (it->kind == JT_SNAPSHOT && it->p.state == JOB_RUNNING && s->state != NS_STATE_COMPLETE)
		s->state = NS_STATE_CREATING;
	else if (it->kind == JT_SNAPSHOT && it->p.state == JOB_FAILED && s->state != NS_STATE_COMPLETE)
		s->state = NS_STATE_FAILED;
	else if (it->kind == JT_DELETE && it->p.state == JOB_RUNNING)
		s->state = NS_STATE_DELETING;
	else if (it->kind == JT_RESTORE && it->p.state == JOB_RUNNING)
		s->state = NS_STATE_RESTORING;
	else
		return;
	free(s->reason);
	s->reason = strdup(it->p.error);
}

static const char *job_state_word(enum jt_kind k, const struct job_progress *p)
{
	switch (p->state) {
	case JOB_RUNNING:
		return k == JT_SNAPSHOT ? "creating" : k == JT_RESTORE ? "restoring" : "deleting";
	case JOB_DONE:
		return k == JT_DELETE ? "deleted" : "complete";
	case JOB_FAILED:
		return "failed";
	case JOB_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

/* .status of a backup with a job on this mount. */
static int render_job_status(const struct job_progress *p, enum jt_kind k, struct buf *out)
{
	struct vstatus st = { 0 };

	st.state = job_state_word(k, p);
	st.job = p->id;
	st.phase = p->phase;
	st.bytes_done = p->bytes_done;
	st.bytes_total = p->bytes_total;
	st.items_done = p->items_done;
	st.items_total = p->items_total;
	st.rate_bps = p->rate_bps;
	st.eta_s = p->eta_s;
	st.started = p->started;
	st.updated = p->updated;
	st.error = p->error;
	return vfile_status(&st, out);
}

static void summaries_free(struct ns_summary *all, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ns_summary_release(&all[i]);
	free(all);
}

/*
 * The root .info is rendered once per `cat`, not twice: getattr reads every backup's summary
 * to report the size and leaves them here; the open that follows takes them if they are at
 * most ROOT_STASH_MS old and the namespace has not been invalidated since (a commit, a
 * delete, a finished job), and re-reads otherwise.  The job states are laid over again at
 * open, so a job started in between shows.
 */
#define ROOT_STASH_MS 1000

static void root_stash_put(struct mvbfs *m, struct ns_summary *all, size_t n)
{
	struct ns_summary *old;
	size_t nold;

	pthread_mutex_lock(&m->stash_lock);
	old = m->stash.all;
	nold = m->stash.n;
	m->stash.all = all;
	m->stash.n = n;
	m->stash.at_ms = mono_ms();
	m->stash.ns_gen = ns_generation(m->ns);
	pthread_mutex_unlock(&m->stash_lock);
	summaries_free(old, nold);
}

/* 1 and the stashed summaries (now the caller's) when they are current; else 0. */
static int root_stash_take(struct mvbfs *m, struct ns_summary **all, size_t *n)
{
	struct ns_summary *v = NULL;
	size_t nv = 0;
	int ok;

	pthread_mutex_lock(&m->stash_lock);
	ok = m->stash.all && mono_ms() - m->stash.at_ms <= ROOT_STASH_MS &&
	     m->stash.ns_gen == ns_generation(m->ns);
	if (ok) {
		*all = m->stash.all;
		*n = m->stash.n;
	} else {
		v = m->stash.all;
		nv = m->stash.n;
	}
	m->stash.all = NULL;
	m->stash.n = 0;
	pthread_mutex_unlock(&m->stash_lock);
	summaries_free(v, nv);
	return ok;
}

int status_render(struct mvbfs *m, enum vkind k, const char *name, struct buf *out,
		  uint64_t *changes, struct errmsg *err)
{
	struct job_progress p;
	struct jt_item *items = NULL;
	size_t nitems = 0;
	enum jt_kind jk;
	struct ns_summary s, *all = NULL;
	struct vstatus st = { 0 };
	size_t n = 0, i;
	int rc;

	switch (k) {
	case V_ROOT_INFO:
	case V_ROOT_INFO_JSON:
		rc = jobtable_items(m->jobs, &items, &nitems);
		if (rc)
			return rc;
		/* an open (changes != NULL) takes what its getattr just read, if still current */
		if (!changes || !root_stash_take(m, &all, &n))
			rc = ns_all_summaries(m->ns, &all, &n, err);
		if (rc) {
			free(items);
			return rc;
		}
		for (i = 0; i < n; i++) {
			overlay_state(items, nitems, &all[i]);
			autopilot_mark(&all[i]);
			if (all[i].state != NS_STATE_COMPLETE && import_active(m->imports, all[i].name))
				all[i].state = NS_STATE_IMPORTING;
		}
		free(items);
		rc = k == V_ROOT_INFO ? vfile_root_info(all, n, out) : vfile_root_info_json(all, n, out);
		if (!rc && k == V_ROOT_INFO)
			rc = autopilot_footer(m->autopilot, out);
		if (!changes)
			root_stash_put(m, all, n);	/* for the open that follows this getattr */
		else
			summaries_free(all, n);
		return rc;
	case V_BACKUP_INFO:
	case V_BACKUP_INFO_JSON:
	case V_BACKUP_STATUS:
	case V_BACKUP_EXPIRES:
	case V_BACKUP_RESTORE:
		if (k == V_BACKUP_RESTORE)
			return restore_ctl_render(m, name, out);
		if (k == V_BACKUP_STATUS) {
			jk = jobtable_get(m->jobs, name, &p);
			if (jk != JT_NONE) {
				if (changes)
					*changes = p.changes;
				return render_job_status(&p, jk, out);
			}
			rc = import_status(m->imports, name, out);	/* a copy in (fs/import.c) */
			if (rc != IMPORT_PASS)
				return rc;
		}
		rc = jobtable_items(m->jobs, &items, &nitems);
		if (rc)
			return rc;
		rc = ns_backup_summary(m->ns, name, &s, err);
		if (rc) {
			free(items);
			return rc;
		}
		overlay_state(items, nitems, &s);
		autopilot_mark(&s);
		free(items);
		if (s.state != NS_STATE_COMPLETE && import_active(m->imports, name))
			s.state = NS_STATE_IMPORTING;
		if (k == V_BACKUP_INFO)
			rc = vfile_backup_info(&s, out);
		else if (k == V_BACKUP_EXPIRES)
			rc = vfile_expires(&s, out);
		else if (k == V_BACKUP_INFO_JSON)
			rc = vfile_backup_info_json(&s, out);
		else {
			/* no job of this mount on it: what storage says, idle */
			st.state = ns_state_name(s.state);
			st.phase = "idle";
			st.eta_s = -1;
			st.bytes_done = st.bytes_total = s.state == NS_STATE_COMPLETE ? (uint64_t)s.size : 0;
			rc = vfile_status(&st, out);
		}
		ns_summary_release(&s);
		return rc;
	default:
		return -ENOENT;
	}
}

void status_stash_drop(struct mvbfs *m)
{
	summaries_free(m->stash.all, m->stash.n);
	m->stash.all = NULL;
	m->stash.n = 0;
}
