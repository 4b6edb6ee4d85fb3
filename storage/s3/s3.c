/*
 * s3.c - the S3 backend of objstore.h (see s3.h): each operation (list, head, ranged get,
 * put, multipart upload and copy, copy, delete) as S3 requests, sent by request.c (signing,
 * retry, classification), XML read and written with s3xml.h.
 */
#include "s3_internal.h"

/* ---------------------------------------------------------------- operations */

static int s3_check(struct objstore *o, struct errmsg *err)
{
	struct s3_store *s = s3_of(o);
	struct buf resp = BUF_INIT(S3_XML_MAX);
	struct s3_req r;
	struct obj_listing l = { 0 };
	char *tok = NULL;
	int trunc, rc;

	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.query[r.nquery++] = (struct sigv4_pair){ "list-type", "2" };
	r.query[r.nquery++] = (struct sigv4_pair){ "max-keys", "1" };
	r.resp = &resp;
	/* bounded well under 10 s: 2 tries of at most 3 s each, connect included */
	r.tries = 2;
	r.timeout_ms = s->request_ms < S3_CHECK_TIMEOUT_MS ? s->request_ms : S3_CHECK_TIMEOUT_MS;
	r.connect_ms = s->connect_ms < r.timeout_ms ? s->connect_ms : r.timeout_ms;
	rc = s3_perform(s, &r);
	if (rc == -EHOSTUNREACH && tls_unverified(&r)) {
		char cause[768];

		tls_cause(s, &r, cause, sizeof(cause));
		rc = errmsg_set(err, rc, "%s", cause);
	} else if (rc == -EHOSTUNREACH) {
		rc = errmsg_set(err, rc, "cannot reach %s: %s", s->endpoint, r.curl_err);
	} else if (rc == -ETIMEDOUT) {
		rc = errmsg_set(err, rc, "no answer from %s within %ld ms", s->endpoint,
				r.timeout_ms);
	} else if (rc) {
		rc = errmsg_set(err, rc, "cannot list bucket '%s' at %s: %s", s->bucket,
				s->endpoint, r.curl_err);
	} else if (r.status == 404) {
		rc = errmsg_set(err, -ENOENT, "bucket '%s' does not exist at %s", s->bucket,
				s->endpoint);
	} else if (r.status == 403 || r.status == 401) {
		rc = errmsg_set(err, -EACCES, "credentials refused by %s for bucket '%s' (%ld %s)",
				s->endpoint, s->bucket, r.status,
				r.e.code[0] ? r.e.code : "Forbidden");
	} else if (!is_2xx(&r)) {
		char cause[512];

		s3_cause(s, &r, 0, cause, sizeof(cause));
		rc = errmsg_set(err, -EIO, "cannot list bucket '%s' at %s: %s", s->bucket,
				s->endpoint, cause);
	} else if (s3xml_parse_list(resp.p, resp.len, &l, &trunc, &tok, NULL)) {
		rc = errmsg_set(err, -EIO, "%s does not answer like an S3 server", s->endpoint);
	}
	free(tok);
	obj_listing_release(&l);
	buf_release(&resp);
	return rc;
}

