/*
 * s3.c - the S3 backend of objstore.h (see s3.h): libcurl for HTTP(S), requests signed
 * here with SigV4 (sigv4.h), XML read and written with s3xml.h.
 *
 * One request = one call of s3_perform(): it takes an easy handle from the store's pool,
 * signs, sends, classifies the answer and retries throttling (503 SlowDown, 429), other 5xx
 * and connection errors with exponential backoff and full jitter, never a 4xx.  All easy
 * handles share one CURLSH (connection cache, DNS cache, TLS sessions), so a connection
 * opened by one thread is reused by the next request of any thread and no request does its
 * own DNS lookup.  Ranged GETs write straight into the caller's buffer.
 *
 * Deadlines: every attempt has a connect timeout and an overall timeout that grows with the
 * bytes moved (base + 1 s per MiB); the retries of one request stop at twice that.
 */
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
	struct buf *resp;		/* 2xx body (XML), bounded */
	int late_error;			/* a 200 body may be an <Error> (copy, complete) */
	int tries;			/* 0 = the store's max_tries */
	long timeout_ms;		/* per attempt */
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

/* Per-attempt transfer state, seen by the curl callbacks. */
struct xfer {
	struct s3_req *r;
	CURL *h;
	size_t upos;			/* upload position */
	int status_known;
	long status;
	uint64_t skip;			/* bytes to drop: a 200 answer to a ranged GET */
	int full;			/* dst is full; the rest of a 200 answer is not wanted */
	int overflow;			/* the server sent more than asked / than allowed */
	struct buf errbody;
};

/* ---------------------------------------------------------------- helpers */

/* Full jitter: uniform in [0, min(cap, base * 2^attempt)].  A per-thread xorshift; the
 * quality needed is "threads do not retry in lockstep". */
static uint64_t backoff_ms(int attempt, uint64_t cap)
{
	static _Thread_local uint64_t state;
	uint64_t ceil = S3_BACKOFF_BASE_MS << (attempt < 16 ? attempt : 16);

	if (!state) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)&state ^
			(uint64_t)pthread_self() ^ 0x9e3779b97f4a7c15ULL;
	}
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	if (ceil > cap)
		ceil = cap;
	return state % (ceil + 1);
}

static struct s3_store *s3_of(struct objstore *s)
{
	return (struct s3_store *)s;
}

/* Per-attempt timeout for a request moving `bytes`: base + 1 s per MiB. */
static long s3_timeout(const struct s3_store *s, uint64_t bytes)
{
	uint64_t t = (uint64_t)s->request_ms + bytes / 1049;	/* ~1 s per MiB */

	return t > 24ULL * 3600 * 1000 ? 24L * 3600 * 1000 : (long)t;
}

/* The payload hash to sign.  Small bodies are always hashed.  Large bodies on https are
 * sent as UNSIGNED-PAYLOAD: TLS already protects them in transit, and hashing would be a
 * second full pass over every multi-MiB part before its first byte can leave.  On plain
 * http the real hash is the only integrity check the server can make, so it is paid
 * (SHA-256 runs at >1.5 GB/s with SHA-NI, several times the network rate). */
static void s3_payload_hash(const struct s3_store *s, const void *body, size_t len,
			    char hash[65])
{
	if (len > S3_HASH_LIMIT && s->use_ssl)
		snprintf(hash, 65, "%s", SIGV4_UNSIGNED_PAYLOAD);
	else
		sigv4_sha256_hex(body ? body : "", len, hash);
}

/* ---------------------------------------------------------------- the share and the pool */

static void share_lock_cb(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	struct s3_store *s = ud;

	(void)h;
	(void)access;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&s->share_lock[data]);
}

static void share_unlock_cb(CURL *h, curl_lock_data data, void *ud)
{
	struct s3_store *s = ud;

	(void)h;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&s->share_lock[data]);
}

