/*
 * grpc.c - unary gRPC over libcurl HTTP/2 (see grpc.h and milvus-grpc.md "A unary call").
 *
 * One call = one POST of a 5-byte-prefixed protobuf message; the reply is one such frame, and
 * the status arrives in the header block (trailers-only replies) or in the trailers, both of
 * which libcurl 7.88 hands to the header callback.  grpc_call_ex() runs the tries: each is one
 * perform(); on a failure it adds the fresh-connection retry of the libcurl work-arounds
 * (closed_early, dead_before_reply) and, for idempotent calls, retries with exponential
 * backoff and jitter within the caller's deadline.  try_once() sends one try.  The pure
 * wire helpers (status names, grpc-message, grpc-timeout, frame unpacking) are grpc_wire.c's.
 *
 * Length (~900 lines): one connection's transport; its state (struct grpc_conn, touched by
 * the curl callbacks, the tries and the error classification alike) stays private to this
 * file rather than spread over files through an internal header.
 */
#include "grpc.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/b64.h"
#include "mvbackupfs/base/clock.h"

struct grpc_conn {
	CURL *easy;
	char *url_prefix;		/* "http://host:port/" or "https://server_name:port/" */
	char *target;			/* "host:port", for messages */
	struct curl_slist *connect_to;	/* TLS: server_name:port -> host:port */
	struct curl_slist *fixed_hdrs;	/* content-type, te, Expect:, authorization */
	struct curl_slist *user_hdrs;	/* grpc_conn_set_header() */
	int tls;			/* tls_mode: 0, 1, 2 */
	int old_curl;			/* libcurl < 8.0.0: work-around A */
	size_t max_recv;
	int rotate_calls;		/* 0 = never */
	unsigned seed;			/* backoff jitter */

	int h2_alive;			/* the previous call left a live connection in curl's cache */
	long try_connects;		/* connections the last curl_easy_perform() opened */
	int calls_on_conn;		/* calls since the connection was opened (work-around B) */
	int conn_open;			/* after a failed try: its connection is still open */
	int try_died_before;		/* this try's first attempt (a reused connection) died
					 * before any reply and perform() repeated it */
	int last_status;		/* grpc_conn_last_status() */
	struct grpc_stats stats;

	/* state of the try in progress, reset by try_reset() */
	struct buf body;		/* the reply frame as received */
	int saw_header;			/* a response status line arrived */
	int grpc_status;		/* -1 = none seen, -2 = unparsable */
	int frame_err;			/* -E2BIG too large, -EBADMSG compressed (set by on_body) */
	uint32_t frame_len;		/* announced message length, valid once body.len >= 5 */
	long http_status;
	char grpc_message[512];
	char content_type[64];
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
}

static int append_hdr(struct curl_slist **list, const char *line)
{
	struct curl_slist *n = curl_slist_append(*list, line);

	if (!n)
		return -ENOMEM;
	*list = n;
	return 0;
}

static int nonempty(const char *s)
{
	return s && *s;
}