static int s3_list_page(struct objstore *o, const char *prefix, const char *delim,
			const char *token, size_t max_keys, struct obj_listing *out,
			char **next_token, struct errmsg *err)
{
	struct s3_store *s = s3_of(o);
	struct buf resp = BUF_INIT(S3_XML_MAX);
	struct s3_req r;
	char mk[24];
	int trunc, rc;

	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.query[r.nquery++] = (struct sigv4_pair){ "list-type", "2" };
	r.query[r.nquery++] = (struct sigv4_pair){ "encoding-type", "url" };
	if (prefix && *prefix)
		r.query[r.nquery++] = (struct sigv4_pair){ "prefix", prefix };
	if (delim && *delim)
		r.query[r.nquery++] = (struct sigv4_pair){ "delimiter", delim };
	if (token)
		r.query[r.nquery++] = (struct sigv4_pair){ "continuation-token", token };
	if (max_keys) {
		snprintf(mk, sizeof(mk), "%zu", max_keys > 1000 ? (size_t)1000 : max_keys);
		r.query[r.nquery++] = (struct sigv4_pair){ "max-keys", mk };
	}
	r.resp = &resp;
	rc = s3_perform(s, &r);
	if (rc || !is_2xx(&r)) {
		rc = s3_fail(s, &r, rc, "list", prefix, err);
		if (rc == -ENOENT)	/* the bucket, not the prefix, is missing */
			rc = errmsg_set(err, -ENOENT, "cannot list '%s': bucket '%s' does not exist",
					prefix, s->bucket);
		goto out;
	}
	rc = s3xml_parse_list(resp.p, resp.len, out, &trunc, next_token, err);
	if (rc)
		errmsg_prefix(err, rc, "cannot list '%s'", prefix);
out:
	buf_release(&resp);
	return rc;
}

static int s3_head(struct objstore *o, const char *key, struct obj_entry *out,
		   struct errmsg *err)
{
	struct s3_store *s = s3_of(o);
	struct s3_req r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.method = "HEAD";
	r.key = key;
	rc = s3_perform(s, &r);
	if (!rc && r.status == 404)
		return errmsg_set(err, -ENOENT, "cannot stat '%s': no such key", key);
	if (rc || !is_2xx(&r))
		return s3_fail(s, &r, rc, "stat", key, err);
	if (!r.have_length)
		return errmsg_set(err, -EIO, "cannot stat '%s': no Content-Length in the answer",
				  key);
	out->key = strdup(key);
	if (!out->key)
		return errmsg_set(err, -ENOMEM, "cannot stat '%s': out of memory", key);
	out->size = r.content_length;
	out->mtime = r.last_modified;
	snprintf(out->etag, sizeof(out->etag), "%s", r.etag);
	return 0;
}

/* A ranged GET of [off, off + len) of `key` into r's destination (dst or sink, set by the
 * caller): 0 (nothing sent when off is at or past the end), -ENOENT, -ECANCELED when the sink
 * stopped it, or the store's -errno with its sentence. */
static int ranged_get(struct s3_store *s, const char *key, uint64_t off, uint64_t len,
		      struct s3_req *r, struct errmsg *err)
{
	char range[64];
	int rc;

	r->method = "GET";
	r->key = key;
	snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + len - 1));
	r->hdr[r->nhdr++] = (struct sigv4_pair){ "Range", range };
	r->range_off = off;
	rc = s3_perform(s, r);
	if (rc == -ECANCELED)
		return rc;
	if (!rc && r->status == 416)	/* off at or past the end */
		return 0;
	if (!rc && r->status == 404)
		return errmsg_set(err, -ENOENT, "cannot read '%s': no such key", key);
	if (rc || !is_2xx(r))
		return s3_fail(s, r, rc, "read", key, err);
	return 0;
}

static int s3_get(struct objstore *o, const char *key, uint64_t off, size_t len, void *dst,
		  size_t *got, struct errmsg *err)
{
	struct s3_req r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.dst = dst;
	r.dst_len = len;
	rc = ranged_get(s3_of(o), key, off, len, &r, err);
	*got = rc || r.status == 416 ? 0 : r.got;
	return rc;
}

/* A streamed ranged GET (objstore_get_stream): one try, the bytes to the sink as they come. */
static int s3_get_stream(struct objstore *o, const char *key, uint64_t off, uint64_t len,
			 objstore_sink sink, void *ctx, uint64_t *got, struct errmsg *err)
{
	struct s3_req r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.sink = sink;
	r.sink_ctx = ctx;
	r.sink_len = len;
	r.tries = 1;	/* a second try would send the delivered bytes again */
	r.timeout_ms = s3_timeout(s3_of(o), len);
	/* That deadline grows with the whole rest of the object (17 min for 1 GiB): a server
	 * that stops sending mid-way ends the stream after one request timeout without a byte
	 * instead, and the chunk-by-chunk path, with its retries, reads on. */
	r.stall_ms = s3_of(o)->request_ms;
	rc = ranged_get(s3_of(o), key, off, len, &r, err);
	*got = r.sunk;
	return rc;
}