static size_t write_cb(char *p, size_t size, size_t n, void *ud);
static size_t header_cb(char *p, size_t size, size_t n, void *ud);
static size_t read_cb(char *p, size_t size, size_t n, void *ud);
static int seek_cb(void *ud, curl_off_t off, int origin);

/* A new easy handle with everything that never changes between requests. */
static CURL *handle_new(struct s3_store *s)
{
	CURL *h = curl_easy_init();

	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_SHARE, s->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_MAXCONNECTS, (long)S3_MAX_CONNECTS);
	curl_easy_setopt(h, CURLOPT_DNS_CACHE_TIMEOUT, 300L);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, (long)S3_RECV_BUFFER);
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, (long)S3_RECV_BUFFER);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	/* keys are sent exactly as given: no "/../" squashing by curl */
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
	if (s->ca_path)
		curl_easy_setopt(h, CURLOPT_CAPATH, s->ca_path);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "mvbackupfs/" MVB_VERSION);
	return h;
}

static CURL *pool_get(struct s3_store *s)
{
	CURL *h = NULL;

	pthread_mutex_lock(&s->pool_lock);
	if (s->npool)
		h = s->pool[--s->npool];
	pthread_mutex_unlock(&s->pool_lock);
	return h ? h : handle_new(s);
}

