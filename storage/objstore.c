/*
 * objstore.c - the backend-independent half of the object-store interface: argument checks,
 * dispatch to the backend's ops, and the whole-listing / whole-object helpers built on the
 * per-page and ranged primitives.
 */
#include "mvbackupfs/storage/objstore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void obj_entry_release(struct obj_entry *e)
{
	free(e->key);
	e->key = NULL;
}

void obj_listing_release(struct obj_listing *l)
{
	size_t i;

	for (i = 0; i < l->nobjs; i++)
		obj_entry_release(&l->objs[i]);
	free(l->objs);
	for (i = 0; i < l->nprefixes; i++)
		free(l->prefixes[i]);
	free(l->prefixes);
	memset(l, 0, sizeof(*l));
}

const char *objstore_name(const struct objstore *s)
{
	return s->name ? s->name : s->ops->kind;
}

int objstore_check(struct objstore *s, struct errmsg *err)
{
	return s->ops->check(s, err);
}

int objstore_list_page(struct objstore *s, const char *prefix, const char *delim,
		       const char *token, size_t max_keys, struct obj_listing *out,
		       char **next_token, struct errmsg *err)
{
	*next_token = NULL;
	return s->ops->list_page(s, prefix ? prefix : "", delim, token, max_keys, out,
				 next_token, err);
}

/* Append page `p` to `all`, moving ownership of every string. */
static int listing_append(struct obj_listing *all, struct obj_listing *p)
{
	if (p->nobjs) {
		struct obj_entry *o = realloc(all->objs, (all->nobjs + p->nobjs) * sizeof(*o));

		if (!o)
			return -ENOMEM;
		memcpy(o + all->nobjs, p->objs, p->nobjs * sizeof(*o));
		all->objs = o;
		all->nobjs += p->nobjs;
		free(p->objs);
		p->objs = NULL;
		p->nobjs = 0;
	}
	if (p->nprefixes) {
		char **q = realloc(all->prefixes, (all->nprefixes + p->nprefixes) * sizeof(*q));

		if (!q)
			return -ENOMEM;
		memcpy(q + all->nprefixes, p->prefixes, p->nprefixes * sizeof(*q));
		all->prefixes = q;
		all->nprefixes += p->nprefixes;
		free(p->prefixes);
		p->prefixes = NULL;
		p->nprefixes = 0;
	}
	return 0;
}

int objstore_list(struct objstore *s, const char *prefix, const char *delim,
		  struct obj_listing *out, struct errmsg *err)
{
	char *token = NULL, *next = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	do {
		struct obj_listing page = { 0 };

		rc = objstore_list_page(s, prefix, delim, token, 0, &page, &next, err);
		if (!rc)
			rc = listing_append(out, &page);
		obj_listing_release(&page);
		free(token);
		token = next;
		next = NULL;
	} while (!rc && token);
	free(token);
	if (rc)
		obj_listing_release(out);
	return rc;
}

/*
 * Keys are refused here, before any request, for both backends alike: an empty key, a leading
 * '/', an empty element ("a//b") or a "." / ".." element.  MinIO answers 400
 * XMinioInvalidResourceName to such keys where RGW stores them, and a local directory cannot
 * hold them; milvus-backup never makes them.  A trailing '/' (a "directory marker" that S3
 * tools create) is allowed here, so that a listing's stray marker can still be read and
 * deleted on S3 (the local store refuses it on its own: a directory cannot be an object).
 */
static int key_ok(const char *key)
{
	const char *p = key, *e;
	size_t n;

	if (!key || !*key || *key == '/')
		return 0;
	for (;;) {
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0)
			return !e && p != key; /* only a trailing '/' leaves an empty last element */
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (!e)
			return 1;
		p = e + 1;
	}
}

static int bad_key(struct errmsg *err, const char *what, const char *key)
{
	return errmsg_set(err, -EINVAL, "cannot %s '%s': not a valid object key (empty, starting "
			  "with '/', or with an empty, '.' or '..' element)", what, key ? key : "");
}

#define CHECK_KEY(what, key) \
	do { \
		if (!key_ok(key)) \
			return bad_key(err, what, key); \
	} while (0)

int objstore_head(struct objstore *s, const char *key, struct obj_entry *out,
		  struct errmsg *err)
{
	memset(out, 0, sizeof(*out));
	CHECK_KEY("stat", key);
	return s->ops->head(s, key, out, err);
}

int objstore_get(struct objstore *s, const char *key, uint64_t off, size_t len, void *dst,
		 size_t *got, struct errmsg *err)
{
	*got = 0;
	CHECK_KEY("read", key);
	if (len == 0)
		return 0;
	return s->ops->get(s, key, off, len, dst, got, err);
}

int objstore_get_stream(struct objstore *s, const char *key, uint64_t off, uint64_t len,
			objstore_sink sink, void *ctx, uint64_t *got, struct errmsg *err)
{
	*got = 0;
	CHECK_KEY("read", key);
	if (!s->ops->get_stream)
		return -ENOTSUP;
	if (len == 0)
		return 0;
	return s->ops->get_stream(s, key, off, len, sink, ctx, got, err);
}

