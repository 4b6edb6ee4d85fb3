/*
 * local_list.c - listings of the local store (local_internal.h): walk the directory tree along
 * the prefix, sort in byte order and page exactly like S3 ListObjectsV2 (the continuation
 * token is the last key or common prefix returned); the store's own names are never listed.
 */
#include "local_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- listing ---- */

struct item {
	char *s;		/* key, or common prefix ending in the delimiter */
	int is_prefix;
};

struct walk {
	const char *prefix;
	size_t plen;
	const char *delim;	/* NULL or "" = no roll-up */
	struct item *items;
	size_t n, cap;
};

static int walk_add(struct walk *w, const char *s, size_t len, int is_prefix)
{
	if (ARRAY_GROW(w->items, w->n, w->cap, 64))
		return -ENOMEM;
	w->items[w->n].s = strndup(s, len);
	if (!w->items[w->n].s)
		return -ENOMEM;
	w->items[w->n].is_prefix = is_prefix;
	w->n++;
	return 0;
}

/* Is d_type (or a stat, when the filesystem does not report it) a file, a directory or
 * something else?  Symbolic links to files count as files; links to directories are not
 * followed (no loops). */
enum ent_kind { ENT_OTHER, ENT_FILE, ENT_DIR };

static enum ent_kind ent_kind(int dfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type == DT_REG)
		return ENT_FILE;
	if (de->d_type == DT_DIR)
		return ENT_DIR;
	if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
		return ENT_OTHER;
	if (de->d_type == DT_UNKNOWN) {
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			return ENT_OTHER;
		if (S_ISDIR(st.st_mode))
			return ENT_DIR;
		if (S_ISREG(st.st_mode))
			return ENT_FILE;
		if (!S_ISLNK(st.st_mode))
			return ENT_OTHER;
	}
	if (fstatat(dfd, de->d_name, &st, 0))
		return ENT_OTHER;
	return S_ISREG(st.st_mode) ? ENT_FILE : ENT_OTHER;
}

static int skip_name(const char *name)
{
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 1;
	return !strncmp(name, RESERVED_PREFIX, sizeof(RESERVED_PREFIX) - 1);
}

/* 1 when the directory `dfd` holds at least one listable object, anywhere below it. */
static int has_object(int dfd, int depth)
{
	struct dirent *de;
	DIR *d;
	int found = 0;

	if (depth > WALK_MAX_DEPTH)
		return 0;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	while (!found && (de = readdir(d))) {
		enum ent_kind k;

		if (skip_name(de->d_name))
			continue;
		k = ent_kind(dirfd(d), de);
		if (k == ENT_FILE) {
			found = 1;
		} else if (k == ENT_DIR) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0)
				found = has_object(sub, depth + 1);
		}
	}
	closedir(d);
	return found;
}

/* Walk the directory `dfd` (takes ownership) whose keys start with `rel` ("" or "a/b/"). */
static int walk_dir(struct walk *w, int dfd, char *rel, size_t rlen, int depth)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (depth > WALK_MAX_DEPTH) {
		close(dfd);
		return 0;
	}
	d = fdopendir(dfd);
	if (!d) {
		rc = -errno;
		close(dfd);
		return rc;
	}
	while (!rc && (errno = 0, de = readdir(d))) {
		size_t nlen = strlen(de->d_name), klen = rlen + nlen;
		enum ent_kind k;

		if (skip_name(de->d_name))
			continue;
		if (klen + 2 >= PATH_MAX)
			continue;
		/* Cheap pruning before any stat: the name must agree with the prefix. */
		memcpy(rel + rlen, de->d_name, nlen + 1);
		if (memcmp(rel, w->prefix, klen < w->plen ? klen : w->plen))
			continue;
		k = ent_kind(dirfd(d), de);
		if (k == ENT_FILE) {
			const char *hit;

			if (klen < w->plen)
				continue;
			hit = w->delim && *w->delim ? strstr(rel + w->plen, w->delim) : NULL;
			if (hit)
				rc = walk_add(w, rel, (size_t)(hit - rel) + strlen(w->delim), 1);
			else
				rc = walk_add(w, rel, klen, 0);
		} else if (k == ENT_DIR) {
			const char *hit = NULL;
			int sub;

			rel[klen] = '/';
			rel[klen + 1] = '\0';
			if (memcmp(rel, w->prefix, klen + 1 < w->plen ? klen + 1 : w->plen))
				continue;
			/* Everything below "rel/" matches the prefix and has the delimiter inside
			 * "rel/": one common prefix, if the subtree holds any object at all. */
			if (klen + 1 >= w->plen && w->delim && *w->delim)
				hit = strstr(rel + w->plen, w->delim);
			sub = openat(dirfd(d), de->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				continue;	/* vanished or unreadable: not listable */
			if (hit) {
				if (has_object(sub, depth + 1))
					rc = walk_add(w, rel, (size_t)(hit - rel) + strlen(w->delim),
						      1);
			} else {
				rc = walk_dir(w, sub, rel, klen + 1, depth + 1);
			}
		}
	}
	if (!rc && errno)
		rc = -errno;
	closedir(d);
	return rc;
}

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->s, ((const struct item *)b)->s);
}