/* After a retried conditional PUT answered 412, the key may exist because our own first
 * attempt reached the server before its answer was lost.  Decide by content, not by ETag:
 * an ETag is the body's MD5 only for plain single-part objects (not with SSE-KMS/SSE-C, not
 * on every S3-compatible server), so a lost answer must not turn into EEXIST.  Callers make
 * conditional bodies unique (the reservation's sidecar names its job), so equal bytes mean
 * the object is ours.  Reads at most len + 1 bytes. */
static int put_was_ours(struct objstore *o, const char *key, const void *data, size_t len)
{
	struct obj_entry e;
	unsigned char *got_buf;
	size_t got = 0;
	int ours;

	if (len == 0) {
		if (s3_head(o, key, &e, NULL))
			return 0;
		ours = e.size == 0;
		obj_entry_release(&e);
		return ours;
	}
	got_buf = malloc(len + 1);
	if (!got_buf)
		return 0;
	ours = s3_get(o, key, 0, len + 1, got_buf, &got, NULL) == 0 && got == len &&
	       !memcmp(got_buf, data, len);
	free(got_buf);
	return ours;
}

static int s3_put(struct objstore *o, const char *key, const void *data, size_t len,
		  unsigned flags, struct errmsg *err)
{
	struct s3_store *s = s3_of(o);
	struct s3_req r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.method = "PUT";
	r.key = key;
	r.body = data;
	r.body_len = len;
	r.send_body = 1;
	if (flags & OBJSTORE_IF_NONE_MATCH)
		r.hdr[r.nhdr++] = (struct sigv4_pair){ "If-None-Match", "*" };
	rc = s3_perform(s, &r);
	if (!rc && (flags & OBJSTORE_IF_NONE_MATCH) &&
	    (r.status == 412 || (r.status == 409 && !strcmp(r.e.code, "ConditionalRequestConflict")))) {
		/* not only when r.attempts > 1: curl itself resends a request whose reused
		 * connection died without an answer, so a lost answer can hide in one attempt */
		if (r.status == 412 && put_was_ours(o, key, data, len))
			return 0;
		return errmsg_set(err, -EEXIST, "cannot create '%s': it already exists", key);
	}
	if (rc || !is_2xx(&r))
		return s3_fail(s, &r, rc, "write", key, err);
	return 0;
}

static int s3_mpu_begin(struct objstore *o, const char *key, char **upload_id,
			struct errmsg *err)
{
	struct s3_store *s = s3_of(o);
	struct buf resp = BUF_INIT(1 << 20);
	struct s3_req r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.key = key;
	r.query[r.nquery++] = (struct sigv4_pair){ "uploads", "" };
	r.send_body = 1;
	r.resp = &resp;
	rc = s3_perform(s, &r);
	if (rc || !is_2xx(&r)) {
		rc = s3_fail(s, &r, rc, "start an upload of", key, err);
		goto out;
	}
	rc = s3xml_parse_upload_id(resp.p, resp.len, upload_id, err);
	if (rc)
		errmsg_prefix(err, rc, "cannot start an upload of '%s'", key);
out:
	buf_release(&resp);
	return rc;
}

static int s3_mpu_part(struct objstore *o, const char *key, const char *upload_id, int number,
		       const void *data, size_t len, struct mpu_part *out, struct errmsg *err)
{
	struct s3_store *s = s3_of(o);
	struct s3_req r;
	char num[16], what[64];
	int rc;

	memset(&r, 0, sizeof(r));
	snprintf(num, sizeof(num), "%d", number);
	snprintf(what, sizeof(what), "upload part %d of", number);
	r.method = "PUT";
	r.key = key;
	r.query[r.nquery++] = (struct sigv4_pair){ "partNumber", num };
	r.query[r.nquery++] = (struct sigv4_pair){ "uploadId", upload_id };
	r.body = data;
	r.body_len = len;
	r.send_body = 1;
	rc = s3_perform(s, &r);
	if (rc || !is_2xx(&r))
		return s3_fail(s, &r, rc, what, key, err);
	if (!r.etag[0])
		return errmsg_set(err, -EIO, "cannot %s '%s': no ETag in the answer", what, key);
	out->number = number;
	snprintf(out->etag, sizeof(out->etag), "%s", r.etag);
	return 0;
}

