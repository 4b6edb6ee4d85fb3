/*
 * config.c - milvus-backup's backup.yaml (v1 schema) plus our `mvbackupfs:` section (see
 * config.h and docs/configuration.md).
 *
 * The file is parsed once into a small typed tree with positions (ytree.c) so that every
 * error can name FILE:LINE:COL; the tree is then read key by key into struct config: the two
 * storage sides here, every other key through the key table (keys.c).  Precedence for every milvus-backup key is
 * environment > file > code default (milvus-backup-format.md §5.3), and every minio.backup*
 * value inherits the effective Milvus-side value when neither the file nor the environment
 * sets it.  Keys are matched case-insensitively, as milvus-backup's config loader lower-cases
 * them.
 */
#include "config_internal.h"

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

#include "mvbackupfs/storage/local.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/storage/s3.h"
#include "mvbackupfs/base/timefmt.h"

#define CONFIG_MAX_BYTES (1u << 20)	/* a backup.yaml is a few KiB */

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
	int rc = cfg_fetch(L, keys, NULL, &v), i;

	if (rc || !v.s)
		return rc;
	i = storage_type_find(v.s);
	if (i < 0)
		return cfg_bad(L, &v, "unknown storage type; expected one of local, minio, s3, aws, "
			   "gcp, aliyun, tencent, hwc");
	if (storage_types[i].kind < 0)
		return cfg_bad(L, &v, "storage type not supported yet (mvbackupfs speaks S3 and "
			   "local directories only)");
	sc->kind = (enum storage_kind)storage_types[i].kind;
	if (cfg_replace_str(&sc->provider, v.s))
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
	    (rc = cfg_get_str(L, k->address, k->e_address, &sc->address, NULL)) ||
	    (rc = cfg_get_int(L, k->port, k->e_port, 1, 65535, &sc->port)) ||
	    (rc = cfg_get_str(L, k->region, k->e_region, &sc->region, NULL)) ||
	    (rc = cfg_get_str(L, k->access_key, k->e_access_key, &sc->access_key, NULL)) ||
	    (rc = cfg_get_str(L, k->secret_key, k->e_secret_key, &sc->secret_key, NULL)) ||
	    (rc = cfg_get_str(L, k->token, k->e_token, &sc->token, NULL)) ||
	    (rc = cfg_get_bool(L, k->use_ssl, k->e_use_ssl, &sc->use_ssl)) ||
	    (rc = cfg_get_bool(L, k->use_iam, k->e_use_iam, &sc->use_iam)) ||
	    (rc = cfg_get_str(L, k->bucket, k->e_bucket, &sc->bucket, NULL)) ||
	    (rc = cfg_get_str(L, k->root_path, k->e_root_path, &sc->root_path, root_set)))
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
	    config_keys_default(c)) {
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
	config_keys_release(c);
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
		if (cfg_replace_str(&c->path, path))
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
	if ((rc = config_keys_load_milvus(&L, c)))
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
		if (!*tmp && cfg_replace_str(&c->backup_storage.root_path, "backup")) {
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

	rc = config_keys_load_fs(&L, c);
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
		       cfg_mask(sc->secret_key));
	rc |= buf_addf(out, "%s%s: %s\n", p, backup ? "Token" : "token", cfg_mask(sc->token));
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
	    config_keys_dump(c, CONFIG_KEYS_MILVUS, out) ||
	    dump_side(out, &c->milvus_storage, 0) || dump_side(out, &c->backup_storage, 1) ||
	    config_keys_dump(c, CONFIG_KEYS_BACKUP, out) || config_keys_dump(c, CONFIG_KEYS_FS, out))
		return -E2BIG;
	return 0;
}