/*
 * MVB_GRPC_VERBOSE=1: curl's trace on stderr, without secrets (spec §7).  Curl's own verbose
 * output prints every request header, the authorization header (base64 of user:password)
 * included; this prints info text and headers line by line with that value masked, and no
 * bodies.
 */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	const char *tag;
	size_t i = 0, j, len;

	(void)h;
	(void)arg;
	switch (type) {
	case CURLINFO_TEXT:
		tag = "* ";
		break;
	case CURLINFO_HEADER_IN:
		tag = "< ";
		break;
	case CURLINFO_HEADER_OUT:
		tag = "> ";
		break;
	default:
		return 0;
	}
	while (i < size) {
		char line[1024], *auth;

		for (j = i; j < size && data[j] != '\n'; j++)
			;
		len = j - i;
		if (len && data[i + len - 1] == '\r')
			len--;
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, data + i, len);
		line[len] = '\0';
		/* the header line itself, and curl's HTTP/2 notes ("h2h3 [authorization: ...]") */
		auth = strcasestr(line, "authorization:");
		if (auth)
			fprintf(stderr, "%s%.*sauthorization: ****%s\n", tag, (int)(auth - line), line,
				strchr(auth, ']') ? "]" : "");
		else
			fprintf(stderr, "%s%s\n", tag, line);
		i = j + 1;
	}
	return 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct grpc_conn *c = ud;
	size_t n = size * nmemb, len = n, klen, vlen;
	const char *colon, *v;
	char num[16], *end;
	long st;

	while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'))
		len--;
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		c->saw_header = 1;
		return n;
	}
	colon = memchr(p, ':', len);
	if (!colon || colon == p)
		return n;
	klen = (size_t)(colon - p);
	v = colon + 1;
	vlen = len - klen - 1;
	while (vlen && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
#define KEY_IS(s) (klen == sizeof(s) - 1 && strncasecmp(p, s, klen) == 0)
	if (KEY_IS("grpc-status")) {
		c->grpc_status = -2;
		if (vlen && vlen < sizeof(num)) {
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			errno = 0;
			st = strtol(num, &end, 10);
			if (!errno && *end == '\0' && st >= 0 && st < 1000)
				c->grpc_status = (int)st;
		}
	} else if (KEY_IS("grpc-message")) {
		grpc_percent_decode(v, vlen, c->grpc_message, sizeof(c->grpc_message));
	} else if (KEY_IS("content-type")) {
		snprintf(c->content_type, sizeof(c->content_type), "%.*s", (int)vlen, v);
	}
#undef KEY_IS
	return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct grpc_conn *c = ud;
	size_t n = size * nmemb;
	const unsigned char *b;
	int had_prefix = c->body.len >= 5;

	if (buf_add(&c->body, p, n) < 0) {
		c->frame_err = -E2BIG;
		return 0;	/* CURLE_WRITE_ERROR ends the transfer */
	}
	if (!had_prefix && c->body.len >= 5) {
		/* check the cap as soon as the prefix is in, not after 64 MiB arrived */
		b = (const unsigned char *)c->body.p;
		c->frame_len = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 |
			       (uint32_t)b[3] << 8 | b[4];
		if (b[0] != 0) {
			c->frame_err = -EBADMSG;
			return 0;
		}
		if (c->frame_len > c->max_recv) {
			c->frame_err = -E2BIG;
			return 0;
		}
	}
	return n;
}

/* The connection's easy handle: POST, callbacks, timeouts, TLS per o.  0 or -ENOMEM. */
static int easy_setup(struct grpc_conn *c, const struct grpc_conn_opts *o)
{
	c->easy = curl_easy_init();
	if (!c->easy)
		return -ENOMEM;
	curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000L);
	curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "mvbackupfs/" MVB_VERSION " grpc-c-curl");
	curl_easy_setopt(c->easy, CURLOPT_MAXCONNECTS, 1L);
	if (c->tls) {
		curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYHOST, 2L);
		if (nonempty(o->ca_file))
			curl_easy_setopt(c->easy, CURLOPT_CAINFO, o->ca_file);
		if (c->connect_to)
			curl_easy_setopt(c->easy, CURLOPT_CONNECT_TO, c->connect_to);
		if (o->tls_mode == 2) {
			curl_easy_setopt(c->easy, CURLOPT_SSLCERT, o->cert_file);
			curl_easy_setopt(c->easy, CURLOPT_SSLKEY, o->key_file);
		}
	}
	if (getenv("MVB_GRPC_VERBOSE")) {
		curl_easy_setopt(c->easy, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(c->easy, CURLOPT_VERBOSE, 1L);
	}
	return 0;
}

