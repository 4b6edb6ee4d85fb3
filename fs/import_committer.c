/*
 * import_committer.c - the committer thread of the import table: it collects finished
 * uploads, and once an import has been quiet (IMPORT_SETTLE_MS once it looks whole, else
 * IMPORT_QUIET_MS) commits it (import_commit.h decides whether the backup is whole and
 * verifies every binlog by one listing; the held meta files are written then,
 * full_meta.json last).  Locking: see import_internal.h.
 */
#include "import_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/crashpoint.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/format/backup_admin.h"
#include "mvbackupfs/format/sidecar.h"
#include "mvbackupfs/storage/upload.h"

/* The held files of `imp` (its state I_COMMITTING): the meta files into mf[*nmf] (and
 * full_meta.json's size), the sidecar, and the recorded mtimes into mt[*nmt]. */
static void collect_held(struct import *imp, struct import_meta *mf, size_t *nmf,
			 uint64_t *full_size, struct ifile **sidecar, struct relmt *mt, size_t *nmt)
{
	struct ifile *f;

	for (f = imp->files; f; f = f->next) {
		if (f->held && !strncmp(f->key_rel, "meta/", 5)) {
			mf[*nmf].name = f->key_rel + 5;
			mf[*nmf].data = f->data.p ? f->data.p : "";
			mf[*nmf].len = f->data.len;
			if (!strcmp(mf[*nmf].name, "full_meta.json"))
				*full_size = f->data.len;
			(*nmf)++;
		} else if (f->held) {
			*sidecar = f;
		}
		if (f->mtime) {
			mt[*nmt].rel = f->key_rel;
			mt[(*nmt)++].mtime = f->mtime;
		}
	}
}

#define NLEVELS 4

/*
 * The level meta files that are on storage already and not held: an earlier run of this copy
 * died in its commit after writing them, and the tool run again skipped them (rsync -a finds
 * them with their size and mtime; cp -n, rsync --ignore-existing).  They join the held ones
 * from there (stored[i] keeps the bytes; rewritten in the commit's order, the same bytes);
 * without them the plan waited for them for good.  0 or -errno (a read that failed).
 */
static int stored_levels(struct mvbfs *m, struct import *imp, struct import_meta *mf,
			 size_t *nmf, struct buf *stored, struct errmsg *e)
{
	static const char *const levels[NLEVELS] = { "backup_meta.json", "collection_meta.json",
						     "partition_meta.json", "segment_meta.json" };
	size_t i, j;

	for (i = 0; i < NLEVELS; i++) {
		char *key;
		int rc;

		for (j = 0; j < *nmf && strcmp(mf[j].name, levels[i]); j++)
			;
		if (j < *nmf)
			continue;
		if (asprintf(&key, "%smeta/%s", imp->prefix, levels[i]) < 0)
			return -ENOMEM;
		rc = objstore_get_all(m->store, key, &stored[i], e);
		free(key);
		if (rc == -ENOENT)
			continue;
		if (rc)
			return rc;
		mf[*nmf].name = levels[i];
		mf[*nmf].data = stored[i].p ? stored[i].p : "";
		mf[(*nmf)++].len = stored[i].len;
	}
	return 0;
}

/* Not committed yet (or failed): the reason for .status; 0 for -EAGAIN (try again), else rc. */
static int not_yet(struct import_table *t, struct import *imp, struct errmsg *e, int rc)
{
	pthread_mutex_lock(&t->lock);
	snprintf(imp->reason, sizeof(imp->reason), "%s", errmsg_str(e, rc));
	pthread_mutex_unlock(&t->lock);
	return rc == -EAGAIN ? 0 : rc;
}

/* The copied sidecar merged with our reservation (import_commit.h: expiry and origin kept,
 * TYPE copied, our job intact); ours stays when the copied one does not parse.  0 or -errno. */
static int write_sidecar(struct mvbfs *m, struct import *imp, struct ifile *sidecar,
			 struct errmsg *e)
{
	int rc;

	rc = import_commit_sidecar(m->store, imp->prefix, imp->job, sidecar->data.p ?
				   sidecar->data.p : "", sidecar->data.len, e);
	if (rc == 1)
		log_warn("copy into '%s': %s: keeping ours", imp->name, errmsg_str(e, rc));
	return rc == 1 ? 0 : rc;
}

