/*
 * sigv4.c - AWS Signature Version 4 (see sigv4.h): canonical request, string to sign,
 * signing key and signature, with OpenSSL's one-shot SHA256() and HMAC().
 *
 * Why not libcurl's CURLOPT_AWS_SIGV4: libcurl 7.88 (Debian 12) sends no
 * x-amz-content-sha256 and signs the query string as written (unsorted, "?delete" instead
 * of "delete="), which RGW and AWS reject (s3-test-server.md, "Client pitfalls").
 */
#include "sigv4.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define SIGV4_MAX_PAIRS 64

static const char hexdig[] = "0123456789ABCDEF";
static const char hexlow[] = "0123456789abcdef";

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

int sigv4_encode(struct buf *out, const char *s, size_t n, int keep_slash)
{
	size_t i, run = 0;
	int rc;

	/* Worst case triples the length; reserve once, then copy unreserved runs in bulk. */
	rc = buf_reserve(out, n * 3);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (keep_slash && c == '/')) {
			run++;
			continue;
		}
		if (run) {
			memcpy(out->p + out->len, s + i - run, run);
			out->len += run;
			run = 0;
		}
		out->p[out->len++] = '%';
		out->p[out->len++] = hexdig[c >> 4];
		out->p[out->len++] = hexdig[c & 15];
	}
	if (run) {
		memcpy(out->p + out->len, s + n - run, run);
		out->len += run;
	}
	out->p[out->len] = '\0';
	return 0;
}

int sigv4_encode_path(struct buf *out, const char *path)
{
	return sigv4_encode(out, path, strlen(path), 1);
}

/* An encoded query pair, pointing into a scratch buffer. */
struct qpair {
	size_t name, nlen, value, vlen;	/* offsets into scratch */
	const char *base;
};

static int qpair_cmp(const struct qpair *a, const struct qpair *b)
{
	size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
	int c = memcmp(a->base + a->name, b->base + b->name, n);

	if (c)
		return c;
	if (a->nlen != b->nlen)
		return a->nlen < b->nlen ? -1 : 1;
	n = a->vlen < b->vlen ? a->vlen : b->vlen;
	c = memcmp(a->base + a->value, b->base + b->value, n);
	if (c)
		return c;
	return a->vlen == b->vlen ? 0 : (a->vlen < b->vlen ? -1 : 1);
}

int sigv4_canonical_query(struct buf *out, const struct sigv4_pair *q, size_t n)
{
	struct qpair p[SIGV4_MAX_PAIRS];
	struct buf scratch = BUF_INIT(1 << 20);
	size_t i, j;
	int rc = 0;

	if (n > SIGV4_MAX_PAIRS)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		const char *v = q[i].value ? q[i].value : "";

		p[i].name = scratch.len;
		rc = sigv4_encode(&scratch, q[i].name, strlen(q[i].name), 0);
		if (rc)
			goto out;
		p[i].nlen = scratch.len - p[i].name;
		p[i].value = scratch.len;
		rc = sigv4_encode(&scratch, v, strlen(v), 0);
		if (rc)
			goto out;
		p[i].vlen = scratch.len - p[i].value;
	}
	for (i = 0; i < n; i++)
		p[i].base = scratch.p;
	/* Insertion sort: a handful of parameters. */
	for (i = 1; i < n; i++) {
		struct qpair t = p[i];

		for (j = i; j > 0 && qpair_cmp(&p[j - 1], &t) > 0; j--)
			p[j] = p[j - 1];
		p[j] = t;
	}
	for (i = 0; i < n && !rc; i++) {
		if (i)
			rc = buf_add(out, "&", 1);
		if (!rc)
			rc = buf_add(out, p[i].base + p[i].name, p[i].nlen);
		if (!rc)
			rc = buf_add(out, "=", 1);
		if (!rc)
			rc = buf_add(out, p[i].base + p[i].value, p[i].vlen);
	}
	if (!rc && !out->p)
		rc = buf_add(out, "", 0);	/* an empty query is still a valid C string */
out:
	buf_release(&scratch);
	return rc;
}

/* Append a header value trimmed, with runs of spaces/tabs/newlines collapsed to one space
 * (AWS: "Trimall"; also covers obsolete line folding). */
static int add_trimmed(struct buf *out, const char *v)
{
	int pending = 0, rc = 0;

	while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
		v++;
	for (; *v && !rc; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
			pending = 1;
			continue;
		}
		if (pending)
			rc = buf_add(out, " ", 1);
		pending = 0;
		if (!rc)
			rc = buf_add(out, v, 1);
	}
	return rc;
}

struct hdr {
	char lname[128];
	const char *value;
};

int sigv4_canonical_request(const struct sigv4_request *r, struct buf *out,
			    struct buf *signed_headers)
{
	struct hdr h[SIGV4_MAX_PAIRS];
	size_t i, j;
	int rc;

