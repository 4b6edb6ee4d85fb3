/*
 * s3xml.c - S3 XML documents in and out (see s3xml.h).
 *
 * Why expat: the project's fixed library list has no XML parser, and S3 answers in XML.
 * expat (libexpat1-dev, already a Debian dependency of much of the base system) is the
 * small, hardened streaming parser Debian ships: no DOM to allocate, billion-laughs
 * protection built in, and here every document type declaration is refused outright, so
 * no entity can be defined at all.  One small driver below keeps a stack of element names
 * and the text of the current element (capped); each document type is a handful of
 * "element ended" rules on top of it.
 *
 * Length (~850 lines): every S3 document mvbackupfs reads or writes, each a few rules on the
 * one driver, kept together so the driver's state and limits stay private to this file.
 */
#include "s3xml.h"

#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XP_MAX_DEPTH 16
#define XP_MAX_NAME 48

struct xp;
typedef void (*xp_start_fn)(struct xp *x, const char *name);	/* expat's style of callback */
typedef void (*xp_end_fn)(struct xp *x, const char *name, const char *text, size_t len);

struct xp {
	XML_Parser p;
	int depth;
	char names[XP_MAX_DEPTH][XP_MAX_NAME];
	char text[S3XML_MAX_TEXT + 1];
	size_t tlen;
	int failed;		/* a rule or a limit stopped the parser */
	int rc;			/* its code */
	char why[160];
	xp_start_fn on_start;
	xp_end_fn on_end;
	void *ctx;
};

static void xp_fail(struct xp *x, int rc, const char *why)
{
	if (x->failed)
		return;
	x->failed = 1;
	x->rc = rc;
	snprintf(x->why, sizeof(x->why), "%s", why);
	XML_StopParser(x->p, XML_FALSE);
}

/* The element name without its namespace (the parser reports "uri name"). */
static const char *local_name(const char *n)
{
	const char *sp = strrchr(n, ' ');

	return sp ? sp + 1 : n;
}

/* Name of the element `up` levels above the current one ("" above the root). */
static const char *xp_parent(const struct xp *x, int up)
{
	int i = x->depth - 1 - up;

	return i >= 0 ? x->names[i] : "";
}

static void XMLCALL xp_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct xp *x = ud;
	const char *n = local_name(name);

	(void)attrs;
	if (x->failed)
		return;
	if (x->depth >= XP_MAX_DEPTH) {
		xp_fail(x, -EIO, "elements nested too deeply");
		return;
	}
	snprintf(x->names[x->depth], XP_MAX_NAME, "%s", n);
	x->depth++;
	x->tlen = 0;
	if (x->on_start)
		x->on_start(x, x->names[x->depth - 1]);
}

static void XMLCALL xp_end(void *ud, const XML_Char *name)
{
	struct xp *x = ud;

	(void)name;
	if (x->failed)
		return;
	x->text[x->tlen] = '\0';
	x->depth--;
	if (x->on_end)
		x->on_end(x, x->names[x->depth], x->text, x->tlen);
	x->tlen = 0;
}

static void XMLCALL xp_chars(void *ud, const XML_Char *s, int len)
{
	struct xp *x = ud;

	if (x->failed || len <= 0)
		return;
	if ((size_t)len > S3XML_MAX_TEXT - x->tlen) {
		xp_fail(x, -EIO, "element text too long");
		return;
	}
	memcpy(x->text + x->tlen, s, (size_t)len);
	x->tlen += (size_t)len;
}

static void XMLCALL xp_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	xp_fail(ud, -EIO, "document type declarations are not accepted");
}

/* Run the parser over the whole document.  `what` names the document for messages. */
static int xp_run(struct xp *x, const char *xml, size_t len, const char *what,
		  struct errmsg *err)
{
	enum XML_Status st;
	int rc = 0;

	if (len > (size_t)INT32_MAX)
		return errmsg_set(err, -EIO, "cannot parse %s: document too large", what);
	x->p = XML_ParserCreateNS(NULL, ' ');
	if (!x->p)
		return errmsg_set(err, -ENOMEM, "cannot parse %s: out of memory", what);
	XML_SetUserData(x->p, x);
	XML_SetElementHandler(x->p, xp_start, xp_end);
	XML_SetCharacterDataHandler(x->p, xp_chars);
	XML_SetStartDoctypeDeclHandler(x->p, xp_doctype);
	st = XML_Parse(x->p, xml ? xml : "", (int)len, XML_TRUE);
	if (x->failed) {
		rc = x->rc;
		if (rc == -ENOMEM)
			errmsg_set(err, rc, "cannot parse %s: out of memory", what);
		else
			errmsg_set(err, rc, "malformed %s: %s", what, x->why);
	} else if (st != XML_STATUS_OK) {
		rc = errmsg_set(err, -EIO, "malformed %s: %s at line %lu", what,
				XML_ErrorString(XML_GetErrorCode(x->p)),
				(unsigned long)XML_GetCurrentLineNumber(x->p));
	}
	XML_ParserFree(x->p);
	x->p = NULL;
	return rc;
}

