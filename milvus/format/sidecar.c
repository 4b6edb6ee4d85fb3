/*
 * sidecar.c - <root>/<name>/mvbackupfs.json, our per-backup data (see sidecar.h).  Its
 * times are RFC 3339 (timefmt.h).
 */
#include "mvbackupfs/format/sidecar.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/format/meta.h"
#include "mvbackupfs/base/version.h"
#include "mvbackupfs/base/timefmt.h"

static const char *const kind_names[] = {
	[SIDECAR_KIND_UNKNOWN] = "",
	[SIDECAR_KIND_MANUAL] = "manual",
	[SIDECAR_KIND_SCHEDULED] = "scheduled",
	[SIDECAR_KIND_IMPORT] = "import",
};

const char *sidecar_kind_name(enum sidecar_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "";
}

enum sidecar_kind sidecar_kind_parse(const char *name)
{
	for (size_t i = 1; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (!strcmp(name, kind_names[i]))
			return (enum sidecar_kind)i;
	return SIDECAR_KIND_UNKNOWN;
}

const char *sidecar_creator(void)
{
	static char s[64];	/* written once with the same bytes: benign if raced */

	if (!s[0])
		snprintf(s, sizeof(s), "mvbackupfs %s", mvb_version());
	return s;
}

static int str_field(json_t *o, const char *key, char *dst, size_t cap, struct errmsg *err)
{
	json_t *v = json_object_get(o, key);
	const char *src;
	size_t n;

	dst[0] = '\0';
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return errmsg_set(err, -EINVAL, "'%s' in '%s' is not a string", key, SIDECAR_NAME);
	src = json_string_value(v);
	n = strlen(src);
	if (n >= cap) {
		/* truncate at a character boundary: half a UTF-8 sequence would be written back
		 * as U+FFFD (jansson only hands out valid UTF-8) */
		n = cap - 1;
		while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int time_field(json_t *o, const char *key, int64_t *out, struct errmsg *err)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || rfc3339_parse(json_string_value(v), out))
		return errmsg_set(err, -EINVAL, "'%s' in '%s' is not an RFC 3339 time", key,
				  SIDECAR_NAME);
	return 0;
}

int sidecar_parse(const char *json, size_t len, struct sidecar *out, struct errmsg *err)
{
	char kind[32];
	json_error_t je;
	json_t *root, *v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > SIDECAR_MAX)
		return errmsg_set(err, -EFBIG, "'%s' is larger than %d bytes", SIDECAR_NAME,
				  SIDECAR_MAX);
	root = json_loadb(json, len, 0, &je);
	if (!root)
		return errmsg_set(err, -EINVAL, "'%s' is not valid JSON: %s", SIDECAR_NAME,
				  je.text);
	if (!json_is_object(root)) {
		rc = errmsg_set(err, -EINVAL, "'%s' is not a JSON object", SIDECAR_NAME);
		goto out;
	}
	v = json_object_get(root, "format");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 1000000) {
			rc = errmsg_set(err, -EINVAL, "'format' in '%s' is not a small integer",
					SIDECAR_NAME);
			goto out;
		}
		out->format = (int)json_integer_value(v);
	}
	if ((rc = str_field(root, "created_by", out->created_by, sizeof(out->created_by),
			    err)) ||
	    (rc = time_field(root, "created", &out->created, err)) ||
	    (rc = time_field(root, "expires", &out->expires, err)) ||
	    (rc = str_field(root, "kind", kind, sizeof(kind), err)) ||
	    (rc = str_field(root, "job", out->job, sizeof(out->job), err)))
		goto out;
	out->kind = sidecar_kind_parse(kind);
	if ((rc = str_field(root, "origin", kind, sizeof(kind), err)) ||
	    (rc = time_field(root, "origin_created", &out->origin_created, err)))
		goto out;
	out->origin = sidecar_kind_parse(kind);
	rc = 0;
out:
	json_decref(root);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

static int write_fields(const struct sidecar *s, struct buf *out)
{
	char t[32];
	int rc;

	if ((rc = buf_addf(out, "{\"format\":%d,\"created_by\":", s->format)) ||
	    (rc = meta_json_string(out, s->created_by)))
		return rc;
	if (s->created && !rfc3339_format(s->created, t) &&
	    (rc = buf_addf(out, ",\"created\":\"%s\"", t)))
		return rc;
	if (s->expires && !rfc3339_format(s->expires, t) &&
	    (rc = buf_addf(out, ",\"expires\":\"%s\"", t)))
		return rc;
	if (s->kind != SIDECAR_KIND_UNKNOWN &&
	    (rc = buf_addf(out, ",\"kind\":\"%s\"", sidecar_kind_name(s->kind))))
		return rc;
	if (s->job[0] && ((rc = buf_adds(out, ",\"job\":")) || (rc = meta_json_string(out, s->job))))
		return rc;
	if (s->origin != SIDECAR_KIND_UNKNOWN &&
	    (rc = buf_addf(out, ",\"origin\":\"%s\"", sidecar_kind_name(s->origin))))
		return rc;
	if (s->origin_created && !rfc3339_format(s->origin_created, t) &&
	    (rc = buf_addf(out, ",\"origin_created\":\"%s\"", t)))
		return rc;
	return 0;
}

int sidecar_write(const struct sidecar *s, struct buf *out)
{
	int rc = write_fields(s, out);

	return rc ? rc : buf_adds(out, "}");
}

int sidecar_write_copied(const struct sidecar *s, const char *raw, size_t len,
			 struct buf *out)
{
	char *z;
	int rc = write_fields(s, out);

	if (rc || !len)
		return rc ? rc : buf_adds(out, "}");
	z = strndup(raw, len);	/* meta_json_string takes a C string; a sidecar has no NUL */
	if (!z)
		return -ENOMEM;
	if (!(rc = buf_adds(out, ",\"as_copied\":")) && !(rc = meta_json_string(out, z)))
		rc = buf_adds(out, "}");
	free(z);
	return rc;
}

int sidecar_as_copied(const char *json, size_t len, struct buf *out)
{
	json_t *root = json_loadb(json, len, 0, NULL), *v;
	int rc = 0;

	v = root ? json_object_get(root, "as_copied") : NULL;
	if (v && json_is_string(v)) {
		rc = buf_add(out, json_string_value(v), json_string_length(v));
		rc = rc ? rc : 1;
	}
	json_decref(root);
	return rc;
}

void sidecar_merge_copy(const struct sidecar *src, const struct sidecar *resv,
			struct sidecar *out)
{
	*out = *resv;
	out->kind = SIDECAR_KIND_IMPORT;
	out->origin = SIDECAR_KIND_UNKNOWN;
	out->origin_created = 0;
	if (!src)
		return;
	out->expires = src->expires;
	if (src->kind == SIDECAR_KIND_IMPORT) {
		out->origin = src->origin;
		out->origin_created = src->origin_created;
	} else {
		out->origin = src->kind;
		out->origin_created = src->created;
	}
}
