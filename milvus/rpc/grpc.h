/*
 * grpc.h - unary gRPC calls over libcurl HTTP/2, with protobuf-c messages.
 *
 * Just enough gRPC to talk to Milvus (milvus-grpc.md): one request message, one reply message,
 * no streaming, no compression.  Cleartext uses h2c with prior knowledge; tls_mode 1 and 2 use
 * HTTPS with ALPN h2.  The libcurl 7.88 (Debian 12) bugs are worked around here so that callers
 * never see them (milvus-grpc.md "libcurl 7.88.1 bugs"):
 *   A. (only when libcurl < 8.0.0) a reused h2c connection is asked for with
 *      CURL_HTTP_VERSION_2_0 instead of PRIOR_KNOWLEDGE; if the cached connection turns out to be
 *      dead, the call is retried once with PRIOR_KNOWLEDGE on a fresh connection;
 *   B. a call that fails on a reused connection before any response header arrived (GOAWAY,
 *      reset: curl codes 16, 52, 55, 56, 92) was not processed by the server, so it is retried
 *      once on a fresh connection whatever the call; and the connection is rotated every
 *      GRPC_ROTATE_CALLS calls.
 *
 * Threads: a struct grpc_conn wraps one CURL easy handle and its one HTTP/2 connection.  It must
 * not be used by two threads at once: make one per thread, or use the pool in milvus_client.h.
 * Different connections may be used concurrently.  libcurl is initialised once, on first use.
 *
 * TLS server name: the URL carries the certificate name (server_name, or host when unset) and
 * CURLOPT_CONNECT_TO maps it to host:port, so SNI, certificate verification and :authority all use
 * server_name while the TCP connection goes to host - the semantics of grpc-go's ServerName,
 * which milvus-backup's tlsMode/serverName configure.
 *
 * Errors (return value; the sentence in `err` is "milvus <Method> failed: <cause>"):
 *   -ECONNREFUSED  nothing listens on host:port
 *   -EHOSTUNREACH  name does not resolve, host unreachable, gRPC 14 UNAVAILABLE (retriable)
 *   -ETIMEDOUT     the deadline passed (the connection stays usable), gRPC 4 DEADLINE_EXCEEDED
 *   -EACCES        gRPC 16 UNAUTHENTICATED or 7 PERMISSION_DENIED (wrong user or password)
 *   -ENOSYS        gRPC 12 UNIMPLEMENTED (an older server)
 *   -EPROTO        not a gRPC reply: no grpc-status, bad frame, compressed, too large, bad
 *                  protobuf; and every TLS failure, never retried: the server certificate not
 *                  signed by ca_file or not naming server_name, a CA / client certificate / key
 *                  file that cannot be read, the server closing a fresh connection right after
 *                  the handshake (it requires a client certificate, or refused ours), a TLS
 *                  client against a cleartext server, and a cleartext client whose fresh
 *                  connection the server closed without a reply (a TLS server); the sentence
 *                  then says "tls" and names the certificate problem or milvus.tlsMode.
 *                  (Not -EACCES: that stays "wrong user or password", which a user fixes
 *                  elsewhere.)
 *   -EIO           any other gRPC status; the connection broke mid-call
 *   -ENOMEM, -EINVAL
 */
#ifndef MVBACKUPFS_GRPC_H
#define MVBACKUPFS_GRPC_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "mvbackupfs/base/err.h"

#define GRPC_DEFAULT_MAX_RECV	(64u << 20)	/* reply message cap (DescribeCollection can be big) */
#define GRPC_ROTATE_CALLS	500		/* work-around B: a new connection after this many calls */
#define GRPC_MAX_TRIES		3		/* tries of an idempotent call (backoff 100 ms, 200 ms) */

struct grpc_conn;

struct grpc_conn_opts {
	const char *host;		/* name or address to connect to */
	int port;
	int tls_mode;			/* 0 cleartext h2c, 1 TLS, 2 mutual TLS */
	const char *ca_file;		/* PEM CA bundle; NULL or "" = the system store */
	const char *server_name;	/* name the certificate must carry; NULL or "" = host */
	const char *cert_file;		/* tls_mode 2: client certificate (PEM) */
	const char *key_file;		/* tls_mode 2: client key (PEM) */
	const char *user;		/* NULL or "" = no authorization header */
	const char *password;		/* NULL = `user` is an API token, sent as base64(token) */
	size_t max_recv;		/* reply message cap; 0 = GRPC_DEFAULT_MAX_RECV */
	long connect_timeout_ms;	/* 0 = 5000 */
	int rotate_calls;		/* new connection after this many calls; 0 = GRPC_ROTATE_CALLS,
					 * -1 = never (tests of work-around B) */
};

