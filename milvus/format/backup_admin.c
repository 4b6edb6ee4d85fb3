/*
 * backup_admin.c - whole-backup administration in the milvus-backup layout (see
 * backup_admin.h): the name rule, reserving a name with a conditional create of our sidecar,
 * and deleting a backup meta first, data in batches, sidecar last.
 */
#include "mvbackupfs/format/backup_admin.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/crashpoint.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/format/sidecar.h"
#include "mvbackupfs/base/rand.h"

#define DELETE_PAGE	1000	/* keys per listing page = per DeleteObjects request */

int backup_name_valid(const char *name)
{
	size_t i;

	/* milvus-backup-format.md §1.1: ^[A-Za-z_][A-Za-z0-9_]*$, at most 128 chars.  Spelled
	 * out with ASCII ranges, not isalpha(), so no locale can widen it. */
	if (!name || !name[0])
		return 0;
	for (i = 0; name[i]; i++) {
		char c = name[i];
		int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';

		if (i >= BACKUP_NAME_MAX)
			return 0;
		if (!alpha && (i == 0 || c < '0' || c > '9'))
			return 0;
	}
	return 1;
}

/* "<a><b>" into out; -ENAMETOOLONG when it does not fit. */
static int join(char *out, size_t size, const char *a, const char *b)
{
	int n = snprintf(out, size, "%s%s", a, b);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* A backup prefix must name one backup: "<root><name>/", never "" or the bucket root. */
static int prefix_ok(const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;

	return n >= 2 && prefix[0] != '/' && prefix[n - 1] == '/' && n + 64 < OBJSTORE_KEY_MAX;
}

/* ------------------------------------------------------------------ the key guard */

const char *const backup_milvus_data_dirs[] = {
	"insert_log", "delta_log", "stats_log", "index_files", "bm25_stats", "part_stats",
	"analyze_stats", "text_log", "json_key_index_log", "json_stats", "wp", NULL
};

/* Does "<root>/<dir>/" (or "<dir>/" for the bucket root) start with `p` (len plen), or `p`
 * with it? */
static int data_dir_overlaps(const char *root, const char *dir, const char *p, size_t plen)
{
	/* d = "ROOT/DIR/" (or "DIR/"), compared piece by piece: this runs for every name of
	 * every root listing (ns_milvus_data), where formatting d cost 60 % of a cold `ls` */
	const char *part[4] = { root, *root ? "/" : "", dir, "/" };
	size_t len[4], dlen = 0, n, k = 0, i;

	for (i = 0; i < 4; i++)
		dlen += len[i] = strlen(part[i]);
	if (dlen >= OBJSTORE_KEY_MAX)
		return 1;	/* cannot tell: treat as Milvus's */
	n = plen < dlen ? plen : dlen;	/* is one a prefix of the other */
	for (i = 0; i < 4 && k < n; i++) {
		size_t m = len[i] < n - k ? len[i] : n - k;

		if (memcmp(part[i], p + k, m))
			return 0;
		k += m;
	}
	return 1;
}

const char *backup_prefix_milvus_data(const char *milvus_root, const char *prefix)
{
	size_t i, plen = prefix ? strlen(prefix) : 0;

	if (!milvus_root || !prefix)
		return NULL;
	for (i = 0; backup_milvus_data_dirs[i]; i++)
		if (data_dir_overlaps(milvus_root, backup_milvus_data_dirs[i], prefix, plen))
			return backup_milvus_data_dirs[i];
	return NULL;
}

int backup_key_guard(const char *prefix, const char *milvus_root, const char *key,
		     struct errmsg *err)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	const char *rel, *dir, *p;

	if (!key)
		key = "";
	if (!prefix_ok(prefix))
		return errmsg_set(err, -EPERM, "refusing to delete '%s': '%s' is not the prefix of "
				  "one backup", key, prefix ? prefix : "");
	if (strncmp(key, prefix, plen) || !key[plen])
		return errmsg_set(err, -EPERM, "refusing to delete '%s': it is not inside the "
				  "backup at '%s'", key, prefix);
	rel = key + plen;
	for (p = rel; (p = strstr(p, "..")); p += 2)
		if ((p == rel || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return errmsg_set(err, -EPERM, "refusing to delete '%s': a '..' element "
					  "could leave the backup at '%s'", key, prefix);
	dir = backup_prefix_milvus_data(milvus_root, prefix);
	if (!dir)
		dir = backup_prefix_milvus_data(milvus_root, key);
	if (dir)
		return errmsg_set(err, -EPERM, "refusing to delete '%s': it is Milvus's own data "
				  "('%s' under minio.rootPath '%s'), not a backup", key, dir,
				  milvus_root);
	return 0;
}

/* Stores that also hold Milvus's data, and its root there. */
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;	/* guards guards[] */
static struct guard {
	const struct objstore *store;
	char root[OBJSTORE_KEY_MAX];
} guards[16];

int backup_guard_protect(struct objstore *s, const char *milvus_root)
{
	size_t i;
	int rc = -ENOSPC;

	if (!s || !milvus_root || strlen(milvus_root) >= OBJSTORE_KEY_MAX)
		return -EINVAL;
	pthread_mutex_lock(&guard_lock);
	for (i = 0; i < sizeof(guards) / sizeof(guards[0]); i++) {
		if (guards[i].store && guards[i].store != s)
			continue;
		guards[i].store = s;
		snprintf(guards[i].root, sizeof(guards[i].root), "%s", milvus_root);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&guard_lock);
	return rc;
}

void backup_guard_forget(struct objstore *s)
{
	size_t i;

	pthread_mutex_lock(&guard_lock);
	for (i = 0; i < sizeof(guards) / sizeof(guards[0]); i++)
		if (guards[i].store == s)
			guards[i].store = NULL;
	pthread_mutex_unlock(&guard_lock);
}

int backup_delete_keys(struct objstore *s, const char *prefix, const char *const *keys,
		       size_t nkeys, struct errmsg *err)
{
	struct errmsg own = { { 0 } }, *e = err ? err : &own;
	char root[OBJSTORE_KEY_MAX];
	int protected = 0, rc = 0;
	size_t i;

	pthread_mutex_lock(&guard_lock);
	for (i = 0; i < sizeof(guards) / sizeof(guards[0]); i++) {
		if (s && guards[i].store == s) {
			memcpy(root, guards[i].root, sizeof(root));
			protected = 1;
			break;
		}
	}
	pthread_mutex_unlock(&guard_lock);
	for (i = 0; i < nkeys && !rc; i++)
		rc = backup_key_guard(prefix, protected ? root : NULL, keys[i], e);
	if (rc) {
		log_err("%s", e->msg);
		return rc;
	}
	return nkeys ? objstore_delete(s, keys, nkeys, err) : 0;
}

int backup_reserve(struct objstore *s, const char *root_prefix, const char *name,
		   const struct sidecar *sc, struct errmsg *err)
{
	struct obj_listing l = { 0 };
	struct buf want = BUF_INIT(SIDECAR_MAX), got = BUF_INIT(SIDECAR_MAX);
	char prefix[OBJSTORE_KEY_MAX], key[OBJSTORE_KEY_MAX];
	const char *root = root_prefix ? root_prefix : "";
	size_t rlen = strlen(root);
	char *token = NULL;
	int rc;

	if (!backup_name_valid(name))
		return errmsg_set(err, -EINVAL, "cannot create backup '%s': a name must start "
				  "with a letter or '_', contain only letters, digits and '_', and "
				  "have at most %d characters", name ? name : "", BACKUP_NAME_MAX);
	if (root[0] == '/')
		return errmsg_set(err, -EINVAL, "cannot create backup '%s': the root '%s' must "
				  "not start with '/'", name, root);
	if (snprintf(prefix, sizeof(prefix), "%s%s%s/", root,
		     rlen && root[rlen - 1] != '/' ? "/" : "", name) >= (int)sizeof(prefix) ||
	    join(key, sizeof(key), prefix, SIDECAR_NAME))
		return errmsg_set(err, -ENAMETOOLONG, "cannot create backup '%s': the root '%s' "
				  "is too long", name, root);

	/* milvus-backup-format.md §1.1: any object under the prefix blocks the name. */
	rc = objstore_list_page(s, prefix, NULL, NULL, 1, &l, &token, err);
	if (rc) {
		errmsg_prefix(err, rc, "cannot create backup '%s'", name);
		goto out;
	}
	if (l.nobjs || l.nprefixes) {
		rc = errmsg_set(err, -EEXIST, "cannot create backup '%s': objects already exist "
				"under '%s' (%s); rmdir removes the remains of a failed backup", name,
				prefix, objstore_name(s));
		goto out;
	}

	rc = sidecar_write(sc, &want);
	if (rc) {
		errmsg_set(err, rc, "cannot create backup '%s': cannot encode its '%s'", name,
			   SIDECAR_NAME);
		goto out;
	}
	/* Spec §6: the conditional create closes the race between the list above and this
	 * PUT; of two reservations of one name exactly one gets past here. */
	rc = objstore_put(s, key, want.p, want.len, OBJSTORE_IF_NONE_MATCH, err);
	if (rc == -EEXIST) {
		rc = errmsg_set(err, -EEXIST, "cannot create backup '%s': it already exists "
				"(another mount created it at the same moment)", name);
		goto out;
	}
	if (rc == -ENOTDIR) {
		/* Local store: an object named "<root><name>" occupies the directory. */
		rc = errmsg_set(err, -EEXIST, "cannot create backup '%s': an object of that name "
				"exists in '%s'", name, objstore_name(s));
		goto out;
	}
	if (rc) {
		errmsg_prefix(err, rc, "cannot create backup '%s'", name);
		goto out;
	}

	/* A server that ignores If-None-Match overwrites silently: read our sidecar back.
	 * Someone else's content (or none) means they won; their sidecar is left alone. */
	rc = objstore_get_all(s, key, &got, err);
	if (rc == -ENOENT || (!rc && (got.len != want.len || memcmp(got.p, want.p, want.len)))) {
		rc = errmsg_set(err, -EEXIST, "cannot create backup '%s': another mount created "
				"it at the same moment (the server at '%s' does not honour "
				"If-None-Match)", name, objstore_name(s));
		goto out;
	}
	if (rc)
		errmsg_prefix(err, rc, "cannot confirm the creation of backup '%s' (it stays "
			      "reserved; rmdir removes it)", name);
out:
	free(token);
	obj_listing_release(&l);
	buf_release(&want);
	buf_release(&got);
	return rc;
}

/*
 * Delete every key under `prefix` except `keep` (may be NULL), one listing page at a time,
 * one DeleteObjects per page.  With a job: honours cancellation before each page and
 * reports progress.  *n_deleted counts the keys sent for deletion.
 */
static int delete_pages(struct objstore *s, const char *prefix, const char *keep,
			struct job *j, uint64_t *n_deleted, struct errmsg *err)
{
	const char **keys = NULL;
	char *token = NULL;
	int rc = 0;

	keys = calloc(DELETE_PAGE, sizeof(*keys));
	if (!keys)
		return errmsg_set(err, -ENOMEM, "cannot delete '%s': out of memory", prefix);
	do {
		struct obj_listing l = { 0 };
		char *next = NULL;
		uint64_t bytes = 0;
		size_t i, n = 0;

		if (j && job_cancelled(j)) {
			rc = -ECANCELED;
			break;
		}
		rc = objstore_list_page(s, prefix, NULL, token, DELETE_PAGE, &l, &next, err);
		if (rc) {
			obj_listing_release(&l);
			break;
		}
		for (i = 0; i < l.nobjs && n < DELETE_PAGE; i++) {
			if (keep && !strcmp(l.objs[i].key, keep))
				continue;
			keys[n++] = l.objs[i].key;
			bytes += l.objs[i].size;
		}
		rc = backup_delete_keys(s, prefix, keys, n, err);
		if (!rc) {
			*n_deleted += n;
			if (j)
				job_add_done(j, bytes, n);
			(void)MVB_CRASH_POINT(j ? "delete_data_page" : "delete_meta_page");
		}
		obj_listing_release(&l);
		free(token);
		token = next;
	} while (!rc && token);
	free(token);
	free(keys);
	return rc;
}

int backup_sidecar_job(struct objstore *s, const char *prefix, char job[64], struct errmsg *err)
{
	struct buf b = BUF_INIT(SIDECAR_MAX);
	struct sidecar sc;
	char key[OBJSTORE_KEY_MAX];
	int rc;

	job[0] = '\0';
	if (!prefix_ok(prefix))
		return errmsg_set(err, -EINVAL, "not a backup prefix: '%s'", prefix ? prefix : "");
	join(key, sizeof(key), prefix, SIDECAR_NAME);
	rc = objstore_get_all(s, key, &b, err);
	if (rc == -ENOENT)
		rc = 0;
	else if (rc == 0 && sidecar_parse(b.p, b.len, &sc, err) == 0)
		snprintf(job, 64, "%s", sc.job);
	else if (rc == 0)
		snprintf(job, 64, "%s", "(unreadable)");
	buf_release(&b);
	return rc;
}

/* Give an existing sidecar a new "delete-..." job id (keeping what else it says), so that a
 * snapshot still writing the backup - on any mount - sees it is being deleted. */
static int mark_deleting(struct objstore *s, const char *prefix, struct errmsg *err)
{
	struct buf in = BUF_INIT(SIDECAR_MAX), out = BUF_INIT(SIDECAR_MAX);
	struct sidecar sc;
	char key[OBJSTORE_KEY_MAX];
	char rnd[9];
	int rc;

	join(key, sizeof(key), prefix, SIDECAR_NAME);
	rc = objstore_get_all(s, key, &in, err);
	if (rc == -ENOENT) {
		/* no sidecar, no snapshot of ours writing it (its reservation is the sidecar) */
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	if (sidecar_parse(in.p, in.len, &sc, NULL) != 0) {
		memset(&sc, 0, sizeof(sc));	/* unreadable: replace it, it goes last anyway */
		sc.format = SIDECAR_FORMAT;
		snprintf(sc.created_by, sizeof(sc.created_by), "%s", sidecar_creator());
	}
	rand_hex(rnd, 4);
	snprintf(sc.job, sizeof(sc.job), "delete-%lld-%s", (long long)time(NULL), rnd);
	rc = sidecar_write(&sc, &out);
	if (rc == 0)
		rc = objstore_put(s, key, out.p, out.len, 0, err);
out:
	buf_release(&in);
	buf_release(&out);
	return rc;
}

/* How often the commit keys are deleted before backup_delete_meta gives up: a snapshot on
 * another mount that passed its reservation check just before our mark may PUT its
 * full_meta.json right after our delete (it takes it back itself once it sees the mark). */
#define META_TRIES 3

/*
 * Delete the two keys that make a backup exist (milvus-backup-format.md §1.7: full_meta.json
 * is the commit point, backup_meta.json what milvus-backup's Exist() looks at), in that
 * order, and check with a HEAD that both are gone; again while one is back.
 */
static int delete_commit_keys(struct objstore *s, const char *prefix, struct errmsg *err)
{
	static const char *const first[] = { "meta/full_meta.json", "meta/backup_meta.json" };
	char key[OBJSTORE_KEY_MAX];
	size_t i;
	int rc = 0, t;

	for (t = 0; t < META_TRIES; t++) {
		int back = 0;

		for (i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
			const char *k = key;

			join(key, sizeof(key), prefix, first[i]);	/* fits: prefix_ok */
			rc = backup_delete_keys(s, prefix, &k, 1, err);
			if (rc)
				return rc;
			if (i == 0 && (rc = MVB_CRASH_POINT("delete_meta_between")) != 0)
				return errmsg_set(err, rc, "cannot delete '%s%s': injected fault",
						  prefix, first[1]);
		}
		for (i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
			struct obj_entry e = { 0 };

			join(key, sizeof(key), prefix, first[i]);
			rc = objstore_head(s, key, &e, err);
			obj_entry_release(&e);
			if (rc == 0)
				back = 1;
			else if (rc != -ENOENT)
				return rc;
		}
		if (!back)
			return 0;
	}
	return errmsg_set(err, -EIO, "cannot delete '%s': it is still there after %d deletes "
			  "(permissions, or a snapshot committing it again?)", key, META_TRIES);
}

int backup_delete_meta(struct objstore *s, const char *prefix, struct errmsg *err)
{
	char key[OBJSTORE_KEY_MAX];
	uint64_t n = 0;
	int rc;

	if (!prefix_ok(prefix))
		return errmsg_set(err, -EINVAL, "cannot delete the backup at '%s': not a backup "
				  "prefix", prefix ? prefix : "");
	rc = mark_deleting(s, prefix, err);
	if (rc)
		return errmsg_prefix(err, rc, "cannot mark '%s' as being deleted", prefix);
	rc = delete_commit_keys(s, prefix, err);
	if (rc)
		return rc;
	/* the rest of meta/ after them */
	join(key, sizeof(key), prefix, "meta/");
	return delete_pages(s, key, NULL, NULL, &n, err);
}

/* A delete job that stops early leaves data deleted: whatever committed meanwhile (a
 * snapshot on another mount, or killed before its own check) must not name it. */
static void delete_meta_again(struct backup_delete_params *p)
{
	struct errmsg e = { { 0 } };
	int rc = delete_commit_keys(p->store, p->prefix, &e);

	if (rc)
		log_err("backup '%s' may read complete with data missing: %s; rmdir it again",
			p->name, e.msg);
}

void backup_delete_params_free(void *params)
{
	struct backup_delete_params *p = params;

	if (!p)
		return;
	free(p->prefix);
	free(p->name);
	free(p);
}

/* Count the objects and bytes under `prefix` page by page (progress totals). */
static int count_objects(struct objstore *s, const char *prefix, struct job *j,
			 uint64_t *nobj, uint64_t *nbytes, struct errmsg *err)
{
	char *token = NULL;
	int rc = 0;

	do {
		struct obj_listing l = { 0 };
		char *next = NULL;
		size_t i;

		if (job_cancelled(j)) {
			rc = -ECANCELED;
			break;
		}
		rc = objstore_list_page(s, prefix, NULL, token, DELETE_PAGE, &l, &next, err);
		for (i = 0; !rc && i < l.nobjs; i++)
			*nbytes += l.objs[i].size;
		*nobj += l.nobjs;
		obj_listing_release(&l);
		free(token);
		token = next;
	} while (!rc && token);
	free(token);
	return rc;
}

/* The first key under `prefix` other than `keep`, malloc'd into *found (NULL if none). */
static int first_other(struct objstore *s, const char *prefix, const char *keep, char **found,
		       struct errmsg *err)
{
	struct obj_listing l = { 0 };
	char *token = NULL;
	size_t i;
	int rc;

	*found = NULL;
	/* Two keys are enough: at most one of them is `keep`. */
	rc = objstore_list_page(s, prefix, NULL, NULL, 2, &l, &token, err);
	for (i = 0; !rc && i < l.nobjs && !*found; i++) {
		if (keep && !strcmp(l.objs[i].key, keep))
			continue;
		*found = strdup(l.objs[i].key);
		if (!*found)
			rc = errmsg_set(err, -ENOMEM, "cannot list '%s': out of memory", prefix);
	}
	free(token);
	obj_listing_release(&l);
	return rc;
}

int backup_delete_job(struct job *j, void *params)
{
	struct backup_delete_params *p = params;
	struct errmsg err = { "" };
	struct obj_entry side = { 0 };
	uint64_t nobj = 0, nbytes = 0, ndel = 0;
	size_t naborted = 0;
	char sidecar[OBJSTORE_KEY_MAX], *left = NULL;
	const char *sk = sidecar;
	int rc, have_side;

	job_set_phase(j, "meta");
	rc = backup_delete_meta(p->store, p->prefix, &err);
	if (rc)
		return job_fail(j, rc, "cannot delete backup '%s': %s", p->name, err.msg);
	join(sidecar, sizeof(sidecar), p->prefix, SIDECAR_NAME);	/* fits: prefix_ok */

	/* Uploads a cancelled or crashed snapshot left open (S3 keeps their parts, billed and
	 * invisible to listings) and the local store's temporary files: gone before the data,
	 * so the local store can prune the emptied directories as the objects go. */
	job_set_phase(j, "list");
	rc = objstore_abort_uploads(p->store, p->prefix, &naborted, &err);
	if (rc)
		goto fail;
	if (naborted)
		log_info("backup '%s': %zu unfinished uploads or temporary files removed", p->name,
			 naborted);
	rc = count_objects(p->store, p->prefix, j, &nobj, &nbytes, &err);
	if (rc)
		goto fail;
	job_set_totals(j, nbytes, nobj);

	job_set_phase(j, "delete");
	rc = delete_pages(p->store, p->prefix, sidecar, j, &ndel, &err);
	if (rc)
		goto fail;

	/* Nothing but the sidecar may be left; anything else was written meanwhile. */
	rc = first_other(p->store, p->prefix, sidecar, &left, &err);
	if (rc)
		goto fail;
	if (left)
		goto busy;
	if (job_cancelled(j)) {
		rc = -ECANCELED;
		goto fail;
	}
	/* The sidecar goes last: until now it kept the name reserved.  No re-list after it:
	 * from here on the name is free, and whatever appears is a new backup's. */
	rc = objstore_head(p->store, sidecar, &side, &err);
	have_side = rc == 0;
	if (rc && rc != -ENOENT)
		goto fail;
	(void)MVB_CRASH_POINT("delete_before_sidecar");
	rc = backup_delete_keys(p->store, p->prefix, &sk, 1, &err);
	if (rc)
		goto fail;
	if (have_side)
		job_add_done(j, side.size, 1);
	obj_entry_release(&side);
	return 0;
busy:
	delete_meta_again(p);
	rc = job_fail(j, -EBUSY, "cannot delete backup '%s': '%s' appeared while it was being "
		      "deleted (is another mount or milvus-backup writing there?); the name stays "
		      "reserved, rmdir again removes the rest", p->name, left);
	free(left);
	return rc;
fail:
	obj_entry_release(&side);
	delete_meta_again(p);
	if (rc == -ECANCELED)
		return job_fail(j, rc, "deleting backup '%s' was cancelled after %llu of %llu "
				"objects; rmdir again removes the rest", p->name,
				(unsigned long long)ndel, (unsigned long long)nobj);
	return job_fail(j, rc, "cannot delete backup '%s': %s", p->name, err.msg);
}