int grpc_conn_new(const struct grpc_conn_opts *o, struct grpc_conn **out, struct errmsg *err)
{
	struct grpc_conn *c = NULL;
	const char *name;
	char *line = NULL, *raw = NULL, *enc = NULL;
	int ret;

	*out = NULL;
	if (!nonempty(o->host) || o->port <= 0 || o->port > 65535)
		return errmsg_set(err, -EINVAL, "invalid milvus address '%s:%d'",
				  o->host ? o->host : "", o->port);
	if (o->tls_mode < 0 || o->tls_mode > 2)
		return errmsg_set(err, -EINVAL, "invalid milvus tlsMode %d", o->tls_mode);
	if (o->tls_mode == 2 && (!nonempty(o->cert_file) || !nonempty(o->key_file)))
		return errmsg_set(err, -EINVAL,
				  "milvus tlsMode 2 needs a client certificate and key");
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc)
		return errmsg_set(err, curl_init_rc, "cannot initialise libcurl");

	ret = -ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->tls = o->tls_mode;
	c->old_curl = curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
	c->max_recv = o->max_recv ? o->max_recv : GRPC_DEFAULT_MAX_RECV;
	c->rotate_calls = o->rotate_calls < 0 ? 0 : o->rotate_calls ? o->rotate_calls :
			  GRPC_ROTATE_CALLS;
	c->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)c;
	c->last_status = -1;
	/* the frame prefix plus one byte more than the cap: a second frame is noticed, not stored */
	buf_init(&c->body, c->max_recv + 6);
	name = c->tls && nonempty(o->server_name) ? o->server_name : o->host;
	if (asprintf(&c->url_prefix, "%s://%s%s%s:%d/", c->tls ? "https" : "http",
		     strchr(name, ':') ? "[" : "", name, strchr(name, ':') ? "]" : "",
		     o->port) < 0) {
		c->url_prefix = NULL;
		goto fail;
	}
	if (asprintf(&c->target, "%s:%d", o->host, o->port) < 0) {
		c->target = NULL;
		goto fail;
	}
	if (c->tls && name != o->host) {
		if (asprintf(&line, "%s:%d:%s:%d", name, o->port, o->host, o->port) < 0) {
			line = NULL;
			goto fail;
		}
		if (append_hdr(&c->connect_to, line))
			goto fail;
	}
	if (append_hdr(&c->fixed_hdrs, "content-type: application/grpc") ||
	    append_hdr(&c->fixed_hdrs, "te: trailers") ||
	    append_hdr(&c->fixed_hdrs, "Expect:"))
		goto fail;
	if (nonempty(o->user)) {
		/* Milvus: base64("user:password") without a scheme; an API token as base64(token) */
		if (asprintf(&raw, "%s%s%s", o->user, o->password ? ":" : "",
			     o->password ? o->password : "") < 0) {
			raw = NULL;
			goto fail;
		}
		enc = b64_encode(raw, strlen(raw));
		free(line);
		line = NULL;
		if (!enc || asprintf(&line, "authorization: %s", enc) < 0) {
			line = NULL;
			goto fail;
		}
		if (append_hdr(&c->fixed_hdrs, line))
			goto fail;
	}

	if (easy_setup(c, o))
		goto fail;
	ret = 0;
	*out = c;
	c = NULL;
fail:
	if (ret)
		errmsg_set(err, ret, "cannot set up a milvus connection: %s", strerror(-ret));
	free(enc);
	free(raw);
	free(line);
	grpc_conn_free(c);
	return ret;
}

void grpc_conn_free(struct grpc_conn *c)
{
	if (!c)
		return;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->connect_to);
	curl_slist_free_all(c->fixed_hdrs);
	curl_slist_free_all(c->user_hdrs);
	buf_release(&c->body);
	free(c->url_prefix);
	free(c->target);
	free(c);
}

