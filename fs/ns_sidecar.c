/*
 * ns_sidecar.c - keeping the sidecar part of a committed backup's summary (expiry, TYPE)
 * current without re-reading the backup (issue 9: `.expires` set on one mount of a bucket
 * shows on the others; the expiry worker's scan costs about one listing).
 *
 * A committed backup's summary is read once (backup_resolve) and kept: its meta never
 * changes.  Its sidecar does (an `.expires` write, on any mount).  Two ways notice it:
 *
 *   - backup_sidecar_refresh (per backup: `.expires`, `.info`, `.info.json`): at most once
 *     per cache TTL (mvbackupfs.cache.ttlMs, 2 s) one HEAD of mvbackupfs.json; only when its
 *     ETag differs from the one last seen is it read again (one GET).  So another mount's
 *     `.expires` shows here within the TTL, at one small request per TTL per backup read.
 *   - ns_refresh_listed (every backup: the expiry worker's scan, the root `.info`): ONE
 *     listing of the root with the delimiter "/binlogs/" (S3 rolls each backup's binlogs up
 *     into one common prefix, so the listing holds only the meta files and sidecars, about 8
 *     keys a backup: one page per ~125 backups) gives every full_meta.json's and sidecar's
 *     ETag.  Unchanged commit objects spare the per-backup HEAD of backup_revalidate; a
 *     changed sidecar is read again (one GET); a changed or vanished full_meta.json makes the
 *     backup be read again at its next use.  With 200 backups: 1-2 list pages instead of
 *     200 HEADs.
 *
 * The "signature" of a sidecar is its ETag, or "size:mtime" from stores that give none.
 *
 * A copy's sidecar as it arrived (sidecar_view.c) is kept with the signature it was read at
 * (backup_sidecar_view): a stat, a readdirplus entry or an open of NAME/mvbackupfs.json costs
 * no request until one of the checks above sees the sidecar change.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_internal.h"

#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/format/expiry.h"
#include "mvbackupfs/format/sidecar.h"

#define LISTED_DELIM	"/binlogs/"

void sidecar_sig(const struct obj_entry *e, char out[72])
{
	if (!e)
		out[0] = '\0';
	else if (e->etag[0])
		snprintf(out, 72, "%s", e->etag);
	else
		snprintf(out, 72, "%llu:%lld", (unsigned long long)e->size, (long long)e->mtime);
}

/* The tree's entry of the sidecar follows `e` (NULL: gone), so that a stat or read of
 * NAME/mvbackupfs.json sees the object's new size, not the one listed before. */
static void tree_follow(struct backup *b, const struct obj_entry *e)
{
	struct node *nd = (struct node *)tree_find(&b->tree, SIDECAR_NAME);

	if (!b->tree_valid || !e)
		return;
	if (nd) {
		nd->size = e->size;
		nd->mtime = e->mtime;
	} else if (tree_insert(&b->tree, SIDECAR_NAME, e) == 0) {
		tree_sort(&b->tree);
	}
}

/* Read the sidecar again and put it into b->sum (b->lock held); `e` is what the HEAD or
 * listing said of it (NULL: absent).  0, or the store's error (then nothing changed and the
 * next check tries again). */
static int reread(struct ns *n, struct backup *b, const char *sig, const struct obj_entry *ent)
{
	struct errmsg e = { { 0 } };
	struct sidecar sc;
	char *prefix = NULL;
	int rc;

	if (asprintf(&prefix, "%s%s/", n->prefix, b->name) < 0)
		return -ENOMEM;
	rc = backup_sidecar_get(n->store, prefix, &sc, &e);
	free(prefix);
	if (rc && rc != -ENOENT && rc != -EIO) {
		log_warn("backup '%s': cannot read its %s again: %s", b->name, SIDECAR_NAME,
			 errmsg_str(&e, rc));
		return rc;
	}
	if (b->sum.expires != (rc ? 0 : sc.expires))
		log_info("backup '%s': its expiry changed (%s changed on the server)", b->name,
			 SIDECAR_NAME);
	b->sum.expires = rc ? 0 : sc.expires;
	b->sum.type = ns_type_of(!rc, sc.kind);
	tree_follow(b, ent);
	snprintf(b->sidecar_sig, sizeof(b->sidecar_sig), "%s", sig);
	b->sidecar_at_ms = mono_ms();
	return 0;
}

void backup_sidecar_refresh(struct ns *n, struct backup *b)
{
	struct obj_entry e = { 0 };
	char *key = NULL, sig[72];
	int rc;

	if (!b->resolved || b->sum.state != NS_STATE_COMPLETE || atomic_load(&b->pinned) ||
	    mono_ms() - b->sidecar_at_ms < n->cfg.ttl_ms)
		return;
	if (asprintf(&key, "%s%s/%s", n->prefix, b->name, SIDECAR_NAME) < 0)
		return;
	rc = objstore_head(n->store, key, &e, NULL);
	free(key);
	if (rc == 0 || rc == -ENOENT) {
		sidecar_sig(rc ? NULL : &e, sig);
		if (strcmp(sig, b->sidecar_sig))
			reread(n, b, sig, rc ? NULL : &e);
		else
			b->sidecar_at_ms = mono_ms();
	}
	obj_entry_release(&e);
}