int objstore_can_stream(const struct objstore *s)
{
	return s->ops->get_stream != NULL;
}

int objstore_get_all(struct objstore *s, const char *key, struct buf *out, struct errmsg *err)
{
	struct obj_entry e;
	size_t got = 0;
	int rc;

	rc = objstore_head(s, key, &e, err);
	if (rc)
		return rc;
	obj_entry_release(&e);
	if (e.size > out->max - out->len)
		return errmsg_set(err, -EFBIG, "cannot read '%s': %llu bytes exceed the limit of %zu",
				  key, (unsigned long long)e.size, out->max - out->len);
	rc = buf_reserve(out, (size_t)e.size);
	if (rc)
		return errmsg_set(err, rc, "cannot read '%s': out of memory", key);
	rc = objstore_get(s, key, 0, (size_t)e.size, out->p + out->len, &got, err);
	if (rc)
		return rc;
	out->len += got;
	out->p[out->len] = '\0';
	return 0;
}

int objstore_put(struct objstore *s, const char *key, const void *data, size_t len,
		 unsigned flags, struct errmsg *err)
{
	CHECK_KEY("write", key);
	return s->ops->put(s, key, data, len, flags, err);
}

int objstore_mpu_begin(struct objstore *s, const char *key, char **upload_id,
		       struct errmsg *err)
{
	*upload_id = NULL;
	CHECK_KEY("upload", key);
	return s->ops->mpu_begin(s, key, upload_id, err);
}

int objstore_mpu_part(struct objstore *s, const char *key, const char *upload_id, int number,
		      const void *data, size_t len, struct mpu_part *out, struct errmsg *err)
{
	CHECK_KEY("upload", key);
	if (number < 1 || number > 10000)
		return errmsg_set(err, -EINVAL, "cannot upload part %d of '%s': part numbers run 1..10000",
				  number, key);
	return s->ops->mpu_part(s, key, upload_id, number, data, len, out, err);
}

int objstore_mpu_part_copy(struct objstore *s, const char *key, const char *upload_id,
			   int number, struct objstore *src, const char *src_key, uint64_t off,
			   uint64_t len, struct mpu_part *out, struct errmsg *err)
{
	CHECK_KEY("upload", key);
	CHECK_KEY("copy", src_key);
	if (number < 1 || number > 10000)
		return errmsg_set(err, -EINVAL, "cannot copy part %d of '%s': part numbers run 1..10000",
				  number, key);
	if (!objstore_same_backend(s, src))
		return -EXDEV;
	return s->ops->mpu_part_copy(s, key, upload_id, number, src, src_key, off, len, out, err);
}

int objstore_mpu_complete(struct objstore *s, const char *key, const char *upload_id,
			  const struct mpu_part *parts, size_t nparts, struct errmsg *err)
{
	CHECK_KEY("upload", key);
	return s->ops->mpu_complete(s, key, upload_id, parts, nparts, err);
}

int objstore_mpu_abort(struct objstore *s, const char *key, const char *upload_id,
		       struct errmsg *err)
{
	CHECK_KEY("abort the upload of", key);
	return s->ops->mpu_abort(s, key, upload_id, err);
}

int objstore_copy(struct objstore *dst, const char *dst_key, struct objstore *src,
		  const char *src_key, uint64_t size, struct errmsg *err)
{
	CHECK_KEY("copy to", dst_key);
	CHECK_KEY("copy", src_key);
	if (!objstore_same_backend(dst, src))
		return -EXDEV;
	return dst->ops->copy(dst, dst_key, src, src_key, size, err);
}

int objstore_delete(struct objstore *s, const char *const *keys, size_t nkeys,
		    struct errmsg *err)
{
	size_t i;

	for (i = 0; i < nkeys; i++)
		CHECK_KEY("delete", keys[i]);
	if (nkeys == 0)
		return 0;
	return s->ops->delete_keys(s, keys, nkeys, err);
}

int objstore_abort_uploads(struct objstore *s, const char *prefix, size_t *n_aborted,
			   struct errmsg *err)
{
	*n_aborted = 0;
	/* never the whole store: only a prefix being deleted ("<root><name>/") */
	if (!prefix || !*prefix || prefix[strlen(prefix) - 1] != '/')
		return errmsg_set(err, -EINVAL, "cannot abort the uploads under '%s': not a "
				  "directory prefix", prefix ? prefix : "");
	return s->ops->abort_uploads ? s->ops->abort_uploads(s, prefix, n_aborted, err) : 0;
}

int objstore_same_backend(const struct objstore *a, const struct objstore *b)
{
	if (a->ops != b->ops)
		return 0;
	return a->ops->same_backend ? a->ops->same_backend(a, b) : 0;
}

void objstore_free(struct objstore *s)
{
	char *name;

	if (!s)
		return;
	name = s->name;
	s->ops->destroy(s);
	free(name);
}
