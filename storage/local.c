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
 * Listings are local_list.c's, multipart uploads local_mpu.c's.
 */
#include "local_internal.h"

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

static const struct objstore_ops local_ops;


/* ---- keys ---- */

/* 0 when `key` is a usable object key: not empty, relative, no empty, ".", ".." or reserved
 * elements, not ending in '/'. */
int local_key_check(const char *key)
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

int local_bad_key(struct errmsg *err, const char *what, const char *key)
{
	return errmsg_set(err, -EINVAL,
			  "cannot %s '%s': invalid key for a local store (empty, absolute, "
			  "'.'/'..' or empty elements, or a reserved '" RESERVED_PREFIX "' name)",
			  what, key ? key : "");
}

/* The directory part of `key` ("a/b" for "a/b/c", "." for "c"), in `out`. */
void local_key_parent(const char *key, char *out, size_t outsz)
{
	const char *slash = strrchr(key, '/');

	if (!slash)
		snprintf(out, outsz, ".");
	else
		snprintf(out, outsz, "%.*s", (int)(slash - key), key);
}

/* ---- small file helpers ---- */

/* Create every directory of the relative path `dir` below `dirfd` ("." is a no-op). */
int local_mkdir_p(int dirfd, const char *dir)
{
	char path[PATH_MAX];
	char *p;
	int tries, rc = 0;

	if (!strcmp(dir, "."))
		return 0;
	/*
	 * A component made (or found) a moment ago may be gone at the next step: another
	 * upload's cleanup removes a directory it leaves empty (mpu_remove,
	 * local_prune_empty_parents).  mkdirat then fails with ENOENT; walk again from the top
	 * (test_copy's parallel multipart uploads into one directory hit this).
	 */
	for (tries = 0; tries < 8; tries++) {
		snprintf(path, sizeof(path), "%s", dir);
		rc = 0;
		for (p = path;; p++) {
			if (*p == '/' || *p == '\0') {
				char c = *p;

				*p = '\0';
				if (mkdirat(dirfd, path, 0777) && errno != EEXIST) {
					rc = -errno;
					break;
				}
				*p = c;
				if (!c)
					break;
			}
		}
		if (rc != -ENOENT)
			break;
	}
	return rc;
}

/* Open a fresh temporary file in `dir` (relative to dirfd); its relative path goes to tmp. */
int local_tmp_open(int dirfd, const char *dir, char *tmp, size_t tmpsz)
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

int local_write_all(int fd, const void *data, size_t len)
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
int local_copy_range(int in, uint64_t off, uint64_t len, int out)
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
				rc = local_write_all(out, bounce, (size_t)n);
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