static void pool_put(struct s3_store *s, CURL *h)
{
	pthread_mutex_lock(&s->pool_lock);
	if (s->npool < S3_POOL_MAX) {
		s->pool[s->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&s->pool_lock);
	if (h)
		curl_easy_cleanup(h);
}

/* ---------------------------------------------------------------- curl callbacks */

static void xfer_status(struct xfer *x)
{
	if (x->status_known)
		return;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
	x->status_known = 1;
	/* A ranged GET answered 200 means the server ignored Range: drop the bytes before. */
	if (x->status == 200 && x->r->dst)
		x->skip = x->r->range_off;
}

static size_t write_cb(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	struct s3_req *r = x->r;
	size_t len = size * n, take;

	xfer_status(x);
	if (x->status < 200 || x->status > 299) {
		size_t room = S3_ERRBODY_MAX - x->errbody.len;

		buf_add(&x->errbody, p, len < room ? len : room);
		return len;
	}
	if (r->dst) {
		if (x->skip) {
			take = len < x->skip ? len : (size_t)x->skip;
			x->skip -= take;
			p += take;
			len -= take;
			if (!len)
				return size * n;
		}
		take = r->dst_len - r->got;
		if (len > take) {
			if (x->status != 200) {
				x->overflow = 1;	/* a 206 longer than the range asked */
				return CURL_WRITEFUNC_ERROR;
			}
			memcpy((char *)r->dst + r->got, p, take);
			r->got += take;
			x->full = 1;		/* whole object sent: we have what we need */
			return CURL_WRITEFUNC_ERROR;
		}
		memcpy((char *)r->dst + r->got, p, len);
		r->got += len;
		return size * n;
	}
	if (r->resp && buf_add(r->resp, p, len)) {
		x->overflow = 1;
		return CURL_WRITEFUNC_ERROR;
	}
	return len;
}

static size_t header_cb(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	struct s3_req *r = x->r;
	size_t len = size * n;
	char line[512];
	char *v, *e;

	if (len >= sizeof(line))
		return len;	/* nothing we read is that long */
	memcpy(line, p, len);
	line[len] = '\0';
	if (!strncmp(line, "HTTP/", 5)) {	/* a new response (after 100 Continue) */
		r->etag[0] = '\0';
		r->have_length = 0;
		r->last_modified = 0;
		return len;
	}
	v = strchr(line, ':');
	if (!v)
		return len;
	*v++ = '\0';
	while (*v == ' ' || *v == '\t')
		v++;
	e = v + strlen(v);
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
		*--e = '\0';
	if (!strcasecmp(line, "etag")) {
		size_t l = strlen(v);

		if (l >= 2 && v[0] == '"' && v[l - 1] == '"') {
			v++;
			l -= 2;
		}
		if (l < sizeof(r->etag)) {
			memcpy(r->etag, v, l);
			r->etag[l] = '\0';
		}
	} else if (!strcasecmp(line, "content-length")) {
		char *end;
		unsigned long long cl = strtoull(v, &end, 10);

		if (end != v && !*end) {
			r->content_length = cl;
			r->have_length = 1;
		}
	} else if (!strcasecmp(line, "last-modified")) {
		time_t t = curl_getdate(v, NULL);

		r->last_modified = t > 0 ? (int64_t)t : 0;
	}
	return len;
}

static size_t read_cb(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t left = x->r->body_len - x->upos, want = size * n;

	if (want > left)
		want = left;
	if (want)
		memcpy(p, (const char *)x->r->body + x->upos, want);
	x->upos += want;
	return want;
}

/* curl rewinds the body when it resends on a reused connection that turned out dead. */
static int seek_cb(void *ud, curl_off_t off, int origin)
{
	struct xfer *x = ud;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->r->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->upos = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

/* ---------------------------------------------------------------- one request */

static void signing_key(struct s3_store *s, const char *amz_date, unsigned char key[32])
{
	pthread_mutex_lock(&s->key_lock);
	if (memcmp(s->key_date, amz_date, 8) != 0) {
		sigv4_signing_key(s->secret_key, amz_date, s->region, "s3", s->key);
		memcpy(s->key_date, amz_date, 8);
		s->key_date[8] = '\0';
	}
	memcpy(key, s->key, 32);
	pthread_mutex_unlock(&s->key_lock);
}

static int retryable_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static int retryable_status(long st)
{
	return st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

/* Build the URL, sign, send; one attempt.  Returns 0 when the exchange completed (whatever
 * the HTTP status), -errno on a local failure. */
static int s3_attempt(struct s3_store *s, struct s3_req *r, CURL *h, long timeout_ms,
		      struct xfer *x)
{
	struct buf path = BUF_INIT(16384), url = BUF_INIT(32768), auth = BUF_INIT(4096);
	struct buf line = BUF_INIT(16384);
	struct sigv4_pair hdrs[12];
	struct sigv4_credentials cred = { s->access_key, s->secret_key, s->region, "s3" };
	struct sigv4_request sr;
	struct curl_slist *list = NULL, *tmp;
	unsigned char key[32];
	char amz_date[17], hash[65];
	size_t nh = 0, i;
	int rc;

	sigv4_amz_date(time(NULL), amz_date);
	s3_payload_hash(s, r->body, r->body_len, hash);
	rc = buf_adds(&path, s->path_prefix);
	if (!rc && r->key)
		rc = buf_addf(&path, "/%s", r->key);
	if (!rc && !path.len)
		rc = buf_adds(&path, "/");
	if (rc)
		goto out;

	hdrs[nh++] = (struct sigv4_pair){ "Host", s->host_hdr };
	hdrs[nh++] = (struct sigv4_pair){ "x-amz-date", amz_date };
	hdrs[nh++] = (struct sigv4_pair){ "x-amz-content-sha256", hash };
	if (s->session_token)
		hdrs[nh++] = (struct sigv4_pair){ "x-amz-security-token", s->session_token };
	for (i = 0; i < r->nhdr; i++)
		hdrs[nh++] = r->hdr[i];
	sr = (struct sigv4_request){ r->method, path.p, r->query, r->nquery, hdrs, nh, hash };
	signing_key(s, amz_date, key);
	rc = sigv4_authorization(&auth, &cred, key, amz_date, &sr);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc)
		goto out;

	rc = buf_adds(&url, s->base_url);
	if (!rc)
		rc = sigv4_encode_path(&url, path.p);
	if (!rc && r->nquery) {
		rc = buf_add(&url, "?", 1);
		if (!rc)
			rc = sigv4_canonical_query(&url, r->query, r->nquery);
	}
	if (rc)
		goto out;

	for (i = 0; i < nh; i++) {
		buf_reset(&line);
		if (buf_addf(&line, "%s: %s", hdrs[i].name, hdrs[i].value)) {
			rc = -E2BIG;
			goto out;
		}
		tmp = curl_slist_append(list, line.p);
		if (!tmp) {
			rc = -ENOMEM;
			goto out;
		}
		list = tmp;
	}
	buf_reset(&line);
	if (buf_addf(&line, "Authorization: %s", auth.p) ||
	    !(tmp = curl_slist_append(list, line.p))) {
		rc = -ENOMEM;
		goto out;
	}
	list = tmp;
	/* no "Expect: 100-continue" round trip before bodies */
	if (!(tmp = curl_slist_append(list, "Expect:"))) {
		rc = -ENOMEM;
		goto out;
	}
	list = tmp;

	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);	/* resets NOBODY and UPLOAD */
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
	if (!strcmp(r->method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (r->send_body) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
	curl_easy_setopt(h, CURLOPT_URL, url.p);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_READDATA, x);
	curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curl_err);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, r->connect_ms ? r->connect_ms : s->connect_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	r->curl_err[0] = '\0';

	r->cc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	xfer_status(x);
	r->status = x->status;
out:
	curl_slist_free_all(list);
	buf_release(&path);
	buf_release(&url);
	buf_release(&auth);
	buf_release(&line);
	return rc;
}

/* Send r, with retries.  Returns 0 when a final answer arrived (r->status says which;
 * r->cc == CURLE_OK), or -errno with r->cc / r->status / r->e describing the last try:
 * -ETIMEDOUT, -EHOSTUNREACH, -EIO, -ENOMEM.  HTTP errors are not turned into errno here:
 * the caller knows what a 404 or a 412 means for its operation. */
static int s3_perform(struct s3_store *s, struct s3_req *r)
{
	int tries = r->tries ? r->tries : s->max_tries;
	long per_try = r->timeout_ms ? r->timeout_ms : s3_timeout(s, r->body_len + r->dst_len);
	uint64_t start = mono_ms(), deadline = start + 2 * (uint64_t)per_try;
	uint64_t cap = (uint64_t)per_try / 4 < S3_BACKOFF_CAP_MS ? (uint64_t)per_try / 4 :
								    S3_BACKOFF_CAP_MS;
	int rc = 0, retry;

	for (r->attempts = 1;; r->attempts++) {
		struct xfer x;
		uint64_t now = mono_ms(), wait;
		long t = per_try;
		CURL *h;

		if (now + (uint64_t)t > deadline)
			t = deadline > now + 1000 ? (long)(deadline - now) : 1000;
		memset(&x, 0, sizeof(x));
		x.r = r;
		buf_init(&x.errbody, S3_ERRBODY_MAX);
		r->got = 0;
		r->status = 0;
		memset(&r->e, 0, sizeof(r->e));
		if (r->resp)
			buf_reset(r->resp);
		h = pool_get(s);
		if (!h) {
			buf_release(&x.errbody);
			return -ENOMEM;
		}
		x.h = h;
		atomic_fetch_add(&s->requests, 1);
		rc = s3_attempt(s, r, h, t, &x);
		pool_put(s, h);
		if (rc) {
			buf_release(&x.errbody);
			return rc;
		}
		atomic_fetch_add(&s->bytes_out, r->send_body ? r->body_len : 0);
		atomic_fetch_add(&s->bytes_in, r->dst ? r->got : (r->resp ? r->resp->len : 0));

		/* what happened */
		retry = 0;
		if (r->cc == CURLE_WRITE_ERROR && x.full) {
			r->cc = CURLE_OK;	/* we stopped a 200 once the buffer was full */
		} else if (r->cc == CURLE_WRITE_ERROR && x.overflow) {
			snprintf(r->curl_err, sizeof(r->curl_err), "%s",
				 r->dst ? "the server sent more bytes than the range asked" :
					  "response too large");
			rc = -EIO;
		} else if (r->cc != CURLE_OK) {
			retry = retryable_curl(r->cc);
			rc = r->cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT :
			     r->cc == CURLE_OUT_OF_MEMORY ? -ENOMEM :
			     (r->cc == CURLE_COULDNT_RESOLVE_HOST || r->cc == CURLE_COULDNT_CONNECT ||
			      r->cc == CURLE_SSL_CONNECT_ERROR ||
			      r->cc == CURLE_PEER_FAILED_VERIFICATION ||
			      r->cc == CURLE_SSL_CACERT_BADFILE) ? -EHOSTUNREACH : -EIO;
			if (!r->curl_err[0])
				snprintf(r->curl_err, sizeof(r->curl_err), "%s",
					 curl_easy_strerror(r->cc));
		}
		if (!rc && r->cc == CURLE_OK) {
			if (r->status < 200 || r->status > 299) {
				s3xml_parse_error(x.errbody.p, x.errbody.len, &r->e, NULL);
				retry = retryable_status(r->status);
			} else if (r->late_error && r->resp &&
				   s3xml_parse_error(r->resp->p, r->resp->len, &r->e, NULL) == 0) {
				/* S3: copy/complete may fail after the 200 went out; retry */
				r->status = 500;
				retry = 1;
			}
		}
		buf_release(&x.errbody);
		if (!retry || r->attempts >= tries)
			break;
		wait = backoff_ms(r->attempts - 1, cap);
		now = mono_ms();
		if (now + wait + 100 >= deadline)
			break;
		atomic_fetch_add(&s->retries, 1);
		log_debug("s3: retrying %s '%s' after %s%ld %s (try %d of %d)", r->method,
			  r->key ? r->key : s->bucket, r->cc ? r->curl_err : "", r->status,
			  r->e.code, r->attempts + 1, tries);
		sleep_ms(wait);
		rc = 0;
	}
	return rc;
}

/* The server's certificate could not be verified (or the CA file not read): no retry helps. */
static int tls_unverified(const struct s3_req *r)
{
	return r->cc == CURLE_PEER_FAILED_VERIFICATION || r->cc == CURLE_SSL_CACERT_BADFILE;
}

/* "cannot verify the tls certificate of https://h:p with CA file 'f' (curl's reason)" */
static void tls_cause(const struct s3_store *s, const struct s3_req *r, char *out, size_t n)
{
	if (s->ca_file)
		snprintf(out, n, "cannot verify the tls certificate of %s with CA file '%s' (%s)",
			 s->endpoint, s->ca_file, r->curl_err);
	else
		snprintf(out, n, "cannot verify the tls certificate of %s with the system CA store "
			 "(%s; mvbackupfs.s3.caFile names another CA)", s->endpoint, r->curl_err);
}

/* The cause of a failed request, as the tail of a message: "503 SlowDown after 6 tries",
 * "404 NoSuchKey", "cannot reach http://h:1 (Connection refused) after 6 tries". */
static void s3_cause(struct s3_store *s, const struct s3_req *r, int rc, char *out, size_t n)
{
	char tries[32] = "";

	if (r->attempts > 1)
		snprintf(tries, sizeof(tries), " after %d tries", r->attempts);
	if (rc == -EHOSTUNREACH && tls_unverified(r))
		tls_cause(s, r, out, n);
	else if (rc == -EHOSTUNREACH)
		snprintf(out, n, "cannot reach %s (%s)%s", s->endpoint, r->curl_err, tries);
	else if (rc == -ETIMEDOUT)
		snprintf(out, n, "no answer from %s in time (%s)%s", s->endpoint, r->curl_err, tries);
	else if (rc)
		snprintf(out, n, "%s%s", r->curl_err[0] ? r->curl_err : "transfer failed", tries);
	else
		snprintf(out, n, "%ld%s%s%s%s%s", r->status, r->e.code[0] ? " " : "", r->e.code,
			 r->e.message[0] ? " (" : "", r->e.message, r->e.message[0] ? ")" : "");
	if (!rc)
		snprintf(out + strlen(out), n - strlen(out), "%s", tries);
}

/* Turn a failed request into -errno and a sentence "cannot <verb> '<subject>': <cause>".
 * rc is s3_perform's result; when 0, the HTTP status decides. */
static int s3_fail(struct s3_store *s, const struct s3_req *r, int rc, const char *verb,
		   const char *subject, struct errmsg *err)
{
	char cause[512];

	s3_cause(s, r, rc, cause, sizeof(cause));
	if (!rc) {
		if (r->status == 404)
			rc = -ENOENT;
		else if (r->status == 403 || r->status == 401)
			rc = -EACCES;
		else
			rc = -EIO;
	}
	return errmsg_set(err, rc, "cannot %s '%s': %s", verb, subject, cause);
}

static int is_2xx(const struct s3_req *r)
{
	return r->status >= 200 && r->status <= 299;
}

/* "/bucket/key" with the key percent-encoded, for x-amz-copy-source. */
static int copy_source(struct buf *out, const struct s3_store *src, const char *src_key)
{
	int rc = buf_addf(out, "/%s/", src->bucket);

	return rc ? rc : sigv4_encode(out, src_key, strlen(src_key), 1);
}

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

static int s3_get(struct objstore *o, const char *key, uint64_t off, size_t len, void *dst,
		  size_t *got, struct errmsg *err)
{
	struct s3_store *s = s3_of(o);
	struct s3_req r;
	char range[64];
	int rc;

	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.key = key;
	snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + len - 1));
	r.hdr[r.nhdr++] = (struct sigv4_pair){ "Range", range };
	r.dst = dst;
	r.dst_len = len;
	r.range_off = off;
	rc = s3_perform(s, &r);
	if (!rc && r.status == 416) {	/* off at or past the end */
		*got = 0;
		return 0;
	}
	if (!rc && r.status == 404)
		return errmsg_set(err, -ENOENT, "cannot read '%s': no such key", key);
	if (rc || !is_2xx(&r))
		return s3_fail(s, &r, rc, "read", key, err);
	*got = r.got;
	return 0;
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

