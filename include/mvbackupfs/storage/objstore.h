/*
 * objstore.h - one object-store interface, two backends (S3 in s3.h, a local directory in
 * local.h).
 *
 * A `struct objstore` is bound to one bucket (S3) or one base directory (local).  Keys are
 * full keys inside that bucket ("backup/nightly_1/meta/full_meta.json"), never starting with
 * '/'.  The layers above (milvus/, fs/) add their own root prefixes.  This layer knows nothing
 * of Milvus or FUSE.
 *
 * Every function is thread-safe: many threads may call into one store at once (the S3 backend
 * keeps a pool of connections).  Every function returns 0 or -errno and, when `err` is not
 * NULL, a sentence naming the key and the cause.  Errno mapping, the same for both backends:
 *   -ENOENT        no such key (or, from objstore_check, no such bucket/directory)
 *   -EEXIST        conditional create found the key (OBJSTORE_IF_NONE_MATCH)
 *   -EACCES        credentials refused / signature mismatch / permission denied
 *   -EHOSTUNREACH  endpoint unreachable (DNS, refused connection, TLS failure)
 *   -ETIMEDOUT     deadline exceeded after retries
 *   -EIO           server error after retries, malformed response
 *   -EXDEV         objstore_copy between stores that cannot copy server-side
 *   -EFBIG         object larger than the caller's limit
 *   -ENOMEM        allocation failure
 * Throttling (503 SlowDown, 429), 5xx and connection errors are retried inside the backend
 * with exponential backoff and jitter, within each request's deadline.
 */
#ifndef MVBACKUPFS_OBJSTORE_H
#define MVBACKUPFS_OBJSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/err.h"

/* The longest object key, in bytes, with room for its NUL: S3's limit (1024), which the local
 * store keeps too so that a tree copies between the two.  Buffers for keys are this size. */
#define OBJSTORE_KEY_MAX 1024

struct objstore;

struct obj_entry {
	char *key;		/* full key, owned by the entry */
	uint64_t size;		/* bytes */
	int64_t mtime;		/* LastModified, Unix seconds (0 if unknown) */
	char etag[72];		/* without quotes; may be "" */
};

struct obj_listing {
	struct obj_entry *objs;	/* objects, in key order */
	size_t nobjs;
	char **prefixes;	/* common prefixes (with the delimiter at the end), in order */
	size_t nprefixes;
};

struct mpu_part {
	int number;		/* 1..10000 */
	char etag[72];		/* as returned by the part upload, without quotes */
};

enum objstore_put_flags {
	OBJSTORE_IF_NONE_MATCH = 1 << 0,	/* create only if absent: If-None-Match: * */
};

/* Release everything a listing holds; it is left empty (reusable). */
void obj_listing_release(struct obj_listing *l);

/* Free one entry's key. */
void obj_entry_release(struct obj_entry *e);

/* A short description for messages, e.g. "s3://bucket" or "/srv/backups".  Owned by the store. */
const char *objstore_name(const struct objstore *s);

/* Check at startup that the bucket/directory exists and that the credentials work.
 * Returns -ENOENT (bucket missing), -EACCES (credentials), -EHOSTUNREACH, -ETIMEDOUT, -EIO,
 * with one clear sentence in err.  Bounded by the store's connect/request deadlines. */
int objstore_check(struct objstore *s, struct errmsg *err);

/* List keys under `prefix` (may be "").  With a non-NULL `delim` (normally "/"), keys that
 * contain the delimiter after the prefix are rolled up into `prefixes`.  Follows every page.
 * `out` must be empty (zeroed) and is filled; release with obj_listing_release. */
int objstore_list(struct objstore *s, const char *prefix, const char *delim,
		  struct obj_listing *out, struct errmsg *err);

/* One page of a listing: at most `max_keys` entries (0 = server default, 1000) starting
 * after `token` (NULL for the first page).  *next_token is set to a malloc'd token when there
 * are more pages, NULL otherwise. */