int grpc_conn_set_header(struct grpc_conn *c, const char *name, const char *value)
{
	struct curl_slist *n, *kept = NULL;
	size_t nlen = strlen(name);
	char *line = NULL;
	int ret = -ENOMEM;

	if (!nlen || strpbrk(name, ": \r\n") || (value && strpbrk(value, "\r\n")))
		return -EINVAL;
	for (n = c->user_hdrs; n; n = n->next) {
		if (strncasecmp(n->data, name, nlen) == 0 && n->data[nlen] == ':')
			continue;
		if (append_hdr(&kept, n->data))
			goto out;
	}
	if (value) {
		if (asprintf(&line, "%s: %s", name, value) < 0) {
			line = NULL;
			goto out;
		}
		if (append_hdr(&kept, line))
			goto out;
	}
	curl_slist_free_all(c->user_hdrs);
	c->user_hdrs = kept;
	kept = NULL;
	ret = 0;
out:
	curl_slist_free_all(kept);
	free(line);
	return ret;
}

int grpc_conn_last_status(const struct grpc_conn *c)
{
	return c->last_status;
}

void grpc_conn_stats(const struct grpc_conn *c, struct grpc_stats *st)
{
	*st = c->stats;
}

/* Milliseconds until `deadline`, at least 1 (0 would mean "no timeout" to libcurl). */
static long time_left(long deadline)
{
	long left = deadline - mono_ms();

	return left > 0 ? left : 1;
}

static void try_reset(struct grpc_conn *c)
{
	buf_reset(&c->body);
	c->saw_header = 0;
	c->grpc_status = -1;
	c->frame_err = 0;
	c->frame_len = 0;
	c->http_status = 0;
	c->grpc_message[0] = '\0';
	c->content_type[0] = '\0';
	c->errbuf[0] = '\0';
}

/* Is the connection curl keeps for us still worth reusing?  An idle gRPC connection receives
 * nothing; readable means GOAWAY or EOF, so a fresh connection is the better bet. */
static int cached_conn_usable(struct grpc_conn *c)
{
	curl_socket_t sk = CURL_SOCKET_BAD;
	struct pollfd pfd;

	if (curl_easy_getinfo(c->easy, CURLINFO_ACTIVESOCKET, &sk) != CURLE_OK ||
	    sk == CURL_SOCKET_BAD)
		return 0;
	pfd.fd = sk;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 0;
}

/* Is the connection the last transfer used still open and quiet?  A peek: only "nothing to read
 * yet" counts; EOF, an error, or bytes libcurl left unread (a TLS alert, a GOAWAY before the
 * close) do not. */
