/*
 * config.c - milvus-backup's backup.yaml (v1 schema) plus our `mvbackupfs:` section (see
 * config.h and docs/configuration.md).
 *
 * The file is parsed once with libyaml's event API into a small typed tree (scalars, maps,
 * sequences, each with its line and column) so that every error can name FILE:LINE:COL; the
 * tree is then read key by key into struct config.  Precedence for every milvus-backup key is
 * environment > file > code default (milvus-backup-format.md §5.3), and every minio.backup*
 * value inherits the effective Milvus-side value when neither the file nor the environment
 * sets it.  Keys are matched case-insensitively, as milvus-backup's config loader lower-cases
 * them.
 */
#include "mvbackupfs/config/config.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "mvbackupfs/storage/local.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/storage/s3.h"
#include "mvbackupfs/base/timefmt.h"

#define CONFIG_MAX_BYTES (1u << 20)	/* a backup.yaml is a few KiB */
#define YAML_MAX_DEPTH 32
#define YAML_MAX_NODES 100000

#define MIB (1024ull * 1024)

/* ---- the YAML tree ---- */

enum ynode_type { Y_NULL, Y_SCALAR, Y_MAP, Y_SEQ };

struct ynode;

struct ypair {
	char *key;
	int line, col;
	struct ynode *val;
};

struct ynode {
	enum ynode_type type;
	int line, col;		/* 1-based, where the node starts */
	char *value;		/* Y_SCALAR */
	struct ypair *pairs;	/* Y_MAP */
	struct ynode **items;	/* Y_SEQ */
	size_t n;		/* pairs or items */
};

static void ynode_free(struct ynode *n)
{
	size_t i;

	if (!n)
		return;
	if (n->type == Y_MAP) {
		for (i = 0; i < n->n; i++) {
			free(n->pairs[i].key);
			ynode_free(n->pairs[i].val);
		}
		free(n->pairs);
	} else if (n->type == Y_SEQ) {
		for (i = 0; i < n->n; i++)
			ynode_free(n->items[i]);
		free(n->items);
	}
	free(n->value);
	free(n);
}

struct yparse {
	yaml_parser_t parser;
	const char *path;
	size_t nodes;
	struct errmsg *err;
};

static int y_next(struct yparse *y, yaml_event_t *ev)
{
	if (yaml_parser_parse(&y->parser, ev))
		return 0;
	if (y->parser.error == YAML_MEMORY_ERROR)
		return errmsg_set(y->err, -ENOMEM, "%s: out of memory", y->path);
	if (y->parser.context)
		return errmsg_set(y->err, -EINVAL, "%s:%zu:%zu: %s %s (line %zu)", y->path,
				  y->parser.problem_mark.line + 1,
				  y->parser.problem_mark.column + 1, y->parser.problem,
				  y->parser.context, y->parser.context_mark.line + 1);
	return errmsg_set(y->err, -EINVAL, "%s:%zu:%zu: %s", y->path,
			  y->parser.problem_mark.line + 1, y->parser.problem_mark.column + 1,
			  y->parser.problem ? y->parser.problem : "invalid YAML");
}

/* A plain scalar that YAML reads as null: absent value, "~", "null". */
static int is_null_scalar(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static int y_node(struct yparse *y, yaml_event_t *ev, int depth, struct ynode **out);

static int y_map(struct yparse *y, struct ynode *n, int depth)
{
	for (;;) {
		yaml_event_t kev, vev;
		struct ypair *p;
		size_t i;
		int rc;

		rc = y_next(y, &kev);
		if (rc)
			return rc;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			return 0;
		}
		if (kev.type != YAML_SCALAR_EVENT) {
			rc = errmsg_set(y->err, -EINVAL, "%s:%zu:%zu: only plain keys are supported "
					"in a mapping", y->path, kev.start_mark.line + 1,
					kev.start_mark.column + 1);
			yaml_event_delete(&kev);
			return rc;
		}
		for (i = 0; i < n->n; i++)
			if (!strcmp(n->pairs[i].key, (const char *)kev.data.scalar.value))
				break;
		if (i < n->n) {
			rc = errmsg_set(y->err, -EINVAL, "%s:%zu:%zu: duplicate key '%s' (first at "
					"line %d)", y->path, kev.start_mark.line + 1,
					kev.start_mark.column + 1,
					(const char *)kev.data.scalar.value, n->pairs[i].line);
			yaml_event_delete(&kev);
			return rc;
		}
		p = realloc(n->pairs, (n->n + 1) * sizeof(*p));
		if (!p) {
			yaml_event_delete(&kev);
			return errmsg_set(y->err, -ENOMEM, "%s: out of memory", y->path);
		}
		n->pairs = p;
		p = &n->pairs[n->n];
		memset(p, 0, sizeof(*p));
		p->key = strdup((const char *)kev.data.scalar.value);
		p->line = (int)kev.start_mark.line + 1;
		p->col = (int)kev.start_mark.column + 1;
		yaml_event_delete(&kev);
		if (!p->key)
			return errmsg_set(y->err, -ENOMEM, "%s: out of memory", y->path);
		n->n++;
		rc = y_next(y, &vev);
		if (rc)
			return rc;
		rc = y_node(y, &vev, depth + 1, &p->val);
		yaml_event_delete(&vev);
		if (rc)
			return rc;
	}
}

static int y_seq(struct yparse *y, struct ynode *n, int depth)
{
	for (;;) {
		yaml_event_t ev;
		struct ynode **items;
		int rc;

		rc = y_next(y, &ev);
		if (rc)
			return rc;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		items = realloc(n->items, (n->n + 1) * sizeof(*items));
		if (!items) {
			yaml_event_delete(&ev);
			return errmsg_set(y->err, -ENOMEM, "%s: out of memory", y->path);
		}
		n->items = items;
		n->items[n->n] = NULL;
		rc = y_node(y, &ev, depth + 1, &n->items[n->n]);
		yaml_event_delete(&ev);
		if (n->items[n->n])
			n->n++;
		if (rc)
			return rc;
	}
}