int objstore_list_page(struct objstore *s, const char *prefix, const char *delim,
		       const char *token, size_t max_keys, struct obj_listing *out,
		       char **next_token, struct errmsg *err);

/* Size, mtime and etag of one key.  -ENOENT if absent.  out->key is set (owned by out). */
int objstore_head(struct objstore *s, const char *key, struct obj_entry *out,
		  struct errmsg *err);

/* Read up to `len` bytes at `off` into `dst`; *got is the number read (short only at the end
 * of the object; 0 when off >= size). */
int objstore_get(struct objstore *s, const char *key, uint64_t off, size_t len, void *dst,
		 size_t *got, struct errmsg *err);

/* Where a streamed read delivers its bytes, in order: 0 to go on, nonzero to stop the read
 * (objstore_get_stream then returns -ECANCELED). */
typedef int (*objstore_sink)(void *ctx, const char *data, size_t len);

/* Read up to `len` bytes at `off` as one request, handing them to `sink` as they arrive
 * (a long sequential read: the server streams it as it would one whole-object GET).  Not
 * retried: a failure ends the read with the bytes delivered so far (*got) and the store's
 * -errno; the caller reads the rest its usual way.  A stream that stalls fails once the
 * store's request timeout passes without a byte (S3), not at a deadline for all its bytes.
 * -ENOTSUP from a store that does not stream (see objstore_can_stream). */
int objstore_get_stream(struct objstore *s, const char *key, uint64_t off, uint64_t len,
			objstore_sink sink, void *ctx, uint64_t *got, struct errmsg *err);

/* Whether objstore_get_stream is worth using on this store (S3: yes; a local directory: no,
 * its reads cost no request). */
int objstore_can_stream(const struct objstore *s);

/* Read a whole (small) object into `out` (appended).  -EFBIG when it exceeds out->max. */
int objstore_get_all(struct objstore *s, const char *key, struct buf *out, struct errmsg *err);

/* Write a whole object.  With OBJSTORE_IF_NONE_MATCH: -EEXIST when the key exists (on S3 by a
 * conditional PUT; atomic).  Content-Length is always sent. */
int objstore_put(struct objstore *s, const char *key, const void *data, size_t len,
		 unsigned flags, struct errmsg *err);

/* Multipart upload.  begin returns a malloc'd upload id in *upload_id.  Parts are numbered
 * from 1; every part but the last must be >= 5 MiB on S3.  complete takes the parts in
 * order.  abort frees the server-side parts (safe to call after a failed complete). */
int objstore_mpu_begin(struct objstore *s, const char *key, char **upload_id,
		       struct errmsg *err);
int objstore_mpu_part(struct objstore *s, const char *key, const char *upload_id, int number,
		      const void *data, size_t len, struct mpu_part *out, struct errmsg *err);
/* UploadPartCopy: bytes [off, off+len) of src_key in store `src` become part `number`. */
int objstore_mpu_part_copy(struct objstore *s, const char *key, const char *upload_id,
			   int number, struct objstore *src, const char *src_key, uint64_t off,
			   uint64_t len, struct mpu_part *out, struct errmsg *err);
int objstore_mpu_complete(struct objstore *s, const char *key, const char *upload_id,
			  const struct mpu_part *parts, size_t nparts, struct errmsg *err);
int objstore_mpu_abort(struct objstore *s, const char *key, const char *upload_id,
		       struct errmsg *err);

/* Server-side copy of src/src_key (of `size` bytes) to dst/dst_key.  Objects above the
 * store's multipart-copy threshold (and always above 5 GiB) go through UploadPartCopy.
 * -EXDEV when the two stores cannot copy server-side (different endpoint or credentials, or
 * different backend kinds): the caller then streams with get/put. */
int objstore_copy(struct objstore *dst, const char *dst_key, struct objstore *src,
		  const char *src_key, uint64_t size, struct errmsg *err);

