/*
 * s3_live_test.c - the S3 backend against a live S3 server (Ceph RGW on loopback, see
 * tests/s3/run.sh).  Not a ctest unit test: it needs the server.
 *
 * Environment: S3_ENDPOINT (http://127.0.0.1:7480), AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, S3_BUCKETS ("bucket1 bucket2", both existing; the second one is
 * the target of a cross-bucket copy).  Every test works under a fresh prefix.
 * Prints one line per check and ends with "N passed, N failed"; exit status 1 on failure.
 *
 * Over https (S3_ENDPOINT https://..., S3_CA_FILE the server's CA, as `S3_TLS=1
 * scripts/s3-server.sh` prints), `s3_live_test --tls` runs a subset (check, put/get, listing,
 * multipart and copies) and the certificate checks: without the CA (the system store) or with
 * S3_WRONG_CA_FILE (an unrelated CA), objstore_check fails with -EHOSTUNREACH and a sentence
 * naming the certificate problem.
 *
 * `s3_live_test --bench MIB THREADS` instead times reading a MIB-MiB object with THREADS
 * parallel 8 MiB ranged GETs (what `cat` through the mount does) and prints MiB/s.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/evp.h>

#include "mvbackupfs/storage/objstore.h"
#include "mvbackupfs/storage/s3.h"

#include "live.h"

static char run_id[32];
static char host[256], bucket1[64], bucket2[64];
static int port, use_ssl;
static const char *ca_file;	/* S3_CA_FILE */


static struct objstore *store(const char *bucket, const char *secret, int p,
			      uint64_t mp_threshold)
{
	struct s3_config c;
	struct objstore *s = NULL;
	struct errmsg err = { "" };

	memset(&c, 0, sizeof(c));
	c.host = host;
	c.port = p ? p : port;
	c.use_ssl = use_ssl;
	c.ca_file = ca_file;
	c.access_key = getenv("AWS_ACCESS_KEY_ID");
	c.secret_key = secret ? secret : getenv("AWS_SECRET_ACCESS_KEY");
	c.bucket = bucket;
	c.multipart_copy_threshold = mp_threshold;
	if (s3_store_new(&c, &s, &err)) {
		fprintf(stderr, "s3_store_new: %s\n", err.msg);
		exit(2);
	}
	return s;
}