void local_fsync_dir(int dirfd, const char *dir)
{
	int fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* A cheap etag: size and modification time, which change whenever the file is rewritten. */
void local_cheap_etag(const struct stat *st, char *out, size_t outsz)
{
	snprintf(out, outsz, "%llx-%llx%09lx", (unsigned long long)st->st_size,
		 (unsigned long long)st->st_mtim.tv_sec, (unsigned long)st->st_mtim.tv_nsec);
}

/*
 * Write an object atomically: a temporary file in the key's directory is filled by `fill`,
 * fsync'ed, then renamed over the key (or linked, when `excl`: -EEXIST if the key exists).
 * A concurrent delete may remove the freshly made parent directories: retried a few times.
 */

int local_atomic_write(struct local_store *ls, const char *key, int excl, fill_fn fill,
			void *arg, const char *what, struct errmsg *err)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	int fd = -1, rc = 0, tries;

	local_key_parent(key, dir, sizeof(dir));
	for (tries = 0; tries < 5; tries++) {
		rc = local_mkdir_p(ls->dirfd, dir);
		if (rc)
			break;
		fd = local_tmp_open(ls->dirfd, dir, tmp, sizeof(tmp));
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
	local_fsync_dir(ls->dirfd, dir);
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
int local_open_key(struct local_store *ls, const char *key, struct stat *st)
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

int local_read_error(struct local_store *ls, int rc, const char *key, struct errmsg *err)
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

/* ---- head / get ---- */

static int local_head(struct objstore *s, const char *key, struct obj_entry *out,
		      struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	struct stat st;

	if (local_key_check(key))
		return local_bad_key(err, "read", key);
	if (fstatat(ls->dirfd, key, &st, 0)) {
		int rc = errno == ENOTDIR ? -ENOENT : -errno;

		return local_read_error(ls, rc, key, err);
	}
	if (!S_ISREG(st.st_mode))
		return local_read_error(ls, -ENOENT, key, err);
	out->key = strdup(key);
	if (!out->key)
		return errmsg_set(err, -ENOMEM, "cannot read '%s': out of memory", key);
	out->size = (uint64_t)st.st_size;
	out->mtime = (int64_t)st.st_mtim.tv_sec;
	local_cheap_etag(&st, out->etag, sizeof(out->etag));
	return 0;
}

static int local_get(struct objstore *s, const char *key, uint64_t off, size_t len, void *dst,
		     size_t *got, struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	struct stat st;
	char *p = dst;
	int fd, rc = 0;

	if (local_key_check(key))
		return local_bad_key(err, "read", key);
	fd = local_open_key(ls, key, &st);
	if (fd < 0)
		return local_read_error(ls, fd, key, err);
	while (*got < len) {
		ssize_t n = pread(fd, p + *got, len - *got, (off_t)(off + *got));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = local_read_error(ls, -errno, key, err);
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


int local_fill_mem(int fd, void *arg)
{
	struct mem_src *m = arg;

	return local_write_all(fd, m->data, m->len);
}

static int local_put(struct objstore *s, const char *key, const void *data, size_t len,
		     unsigned flags, struct errmsg *err)
{
	struct mem_src m = { data, len };

	if (local_key_check(key))
		return local_bad_key(err, "write", key);
	return local_atomic_write(to_local(s), key, !!(flags & OBJSTORE_IF_NONE_MATCH), local_fill_mem, &m,
			    "write", err);
}

/* ---- copy ---- */


int local_fill_range(int fd, void *arg)
{
	struct range_src *r = arg;

	return local_copy_range(r->fd, r->off, r->len, fd);
}

static int local_copy(struct objstore *dst, const char *dst_key, struct objstore *src,
		      const char *src_key, uint64_t size, struct errmsg *err)
{
	struct local_store *d = to_local(dst), *sl = to_local(src);
	struct range_src r = { .off = 0 };
	struct stat st;
	int rc;

	if (local_key_check(dst_key))
		return local_bad_key(err, "write", dst_key);
	if (local_key_check(src_key))
		return local_bad_key(err, "read", src_key);
	r.fd = local_open_key(sl, src_key, &st);
	if (r.fd < 0)
		return local_read_error(sl, r.fd, src_key, err);
	/* The whole source, as S3 CopyObject does; `size` is only a hint. */
	r.len = (uint64_t)st.st_size;
	rc = local_atomic_write(d, dst_key, 0, local_fill_range, &r, "copy to", err);
	close(r.fd);
	return rc;
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
		if (local_key_check(keys[i])) {
			rc = local_bad_key(err, "delete", keys[i]);
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
		local_prune_empty_parents(ls, keys[i]);
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
 * local_atomic_write and upload staging directories.  Emptied directories are pruned. */
static int local_abort_uploads(struct objstore *s, const char *prefix, size_t *n_aborted,
			       struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	char dir[PATH_MAX];
	size_t len = strlen(prefix);
	int fd, rc;

	if (len < 2 || len >= sizeof(dir))
		return local_bad_key(err, "clean up", prefix);
	memcpy(dir, prefix, len - 1);
	dir[len - 1] = '\0';
	if (local_key_check(dir))
		return local_bad_key(err, "clean up", prefix);
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
