/*
 * restore_cmd.c - parse one `.restore` command (restore_cmd.h) and map source names to target
 * names.  Untrusted input from a write(): bounded, every word checked, nothing re-parsed later.
 */
#include "mvbackupfs/jobs/restore_cmd.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int restore_name_valid(const char *name)
{
	size_t i;

	if (!name || !*name || strlen(name) > RESTORE_NAME_MAX)
		return 0;
	if (!isalpha((unsigned char)name[0]) && name[0] != '_')
		return 0;
	for (i = 1; name[i]; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return 0;
	return 1;
}

static int suffix_valid(const char *s)
{
	size_t i;

	if (!*s || strlen(s) > RESTORE_NAME_MAX)
		return 0;
	for (i = 0; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

static void keys_release(struct restore_keys *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	memset(k, 0, sizeof(*k));
}

void restore_cmd_release(struct restore_cmd *c)
{
	size_t i;

	if (!c)
		return;
	backup_filter_release(&c->filter);
	free(c->suffix);
	for (i = 0; i < c->nrenames; i++) {
		free(c->renames[i].src_db);
		free(c->renames[i].src_coll);
		free(c->renames[i].dst_db);
		free(c->renames[i].dst_coll);
	}
	free(c->renames);
	free(c->database);
	keys_release(&c->skip_coll_props);
	keys_release(&c->skip_field_type);
	keys_release(&c->skip_field_index);
	keys_release(&c->skip_index);
	memset(c, 0, sizeof(*c));
}

int restore_keys_has(const struct restore_keys *k, const char *key)
{
	size_t i;

	for (i = 0; key && i < k->n; i++)
		if (!strcmp(k->v[i], key))
			return 1;
	return 0;
}

/* "k1,k2": parameter keys (letters, digits, '_', '.', '-'), none empty */
static int parse_keys(const char *name, const char *v, struct restore_keys *out,
		      struct errmsg *err)
{
	const char *p = v;

	while (*p) {
		size_t len = strcspn(p, ","), i;
		char **nv;

		if (!len)
			return errmsg_set(err, -EINVAL, "an empty key in %s=", name);
		for (i = 0; i < len; i++)
			if (!isalnum((unsigned char)p[i]) && !strchr("_.-", p[i]))
				return errmsg_set(err, -EINVAL, "bad key '%.*s' in %s=: only "
						  "letters, digits, '_', '.' and '-'", (int)len, p,
						  name);
		if (!(nv = realloc(out->v, (out->n + 1) * sizeof(*nv))))
			return -ENOMEM;
		out->v = nv;
		if (!(nv[out->n] = strndup(p, len)))
			return -ENOMEM;
		out->n++;
		p += len;
		if (*p == ',' && !*++p)
			return errmsg_set(err, -EINVAL, "an empty key in %s=", name);
	}
	return 0;
}

static int parse_bool(const char *key, const char *v, int *out, struct errmsg *err)
{
	if (!strcmp(v, "1") || !strcmp(v, "true")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(v, "0") || !strcmp(v, "false")) {
		*out = 0;
		return 0;
	}
	return errmsg_set(err, -EINVAL, "bad value '%s' for '%s': want 0 or 1", v, key);
}

/* "db.coll", "coll" (default db), "db.*" or "db." (wildcard: *coll = NULL). */
static int parse_qualified(const char *s, size_t len, char **db, char **coll, struct errmsg *err)
{
	const char *dot = memchr(s, '.', len);
	int wild = 0;

	*db = *coll = NULL;
	if (!dot) {
		*db = strdup("default");
		*coll = strndup(s, len);
	} else {
		size_t dl = (size_t)(dot - s), cl = len - dl - 1;

		*db = strndup(s, dl);
		wild = cl == 0 || (cl == 1 && dot[1] == '*');
		if (!wild)
			*coll = strndup(dot + 1, cl);
	}
	if (!*db || (!wild && !*coll)) {
		free(*db);
		free(*coll);
		*db = *coll = NULL;
		return -ENOMEM;
	}
	if (!restore_name_valid(*db) || (*coll && !restore_name_valid(*coll))) {
		errmsg_set(err, -EINVAL, "bad name '%.*s' in rename=", (int)(len > 300 ? 300 : len),
			   s);
		free(*db);
		free(*coll);
		*db = *coll = NULL;
		return -EINVAL;
	}
	return 0;
}

static int parse_renames(struct restore_cmd *c, const char *v, struct errmsg *err)
{
	const char *p = v;
	int rc;

	while (*p) {
		const char *end = strchr(p, ','), *colon;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		struct restore_rename r = { 0 }, *nv;

		colon = memchr(p, ':', len);
		if (!len || !colon || memchr(colon + 1, ':', len - (size_t)(colon - p) - 1))
			return errmsg_set(err, -EINVAL, "bad rename '%.*s': want db1.c1:db2.c2 or "
					  "db1.*:db2.*", (int)(len > 300 ? 300 : len), p);
		rc = parse_qualified(p, (size_t)(colon - p), &r.src_db, &r.src_coll, err);
		if (!rc)
			rc = parse_qualified(colon + 1, len - (size_t)(colon - p) - 1, &r.dst_db,
					     &r.dst_coll, err);
		if (!rc && !r.src_coll != !r.dst_coll)
			rc = errmsg_set(err, -EINVAL, "bad rename '%.*s': a whole database maps "
					"to a whole database only", (int)(len > 300 ? 300 : len), p);
		if (!rc) {
			nv = realloc(c->renames, (c->nrenames + 1) * sizeof(*nv));
			if (!nv)
				rc = -ENOMEM;
			else {
				c->renames = nv;
				c->renames[c->nrenames++] = r;
			}
		}
		if (rc) {
			free(r.src_db);
			free(r.src_coll);
			free(r.dst_db);
			free(r.dst_coll);
			return rc;
		}
		p += len;
		if (*p == ',') {
			p++;
			if (!*p)
				return errmsg_set(err, -EINVAL, "rename= ends with ','");
		}
	}
	return 0;
}

static int check_filter(const struct backup_filter *f, struct errmsg *err)
{
	size_t i, k;

	for (i = 0; i < f->ndbs; i++) {
		if (!restore_name_valid(f->dbs[i].db))
			return errmsg_set(err, -EINVAL, "bad database name '%s' in collections=",
					  f->dbs[i].db);
		for (k = 0; k < f->dbs[i].ncolls; k++)
			if (!restore_name_valid(f->dbs[i].colls[k]))
				return errmsg_set(err, -EINVAL, "bad collection name '%s' in "
						  "collections=", f->dbs[i].colls[k]);
	}
	return 0;
}

static const char *const keys[] = {
	"collections", "suffix", "rename", "drop_existing", "index", "load", "meta_only", "rbac",
	"database", "auto_index", "skip_collection_properties", "skip_field_type_params",
	"skip_field_index_params", "skip_index_params",
};

/* The command's blanks (buf, len bytes, NUL-terminated): one trailing newline (echo) is
 * ignored; a tab is a blank; any other control byte is an error.  0 or -EINVAL. */
static int cmd_blanks(char *buf, size_t len, struct errmsg *err)
{
	size_t i;

	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len && buf[len - 1] == '\r')
		buf[--len] = '\0';
	for (i = 0; i < len; i++) {
		if (buf[i] == '\t')
			buf[i] = ' ';
		else if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return errmsg_set(err, -EINVAL, "a control character in the command");
	}
	return 0;
}

/* What the words of a parsed command (nwords of them) must say together.  0 or -EINVAL. */
static int cmd_check(const struct restore_cmd *out, size_t nwords, struct errmsg *err)
{
	if (!nwords)
		return errmsg_set(err, -EINVAL, "empty command");
	if (out->cancel && nwords != 1)
		return errmsg_set(err, -EINVAL, "'cancel' takes no other words");
	if (out->nrenames && out->database)
		return errmsg_set(err, -EINVAL, "rename= and database= cannot be combined: say the "
				  "target database in the rename");
	if (out->has_filter && !out->filter.ndbs)
		return errmsg_set(err, -EINVAL, "collections= names no collection");
	return 0;
}

/* The value `v` of known key `w` into `out`. */
static int parse_value(struct restore_cmd *out, const char *w, const char *v, struct errmsg *err)
{
	int rc = 0;

	if (!strcmp(w, "collections")) {
		out->has_filter = 1;
		rc = backup_filter_parse(v, &out->filter, err);
		if (!rc)
			rc = check_filter(&out->filter, err);
	} else if (!strcmp(w, "suffix")) {
		if (!suffix_valid(v))
			rc = errmsg_set(err, -EINVAL, "bad suffix '%.200s': only letters, "
					"digits and '_'", v);
		else if (!(out->suffix = strdup(v)))
			rc = -ENOMEM;
	} else if (!strcmp(w, "rename")) {
		rc = parse_renames(out, v, err);
	} else if (!strcmp(w, "database")) {
		if (!restore_name_valid(v))
			rc = errmsg_set(err, -EINVAL, "bad database name '%.200s'", v);
		else if (!(out->database = strdup(v)))
			rc = -ENOMEM;
	} else if (!strcmp(w, "drop_existing")) {
		rc = parse_bool(w, v, &out->drop_existing, err);
	} else if (!strcmp(w, "index")) {
		rc = parse_bool(w, v, &out->index, err);
	} else if (!strcmp(w, "load")) {
		rc = parse_bool(w, v, &out->load, err);
	} else if (!strcmp(w, "meta_only")) {
		rc = parse_bool(w, v, &out->meta_only, err);
	} else if (!strcmp(w, "rbac")) {
		rc = parse_bool(w, v, &out->rbac, err);
	} else if (!strcmp(w, "auto_index")) {
		rc = parse_bool(w, v, &out->auto_index, err);
	} else if (!strcmp(w, "skip_collection_properties")) {
		rc = parse_keys(w, v, &out->skip_coll_props, err);
	} else if (!strcmp(w, "skip_field_type_params")) {
		rc = parse_keys(w, v, &out->skip_field_type, err);
	} else if (!strcmp(w, "skip_field_index_params")) {
		rc = parse_keys(w, v, &out->skip_field_index, err);
	} else if (!strcmp(w, "skip_index_params")) {
		rc = parse_keys(w, v, &out->skip_index, err);
	}
	return rc;
}

int restore_cmd_parse(const char *text, size_t len, struct restore_cmd *out, struct errmsg *err)
{
	char *buf = NULL, *p, *save = NULL, *w;
	unsigned seen = 0;
	size_t nwords = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->index = 1;
	if (len > RESTORE_CMD_MAX)
		return errmsg_set(err, -EINVAL, "command longer than %d bytes", RESTORE_CMD_MAX);
	if (memchr(text, '\0', len))
		return errmsg_set(err, -EINVAL, "a NUL byte in the command");
	if (!(buf = strndup(text, len)))
		return -ENOMEM;
	rc = cmd_blanks(buf, len, err);
	if (rc)
		goto out;
	for (p = buf; (w = strtok_r(p, " ", &save)) != NULL; p = NULL) {
		char *eq = strchr(w, '='), *v;
		size_t k;

		nwords++;
		if (!strcmp(w, "cancel")) {
			out->cancel = 1;
			continue;
		}
		if (!eq) {
			rc = errmsg_set(err, -EINVAL, "bad word '%.200s': want key=value or 'cancel'",
					w);
			goto out;
		}
		*eq = '\0';
		v = eq + 1;
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[k], w); k++)
			;
		if (k == sizeof(keys) / sizeof(keys[0])) {
			rc = errmsg_set(err, -EINVAL, "unknown key '%.200s' (known: collections, suffix, "
					"rename, database, drop_existing, index, load, meta_only, "
					"rbac, auto_index, skip_collection_properties, "
					"skip_field_type_params, skip_field_index_params, "
					"skip_index_params)", w);
			goto out;
		}
		if (seen & (1u << k)) {
			rc = errmsg_set(err, -EINVAL, "key '%s' given twice", w);
			goto out;
		}
		seen |= 1u << k;
		if (!*v) {
			rc = errmsg_set(err, -EINVAL, "empty value for '%s'", w);
			goto out;
		}
		rc = parse_value(out, w, v, err);
		if (rc)
			goto out;
	}
	rc = cmd_check(out, nwords, err);
out:
	free(buf);
	if (rc)
		restore_cmd_release(out);
	return rc;
}