static char *k(const char *fmt, const char *sub)
{
	static __thread char b[8][512];
	static __thread int i;
	char *p = b[i++ & 7];

	snprintf(p, 512, "live-%s/%s%s", run_id, fmt, sub ? sub : "");
	return p;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;
	uint32_t x = seed * 2654435761u + 1;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

/* ---- check() ---- */

static void test_check(struct objstore *s)
{
	struct errmsg err = { "" };
	struct objstore *bad;
	double t0;
	int rc;

	rc = objstore_check(s, &err);
	CHECK(rc == 0, "check on '%s' succeeds (%s)", bucket1, err.msg);

	bad = store(bucket1, "wrong-secret-0000000000000000000000000000", 0, 0);
	rc = objstore_check(bad, &err);
	CHECK(rc == -EACCES && strstr(err.msg, "credentials refused"),
	      "check with a wrong secret -> -EACCES: %s", err.msg);
	CHECK(!strstr(err.msg, "wrong-secret"), "the secret is not in the message");
	objstore_free(bad);

	bad = store("no-such-bucket-mvb", NULL, 0, 0);
	rc = objstore_check(bad, &err);
	CHECK(rc == -ENOENT && strstr(err.msg, "does not exist"),
	      "check of a missing bucket -> -ENOENT: %s", err.msg);
	objstore_free(bad);

	bad = store(bucket1, NULL, 1, 0);
	t0 = now_s();
	rc = objstore_check(bad, &err);
	CHECK(rc == -EHOSTUNREACH && now_s() - t0 < 10.0,
	      "check of an unreachable port -> -EHOSTUNREACH in %.2f s: %s", now_s() - t0, err.msg);
	objstore_free(bad);
}

/* ---- https: the server certificate must be verified ---- */

static void test_tls(void)
{
	const char *wrong = getenv("S3_WRONG_CA_FILE");
	const char *keep = ca_file;
	struct errmsg err = { "" };
	struct objstore *bad;
	double t0;
	int rc;

	ca_file = NULL;		/* the system store: our throw-away CA is not in it */
	bad = store(bucket1, NULL, 0, 0);
	t0 = now_s();
	rc = objstore_check(bad, &err);
	CHECK(rc == -EHOSTUNREACH && strstr(err.msg, "certificate") && now_s() - t0 < 10.0,
	      "https without the server's CA -> -EHOSTUNREACH in %.2f s: %s", now_s() - t0, err.msg);
	objstore_free(bad);
	if (wrong && *wrong) {
		ca_file = wrong;
		bad = store(bucket1, NULL, 0, 0);
		rc = objstore_check(bad, &err);
		CHECK(rc == -EHOSTUNREACH && strstr(err.msg, "certificate"),
		      "https with an unrelated CA -> -EHOSTUNREACH: %s", err.msg);
		objstore_free(bad);
	}
	ca_file = "/nonexistent/ca.pem";
	bad = store(bucket1, NULL, 0, 0);
	rc = objstore_check(bad, &err);
	CHECK(rc != 0 && strstr(err.msg, "/nonexistent/ca.pem"),
	      "https with a missing CA file -> %d, the message names the file: %s", rc, err.msg);
	objstore_free(bad);
	ca_file = keep;
}

/* ---- put / head / get ---- */

static void test_put_head_get(struct objstore *s)
{
	struct errmsg err = { "" };
	struct obj_entry e;
	struct buf b = BUF_INIT(1 << 20);
	char dst[64];
	size_t got = 99;
	int rc;

	rc = objstore_put(s, k("small.txt", NULL), "hello, world", 12, 0, &err);
	CHECK(rc == 0, "put small object (%s)", err.msg);
	rc = objstore_head(s, k("small.txt", NULL), &e, &err);
	CHECK(rc == 0 && e.size == 12 && !strcmp(e.etag, "e4d7f1b4ed2e42d15898f4b27b019da4") &&
	      e.mtime > time(NULL) - 3600 && e.mtime < time(NULL) + 3600,
	      "head: size %llu etag %s mtime %lld", (unsigned long long)e.size, e.etag,
	      (long long)e.mtime);
	obj_entry_release(&e);
	rc = objstore_get_all(s, k("small.txt", NULL), &b, &err);
	CHECK(rc == 0 && b.len == 12 && !memcmp(b.p, "hello, world", 12), "get_all round trip");
	buf_release(&b);

	rc = objstore_get(s, k("small.txt", NULL), 7, 5, dst, &got, &err);
	CHECK(rc == 0 && got == 5 && !memcmp(dst, "world", 5), "ranged get in the middle");
	rc = objstore_get(s, k("small.txt", NULL), 10, 50, dst, &got, &err);
	CHECK(rc == 0 && got == 2 && !memcmp(dst, "ld", 2), "ranged get across the end: got %zu",
	      got);
	rc = objstore_get(s, k("small.txt", NULL), 12, 10, dst, &got, &err);
	CHECK(rc == 0 && got == 0, "ranged get at the end: got 0 (rc %d %s)", rc, err.msg);
	rc = objstore_get(s, k("small.txt", NULL), 1000, 10, dst, &got, &err);
	CHECK(rc == 0 && got == 0, "ranged get beyond the end: got 0");

	rc = objstore_put(s, k("empty", NULL), NULL, 0, 0, &err);
	CHECK(rc == 0, "put empty object (%s)", err.msg);
	rc = objstore_head(s, k("empty", NULL), &e, &err);
	CHECK(rc == 0 && e.size == 0, "head of empty object");
	obj_entry_release(&e);

	rc = objstore_head(s, k("missing", NULL), &e, &err);
	CHECK(rc == -ENOENT, "head of a missing key -> -ENOENT: %s", err.msg);
	rc = objstore_get(s, k("missing", NULL), 0, 10, dst, &got, &err);
	CHECK(rc == -ENOENT && strstr(err.msg, "missing"), "get of a missing key -> -ENOENT: %s",
	      err.msg);
}

/* A sink for objstore_get_stream: appends to a buf; stops (nonzero) after `stop_after` bytes
 * when that is set. */
struct sink_ctx {
	struct buf b;
	size_t stop_after;
	unsigned calls;
};

static int sink_append(void *ctx, const char *data, size_t len)
{
	struct sink_ctx *c = ctx;

	c->calls++;
	if (buf_add(&c->b, data, len))
		return 1;
	return c->stop_after && c->b.len >= c->stop_after;
}

static void test_get_stream(struct objstore *s)
{
	size_t n = 3 * 1048576 + 77, i;
	char *data = malloc(n);
	struct errmsg err = { "" };
	struct sink_ctx c = { .b = BUF_INIT(8 << 20) };
	uint64_t got = 99;
	int rc;

	CHECK(data != NULL, "allocate");
	for (i = 0; i < n; i++)
		data[i] = (char)(i * 2654435761u >> 13);
	CHECK(objstore_can_stream(s), "an S3 store streams");
	rc = objstore_put(s, k("stream.bin", NULL), data, n, 0, &err);
	CHECK(rc == 0, "put the object to stream (%s)", err.msg);

	rc = objstore_get_stream(s, k("stream.bin", NULL), 0, n, sink_append, &c, &got, &err);
	CHECK(rc == 0 && got == n && c.b.len == n && !memcmp(c.b.p, data, n) && c.calls > 1,
	      "stream the whole object: rc %d got %llu in %u calls (%s)", rc,
	      (unsigned long long)got, c.calls, err.msg);
	buf_reset(&c.b);
	rc = objstore_get_stream(s, k("stream.bin", NULL), 1000001, n - 1000001 - 5, sink_append,
				 &c, &got, &err);
	CHECK(rc == 0 && got == n - 1000006 && c.b.len == got &&
	      !memcmp(c.b.p, data + 1000001, got), "stream a range in the middle: got %llu",
	      (unsigned long long)got);
	buf_reset(&c.b);
	rc = objstore_get_stream(s, k("stream.bin", NULL), n - 10, 100, sink_append, &c, &got,
				 &err);
	CHECK(rc == 0 && got == 10 && !memcmp(c.b.p, data + n - 10, 10),
	      "stream across the end: the 10 bytes there (got %llu)", (unsigned long long)got);
	buf_reset(&c.b);
	c.stop_after = 1048576;
	rc = objstore_get_stream(s, k("stream.bin", NULL), 0, n, sink_append, &c, &got, &err);
	CHECK(rc == -ECANCELED && got < n && c.b.len >= 1048576 && !memcmp(c.b.p, data, c.b.len),
	      "a sink that stops ends the read with -ECANCELED after a correct prefix (rc %d, "
	      "got %llu, %zu bytes)", rc, (unsigned long long)got, c.b.len);
	c.stop_after = 0;
	buf_reset(&c.b);
	rc = objstore_get_stream(s, k("stream.bin", NULL), n + 5, 10, sink_append, &c, &got, &err);
	CHECK(rc == 0 && got == 0 && c.b.len == 0, "stream beyond the end: nothing (rc %d %s)", rc,
	      err.msg);
	rc = objstore_get_stream(s, k("missing", NULL), 0, 10, sink_append, &c, &got, &err);
	CHECK(rc == -ENOENT && strstr(err.msg, "missing"), "stream of a missing key -> -ENOENT: %s",
	      err.msg);
	buf_release(&c.b);
	free(data);
}

static void test_if_none_match(struct objstore *s)
{
	struct errmsg err = { "" };
	struct buf b = BUF_INIT(1024);
	int rc;

	rc = objstore_put(s, k("cond", NULL), "v1", 2, OBJSTORE_IF_NONE_MATCH, &err);
	CHECK(rc == 0, "conditional put of a new key (%s)", err.msg);
	rc = objstore_put(s, k("cond", NULL), "v2", 2, OBJSTORE_IF_NONE_MATCH, &err);
	CHECK(rc == -EEXIST, "conditional put of an existing key -> -EEXIST: %s", err.msg);
	rc = objstore_get_all(s, k("cond", NULL), &b, &err);
	CHECK(rc == 0 && b.len == 2 && !memcmp(b.p, "v1", 2), "content still v1");
	buf_release(&b);
}

static void test_odd_keys(struct objstore *s)
{
	static const char *const names[] = {
		"with space.txt", "plus+sign", "eq=uals&amp", "percent%20literal", "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",
		"tilde~star*(paren)", "dots.and..x/.hidden/..y", "semi;colon,comma'quote\"", "q?mark#hash",
	};
	struct errmsg err = { "" };
	struct obj_listing l = { 0 };
	size_t i, j, found = 0;
	int rc, all = 1;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct buf b = BUF_INIT(1024);

		rc = objstore_put(s, k("odd/", names[i]), names[i], strlen(names[i]), 0, &err);
		if (!rc)
			rc = objstore_get_all(s, k("odd/", names[i]), &b, &err);
		if (rc || b.len != strlen(names[i]) || memcmp(b.p, names[i], b.len)) {
			all = 0;
			printf("   key '%s': rc %d %s\n", names[i], rc, err.msg);
		}
		buf_release(&b);
	}
	CHECK(all, "put+get of keys with spaces, unicode, + = & %% ~ * ( ) ; , ' \" ? # and dots");
	/* '.', '..' or empty elements: refused before any request, the same on every server
	 * (MinIO answers 400 XMinioInvalidResourceName, RGW would store them) */
	for (i = 0; i < 3; i++) {
		static const char *const bad[] = { "dots/./and/../x", "a/../b", "a//b" };
		const char *key = k("odd/", bad[i]);
		struct obj_entry e;

		rc = objstore_put(s, key, "x", 1, 0, &err);
		CHECK(rc == -EINVAL && strstr(err.msg, "not a valid object key"),
		      "put of '%s' -> -EINVAL: %s", bad[i], err.msg);
		rc = objstore_head(s, key, &e, &err);
		CHECK(rc == -EINVAL, "head of '%s' -> -EINVAL: %s", bad[i], err.msg);
		rc = objstore_delete(s, &key, 1, &err);
		CHECK(rc == -EINVAL, "delete of '%s' -> -EINVAL: %s", bad[i], err.msg);
	}
	rc = objstore_list(s, k("odd/", NULL), NULL, &l, &err);
	for (i = 0; !rc && i < sizeof(names) / sizeof(names[0]); i++)
		for (j = 0; j < l.nobjs; j++)
			if (!strcmp(l.objs[j].key, k("odd/", names[i])))
				found++;
	CHECK(rc == 0 && found == sizeof(names) / sizeof(names[0]) && l.nobjs == found,
	      "listing gives back every odd key exactly (%zu of %zu)", found,
	      sizeof(names) / sizeof(names[0]));
	obj_listing_release(&l);
}

