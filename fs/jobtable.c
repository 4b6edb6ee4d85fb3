/*
 * jobtable.c - jobs by backup name, and poll() wake-ups for .status (see jobtable.h).
 *
 * Locking: `t->lock` guards the entry list, the watch list and `closing`.  Job callbacks
 * (from job threads) take it only briefly to find watchers; no job function is ever called
 * with it held, except job_progress(), which takes the job's own lock (lock order: table,
 * job), and job_cancel() (an atomic flag).  Waking a poll()er (fuse_notify_poll) happens under `t->lock` and only
 * while `closing` is 0, so once jobtable_close() returns no job thread touches the FUSE
 * session any more (it may be destroyed).
 */
#define FUSE_USE_VERSION 35
#include "mvbackupfs/fs/jobtable.h"
#include "mvbackupfs/base/clock.h"

#include <errno.h>
#include <fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct entry {
	struct jobtable *t;
	char *name;
	enum jt_kind kind;
	struct job *job;
	/* set once the job has finished AND its finish callback has run (the mount's caches
	 * know); until then the entry counts as running, so readers never see a gap between
	 * "job over" and "storage re-read" */
	atomic_int settled;
	atomic_int finishing;	/* the finish callback runs once, whoever sees the end first */
	atomic_llong settled_ms;	/* CLOCK_MONOTONIC ms when it settled */
	struct entry *next;
};

static int active(struct entry *e)
{
	return !atomic_load(&e->settled);
}

static enum job_state job_state_of(struct entry *e)
{
	struct job_progress p;

	job_progress(e->job, &p);
	return p.state;
}

struct watch {
	const void *owner;
	char *name;
	struct fuse_pollhandle *ph;
	struct watch *next;
};

struct jobtable {
	pthread_mutex_t lock;	/* guards entries, watches */
	struct entry *entries;
	struct watch *watches;
	void (*finish_cb)(void *, const char *, enum jt_kind, enum job_state);
	void *finish_ctx;
	void (*forget_cb)(void *, const char *);
	void *forget_ctx;
	int closing;		/* jobtable_close ran: no wake-ups, no callbacks (under lock) */
};

