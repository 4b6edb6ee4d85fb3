/*
 * sidecar.c - <root>/<name>/mvbackupfs.json, our per-backup data (see sidecar.h), and the
 * RFC 3339 helpers the .expires file and the sidecar share.
 */
#include "mvbackupfs/format/sidecar.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mvbackupfs/format/meta.h"
#include "mvbackupfs/base/version.h"

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

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm): no
 * timegm(), no TZ environment involved. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int rfc3339_format(int64_t t, char out[32])
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400), y;
	int64_t sec = t - days * 86400;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		out[0] = '\0';
		return -EINVAL;
	}
	snprintf(out, 32, "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)y, m, d, (int)(sec / 3600),
		 (int)(sec / 60 % 60), (int)(sec % 60));
	return 0;
}

static bool digits(const char *s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*out = *out * 10 + (s[i] - '0');
	}
	return true;
}

int rfc3339_parse(const char *s, int64_t *out)
{
	static const unsigned char mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	const char *p;
	int64_t t;

	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &se))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -EINVAL;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 ||
		    om > 59)
			return -EINVAL;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	if (se == 60)	/* a leap second: the instant after 23:59:59 */
		se = 59;
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se -
	    sign * (oh * 3600 + om * 60);
	/* only instants rfc3339_format can write back (UTC years 0000..9999): an offset can push
	 * "0000-01-01T00:00:00+01:00" out of it, and a rewritten sidecar would lose that time */
	if (t < days_from_civil(0, 1, 1) * 86400 || t > days_from_civil(10000, 1, 1) * 86400 - 1)
		return -EINVAL;
	*out = t;
	return 0;
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
	rc = 0;
out:
	json_decref(root);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

int sidecar_write(const struct sidecar *s, struct buf *out)
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
	return buf_adds(out, "}");
}