/* ---- parallel PUTs, listings, delete ---- */

struct putjob {
	struct objstore *s;
	const char *fmt;
	int first, n, step, fails;
};

static void *put_worker(void *arg)
{
	struct putjob *j = arg;
	int i;

	for (i = j->first; i < j->n; i += j->step) {
		char name[64];

		snprintf(name, sizeof(name), j->fmt, i);
		if (objstore_put(j->s, k(name, NULL), name, strlen(name), 0, NULL))
			j->fails++;
	}
	return NULL;
}

static int put_many(struct objstore *s, const char *fmt, int n)
{
	pthread_t t[8];
	struct putjob j[8];
	int i, fails = 0;

	for (i = 0; i < 8; i++) {
		j[i] = (struct putjob){ s, fmt, i, n, 8, 0 };
		pthread_create(&t[i], NULL, put_worker, &j[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		fails += j[i].fails;
	}
	return fails;
}

static void test_pagination(struct objstore *s)
{
	struct errmsg err = { "" };
	struct obj_listing all = { 0 };
	char *tok = NULL;
	size_t pages = 0, total = 0, i;
	int rc, sorted = 1;

	CHECK(put_many(s, "page/%03d", 25) == 0, "25 parallel PUTs");
	do {
		struct obj_listing p = { 0 };
		char *next = NULL;

		rc = objstore_list_page(s, k("page/", NULL), NULL, tok, 7, &p, &next, &err);
		if (!rc) {
			pages++;
			total += p.nobjs;
			if (p.nobjs != (next ? 7u : 4u))
				sorted = 0;
		}
		obj_listing_release(&p);
		free(tok);
		tok = next;
	} while (!rc && tok);
	free(tok);
	CHECK(rc == 0 && pages == 4 && total == 25 && sorted,
	      "max_keys=7 paging: %zu pages, %zu keys (7,7,7,4)", pages, total);
	rc = objstore_list(s, k("page/", NULL), NULL, &all, &err);
	for (i = 1; !rc && i < all.nobjs; i++)
		if (strcmp(all.objs[i - 1].key, all.objs[i].key) >= 0)
			sorted = 0;
	CHECK(rc == 0 && all.nobjs == 25 && sorted && all.objs[3].size == 8,
	      "whole listing: %zu keys in order", all.nobjs);
	obj_listing_release(&all);
}

static void test_delimiter(struct objstore *s)
{
	static const char *const keys[] = { "dl/a/1", "dl/a/2", "dl/b/x/1", "dl/top", "dl/zz" };
	struct errmsg err = { "" };
	struct obj_listing l = { 0 };
	size_t i;
	int rc = 0;

	for (i = 0; i < 5 && !rc; i++)
		rc = objstore_put(s, k(keys[i], NULL), "x", 1, 0, &err);
	rc = rc ? rc : objstore_list(s, k("dl/", NULL), "/", &l, &err);
	CHECK(rc == 0 && l.nobjs == 2 && l.nprefixes == 2 &&
	      !strcmp(l.objs[0].key, k("dl/top", NULL)) && !strcmp(l.objs[1].key, k("dl/zz", NULL)) &&
	      !strcmp(l.prefixes[0], k("dl/a/", NULL)) && !strcmp(l.prefixes[1], k("dl/b/", NULL)),
	      "delimiter listing: %zu keys, %zu common prefixes", l.nobjs, l.nprefixes);
	obj_listing_release(&l);
	/* paging over common prefixes too */
	{
		struct obj_listing p = { 0 };
		char *next = NULL;

		rc = objstore_list_page(s, k("dl/", NULL), "/", NULL, 1, &p, &next, &err);
		CHECK(rc == 0 && p.nobjs + p.nprefixes == 1 && next,
		      "delimiter listing paged by 1 gives a token");
		obj_listing_release(&p);
		free(next);
	}
}

static void test_delete_many(struct objstore *s)
{
	struct errmsg err = { "" };
	struct obj_listing l = { 0 };
	char **keys = calloc(1501, sizeof(*keys));
	int i, rc;
	double t0;

	t0 = now_s();
	i = put_many(s, "del/%04d", 1500);
	CHECK(i == 0, "1500 parallel PUTs (%.1f s)", now_s() - t0);
	rc = objstore_list(s, k("del/", NULL), NULL, &l, &err);
	CHECK(rc == 0 && l.nobjs == 1500, "listing of 1500 keys (2 pages): %zu", l.nobjs);
	obj_listing_release(&l);
	for (i = 0; i < 1500; i++) {
		char name[32];

		snprintf(name, sizeof(name), "del/%04d", i);
		keys[i] = strdup(k(name, NULL));
	}
	keys[1500] = strdup(k("del/never-existed", NULL));
	t0 = now_s();
	rc = objstore_delete(s, (const char *const *)keys, 1501, &err);
	CHECK(rc == 0, "delete of 1500 keys + 1 missing in batches (%.2f s) %s", now_s() - t0,
	      err.msg);
	rc = objstore_list(s, k("del/", NULL), NULL, &l, &err);
	CHECK(rc == 0 && l.nobjs == 0, "nothing left: %zu keys", l.nobjs);
	obj_listing_release(&l);
	for (i = 0; i < 1501; i++)
		free(keys[i]);
	free(keys);
}

/* ---- multipart and copies ---- */

#define PART (5u * 1024 * 1024)

static int same_content(struct objstore *s, const char *key, const unsigned char *want,
			size_t n)
{
	unsigned char *got = malloc(n + 16);
	size_t g = 0;
	int ok;

	ok = got && objstore_get(s, key, 0, n + 16, got, &g, NULL) == 0 && g == n &&
	     !memcmp(got, want, n);
	free(got);
	return ok;
}

static void test_multipart(struct objstore *s, struct objstore *s2, struct objstore *small_thr)
{
	struct errmsg err = { "" };
	size_t n = 2 * PART + 1;
	unsigned char *data = malloc(n), *exp2;
	struct mpu_part parts[3];
	char *id = NULL;
	int rc;

	fill(data, n, 7);
	rc = objstore_mpu_begin(s, k("mp/big", NULL), &id, &err);
	CHECK(rc == 0 && id, "multipart begin (%s)", err.msg);
	rc = rc ? rc : objstore_mpu_part(s, k("mp/big", NULL), id, 1, data, PART, &parts[0], &err);
	rc = rc ? rc : objstore_mpu_part(s, k("mp/big", NULL), id, 2, data + PART, PART, &parts[1], &err);
	rc = rc ? rc : objstore_mpu_part(s, k("mp/big", NULL), id, 3, data + 2 * PART, 1, &parts[2], &err);
	CHECK(rc == 0 && parts[0].etag[0] && parts[2].number == 3, "3 parts uploaded (%s)", err.msg);
	rc = rc ? rc : objstore_mpu_complete(s, k("mp/big", NULL), id, parts, 3, &err);
	CHECK(rc == 0, "multipart complete (%s)", err.msg);
	CHECK(same_content(s, k("mp/big", NULL), data, n), "multipart object = 2x5 MiB + 1 bytes, content verified");
	free(id);
	id = NULL;

	/* UploadPartCopy: part 1 = bytes [1, 1+5MiB) of mp/big, part 2 uploaded */
	exp2 = malloc(PART + 100);
	memcpy(exp2, data + 1, PART);
	memcpy(exp2 + PART, "tail-of-the-copy", 16);
	rc = objstore_mpu_begin(s, k("mp/pc", NULL), &id, &err);
	rc = rc ? rc : objstore_mpu_part_copy(s, k("mp/pc", NULL), id, 1, s, k("mp/big", NULL), 1,
					      PART, &parts[0], &err);
	CHECK(rc == 0 && parts[0].etag[0], "part copy of a byte range (%s)", err.msg);
	rc = rc ? rc : objstore_mpu_part(s, k("mp/pc", NULL), id, 2, exp2 + PART, 16, &parts[1], &err);
	rc = rc ? rc : objstore_mpu_complete(s, k("mp/pc", NULL), id, parts, 2, &err);
	CHECK(rc == 0 && same_content(s, k("mp/pc", NULL), exp2, PART + 16),
	      "part-copied object content verified (%s)", err.msg);
	free(id);
	id = NULL;

	/* too-small parts: the server's EntityTooSmall is an error, then abort cleans up */
	rc = objstore_mpu_begin(s, k("mp/small", NULL), &id, &err);
	rc = rc ? rc : objstore_mpu_part(s, k("mp/small", NULL), id, 1, data, 1000, &parts[0], &err);
	rc = rc ? rc : objstore_mpu_part(s, k("mp/small", NULL), id, 2, data, 1000, &parts[1], &err);
	rc = rc ? rc : objstore_mpu_complete(s, k("mp/small", NULL), id, parts, 2, &err);
	CHECK(rc == -EIO && strstr(err.msg, "EntityTooSmall"), "complete with small parts -> -EIO: %s",
	      err.msg);
	errmsg_clear(&err);
	rc = objstore_mpu_abort(s, k("mp/small", NULL), id, &err);
	CHECK(rc == 0, "abort (%s)", err.msg);
	rc = objstore_mpu_abort(s, k("mp/small", NULL), id, &err);
	CHECK(rc == 0, "abort again is harmless (%s)", err.msg);
	free(id);

	/* CopyObject, in the bucket and to the second bucket */
	rc = objstore_copy(s, k("cp/big-copy", NULL), s, k("mp/big", NULL), n, &err);
	CHECK(rc == 0 && same_content(s, k("cp/big-copy", NULL), data, n),
	      "server-side copy (CopyObject) verified (%s)", err.msg);
	rc = objstore_copy(s2, k("cp/other bucket+", NULL), s, k("mp/big", NULL), n, &err);
	CHECK(rc == 0 && same_content(s2, k("cp/other bucket+", NULL), data, n),
	      "copy to the second bucket verified (%s)", err.msg);
	CHECK(objstore_same_backend(s, s2), "two buckets on one endpoint are the same backend");
	/* above the threshold: UploadPartCopy in parts */
	rc = objstore_copy(small_thr, k("cp/mp-copy", NULL), s, k("mp/big", NULL), n, &err);
	CHECK(rc == 0 && same_content(s, k("cp/mp-copy", NULL), data, n),
	      "copy above the multipart threshold (UploadPartCopy) verified (%s)", err.msg);
	rc = objstore_copy(s, k("cp/nothing", NULL), s, k("mp/none", NULL), 10, &err);
	CHECK(rc == -ENOENT, "copy of a missing key -> -ENOENT: %s", err.msg);
	free(data);
	free(exp2);
}

static void cleanup(struct objstore *s, struct objstore *s2)
{
	struct obj_listing l = { 0 };
	char pfx[64];
	size_t i;

	snprintf(pfx, sizeof(pfx), "live-%s/", run_id);
	for (i = 0; i < 2; i++) {
		struct objstore *t = i ? s2 : s;

		if (objstore_list(t, pfx, NULL, &l, NULL) == 0 && l.nobjs) {
			const char **keys = calloc(l.nobjs, sizeof(*keys));
			size_t j;

			for (j = 0; j < l.nobjs; j++)
				keys[j] = l.objs[j].key;
			objstore_delete(t, keys, l.nobjs, NULL);
			free(keys);
		}
		obj_listing_release(&l);
	}
}


/* ---- retries, against a scripted loopback server ---- */

/* Answers the first `nfail` requests with `fail_status` (+ an S3 error body), then 200. */
struct fake {
	int fd, port;
	int nfail, fail_status;
	const char *fail_code;
	int served;
	pthread_t t;
};

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	char req[16384], resp[1024], body[256];
	int c;

	while ((c = accept(f->fd, NULL, NULL)) >= 0) {
		size_t have = 0;
		ssize_t n;

		while ((n = read(c, req + have, sizeof(req) - 1 - have)) > 0) {
			char *end;

			have += (size_t)n;
			req[have] = '\0';
			while ((end = strstr(req, "\r\n\r\n"))) {
				int head = !strncmp(req, "HEAD ", 5), len;

				if (f->served++ < f->nfail) {
					int bl = snprintf(body, sizeof(body), "<Error><Code>%s</Code>"
							  "<Message>scripted</Message></Error>", f->fail_code);

					len = snprintf(resp, sizeof(resp), "HTTP/1.1 %d Scripted\r\n"
						       "Content-Type: application/xml\r\nContent-Length: %d"
						       "\r\n\r\n%s", f->fail_status, bl, head ? "" : body);
				} else {
					len = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\n"
						       "Content-Length: 5\r\n\r\n%s", head ? "" : "hello");
				}
				if (write(c, resp, (size_t)len) != len)
					break;
				have -= (size_t)(end + 4 - req);
				memmove(req, end + 4, have + 1);
			}
		}
		close(c);
	}
	return NULL;
}

