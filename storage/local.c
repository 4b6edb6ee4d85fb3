/*
 * local.c - the object store over a local directory (see local.h).
 *
 * Every operation works relative to a directory file descriptor opened once for the base
 * directory (openat(2) and friends), so a key can never name anything outside it: keys with
 * "." or ".." elements, empty elements or a leading '/' are refused.  Objects are written to a
 * temporary file in their own directory, fsync'ed and renamed into place (or link(2)ed, for a
 * create-only put), so readers never see half an object.  Listings walk the directory tree
 * along the prefix, sort in byte order and page exactly like S3 ListObjectsV2: the
 * continuation token is the last key (or common prefix) returned.  Multipart uploads are
 * staged in "<dir of the key>/.mvbackupfs-mpu/<upload id>/" - on the same filesystem as the
 * object, where the caller can write (the base may be "/") - and never listed;
 * objstore_abort_uploads removes them (and stray temporary files) under a prefix.
 *
 * The store holds no mutable state besides the base descriptor, so it needs no lock.
 */
#include "mvbackupfs/storage/local.h"

#include "mvbackupfs/base/rand.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Names reserved for the store's own use: never valid key elements, never listed. */
#define RESERVED_PREFIX ".mvbackupfs-"
#define MPU_DIR ".mvbackupfs-mpu"
#define TMP_PREFIX ".mvbackupfs-tmp."

#define LIST_DEFAULT_MAX 1000
#define WALK_MAX_DEPTH 256

struct local_store {
	struct objstore base;	/* must be first */
	char *dir;		/* absolute path of the base directory, no trailing '/' */
	int dirfd;		/* the base directory, O_DIRECTORY */
};

static const struct objstore_ops local_ops;

static struct local_store *to_local(struct objstore *s)
{
	return (struct local_store *)s;
}

/* ---- keys ---- */

/* 0 when `key` is a usable object key: not empty, relative, no empty, ".", ".." or reserved
 * elements, not ending in '/'. */
static int key_check(const char *key)
{
	const char *p = key, *e;
	size_t n;

	if (!key || !*key || *key == '/' || strlen(key) >= PATH_MAX)
		return -EINVAL;
	for (;;) {
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || n > NAME_MAX)
			return -EINVAL;
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (n >= sizeof(RESERVED_PREFIX) - 1 &&
		    !memcmp(p, RESERVED_PREFIX, sizeof(RESERVED_PREFIX) - 1))
			return -EINVAL;
		if (!e)
			return 0;
		p = e + 1;
	}
}

static int bad_key(struct errmsg *err, const char *what, const char *key)
{
	return errmsg_set(err, -EINVAL,
			  "cannot %s '%s': invalid key for a local store (empty, absolute, "
			  "'.'/'..' or empty elements, or a reserved '" RESERVED_PREFIX "' name)",
			  what, key ? key : "");
}

/* The directory part of `key` ("a/b" for "a/b/c", "." for "c"), in `out`. */
static void key_parent(const char *key, char *out, size_t outsz)
{
	const char *slash = strrchr(key, '/');

	if (!slash)
		snprintf(out, outsz, ".");
	else
		snprintf(out, outsz, "%.*s", (int)(slash - key), key);
}

/* ---- small file helpers ---- */