static int conn_still_open(struct grpc_conn *c)
{
	curl_socket_t sk = CURL_SOCKET_BAD;
	char b;
	ssize_t n;

	/* a TLS-layer failure (an alert such as TLS 1.3's "certificate required", which a server
	 * sends after the handshake) ends the session even while the server has not closed the
	 * socket yet: the peek below would race with that close */
	if (c->tls && strstr(c->errbuf, "SSL routines"))
		return 0;
	if (curl_easy_getinfo(c->easy, CURLINFO_ACTIVESOCKET, &sk) != CURLE_OK ||
	    sk == CURL_SOCKET_BAD)
		return 0;
	n = recv(sk, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* The connection died before the server sent anything: the request was not processed
 * (milvus-grpc.md work-around B). */
static int dead_before_reply(CURLcode rc)
{
	return rc == CURLE_HTTP2 || rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR ||
	       rc == CURLE_RECV_ERROR || rc == CURLE_HTTP2_STREAM;
}

/*
 * One POST, plus at most one repeat on a fresh connection when libcurl's connection reuse failed
 * in a way that proves the server never saw the request.  Returns the CURLcode.
 */
static CURLcode perform(struct grpc_conn *c, long deadline)
{
	long want_fresh = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE, want, nconn = 0;
	int reuse, rotate;
	CURLcode rc;
	curl_socket_t sk = CURL_SOCKET_BAD;

	if (c->tls)
		want_fresh = CURL_HTTP_VERSION_2TLS;	/* ALPN h2 */
	c->try_died_before = 0;
	reuse = c->h2_alive && cached_conn_usable(c);
	want = want_fresh;
	/* work-around A (curl#10634, fixed in 8.0.0): PRIOR_KNOWLEDGE on a reused h2c connection
	 * fails with CURLE_HTTP2; plain 2_0 reuses the live h2 connection as it is */
	if (reuse && !c->tls && c->old_curl)
		want = CURL_HTTP_VERSION_2_0;
	rotate = c->rotate_calls && c->calls_on_conn + 1 >= c->rotate_calls;
	curl_easy_setopt(c->easy, CURLOPT_HTTP_VERSION, want);
	curl_easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, reuse ? 0L : 1L);
	curl_easy_setopt(c->easy, CURLOPT_FORBID_REUSE, rotate ? 1L : 0L);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, deadline ? time_left(deadline) : 0L);
	rc = curl_easy_perform(c->easy);
	curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &nconn);
	c->stats.connects += nconn;

	if (!c->saw_header && rc != CURLE_OK && rc != CURLE_OPERATION_TIMEDOUT &&
	    ((nconn == 0 && dead_before_reply(rc)) ||		/* B: reused connection died */
	     (want == CURL_HTTP_VERSION_2_0 && nconn > 0))) {	/* A: curl fell back to h1 */
		c->stats.fresh_retries++;
		c->try_died_before = 1;
		try_reset(c);
		curl_easy_setopt(c->easy, CURLOPT_HTTP_VERSION, want_fresh);
		curl_easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, deadline ? time_left(deadline) : 0L);
		rc = curl_easy_perform(c->easy);
		nconn = 0;
		curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &nconn);
		c->stats.connects += nconn;
	}
	curl_easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, 0L);
	c->try_connects = nconn;
	if (nconn > 0)
		c->calls_on_conn = 0;
	c->calls_on_conn++;
	c->h2_alive = curl_easy_getinfo(c->easy, CURLINFO_ACTIVESOCKET, &sk) == CURLE_OK &&
		      sk != CURL_SOCKET_BAD;
	c->conn_open = rc != CURLE_OK && conn_still_open(c);
	if (!c->h2_alive)
		c->calls_on_conn = 0;
	return rc;
}

/*
 * Did the connection this try ended on close before any reply, the server hanging up on us?
 * That is the symptom of a TLS mismatch: a TLS server that wants a client certificate (or
 * refuses ours) closes the connection right after a TLS 1.3 handshake, which libcurl reports as a
 * failed send or receive; a TLS server sent cleartext HTTP/2 closes it (grpc-js) or answers
 * TLS/HTTP bytes that are no HTTP/2 frame (grpc-go).  A reset (a server dying) is not this, nor
 * is a stream the server reset on a connection that stays open (the connection is then alive:
 * conn_open).  Only the try's own connection counts: one reused from an earlier call may simply
 * have been dropped while idle (perform() already repeated the request then).
 */
static int closed_early(struct grpc_conn *c, CURLcode rc)
{
	curl_off_t hs = 0;
	long oserr = 0;

	if (c->saw_header || c->try_connects <= 0 || c->conn_open)
		return 0;
	if (c->tls)
		return dead_before_reply(rc) &&
		       curl_easy_getinfo(c->easy, CURLINFO_APPCONNECT_TIME_T, &hs) == CURLE_OK && hs > 0;
	/* an orderly close (libcurl 7.88: 18 "stream not closed cleanly") or bytes that are no
	 * HTTP/2 frame */
	curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &oserr);
	return oserr != ECONNRESET && (rc == CURLE_PARTIAL_FILE || rc == CURLE_GOT_NOTHING ||
				       rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM);
}

/* The cause of an early close (closed_early()); `hint` adds what the mismatch may be, given only
 * once a fresh connection failed the same way. */
static void early_close_cause(struct grpc_conn *c, int hint, char *cause, size_t causesz)
{
	if (c->tls)
		snprintf(cause, causesz, "tls with '%s' failed: the server closed the connection after "
			 "the handshake%s", c->target, !hint ? "" : c->tls == 1 ?
			 " (does it require a client certificate? that is milvus.tlsMode 2)" :
			 " (did it refuse our client certificate?)");
	else
		snprintf(cause, causesz, "'%s' closed the connection without an HTTP/2 reply%s",
			 c->target, hint ? " (does it expect tls? that is milvus.tlsMode 1)" : "");
}