static int s3_mpu_part_copy(struct objstore *o, const char *key, const char *upload_id,
			    int number, struct objstore *src, const char *src_key, uint64_t off,
			    uint64_t len, struct mpu_part *out, struct errmsg *err)
{
	struct s3_store *s = s3_of(o);
	struct buf resp = BUF_INIT(1 << 20), cs = BUF_INIT(8192);
	struct s3_req r;
	char num[16], what[64], range[64];
	int rc;

	memset(&r, 0, sizeof(r));
	snprintf(num, sizeof(num), "%d", number);
	snprintf(what, sizeof(what), "copy part %d of", number);
	if (len == 0)
		return errmsg_set(err, -EINVAL, "cannot %s '%s': empty range", what, key);
	rc = copy_source(&cs, s3_of(src), src_key);
	if (rc)
		return errmsg_set(err, rc, "cannot %s '%s': key too long", what, key);
	snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + len - 1));
	r.method = "PUT";
	r.key = key;
	r.query[r.nquery++] = (struct sigv4_pair){ "partNumber", num };
	r.query[r.nquery++] = (struct sigv4_pair){ "uploadId", upload_id };
	r.hdr[r.nhdr++] = (struct sigv4_pair){ "x-amz-copy-source", cs.p };
	r.hdr[r.nhdr++] = (struct sigv4_pair){ "x-amz-copy-source-range", range };
	r.send_body = 1;
	r.resp = &resp;
	r.late_error = 1;
	r.timeout_ms = s3_timeout(s, len);	/* the server moves `len` bytes */
	rc = s3_perform(s, &r);
	if (rc || !is_2xx(&r)) {
		rc = s3_fail(s, &r, rc, what, key, err);
		goto out;
	}
	rc = s3xml_parse_etag_result(resp.p, resp.len, out->etag, NULL, err);
	if (!rc && !out->etag[0])
		rc = errmsg_set(err, -EIO, "no ETag in the answer");
	if (rc) {
		errmsg_prefix(err, -EIO, "cannot %s '%s'", what, key);
		rc = -EIO;
		goto out;
	}
	out->number = number;
out:
	buf_release(&resp);
	buf_release(&cs);
	return rc;
}

static int s3_mpu_complete(struct objstore *o, const char *key, const char *upload_id,
			   const struct mpu_part *parts, size_t nparts, struct errmsg *err)
{
	struct s3_store *s = s3_of(o);
	struct buf body = BUF_INIT(16 * MIB), resp = BUF_INIT(1 << 20);
	struct s3_req r;
	char etag[72];
	int rc;

	if (nparts == 0 || nparts > 10000)
		return errmsg_set(err, -EINVAL, "cannot complete the upload of '%s': %zu parts",
				  key, nparts);
	rc = s3xml_complete_body(&body, parts, nparts);
	if (rc)
		return errmsg_set(err, rc, "cannot complete the upload of '%s': bad part list", key);
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.key = key;
	r.query[r.nquery++] = (struct sigv4_pair){ "uploadId", upload_id };
	r.body = body.p;
	r.body_len = body.len;
	r.send_body = 1;
	r.resp = &resp;
	r.late_error = 1;
	/* assembling many parts can take the server a while */
	r.timeout_ms = s3_timeout(s, 0) + (long)nparts * 100;
	rc = s3_perform(s, &r);
	if (!rc && r.status == 404 && !strcmp(r.e.code, "NoSuchUpload")) {
		/* an earlier attempt completed it and its answer was lost (not only when
		 * r.attempts > 1: curl resends by itself on a kept-alive connection that died
		 * without an answer, as t_snapshot_faults saw for a conditional PUT) */
		struct obj_entry e;

		if (s3_head(o, key, &e, NULL) == 0) {
			obj_entry_release(&e);
			goto out;
		}
	}
	if (rc || !is_2xx(&r)) {
		rc = s3_fail(s, &r, rc, "complete the upload of", key, err);
		goto out;
	}
	rc = s3xml_parse_etag_result(resp.p, resp.len, etag, NULL, err);
	if (rc)
		rc = errmsg_prefix(err, -EIO, "cannot complete the upload of '%s'", key);
out:
	buf_release(&body);
	buf_release(&resp);
	return rc;
}

