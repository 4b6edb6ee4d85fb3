/*
 * autopilot.c - automatic snapshots, expiry deletion and .expires (see autopilot.h).
 *
 * Locking: `a->lock` guards stop, poke, the holds, the warned names and the schedule's
 * status (next_slot, last_*).  The worker never holds it across I/O or calls into fsops.
 */
#include "mvbackupfs/fs/autopilot.h"
#include "mvbfs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/storage/s3.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/base/schedule.h"
#include "mvbackupfs/base/timefmt.h"
#include "mvbackupfs/format/backup_admin.h"
#include "mvbackupfs/format/expiry.h"

#define SCAN_S		60	/* look for expired backups at least this often */
#define BUSY_SCAN_S	5	/* again soon when an expired backup was in use */
#define FIRST_SCAN_S	10	/* after mounting: the first ls and cat .info come first */
#define HOLD_LINGER_MS	60000	/* released this recently: still in use (cp -r between files) */

struct hold {
	char name[256];
	int n;			/* open handles / holders */
	int64_t released_ms;	/* monotonic ms of the last release */
};

struct autopilot {
	struct mvbfs *m;
	pthread_t thread;
	int started;
	pthread_mutex_t lock;	/* guards everything below but sched/has_schedule/owner/deleting */
	pthread_cond_t cond;	/* stop or poke */
	int stop, poke;
	struct hold *holds;
	size_t nholds, cap_holds;
	char **warned;		/* names already warned about (keep_min, delete_expired false) */
	size_t nwarned, cap_warned;
	int64_t next_slot;	/* -1 none */
	char last_auto[32];	/* the name of the last slot this mount ran, "" none */
	char last_error[512];	/* why that slot did not start, "" when it did */
	int last_remote;	/* another mount took that slot (its reservation won) */
	/* set once at start, then read-only */
	struct schedule sched;
	int has_schedule;
	char owner[96];		/* this mount, in delete claims */
	/* the worker's own */
	char deleting[256];	/* the expired backup whose delete this worker started */
	int64_t last_slot;	/* the last slot considered (run, taken elsewhere, skipped) */
	int64_t next_scan;
};

static struct hold *hold_find_locked(struct autopilot *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nholds; i++)
		if (!strcmp(a->holds[i].name, name))
			return &a->holds[i];
	return NULL;
}

void autopilot_hold(struct autopilot *a, const char *name)
{
	struct hold *h;

	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	h = hold_find_locked(a, name);
	if (!h && !ARRAY_GROW(a->holds, a->nholds, a->cap_holds, 8)) {
		h = &a->holds[a->nholds++];
		memset(h, 0, sizeof(*h));
		snprintf(h->name, sizeof(h->name), "%s", name);
	}
	if (h)
		h->n++;
	pthread_mutex_unlock(&a->lock);
}

void autopilot_unhold(struct autopilot *a, const char *name)
{
	struct hold *h;
	int64_t now = mono_ms();
	size_t i = 0;

	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	h = hold_find_locked(a, name);
	if (h && h->n > 0) {
		h->n--;
		h->released_ms = now;
	}
	/* drop entries idle for longer than the linger time (bounded table) */
	while (i < a->nholds) {
		if (!a->holds[i].n && now - a->holds[i].released_ms > HOLD_LINGER_MS)
			a->holds[i] = a->holds[--a->nholds];
		else
			i++;
	}
	pthread_mutex_unlock(&a->lock);
}

int autopilot_busy(struct mvbfs *m, const char *name)
{
	struct autopilot *a = m->autopilot;
	struct job_progress p;
	struct hold *h;
	int busy = 0;

	if (jobtable_get(m->jobs, name, &p) != JT_NONE && p.state == JOB_RUNNING)
		return 1;
	if (!a)
		return 0;
	pthread_mutex_lock(&a->lock);
	h = hold_find_locked(a, name);
	if (h && (h->n > 0 || mono_ms() - h->released_ms <= HOLD_LINGER_MS))
		busy = 1;
	pthread_mutex_unlock(&a->lock);
	return busy;
}

void autopilot_mark(struct ns_summary *s)
{
	s->expired = s->state == NS_STATE_COMPLETE && s->expires > 0 && s->expires <= mvb_now();
}