/* Keep the mtimes of a committed copy for getattr (rsync's quick check). */
static void keep_mtimes(struct import_table *t, struct import *imp, const struct relmt *mt,
			size_t nmt, uint64_t full_size)
{
	struct relmt *v = calloc(nmt + 1, sizeof(*v));
	struct mtimes *nm;
	size_t i;

	for (i = 0; v && i < nmt; i++)
		v[i].rel = strdup(mt[i].rel), v[i].mtime = mt[i].mtime;
	nm = v ? imp_mtimes_build(imp->name, v, nmt) : NULL;
	if (nm) {
		nm->full_size = full_size;
		nm->late_until_ms = mono_ms() + IMPORT_LATE_MS;
		pthread_mutex_lock(&t->lock);
		nm->next = t->mt;
		t->mt = nm;
		pthread_mutex_unlock(&t->lock);
	}
}

/*
 * Try to commit `imp` (state I_COMMITTING, so nothing changes its files meanwhile; t->lock
 * NOT held).  Returns 1 when committed, 0 when not yet (imp->reason says why), -errno on a
 * failure that needs the user (also in imp->reason).
 */
static int try_commit(struct import_table *t, struct import *imp)
{
	struct mvbfs *m = t->m;
	struct import_meta *mf = NULL;
	struct import_need need = { 0 };
	struct obj_listing l = { 0 };
	struct errmsg e = { { 0 } };
	struct ifile *f, *sidecar = NULL;
	struct relmt *mt = NULL;
	size_t nmf = 0, nfiles = 0, nmt = 0, merged = 0, i, missing, *order = NULL;
	struct buf stored[NLEVELS];
	uint64_t full_size = 0;
	char job[64], *key = NULL;
	int rc;

	for (f = imp->files; f; f = f->next)
		nfiles++;
	for (i = 0; i < NLEVELS; i++)
		buf_init(&stored[i], HELD_MAX);
	mf = calloc(nfiles + NLEVELS + 1, sizeof(*mf));
	mt = calloc(nfiles + 1, sizeof(*mt));
	order = calloc(nfiles + NLEVELS + 1, sizeof(*order));
	if (!mf || !mt || !order) {
		rc = -ENOMEM;
		goto out;
	}
	collect_held(imp, mf, &nmf, &full_size, &sidecar, mt, &nmt);
	rc = stored_levels(m, imp, mf, &nmf, stored, &e);
	if (rc) {
		rc = not_yet(t, imp, &e, rc);
		goto out;
	}
	rc = import_plan(mf, nmf, imp->prefix, &need, &e);
	if (rc) {
		rc = not_yet(t, imp, &e, rc);
		goto out;
	}
	pthread_mutex_lock(&t->lock);
	imp->have_plan = 1;
	imp->expected_files = need.n + nmf + (sidecar ? 1 : 0);
	imp->expected_bytes = need.bytes;
	for (i = 0; i < nmf; i++)
		imp->expected_bytes += mf[i].len;
	pthread_mutex_unlock(&t->lock);
	/* spec §5.3: verified by listing, never by trusting write-behind */
	rc = objstore_list(m->store, imp->prefix, NULL, &l, &e);
	if (!rc)
		rc = import_verify(&need, &l, &missing, &e);
	if (rc) {
		rc = not_yet(t, imp, &e, rc);
		goto out;
	}
	/* the reservation must still be ours: a delete (any mount) re-marks the sidecar */
	rc = backup_sidecar_job(m->store, imp->prefix, job, &e);
	if (!rc && strcmp(job, imp->job)) {
		rc = errmsg_set(&e, -ESTALE, "the reservation of '%s' changed (sidecar job '%s', "
				"ours '%s'): deleted or taken over meanwhile; not committing",
				imp->name, job, imp->job);
	}
	if (!rc)
		rc = imp_write_mtimes(t, imp, full_size, mt, nmt, &merged, &e);
	if (!rc && sidecar)
		rc = write_sidecar(m, imp, sidecar, &e);
	/* level files first, the commit point last (milvus-backup-format.md §1.7) */
	import_write_order(mf, nmf, need.pre_v031, order);
	for (i = 0; !rc && i < nmf; i++) {
		const struct import_meta *x = &mf[order[i]];

		if (!strcmp(x->name, "full_meta.json"))
			(void)MVB_CRASH_POINT("import_meta_levels");
		if (asprintf(&key, "%smeta/%s", imp->prefix, x->name) < 0)
			rc = -ENOMEM;
		else
			rc = objstore_put(m->store, key, x->data, x->len, 0, &e);
		free(key);
		key = NULL;
	}
	if (rc) {
		pthread_mutex_lock(&t->lock);
		snprintf(imp->reason, sizeof(imp->reason), "cannot commit: %s", errmsg_str(&e, rc));
		pthread_mutex_unlock(&t->lock);
		log_err("copy into '%s': cannot commit: %s", imp->name, errmsg_str(&e, rc));
		goto out;
	}
	/* readers see `complete` from now on: before the import leaves the table, so that no
	 * write in between takes the backup for an incomplete one to continue */
	ns_invalidate(m->ns, imp->name);
	/* what a killed earlier run of this copy left open (invisible, but holding storage) */
	{
		size_t n_ab = 0;

		objstore_abort_uploads(m->store, imp->prefix, &n_ab, NULL);
	}
	log_info("copy into '%s' complete: %zu binlogs (%llu bytes) verified, %zu meta files "
		 "written%s", imp->name, need.n, (unsigned long long)need.bytes, nmf,
		 need.pre_v031 ? " (pre-v0.3.1 backup: level files only)" : "");
	/* with entries of an earlier run's record, getattr reads the whole record from storage */
	if (!merged)
		keep_mtimes(t, imp, mt, nmt, full_size);
	rc = 1;
out:
	for (i = 0; i < NLEVELS; i++)
		buf_release(&stored[i]);
	import_need_release(&need);
	obj_listing_release(&l);
	free(order);
	free(mt);
	free(mf);
	return rc;
}