	if (!r->method || !r->path || r->path[0] != '/' || !r->payload_hash ||
	    r->nheaders > SIGV4_MAX_PAIRS)
		return -EINVAL;
	for (i = 0; i < r->nheaders; i++) {
		size_t k, len = strlen(r->headers[i].name);

		if (len == 0 || len >= sizeof(h[i].lname))
			return -EINVAL;
		for (k = 0; k <= len; k++) {
			char c = r->headers[i].name[k];

			h[i].lname[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
		h[i].value = r->headers[i].value ? r->headers[i].value : "";
	}
	/* Stable insertion sort: repeated names keep the order given (get-header-key-duplicate). */
	for (i = 1; i < r->nheaders; i++) {
		struct hdr t = h[i];

		for (j = i; j > 0 && strcmp(h[j - 1].lname, t.lname) > 0; j--)
			h[j] = h[j - 1];
		h[j] = t;
	}

	rc = buf_addf(out, "%s\n", r->method);
	if (!rc)
		rc = sigv4_encode_path(out, r->path);
	if (!rc)
		rc = buf_add(out, "\n", 1);
	if (!rc)
		rc = sigv4_canonical_query(out, r->query, r->nquery);
	if (!rc)
		rc = buf_add(out, "\n", 1);
	for (i = 0; i < r->nheaders && !rc; i++) {
		if (i > 0 && !strcmp(h[i].lname, h[i - 1].lname)) {
			/* repeated header: value joins the previous line */
			out->len--;	/* drop the '\n' */
			rc = buf_add(out, ",", 1);
		} else {
			rc = buf_adds(out, h[i].lname);
			if (!rc)
				rc = buf_add(out, ":", 1);
		}
		if (!rc)
			rc = add_trimmed(out, h[i].value);
		if (!rc)
			rc = buf_add(out, "\n", 1);
	}
	if (!rc)
		rc = buf_add(out, "\n", 1);
	/* SignedHeaders go both into the canonical request and to the caller. */
	for (i = 0; i < r->nheaders && !rc; i++) {
		if (i > 0 && !strcmp(h[i].lname, h[i - 1].lname))
			continue;
		if (i > 0)
			rc = buf_add(out, ";", 1);
		if (!rc)
			rc = buf_adds(out, h[i].lname);
		if (!rc && signed_headers) {
			if (i > 0)
				rc = buf_add(signed_headers, ";", 1);
			if (!rc)
				rc = buf_adds(signed_headers, h[i].lname);
		}
	}
	if (!rc)
		rc = buf_addf(out, "\n%s", r->payload_hash);
	return rc;
}

int sigv4_scope(struct buf *out, const char *amz_date, const char *region,
		const char *service)
{
	return buf_addf(out, "%.8s/%s/%s/aws4_request", amz_date, region, service);
}

static void to_hex(const unsigned char *d, size_t n, char *hex)
{
	size_t i;

	for (i = 0; i < n; i++) {
		hex[2 * i] = hexlow[d[i] >> 4];
		hex[2 * i + 1] = hexlow[d[i] & 15];
	}
	hex[2 * n] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	to_hex(md, sizeof(md), hex);
}

int sigv4_string_to_sign(struct buf *out, const char *amz_date, const char *scope,
			 const char *canonical_request, size_t creq_len)
{
	char hex[65];

	sigv4_sha256_hex(canonical_request, creq_len, hex);
	return buf_addf(out, SIGV4_ALGORITHM "\n%s\n%s\n%s", amz_date, scope, hex);
}

static void hmac(const void *key, size_t klen, const void *msg, size_t mlen,
		 unsigned char out[32])
{
	unsigned int olen = 32;

	HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &olen);
}

void sigv4_signing_key(const char *secret_key, const char *date8, const char *region,
		       const char *service, unsigned char key[32])
{
	unsigned char k[32];
	char *first;
	size_t slen = strlen(secret_key);

	/* "AWS4" + secret, on the stack for ordinary secrets; wiped after use. */
	char stackbuf[256];

	first = slen + 5 <= sizeof(stackbuf) ? stackbuf : malloc(slen + 5);
	if (!first) {
		memset(key, 0, 32);	/* cannot sign: every request will be refused (403) */
		return;
	}
	memcpy(first, "AWS4", 4);
	memcpy(first + 4, secret_key, slen + 1);
	hmac(first, slen + 4, date8, 8, k);
	OPENSSL_cleanse(first, slen + 4);
	if (first != stackbuf)
		free(first);
	hmac(k, 32, region, strlen(region), k);
	hmac(k, 32, service, strlen(service), k);
	hmac(k, 32, "aws4_request", 12, key);
	OPENSSL_cleanse(k, sizeof(k));
}

void sigv4_signature(const unsigned char key[32], const char *sts, size_t sts_len,
		     char sig[65])
{
	unsigned char md[32];

	hmac(key, 32, sts, sts_len, md);
	to_hex(md, sizeof(md), sig);
}

int sigv4_authorization(struct buf *out, const struct sigv4_credentials *c,
			const unsigned char *key, const char *amz_date,
			const struct sigv4_request *r)
{
	struct buf creq = BUF_INIT(1 << 20), sh = BUF_INIT(8192), scope = BUF_INIT(512);
	struct buf sts = BUF_INIT(1024);
	unsigned char k[32];
	char sig[65];
	int rc;

	if (strlen(amz_date) != 16)
		return -EINVAL;
	rc = sigv4_canonical_request(r, &creq, &sh);
	if (!rc)
		rc = sigv4_scope(&scope, amz_date, c->region, c->service);
	if (!rc)
		rc = sigv4_string_to_sign(&sts, amz_date, scope.p, creq.p, creq.len);
	if (rc)
		goto out;
	if (!key) {
		sigv4_signing_key(c->secret_key, amz_date, c->region, c->service, k);
		key = k;
	}
	sigv4_signature(key, sts.p, sts.len, sig);
	rc = buf_addf(out, SIGV4_ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		      c->access_key, scope.p, sh.p ? sh.p : "", sig);
	OPENSSL_cleanse(k, sizeof(k));
out:
	buf_release(&creq);
	buf_release(&sh);
	buf_release(&scope);
	buf_release(&sts);
	return rc;
}

void sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		out[0] = '\0';	/* year beyond 9999 */
}