void autopilot_poke(struct autopilot *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->poke = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

/* Log `msg` about `name` once per mount (a scan every minute must not repeat it). */
static void warn_once(struct autopilot *a, const char *name, int warn, const char *msg)
{
	size_t i;
	int seen = 0;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->nwarned && !seen; i++)
		seen = !strcmp(a->warned[i], name);
	if (!seen && !ARRAY_GROW(a->warned, a->nwarned, a->cap_warned, 8)) {
		a->warned[a->nwarned] = strdup(name);
		if (a->warned[a->nwarned])
			a->nwarned++;
	}
	pthread_mutex_unlock(&a->lock);
	if (seen)
		return;
	if (warn)
		log_warn("%s", msg);
	else
		log_info("%s", msg);
}

/* ------------------------------------------------------------------ the schedule */

/*
 * Is the automatic snapshot of the previous slot still running - on this mount (its job), or
 * on another one (its name exists, uncommitted, and no job of ours ran it)?  A crashed run
 * elsewhere looks the same; it holds up one slot only, since the slot after compares with
 * the skipped one, which does not exist.
 */
static int previous_running(struct autopilot *a, const char *prev)
{
	struct mvbfs *m = a->m;
	struct ns_summary s = { 0 };
	struct errmsg e = { { 0 } };
	int running = 0;

	if (jobtable_get(m->jobs, prev, NULL) != JT_NONE)
		return jobtable_running(m->jobs, prev, JT_SNAPSHOT);
	ns_invalidate(m->ns, prev);
	if (ns_backup_summary(m->ns, prev, &s, &e) == 0 && s.state != NS_STATE_COMPLETE)
		running = 1;
	ns_summary_release(&s);
	ns_invalidate(m->ns, prev);	/* as scan(): no stale view left for a user's lookup */
	return running;
}

static void run_slot(struct autopilot *a, int64_t slot, int64_t prev_slot)
{
	struct mvbfs *m = a->m;
	char name[32], prev[32], msg[512] = "";
	int rc;

	schedule_snapshot_name(slot, name);
	if (prev_slot > 0) {
		schedule_snapshot_name(prev_slot, prev);
		if (previous_running(a, prev)) {
			log_warn("schedule: slot '%s' skipped: the previous automatic snapshot '%s' is "
				 "still running", name, prev);
			return;
		}
	}
	rc = snapshot_start(m, name, SIDECAR_KIND_SCHEDULED);
	if (rc == 0) {
		log_info("schedule: automatic snapshot '%s' started", name);
	} else if (rc == -EEXIST) {
		/* spec §6: the name reservation decides between mounts with one schedule */
		log_info("schedule: '%s' exists already (another mount with the same schedule "
			 "took this slot)", name);
	} else {
		snprintf(msg, sizeof(msg), "could not start: %s", strerror(-rc));
		log_err("schedule: automatic snapshot '%s' %s (see above); the next slot tries "
			"again", name, msg);
	}
	pthread_mutex_lock(&a->lock);
	memcpy(a->last_auto, name, sizeof(a->last_auto));
	snprintf(a->last_error, sizeof(a->last_error), "%s", msg);
	a->last_remote = rc == -EEXIST;
	pthread_mutex_unlock(&a->lock);
}