/* Map a failed transfer to -errno and a cause; *retriable says whether an idempotent call may be
 * repeated. */
static int transfer_error(struct grpc_conn *c, CURLcode rc, long timeout_ms, int *retriable,
			  char *cause, size_t causesz)
{
	long oserr = 0;
	const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);

	*retriable = 0;
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &oserr);
		if (oserr == ECONNREFUSED || oserr == 0) {
			snprintf(cause, causesz, "connection refused by '%s'", c->target);
			return -ECONNREFUSED;
		}
		snprintf(cause, causesz, "cannot reach '%s': %s", c->target, strerror((int)oserr));
		return -EHOSTUNREACH;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(cause, causesz, "cannot resolve '%s'", c->target);
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(cause, causesz, "no reply from '%s' within %ld ms", c->target, timeout_ms);
		return -ETIMEDOUT;
	case CURLE_WRITE_ERROR:
		if (c->frame_err == -EBADMSG) {
			snprintf(cause, causesz, "compressed reply (not supported)");
			return -EPROTO;
		}
		if (c->frame_err == -E2BIG) {
			if (c->body.len >= 5 && c->frame_len <= c->max_recv)
				snprintf(cause, causesz, "reply with more than one message");
			else
				snprintf(cause, causesz, "reply of %u bytes exceeds the %zu-byte limit",
					 c->frame_len, c->max_recv);
			return -EPROTO;
		}
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		snprintf(cause, causesz, "tls with '%s' failed: %s", c->target, detail);
		return -EPROTO;
	default:
		break;
	}
	if (closed_early(c, rc)) {
		/* the caller decides on a repeat and on the hint (grpc_call_ex) */
		early_close_cause(c, 0, cause, causesz);
		return -EPROTO;
	}
	*retriable = 1;
	if (!c->saw_header && c->conn_open && dead_before_reply(rc))
		snprintf(cause, causesz, "'%s' reset the call before any reply: %s", c->target,
			 detail);
	else
		snprintf(cause, causesz, "connection to '%s' lost: %s", c->target, detail);
	return -EIO;
}

/* HTTP status of a reply without grpc-status, mapped as the gRPC spec does. */
static int http_error(long http, int *retriable, char *cause, size_t causesz)
{
	snprintf(cause, causesz, "HTTP status %ld instead of a gRPC reply", http);
	*retriable = 0;
	switch (http) {
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOSYS;
	case 429:
	case 502:
	case 503:
	case 504:
		*retriable = 1;
		return -EHOSTUNREACH;
	default:
		return -EPROTO;
	}
}

/* Check the finished reply and unpack it. */
static int parse_reply(struct grpc_conn *c, const ProtobufCMessageDescriptor *resp_desc,
		       ProtobufCMessage **resp, int *retriable, char *cause, size_t causesz)
{
	const unsigned char *b = (const unsigned char *)c->body.p;

	*retriable = 0;
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->http_status);
	if (c->http_status != 200 && c->grpc_status < 0)
		return http_error(c->http_status, retriable, cause, causesz);
	if (strncasecmp(c->content_type, "application/grpc", 16) != 0) {
		snprintf(cause, causesz, "reply is not gRPC (content-type '%s')", c->content_type);
		return -EPROTO;
	}
	if (c->grpc_status == -1) {
		snprintf(cause, causesz, "reply ended without grpc-status");
		return -EPROTO;
	}
	if (c->grpc_status == -2) {
		snprintf(cause, causesz, "reply with an invalid grpc-status");
		return -EPROTO;
	}
	c->last_status = c->grpc_status;
	if (c->grpc_status != 0) {
		*retriable = c->grpc_status == 14;
		snprintf(cause, causesz, "%s (%d)%s%s", grpc_status_name(c->grpc_status),
			 c->grpc_status, c->grpc_message[0] ? ": " : "", c->grpc_message);
		return grpc_status_to_errno(c->grpc_status);
	}
	return grpc_frame_unpack(b, c->body.len, c->max_recv, resp_desc, resp, cause, causesz);
}