static int s3_mpu_abort(struct objstore *o, const char *key, const char *upload_id,
			struct errmsg *err)
{
	struct s3_store *s = s3_of(o);
	struct s3_req r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.method = "DELETE";
	r.key = key;
	r.query[r.nquery++] = (struct sigv4_pair){ "uploadId", upload_id };
	rc = s3_perform(s, &r);
	if (!rc && r.status == 404)	/* already aborted or completed */
		return 0;
	if (rc || !is_2xx(&r))
		return s3_fail(s, &r, rc, "abort the upload of", key, err);
	return 0;
}

/* ListMultipartUploads under `prefix`, page by page, aborting each upload found. */
static int s3_abort_uploads(struct objstore *o, const char *prefix, size_t *n_aborted,
			    struct errmsg *err)
{
	struct s3_store *s = s3_of(o);
	char *key_marker = NULL, *id_marker = NULL;
	int rc = 0;

	do {
		struct buf resp = BUF_INIT(S3_XML_MAX);
		struct s3xml_upload *ups = NULL;
		char *nk = NULL, *ni = NULL;
		struct s3_req r;
		size_t n = 0, i;

		memset(&r, 0, sizeof(r));
		r.method = "GET";
		r.query[r.nquery++] = (struct sigv4_pair){ "uploads", "" };
		r.query[r.nquery++] = (struct sigv4_pair){ "prefix", prefix };
		if (key_marker)
			r.query[r.nquery++] = (struct sigv4_pair){ "key-marker", key_marker };
		if (id_marker)
			r.query[r.nquery++] = (struct sigv4_pair){ "upload-id-marker", id_marker };
		r.resp = &resp;
		rc = s3_perform(s, &r);
		if (rc || !is_2xx(&r))
			rc = s3_fail(s, &r, rc, "list the uploads under", prefix, err);
		else if ((rc = s3xml_parse_uploads(resp.p, resp.len, &ups, &n, &nk, &ni, err)))
			errmsg_prefix(err, rc, "cannot list the uploads under '%s'", prefix);
		for (i = 0; !rc && i < n; i++) {
			/* a server that ignores prefix must not make us abort others' uploads */
			if (strncmp(ups[i].key, prefix, strlen(prefix)) != 0)
				continue;
			rc = s3_mpu_abort(o, ups[i].key, ups[i].upload_id, err);
			if (!rc)
				(*n_aborted)++;
		}
		s3xml_uploads_free(ups, n);
		buf_release(&resp);
		free(key_marker);
		free(id_marker);
		key_marker = nk;
		id_marker = ni;
	} while (!rc && key_marker);
	free(key_marker);
	free(id_marker);
	return rc;
}

/* Copy through UploadPartCopy, sequentially, in parts of S3_COPY_PART (more when 10000
 * parts would not hold the object). */