static struct xp *xp_new(xp_start_fn s, xp_end_fn e, void *ctx)
{
	struct xp *x = calloc(1, sizeof(*x));

	if (x) {
		x->on_start = s;
		x->on_end = e;
		x->ctx = ctx;
	}
	return x;
}

/* ---- small helpers ---- */

int64_t s3xml_parse_time(const char *s)
{
	int y, mo, d, h, mi, sec, n = 0;
	struct tm tm;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
		return -1;
	s += n;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (strcmp(s, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || y < 1970)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	return (int64_t)t;
}

/* Copy an ETag without its quotes into etag[72]; -EIO when it does not fit. */
static int set_etag(char etag[72], const char *t, size_t len)
{
	if (len >= 2 && t[0] == '"' && t[len - 1] == '"') {
		t++;
		len -= 2;
	}
	if (len >= 72)
		return -EIO;
	memcpy(etag, t, len);
	etag[len] = '\0';
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode an encoding-type=url value in place: %XX and '+' (S3 writes spaces as '+', and
 * a literal '+' as %2B; RGW writes %20).  -1 on a bad escape or an encoded NUL. */
static int url_decode(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '+') {
			*w++ = ' ';
		} else if (*s == '%') {
			int a = hexval(s[1]), b = a < 0 ? -1 : hexval(s[2]);

			if (a < 0 || b < 0 || (a == 0 && b == 0))
				return -1;
			*w++ = (char)(a * 16 + b);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
	return 0;
}

static char *memdup0(const char *t, size_t len)
{
	char *p = malloc(len + 1);

	if (p) {
		memcpy(p, t, len);
		p[len] = '\0';
	}
	return p;
}

static int parse_u64(const char *t, uint64_t *out)
{
	uint64_t v = 0;

	if (!*t)
		return -1;
	for (; *t; t++) {
		if (*t < '0' || *t > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*t - '0');
	}
	*out = v;
	return 0;
}

/* ---- <Error> ---- */

struct error_ctx {
	struct s3xml_error *e;
	int is_error;
};

static void error_copy(struct s3xml_error *e, const char *name, const char *text, size_t len)
{
	if (!strcmp(name, "Code"))
		snprintf(e->code, sizeof(e->code), "%.*s", (int)len, text);
	else if (!strcmp(name, "Message"))
		snprintf(e->message, sizeof(e->message), "%.*s", (int)len, text);
}

static void error_end(struct xp *x, const char *name, const char *text, size_t len)
{
	struct error_ctx *c = x->ctx;

	if (x->depth == 0)
		c->is_error = !strcmp(name, "Error");
	else if (x->depth == 1 && !strcmp(xp_parent(x, 0), "Error"))
		error_copy(c->e, name, text, len);
}

int s3xml_parse_error(const char *xml, size_t len, struct s3xml_error *out,
		      struct errmsg *err)
{
	struct error_ctx c = { out, 0 };
	struct xp *x = xp_new(NULL, error_end, &c);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!x)
		return errmsg_set(err, -ENOMEM, "cannot parse an error document: out of memory");
	rc = xp_run(x, xml, len, "error document", err);
	free(x);
	if (rc)
		return rc;
	return c.is_error ? 0 : -ENOENT;
}

/* ---- ListBucketResult ---- */

struct list_ctx {
	struct obj_listing *out;
	size_t objs_cap, pfx_cap;
	int root_ok, truncated, url;
	char *token;
	size_t first_obj, first_pfx;	/* entries of this page start here */
	struct obj_entry *cur;		/* the <Contents> being read */
	int cur_has_key;
};

static void list_start(struct xp *x, const char *name)
{
	struct list_ctx *c = x->ctx;
	struct obj_listing *o = c->out;

	if (x->depth == 1) {
		c->root_ok = !strcmp(name, "ListBucketResult");
		if (!c->root_ok)
			xp_fail(x, -EIO, "not a ListBucketResult");
		return;
	}
	if (x->depth != 2 || strcmp(name, "Contents"))
		return;
	if (o->nobjs + o->nprefixes >= S3XML_MAX_ENTRIES) {
		xp_fail(x, -EIO, "too many entries");
		return;
	}
	if (ARRAY_GROW(o->objs, o->nobjs, c->objs_cap, 64)) {
		xp_fail(x, -ENOMEM, "out of memory");
		return;
	}
	c->cur = &o->objs[o->nobjs++];
	memset(c->cur, 0, sizeof(*c->cur));
	c->cur_has_key = 0;
}

static void list_add_prefix(struct xp *x, struct list_ctx *c, const char *text, size_t len)
{
	struct obj_listing *o = c->out;

	if (o->nobjs + o->nprefixes >= S3XML_MAX_ENTRIES) {
		xp_fail(x, -EIO, "too many entries");
		return;
	}
	if (ARRAY_GROW(o->prefixes, o->nprefixes, c->pfx_cap, 16)) {
		xp_fail(x, -ENOMEM, "out of memory");
		return;
	}
	o->prefixes[o->nprefixes] = memdup0(text, len);
	if (!o->prefixes[o->nprefixes]) {
		xp_fail(x, -ENOMEM, "out of memory");
		return;
	}
	o->nprefixes++;
}

static void list_end(struct xp *x, const char *name, const char *text, size_t len)
{
	struct list_ctx *c = x->ctx;
	const char *parent = xp_parent(x, 0);

	if (x->depth == 1) {	/* children of the root */
		if (!strcmp(name, "IsTruncated")) {
			if (!strcmp(text, "true"))
				c->truncated = 1;
			else if (!strcmp(text, "false"))
				c->truncated = 0;
			else
				xp_fail(x, -EIO, "IsTruncated is neither true nor false");
		} else if (!strcmp(name, "NextContinuationToken")) {
			free(c->token);
			c->token = memdup0(text, len);
			if (!c->token)
				xp_fail(x, -ENOMEM, "out of memory");
		} else if (!strcmp(name, "EncodingType")) {
			c->url = !strcmp(text, "url");
		} else if (!strcmp(name, "Contents")) {
			if (!c->cur_has_key)
				xp_fail(x, -EIO, "an entry has no Key");
			c->cur = NULL;
		}
		return;
	}
	if (x->depth == 2 && !strcmp(parent, "Contents") && c->cur) {
		struct obj_entry *e = c->cur;

		if (!strcmp(name, "Key")) {
			if (c->cur_has_key || len == 0) {
				xp_fail(x, -EIO, "an entry has an empty or repeated Key");
				return;
			}
			if (memchr(text, '\0', len)) {
				xp_fail(x, -EIO, "a Key holds a NUL byte");
				return;
			}
			e->key = memdup0(text, len);
			if (!e->key)
				xp_fail(x, -ENOMEM, "out of memory");
			c->cur_has_key = 1;
		} else if (!strcmp(name, "Size")) {
			if (parse_u64(text, &e->size))
				xp_fail(x, -EIO, "a Size is not a number");
		} else if (!strcmp(name, "LastModified")) {
			int64_t t = s3xml_parse_time(text);

			e->mtime = t < 0 ? 0 : t;	/* unknown rather than fatal */
		} else if (!strcmp(name, "ETag")) {
			if (set_etag(e->etag, text, len))
				xp_fail(x, -EIO, "an ETag is too long");
		}
		return;
	}
	if (x->depth == 2 && !strcmp(parent, "CommonPrefixes") && !strcmp(name, "Prefix")) {
		if (len == 0 || memchr(text, '\0', len))
			xp_fail(x, -EIO, "a common prefix is empty");
		else
			list_add_prefix(x, c, text, len);
	}
}

int s3xml_parse_list(const char *xml, size_t len, struct obj_listing *out, int *truncated,
		     char **next_token, struct errmsg *err)
{
	struct list_ctx c;
	struct xp *x;
	size_t i;
	int rc;

	memset(&c, 0, sizeof(c));
	c.out = out;
	c.objs_cap = out->nobjs;	/* existing arrays are exactly full: grow on first add */
	c.pfx_cap = out->nprefixes;
	c.first_obj = out->nobjs;
	c.first_pfx = out->nprefixes;
	*truncated = 0;
	*next_token = NULL;
	x = xp_new(list_start, list_end, &c);
	if (!x)
		return errmsg_set(err, -ENOMEM, "cannot parse a listing: out of memory");
	rc = xp_run(x, xml, len, "listing", err);
	free(x);
	/* A <Contents> cut short by an error may hold no key yet; drop it so the caller's
	 * obj_listing_release sees only complete entries. */
	if (rc && out->nobjs > c.first_obj && !out->objs[out->nobjs - 1].key)
		out->nobjs--;
	if (!rc && !c.root_ok)
		rc = errmsg_set(err, -EIO, "malformed listing: not a ListBucketResult");
	if (!rc && c.url) {
		for (i = c.first_obj; i < out->nobjs && !rc; i++)
			if (url_decode(out->objs[i].key) || !out->objs[i].key[0])
				rc = errmsg_set(err, -EIO, "malformed listing: bad url-encoded key");
		for (i = c.first_pfx; i < out->nprefixes && !rc; i++)
			if (url_decode(out->prefixes[i]) || !out->prefixes[i][0])
				rc = errmsg_set(err, -EIO, "malformed listing: bad url-encoded prefix");
	}
	if (!rc && c.truncated) {
		if (!c.token || !c.token[0])
			rc = errmsg_set(err, -EIO,
					"malformed listing: truncated without a continuation token");
		else {
			*next_token = c.token;
			c.token = NULL;
		}
	}
	*truncated = rc ? 0 : c.truncated;
	free(c.token);
	return rc;
}

/* ---- one-value documents: UploadId, ETag ---- */

struct value_ctx {
	const char *root1, *root2, *root3;	/* accepted root names */
	const char *field;
	int root_ok, is_error, have;
	char *value;				/* malloc'd copy of field */
	struct s3xml_error e;
};

static void value_end(struct xp *x, const char *name, const char *text, size_t len)
{
	struct value_ctx *c = x->ctx;

	if (x->depth == 0) {
		c->is_error = !strcmp(name, "Error");
		c->root_ok = (c->root1 && !strcmp(name, c->root1)) ||
			     (c->root2 && !strcmp(name, c->root2)) ||
			     (c->root3 && !strcmp(name, c->root3));
		return;
	}
	if (x->depth != 1)
		return;
	if (!strcmp(xp_parent(x, 0), "Error")) {
		error_copy(&c->e, name, text, len);
	} else if (!strcmp(name, c->field)) {
		free(c->value);
		c->value = memdup0(text, len);
		if (!c->value)
			xp_fail(x, -ENOMEM, "out of memory");
		c->have = 1;
	}
}

static int parse_value(const char *xml, size_t len, struct value_ctx *c, const char *what,
		       struct errmsg *err)
{
	struct xp *x = xp_new(NULL, value_end, c);
	int rc;

	if (!x)
		return errmsg_set(err, -ENOMEM, "cannot parse %s: out of memory", what);
	rc = xp_run(x, xml, len, what, err);
	free(x);
	if (rc)
		return rc;
	if (c->is_error)
		return -EAGAIN;
	if (!c->root_ok)
		return errmsg_set(err, -EIO, "malformed %s: unexpected document", what);
	return 0;
}

int s3xml_parse_upload_id(const char *xml, size_t len, char **upload_id, struct errmsg *err)
{
	struct value_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.root1 = "InitiateMultipartUploadResult";
	c.field = "UploadId";
	*upload_id = NULL;
	rc = parse_value(xml, len, &c, "upload response", err);
	if (rc == -EAGAIN)
		rc = errmsg_set(err, -EIO, "upload refused: %s", c.e.code);
	if (!rc && (!c.value || !c.value[0]))
		rc = errmsg_set(err, -EIO, "malformed upload response: no UploadId");
	if (!rc) {
		*upload_id = c.value;
		c.value = NULL;
	}
	free(c.value);
	return rc;
}

int s3xml_parse_etag_result(const char *xml, size_t len, char etag[72],
			    struct s3xml_error *e, struct errmsg *err)
{
	struct value_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.root1 = "CopyObjectResult";
	c.root2 = "CopyPartResult";
	c.root3 = "CompleteMultipartUploadResult";
	c.field = "ETag";
	etag[0] = '\0';
	rc = parse_value(xml, len, &c, "copy/complete response", err);
	if (rc == -EAGAIN && e)
		*e = c.e;
	if (!rc && c.value && set_etag(etag, c.value, strlen(c.value)))
		rc = errmsg_set(err, -EIO, "malformed copy/complete response: ETag too long");
	free(c.value);
	return rc;
}

/* ---- DeleteResult ---- */

struct delete_ctx {
	int root_ok;
	struct s3xml_delete_error *errs;
	size_t n, cap;
	struct s3xml_delete_error *cur;
};

static void delete_start(struct xp *x, const char *name)
{
	struct delete_ctx *c = x->ctx;

	if (x->depth == 1) {
		c->root_ok = !strcmp(name, "DeleteResult");
		if (!c->root_ok)
			xp_fail(x, -EIO, "not a DeleteResult");
		return;
	}
	if (x->depth != 2 || strcmp(name, "Error"))
		return;
	if (c->n >= S3XML_MAX_ENTRIES) {
		xp_fail(x, -EIO, "too many entries");
		return;
	}
	if (ARRAY_GROW(c->errs, c->n, c->cap, 8)) {
		xp_fail(x, -ENOMEM, "out of memory");
		return;
	}
	c->cur = &c->errs[c->n++];
	memset(c->cur, 0, sizeof(*c->cur));
}

static void delete_end(struct xp *x, const char *name, const char *text, size_t len)
{
	struct delete_ctx *c = x->ctx;

	if (x->depth == 1 && !strcmp(name, "Error")) {
		if (c->cur && !c->cur->key)
			xp_fail(x, -EIO, "an Error entry has no Key");
		c->cur = NULL;
		return;
	}
	if (x->depth != 2 || strcmp(xp_parent(x, 0), "Error") || !c->cur)
		return;
	if (!strcmp(name, "Key")) {
		free(c->cur->key);
		c->cur->key = memdup0(text, len);
		if (!c->cur->key)
			xp_fail(x, -ENOMEM, "out of memory");
	} else {
		error_copy(&c->cur->e, name, text, len);
	}
}

void s3xml_delete_errors_free(struct s3xml_delete_error *errs, size_t nerrs)
{
	size_t i;

	for (i = 0; i < nerrs; i++)
		free(errs[i].key);
	free(errs);
}

int s3xml_parse_delete_result(const char *xml, size_t len, struct s3xml_delete_error **errs,
			      size_t *nerrs, struct errmsg *err)
{
	struct delete_ctx c;
	struct xp *x;
	int rc;

	memset(&c, 0, sizeof(c));
	*errs = NULL;
	*nerrs = 0;
	x = xp_new(delete_start, delete_end, &c);
	if (!x)
		return errmsg_set(err, -ENOMEM, "cannot parse a delete response: out of memory");
	rc = xp_run(x, xml, len, "delete response", err);
	free(x);
	if (!rc && !c.root_ok)
		rc = errmsg_set(err, -EIO, "malformed delete response: not a DeleteResult");
	if (rc) {
		s3xml_delete_errors_free(c.errs, c.n);
		return rc;
	}
	*errs = c.errs;
	*nerrs = c.n;
	return 0;
}

/* ---- ListMultipartUploadsResult ---- */

struct uploads_ctx {
	int root_ok, truncated;
	struct s3xml_upload *ups;
	size_t n, cap;
	struct s3xml_upload *cur;
	char *next_key, *next_id;
};

static void uploads_start(struct xp *x, const char *name)
{
	struct uploads_ctx *c = x->ctx;

	if (x->depth == 1) {
		c->root_ok = !strcmp(name, "ListMultipartUploadsResult");
		if (!c->root_ok)
			xp_fail(x, -EIO, "not a ListMultipartUploadsResult");
		return;
	}
	if (x->depth != 2 || strcmp(name, "Upload"))
		return;
	if (c->n >= S3XML_MAX_ENTRIES) {
		xp_fail(x, -EIO, "too many entries");
		return;
	}
	if (ARRAY_GROW(c->ups, c->n, c->cap, 8)) {
		xp_fail(x, -ENOMEM, "out of memory");
		return;
	}
	c->cur = &c->ups[c->n++];
	memset(c->cur, 0, sizeof(*c->cur));
}

static void uploads_end(struct xp *x, const char *name, const char *text, size_t len)
{
	struct uploads_ctx *c = x->ctx;
	char **dst = NULL;

	if (x->depth == 1 && !strcmp(name, "Upload")) {
		if (c->cur && (!c->cur->key || !c->cur->upload_id))
			xp_fail(x, -EIO, "an Upload entry has no Key or UploadId");
		c->cur = NULL;
		return;
	}
	if (x->depth == 1) {	/* children of the root */
		if (!strcmp(name, "IsTruncated"))
			c->truncated = len == 4 && !memcmp(text, "true", 4);
		else if (!strcmp(name, "NextKeyMarker"))
			dst = &c->next_key;
		else if (!strcmp(name, "NextUploadIdMarker"))
			dst = &c->next_id;
	} else if (x->depth == 2 && !strcmp(xp_parent(x, 0), "Upload") && c->cur) {
		if (!strcmp(name, "Key"))
			dst = &c->cur->key;
		else if (!strcmp(name, "UploadId"))
			dst = &c->cur->upload_id;
	}
	if (!dst)
		return;
	free(*dst);
	*dst = memdup0(text, len);
	if (!*dst)
		xp_fail(x, -ENOMEM, "out of memory");
}

void s3xml_uploads_free(struct s3xml_upload *ups, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(ups[i].key);
		free(ups[i].upload_id);
	}
	free(ups);
}