/* Build the node that starts with `ev` (the caller deletes ev). */
static int y_node(struct yparse *y, yaml_event_t *ev, int depth, struct ynode **out)
{
	struct ynode *n;
	int rc = 0;

	*out = NULL;
	if (depth > YAML_MAX_DEPTH || ++y->nodes > YAML_MAX_NODES)
		return errmsg_set(y->err, -EINVAL, "%s:%zu:%zu: the document is nested too deeply "
				  "or too large", y->path, ev->start_mark.line + 1,
				  ev->start_mark.column + 1);
	if (ev->type == YAML_ALIAS_EVENT)
		return errmsg_set(y->err, -EINVAL, "%s:%zu:%zu: YAML aliases ('*%s') are not "
				  "supported", y->path, ev->start_mark.line + 1,
				  ev->start_mark.column + 1, (const char *)ev->data.alias.anchor);
	n = calloc(1, sizeof(*n));
	if (!n)
		return errmsg_set(y->err, -ENOMEM, "%s: out of memory", y->path);
	n->line = (int)ev->start_mark.line + 1;
	n->col = (int)ev->start_mark.column + 1;
	*out = n;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (is_null_scalar(ev)) {
			n->type = Y_NULL;
			break;
		}
		n->type = Y_SCALAR;
		n->value = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		if (!n->value)
			rc = errmsg_set(y->err, -ENOMEM, "%s: out of memory", y->path);
		break;
	case YAML_MAPPING_START_EVENT:
		n->type = Y_MAP;
		rc = y_map(y, n, depth);
		break;
	case YAML_SEQUENCE_START_EVENT:
		n->type = Y_SEQ;
		rc = y_seq(y, n, depth);
		break;
	default:
		rc = errmsg_set(y->err, -EINVAL, "%s:%d:%d: unexpected YAML event", y->path,
				n->line, n->col);
		break;
	}
	return rc;
}

/* Parse `text` into a tree.  An empty document yields NULL (no keys). */
static int y_parse(const char *path, const char *text, size_t len, struct ynode **root,
		   struct errmsg *err)
{
	struct yparse y = { .path = path, .err = err };
	yaml_event_t ev;
	int rc, done = 0;

	*root = NULL;
	if (!yaml_parser_initialize(&y.parser))
		return errmsg_set(err, -ENOMEM, "%s: out of memory", path);
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, len);
	while (!done) {
		rc = y_next(&y, &ev);
		if (rc)
			goto out;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (*root || y.nodes) {
				rc = errmsg_set(err, -EINVAL, "%s:%zu:%zu: more than one YAML "
						"document", path, ev.start_mark.line + 1,
						ev.start_mark.column + 1);
				yaml_event_delete(&ev);
				goto out;
			}
			break;
		default:
			rc = y_node(&y, &ev, 0, root);
			if (!rc && *root && (*root)->type == Y_NULL) {
				ynode_free(*root);
				*root = NULL;
			} else if (!rc && *root && (*root)->type != Y_MAP) {
				rc = errmsg_set(err, -EINVAL, "%s:%d:%d: the top level must be a "
						"mapping of keys", path, (*root)->line,
						(*root)->col);
			}
			if (rc) {
				yaml_event_delete(&ev);
				goto out;
			}
			break;
		}
		yaml_event_delete(&ev);
	}
	rc = 0;
out:
	yaml_parser_delete(&y.parser);
	if (rc) {
		ynode_free(*root);
		*root = NULL;
	}
	return rc;
}

/* The last pair named by the dotted path (case-insensitive, as milvus-backup). */
static const struct ypair *y_find(const struct ynode *root, const char *dotted)
{
	const struct ypair *found = NULL;
	const char *p = dotted;

	while (root && root->type == Y_MAP) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p), i;

		found = NULL;
		for (i = 0; i < root->n; i++)
			if (strlen(root->pairs[i].key) == len &&
			    !strncasecmp(root->pairs[i].key, p, len))
				found = &root->pairs[i];
		if (!found || !dot)
			return found;
		root = found->val;
		p = dot + 1;
	}
	return NULL;
}

/* ---- values: where they come from, and their types ---- */

struct loader {
	const char *path;	/* the file, for messages */
	struct ynode *root;	/* NULL: no file, or an empty one */
	struct errmsg *err;
};

/* One raw setting: its text and where it came from (for messages). */
struct val {
	const char *s;		/* NULL = unset */
	const char *key;	/* the YAML key that names it (the first alias) */
	const char *env;	/* set when it came from the environment */
	int line, col;		/* set when it came from the file */
};

/* Look `keys` ("a.b|c.d": aliases, first present wins) up in the environment variable `env`
 * (NULL: none; empty counts as unset), then in the file. */
static int fetch(struct loader *L, const char *keys, const char *env, struct val *v)
{
	char key[128];
	const char *p = keys;

	memset(v, 0, sizeof(*v));
	v->key = keys;
	if (env) {
		const char *e = getenv(env);

		if (e && *e) {
			v->s = e;
			v->env = env;
			return 0;
		}
	}
	while (*p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		const struct ypair *pair;
		char *dot;

		snprintf(key, sizeof(key), "%.*s", (int)len, p);
		p += len + (bar ? 1 : 0);
		/* "minio: 5" where a section belongs is an error, not "no keys". */
		for (dot = strchr(key, '.'); dot; dot = strchr(dot + 1, '.')) {
			*dot = '\0';
			pair = y_find(L->root, key);
			if (pair && pair->val &&
			    (pair->val->type == Y_SCALAR || pair->val->type == Y_SEQ))
				return errmsg_set(L->err, -EINVAL, "%s:%d:%d: '%s' must be a "
						  "mapping of keys", L->path, pair->val->line,
						  pair->val->col, key);
			*dot = '.';
		}
		pair = y_find(L->root, key);
		if (!pair || !pair->val || pair->val->type == Y_NULL)
			continue;
		if (pair->val->type != Y_SCALAR)
			return errmsg_set(L->err, -EINVAL, "%s:%d:%d: '%s' must be a single value, "
					  "not a %s", L->path, pair->val->line, pair->val->col,
					  key, pair->val->type == Y_MAP ? "mapping" : "list");
		v->s = pair->val->value;
		v->line = pair->val->line;
		v->col = pair->val->col;
		return 0;
	}
	return 0;
}

/* The name of the first alias in v->key ("minio.storageType|..." -> "minio.storageType"). */
static void val_name(const struct val *v, char *out, size_t outsz)
{
	const char *bar = strchr(v->key, '|');

	snprintf(out, outsz, "%.*s", (int)(bar ? (size_t)(bar - v->key) : strlen(v->key)),
		 v->key);
}

/* "invalid value 'x' for 'key': <expect>", located at FILE:LINE:COL or naming the
 * environment variable.  Never used for secrets (they are free text, never rejected). */