/* Collect finished uploads of `imp` (t->lock held). */
static void reap_locked(struct import *imp)
{
	struct ifile *f;

	for (f = imp->files; f; f = f->next) {
		struct errmsg e = { { 0 } };
		int rc;

		/* a handle still open (fsync, a write after it) or a thread waiting for the
		 * upload without t->lock (rename, a rewrite) uses `up`: theirs to finish */
		if (f->state != F_UPLOADING || !f->up || f->opens > 0 || f->waiters > 0 ||
		    !upload_done(f->up))
			continue;
		rc = upload_wait(f->up, &e);
		upload_free(f->up);
		f->up = NULL;
		imp->dirty = 1;
		if (!rc) {
			f->state = F_DONE;
			continue;
		}
		f->state = F_FAILED;
		imp->failed++;
		snprintf(imp->reason, sizeof(imp->reason), "cannot write '%s': %s", f->path,
			 errmsg_str(&e, rc));
		log_err("copy into '%s': %s", imp->name, imp->reason);
	}
}

/*
 * How long `imp` must have been quiet before a commit is tried (t->lock held).  The full
 * IMPORT_QUIET_MS while the tool may still be between files; only IMPORT_SETTLE_MS once the
 * backup looks whole: full_meta.json is held and either the plan is not known yet (a try
 * learns it) or as many files as the plan expects are written.  A try commits only when the
 * listing verifies every binlog (try_commit), so an early try costs one listing, never a
 * half-written commit.  Without full_meta.json (a pre-v0.3.1 backup, or one whose
 * full_meta.json is still to come) the full quiet period stays: format-notes.md.
 */
static int64_t quiet_needed_locked(const struct import *imp)
{
	const struct ifile *f;
	uint64_t ready = 0;
	int full_meta = 0;

	for (f = imp->files; f; f = f->next) {
		if (f->state == F_DONE || f->state == F_HELD)
			ready++;
		if (f->held && !strcmp(f->key_rel, "meta/full_meta.json"))
			full_meta = 1;
	}
	if (full_meta && (!imp->have_plan || ready >= imp->expected_files))
		return IMPORT_SETTLE_MS;
	return IMPORT_QUIET_MS;
}