int autopilot_footer(struct autopilot *a, struct buf *out)
{
	struct job_progress p;
	char next[32] = "-", last[32], err[512], spec[128];
	int64_t next_slot;
	int rc = 0, remote;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->lock);
	next_slot = a->next_slot;
	memcpy(last, a->last_auto, sizeof(last));
	memcpy(err, a->last_error, sizeof(err));
	remote = a->last_remote;
	pthread_mutex_unlock(&a->lock);
	if (!a->has_schedule && !last[0])
		return 0;
	snprintf(spec, sizeof(spec), "%s", a->m->cfg->fs.schedule ? a->m->cfg->fs.schedule : "");
	text_sanitize(spec);
	if (next_slot > 0)
		rfc3339_format(next_slot, next);
	rc = buf_addf(out, "\nschedule:  %s (local time), next %s", spec,
		      a->m->read_only ? "- (read-only mount)" : next);
	if (!rc && last[0]) {
		if (remote) {
			snprintf(err, sizeof(err), "taken by another mount");
		} else if (!err[0] && jobtable_get(a->m->jobs, last, &p) == JT_SNAPSHOT) {
			if (p.state == JOB_FAILED || p.state == JOB_CANCELLED)
				snprintf(err, sizeof(err), "%s: %.400s", job_state_name(p.state),
					 p.error);
			else
				snprintf(err, sizeof(err), "%s", p.state == JOB_RUNNING ? "creating" :
					 "complete");
		} else if (err[0]) {
			char tmp[512];

			snprintf(tmp, sizeof(tmp), "failed: %s", err);
			memcpy(err, tmp, sizeof(err));
		} else {
			snprintf(err, sizeof(err), "started");
		}
		text_sanitize(err);
		rc = buf_addf(out, "\nlast run:  %s %s", last, err);
	}
	return rc ? rc : buf_adds(out, "\n");
}

/* ------------------------------------------------------------------ expiry */

/* Delete expired backup `name` (spec §5.5 path), unless another mount claims it first. */
static void delete_one(struct autopilot *a, const char *name, int64_t now)
{
	struct mvbfs *m = a->m;
	struct errmsg e = { { 0 } };
	struct obj_entry ent = { 0 };
	struct sidecar sc;
	char *prefix = NULL, *full = NULL, when[32] = "?";
	int rc;

	if (asprintf(&prefix, "%s%s/", ns_root_prefix(m->ns), name) < 0 ||
	    asprintf(&full, "%smeta/full_meta.json", prefix) < 0)
		goto out;
	/* what storage says now: another mount (or tool) may have changed the expiry */
	rc = backup_sidecar_get(m->store, prefix, &sc, &e);
	if (rc || !sc.expires || sc.expires > now) {
		ns_invalidate(m->ns, name);
		goto out;
	}
	rfc3339_format(sc.expires, when);
	/* committed still?  Once another mount's delete removed the meta, it is not ours */
	rc = objstore_head(m->store, full, &ent, &e);
	obj_entry_release(&ent);
	if (rc)
		goto out;
	rc = backup_claim_expired(m->store, prefix, a->owner, now, &e);
	if (rc == -EEXIST) {
		log_info("expired backup '%s' is being deleted by another mount", name);
		goto out;
	}
	if (rc) {
		log_err("cannot delete expired backup '%s': %s", name, errmsg_str(&e, rc));
		goto out;
	}
	rc = objstore_head(m->store, full, &ent, &e);
	obj_entry_release(&ent);
	if (rc) {
		backup_unclaim(m->store, prefix);	/* deleted meanwhile by another mount */
		goto out;
	}
	log_info("deleting backup '%s': it expired at %s", name, when);
	rc = delete_backup(m, name);
	if (rc) {
		log_err("cannot delete expired backup '%s': %s", name, strerror(-rc));
		backup_unclaim(m->store, prefix);
		goto out;
	}
	snprintf(a->deleting, sizeof(a->deleting), "%s", name);
out:
	free(prefix);
	free(full);
}