int jobtable_new(struct jobtable **out)
{
	struct jobtable *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

static void entry_free(struct entry *e)
{
	job_free(e->job);	/* waits for the thread */
	free(e->name);
	free(e);
}

static void watches_free(struct watch *w)
{
	struct watch *wn;

	for (; w; w = wn) {
		wn = w->next;
		fuse_pollhandle_destroy(w->ph);	/* frees the handle only: no session access */
		free(w->name);
		free(w);
	}
}

void jobtable_close(struct jobtable *t)
{
	struct entry *e;
	struct watch *w;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->closing = 1;
	w = t->watches;
	t->watches = NULL;
	for (e = t->entries; e; e = e->next)
		job_cancel(e->job);
	pthread_mutex_unlock(&t->lock);
	watches_free(w);
}

void jobtable_free(struct jobtable *t)
{
	struct entry *e, *en;

	if (!t)
		return;
	jobtable_close(t);
	/* detach the entries: job threads that end now find an empty table and, with `closing`
	 * set, call nothing back; entry_free then joins each of them */
	pthread_mutex_lock(&t->lock);
	e = t->entries;
	t->entries = NULL;
	pthread_mutex_unlock(&t->lock);
	while (e) {
		en = e->next;
		entry_free(e);
		e = en;
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct entry **find(struct jobtable *t, const char *name)
{
	struct entry **pp;

	for (pp = &t->entries; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name))
			return pp;
	return NULL;
}

/* From the job's thread on every change: wake the watchers of that name. */
static void on_change(void *ctx)
{
	struct entry *e = ctx;
	struct jobtable *t = e->t;
	struct watch **pp;
	int finished = job_finished(e->job), closing;

	pthread_mutex_lock(&t->lock);
	closing = t->closing;	/* once set, the watch list stays empty */
	for (pp = &t->watches; *pp;) {
		struct watch *w = *pp;

		if (strcmp(w->name, e->name)) {
			pp = &w->next;
			continue;
		}
		fuse_notify_poll(w->ph);
		fuse_pollhandle_destroy(w->ph);
		*pp = w->next;
		free(w->name);
		free(w);
	}
	pthread_mutex_unlock(&t->lock);
	if (closing)
		return;	/* shutting down: the mount's caches are about to go */
	if (finished && !atomic_exchange(&e->finishing, 1)) {
		struct job_progress p;

		job_progress(e->job, &p);
		if (t->finish_cb)
			t->finish_cb(t->finish_ctx, e->name, e->kind, p.state);
		atomic_store(&e->settled_ms, mono_ms());
		atomic_store(&e->settled, 1);
	}
}

int jobtable_add(struct jobtable *t, const char *name, enum jt_kind kind, struct job *j)
{
	struct entry *e = calloc(1, sizeof(*e)), *old = NULL, **pp;

	if (!e)
		return -ENOMEM;
	e->t = t;
	e->kind = kind;
	e->job = j;
	e->name = strdup(name);
	if (!e->name) {
		free(e);
		return -ENOMEM;
	}
	pthread_mutex_lock(&t->lock);
	pp = find(t, name);
	if (pp && !job_finished((*pp)->job)) {
		pthread_mutex_unlock(&t->lock);
		free(e->name);
		free(e);
		return -EBUSY;
	}
	if (pp) {
		old = *pp;
		*pp = old->next;
	}
	e->next = t->entries;
	t->entries = e;
	pthread_mutex_unlock(&t->lock);
	job_set_notify(j, on_change, e);
	if (job_finished(j))
		on_change(e);	/* it may have finished before the callback was set */
	if (old)
		entry_free(old);
	return 0;
}

/* Detach finished deletes (the backup is gone: nothing more to show).  Called with the lock
 * held; the caller frees the returned list after unlocking (job_free joins the thread). */
static struct entry *prune_locked(struct jobtable *t)
{
	struct entry **pp, *dead = NULL;

	for (pp = &t->entries; *pp;) {
		struct entry *e = *pp;

		if (e->kind == JT_DELETE && !active(e) &&
		    (job_state_of(e) == JOB_DONE ||
		     mono_ms() - atomic_load(&e->settled_ms) > JT_GHOST_MS)) {
			*pp = e->next;
			e->next = dead;
			dead = e;
		} else {
			pp = &e->next;
		}
	}
	return dead;
}

static void free_list(struct jobtable *t, struct entry *e)
{
	while (e) {
		struct entry *n = e->next;

		if (e->kind == JT_DELETE && t->forget_cb)
			t->forget_cb(t->forget_ctx, e->name);
		entry_free(e);
		e = n;
	}
}

enum jt_kind jobtable_get(struct jobtable *t, const char *name, struct job_progress *p)
{
	struct entry **pp, *dead;
	enum jt_kind k = JT_NONE;

	pthread_mutex_lock(&t->lock);
	dead = prune_locked(t);
	pp = find(t, name);
	if (pp) {
		k = (*pp)->kind;
		if (p)
			job_progress((*pp)->job, p);
	}
	pthread_mutex_unlock(&t->lock);
	free_list(t, dead);
	return k;
}

int jobtable_items(struct jobtable *t, struct jt_item **out, size_t *n)
{
	struct entry *e;
	size_t count = 0, i = 0;
	struct jt_item *v;

	pthread_mutex_lock(&t->lock);
	for (e = t->entries; e; e = e->next)
		count++;
	v = calloc(count + 1, sizeof(*v));
	for (e = t->entries; v && e; e = e->next, i++) {
		snprintf(v[i].name, sizeof(v[i].name), "%s", e->name);
		v[i].kind = e->kind;
		job_progress(e->job, &v[i].p);
		if (active(e))
			v[i].p.state = JOB_RUNNING;	/* not settled yet: still what the mount shows */
	}
	pthread_mutex_unlock(&t->lock);
	if (!v)
		return -ENOMEM;
	*out = v;
	*n = count;
	return 0;
}

int jobtable_running(struct jobtable *t, const char *name, enum jt_kind kind)
{
	struct entry **pp;
	int r = 0;

	pthread_mutex_lock(&t->lock);
	pp = find(t, name);
	if (pp && (*pp)->kind == kind && active(*pp))
		r = 1;
	pthread_mutex_unlock(&t->lock);
	return r;
}

int jobtable_deleting(struct jobtable *t, const char *name)
{
	struct entry **pp, *dead;
	int r = 0;

	pthread_mutex_lock(&t->lock);
	dead = prune_locked(t);
	pp = find(t, name);
	if (pp && (*pp)->kind == JT_DELETE && (active(*pp) || job_state_of(*pp) == JOB_DONE))
		r = 1;
	pthread_mutex_unlock(&t->lock);
	free_list(t, dead);
	return r;
}

void jobtable_on_forget(struct jobtable *t, void (*cb)(void *ctx, const char *name), void *ctx)
{
	pthread_mutex_lock(&t->lock);
	t->forget_cb = cb;
	t->forget_ctx = ctx;
	pthread_mutex_unlock(&t->lock);
}

int jobtable_cancel(struct jobtable *t, const char *name)
{
	struct entry **pp;

	pthread_mutex_lock(&t->lock);
	pp = find(t, name);
	if (pp)
		job_cancel((*pp)->job);
	pthread_mutex_unlock(&t->lock);
	return pp ? 0 : -ENOENT;
}

int jobtable_cancel_wait(struct jobtable *t, const char *name)
{
	struct entry **pp;
	struct job *j = NULL;

	pthread_mutex_lock(&t->lock);
	pp = find(t, name);
	if (pp) {
		j = (*pp)->job;
		job_cancel(j);
	}
	pthread_mutex_unlock(&t->lock);
	/* the entry cannot be freed meanwhile: snapshot entries are only replaced or forgotten
	 * by mkdir/rmdir of the same name, which the caller serialises (name_lock in control.c),
	 * and pruning frees only deletes */
	return j ? job_wait(j) : -ENOENT;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **jobtable_names(struct jobtable *t, enum jt_kind kind)
{
	struct entry *e;
	size_t n = 0, i = 0;
	char **v;

	pthread_mutex_lock(&t->lock);
	for (e = t->entries; e; e = e->next)
		n++;
	v = calloc(n + 1, sizeof(*v));
	for (e = t->entries; v && e; e = e->next) {
		if (e->kind != kind || !active(e))
			continue;
		v[i] = strdup(e->name);
		if (v[i])
			i++;
	}
	pthread_mutex_unlock(&t->lock);
	if (v)
		qsort(v, i, sizeof(*v), cmp_str);
	return v;
}

void jobtable_names_free(char **names)
{
	size_t i;

	for (i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

/* Drop the watches of `owner`.  Called with t->lock held. */
static void unwatch_locked(struct jobtable *t, const void *owner)
{
	struct watch **pp;

	for (pp = &t->watches; *pp;) {
		struct watch *o = *pp;

		if (o->owner == owner) {
			*pp = o->next;
			fuse_pollhandle_destroy(o->ph);
			free(o->name);
			free(o);
		} else {
			pp = &o->next;
		}
	}
}

int jobtable_watch(struct jobtable *t, const char *name, const void *owner, uint64_t seen,
		   struct fuse_pollhandle *ph)
{
	struct watch *w = NULL;
	struct entry **pp;
	struct job_progress p;
	int rc = 0;

	if (ph) {
		w = calloc(1, sizeof(*w));
		if (!w || !(w->name = strdup(name))) {
			free(w);
			fuse_pollhandle_destroy(ph);
			return -ENOMEM;
		}
		w->owner = owner;
		w->ph = ph;
	}
	/* the check and the registration are one step under t->lock: a change counted after
	 * the check calls on_change, which needs t->lock, so it finds this watch (bug 8) */
	pthread_mutex_lock(&t->lock);
	pp = find(t, name);
	if (pp) {
		job_progress((*pp)->job, &p);
		if (p.changes != seen)
			rc = 1;
	}
	if (w)
		unwatch_locked(t, owner);	/* a newer poll() of the same file replaces it */
	if (w && !rc && !t->closing) {
		w->next = t->watches;
		t->watches = w;
		w = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	watches_free(w);	/* not registered: readable now, or shutting down */
	return rc;
}

void jobtable_unwatch(struct jobtable *t, const void *owner)
{
	pthread_mutex_lock(&t->lock);
	unwatch_locked(t, owner);
	pthread_mutex_unlock(&t->lock);
}

void jobtable_on_finish(struct jobtable *t, void (*cb)(void *ctx, const char *name,
						      enum jt_kind kind, enum job_state st),
			void *ctx)
{
	pthread_mutex_lock(&t->lock);
	t->finish_cb = cb;
	t->finish_ctx = ctx;
	pthread_mutex_unlock(&t->lock);
}