static int quiet_locked(struct import *imp)
{
	struct ifile *f;

	int due = imp->dirty || (imp->retry_ms && mono_ms() >= imp->retry_ms);

	if (!due || imp->failed || mono_ms() - imp->activity_ms < IMPORT_SETTLE_MS)
		return 0;
	for (f = imp->files; f; f = f->next)
		if (f->opens > 0 || f->state == F_UPLOADING || f->state == F_OPEN)
			return 0;
	if (mono_ms() - imp->activity_ms < quiet_needed_locked(imp))
		return 0;
	/*
	 * A file still under a copy tool's temporary name (rsync's .NAME.XXXXXX) is not there
	 * yet: the tool sets its times and renames it next.  Its bytes already go to the final
	 * key, so a commit now would find the backup whole and commit it between rsync's
	 * close() and its utimens()/rename(): the file's mtime missing from the record, the
	 * rename refused with EROFS (a loaded host's 100 ms pause there was enough).
	 */
	for (f = imp->files; f; f = f->next)
		if (strcmp(f->path, f->key_rel)) {
			snprintf(imp->reason, sizeof(imp->reason), "waiting for '%s' to be renamed "
				 "to '%s' (a copy tool's temporary file)", f->path, f->key_rel);
			return 0;
		}
	return 1;
}

/* A failed commit attempt worth repeating: the store's trouble (timeouts, 5xx after the
 * retries, a lost connection), not a refusal that stays (ESTALE: the reservation changed;
 * EINVAL/EBADMSG: meta that does not parse) */
static int retryable(int rc)
{
	return rc != -ESTALE && rc != -EINVAL && rc != -EBADMSG && rc != -EROFS;
}

/* 1 s after the first failed attempt, doubling, at most IMPORT_RETRY_MAX_MS */
static int64_t retry_wait_ms(unsigned tries)
{
	int64_t w = 1000;

	while (--tries > 0 && w < IMPORT_RETRY_MAX_MS)
		w *= 2;
	return w < IMPORT_RETRY_MAX_MS ? w : IMPORT_RETRY_MAX_MS;
}

/* The committer's poll period (t->lock held): short while a copy is changing, so that its
 * commit follows its last upload closely (spec §8 copy time); 200 ms otherwise. */
static long committer_tick_ms_locked(const struct import_table *t)
{
	const struct import *imp;

	for (imp = t->list; imp; imp = imp->next)
		if (imp->dirty && !imp->failed)
			return 25;
	return 200;
}

void *imp_committer(void *arg)
{
	struct import_table *t = arg;
	struct import *imp;

	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		struct timespec ts;

		for (imp = t->list; imp; imp = imp->next)
			reap_locked(imp);
		for (imp = t->list; imp; imp = imp->next) {
			int rc;

			if (imp->state != I_IMPORTING || !quiet_locked(imp))
				continue;
			imp->state = I_COMMITTING;
			imp->dirty = 0;
			imp->retry_ms = 0;
			pthread_mutex_unlock(&t->lock);
			rc = try_commit(t, imp);
			pthread_mutex_lock(&t->lock);
			imp->state = I_IMPORTING;
			if (rc < 0 && retryable(rc)) {
				/* the store failed this attempt (its retries spent): the
				 * copy is whole or not whatever happened, so try again
				 * later by itself; a write meanwhile tries sooner */
				int64_t wait = retry_wait_ms(++imp->failed_tries);

				imp->retry_ms = mono_ms() + wait;
				log_warn("copy into '%s': %s; trying the commit again in "
					 "%lld ms", imp->name, imp->reason, (long long)wait);
			} else {
				imp->failed_tries = 0;
			}
			if (rc == 1) {
				imp_unlist_locked(t, imp);
				imp_free(imp);
				pthread_cond_broadcast(&t->cv);
			} else {
				pthread_cond_broadcast(&t->cv);
			}
			break;	/* the list may have changed while unlocked */
		}
		ts = deadline_in_ms(CLOCK_REALTIME, committer_tick_ms_locked(t));
		pthread_cond_timedwait(&t->cv, &t->lock, &ts);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}