static const char *method_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int grpc_call(struct grpc_conn *c, const char *path, const ProtobufCMessage *req,
	      const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
	      long timeout_ms, struct errmsg *err)
{
	struct grpc_call_opts o = { timeout_ms, NULL, 0 };

	return grpc_call_ex(c, path, req, resp_desc, resp, &o, err);
}

/* The request as one gRPC frame: a 0 flag (not compressed), the length (big-endian), the
 * message; malloc'd, NULL when out of memory. */
static unsigned char *frame_pack(const ProtobufCMessage *req, size_t plen)
{
	unsigned char *frame = malloc(plen + 5);

	if (!frame)
		return NULL;
	frame[0] = 0;
	frame[1] = (unsigned char)(plen >> 24);
	frame[2] = (unsigned char)(plen >> 16);
	frame[3] = (unsigned char)(plen >> 8);
	frame[4] = (unsigned char)plen;
	protobuf_c_message_pack(req, frame + 5);
	return frame;
}

/* The headers of every try of a call: the connection's fixed and user ones, and the database
 * (`db` already checked for CR/LF).  0 or -ENOMEM. */
static int call_headers(struct grpc_conn *c, const char *db, struct curl_slist **hdrs)
{
	struct curl_slist *n;
	char *line = NULL;
	int rc = 0;

	for (n = c->fixed_hdrs; n && !rc; n = n->next)
		rc = append_hdr(hdrs, n->data);
	for (n = c->user_hdrs; n && !rc; n = n->next)
		rc = append_hdr(hdrs, n->data);
	if (!rc && nonempty(db)) {
		if (asprintf(&line, "dbname: %s", db) < 0)
			return -ENOMEM;
		rc = append_hdr(hdrs, line);
		free(line);
	}
	return rc ? -ENOMEM : 0;
}

/* One try: the call's headers plus `timeout_line` (grpc-timeout; NULL: none), then perform
 * (*rc its result).  0, or -ENOMEM when the headers could not be built (nothing was sent). */
static int try_once(struct grpc_conn *c, const struct curl_slist *hdrs, const char *timeout_line,
		    long deadline, CURLcode *rc)
{
	struct curl_slist *all = NULL;

	for (const struct curl_slist *n = hdrs; n; n = n->next)
		if (append_hdr(&all, n->data)) {
			curl_slist_free_all(all);
			return -ENOMEM;
		}
	if (timeout_line && append_hdr(&all, timeout_line)) {
		curl_slist_free_all(all);
		return -ENOMEM;
	}
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, all);
	try_reset(c);
	*rc = perform(c, deadline);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(all);
	return 0;
}

/* What a try's transfer result rc means: 0 with *resp, or -errno with the cause; *early set
 * when the connection closed before any reply. */
static int try_result(struct grpc_conn *c, CURLcode rc, long timeout_ms,
		      const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
		      int *retriable, int *early, char *cause, size_t causesz)
{
	*early = 0;
	/* a server that answers an error before reading the whole request (trailers-only, then
	 * RST_STREAM) makes libcurl fail the upload; its grpc-status is still the answer */
	if (rc != CURLE_OK && !(c->grpc_status > 0 && rc != CURLE_OPERATION_TIMEDOUT &&
				rc != CURLE_WRITE_ERROR)) {
		int ret = transfer_error(c, rc, timeout_ms, retriable, cause, causesz);

		*early = closed_early(c, rc);
		return ret;
	}
	return parse_reply(c, resp_desc, resp, retriable, cause, causesz);
}