static void s3_destroy(struct objstore *o)
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

static const struct objstore_ops s3_ops = {
	.kind = "s3",
	.check = s3_check,
	.list_page = s3_list_page,
	.head = s3_head,
	.get = s3_get,
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

/* ---------------------------------------------------------------- creation */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	return p;
}

/* Bucket names go into hostnames and paths unencoded: keep to what S3 allows. */
static int bucket_name_ok(const char *b)
{
	size_t n = strlen(b), i;

	if (n < 3 || n > 63)
		return 0;
	for (i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-' ||
		      b[i] == '.' || b[i] == '_' || (b[i] >= 'A' && b[i] <= 'Z')))
			return 0;
	return 1;
}

int s3_store_new(const struct s3_config *cfg, struct objstore **out, struct errmsg *err)
{
	struct s3_store *s;
	const char *scheme;
	char hostpart[300], port[16] = "";
	int default_port, i;

	*out = NULL;
	if (!cfg->host || !*cfg->host || strpbrk(cfg->host, "/ ?#@"))
		return errmsg_set(err, -EINVAL, "bad S3 host '%s': give a host name or address, "
				  "no scheme", cfg->host ? cfg->host : "");
	if (!cfg->bucket || !bucket_name_ok(cfg->bucket))
		return errmsg_set(err, -EINVAL, "bad bucket name '%s'", cfg->bucket ? cfg->bucket : "");
	if (!cfg->access_key || !*cfg->access_key || !cfg->secret_key || !*cfg->secret_key)
		return errmsg_set(err, -EINVAL, "no S3 credentials for bucket '%s'", cfg->bucket);
	if (cfg->port < 0 || cfg->port > 65535)
		return errmsg_set(err, -EINVAL, "bad S3 port %d", cfg->port);
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return errmsg_set(err, -ENOMEM, "cannot initialise libcurl");

	s = calloc(1, sizeof(*s));
	if (!s)
		return errmsg_set(err, -ENOMEM, "out of memory");
	s->base.ops = &s3_ops;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&s->share_lock[i], NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_mutex_init(&s->key_lock, NULL);
	s->use_ssl = !!cfg->use_ssl;
	default_port = s->use_ssl ? 443 : 80;
	s->port = cfg->port ? cfg->port : default_port;
	s->virtual_host = !!cfg->virtual_host;
	s->connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000;
	s->request_ms = cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms : 60000;
	s->max_tries = cfg->max_tries > 0 ? cfg->max_tries : 6;
	s->mpcopy_threshold = cfg->multipart_copy_threshold ? cfg->multipart_copy_threshold :
							      500 * MIB;
	if (s->mpcopy_threshold > S3_MAX_COPY_OBJECT)
		s->mpcopy_threshold = S3_MAX_COPY_OBJECT;
	s->host = strdup(cfg->host);
	s->bucket = strdup(cfg->bucket);
	s->region = strdup(cfg->region && *cfg->region ? cfg->region : "us-east-1");
	s->access_key = strdup(cfg->access_key);
	s->secret_key = strdup(cfg->secret_key);
	s->session_token = cfg->session_token && *cfg->session_token ?
			   strdup(cfg->session_token) : NULL;
	s->ca_file = cfg->ca_file && *cfg->ca_file ? strdup(cfg->ca_file) : NULL;
	s->ca_path = cfg->ca_path && *cfg->ca_path ? strdup(cfg->ca_path) : NULL;

	scheme = s->use_ssl ? "https" : "http";
	/* an IPv6 literal needs brackets in URLs and Host */
	if (strchr(cfg->host, ':') && cfg->host[0] != '[')
		snprintf(hostpart, sizeof(hostpart), "[%s]", cfg->host);
	else
		snprintf(hostpart, sizeof(hostpart), "%s", cfg->host);
	if (s->port != default_port)
		snprintf(port, sizeof(port), ":%d", s->port);
	s->endpoint = strf("%s://%s%s", scheme, hostpart, port);
	if (s->virtual_host) {
		s->host_hdr = strf("%s.%s%s", cfg->bucket, hostpart, port);
		s->base_url = strf("%s://%s", scheme, s->host_hdr ? s->host_hdr : "");
		s->path_prefix = strdup("");
	} else {
		s->host_hdr = strf("%s%s", hostpart, port);
		s->base_url = strf("%s://%s", scheme, s->host_hdr ? s->host_hdr : "");
		s->path_prefix = strf("/%s", cfg->bucket);
	}
	s->base.name = strf("s3://%s", cfg->bucket);
	s->share = curl_share_init();
	if (!s->host || !s->bucket || !s->region || !s->access_key || !s->secret_key ||
	    (cfg->session_token && *cfg->session_token && !s->session_token) ||
	    (cfg->ca_file && *cfg->ca_file && !s->ca_file) ||
	    (cfg->ca_path && *cfg->ca_path && !s->ca_path) || !s->endpoint || !s->host_hdr ||
	    !s->base_url || !s->path_prefix || !s->base.name || !s->share) {
		free(s->base.name);
		s3_destroy(&s->base);
		return errmsg_set(err, -ENOMEM, "out of memory");
	}
	curl_share_setopt(s->share, CURLSHOPT_LOCKFUNC, share_lock_cb);
	curl_share_setopt(s->share, CURLSHOPT_UNLOCKFUNC, share_unlock_cb);
	curl_share_setopt(s->share, CURLSHOPT_USERDATA, s);
	curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	*out = &s->base;
	return 0;
}

void s3_store_stats(const struct objstore *o, struct s3_stats *out)
{
	const struct s3_store *s = (const struct s3_store *)o;

	memset(out, 0, sizeof(*out));
	if (!o || o->ops != &s3_ops)
		return;
	out->requests = atomic_load(&s->requests);
	out->retries = atomic_load(&s->retries);
	out->bytes_in = atomic_load(&s->bytes_in);
	out->bytes_out = atomic_load(&s->bytes_out);
}