/* Per-call options for grpc_call_ex(). */
#define GRPC_IDEMPOTENT	0x1u	/* safe to repeat: retry UNAVAILABLE / broken connections with backoff */

struct grpc_call_opts {
	long timeout_ms;	/* deadline for the whole call, retries included; 0 = none */
	const char *db;		/* "dbname" header; NULL or "" = none */
	unsigned flags;		/* GRPC_IDEMPOTENT */
};

/* Counters of one connection, for tests and the log. */
struct grpc_stats {
	long calls;		/* grpc_call*() invocations */
	long connects;		/* TCP connections opened */
	long fresh_retries;	/* work-around A/B retries on a fresh connection */
	long backoff_retries;	/* idempotent retries after a backoff */
};

/* Create a connection object (no network traffic yet; the TCP connection is opened by the first
 * call and kept).  Copies everything it needs from `o`.  -EINVAL (missing host, bad tls_mode,
 * mutual TLS without cert/key), -ENOMEM. */
int grpc_conn_new(const struct grpc_conn_opts *o, struct grpc_conn **out, struct errmsg *err);

/* Close the connection and free everything.  NULL is a no-op. */
void grpc_conn_free(struct grpc_conn *c);

/* Send header `name: value` on every later call (e.g. Milvus's "identifier"); replaces an earlier
 * value of the same name; value NULL removes it.  Names are lower-case.  0, -ENOMEM, -EINVAL. */
int grpc_conn_set_header(struct grpc_conn *c, const char *name, const char *value);

/* One unary call.  `path` is "package.Service/Method", e.g.
 * "milvus.proto.milvus.MilvusService/Flush".  On success returns 0 and *resp holds the unpacked
 * reply, which the caller frees with protobuf_c_message_free_unpacked(*resp, NULL); on failure
 * *resp is NULL.  Not idempotent: only the work-around B retry (the server certainly did not see
 * the request) is done.  timeout_ms 0 = no deadline. */
int grpc_call(struct grpc_conn *c, const char *path, const ProtobufCMessage *req,
	      const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
	      long timeout_ms, struct errmsg *err);

/* grpc_call() with a database header and flags; `o` may be NULL (no deadline, no db, not
 * idempotent). */
int grpc_call_ex(struct grpc_conn *c, const char *path, const ProtobufCMessage *req,
		 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
		 const struct grpc_call_opts *o, struct errmsg *err);

/* The gRPC status of the last call on `c`: 0 OK, > 0 the server's grpc-status, -1 when the call
 * ended without one (transport or protocol failure). */
int grpc_conn_last_status(const struct grpc_conn *c);

void grpc_conn_stats(const struct grpc_conn *c, struct grpc_stats *st);

/* The -errno for a gRPC status code (see the table above); 0 for 0. */
int grpc_status_to_errno(int status);

/* The canonical name of a gRPC status code ("UNAVAILABLE"), "UNKNOWN" when out of range. */
const char *grpc_status_name(int status);

/* Decode grpc-message's percent-encoding (%XX) of s[0..n) into out (NUL-terminated, truncated to
 * outsz); control characters become spaces so the text fits on one line.  Returns strlen(out). */
size_t grpc_percent_decode(const char *s, size_t n, char *out, size_t outsz);

/* Check one reply body - the 5-byte gRPC message prefix (flag 0 = uncompressed, big-endian
 * length) then the message - and unpack the message as `desc`.  The length must match `len`
 * exactly and be at most max_recv.  Returns 0 and *resp (free with
 * protobuf_c_message_free_unpacked), or -EPROTO with *resp NULL and the cause in cause[causesz].
 * grpc_call() uses it for every reply; exposed for the fuzzer (tests/fuzz/fuzz_grpc_reply.c). */
int grpc_frame_unpack(const void *body, size_t len, size_t max_recv,
		      const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp,
		      char *cause, size_t causesz);

/* Format a grpc-timeout header value for `ms` milliseconds (at most 8 digits, as the gRPC
 * spec requires: "123m", "100000S").  Returns out. */
char *grpc_timeout_value(long ms, char *out, size_t outsz);

#endif
