/*
 * request.c - one S3 request (s3_internal.h): it takes an easy handle from the store's pool,
 * signs (SigV4, sigv4.c), sends, classifies the answer and retries throttling (503 SlowDown,
 * 429), other 5xx and connection errors with exponential backoff and full jitter, never a
 * 4xx.  All easy handles share one CURLSH (connection cache, DNS cache, TLS sessions), so a
 * connection opened by one thread is reused by the next request of any thread and no request
 * does its own DNS lookup.  Ranged GETs write straight into the caller's buffer.  The store's
 * creation (s3_store_new) is here too: it builds the share and the pool.
 *
 * Deadlines: every attempt has a connect timeout and an overall timeout that grows with the
 * bytes moved (base + 1 s per MiB); the retries of one request stop at twice that.
 */
#include "s3_internal.h"

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
	int stopped;			/* the sink asked to stop */
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

struct s3_store *s3_of(struct objstore *s)
{
	return (struct s3_store *)s;
}

/* Per-attempt timeout for a request moving `bytes`: base + 1 s per MiB. */
long s3_timeout(const struct s3_store *s, uint64_t bytes)
{
	uint64_t t = (uint64_t)s->request_ms + bytes / 1049;	/* ~1 s per MiB */

	return t > 24ULL * 3600 * 1000 ? 24L * 3600 * 1000 : (long)t;
}

/* The payload hash to sign.  Small bodies (requests, meta, small objects) are always hashed.
 * Bodies over S3_HASH_LIMIT (data parts, large objects) are sent as UNSIGNED-PAYLOAD, on
 * https and on plain http alike (docs/copy-performance.md): the hash was a second
 * full pass over every byte written, a quarter of the daemon's CPU in a copy-in (spec §8:
 * CPU per GiB), and what it guarded against on plain http (bytes changed in flight without
 * TCP noticing) is also caught where it matters most, a short or long body, by the
 * Content-Length the server checks and by the sizes the commit verifies by listing.  The
 * signature still covers the method, the key, the query and the headers. */
static void s3_payload_hash(const struct s3_store *s, const void *body, size_t len,
			    char hash[65])
{
	(void)s;
	if (len > S3_HASH_LIMIT)
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

/* Drop what the answer has before the range asked for (x->skip: a 200 to a ranged GET). */
static void skip_ignored(struct xfer *x, char **p, size_t *len)
{
	size_t take;

	if (!x->skip)
		return;
	take = *len < x->skip ? *len : (size_t)x->skip;
	x->skip -= take;
	*p += take;
	*len -= take;
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
	if (x->status == 200 && (x->r->dst || x->r->sink))
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
	if (r->dst || r->sink)
		skip_ignored(x, &p, &len);
	if (r->sink) {
		if (len > r->sink_len - r->sunk) {
			len = (size_t)(r->sink_len - r->sunk);	/* a 200: the rest is not wanted */
			x->full = 1;
		}
		if (len && r->sink(r->sink_ctx, p, len)) {
			r->sunk += len;	/* delivered, then stopped */
			x->stopped = 1;
			return CURL_WRITEFUNC_ERROR;
		}
		r->sunk += len;
		return x->full ? CURL_WRITEFUNC_ERROR : size * n;
	}
	if (r->dst) {
		if (!len)
			return size * n;
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
/* The signed headers, the Authorization header and an empty Expect (no "100-continue" round
 * trip before bodies) as a curl list in *out (freed by the caller, also on error).  0,
 * -E2BIG or -ENOMEM. */
static int header_list(const struct sigv4_pair *hdrs, size_t nh, const char *auth,
		       struct curl_slist **out)
{
	struct buf line = BUF_INIT(16384);
	struct curl_slist *tmp;
	int rc = 0;

	for (size_t i = 0; i < nh + 2 && !rc; i++) {
		buf_reset(&line);
		if (i < nh)
			rc = buf_addf(&line, "%s: %s", hdrs[i].name, hdrs[i].value) ? -E2BIG : 0;
		else if (i == nh)
			rc = buf_addf(&line, "Authorization: %s", auth) ? -ENOMEM : 0;
		else
			rc = buf_adds(&line, "Expect:") ? -ENOMEM : 0;
		if (!rc && !(tmp = curl_slist_append(*out, line.p)))
			rc = -ENOMEM;
		else if (!rc)
			*out = tmp;
	}
	buf_release(&line);
	return rc;
}

static int s3_attempt(struct s3_store *s, struct s3_req *r, CURL *h, long timeout_ms,
		      struct xfer *x)
{
	struct buf path = BUF_INIT(16384), url = BUF_INIT(32768), auth = BUF_INIT(4096);
	struct sigv4_pair hdrs[12];
	struct sigv4_credentials cred = { s->access_key, s->secret_key, s->region, "s3" };
	struct sigv4_request sr;
	struct curl_slist *list = NULL;
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

	rc = header_list(hdrs, nh, auth.p, &list);
	if (rc)
		goto out;

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
	/* pooled handles: set or cleared on every request (a server-side copy sends nothing for
	 * minutes, rightly) */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, r->stall_ms ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, r->stall_ms ? (r->stall_ms + 999) / 1000 : 0L);
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
	return rc;
}

/* Send r, with retries.  Returns 0 when a final answer arrived (r->status says which;
 * r->cc == CURLE_OK), or -errno with r->cc / r->status / r->e describing the last try:
 * -ETIMEDOUT, -EHOSTUNREACH, -EIO, -ENOMEM.  HTTP errors are not turned into errno here:
 * the caller knows what a 404 or a 412 means for its operation. */
int s3_perform(struct s3_store *s, struct s3_req *r)
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
		atomic_fetch_add(&s->bytes_in, r->dst ? r->got : r->sink ? r->sunk :
						    (r->resp ? r->resp->len : 0));

		/* what happened */
		retry = 0;
		if (r->cc == CURLE_WRITE_ERROR && x.full) {
			r->cc = CURLE_OK;	/* we stopped a 200 once the buffer was full */
		} else if (r->cc == CURLE_WRITE_ERROR && x.stopped) {
			snprintf(r->curl_err, sizeof(r->curl_err), "stopped by the reader");
			rc = -ECANCELED;
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
int tls_unverified(const struct s3_req *r)
{
	return r->cc == CURLE_PEER_FAILED_VERIFICATION || r->cc == CURLE_SSL_CACERT_BADFILE;
}

/* "cannot verify the tls certificate of https://h:p with CA file 'f' (curl's reason)" */
void tls_cause(const struct s3_store *s, const struct s3_req *r, char *out, size_t n)
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
void s3_cause(struct s3_store *s, const struct s3_req *r, int rc, char *out, size_t n)
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
int s3_fail(struct s3_store *s, const struct s3_req *r, int rc, const char *verb,
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

int is_2xx(const struct s3_req *r)
{
	return r->status >= 200 && r->status <= 299;
}

/* "/bucket/key" with the key percent-encoded, for x-amz-copy-source. */
int copy_source(struct buf *out, const struct s3_store *src, const char *src_key)
{
	int rc = buf_addf(out, "/%s/", src->bucket);

	return rc ? rc : sigv4_encode(out, src_key, strlen(src_key), 1);
}

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
