/*
 * s3.h - the S3 backend of objstore.h: libcurl for HTTP(S), requests signed by the project
 * with AWS Signature V4 (sigv4.h), listings parsed with expat (s3xml.h).
 *
 * Path-style ("http://host:port/bucket/key") or virtual-hosted ("http://bucket.host/key")
 * addressing; http and https with certificate verification (CA file/dir configurable).  Each
 * request has a deadline; throttling (503 SlowDown, 429), other 5xx and connection errors are
 * retried with exponential backoff and full jitter up to `max_tries`.  Connections are reused
 * through a pool of curl easy handles sharing one connection cache.
 */
#ifndef MVBACKUPFS_S3_H
#define MVBACKUPFS_S3_H

#include <stdint.h>

#include "mvbackupfs/storage/objstore.h"

struct s3_config {
	const char *host;		/* "127.0.0.1", "s3.amazonaws.com" (no scheme) */
	int port;			/* 0 = 80/443 by use_ssl */
	int use_ssl;			/* https, certificates verified */
	const char *ca_file;		/* optional CA bundle (PEM) */
	const char *ca_path;		/* optional CA directory */
	int virtual_host;		/* 1 = bucket.host addressing, 0 = path style */
	const char *region;		/* "" or NULL = "us-east-1" */
	const char *access_key;
	const char *secret_key;
	const char *session_token;	/* optional (x-amz-security-token) */
	const char *bucket;
	long connect_timeout_ms;	/* 0 = 5000 */
	long request_timeout_ms;	/* per attempt; 0 = 60000 (data requests scale with size) */
	int max_tries;			/* 0 = 6 */
	uint64_t multipart_copy_threshold;	/* 0 = 500 MiB; never above 5 GiB */
};

/* Create an S3 store (copies every string).  Does no network I/O; use objstore_check. */
int s3_store_new(const struct s3_config *cfg, struct objstore **out, struct errmsg *err);

/* Counters for benchmarks and tests (requests sent, retries).  Thread-safe snapshot. */
struct s3_stats {
	uint64_t requests;
	uint64_t retries;
	uint64_t bytes_in;
	uint64_t bytes_out;
};
void s3_store_stats(const struct objstore *s, struct s3_stats *out);

#endif