static int bad(struct loader *L, const struct val *v, const char *expect)
{
	char name[128];

	val_name(v, name, sizeof(name));
	if (v->env)
		return errmsg_set(L->err, -EINVAL, "invalid value '%s' for '%s' (from environment "
				  "variable %s): %s", v->s, name, v->env, expect);
	return errmsg_set(L->err, -EINVAL, "%s:%d:%d: invalid value '%s' for '%s': %s", L->path,
			  v->line, v->col, v->s, name, expect);
}

static int replace_str(char **dst, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

/* Each get_* leaves *dst untouched when the setting is unset; *set (optional) tells. */
static int get_str(struct loader *L, const char *keys, const char *env, char **dst, int *set)
{
	struct val v;
	int rc = fetch(L, keys, env, &v);

	if (set)
		*set = 0;
	if (rc || !v.s)
		return rc;
	if (set)
		*set = 1;
	if (replace_str(dst, v.s))
		return errmsg_set(L->err, -ENOMEM, "out of memory");
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	static const char *yes[] = { "true", "yes", "on", "1", "y" };
	static const char *no[] = { "false", "no", "off", "0", "n" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -EINVAL;
}

static int get_bool(struct loader *L, const char *keys, const char *env, int *dst)
{
	struct val v;
	int rc = fetch(L, keys, env, &v);

	if (rc || !v.s)
		return rc;
	if (parse_bool(v.s, dst))
		return bad(L, &v, "expected true or false");
	return 0;
}

static int parse_long(const char *s, long *out)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s) && !(*s == '-' && isdigit((unsigned char)s[1])) &&
	    !(*s == '+' && isdigit((unsigned char)s[1])))
		return -EINVAL;
	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno)
		return -EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	return *end ? -EINVAL : 0;
}

static int get_int(struct loader *L, const char *keys, const char *env, long lo, long hi,
		   int *dst)
{
	char expect[96];
	struct val v;
	long n;
	int rc = fetch(L, keys, env, &v);

	if (rc || !v.s)
		return rc;
	if (parse_long(v.s, &n) || n < lo || n > hi) {
		snprintf(expect, sizeof(expect), "expected an integer from %ld to %ld", lo, hi);
		return bad(L, &v, expect);
	}
	*dst = (int)n;
	return 0;
}

/* ---- sizes and durations ---- */

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

int config_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *name;
		uint64_t mult;
	} units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1ull << 10 }, { "kb", 1ull << 10 }, { "kib", 1ull << 10 },
		{ "m", 1ull << 20 }, { "mb", 1ull << 20 }, { "mib", 1ull << 20 },
		{ "g", 1ull << 30 }, { "gb", 1ull << 30 }, { "gib", 1ull << 30 },
		{ "t", 1ull << 40 }, { "tb", 1ull << 40 }, { "tib", 1ull << 40 },
	};
	uint64_t n = 0;
	const char *p;
	size_t i, ulen;

	if (!s)
		return -EINVAL;
	p = skip_space(s);
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -EINVAL;
		n = n * 10 + d;
	}
	if (*p == ' ')
		p++;
	for (ulen = 0; isalpha((unsigned char)p[ulen]); ulen++)
		;
	if (*skip_space(p + ulen))
		return -EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].name) == ulen && !strncasecmp(p, units[i].name, ulen)) {
			if (n > UINT64_MAX / units[i].mult)
				return -EINVAL;
			*out = n * units[i].mult;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- storage ---- */

/* milvus-backup-format.md §5.3: minio.storageType values.  The S3-speaking ones map to the
 * S3 backend (gcp is GCS through its S3-compatible XML API with HMAC keys); azure and
 * gcpnative need their own protocols, which mvbackupfs does not speak yet. */
static const struct {
	const char *name;
	const char *family;	/* for "do the two sides differ" (crossStorage) */
	int kind;		/* STORAGE_S3, STORAGE_LOCAL, or -1 = not supported */
} storage_types[] = {
	{ "local", "local", STORAGE_LOCAL },
	{ "minio", "minio", STORAGE_S3 },
	{ "s3", "aws", STORAGE_S3 },
	{ "aws", "aws", STORAGE_S3 },
	{ "gcp", "gcp", STORAGE_S3 },
	{ "ali", "aliyun", STORAGE_S3 },
	{ "aliyun", "aliyun", STORAGE_S3 },
	{ "alibaba", "aliyun", STORAGE_S3 },
	{ "alicloud", "aliyun", STORAGE_S3 },
	{ "tc", "tencent", STORAGE_S3 },
	{ "tencent", "tencent", STORAGE_S3 },
	{ "hwc", "hwc", STORAGE_S3 },
	{ "azure", "azure", -1 },
	{ "gcpnative", "gcpnative", -1 },
};

static int storage_type_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(storage_types) / sizeof(storage_types[0]); i++)
		if (!strcasecmp(name, storage_types[i].name))
			return (int)i;
	return -1;
}

static int get_storage_type(struct loader *L, const char *keys, struct storage_config *sc)
{
	struct val v;
	int rc = fetch(L, keys, NULL, &v), i;

	if (rc || !v.s)
		return rc;
	i = storage_type_find(v.s);
	if (i < 0)
		return bad(L, &v, "unknown storage type; expected one of local, minio, s3, aws, "
			   "gcp, aliyun, tencent, hwc");
	if (storage_types[i].kind < 0)
		return bad(L, &v, "storage type not supported yet (mvbackupfs speaks S3 and "
			   "local directories only)");
	sc->kind = (enum storage_kind)storage_types[i].kind;
	if (replace_str(&sc->provider, v.s))
		return errmsg_set(L->err, -ENOMEM, "out of memory");
	return 0;
}

/* The YAML keys and environment variables of one side of minio.* */
struct side_keys {
	const char *type, *address, *port, *region, *access_key, *secret_key, *token, *use_ssl,
		   *use_iam, *bucket, *root_path;
	const char *e_address, *e_port, *e_region, *e_access_key, *e_secret_key, *e_token,
		   *e_use_ssl, *e_use_iam, *e_bucket, *e_root_path;
};

static const struct side_keys milvus_keys = {
	"minio.storageType|storage.storageType|minio.cloudProvider",
	"minio.address", "minio.port", "minio.region", "minio.accessKeyID",
	"minio.secretAccessKey", "minio.token", "minio.useSSL", "minio.useIAM",
	"minio.bucketName", "minio.rootPath",
	"MINIO_ADDRESS", "MINIO_PORT", "MINIO_REGION", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY",
	"MINIO_TOKEN", "MINIO_USE_SSL", "MINIO_USE_IAM", "MINIO_BUCKET_NAME", "MINIO_ROOT_PATH",
};

