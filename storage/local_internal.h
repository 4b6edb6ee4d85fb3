/*
 * local_internal.h - what the files of the local-directory store share (private to
 * storage/): local.c (keys, atomic writes, head/get/put/copy/delete, creation),
 * local_list.c (listings that page like ListObjectsV2), local_mpu.c (multipart uploads).
 */
#ifndef MVBACKUPFS_LOCAL_INTERNAL_H
#define MVBACKUPFS_LOCAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "mvbackupfs/storage/local.h"

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

static inline struct local_store *to_local(struct objstore *s)
{
	return (struct local_store *)s;
}

typedef int (*fill_fn)(int fd, void *arg);

/* what local_fill_mem / local_fill_range write (local_atomic_write's fill functions) */
struct mem_src {
	const void *data;
	size_t len;
};

struct range_src {
	int fd;
	uint64_t off, len;
};

/* local.c */
/* 0 when `key` is a usable object key: not empty, relative, no empty, ".", ".." or reserved
 * elements, not ending in '/'. */
int local_key_check(const char *key);
int local_bad_key(struct errmsg *err, const char *what, const char *key);
/* The directory part of `key` ("a/b" for "a/b/c", "." for "c"), in `out`. */
void local_key_parent(const char *key, char *out, size_t outsz);
/* Create every directory of the relative path `dir` below `dirfd` ("." is a no-op). */
int local_mkdir_p(int dirfd, const char *dir);
/* Open a fresh temporary file in `dir` (relative to dirfd); its relative path goes to tmp. */
int local_tmp_open(int dirfd, const char *dir, char *tmp, size_t tmpsz);
int local_write_all(int fd, const void *data, size_t len);
/* Copy `len` bytes of `in` at `off` to the end of `out`: copy_file_range(2) (reflinks or
 * in-kernel copies), falling back to pread/write across filesystems.  -ENODATA when `in`
 * ends early. */
int local_copy_range(int in, uint64_t off, uint64_t len, int out);
void local_fsync_dir(int dirfd, const char *dir);
/* A cheap etag: size and modification time, which change whenever the file is rewritten. */
void local_cheap_etag(const struct stat *st, char *out, size_t outsz);
int local_atomic_write(struct local_store *ls, const char *key, int excl, fill_fn fill,
			void *arg, const char *what, struct errmsg *err);
/* Open a key for reading; -ENOENT when absent or a directory. */
int local_open_key(struct local_store *ls, const char *key, struct stat *st);
int local_read_error(struct local_store *ls, int rc, const char *key, struct errmsg *err);
int local_fill_mem(int fd, void *arg);
int local_fill_range(int fd, void *arg);
/* Remove the directories above `path` (a relative path) that are now empty, up to the base:
 * S3 has no directories, so none should outlive the last object in it. */
void local_prune_empty_parents(struct local_store *ls, const char *path);

/* local_list.c, local_mpu.c: their objstore operations */
int local_list_page(struct objstore *s, const char *prefix, const char *delim,
			   const char *token, size_t max_keys, struct obj_listing *out,
			   char **next_token, struct errmsg *err);
int local_mpu_begin(struct objstore *s, const char *key, char **upload_id,
			   struct errmsg *err);
int local_mpu_part(struct objstore *s, const char *key, const char *upload_id,
			  int number, const void *data, size_t len, struct mpu_part *out,
			  struct errmsg *err);
int local_mpu_part_copy(struct objstore *s, const char *key, const char *upload_id,
			       int number, struct objstore *src, const char *src_key,
			       uint64_t off, uint64_t len, struct mpu_part *out,
			       struct errmsg *err);
int local_mpu_complete(struct objstore *s, const char *key, const char *upload_id,
			      const struct mpu_part *parts, size_t nparts, struct errmsg *err);
int local_mpu_abort(struct objstore *s, const char *key, const char *upload_id,
			   struct errmsg *err);

#endif