int s3xml_parse_uploads(const char *xml, size_t len, struct s3xml_upload **ups, size_t *n,
			char **next_key, char **next_id, struct errmsg *err)
{
	struct uploads_ctx c;
	struct xp *x;
	int rc;

	memset(&c, 0, sizeof(c));
	*ups = NULL;
	*n = 0;
	*next_key = NULL;
	*next_id = NULL;
	x = xp_new(uploads_start, uploads_end, &c);
	if (!x)
		return errmsg_set(err, -ENOMEM, "cannot parse an upload listing: out of memory");
	rc = xp_run(x, xml, len, "upload listing", err);
	free(x);
	if (!rc && !c.root_ok)
		rc = errmsg_set(err, -EIO, "malformed upload listing: not a "
				"ListMultipartUploadsResult");
	if (!rc && c.truncated && (!c.next_key || !c.next_key[0]))
		rc = errmsg_set(err, -EIO, "malformed upload listing: truncated without "
				"NextKeyMarker");
	if (rc || !c.truncated) {
		free(c.next_key);
		free(c.next_id);
		c.next_key = c.next_id = NULL;
	}
	if (rc) {
		s3xml_uploads_free(c.ups, c.n);
		return rc;
	}
	*ups = c.ups;
	*n = c.n;
	*next_key = c.next_key;
	*next_id = c.next_id;
	return 0;
}