int restore_cmd_selects(const struct restore_cmd *c, const char *db, const char *coll)
{
	size_t i, k;

	if (!c->has_filter)
		return 1;
	for (i = 0; i < c->filter.ndbs; i++) {
		const struct backup_filter_db *d = &c->filter.dbs[i];

		if (strcmp(d->db, db))
			continue;
		if (d->all || (d->db_only && !d->ncolls))
			return 1;
		for (k = 0; k < d->ncolls; k++)
			if (!strcmp(d->colls[k], coll))
				return 1;
	}
	return 0;
}

int restore_cmd_target(const struct restore_cmd *c, const char *db, const char *coll,
		       char **out_db, char **out_coll, struct errmsg *err)
{
	const struct restore_rename *hit = NULL;
	char *d = NULL, *n = NULL;
	size_t i;

	*out_db = *out_coll = NULL;
	/* milvus-backup-format.md §4.1 step 2: explicit renames first (an exact one before a
	 * wildcard), then the suffix, then identity */
	for (i = 0; i < c->nrenames && !hit; i++)
		if (c->renames[i].src_coll && !strcmp(c->renames[i].src_db, db) &&
		    !strcmp(c->renames[i].src_coll, coll))
			hit = &c->renames[i];
	for (i = 0; i < c->nrenames && !hit; i++)
		if (!c->renames[i].src_coll && !strcmp(c->renames[i].src_db, db))
			hit = &c->renames[i];
	if (hit) {
		d = strdup(hit->dst_db);
		n = strdup(hit->dst_coll ? hit->dst_coll : coll);
	} else {
		d = strdup(c->database ? c->database : db);
		if (c->suffix) {
			if (asprintf(&n, "%s%s", coll, c->suffix) < 0)
				n = NULL;
		} else
			n = strdup(coll);
	}
	if (!d || !n) {
		free(d);
		free(n);
		return -ENOMEM;
	}
	if (!restore_name_valid(n) || !restore_name_valid(d)) {
		errmsg_set(err, -EINVAL, "target name '%.100s.%.100s' of '%s.%s' is not a valid "
			   "name (a letter or '_', then letters, digits, '_'; at most %d bytes)", d,
			   n, db, coll, RESTORE_NAME_MAX);
		free(d);
		free(n);
		return -EINVAL;
	}
	*out_db = d;
	*out_coll = n;
	return 0;
}