static void fake_start(struct fake *f, int nfails, int status, const char *code)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	memset(f, 0, sizeof(*f));
	f->nfail = nfails;
	f->fail_status = status;
	f->fail_code = code;
	f->fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(f->fd, (struct sockaddr *)&a, sizeof(a));
	listen(f->fd, 16);
	getsockname(f->fd, (struct sockaddr *)&a, &al);
	f->port = ntohs(a.sin_port);
	pthread_create(&f->t, NULL, fake_main, f);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->fd, SHUT_RDWR);
	close(f->fd);
	pthread_join(f->t, NULL);
}

static void test_retries(void)
{
	struct errmsg err = { "" };
	struct fake f;
	struct objstore *s;
	struct obj_entry e;
	struct s3_stats st;
	char dst[16];
	size_t got = 0;
	double t0;
	int rc;

	fake_start(&f, 2, 503, "SlowDown");
	s = store(bucket1, NULL, f.port, 0);
	errmsg_clear(&err);
	rc = objstore_head(s, "k", &e, &err);
	s3_store_stats(s, &st);
	CHECK(rc == 0 && e.size == 5 && st.requests == 3 && st.retries == 2,
	      "503 SlowDown twice, then 200: %llu requests, %llu retries",
	      (unsigned long long)st.requests, (unsigned long long)st.retries);
	if (!rc)
		obj_entry_release(&e);
	objstore_free(s);
	fake_stop(&f);

	fake_start(&f, 1000, 503, "SlowDown");
	s = store(bucket1, NULL, f.port, 0);
	errmsg_clear(&err);
	t0 = now_s();
	rc = objstore_get(s, "some/key", 0, 5, dst, &got, &err);
	CHECK(rc == -EIO && strstr(err.msg, "cannot read 'some/key': 503 SlowDown") &&
	      strstr(err.msg, "after 6 tries") && f.served == 6,
	      "always 503 -> -EIO after 6 tries in %.1f s: %s", now_s() - t0, err.msg);
	objstore_free(s);
	fake_stop(&f);

	fake_start(&f, 1, 500, "InternalError");
	s = store(bucket1, NULL, f.port, 0);
	errmsg_clear(&err);
	rc = objstore_get(s, "k", 1, 3, dst, &got, &err);
	CHECK(rc == 0 && got == 3 && !memcmp(dst, "ell", 3) && f.served == 2,
	      "500 once, then a 200 ignoring Range: the right 3 bytes delivered (%s)", err.msg);
	rc = objstore_get(s, "k", 0, 2, dst, &got, &err);
	CHECK(rc == 0 && got == 2 && !memcmp(dst, "he", 2),
	      "a 200 longer than the buffer is cut at the buffer (%s)", err.msg);
	objstore_free(s);
	fake_stop(&f);

	fake_start(&f, 1000, 400, "InvalidRequest");
	s = store(bucket1, NULL, f.port, 0);
	errmsg_clear(&err);
	rc = objstore_get(s, "k", 0, 5, dst, &got, &err);
	CHECK(rc == -EIO && f.served == 1, "400 is not retried: %s", err.msg);
	objstore_free(s);
	fake_stop(&f);

	fake_start(&f, 1000, 429, "TooManyRequests");
	s = store(bucket1, NULL, f.port, 0);
	errmsg_clear(&err);
	rc = objstore_put(s, "k", "abc", 3, 0, &err);
	CHECK(rc == -EIO && f.served == 6 && strstr(err.msg, "cannot write 'k': 429"),
	      "429 is retried: %s", err.msg);
	objstore_free(s);
	fake_stop(&f);
}