static const struct side_keys backup_keys = {
	"minio.backupStorageType|storage.backupStorageType",
	"minio.backupAddress", "minio.backupPort", "minio.backupRegion",
	"minio.backupAccessKeyID", "minio.backupSecretAccessKey", "minio.backupToken",
	"minio.backupUseSSL", "minio.backupUseIAM", "minio.backupBucketName",
	"minio.backupRootPath",
	"MINIO_BACKUP_ADDRESS", "MINIO_BACKUP_PORT", "MINIO_BACKUP_REGION",
	"MINIO_BACKUP_ACCESS_KEY", "MINIO_BACKUP_SECRET_KEY", "MINIO_BACKUP_TOKEN",
	"MINIO_BACKUP_USE_SSL", "MINIO_BACKUP_USE_IAM", "MINIO_BACKUP_BUCKET_NAME",
	"MINIO_BACKUP_ROOT_PATH",
};

static void storage_release(struct storage_config *sc)
{
	free(sc->provider);
	free(sc->address);
	free(sc->region);
	free(sc->access_key);
	free(sc->secret_key);
	free(sc->token);
	free(sc->bucket);
	free(sc->root_path);
	free(sc->local_base);
	memset(sc, 0, sizeof(*sc));
}

static int dup_or_null(char **dst, const char *s)
{
	*dst = s ? strdup(s) : NULL;
	return s && !*dst ? -ENOMEM : 0;
}

static int storage_copy(struct storage_config *dst, const struct storage_config *src)
{
	int rc = 0;

	memset(dst, 0, sizeof(*dst));
	dst->kind = src->kind;
	dst->port = src->port;
	dst->use_ssl = src->use_ssl;
	dst->use_iam = src->use_iam;
	rc |= dup_or_null(&dst->provider, src->provider);
	rc |= dup_or_null(&dst->address, src->address);
	rc |= dup_or_null(&dst->region, src->region);
	rc |= dup_or_null(&dst->access_key, src->access_key);
	rc |= dup_or_null(&dst->secret_key, src->secret_key);
	rc |= dup_or_null(&dst->token, src->token);
	rc |= dup_or_null(&dst->bucket, src->bucket);
	rc |= dup_or_null(&dst->root_path, src->root_path);
	rc |= dup_or_null(&dst->local_base, src->local_base);
	if (rc) {
		storage_release(dst);
		return -ENOMEM;
	}
	return 0;
}

/* Read one side's keys over *sc (which holds the defaults or the inherited values).
 * *root_set tells whether the root path was set by the file or the environment. */
static int load_side(struct loader *L, const struct side_keys *k, struct storage_config *sc,
		     int *root_set)
{
	int rc;

	if ((rc = get_storage_type(L, k->type, sc)) ||
	    (rc = get_str(L, k->address, k->e_address, &sc->address, NULL)) ||
	    (rc = get_int(L, k->port, k->e_port, 1, 65535, &sc->port)) ||
	    (rc = get_str(L, k->region, k->e_region, &sc->region, NULL)) ||
	    (rc = get_str(L, k->access_key, k->e_access_key, &sc->access_key, NULL)) ||
	    (rc = get_str(L, k->secret_key, k->e_secret_key, &sc->secret_key, NULL)) ||
	    (rc = get_str(L, k->token, k->e_token, &sc->token, NULL)) ||
	    (rc = get_bool(L, k->use_ssl, k->e_use_ssl, &sc->use_ssl)) ||
	    (rc = get_bool(L, k->use_iam, k->e_use_iam, &sc->use_iam)) ||
	    (rc = get_str(L, k->bucket, k->e_bucket, &sc->bucket, NULL)) ||
	    (rc = get_str(L, k->root_path, k->e_root_path, &sc->root_path, root_set)))
		return rc;
	return 0;
}

/* Clean a root path for use as a key prefix: no leading or trailing '/', no "//".  For a
 * local store "." elements go too (they are not valid keys there). */
static void clean_root(char *p, int local)
{
	char *r = p, *w = p;

	while (*r) {
		while (*r == '/')
			r++;
		if (!*r)
			break;
		if (local && r[0] == '.' && (r[1] == '/' || !r[1])) {
			r++;
			continue;
		}
		if (w != p)
			*w++ = '/';
		while (*r && *r != '/')
			*w++ = *r++;
	}
	*w = '\0';
}

/* Lexically resolve "." and ".." in an absolute path, in place. */
static void normalize_abs(char *p)
{
	char *r = p, *w = p;

	while (*r) {
		size_t n;

		while (*r == '/')
			r++;
		for (n = 0; r[n] && r[n] != '/'; n++)
			;
		if (n == 0)
			break;
		if (n == 1 && r[0] == '.') {
			/* skip */
		} else if (n == 2 && r[0] == '.' && r[1] == '.') {
			while (w > p && *--w != '/')
				;
		} else {
			*w++ = '/';
			memmove(w, r, n);
			w += n;
		}
		r += n;
	}
	if (w == p)
		*w++ = '/';
	*w = '\0';
}

static int has_dotdot(const char *p)
{
	const char *s = p;

	while ((s = strstr(s, ".."))) {
		if ((s == p || s[-1] == '/') && (s[2] == '/' || !s[2]))
			return 1;
		s += 2;
	}
	return 0;
}

/*
 * Finish one side: clean the root path and, for a local store, decide its base directory.
 * docs/configuration.md "local storage": the store's base is "/" when the configured root
 * path is absolute, else the working directory now (at load time), and keys are
 * "<root_path>/<backup>/..." below it.  A relative root with ".." elements ("../backups")
 * is resolved against the working directory and then treated as absolute.
 */
static int finish_side(struct loader *L, struct storage_config *sc)
{
	free(sc->local_base);
	sc->local_base = NULL;
	if (sc->kind == STORAGE_LOCAL) {
		int absolute = sc->root_path[0] == '/';

		if (!absolute && has_dotdot(sc->root_path)) {
			char cwd[PATH_MAX], *joined;

			if (!getcwd(cwd, sizeof(cwd)))
				return errmsg_set(L->err, -errno, "cannot find the working directory: "
						  "%s", strerror(errno));
			if (asprintf(&joined, "%s/%s", cwd, sc->root_path) < 0)
				return errmsg_set(L->err, -ENOMEM, "out of memory");
			free(sc->root_path);
			sc->root_path = joined;
			absolute = 1;
		}
		if (absolute) {
			normalize_abs(sc->root_path);
			sc->local_base = strdup("/");
		} else {
			sc->local_base = getcwd(NULL, 0);
			if (!sc->local_base && errno != ENOMEM)
				return errmsg_set(L->err, -errno, "cannot find the working directory: "
						  "%s", strerror(errno));
		}
		if (!sc->local_base)
			return errmsg_set(L->err, -ENOMEM, "out of memory");
	}
	clean_root(sc->root_path, sc->kind == STORAGE_LOCAL);
	return 0;
}