/* Delete keys (missing keys are not an error).  S3 sends DeleteObjects in batches of at
 * most 1000 keys. */
int objstore_delete(struct objstore *s, const char *const *keys, size_t nkeys,
		    struct errmsg *err);

/* Abort every multipart upload in progress whose key starts with `prefix` (which must end
 * with '/') and remove the backend's own temporary files below it: what a writer that died
 * or was cancelled mid-upload leaves behind, invisible to objstore_list but holding storage
 * (S3: ListMultipartUploads + AbortMultipartUpload; local: the .mvbackupfs-mpu staging
 * directories and .mvbackupfs-tmp.* files).  Uploads still being written by someone else
 * are aborted too: call it only on a prefix being deleted.  *n_aborted counts the uploads
 * and files removed.  0 or -errno. */
int objstore_abort_uploads(struct objstore *s, const char *prefix, size_t *n_aborted,
			   struct errmsg *err);

/* 1 when objstore_copy(a -> b) can be done server-side, else 0. */
int objstore_same_backend(const struct objstore *a, const struct objstore *b);

/* Free the store (waits for nothing: callers must have finished their calls). */
void objstore_free(struct objstore *s);

/*
 * Backend plumbing.  A backend fills a `struct objstore_ops` and embeds `struct objstore` as
 * the first member of its own struct.  The generic functions above check arguments and
 * dispatch (objstore_list walks list_page).  Every op is required except the ones marked
 * optional.
 */
struct objstore_ops {
	const char *kind;	/* "s3", "local" */
	int (*check)(struct objstore *s, struct errmsg *err);
	int (*list_page)(struct objstore *s, const char *prefix, const char *delim,
			 const char *token, size_t max_keys, struct obj_listing *out,
			 char **next_token, struct errmsg *err);
	int (*head)(struct objstore *s, const char *key, struct obj_entry *out,
		    struct errmsg *err);
	int (*get)(struct objstore *s, const char *key, uint64_t off, size_t len, void *dst,
		   size_t *got, struct errmsg *err);
	int (*put)(struct objstore *s, const char *key, const void *data, size_t len,
		   unsigned flags, struct errmsg *err);
	int (*mpu_begin)(struct objstore *s, const char *key, char **upload_id,
			 struct errmsg *err);
	int (*mpu_part)(struct objstore *s, const char *key, const char *upload_id, int number,
			const void *data, size_t len, struct mpu_part *out, struct errmsg *err);
	int (*mpu_part_copy)(struct objstore *s, const char *key, const char *upload_id,
			     int number, struct objstore *src, const char *src_key, uint64_t off,
			     uint64_t len, struct mpu_part *out, struct errmsg *err);
	int (*mpu_complete)(struct objstore *s, const char *key, const char *upload_id,
			    const struct mpu_part *parts, size_t nparts, struct errmsg *err);
	int (*mpu_abort)(struct objstore *s, const char *key, const char *upload_id,
			 struct errmsg *err);
	int (*copy)(struct objstore *dst, const char *dst_key, struct objstore *src,
		    const char *src_key, uint64_t size, struct errmsg *err);
	int (*delete_keys)(struct objstore *s, const char *const *keys, size_t nkeys,
			   struct errmsg *err);
	int (*same_backend)(const struct objstore *a, const struct objstore *b);
	/* optional (NULL: not supported) */
	int (*get_stream)(struct objstore *s, const char *key, uint64_t off, uint64_t len,
			  objstore_sink sink, void *ctx, uint64_t *got, struct errmsg *err);
	/* optional (NULL: nothing to abort) */
	int (*abort_uploads)(struct objstore *s, const char *prefix, size_t *n_aborted,
			     struct errmsg *err);
	void (*destroy)(struct objstore *s);
};

struct objstore {
	const struct objstore_ops *ops;
	char *name;		/* for messages, see objstore_name(); freed by objstore_free */
};

#endif
