/*
 * keys.c - reading values (environment > file > default, milvus-backup-format.md §5.3) and
 * the key table that lists every single-valued key once (config_internal.h).
 */
#include "config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mvbackupfs/base/log.h"
#include "mvbackupfs/base/schedule.h"
#include "mvbackupfs/base/timefmt.h"

/* Look `keys` ("a.b|c.d": aliases, first present wins) up in the environment variable `env`
 * (NULL: none; empty counts as unset), then in the file. */
int cfg_fetch(struct loader *L, const char *keys, const char *env, struct val *v)
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
int cfg_bad(struct loader *L, const struct val *v, const char *expect)
{
	char name[128];

	val_name(v, name, sizeof(name));
	if (v->env)
		return errmsg_set(L->err, -EINVAL, "invalid value '%s' for '%s' (from environment "
				  "variable %s): %s", v->s, name, v->env, expect);
	return errmsg_set(L->err, -EINVAL, "%s:%d:%d: invalid value '%s' for '%s': %s", L->path,
			  v->line, v->col, v->s, name, expect);
}

int cfg_replace_str(char **dst, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

/* Each get_* leaves *dst untouched when the setting is unset; *set (optional) tells. */
int cfg_get_str(struct loader *L, const char *keys, const char *env, char **dst, int *set)
{
	struct val v;
	int rc = cfg_fetch(L, keys, env, &v);

	if (set)
		*set = 0;
	if (rc || !v.s)
		return rc;
	if (set)
		*set = 1;
	if (cfg_replace_str(dst, v.s))
		return errmsg_set(L->err, -ENOMEM, "out of memory");
	return 0;
}

int cfg_parse_bool(const char *s, int *out)
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

int cfg_get_bool(struct loader *L, const char *keys, const char *env, int *dst)
{
	struct val v;
	int rc = cfg_fetch(L, keys, env, &v);

	if (rc || !v.s)
		return rc;
	if (cfg_parse_bool(v.s, dst))
		return cfg_bad(L, &v, "expected true or false");
	return 0;
}

int cfg_parse_long(const char *s, long *out)
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

int cfg_get_int(struct loader *L, const char *keys, const char *env, long lo, long hi,
		   int *dst)
{
	char expect[96];
	struct val v;
	long n;
	int rc = cfg_fetch(L, keys, env, &v);

	if (rc || !v.s)
		return rc;
	if (cfg_parse_long(v.s, &n) || n < lo || n > hi) {
		snprintf(expect, sizeof(expect), "expected an integer from %ld to %ld", lo, hi);
		return cfg_bad(L, &v, expect);
	}
	*dst = (int)n;
	return 0;
}

/* ---- dump helpers ---- */

const char *cfg_mask(const char *secret)
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
	/* at least 16 MiB: room for two 8 MiB upload parts (a multipart upload buffers whole
	 * parts, S3 wants 5 MiB at least; below 8 MiB every copy-in of a large file failed ENOBUFS) */
	KEY("mvbackupfs.memory.budget", NULL, K_SIZE, fs.memory_budget, "96MiB", 16 * MIB, 0, 0),
	KEY("mvbackupfs.readahead.max", NULL, K_SIZE, fs.readahead_max, "64MiB", 0, 0, 0),
	KEY("mvbackupfs.readahead.parallel", NULL, K_INT, fs.read_parallel, "8", 1, 256, 0),
	KEY("mvbackupfs.snapshot.parallel", NULL, K_INT, fs.copy_parallel, "32", 1, 1024, 0),
	KEY("mvbackupfs.snapshot.filter", NULL, K_STR, fs.snapshot_filter, "", 0, 0, 0),
	KEY("mvbackupfs.schedule", NULL, K_STR, fs.schedule, "", 0, 0, 0),
	KEY("mvbackupfs.retention", NULL, K_DURATION, fs.retention_s, "3d", 0, 0, 0),
	KEY("mvbackupfs.manual_retention|mvbackupfs.manualRetention", NULL, K_DURATION,
	    fs.manual_retention_s, "never", 0, 0, K_NEVER),
	KEY("mvbackupfs.delete_expired|mvbackupfs.deleteExpired|mvbackupfs.autoDelete|"
	    "mvbackupfs.auto_delete", NULL, K_BOOL, fs.auto_delete, "true", 0, 0, 0),
	KEY("mvbackupfs.keep_min|mvbackupfs.keepMin", NULL, K_INT, fs.keep_min, "1", 0, 1000000, 0),
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
		return cfg_replace_str((char **)p, text);
	case K_BOOL:
		if (cfg_parse_bool(text, &b)) {
			snprintf(expect, expectsz, "expected true or false");
			return -EINVAL;
		}
		*(int *)p = b;
		return 0;
	case K_INT:
	case K_MIB:
		if (cfg_parse_long(text, &n) || n < k->min || n > k->max) {
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
		if (config_parse_size(text, &sz)) {
			snprintf(expect, expectsz,
				 "expected a size such as 96MiB, 1G, 512k or a number of bytes");
			return -EINVAL;
		}
		if (sz < (uint64_t)k->min) {
			snprintf(expect, expectsz, "expected at least %lldMiB", k->min >> 20);
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
		rc = cfg_fetch(L, t[i].yaml, t[i].env, &v);
		if (rc)
			return rc;
		if (!v.s)
			continue;
		rc = key_set(c, &t[i], v.s, expect, sizeof(expect));
		if (rc == -ENOMEM)
			return errmsg_set(L->err, -ENOMEM, "out of memory");
		if (rc)
			return cfg_bad(L, &v, expect);
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
			rc |= buf_addf(out, "%s: %s\n", name, cfg_mask(*(char *const *)p));
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

/* Startup validates the schedule (spec §2): a typo must not mean "no backups". */
static int check_schedule(struct loader *L, const char *spec)
{
	struct schedule sch;
	struct errmsg e = { { 0 } };
	int rc;

	if (!spec || !*spec)
		return 0;
	rc = schedule_parse(spec, &sch, &e);
	return rc ? errmsg_set(L->err, rc, "%s: mvbackupfs.schedule: %s", L->path, e.msg) : 0;
}

int config_keys_load_fs(struct loader *L, struct config *c)
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
	return check_schedule(L, c->fs.schedule);
}

int config_keys_default(struct config *c)
{
	return keys_default(c, milvus_table, NKEYS(milvus_table)) ||
	       keys_default(c, backup_table, NKEYS(backup_table)) ||
	       keys_default(c, fs_table, NKEYS(fs_table)) ? -ENOMEM : 0;
}

int config_keys_load_milvus(struct loader *L, struct config *c)
{
	int rc = keys_load(L, c, milvus_table, NKEYS(milvus_table));

	return rc ? rc : keys_load(L, c, backup_table, NKEYS(backup_table));
}

void config_keys_release(struct config *c)
{
	keys_release(c, milvus_table, NKEYS(milvus_table));
	keys_release(c, backup_table, NKEYS(backup_table));
	keys_release(c, fs_table, NKEYS(fs_table));
}

int config_keys_dump(const struct config *c, enum config_keys_part part, struct buf *out)
{
	switch (part) {
	case CONFIG_KEYS_MILVUS:
		return keys_dump(c, milvus_table, NKEYS(milvus_table), out);
	case CONFIG_KEYS_BACKUP:
		return keys_dump(c, backup_table, NKEYS(backup_table), out);
	case CONFIG_KEYS_FS:
		return keys_dump(c, fs_table, NKEYS(fs_table), out);
	}
	return -EINVAL;
}