static const char *family_of(const char *provider)
{
	int i = storage_type_find(provider ? provider : "minio");

	return i < 0 ? "" : storage_types[i].family;
}

/* ---- dump helpers ---- */

static const char *mask(const char *secret)
{
	return secret && *secret ? "****" : "";
}

void config_redact_url(const char *url, char *out, size_t size)
{
	const char *host = strstr(url, "://"), *at, *slash;

	host = host ? host + 3 : url;
	slash = strchr(host, '/');
	at = memchr(host, '@', slash ? (size_t)(slash - host) : strlen(host));
	if (!at) {
		snprintf(out, size, "%s", url);
		return;
	}
	snprintf(out, size, "%.*s****%s", (int)(host - url), url, at);
}

/* ---- the key table ---- */

/*
 * Every single-valued key outside minio.* (which has its own pair of tables, milvus_keys and
 * backup_keys, for the inheritance of the backup side): where it lives in struct config, its
 * environment variable, type, default, bounds, and whether it is a secret.  The table drives
 * config_init (the defaults, parsed by the loader's own parsers), config_load, the
 * unknown-key warnings of the mvbackupfs: section, config_dump (--print-config, in table
 * order) and config_release.  A key is added here and nowhere else.
 */
enum ktype {
	K_STR,		/* char *, owned */
	K_SECRET,	/* char *, owned; dumped as "****" */
	K_URL,		/* char *, owned; dumped with "user:password@" redacted */
	K_BOOL,		/* int 0/1: true/false, yes/no, on/off, 1/0, y/n */
	K_INT,		/* int within [min, max] */
	K_MIB,		/* uint64_t bytes, written as an integer number of MiB within [min, max] */
	K_SIZE,		/* uint64_t bytes, "96MiB", at least min */
	K_DURATION,	/* int64_t seconds, "36h"; "never" = 0 */
};

#define K_NEVER 1u	/* K_DURATION: dump 0 as "never" (else as "0s") */

struct key {
	const char *yaml;	/* "a.b|a.c": the name, then aliases (first present wins) */
	const char *env;	/* environment variable that overrides the file, or NULL */
	enum ktype type;
	size_t off;		/* offsetof(struct config, ...) */
	const char *def;	/* the default, as it would be written in the file */
	long long min, max;	/* K_INT, K_MIB: bounds; K_SIZE: min */
	unsigned flags;
};

#define KEY(y, e, t, field, d, lo, hi, fl) { y, e, t, offsetof(struct config, field), d, lo, hi, fl }

/* milvus.* (dumped before the storage sides) */
static const struct key milvus_table[] = {
	KEY("milvus.address", "MILVUS_ADDRESS", K_STR, milvus.address, "localhost", 0, 0, 0),
	KEY("milvus.port", "MILVUS_PORT", K_INT, milvus.port, "19530", 1, 65535, 0),
	KEY("milvus.user", "MILVUS_USER", K_STR, milvus.user, "", 0, 0, 0),
	KEY("milvus.password", "MILVUS_PASSWORD", K_SECRET, milvus.password, "", 0, 0, 0),
	KEY("milvus.tlsMode", "MILVUS_TLS_MODE", K_INT, milvus.tls_mode, "0", 0, 2, 0),
	KEY("milvus.caCertPath|milvus.tlsCertPath", NULL, K_STR, milvus.ca_cert_path, "", 0, 0,
	    0),
	KEY("milvus.serverName", NULL, K_STR, milvus.server_name, "", 0, 0, 0),
	KEY("milvus.mtlsCertPath", NULL, K_STR, milvus.mtls_cert_path, "", 0, 0, 0),
	KEY("milvus.mtlsKeyPath", NULL, K_STR, milvus.mtls_key_path, "", 0, 0, 0),
};

/* minio.* and backup.* beside the sides (dumped after them) */
static const struct key backup_table[] = {
	KEY("minio.crossStorage", NULL, K_BOOL, cross_storage, "false", 0, 0, 0),
	KEY("minio.multipartCopyThresholdMiB", NULL, K_MIB, multipart_copy_threshold, "500", 5,
	    5 * 1024, 0),
	KEY("backup.parallelism.copydata", "BACKUP_PARALLELISM_COPYDATA", K_INT, copy_parallel,
	    "128", 1, 100000, 0),
	KEY("backup.gcPause.enable", "BACKUP_GC_PAUSE_ENABLE", K_BOOL, milvus.gc_pause_enable,
	    "true", 0, 0, 0),
	KEY("backup.gcPause.address", "BACKUP_GC_PAUSE_ADDRESS", K_URL, milvus.gc_pause_address,
	    "http://localhost:9091", 0, 0, 0),
};

/* mvbackupfs.* (docs/configuration.md); unknown keys in the section are warned about */
static const struct key fs_table[] = {
	KEY("mvbackupfs.cache.ttlMs", NULL, K_INT, fs.cache_ttl_ms, "2000", 0, INT_MAX, 0),
	KEY("mvbackupfs.memory.budget", NULL, K_SIZE, fs.memory_budget, "96MiB", 4 * MIB, 0, 0),
	KEY("mvbackupfs.readahead.max", NULL, K_SIZE, fs.readahead_max, "64MiB", 0, 0, 0),
	KEY("mvbackupfs.readahead.parallel", NULL, K_INT, fs.read_parallel, "8", 1, 256, 0),
	KEY("mvbackupfs.snapshot.parallel", NULL, K_INT, fs.copy_parallel, "32", 1, 1024, 0),
	KEY("mvbackupfs.snapshot.filter", NULL, K_STR, fs.snapshot_filter, "", 0, 0, 0),
	KEY("mvbackupfs.schedule", NULL, K_STR, fs.schedule, "", 0, 0, 0),
	KEY("mvbackupfs.retention", NULL, K_DURATION, fs.retention_s, "3d", 0, 0, 0),
	KEY("mvbackupfs.manual_retention|mvbackupfs.manualRetention", NULL, K_DURATION,
	    fs.manual_retention_s, "never", 0, 0, K_NEVER),
	KEY("mvbackupfs.autoDelete|mvbackupfs.auto_delete", NULL, K_BOOL, fs.auto_delete, "true",
	    0, 0, 0),
	KEY("mvbackupfs.s3.virtualHost", NULL, K_BOOL, fs.virtual_host, "false", 0, 0, 0),
	KEY("mvbackupfs.s3.caFile", NULL, K_STR, fs.ca_file, "", 0, 0, 0),
	KEY("mvbackupfs.s3.requestTimeoutMs", NULL, K_INT, fs.request_timeout_ms, "30000", 1,
	    INT_MAX, 0),
	KEY("mvbackupfs.s3.maxTries", NULL, K_INT, fs.max_tries, "6", 1, 100, 0),
};

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