/* ---- writing ---- */

int s3xml_escape(struct buf *out, const char *s)
{
	int rc = 0;

	for (; *s && !rc; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '&': rc = buf_adds(out, "&amp;"); break;
		case '<': rc = buf_adds(out, "&lt;"); break;
		case '>': rc = buf_adds(out, "&gt;"); break;
		case '"': rc = buf_adds(out, "&quot;"); break;
		case '\'': rc = buf_adds(out, "&apos;"); break;
		/* character references, so the server's parser does not normalise them away */
		case '\t': rc = buf_adds(out, "&#9;"); break;
		case '\n': rc = buf_adds(out, "&#10;"); break;
		case '\r': rc = buf_adds(out, "&#13;"); break;
		default:
			if (ch < 0x20)
				return -EINVAL;	/* not representable in XML 1.0 */
			rc = buf_add(out, s, 1);
		}
	}
	return rc;
}

int s3xml_delete_body(struct buf *out, const char *const *keys, size_t n)
{
	size_t i;
	int rc = buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			       "<Delete><Quiet>true</Quiet>");

	for (i = 0; i < n && !rc; i++) {
		rc = buf_adds(out, "<Object><Key>");
		if (!rc)
			rc = s3xml_escape(out, keys[i]);
		if (!rc)
			rc = buf_adds(out, "</Key></Object>");
	}
	if (!rc)
		rc = buf_adds(out, "</Delete>");
	return rc;
}

int s3xml_complete_body(struct buf *out, const struct mpu_part *parts, size_t n)
{
	size_t i;
	int rc = buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			       "<CompleteMultipartUpload>");

	for (i = 0; i < n && !rc; i++) {
		rc = buf_addf(out, "<Part><PartNumber>%d</PartNumber><ETag>&quot;", parts[i].number);
		if (!rc)
			rc = s3xml_escape(out, parts[i].etag);
		if (!rc)
			rc = buf_adds(out, "&quot;</ETag></Part>");
	}
	if (!rc)
		rc = buf_adds(out, "</CompleteMultipartUpload>");
	return rc;
}
