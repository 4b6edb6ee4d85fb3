/*
 * sigv4.h - AWS Signature Version 4, computed by the project with OpenSSL (HMAC-SHA256,
 * SHA-256).
 *
 * Pure functions, no I/O and no global state, so that every step can be checked against
 * AWS's published test suite (aws-sig-v4-test-suite) and the S3 documentation examples:
 * the canonical request, the string to sign, the signing key, the signature and the
 * Authorization header value.
 *
 * A request is described by its method, its *unencoded* path (for S3: "/bucket/key" or
 * "/key"; the path is not normalised, S3 does not normalise either), its query parameters
 * (unencoded name/value pairs, any order, duplicates allowed) and its headers (any case,
 * any order; a repeated name is joined with ',' in the order given).  The same encoder
 * produces the path and query string that go on the wire (sigv4_encode_path,
 * sigv4_canonical_query), so what is sent is always what was signed.
 *
 * Encoding rule (AWS "UriEncode"): every byte except A-Z a-z 0-9 '-' '_' '.' '~' becomes
 * %XX with upper-case hex; '/' is kept in paths and encoded in query names and values.
 */
#ifndef MVBACKUPFS_SIGV4_H
#define MVBACKUPFS_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "mvbackupfs/base/buf.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* SHA-256 of the empty string, the payload hash of every body-less request. */
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One query parameter or header: name and value as given, unencoded.  A query parameter
 * without a value ("?delete") has value "" and is signed as "delete=". */
struct sigv4_pair {
	const char *name;
	const char *value;
};

struct sigv4_request {
	const char *method;		/* "GET", "PUT", ... */
	const char *path;		/* unencoded, starts with '/' */
	const struct sigv4_pair *query;
	size_t nquery;
	const struct sigv4_pair *headers;	/* every header to sign: must include host and
						 * x-amz-date (and x-amz-content-sha256 for S3) */
	size_t nheaders;
	const char *payload_hash;	/* 64 lower-case hex digits, or SIGV4_UNSIGNED_PAYLOAD */
};

struct sigv4_credentials {
	const char *access_key;
	const char *secret_key;
	const char *region;		/* "us-east-1" */
	const char *service;		/* "s3" */
};

/* Append the UriEncode of n bytes of s to out; keep_slash keeps '/' (paths).
 * Returns 0, -E2BIG, -ENOMEM (from buf). */
int sigv4_encode(struct buf *out, const char *s, size_t n, int keep_slash);

/* Append the encoded path (for the URL and the canonical request). */
int sigv4_encode_path(struct buf *out, const char *path);

/* Append the canonical query string: names and values encoded, pairs sorted by encoded
 * name then encoded value, joined with '&', every pair written "name=value".  It is also
 * the query string to put on the wire. */
int sigv4_canonical_query(struct buf *out, const struct sigv4_pair *q, size_t n);

/* Append the canonical request to out and, when signed_headers is not NULL, the
 * SignedHeaders list ("host;x-amz-date") to signed_headers.  Header names are
 * lower-cased, values trimmed with inner runs of spaces collapsed to one, sorted by name.
 * Returns 0, -EINVAL (no method/path/payload hash, more than 64 headers), -E2BIG, -ENOMEM. */
int sigv4_canonical_request(const struct sigv4_request *r, struct buf *out,
			    struct buf *signed_headers);

/* The credential scope "20150830/us-east-1/service/aws4_request" for an amz_date
 * ("20150830T123600Z"), appended to out. */
int sigv4_scope(struct buf *out, const char *amz_date, const char *region,
		const char *service);

/* Append the string to sign: algorithm, amz_date, scope, hex SHA-256 of the canonical
 * request, separated by '\n'. */
int sigv4_string_to_sign(struct buf *out, const char *amz_date, const char *scope,
			 const char *canonical_request, size_t creq_len);

/* The signing key: HMAC chain over "AWS4"+secret, date (8 digits), region, service,
 * "aws4_request".  Callers may cache it for the day. */
void sigv4_signing_key(const char *secret_key, const char *date8, const char *region,
		       const char *service, unsigned char key[32]);

/* hex(HMAC-SHA256(key, string_to_sign)) into sig (64 digits + NUL). */
void sigv4_signature(const unsigned char key[32], const char *sts, size_t sts_len,
		     char sig[65]);

/* The whole computation: append the Authorization header value
 * ("AWS4-HMAC-SHA256 Credential=AK/scope, SignedHeaders=..., Signature=...") to out.
 * `key` may be a cached signing key for amz_date's day, or NULL to derive it from the
 * secret.  Returns 0 or -errno as sigv4_canonical_request. */
int sigv4_authorization(struct buf *out, const struct sigv4_credentials *c,
			const unsigned char *key, const char *amz_date,
			const struct sigv4_request *r);

/* hex(SHA-256(data)) into hex (64 digits + NUL). */
void sigv4_sha256_hex(const void *data, size_t len, char hex[65]);

/* The x-amz-date form of t: "20150830T123600Z" (UTC) into out (17 bytes). */
void sigv4_amz_date(time_t t, char out[17]);

#endif