/* Parse `text` as key k's type into its field of c; -EINVAL with `expect` set when it does
 * not parse or is out of bounds, -ENOMEM. */
static int key_set(struct config *c, const struct key *k, const char *text, char *expect,
		   size_t expectsz)
{
	void *p = (char *)c + k->off;
	long n;
	uint64_t sz;
	int64_t d;
	int b;

	switch (k->type) {
	case K_STR:
	case K_SECRET:
	case K_URL:
		return replace_str((char **)p, text);
	case K_BOOL:
		if (parse_bool(text, &b)) {
			snprintf(expect, expectsz, "expected true or false");
			return -EINVAL;
		}
		*(int *)p = b;
		return 0;
	case K_INT:
	case K_MIB:
		if (parse_long(text, &n) || n < k->min || n > k->max) {
			snprintf(expect, expectsz, "expected an integer from %lld to %lld", k->min,
				 k->max);
			return -EINVAL;
		}
		if (k->type == K_INT)
			*(int *)p = (int)n;
		else
			*(uint64_t *)p = (uint64_t)n * MIB;
		return 0;
	case K_SIZE:
		if (config_parse_size(text, &sz) || sz < (uint64_t)k->min) {
			snprintf(expect, expectsz,
				 "expected a size such as 96MiB, 1G, 512k or a number of bytes");
			return -EINVAL;
		}
		*(uint64_t *)p = sz;
		return 0;
	case K_DURATION:
		if (!strcasecmp(text, "never")) {
			*(int64_t *)p = 0;
			return 0;
		}
		if (duration_parse(text, &d)) {
			snprintf(expect, expectsz, "expected a duration such as 90m, 36h, 7d, 1h30m, "
				 "a number of seconds, or never");
			return -EINVAL;
		}
		*(int64_t *)p = d;
		return 0;
	}
	return -EINVAL;
}

/* Fill in the defaults of a table. */
static int keys_default(struct config *c, const struct key *t, size_t n)
{
	char expect[128];

	for (size_t i = 0; i < n; i++)
		if (key_set(c, &t[i], t[i].def, expect, sizeof(expect)))
			return -ENOMEM;	/* a default always parses: only ENOMEM is left */
	return 0;
}

/* Read a table's keys from the environment and the file; unset ones keep their value. */
static int keys_load(struct loader *L, struct config *c, const struct key *t, size_t n)
{
	char expect[128];
	struct val v;
	int rc;

	for (size_t i = 0; i < n; i++) {
		rc = fetch(L, t[i].yaml, t[i].env, &v);
		if (rc)
			return rc;
		if (!v.s)
			continue;
		rc = key_set(c, &t[i], v.s, expect, sizeof(expect));
		if (rc == -ENOMEM)
			return errmsg_set(L->err, -ENOMEM, "out of memory");
		if (rc)
			return bad(L, &v, expect);
	}
	return 0;
}

static void keys_release(struct config *c, const struct key *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].type == K_STR || t[i].type == K_SECRET || t[i].type == K_URL) {
			char **p = (char **)((char *)c + t[i].off);

			free(*p);
			*p = NULL;
		}
	}
}

static int keys_dump(const struct config *c, const struct key *t, size_t n, struct buf *out)
{
	char name[128], url[512];
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const void *p = (const char *)c + t[i].off;
		const char *bar = strchr(t[i].yaml, '|');
		int64_t d;

		snprintf(name, sizeof(name), "%.*s",
			 (int)(bar ? (size_t)(bar - t[i].yaml) : strlen(t[i].yaml)), t[i].yaml);
		switch (t[i].type) {
		case K_STR:
			rc |= buf_addf(out, "%s: %s\n", name, *(char *const *)p);
			break;
		case K_SECRET:
			rc |= buf_addf(out, "%s: %s\n", name, mask(*(char *const *)p));
			break;
		case K_URL:
			config_redact_url(*(char *const *)p, url, sizeof(url));
			rc |= buf_addf(out, "%s: %s\n", name, url);
			break;
		case K_BOOL:
			rc |= buf_addf(out, "%s: %s\n", name, *(const int *)p ? "true" : "false");
			break;
		case K_INT:
			rc |= buf_addf(out, "%s: %d\n", name, *(const int *)p);
			break;
		case K_MIB:
			rc |= buf_addf(out, "%s: %llu\n", name,
				       (unsigned long long)(*(const uint64_t *)p / MIB));
			break;
		case K_SIZE:
			rc |= buf_addf(out, "%s: %llu\n", name,
				       (unsigned long long)*(const uint64_t *)p);
			break;
		case K_DURATION:
			d = *(const int64_t *)p;
			if (!d && (t[i].flags & K_NEVER))
				rc |= buf_addf(out, "%s: never\n", name);
			else
				rc |= buf_addf(out, "%s: %llds\n", name, (long long)d);
			break;
		}
	}
	return rc ? -E2BIG : 0;
}

/* 1 when `path` (below "mvbackupfs.") is one of fs_table's names or aliases, 2 when it is a
 * section that holds some, 0 otherwise. */
static int fs_key_known(const char *path, int is_map)
{
	static const char prefix[] = "mvbackupfs.";
	size_t plen = strlen(path);
	int known = 0;

	for (size_t i = 0; i < NKEYS(fs_table); i++) {
		const char *p = fs_table[i].yaml;

		while (*p) {
			const char *bar = strchr(p, '|');
			size_t len = bar ? (size_t)(bar - p) : strlen(p);

			if (len > sizeof(prefix) - 1 && !strncasecmp(p, prefix, sizeof(prefix) - 1)) {
				const char *k = p + sizeof(prefix) - 1;
				size_t klen = len - (sizeof(prefix) - 1);

				if (klen == plen && !strncasecmp(k, path, plen))
					return 1;
				if (is_map && klen > plen && !strncasecmp(k, path, plen) &&
				    k[plen] == '.')
					known = 2;	/* a section: look inside */
			}
			p += len + (bar ? 1 : 0);
		}
	}
	return known;
}

