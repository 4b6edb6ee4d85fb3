/*
 * s3_internal.h - what the two halves of the S3 store share (private to storage/s3/):
 * request.c (the store, its curl share and handle pool, one request with signing, retry and
 * the classification of answers) and s3.c (the objstore operations in terms of requests).
 */
#ifndef MVBACKUPFS_S3_INTERNAL_H
#define MVBACKUPFS_S3_INTERNAL_H

#include "mvbackupfs/storage/s3.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mvbackupfs/base/log.h"
#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/b64.h"
#include "s3xml.h"
#include "sigv4.h"

#define MIB (1024ULL * 1024)
#define GIB (1024ULL * MIB)

#define S3_POOL_MAX 64			/* idle easy handles kept */
#define S3_MAX_CONNECTS 64		/* connections kept in the shared cache */
#define S3_RECV_BUFFER (256 * 1024)	/* curl's receive buffer: fewer, larger writes */
#define S3_XML_MAX (32 * MIB)		/* largest XML response accepted (a listing page of
					 * 1000 long keys is ~1.5 MiB) */
#define S3_ERRBODY_MAX (64 * 1024)	/* error bodies beyond this are cut */
#define S3_MAX_COPY_OBJECT (5 * GIB)	/* CopyObject's limit */
#define S3_COPY_PART (512 * MIB)	/* UploadPartCopy part size */
#define S3_DELETE_BATCH 1000
#define S3_BACKOFF_BASE_MS 100
#define S3_BACKOFF_CAP_MS 5000
#define S3_HASH_LIMIT (1 * MIB)		/* see s3_payload_hash() */
#define S3_CHECK_TIMEOUT_MS 3000	/* per attempt of objstore_check, 2 attempts */

struct s3_store {
	struct objstore base;		/* first: objstore.h's embedding */
	char *host, *bucket, *region, *access_key, *secret_key, *session_token;
	char *ca_file, *ca_path;
	int port, use_ssl, virtual_host, max_tries;
	long connect_ms, request_ms;
	uint64_t mpcopy_threshold;
	char *base_url;			/* "http://127.0.0.1:7480" (bucket.host when virtual) */
	char *host_hdr;			/* the Host header, signed */
	char *path_prefix;		/* "/bucket" (path style) or "" */
	char *endpoint;			/* "http://127.0.0.1:7480", for messages */

	CURLSH *share;
	/* share_lock[i] protects the curl share's data of kind i (connection cache, DNS
	 * cache, TLS sessions); curl calls lock/unlock around every access. */
	pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];

	pthread_mutex_t pool_lock;	/* protects pool[] and npool */
	CURL *pool[S3_POOL_MAX];
	size_t npool;

	pthread_mutex_t key_lock;	/* protects key_date and key (today's signing key) */
	char key_date[9];
	unsigned char key[32];

	atomic_uint_fast64_t requests, retries, bytes_in, bytes_out;
};

/* One request and what came back. */
struct s3_req {
	/* in */
	const char *method;		/* GET HEAD PUT POST DELETE */
	const char *key;		/* NULL: the bucket itself */
	struct sigv4_pair query[6];
	size_t nquery;
	struct sigv4_pair hdr[6];	/* extra headers, all signed */
	size_t nhdr;
	const void *body;		/* PUT/POST body (may be NULL with body_len 0) */
	size_t body_len;
	int send_body;			/* PUT/POST: send Content-Length even when 0 */
	void *dst;			/* ranged GET: the caller's buffer */
	size_t dst_len;
	uint64_t range_off;		/* ... and where the range starts */
	objstore_sink sink;		/* streamed GET (instead of dst): bytes go here */
	void *sink_ctx;
	uint64_t sink_len;		/* ... at most this many */
	uint64_t sunk;			/* out: bytes handed to sink */
	struct buf *resp;		/* 2xx body (XML), bounded */
	int late_error;			/* a 200 body may be an <Error> (copy, complete) */
	int tries;			/* 0 = the store's max_tries */
	long timeout_ms;		/* per attempt */
	long stall_ms;			/* give up once no byte came for this long (rounded up to
					 * seconds); 0 = only the deadline.  For streams, whose
					 * deadline grows with the whole rest of the object */
	long connect_ms;		/* 0 = the store's */
	/* out */
	long status;			/* last HTTP status (0 = none) */
	CURLcode cc;			/* last curl result */
	char curl_err[CURL_ERROR_SIZE];
	struct s3xml_error e;		/* error code/message of the last failed attempt */
	int attempts;
	size_t got;			/* bytes written to dst */
	char etag[72];
	uint64_t content_length;
	int have_length;
	int64_t last_modified;
};

/* The store's objstore operations (s3.c) and its destructor. */
extern const struct objstore_ops s3_ops;
void s3_destroy(struct objstore *o);

/* request.c */
/* "/bucket/key" with the key percent-encoded, for x-amz-copy-source. */
int copy_source(struct buf *out, const struct s3_store *src, const char *src_key);
int is_2xx(const struct s3_req *r);
/* The cause of a failed request, as the tail of a message: "503 SlowDown after 6 tries",
 * "404 NoSuchKey", "cannot reach http://h:1 (Connection refused) after 6 tries". */
void s3_cause(struct s3_store *s, const struct s3_req *r, int rc, char *out, size_t n);
/* Turn a failed request into -errno and a sentence "cannot <verb> '<subject>': <cause>".
 * rc is s3_perform's result; when 0, the HTTP status decides. */
int s3_fail(struct s3_store *s, const struct s3_req *r, int rc, const char *verb,
	    const char *subject, struct errmsg *err);
struct s3_store *s3_of(struct objstore *s);
/* Send r, with retries.  Returns 0 when a final answer arrived (r->status says which;
 * r->cc == CURLE_OK), or -errno with r->cc / r->status / r->e describing the last try:
 * -ETIMEDOUT, -EHOSTUNREACH, -EIO, -ENOMEM.  HTTP errors are not turned into errno here:
 * the caller knows what a 404 or a 412 means for its operation. */
int s3_perform(struct s3_store *s, struct s3_req *r);
/* Per-attempt timeout for a request moving `bytes`: base + 1 s per MiB. */
long s3_timeout(const struct s3_store *s, uint64_t bytes);
/* "cannot verify the tls certificate of https://h:p with CA file 'f' (curl's reason)" */
void tls_cause(const struct s3_store *s, const struct s3_req *r, char *out, size_t n);
/* The server's certificate could not be verified (or the CA file not read): no retry helps. */
int tls_unverified(const struct s3_req *r);

#endif