static int s3_copy_multipart(struct objstore *dst, const char *dst_key, struct objstore *src,
			     const char *src_key, uint64_t size, struct errmsg *err)
{
	uint64_t part = S3_COPY_PART, off;
	struct mpu_part *parts;
	size_t nparts, i;
	char *upload_id = NULL;
	int rc;

	if ((size + part - 1) / part > 10000)
		part = (size + 9999) / 10000;
	nparts = (size_t)((size + part - 1) / part);
	parts = calloc(nparts, sizeof(*parts));
	if (!parts)
		return errmsg_set(err, -ENOMEM, "cannot copy '%s': out of memory", src_key);
	rc = s3_mpu_begin(dst, dst_key, &upload_id, err);
	if (rc)
		goto out;
	for (i = 0, off = 0; i < nparts && !rc; i++, off += part) {
		uint64_t len = size - off < part ? size - off : part;

		rc = s3_mpu_part_copy(dst, dst_key, upload_id, (int)i + 1, src, src_key, off, len,
				      &parts[i], err);
	}
	if (!rc)
		rc = s3_mpu_complete(dst, dst_key, upload_id, parts, nparts, err);
	if (rc)
		s3_mpu_abort(dst, dst_key, upload_id, NULL);
out:
	free(upload_id);
	free(parts);
	return rc;
}

static int s3_copy(struct objstore *dst, const char *dst_key, struct objstore *src,
		   const char *src_key, uint64_t size, struct errmsg *err)
{
	struct s3_store *s = s3_of(dst);
	struct buf resp = BUF_INIT(1 << 20), cs = BUF_INIT(8192);
	struct s3_req r;
	char etag[72];
	int rc;

	if (size > s->mpcopy_threshold || size > S3_MAX_COPY_OBJECT)
		return s3_copy_multipart(dst, dst_key, src, src_key, size, err);
	rc = copy_source(&cs, s3_of(src), src_key);
	if (rc)
		return errmsg_set(err, rc, "cannot copy '%s': key too long", src_key);
	memset(&r, 0, sizeof(r));
	r.method = "PUT";
	r.key = dst_key;
	r.hdr[r.nhdr++] = (struct sigv4_pair){ "x-amz-copy-source", cs.p };
	r.send_body = 1;
	r.resp = &resp;
	r.late_error = 1;
	r.timeout_ms = s3_timeout(s, size);
	rc = s3_perform(s, &r);
	if (!rc && r.status == 404) {
		rc = errmsg_set(err, -ENOENT, "cannot copy '%s': no such key", src_key);
		goto out;
	}
	if (rc || !is_2xx(&r)) {
		rc = s3_fail(s, &r, rc, "copy", src_key, err);
		goto out;
	}
	rc = s3xml_parse_etag_result(resp.p, resp.len, etag, NULL, err);
	if (rc)
		rc = errmsg_prefix(err, -EIO, "cannot copy '%s' to '%s'", src_key, dst_key);
out:
	buf_release(&resp);
	buf_release(&cs);
	return rc;
}

/* One DeleteObjects request for at most S3_DELETE_BATCH keys. */
static int s3_delete_batch(struct s3_store *s, const char *const *keys, size_t n,
			   struct errmsg *err)
{
	struct buf body = BUF_INIT(16 * MIB), resp = BUF_INIT(S3_XML_MAX);
	struct s3xml_delete_error *errs = NULL;
	struct s3_req r;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char md5[64];
	size_t nerrs = 0, i;
	int rc;