int local_list_page(struct objstore *s, const char *prefix, const char *delim,
			   const char *token, size_t max_keys, struct obj_listing *out,
			   char **next_token, struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	struct walk w = { .prefix = prefix, .plen = strlen(prefix), .delim = delim };
	char rel[PATH_MAX];
	size_t i, j, first, nobj = 0, npfx = 0;
	int dfd, rc;

	memset(out, 0, sizeof(*out));
	if (!max_keys)
		max_keys = LIST_DEFAULT_MAX;
	if (*prefix == '/')
		return 0;	/* no key starts with '/' */
	dfd = openat(ls->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = -errno;
		return errmsg_set(err, rc, "cannot list '%s' in '%s': %s", prefix, ls->dir,
				  strerror(-rc));
	}
	rel[0] = '\0';
	rc = walk_dir(&w, dfd, rel, 0, 0);
	if (rc) {
		errmsg_set(err, rc, "cannot list '%s' in '%s': %s", prefix, ls->dir,
			   strerror(-rc));
		goto out;
	}
	/* Nothing matched: w.items is NULL, and qsort's pointer is declared nonnull. */
	if (w.n)
		qsort(w.items, w.n, sizeof(*w.items), item_cmp);
	/* Drop duplicate common prefixes (several files rolling up into one). */
	for (i = j = 0; i < w.n; i++) {
		if (j && !strcmp(w.items[j - 1].s, w.items[i].s)) {
			free(w.items[i].s);
			continue;
		}
		w.items[j++] = w.items[i];
	}
	w.n = j;
	/* Start after the token (the last key or prefix of the previous page). */
	for (first = 0; token && first < w.n && strcmp(w.items[first].s, token) <= 0; first++)
		;
	for (i = first; i < w.n && i - first < max_keys; i++) {
		if (w.items[i].is_prefix)
			npfx++;
		else
			nobj++;
	}
	out->objs = nobj ? calloc(nobj, sizeof(*out->objs)) : NULL;
	out->prefixes = npfx ? calloc(npfx, sizeof(*out->prefixes)) : NULL;
	if ((nobj && !out->objs) || (npfx && !out->prefixes)) {
		rc = errmsg_set(err, -ENOMEM, "cannot list '%s': out of memory", prefix);
		goto out;
	}
	if (w.n - first > max_keys) {
		*next_token = strdup(w.items[first + max_keys - 1].s);
		if (!*next_token) {
			rc = errmsg_set(err, -ENOMEM, "cannot list '%s': out of memory", prefix);
			goto out;
		}
	}
	for (i = first; i < w.n && i - first < max_keys; i++) {
		struct item *it = &w.items[i];

		if (it->is_prefix) {
			out->prefixes[out->nprefixes++] = it->s;
		} else {
			struct obj_entry *e = &out->objs[out->nobjs];
			struct stat st;

			/* A key deleted since the walk is simply not listed. */
			if (fstatat(ls->dirfd, it->s, &st, 0) || !S_ISREG(st.st_mode)) {
				free(it->s);
			} else {
				e->key = it->s;
				e->size = (uint64_t)st.st_size;
				e->mtime = (int64_t)st.st_mtim.tv_sec;
				local_cheap_etag(&st, e->etag, sizeof(e->etag));
				out->nobjs++;
			}
		}
		it->s = NULL;
	}
out:
	for (i = 0; i < w.n; i++)
		free(w.items[i].s);
	free(w.items);
	if (rc)
		obj_listing_release(out);
	return rc;
}