/* ---- bench ---- */

struct rjob {
	struct objstore *s;
	const char *key;
	uint64_t size, chunk;
	unsigned char *dst;
	int idx, step, fails;
};

static void *read_worker(void *arg)
{
	struct rjob *j = arg;
	uint64_t off;

	for (off = (uint64_t)j->idx * j->chunk; off < j->size; off += j->chunk * (uint64_t)j->step) {
		size_t got = 0;
		uint64_t len = j->size - off < j->chunk ? j->size - off : j->chunk;

		if (objstore_get(j->s, j->key, off, (size_t)len, j->dst + off, &got, NULL) || got != len)
			j->fails++;
	}
	return NULL;
}

static int read_parallel(struct objstore *s, const char *key, uint64_t size, int threads,
			 unsigned char *data)
{
	pthread_t t[64];
	struct rjob j[64];
	int i, fails = 0;
	double t0, dt;

	t0 = now_s();
	for (i = 0; i < threads; i++) {
		j[i] = (struct rjob){ s, key, size, 8u << 20, data, i, threads, 0 };
		pthread_create(&t[i], NULL, read_worker, &j[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		fails += j[i].fails;
	}
	dt = now_s() - t0;
	printf("read %.0f MiB with %d threads of 8 MiB ranged GETs: %.2f s = %.0f MiB/s "
	       "(%d failures)\n", size / 1048576.0, threads, dt, size / 1048576.0 / dt, fails);
	return fails;
}

/* --bench-key KEY THREADS: read an existing object (for comparing with other clients) */
static int bench_key(struct objstore *s, const char *key, int threads)
{
	struct obj_entry e;
	unsigned char *data;
	int fails;

	if (threads > 64)
		threads = 64;
	if (objstore_head(s, key, &e, NULL))
		return 1;
	data = malloc(e.size ? e.size : 1);
	fails = read_parallel(s, key, e.size, threads, data);
	fails += read_parallel(s, key, e.size, threads, data);
	obj_entry_release(&e);
	free(data);
	return fails != 0;
}

static int bench(struct objstore *s, int mib, int threads)
{
	uint64_t size = (uint64_t)mib << 20;
	unsigned char *data = malloc(size);
	struct mpu_part *parts = calloc(1024, sizeof(*parts));
	pthread_t t[64];
	struct rjob j[64];
	struct s3_stats st;
	char *id = NULL;
	const char *key = k("bench/obj", NULL);
	uint64_t off;
	int i, n = 0, fails = 0;
	double t0, dt;

	if (threads > 64)
		threads = 64;
	fill(data, size, 3);
	if (objstore_mpu_begin(s, key, &id, NULL))
		return 1;
	for (off = 0; off < size; off += 64u << 20, n++)
		if (objstore_mpu_part(s, key, id, n + 1, data + off,
				      size - off < (64u << 20) ? size - off : 64u << 20, &parts[n], NULL))
			return 1;
	if (objstore_mpu_complete(s, key, id, parts, n, NULL))
		return 1;
	memset(data, 0, size);
	t0 = now_s();
	for (i = 0; i < threads; i++) {
		j[i] = (struct rjob){ s, key, size, 8u << 20, data, i, threads, 0 };
		pthread_create(&t[i], NULL, read_worker, &j[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		fails += j[i].fails;
	}
	dt = now_s() - t0;
	s3_store_stats(s, &st);
	printf("read %d MiB with %d threads of 8 MiB ranged GETs: %.2f s = %.0f MiB/s (%d failures,"
	       " %llu requests, %llu retries)\n", mib, threads, dt, mib / dt, fails,
	       (unsigned long long)st.requests, (unsigned long long)st.retries);
	{
		unsigned char *chk = malloc(size);

		fill(chk, size, 3);
		printf("content %s\n", memcmp(chk, data, size) ? "DIFFERS" : "verified");
		free(chk);
	}
	objstore_delete(s, &key, 1, NULL);
	free(data);
	free(parts);
	free(id);
	return fails != 0;
}


int main(int argc, char **argv)
{
	const char *ep = getenv("S3_ENDPOINT"), *bk = getenv("S3_BUCKETS");
	int tls_subset = argc == 2 && !strcmp(argv[1], "--tls");
	struct objstore *s, *s2, *small_thr;
	struct s3_stats st;

	if (!ep || !bk || !getenv("AWS_ACCESS_KEY_ID") || !getenv("AWS_SECRET_ACCESS_KEY") ||
	    live_parse_endpoint(ep, host, sizeof(host), &port, &use_ssl) || sscanf(bk, "%63s %63s", bucket1, bucket2) != 2) {
		fprintf(stderr, "usage: S3_ENDPOINT=http://host:port S3_BUCKETS='b1 b2' "
			"AWS_ACCESS_KEY_ID=.. AWS_SECRET_ACCESS_KEY=.. %s [--bench MIB THREADS]\n",
			argv[0]);
		return 2;
	}
	snprintf(run_id, sizeof(run_id), "%ld-%d", (long)time(NULL), (int)getpid());
	ca_file = getenv("S3_CA_FILE");
	if (ca_file && !*ca_file)
		ca_file = NULL;
	if (tls_subset && !use_ssl) {
		fprintf(stderr, "--tls needs an https S3_ENDPOINT\n");
		return 2;
	}
	s = store(bucket1, NULL, 0, 0);
	if (argc == 4 && !strcmp(argv[1], "--bench-key")) {
		int rc = bench_key(s, argv[2], atoi(argv[3]));

		objstore_free(s);
		return rc;
	}
	if (argc == 4 && !strcmp(argv[1], "--bench")) {
		int rc = bench(s, atoi(argv[2]), atoi(argv[3]));

		objstore_free(s);
		return rc;
	}
	s2 = store(bucket2, NULL, 0, 0);
	small_thr = store(bucket1, NULL, 0, 6u * 1024 * 1024);

	test_check(s);
	if (use_ssl)
		test_tls();
	if (!tls_subset) {
		test_retries();		/* its fake server speaks http only */
		test_put_head_get(s);
		test_get_stream(s);
		test_if_none_match(s);
		test_odd_keys(s);
		test_pagination(s);
	} else {
		test_put_head_get(s);
	}
	test_delimiter(s);
	test_multipart(s, s2, small_thr);
	if (!tls_subset)
		test_delete_many(s);
	s3_store_stats(s, &st);
	CHECK(st.requests > (tls_subset ? 20u : 1500u) && st.bytes_out > 10 * 1024 * 1024,
	      "stats: %llu requests, %llu retries, %llu bytes in, %llu bytes out",
	      (unsigned long long)st.requests, (unsigned long long)st.retries,
	      (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out);
	cleanup(s, s2);
	objstore_free(small_thr);
	objstore_free(s2);
	objstore_free(s);
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