/* Warn about keys under mvbackupfs: that we do not know (likely typos). */
static void warn_unknown(struct loader *L, const struct ynode *n, char *path, size_t plen)
{
	size_t i;

	if (!n || n->type != Y_MAP)
		return;
	for (i = 0; i < n->n; i++) {
		const struct ypair *p = &n->pairs[i];
		size_t klen = strlen(p->key);
		int known;

		if (plen + klen + 2 >= 256)
			continue;
		memcpy(path + plen, p->key, klen + 1);
		known = fs_key_known(path, p->val && p->val->type == Y_MAP);
		if (known == 2) {
			path[plen + klen] = '.';
			path[plen + klen + 1] = '\0';
			warn_unknown(L, p->val, path, plen + klen + 1);
		} else if (!known) {
			log_warn("%s:%d:%d: unknown key 'mvbackupfs.%s' ignored", L->path, p->line,
				 p->col, path);
		}
		path[plen] = '\0';
	}
}

static int load_fs(struct loader *L, struct config *c)
{
	const struct ypair *sec = y_find(L->root, "mvbackupfs");
	char path[256] = "";
	int rc;

	if (sec && sec->val && sec->val->type != Y_MAP && sec->val->type != Y_NULL)
		return errmsg_set(L->err, -EINVAL, "%s:%d:%d: 'mvbackupfs' must be a mapping of "
				  "keys", L->path, sec->val->line, sec->val->col);
	rc = keys_load(L, c, fs_table, NKEYS(fs_table));
	if (rc)
		return rc;
	if (sec)
		warn_unknown(L, sec->val, path, 0);
	return 0;
}

/* ---- init / load / release ---- */

static int storage_defaults(struct storage_config *sc)
{
	/* milvus-backup-format.md §5.3: code defaults, not the sample file's. */
	memset(sc, 0, sizeof(*sc));
	sc->kind = STORAGE_S3;
	sc->port = 9000;
	if (dup_or_null(&sc->provider, "minio") || dup_or_null(&sc->address, "localhost") ||
	    dup_or_null(&sc->region, "") || dup_or_null(&sc->access_key, "minioadmin") ||
	    dup_or_null(&sc->secret_key, "minioadmin") || dup_or_null(&sc->token, "") ||
	    dup_or_null(&sc->bucket, "a-bucket") || dup_or_null(&sc->root_path, "files"))
		return -ENOMEM;
	return 0;
}

int config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	if (storage_defaults(&c->milvus_storage) ||
	    storage_copy(&c->backup_storage, &c->milvus_storage) ||
	    keys_default(c, milvus_table, NKEYS(milvus_table)) ||
	    keys_default(c, backup_table, NKEYS(backup_table)) ||
	    keys_default(c, fs_table, NKEYS(fs_table))) {
		config_release(c);
		return -ENOMEM;
	}
	return 0;
}

void config_release(struct config *c)
{
	free(c->path);
	storage_release(&c->milvus_storage);
	storage_release(&c->backup_storage);
	keys_release(c, milvus_table, NKEYS(milvus_table));
	keys_release(c, backup_table, NKEYS(backup_table));
	keys_release(c, fs_table, NKEYS(fs_table));
	memset(c, 0, sizeof(*c));
}