/* "grpc-timeout: <left ms>" into *line, replacing what it held.  0 or -ENOMEM (*line NULL). */
static int timeout_line(char **line, long left)
{
	char tmo[32];

	free(*line);
	if (asprintf(line, "grpc-timeout: %s", grpc_timeout_value(left, tmo, sizeof(tmo))) < 0) {
		*line = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* The pause before try `tries` + 1: exponential backoff with jitter, 100 ms then 200 ms, each
 * 50..100 % of that. */
static long backoff_ms(struct grpc_conn *c, int tries)
{
	long delay = 100L << (tries - 1);

	return delay / 2 + (long)(rand_r(&c->seed) % (unsigned)(delay / 2 + 1));
}

int grpc_call_ex(struct grpc_conn *c, const char *path, const ProtobufCMessage *req,
		 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
		 const struct grpc_call_opts *o, struct errmsg *err)
{
	static const struct grpc_call_opts none = { 0, NULL, 0 };
	struct curl_slist *hdrs = NULL;
	char *url = NULL, *line = NULL, cause[768];
	unsigned char *frame = NULL;
	size_t plen;
	long deadline = 0, left, delay;
	int ret, tries = 0, retriable = 0, early = 0, closed_before = 0;
	CURLcode rc;

	*resp = NULL;
	if (!o)
		o = &none;
	c->stats.calls++;
	c->last_status = -1;
	if (o->timeout_ms > 0)
		deadline = mono_ms() + o->timeout_ms;
	ret = -ENOMEM;
	snprintf(cause, sizeof(cause), "out of memory");
	plen = protobuf_c_message_get_packed_size(req);
	if (plen > UINT32_MAX) {
		ret = -EINVAL;
		snprintf(cause, sizeof(cause), "request of %zu bytes is too large", plen);
		goto out;
	}
	frame = frame_pack(req, plen);
	if (!frame || asprintf(&url, "%s%s", c->url_prefix, path) < 0) {
		url = NULL;
		goto out;
	}
	if (o->db && strpbrk(o->db, "\r\n")) {
		ret = -EINVAL;
		snprintf(cause, sizeof(cause), "invalid database name");
		goto out;
	}
	if (call_headers(c, o->db, &hdrs))
		goto out;
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, (char *)frame);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(plen + 5));

	for (;;) {
		tries++;
		if (deadline) {
			left = deadline - mono_ms();
			if (left <= 0) {
				ret = -ETIMEDOUT;
				snprintf(cause, sizeof(cause), "no reply from '%s' within %ld ms",
					 c->target, o->timeout_ms);
				break;
			}
			/* tell the server the time left, too (rebuilt per try) */
			if (timeout_line(&line, left))
				goto out;
		}
		if (try_once(c, hdrs, deadline ? line : NULL, deadline, &rc))
			goto out;
		ret = try_result(c, rc, o->timeout_ms, resp_desc, resp, &retriable, &early, cause,
				 sizeof(cause));
		if (early) {
			/* A connection closed before any reply: an idempotent call is repeated once on
			 * a fresh connection, without backoff, and the TLS hint comes only when a fresh
			 * connection failed the same way (this one after a dead reused one, or the
			 * repeat); a call that cannot be repeated gets the hint at once. */
			if (closed_before || c->try_died_before || !(o->flags & GRPC_IDEMPOTENT)) {
				early_close_cause(c, 1, cause, sizeof(cause));
				break;
			}
			closed_before = 1;
			c->stats.fresh_retries++;
			c->h2_alive = 0;	/* the next try opens a fresh connection */
			continue;
		}
		if (ret == 0 || !retriable || !(o->flags & GRPC_IDEMPOTENT) ||
		    tries >= GRPC_MAX_TRIES)
			break;
		delay = backoff_ms(c, tries);
		if (deadline && mono_ms() + delay >= deadline)
			break;
		c->stats.backoff_retries++;
		sleep_ms(delay);
	}
out:
	if (c->body.cap > (1u << 20))
		buf_release(&c->body);	/* do not keep a big reply's buffer per connection */
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdrs);
	free(line);
	free(url);
	free(frame);
	if (ret)
		errmsg_set(err, ret, "milvus %s failed: %s%s", method_of(path), cause,
			   tries > 1 ? " (after retries)" : "");
	return ret;
}