static void scan(struct autopilot *a, int64_t now)
{
	struct mvbfs *m = a->m;
	struct errmsg e = { { 0 } };
	struct ns_summary *all = NULL;
	struct expiry_backup *v = NULL;
	enum expiry_verdict *verdict = NULL;
	struct s3_stats st0, st1;
	size_t n = 0, i;
	int deleted = 0, rc;

	a->next_scan = now + SCAN_S;
	s3_store_stats(m->store, &st0);
	rc = ns_all_summaries(m->ns, &all, &n, &e);
	s3_store_stats(m->store, &st1);
	/* one listing + the sidecars that changed, not a HEAD per backup (fs/ns_sidecar.c) */
	log_debug("expiry scan: %zu backups, %llu store requests", n,
		  (unsigned long long)(st1.requests - st0.requests));
	if (rc) {
		log_warn("expiry: cannot list the backups: %s", errmsg_str(&e, rc));
		return;
	}
	if (!n)
		goto out;
	v = calloc(n, sizeof(*v));
	verdict = calloc(n, sizeof(*verdict));
	if (!v || !verdict)
		goto out;
	for (i = 0; i < n; i++) {
		v[i].name = all[i].name;
		v[i].complete = all[i].state == NS_STATE_COMPLETE &&
				!jobtable_deleting(m->jobs, all[i].name);
		v[i].created = all[i].created;
		v[i].expires = all[i].expires;
		v[i].busy = autopilot_busy(m, all[i].name);
		if (v[i].complete && v[i].expires > now && v[i].expires < a->next_scan)
			a->next_scan = v[i].expires;
	}
	expiry_plan(v, n, now, m->cfg->fs.keep_min, verdict);
	for (i = 0; i < n; i++) {
		char when[32] = "?", msg[512];

		if (verdict[i] == EXPIRY_KEEP)
			continue;
		rfc3339_format(v[i].expires, when);
		switch (verdict[i]) {
		case EXPIRY_HELD_KEEP_MIN:
			snprintf(msg, sizeof(msg), "backup '%s' expired at %s but is kept: it is one "
				 "of the newest %d complete backups (mvbackupfs.keep_min)", v[i].name,
				 when, m->cfg->fs.keep_min);
			warn_once(a, v[i].name, 1, msg);
			break;
		case EXPIRY_HELD_BUSY:
			snprintf(msg, sizeof(msg), "backup '%s' expired at %s but is in use (a job "
				 "or a reader on it); it is deleted once free", v[i].name, when);
			warn_once(a, v[i].name, 0, msg);
			if (a->next_scan > now + BUSY_SCAN_S)
				a->next_scan = now + BUSY_SCAN_S;
			break;
		case EXPIRY_DELETE:
			if (!m->cfg->fs.auto_delete) {
				snprintf(msg, sizeof(msg), "backup '%s' expired at %s; not deleted "
					 "(mvbackupfs.delete_expired is false)", v[i].name, when);
				warn_once(a, v[i].name, 0, msg);
			} else if (!deleted) {
				/* one at a time: the next scan comes once this delete is done */
				delete_one(a, v[i].name, now);
				deleted = 1;
				a->next_scan = now;
			}
			break;
		default:
			break;
		}
	}
out:
	/*
	 * Leave the cache as a user's lookups would find it without this scan: the root listing
	 * and uncommitted backups are re-read at their next use (a backup another mount made
	 * or committed meanwhile shows at once, not a TTL later); complete ones stay cached.
	 */
	for (i = 0; i < n; i++) {
		if (all[i].state != NS_STATE_COMPLETE)
			ns_invalidate(m->ns, all[i].name);
		ns_summary_release(&all[i]);
	}
	ns_root_stale(m->ns);
	free(all);
	free(v);
	free(verdict);
}

static void *worker(void *arg)
{
	struct autopilot *a = arg;
	struct mvbfs *m = a->m;

	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		int64_t now, slot;
		int poked = a->poke;
		struct timespec ts;

		a->poke = 0;
		slot = a->next_slot;
		pthread_mutex_unlock(&a->lock);

		now = mvb_now();
		if (a->has_schedule && slot > 0 && now >= slot) {
			int64_t s = slot, t, prev = a->last_slot;

			/* slots missed while suspended (or a test moving the clock): the latest */
			while ((t = schedule_next(&a->sched, s)) > 0 && t <= now) {
				prev = s;
				s = t;
			}
			run_slot(a, s, prev);
			a->last_slot = s;
			pthread_mutex_lock(&a->lock);
			a->next_slot = schedule_next(&a->sched, now);
			pthread_mutex_unlock(&a->lock);
		}
		if (a->deleting[0] && !jobtable_running(m->jobs, a->deleting, JT_DELETE))
			a->deleting[0] = '\0';
		if (!a->deleting[0] && (poked || now >= a->next_scan))
			scan(a, now);

		pthread_mutex_lock(&a->lock);
		if (a->stop || a->poke)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&a->cond, &a->lock, &ts);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int autopilot_start(struct mvbfs *m, struct autopilot **out, struct errmsg *err)
{
	struct autopilot *a;
	char host[64] = "";
	int rc;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return errmsg_set(err, -ENOMEM, "out of memory");
	a->m = m;
	a->next_slot = -1;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	gethostname(host, sizeof(host) - 1);
	snprintf(a->owner, sizeof(a->owner), "%s pid %ld mounted %lld", host, (long)getpid(),
		 (long long)m->mounted_at);
	if (m->cfg->fs.schedule && *m->cfg->fs.schedule) {
		rc = schedule_parse(m->cfg->fs.schedule, &a->sched, err);
		if (rc) {
			autopilot_free(a);
			return rc;
		}
		a->has_schedule = 1;
		a->next_slot = schedule_next(&a->sched, mvb_now());
	}
	if (a->has_schedule) {
		char next[32] = "-";

		if (a->next_slot > 0)
			rfc3339_format(a->next_slot, next);
		log_info("schedule '%s': next automatic snapshot at %s%s", m->cfg->fs.schedule,
			 next, m->read_only ? " (not taken: read-only mount)" : "");
	}
	a->next_scan = mvb_now() + FIRST_SCAN_S;
	*out = a;	/* before the worker starts: it finds itself through m->autopilot */
	if (!m->read_only) {
		rc = pthread_create(&a->thread, NULL, worker, a);
		if (rc) {
			*out = NULL;
			autopilot_free(a);
			return errmsg_set(err, -rc, "cannot start the expiry worker: %s",
					  strerror(rc));
		}
		a->started = 1;
	}
	return 0;
}

