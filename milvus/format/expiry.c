/*
 * expiry.c - the expiry policy, the sidecar's expiry, and the delete claim (see expiry.h).
 */
#include "mvbackupfs/format/expiry.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/format/backup_admin.h"
#include "mvbackupfs/base/buf.h"

int expiry_due(const struct expiry_backup *b, int64_t now)
{
	return b->complete && b->expires > 0 && b->expires <= now;
}

/* Newest first: created descending, then name descending (auto_YYYYMMDD_... sorts by time). */
static int newest_first(const void *a, const void *b)
{
	const struct expiry_backup *x = *(const struct expiry_backup *const *)a;
	const struct expiry_backup *y = *(const struct expiry_backup *const *)b;

	if (x->created != y->created)
		return x->created > y->created ? -1 : 1;
	return -strcmp(x->name, y->name);
}

size_t expiry_plan(const struct expiry_backup *v, size_t n, int64_t now, int keep_min,
		   enum expiry_verdict *out)
{
	const struct expiry_backup **idx = NULL;
	size_t ncomplete = 0, i, ndel = 0;

	for (i = 0; i < n; i++) {
		out[i] = EXPIRY_KEEP;
		if (v[i].complete)
			ncomplete++;
	}
	if (ncomplete && keep_min > 0) {
		idx = malloc(ncomplete * sizeof(*idx));
		if (!idx)
			return 0;	/* out of memory: delete nothing this round */
		ncomplete = 0;
		for (i = 0; i < n; i++)
			if (v[i].complete)
				idx[ncomplete++] = &v[i];
		qsort(idx, ncomplete, sizeof(*idx), newest_first);
	}
	for (i = 0; i < n; i++) {
		size_t r;
		int protected = 0;

		if (!expiry_due(&v[i], now))
			continue;
		for (r = 0; idx && r < ncomplete && r < (size_t)keep_min; r++)
			if (idx[r] == &v[i])
				protected = 1;
		if (protected)
			out[i] = EXPIRY_HELD_KEEP_MIN;
		else if (v[i].busy)
			out[i] = EXPIRY_HELD_BUSY;
		else {
			out[i] = EXPIRY_DELETE;
			ndel++;
		}
	}
	free(idx);
	return ndel;
}

static int key_of(const char *prefix, const char *name, char *out, size_t size)
{
	size_t len = prefix ? strlen(prefix) : 0;

	if (!len || prefix[len - 1] != '/' || prefix[0] == '/')
		return -EINVAL;
	return snprintf(out, size, "%s%s", prefix, name) < (int)size ? 0 : -ENAMETOOLONG;
}

int backup_sidecar_get(struct objstore *s, const char *prefix, struct sidecar *sc,
		       struct errmsg *err)
{
	struct buf b = BUF_INIT(SIDECAR_MAX);
	char key[OBJSTORE_KEY_MAX];
	int rc;

	memset(sc, 0, sizeof(*sc));
	if ((rc = key_of(prefix, SIDECAR_NAME, key, sizeof(key))))
		return errmsg_set(err, rc, "not a backup prefix: '%s'", prefix ? prefix : "");
	rc = objstore_get_all(s, key, &b, err);
	if (rc == 0 && sidecar_parse(b.p ? b.p : "", b.len, sc, err))
		rc = errmsg_prefix(err, -EIO, "'%s' is unreadable", key);
	buf_release(&b);
	return rc;
}

int backup_set_expires(struct objstore *s, const char *prefix, int64_t expires,
		       struct errmsg *err)
{
	struct buf out = BUF_INIT(SIDECAR_MAX);
	struct sidecar sc;
	char key[OBJSTORE_KEY_MAX];
	int rc;

	rc = backup_sidecar_get(s, prefix, &sc, err);
	if (rc == -ENOENT) {
		/* a backup from milvus-backup: a sidecar of its own (kind stays unknown) */
		memset(&sc, 0, sizeof(sc));
		sc.format = SIDECAR_FORMAT;
		snprintf(sc.created_by, sizeof(sc.created_by), "%s", sidecar_creator());
		rc = 0;
	}
	if (rc)
		goto out;
	sc.expires = expires;
	key_of(prefix, SIDECAR_NAME, key, sizeof(key));	/* checked by backup_sidecar_get */
	rc = sidecar_write(&sc, &out);
	if (rc)
		rc = errmsg_set(err, rc, "cannot encode '%s'", key);
	else
		rc = objstore_put(s, key, out.p, out.len, 0, err);
out:
	buf_release(&out);
	return rc;
}

int backup_claim_expired(struct objstore *s, const char *prefix, const char *owner,
			 int64_t now, struct errmsg *err)
{
	struct buf body = BUF_INIT(4096), old = BUF_INIT(4096);
	char key[OBJSTORE_KEY_MAX];
	int rc, tries;

	if ((rc = key_of(prefix, EXPIRY_CLAIM_NAME, key, sizeof(key))))
		return errmsg_set(err, rc, "not a backup prefix: '%s'", prefix ? prefix : "");
	rc = buf_addf(&body, "%lld %s\n", (long long)now, owner);
	for (tries = 0; !rc && tries < 2; tries++) {
		long long then = 0;

		rc = objstore_put(s, key, body.p, body.len, OBJSTORE_IF_NONE_MATCH, err);
		if (rc != -EEXIST)
			break;
		/* held: by a live mount, or left by one that crashed before its delete ran */
		buf_reset(&old);
		if (objstore_get_all(s, key, &old, NULL) == 0 && old.len &&
		    sscanf(old.p, "%lld", &then) == 1 && now - then < EXPIRY_CLAIM_STALE_S)
			break;
		if (tries == 0) {
			const char *k = key;

			rc = backup_delete_keys(s, prefix, &k, 1, err);	/* stale: take over */
		}
	}
	buf_release(&body);
	buf_release(&old);
	return rc;
}

void backup_unclaim(struct objstore *s, const char *prefix)
{
	char key[OBJSTORE_KEY_MAX];
	const char *k = key;

	if (!key_of(prefix, EXPIRY_CLAIM_NAME, key, sizeof(key)))
		backup_delete_keys(s, prefix, &k, 1, NULL);
}