static int read_file(const char *path, char **text, size_t *len, struct errmsg *err)
{
	struct buf b = BUF_INIT(CONFIG_MAX_BYTES);
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errmsg_set(err, -errno, "cannot read config file '%s': %s", path,
				  strerror(errno));
	for (;;) {
		ssize_t n;

		rc = buf_reserve(&b, 65536 < CONFIG_MAX_BYTES - b.len ? 65536 :
				 CONFIG_MAX_BYTES - b.len);
		if (rc == -E2BIG || (!rc && b.len == CONFIG_MAX_BYTES)) {
			rc = errmsg_set(err, -EFBIG, "cannot read config file '%s': larger than %u "
					"bytes", path, CONFIG_MAX_BYTES);
			break;
		}
		if (rc) {
			rc = errmsg_set(err, rc, "cannot read config file '%s': out of memory", path);
			break;
		}
		n = read(fd, b.p + b.len, b.cap - b.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errmsg_set(err, -errno, "cannot read config file '%s': %s", path,
					strerror(errno));
			break;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
	}
	close(fd);
	if (rc) {
		buf_release(&b);
		return rc;
	}
	*text = buf_detach(&b, len);
	return *text ? 0 : errmsg_set(err, -ENOMEM, "out of memory");
}

/* Instance-role credentials are not implemented (milvus-backup's useIAM). */
static int iam_check(struct loader *L, const struct storage_config *sc, int backup)
{
	if (sc->kind != STORAGE_S3 || !sc->use_iam)
		return 0;
	if (backup)
		return errmsg_set(L->err, -EINVAL, "%s: minio.backupUseIAM is not supported; set "
				  "minio.backupAccessKeyID/minio.backupSecretAccessKey (it inherits "
				  "minio.useIAM when unset)", L->path);
	return errmsg_set(L->err, -EINVAL, "%s: minio.useIAM is not supported; set "
			  "minio.accessKeyID/minio.secretAccessKey", L->path);
}

int config_load(struct config *c, const char *path, struct errmsg *err)
{
	struct loader L = { .path = path ? path : "(no file)", .err = err };
	struct storage_config inherited;
	char *text = NULL;
	size_t len = 0;
	int rc, root_set = 0;

	if (path) {
		if (replace_str(&c->path, path))
			return errmsg_set(err, -ENOMEM, "out of memory");
		rc = read_file(path, &text, &len, err);
		if (rc)
			return rc;
		rc = y_parse(path, text, len, &L.root, err);
		free(text);
		if (rc)
			return rc;
	}

	/* milvus.*, minio.crossStorage, minio.multipartCopyThresholdMiB, backup.* */
	if ((rc = keys_load(&L, c, milvus_table, NKEYS(milvus_table))) ||
	    (rc = keys_load(&L, c, backup_table, NKEYS(backup_table))))
		goto out;

	/* minio.*: the Milvus side, then the backup side inheriting from it. */
	rc = load_side(&L, &milvus_keys, &c->milvus_storage, &root_set);
	if (rc)
		goto out;
	if (storage_copy(&inherited, &c->milvus_storage)) {
		rc = errmsg_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	storage_release(&c->backup_storage);
	c->backup_storage = inherited;
	rc = load_side(&L, &backup_keys, &c->backup_storage, &root_set);
	if (rc)
		goto out;
	/*
	 * The backupRootPath trap (milvus-backup-format.md §5.3: "= minio.rootPath if unset
	 * (then backup)"):
	 *   1. MINIO_BACKUP_ROOT_PATH, when set and not empty;
	 *   2. else minio.backupRootPath from the file, when present and not null (an explicit
	 *      "" means the bucket root);
	 *   3. else the effective minio.rootPath (MINIO_ROOT_PATH > file > "files") - so backups
	 *      land under Milvus' own root path, as milvus-backup puts them;
	 *   4. and when that inherited value is empty (rootPath: ""), "backup".
	 */
	if (!root_set) {
		char *tmp = strdup(c->backup_storage.root_path);

		if (!tmp) {
			rc = errmsg_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		clean_root(tmp, 0);
		if (!*tmp && replace_str(&c->backup_storage.root_path, "backup")) {
			free(tmp);
			rc = errmsg_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		free(tmp);
	}
	if (strcmp(family_of(c->milvus_storage.provider), family_of(c->backup_storage.provider)))
		c->cross_storage = 1;	/* §5.3: auto-true when the storage types differ */
	if ((rc = iam_check(&L, &c->milvus_storage, 0)) ||
	    (rc = iam_check(&L, &c->backup_storage, 1)) ||
	    (rc = finish_side(&L, &c->milvus_storage)) ||
	    (rc = finish_side(&L, &c->backup_storage)))
		goto out;

	rc = load_fs(&L, c);
out:
	ynode_free(L.root);
	return rc;
}

char *config_find_default(void)
{
	static const char *const candidates[] = { "configs/backup.yaml", "backup.yaml" };
	const char *env = getenv("MVBACKUPFS_CONFIG");
	size_t i;

	if (env && *env)
		return strdup(env);
	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (access(candidates[i], F_OK) == 0)
			return strdup(candidates[i]);
	return NULL;
}

int config_open_store(const struct config *c, const struct storage_config *sc,
		      struct objstore **out, struct errmsg *err)
{
	struct s3_config s3 = { 0 };

	*out = NULL;
	if (sc->kind == STORAGE_LOCAL)
		return local_store_new(sc->local_base ? sc->local_base : ".", out, err);
	if (sc->use_iam)
		return errmsg_set(err, -EINVAL, "useIAM is not supported; set accessKeyID/"
				  "secretAccessKey");
	s3.host = sc->address;
	s3.port = sc->port;
	s3.use_ssl = sc->use_ssl;
	s3.ca_file = c->fs.ca_file && *c->fs.ca_file ? c->fs.ca_file : NULL;
	s3.virtual_host = c->fs.virtual_host;
	s3.region = sc->region;
	s3.access_key = sc->access_key;
	s3.secret_key = sc->secret_key;
	s3.session_token = sc->token && *sc->token ? sc->token : NULL;
	s3.bucket = sc->bucket;
	s3.request_timeout_ms = c->fs.request_timeout_ms;
	s3.max_tries = c->fs.max_tries;
	s3.multipart_copy_threshold = c->multipart_copy_threshold;
	return s3_store_new(&s3, out, err);
}

int config_same_bucket(const struct storage_config *a, const struct storage_config *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == STORAGE_LOCAL)
		return a->local_base && b->local_base && !strcmp(a->local_base, b->local_base);
	return a->address && b->address && !strcasecmp(a->address, b->address) &&
	       a->port == b->port && a->bucket && b->bucket && !strcmp(a->bucket, b->bucket);
}

/* `inner` equals `outer` or lies below it ("" contains everything). */
static int path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	return !n || (!strncmp(inner, outer, n) && (!inner[n] || inner[n] == '/'));
}

int config_backups_share_milvus_root(const struct config *c)
{
	const char *m = c->milvus_storage.root_path, *b = c->backup_storage.root_path;

	if (!m || !b || !config_same_bucket(&c->milvus_storage, &c->backup_storage))
		return 0;
	return path_within(m, b) || path_within(b, m);
}

/* ---- dump ---- */

static void mask_id(const char *id, char *out, size_t outsz)
{
	if (!id || !*id)
		snprintf(out, outsz, "%s", "");
	else if (strlen(id) <= 8)
		snprintf(out, outsz, "****");
	else
		snprintf(out, outsz, "%.4s****", id);
}

static int dump_side(struct buf *out, const struct storage_config *sc, int backup)
{
	const char *p = backup ? "minio.backup" : "minio.";
	char id[32];
	int rc = 0;

	mask_id(sc->access_key, id, sizeof(id));
	rc |= buf_addf(out, "%s%s: %s\n", p, backup ? "StorageType" : "storageType",
		       sc->provider ? sc->provider : "");
	rc |= buf_addf(out, "%s%s: %s\n", p, backup ? "Address" : "address", sc->address);
	rc |= buf_addf(out, "%s%s: %d\n", p, backup ? "Port" : "port", sc->port);
	rc |= buf_addf(out, "%s%s: %s\n", p, backup ? "Region" : "region", sc->region);
	rc |= buf_addf(out, "%s%s: %s\n", p, backup ? "AccessKeyID" : "accessKeyID", id);
	rc |= buf_addf(out, "%s%s: %s\n", p, backup ? "SecretAccessKey" : "secretAccessKey",
		       mask(sc->secret_key));
	rc |= buf_addf(out, "%s%s: %s\n", p, backup ? "Token" : "token", mask(sc->token));
	rc |= buf_addf(out, "%s%s: %s\n", p, backup ? "UseSSL" : "useSSL",
		       sc->use_ssl ? "true" : "false");
	rc |= buf_addf(out, "%s%s: %s\n", p, backup ? "BucketName" : "bucketName", sc->bucket);
	rc |= buf_addf(out, "%s%s: %s\n", p, backup ? "RootPath" : "rootPath", sc->root_path);
	if (sc->kind == STORAGE_LOCAL)
		rc |= buf_addf(out, "# %s: local directory %s%s%s\n",
			       backup ? "backup side" : "milvus side", sc->local_base,
			       strcmp(sc->local_base, "/") && *sc->root_path ? "/" : "",
			       sc->root_path);
	return rc ? -E2BIG : 0;
}

int config_dump(const struct config *c, struct buf *out)
{
	if (buf_addf(out, "# config file: %s\n", c->path ? c->path : "(none)") ||
	    keys_dump(c, milvus_table, NKEYS(milvus_table), out) ||
	    dump_side(out, &c->milvus_storage, 0) || dump_side(out, &c->backup_storage, 1) ||
	    keys_dump(c, backup_table, NKEYS(backup_table), out) ||
	    keys_dump(c, fs_table, NKEYS(fs_table), out))
		return -E2BIG;
	return 0;
}