void autopilot_stop(struct autopilot *a)
{
	if (!a || !a->started)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	a->started = 0;
}

void autopilot_free(struct autopilot *a)
{
	size_t i;

	if (!a)
		return;
	autopilot_stop(a);
	for (i = 0; i < a->nwarned; i++)
		free(a->warned[i]);
	free(a->warned);
	free(a->holds);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a);
}

/* ------------------------------------------------------------------ .expires */

int autopilot_expires_write(struct mvbfs *m, const char *name, const char *data, size_t size,
			    off_t off)
{
	struct errmsg e = { { 0 } };
	struct ns_summary s = { 0 };
	char text[128], when[32] = "never";
	char *prefix = NULL;
	int64_t t;
	int rc;

	if (off != 0 || size >= sizeof(text)) {
		log_err("cannot set the expiry of '%s': write one value at the start of .expires",
			name);
		return -EINVAL;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	if (memchr(data, '\0', size) || timefmt_parse_expiry(text, mvb_now(), &t)) {
		size_t n = strlen(text);

		while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
			text[--n] = '\0';	/* the shell's newline */
		text_sanitize(text);
		log_err("cannot set the expiry of '%s' to '%s': expected never, a duration from now "
			"(90m, 36h, 7d) or a future RFC 3339 time (2030-01-31T02:00:00Z)", name,
			text);
		return -EINVAL;
	}
	if (jobtable_deleting(m->jobs, name))
		return -ENOENT;
	if (jobtable_running(m->jobs, name, JT_SNAPSHOT)) {
		log_err("cannot set the expiry of '%s': it is not complete yet (creating)", name);
		return -EAGAIN;
	}
	rc = ns_backup_summary(m->ns, name, &s, &e);
	if (rc) {
		if (rc != -ENOENT)
			log_err("cannot set the expiry of '%s': %s", name, errmsg_str(&e, rc));
		return rc;
	}
	if (s.state != NS_STATE_COMPLETE) {
		log_err("cannot set the expiry of '%s': it is %s, not complete", name,
			ns_state_name(s.state));
		rc = -EAGAIN;
		goto out;
	}
	if (asprintf(&prefix, "%s%s/", ns_root_prefix(m->ns), name) < 0) {
		prefix = NULL;
		rc = -ENOMEM;
		goto out;
	}
	rc = backup_set_expires(m->store, prefix, t, &e);
	ns_invalidate(m->ns, name);
	if (rc) {
		log_err("cannot set the expiry of '%s': %s", name, errmsg_str(&e, rc));
		goto out;
	}
	if (t)
		rfc3339_format(t, when);
	log_info("expiry of backup '%s' set to %s", name, when);
	autopilot_poke(m->autopilot);
	rc = (int)size;
out:
	ns_summary_release(&s);
	free(prefix);
	return rc;
}