/* Create every directory of the relative path `dir` below `dirfd` ("." is a no-op). */
static int mkdir_p(int dirfd, const char *dir)
{
	char path[PATH_MAX];
	char *p;

	if (!strcmp(dir, "."))
		return 0;
	snprintf(path, sizeof(path), "%s", dir);
	for (p = path;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdirat(dirfd, path, 0777) && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* Open a fresh temporary file in `dir` (relative to dirfd); its relative path goes to tmp. */
static int tmp_open(int dirfd, const char *dir, char *tmp, size_t tmpsz)
{
	int tries;

	for (tries = 0; tries < 100; tries++) {
		char r[17];
		int fd;

		if (rand_hex(r, 8))
			return -EIO;
		snprintf(tmp, tmpsz, "%s/" TMP_PREFIX "%s", dir, r);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copy `len` bytes of `in` at `off` to the end of `out`: copy_file_range(2) (reflinks or
 * in-kernel copies), falling back to pread/write across filesystems.  -ENODATA when `in`
 * ends early. */
static int copy_range(int in, uint64_t off, uint64_t len, int out)
{
	int use_cfr = 1;
	char *bounce = NULL;
	int rc = 0;

	while (len) {
		size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t n;

		if (use_cfr) {
			loff_t o = (loff_t)off;

			n = copy_file_range(in, &o, out, NULL, chunk, 0);
			if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
				      errno == EOPNOTSUPP)) {
				use_cfr = 0;
				continue;
			}
		} else {
			if (!bounce && !(bounce = malloc(1 << 20))) {
				rc = -ENOMEM;
				goto out;
			}
			if (chunk > (1 << 20))
				chunk = 1 << 20;
			n = pread(in, bounce, chunk, (off_t)off);
			if (n > 0) {
				rc = write_all(out, bounce, (size_t)n);
				if (rc)
					goto out;
			}
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0) {
			rc = -ENODATA;
			goto out;
		}
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
out:
	free(bounce);
	return rc;
}

static void fsync_dir(int dirfd, const char *dir)
{
	int fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* A cheap etag: size and modification time, which change whenever the file is rewritten. */
static void cheap_etag(const struct stat *st, char *out, size_t outsz)
{
	snprintf(out, outsz, "%llx-%llx%09lx", (unsigned long long)st->st_size,
		 (unsigned long long)st->st_mtim.tv_sec, (unsigned long)st->st_mtim.tv_nsec);
}

/*
 * Write an object atomically: a temporary file in the key's directory is filled by `fill`,
 * fsync'ed, then renamed over the key (or linked, when `excl`: -EEXIST if the key exists).
 * A concurrent delete may remove the freshly made parent directories: retried a few times.
 */
typedef int (*fill_fn)(int fd, void *arg);

static int atomic_write(struct local_store *ls, const char *key, int excl, fill_fn fill,
			void *arg, const char *what, struct errmsg *err)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	int fd = -1, rc = 0, tries;

	key_parent(key, dir, sizeof(dir));
	for (tries = 0; tries < 5; tries++) {
		rc = mkdir_p(ls->dirfd, dir);
		if (rc)
			break;
		fd = tmp_open(ls->dirfd, dir, tmp, sizeof(tmp));
		if (fd != -ENOENT)
			break;
	}
	if (rc || fd < 0) {
		rc = rc ? rc : fd;
		fd = -1;
		if (rc == -ENOTDIR || rc == -EEXIST)
			return errmsg_set(err, -ENOTDIR, "cannot %s '%s': a parent is an object, "
					  "not a directory, in '%s'", what, key, ls->dir);
		return errmsg_set(err, rc, "cannot %s '%s' in '%s': %s", what, key, ls->dir,
				  strerror(-rc));
	}
	rc = fill(fd, arg);
	if (rc)
		goto fail;
	if (fsync(fd)) {
		rc = -errno;
		goto fail;
	}
	if (close(fd)) {
		fd = -1;
		rc = -errno;
		goto fail;
	}
	fd = -1;
	if (excl) {
		if (linkat(ls->dirfd, tmp, ls->dirfd, key, 0)) {
			rc = -errno;
			if (rc == -EEXIST) {
				unlinkat(ls->dirfd, tmp, 0);
				return errmsg_set(err, -EEXIST, "cannot %s '%s': it already exists",
						  what, key);
			}
			goto fail;
		}
		unlinkat(ls->dirfd, tmp, 0);
	} else if (renameat(ls->dirfd, tmp, ls->dirfd, key)) {
		rc = -errno;
		goto fail;
	}
	fsync_dir(ls->dirfd, dir);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(ls->dirfd, tmp, 0);
	if (rc == -EISDIR || rc == -ENOTEMPTY)
		return errmsg_set(err, -EISDIR, "cannot %s '%s': a directory of that name "
				  "exists in '%s'", what, key, ls->dir);
	if (rc == -ENODATA)
		return errmsg_set(err, -EIO, "cannot %s '%s': the source ended early", what, key);
	return errmsg_set(err, rc, "cannot %s '%s' in '%s': %s", what, key, ls->dir,
			  strerror(-rc));
}

/* Open a key for reading; -ENOENT when absent or a directory. */
static int open_key(struct local_store *ls, const char *key, struct stat *st)
{
	int fd = openat(ls->dirfd, key, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOTDIR ? -ENOENT : -errno;
	if (fstat(fd, st)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

static int read_error(struct local_store *ls, int rc, const char *key, struct errmsg *err)
{
	if (rc == -ENOENT)
		return errmsg_set(err, rc, "cannot read '%s': no such object in '%s'", key,
				  ls->dir);
	return errmsg_set(err, rc, "cannot read '%s' in '%s': %s", key, ls->dir, strerror(-rc));
}

/* ---- check ---- */

static int local_check(struct objstore *s, struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	struct stat st;

	if (stat(ls->dir, &st))
		return errmsg_set(err, -ENOENT, "directory '%s' does not exist (%s)", ls->dir,
				  strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errmsg_set(err, -ENOENT, "'%s' is not a directory", ls->dir);
	if (access(ls->dir, R_OK | X_OK))
		return errmsg_set(err, -EACCES, "directory '%s' is not readable (%s)", ls->dir,
				  strerror(errno));
	return 0;
}

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

static int local_list_page(struct objstore *s, const char *prefix, const char *delim,
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
				cheap_etag(&st, e->etag, sizeof(e->etag));
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

/* ---- head / get ---- */

static int local_head(struct objstore *s, const char *key, struct obj_entry *out,
		      struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	struct stat st;

	if (key_check(key))
		return bad_key(err, "read", key);
	if (fstatat(ls->dirfd, key, &st, 0)) {
		int rc = errno == ENOTDIR ? -ENOENT : -errno;

		return read_error(ls, rc, key, err);
	}
	if (!S_ISREG(st.st_mode))
		return read_error(ls, -ENOENT, key, err);
	out->key = strdup(key);
	if (!out->key)
		return errmsg_set(err, -ENOMEM, "cannot read '%s': out of memory", key);
	out->size = (uint64_t)st.st_size;
	out->mtime = (int64_t)st.st_mtim.tv_sec;
	cheap_etag(&st, out->etag, sizeof(out->etag));
	return 0;
}

static int local_get(struct objstore *s, const char *key, uint64_t off, size_t len, void *dst,
		     size_t *got, struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	struct stat st;
	char *p = dst;
	int fd, rc = 0;

	if (key_check(key))
		return bad_key(err, "read", key);
	fd = open_key(ls, key, &st);
	if (fd < 0)
		return read_error(ls, fd, key, err);
	while (*got < len) {
		ssize_t n = pread(fd, p + *got, len - *got, (off_t)(off + *got));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = read_error(ls, -errno, key, err);
			break;
		}
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	close(fd);
	return rc;
}

/* ---- put ---- */

struct mem_src {
	const void *data;
	size_t len;
};

static int fill_mem(int fd, void *arg)
{
	struct mem_src *m = arg;

	return write_all(fd, m->data, m->len);
}

static int local_put(struct objstore *s, const char *key, const void *data, size_t len,
		     unsigned flags, struct errmsg *err)
{
	struct mem_src m = { data, len };

	if (key_check(key))
		return bad_key(err, "write", key);
	return atomic_write(to_local(s), key, !!(flags & OBJSTORE_IF_NONE_MATCH), fill_mem, &m,
			    "write", err);
}

/* ---- copy ---- */

struct range_src {
	int fd;
	uint64_t off, len;
};

static int fill_range(int fd, void *arg)
{
	struct range_src *r = arg;

	return copy_range(r->fd, r->off, r->len, fd);
}

static int local_copy(struct objstore *dst, const char *dst_key, struct objstore *src,
		      const char *src_key, uint64_t size, struct errmsg *err)
{
	struct local_store *d = to_local(dst), *sl = to_local(src);
	struct range_src r = { .off = 0 };
	struct stat st;
	int rc;

	if (key_check(dst_key))
		return bad_key(err, "write", dst_key);
	if (key_check(src_key))
		return bad_key(err, "read", src_key);
	r.fd = open_key(sl, src_key, &st);
	if (r.fd < 0)
		return read_error(sl, r.fd, src_key, err);
	/* The whole source, as S3 CopyObject does; `size` is only a hint. */
	r.len = (uint64_t)st.st_size;
	rc = atomic_write(d, dst_key, 0, fill_range, &r, "copy to", err);
	close(r.fd);
	return rc;
}

/* ---- multipart ---- */

/* "<dir of key>/.mvbackupfs-mpu/<id>" into out; -EINVAL for a malformed id. */
static int mpu_path(const char *key, const char *upload_id, char *out, size_t outsz)
{
	char dir[PATH_MAX];
	const char *p;

	if (!upload_id || strlen(upload_id) != 32)
		return -EINVAL;
	for (p = upload_id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return -EINVAL;
	key_parent(key, dir, sizeof(dir));
	if ((size_t)snprintf(out, outsz, "%s/" MPU_DIR "/%s", dir, upload_id) >= outsz)
		return -ENAMETOOLONG;
	return 0;
}

static int no_upload(struct errmsg *err, const char *key, const char *upload_id)
{
	return errmsg_set(err, -ENOENT, "no multipart upload '%s' for '%s'",
			  upload_id ? upload_id : "", key);
}

static int local_mpu_begin(struct objstore *s, const char *key, char **upload_id,
			   struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	char id[33], path[PATH_MAX];
	int rc;

	if (key_check(key))
		return bad_key(err, "upload", key);
	if (rand_hex(id, 16))
		return errmsg_set(err, -EIO, "cannot upload '%s': no random bytes", key);
	mpu_path(key, id, path, sizeof(path));
	rc = mkdir_p(ls->dirfd, path);
	if (rc)
		return errmsg_set(err, rc == -EEXIST ? -ENOTDIR : rc,
				  "cannot start an upload of '%s' in '%s': %s", key, ls->dir,
				  strerror(-rc));
	*upload_id = strdup(id);
	if (!*upload_id) {
		unlinkat(ls->dirfd, path, AT_REMOVEDIR);
		return errmsg_set(err, -ENOMEM, "cannot upload '%s': out of memory", key);
	}
	return 0;
}

/* Write part `number` of an upload from `fill`; the part's etag goes to out. */
static int mpu_write_part(struct local_store *ls, const char *key, const char *upload_id,
			  int number, fill_fn fill, void *arg, struct mpu_part *out,
			  struct errmsg *err)
{
	char dir[PATH_MAX], tmp[PATH_MAX], part[PATH_MAX + 16];
	struct stat st;
	int fd, rc;

	if (key_check(key))
		return bad_key(err, "upload", key);
	if (mpu_path(key, upload_id, dir, sizeof(dir)))
		return no_upload(err, key, upload_id);
	fd = tmp_open(ls->dirfd, dir, tmp, sizeof(tmp));
	if (fd == -ENOENT || fd == -ENOTDIR)
		return no_upload(err, key, upload_id);
	if (fd < 0)
		return errmsg_set(err, fd, "cannot upload part %d of '%s': %s", number, key,
				  strerror(-fd));
	rc = fill(fd, arg);
	if (!rc && fstat(fd, &st))
		rc = -errno;
	close(fd);
	snprintf(part, sizeof(part), "%s/%d", dir, number);
	if (!rc && renameat(ls->dirfd, tmp, ls->dirfd, part))
		rc = -errno;
	if (rc) {
		unlinkat(ls->dirfd, tmp, 0);
		if (rc == -ENODATA)
			return errmsg_set(err, -EIO, "cannot copy part %d of '%s': the source "
					  "ended early", number, key);
		return errmsg_set(err, rc, "cannot upload part %d of '%s': %s", number, key,
				  strerror(-rc));
	}
	out->number = number;
	cheap_etag(&st, out->etag, sizeof(out->etag));
	return 0;
}

static int local_mpu_part(struct objstore *s, const char *key, const char *upload_id,
			  int number, const void *data, size_t len, struct mpu_part *out,
			  struct errmsg *err)
{
	struct mem_src m = { data, len };

	return mpu_write_part(to_local(s), key, upload_id, number, fill_mem, &m, out, err);
}

static int local_mpu_part_copy(struct objstore *s, const char *key, const char *upload_id,
			       int number, struct objstore *src, const char *src_key,
			       uint64_t off, uint64_t len, struct mpu_part *out,
			       struct errmsg *err)
{
	struct local_store *sl = to_local(src);
	struct range_src r = { .off = off, .len = len };
	struct stat st;
	int rc;

	if (key_check(src_key))
		return bad_key(err, "read", src_key);
	r.fd = open_key(sl, src_key, &st);
	if (r.fd < 0)
		return read_error(sl, r.fd, src_key, err);
	if (off > (uint64_t)st.st_size || len > (uint64_t)st.st_size - off) {
		close(r.fd);
		return errmsg_set(err, -EINVAL, "cannot copy bytes %llu..%llu of '%s': it has "
				  "only %llu bytes", (unsigned long long)off,
				  (unsigned long long)(off + len), src_key,
				  (unsigned long long)st.st_size);
	}
	rc = mpu_write_part(to_local(s), key, upload_id, number, fill_range, &r, out, err);
	close(r.fd);
	return rc;
}

/* Remove the directories above `path` (a relative path) that are now empty, up to the base:
 * S3 has no directories, so none should outlive the last object in it. */
static void prune_empty_parents(struct local_store *ls, const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/'))) {
		*slash = '\0';
		if (!strcmp(dir, ".") || unlinkat(ls->dirfd, dir, AT_REMOVEDIR))
			break;
	}
}

/* Remove an upload's staging directory and, when now empty, the .mvbackupfs-mpu above it. */
static void mpu_remove(struct local_store *ls, const char *dir)
{
	char mpu[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(ls->dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	unlinkat(ls->dirfd, dir, AT_REMOVEDIR);
	snprintf(mpu, sizeof(mpu), "%s", dir);
	*strrchr(mpu, '/') = '\0';
	/* Fails harmlessly while other uploads to the same directory are staged. */
	if (!unlinkat(ls->dirfd, mpu, AT_REMOVEDIR))
		prune_empty_parents(ls, mpu);
}

struct parts_src {
	struct local_store *ls;
	const char *dir;
	const struct mpu_part *parts;
	size_t nparts;
	int bad_part;		/* part number that was missing or changed, for the message */
};

static int fill_parts(int fd, void *arg)
{
	struct parts_src *p = arg;
	size_t i;

	for (i = 0; i < p->nparts; i++) {
		char path[PATH_MAX + 16], etag[72];
		struct stat st;
		int in, rc;

		snprintf(path, sizeof(path), "%s/%d", p->dir, p->parts[i].number);
		in = openat(p->ls->dirfd, path, O_RDONLY | O_CLOEXEC);
		if (in < 0 || fstat(in, &st)) {
			if (in >= 0)
				close(in);
			p->bad_part = p->parts[i].number;
			return -EINVAL;
		}
		cheap_etag(&st, etag, sizeof(etag));
		if (p->parts[i].etag[0] && strcmp(etag, p->parts[i].etag)) {
			close(in);
			p->bad_part = p->parts[i].number;
			return -EINVAL;
		}
		rc = copy_range(in, 0, (uint64_t)st.st_size, fd);
		close(in);
		if (rc)
			return rc;
	}
	return 0;
}

static int local_mpu_complete(struct objstore *s, const char *key, const char *upload_id,
			      const struct mpu_part *parts, size_t nparts, struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	struct parts_src p = { .ls = ls, .parts = parts, .nparts = nparts };
	char dir[PATH_MAX];
	struct stat st;
	size_t i;
	int rc;

	if (key_check(key))
		return bad_key(err, "upload", key);
	if (mpu_path(key, upload_id, dir, sizeof(dir)) ||
	    fstatat(ls->dirfd, dir, &st, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(st.st_mode))
		return no_upload(err, key, upload_id);
	if (!nparts)
		return errmsg_set(err, -EINVAL, "cannot complete the upload of '%s': no parts",
				  key);
	for (i = 1; i < nparts; i++)
		if (parts[i].number <= parts[i - 1].number)
			return errmsg_set(err, -EINVAL, "cannot complete the upload of '%s': "
					  "parts out of order (%d after %d)", key,
					  parts[i].number, parts[i - 1].number);
	p.dir = dir;
	rc = atomic_write(ls, key, 0, fill_parts, &p, "complete the upload of", err);
	if (rc && p.bad_part)
		return errmsg_set(err, -EINVAL, "cannot complete the upload of '%s': part %d is "
				  "missing or was rewritten", key, p.bad_part);
	if (!rc)
		mpu_remove(ls, dir);
	return rc;
}

static int local_mpu_abort(struct objstore *s, const char *key, const char *upload_id,
			   struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	char dir[PATH_MAX];

	if (key_check(key))
		return bad_key(err, "abort the upload of", key);
	if (mpu_path(key, upload_id, dir, sizeof(dir)))
		return no_upload(err, key, upload_id);
	mpu_remove(ls, dir);	/* already gone (completed, aborted) is fine */
	return 0;
}

/* ---- delete ---- */

static int is_dir_at(int dirfd, const char *path)
{
	struct stat st;

	return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int local_delete_keys(struct objstore *s, const char *const *keys, size_t nkeys,
			     struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	size_t i;
	int rc = 0;

	for (i = 0; i < nkeys; i++) {
		if (key_check(keys[i])) {
			rc = bad_key(err, "delete", keys[i]);
			continue;
		}
		if (unlinkat(ls->dirfd, keys[i], 0) && errno != ENOENT && errno != ENOTDIR &&
		    !((errno == EISDIR || errno == EPERM) && is_dir_at(ls->dirfd, keys[i]))) {
			/* EISDIR/EPERM on a directory: no object has that key.  On a file, EPERM
			 * is a real refusal (immutable, sticky dir) and must not pass as deleted. */
			rc = -errno;
			errmsg_set(err, rc, "cannot delete '%s' in '%s': %s", keys[i], ls->dir,
				   strerror(-rc));
			continue;
		}
		prune_empty_parents(ls, keys[i]);
	}
	return rc;
}

/* Remove the directory `name` in `dfd` and everything below it (no symlink is followed). */
static int rm_tree_at(int dfd, const char *name, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (depth > WALK_MAX_DEPTH)
		return -ELOOP;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) && !rc) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (is_dir_at(dirfd(d), de->d_name))
			rc = rm_tree_at(dirfd(d), de->d_name, depth + 1);
		else if (unlinkat(dirfd(d), de->d_name, 0) && errno != ENOENT)
			rc = -errno;
	}
	closedir(d);
	if (!rc && unlinkat(dfd, name, AT_REMOVEDIR) && errno != ENOENT)
		rc = -errno;
	return rc;
}

/* Below the directory `dfd`: remove TMP_PREFIX files and MPU_DIR trees, counting them. */
static int clean_walk(int dfd, int depth, size_t *n)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (depth > WALK_MAX_DEPTH)
		return -ELOOP;
	fd = dup(dfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) && !rc) {
		const char *nm = de->d_name;
		int sub;

		if (!strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		if (!strncmp(nm, TMP_PREFIX, strlen(TMP_PREFIX)) && !is_dir_at(dirfd(d), nm)) {
			if (unlinkat(dirfd(d), nm, 0) == 0)
				(*n)++;
			else if (errno != ENOENT)
				rc = -errno;
		} else if (!strcmp(nm, MPU_DIR) && is_dir_at(dirfd(d), nm)) {
			rc = rm_tree_at(dirfd(d), nm, depth + 1);
			if (!rc)
				(*n)++;
		} else if (is_dir_at(dirfd(d), nm)) {
			sub = openat(dirfd(d), nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				continue;	/* gone meanwhile */
			rc = clean_walk(sub, depth + 1, n);
			close(sub);
			/* S3 has no directories: none outlives its last object (fails harmlessly
			 * when it still holds some) */
			if (!rc)
				unlinkat(dirfd(d), nm, AT_REMOVEDIR);
		}
	}
	closedir(d);
	return rc;
}

/* The local store's leftovers of interrupted writes under `prefix`: temporary files of
 * atomic_write and upload staging directories.  Emptied directories are pruned. */
static int local_abort_uploads(struct objstore *s, const char *prefix, size_t *n_aborted,
			       struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	char dir[PATH_MAX];
	size_t len = strlen(prefix);
	int fd, rc;

	if (len < 2 || len >= sizeof(dir))
		return bad_key(err, "clean up", prefix);
	memcpy(dir, prefix, len - 1);
	dir[len - 1] = '\0';
	if (key_check(dir))
		return bad_key(err, "clean up", prefix);
	fd = openat(ls->dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 :
		       errmsg_set(err, -errno, "cannot clean up '%s' in '%s': %s", prefix, ls->dir,
				  strerror(errno));
	rc = clean_walk(fd, 0, n_aborted);
	close(fd);
	if (rc)
		return errmsg_set(err, rc, "cannot clean up the temporary files under '%s' in "
				  "'%s': %s", prefix, ls->dir, strerror(-rc));
	return 0;
}

static int local_same_backend(const struct objstore *a, const struct objstore *b)
{
	return a->ops == &local_ops && b->ops == &local_ops;
}

static void local_destroy(struct objstore *s)
{
	struct local_store *ls = to_local(s);

	if (ls->dirfd >= 0)
		close(ls->dirfd);
	free(ls->dir);
	free(ls);
}

static const struct objstore_ops local_ops = {
	.kind = "local",
	.check = local_check,
	.list_page = local_list_page,
	.head = local_head,
	.get = local_get,
	.put = local_put,
	.mpu_begin = local_mpu_begin,
	.mpu_part = local_mpu_part,
	.mpu_part_copy = local_mpu_part_copy,
	.mpu_complete = local_mpu_complete,
	.mpu_abort = local_mpu_abort,
	.copy = local_copy,
	.delete_keys = local_delete_keys,
	.same_backend = local_same_backend,
	.abort_uploads = local_abort_uploads,
	.destroy = local_destroy,
};

int local_store_new(const char *dir, struct objstore **out, struct errmsg *err)
{
	struct local_store *ls;
	char *abs;
	int fd;

	*out = NULL;
	if (!dir || !*dir)
		return errmsg_set(err, -EINVAL, "no directory given for the local store");
	abs = realpath(dir, NULL);
	if (!abs) {
		int rc = -errno;

		return errmsg_set(err, rc == -ENOTDIR ? -ENOENT : rc,
				  "directory '%s' does not exist (%s)", dir, strerror(-rc));
	}
	fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;

		free(abs);
		if (rc == -ENOTDIR)
			return errmsg_set(err, -ENOENT, "'%s' is not a directory", dir);
		return errmsg_set(err, rc, "cannot open directory '%s': %s", dir, strerror(-rc));
	}
	ls = calloc(1, sizeof(*ls));
	if (!ls)
		goto nomem;
	ls->base.name = strdup(abs);
	if (!ls->base.name) {
		free(ls);
		goto nomem;
	}
	ls->base.ops = &local_ops;
	ls->dir = abs;
	ls->dirfd = fd;
	*out = &ls->base;
	return 0;
nomem:
	close(fd);
	free(abs);
	return errmsg_set(err, -ENOMEM, "cannot open directory '%s': out of memory", dir);
}
