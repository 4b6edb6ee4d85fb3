/*
 * local_mpu.c - multipart uploads of the local store (local_internal.h): parts staged in
 * "<dir of the key>/.mvbackupfs-mpu/<upload id>/", on the object's filesystem, assembled by
 * an atomic write at complete, removed at abort; empty parents pruned as S3 has no
 * directories.
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
	local_key_parent(key, dir, sizeof(dir));
	if ((size_t)snprintf(out, outsz, "%s/" MPU_DIR "/%s", dir, upload_id) >= outsz)
		return -ENAMETOOLONG;
	return 0;
}

static int no_upload(struct errmsg *err, const char *key, const char *upload_id)
{
	return errmsg_set(err, -ENOENT, "no multipart upload '%s' for '%s'",
			  upload_id ? upload_id : "", key);
}

int local_mpu_begin(struct objstore *s, const char *key, char **upload_id,
			   struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	char id[33], path[PATH_MAX];
	int rc;

	if (local_key_check(key))
		return local_bad_key(err, "upload", key);
	if (rand_hex(id, 16))
		return errmsg_set(err, -EIO, "cannot upload '%s': no random bytes", key);
	mpu_path(key, id, path, sizeof(path));
	rc = local_mkdir_p(ls->dirfd, path);
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

	if (local_key_check(key))
		return local_bad_key(err, "upload", key);
	if (mpu_path(key, upload_id, dir, sizeof(dir)))
		return no_upload(err, key, upload_id);
	fd = local_tmp_open(ls->dirfd, dir, tmp, sizeof(tmp));
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
	local_cheap_etag(&st, out->etag, sizeof(out->etag));
	return 0;
}

int local_mpu_part(struct objstore *s, const char *key, const char *upload_id,
			  int number, const void *data, size_t len, struct mpu_part *out,
			  struct errmsg *err)
{
	struct mem_src m = { data, len };

	return mpu_write_part(to_local(s), key, upload_id, number, local_fill_mem, &m, out, err);
}

int local_mpu_part_copy(struct objstore *s, const char *key, const char *upload_id,
			       int number, struct objstore *src, const char *src_key,
			       uint64_t off, uint64_t len, struct mpu_part *out,
			       struct errmsg *err)
{
	struct local_store *sl = to_local(src);
	struct range_src r = { .off = off, .len = len };
	struct stat st;
	int rc;

	if (local_key_check(src_key))
		return local_bad_key(err, "read", src_key);
	r.fd = local_open_key(sl, src_key, &st);
	if (r.fd < 0)
		return local_read_error(sl, r.fd, src_key, err);
	if (off > (uint64_t)st.st_size || len > (uint64_t)st.st_size - off) {
		close(r.fd);
		return errmsg_set(err, -EINVAL, "cannot copy bytes %llu..%llu of '%s': it has "
				  "only %llu bytes", (unsigned long long)off,
				  (unsigned long long)(off + len), src_key,
				  (unsigned long long)st.st_size);
	}
	rc = mpu_write_part(to_local(s), key, upload_id, number, local_fill_range, &r, out, err);
	close(r.fd);
	return rc;
}

/* Remove the directories above `path` (a relative path) that are now empty, up to the base:
 * S3 has no directories, so none should outlive the last object in it. */
void local_prune_empty_parents(struct local_store *ls, const char *path)
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
		local_prune_empty_parents(ls, mpu);
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
		local_cheap_etag(&st, etag, sizeof(etag));
		if (p->parts[i].etag[0] && strcmp(etag, p->parts[i].etag)) {
			close(in);
			p->bad_part = p->parts[i].number;
			return -EINVAL;
		}
		rc = local_copy_range(in, 0, (uint64_t)st.st_size, fd);
		close(in);
		if (rc)
			return rc;
	}
	return 0;
}

int local_mpu_complete(struct objstore *s, const char *key, const char *upload_id,
			      const struct mpu_part *parts, size_t nparts, struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	struct parts_src p = { .ls = ls, .parts = parts, .nparts = nparts };
	char dir[PATH_MAX];
	struct stat st;
	size_t i;
	int rc;

	if (local_key_check(key))
		return local_bad_key(err, "upload", key);
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
	rc = local_atomic_write(ls, key, 0, fill_parts, &p, "complete the upload of", err);
	if (rc && p.bad_part)
		return errmsg_set(err, -EINVAL, "cannot complete the upload of '%s': part %d is "
				  "missing or was rewritten", key, p.bad_part);
	if (!rc)
		mpu_remove(ls, dir);
	return rc;
}

int local_mpu_abort(struct objstore *s, const char *key, const char *upload_id,
			   struct errmsg *err)
{
	struct local_store *ls = to_local(s);
	char dir[PATH_MAX];

	if (local_key_check(key))
		return local_bad_key(err, "abort the upload of", key);
	if (mpu_path(key, upload_id, dir, sizeof(dir)))
		return no_upload(err, key, upload_id);
	mpu_remove(ls, dir);	/* already gone (completed, aborted) is fine */
	return 0;
}