static int cmp_backup(const void *key, const void *elem)
{
	return strcmp(key, (*(struct backup *const *)elem)->name);
}

int ns_refresh_listed(struct ns *n, struct errmsg *err)
{
	struct obj_listing l = { 0 };
	struct backup **v = NULL;
	const struct obj_entry **fm = NULL, **sc = NULL;
	size_t nv = 0, plen = strlen(n->prefix), i;
	int rc;

	if (!plen)
		return 0;	/* the bucket's root: Milvus's own data would be listed too */
	/* one at a time: a pass that comes while another lists waits and uses its result
	 * (else it would find the listing fresh but the backups not yet marked checked, and
	 * HEAD each) */
	pthread_mutex_lock(&n->listed);
	if (mono_ms() - n->listed_at_ms < n->cfg.ttl_ms) {
		pthread_mutex_unlock(&n->listed);
		return 0;
	}
	rc = objstore_list(n->store, n->prefix, LISTED_DELIM, &l, err);
	if (rc) {
		pthread_mutex_unlock(&n->listed);
		return rc;
	}
	log_debug("listed %s with delimiter %s: %zu keys, %zu rolled up", n->prefix,
		  LISTED_DELIM, l.nobjs, l.nprefixes);
	pthread_mutex_lock(&n->lock);
	v = calloc(n->nbackups + 1, sizeof(*v));
	fm = calloc(n->nbackups + 1, sizeof(*fm));
	sc = calloc(n->nbackups + 1, sizeof(*sc));
	for (i = 0; v && fm && sc && i < n->nbackups; i++) {
		v[i] = n->backups[i];
		v[i]->refs++;
	}
	nv = v && fm && sc ? n->nbackups : 0;
	pthread_mutex_unlock(&n->lock);
	if (!v || !fm || !sc) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; nv && i < l.nobjs; i++) {
		const char *rel = l.objs[i].key + plen, *slash;
		struct backup **hit;
		char name[256];

		if (strncmp(l.objs[i].key, n->prefix, plen) || !(slash = strchr(rel, '/')) ||
		    (size_t)(slash - rel) >= sizeof(name))
			continue;
		memcpy(name, rel, (size_t)(slash - rel));
		name[slash - rel] = '\0';
		hit = bsearch(name, v, nv, sizeof(*v), cmp_backup);
		if (!hit)
			continue;
		if (!strcmp(slash + 1, "meta/full_meta.json"))
			fm[hit - v] = &l.objs[i];
		else if (!strcmp(slash + 1, SIDECAR_NAME))
			sc[hit - v] = &l.objs[i];
	}
	for (i = 0; i < nv; i++) {
		struct backup *b = v[i];
		char sig[72];

		pthread_mutex_lock(&b->lock);
		if (b->resolved && b->sum.state == NS_STATE_COMPLETE && !atomic_load(&b->pinned)) {
			if (fm[i] && fm[i]->size == b->commit_size &&
			    (!fm[i]->etag[0] || !b->commit_etag[0] ||
			     !strcmp(fm[i]->etag, b->commit_etag))) {
				b->checked_at_ms = mono_ms();	/* spares backup_revalidate's HEAD */
				sidecar_sig(sc[i], sig);
				if (strcmp(sig, b->sidecar_sig))
					reread(n, b, sig, sc[i]);
				else
					b->sidecar_at_ms = mono_ms();
			} else {
				log_info("backup '%s': its meta/full_meta.json %s since it was read: "
					 "reading it again", b->name, fm[i] ? "changed" : "is gone");
				b->tree_valid = 0;
				b->resolved = 0;
			}
		}
		pthread_mutex_unlock(&b->lock);
	}
	n->listed_at_ms = mono_ms();
out:
	pthread_mutex_unlock(&n->listed);
	for (i = 0; v && i < nv; i++)
		backup_put(n, v[i]);
	free(v);
	free(fm);
	free(sc);
	obj_listing_release(&l);
	return rc;
}

int backup_sidecar_view(struct ns *n, struct backup *b)
{
	struct buf raw = BUF_INIT(SIDECAR_MAX), v = BUF_INIT(SIDECAR_MAX);
	char *key = NULL;
	int rc;

	if (!b->sidecar_sig[0])
		return 0;	/* no sidecar listed */
	if (!strcmp(b->view_sig, b->sidecar_sig))
		return b->view_has;
	if (asprintf(&key, "%s%s/%s", n->prefix, b->name, SIDECAR_NAME) < 0)
		return 0;
	rc = objstore_get_all(n->store, key, &raw, NULL);
	free(key);
	if (rc == 0)
		rc = sidecar_as_copied(raw.p ? raw.p : "", raw.len, &v);
	buf_release(&raw);
	if (rc < 0) {
		buf_release(&v);
		return 0;	/* not kept: the next call reads it again */
	}
	free(b->view);
	b->view_len = 0;
	b->view = buf_detach(&v, &b->view_len);
	buf_release(&v);
	b->view_has = rc == 1;
	snprintf(b->view_sig, sizeof(b->view_sig), "%s", b->sidecar_sig);
	return b->view_has;
}