	for (i = 0; i < n; i++)
		if (!keys[i][0])
			return errmsg_set(err, -EINVAL, "cannot delete '': empty key");
	rc = s3xml_delete_body(&body, keys, n);
	if (rc) {
		for (i = 0; i < n; i++) {
			struct buf t = BUF_INIT(8192);
			int bad = s3xml_escape(&t, keys[i]);

			buf_release(&t);
			if (bad)
				return errmsg_set(err, -EINVAL,
						  "cannot delete '%s': the key cannot be written in XML",
						  keys[i]);
		}
		return errmsg_set(err, rc, "cannot delete %zu keys: request too large", n);
	}
	/* S3 requires Content-MD5 on DeleteObjects */
	if (!EVP_Digest(body.p, body.len, md, &mdlen, EVP_md5(), NULL)) {
		rc = errmsg_set(err, -ENOMEM, "cannot delete '%s': MD5 unavailable", keys[0]);
		goto out;
	}
	b64_encode_to(md5, md, mdlen);
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.query[r.nquery++] = (struct sigv4_pair){ "delete", "" };
	r.hdr[r.nhdr++] = (struct sigv4_pair){ "Content-MD5", md5 };
	r.hdr[r.nhdr++] = (struct sigv4_pair){ "Content-Type", "application/xml" };
	r.body = body.p;
	r.body_len = body.len;
	r.send_body = 1;
	r.resp = &resp;
	r.timeout_ms = s3_timeout(s, 0) + (long)n * 20;
	rc = s3_perform(s, &r);
	if (rc || !is_2xx(&r)) {
		rc = s3_fail(s, &r, rc, "delete", keys[0], err);
		goto out;
	}
	rc = s3xml_parse_delete_result(resp.p, resp.len, &errs, &nerrs, err);
	if (rc) {
		rc = errmsg_prefix(err, -EIO, "cannot delete '%s'", keys[0]);
		goto out;
	}
	if (nerrs) {
		const struct s3xml_delete_error *e = &errs[0];

		for (i = 0; i < nerrs; i++)
			log_warn("cannot delete '%s': %s%s%s", errs[i].key, errs[i].e.code,
				 errs[i].e.message[0] ? ": " : "", errs[i].e.message);
		rc = !strcmp(e->e.code, "AccessDenied") ? -EACCES : -EIO;
		if (nerrs > 1)
			errmsg_set(err, rc, "cannot delete '%s': %s (and %zu more keys)", e->key,
				   e->e.code, nerrs - 1);
		else
			errmsg_set(err, rc, "cannot delete '%s': %s", e->key, e->e.code);
	}
out:
	s3xml_delete_errors_free(errs, nerrs);
	buf_release(&body);
	buf_release(&resp);
	return rc;
}

static int s3_delete_keys(struct objstore *o, const char *const *keys, size_t nkeys,
			  struct errmsg *err)
{
	struct s3_store *s = s3_of(o);
	size_t i;
	int rc = 0;

	for (i = 0; i < nkeys && !rc; i += S3_DELETE_BATCH)
		rc = s3_delete_batch(s, keys + i,
				     nkeys - i < S3_DELETE_BATCH ? nkeys - i : S3_DELETE_BATCH, err);
	return rc;
}

static int s3_same_backend(const struct objstore *a, const struct objstore *b)
{
	const struct s3_store *x = (const struct s3_store *)a, *y = (const struct s3_store *)b;

	return x->use_ssl == y->use_ssl && x->port == y->port && !strcasecmp(x->host, y->host) &&
	       !strcmp(x->access_key, y->access_key) && !strcmp(x->secret_key, y->secret_key);
}

static void free_secret(char *p)
{
	if (p) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

void s3_destroy(struct objstore *o)
{
	struct s3_store *s = s3_of(o);
	size_t i;

	for (i = 0; i < s->npool; i++)
		curl_easy_cleanup(s->pool[i]);
	if (s->share)
		curl_share_cleanup(s->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&s->share_lock[i]);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_mutex_destroy(&s->key_lock);
	OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s->host);
	free(s->bucket);
	free(s->region);
	free(s->access_key);
	free_secret(s->secret_key);
	free_secret(s->session_token);
	free(s->ca_file);
	free(s->ca_path);
	free(s->base_url);
	free(s->host_hdr);
	free(s->path_prefix);
	free(s->endpoint);
	free(s);
}

const struct objstore_ops s3_ops = {
	.kind = "s3",
	.check = s3_check,
	.list_page = s3_list_page,
	.head = s3_head,
	.get = s3_get,
	.get_stream = s3_get_stream,
	.put = s3_put,
	.mpu_begin = s3_mpu_begin,
	.mpu_part = s3_mpu_part,
	.mpu_part_copy = s3_mpu_part_copy,
	.mpu_complete = s3_mpu_complete,
	.mpu_abort = s3_mpu_abort,
	.copy = s3_copy,
	.delete_keys = s3_delete_keys,
	.same_backend = s3_same_backend,
	.abort_uploads = s3_abort_uploads,
	.destroy = s3_destroy,
};
