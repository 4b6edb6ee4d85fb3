/*
 * config.h - milvus-backup's backup.yaml (v1 schema, milvus-backup-format.md §5.3) read with
 * libyaml, plus our own top-level `mvbackupfs:` section (which milvus-backup ignores).
 *
 * A user's existing milvus-backup config works unchanged: the same keys and aliases, the same
 * code defaults, the same environment overrides (env > file > default) and the same
 * inheritance (every minio.backup* key inherits its Milvus-side value; backupRootPath falls
 * back to rootPath - the "backupRootPath trap" - and then to "backup").
 *
 * All strings are owned by the struct and freed by config_release.  Secrets (passwords,
 * secret keys, tokens) must never be logged; config_dump() masks them.
 */
#ifndef MVBACKUPFS_CONFIG_H
#define MVBACKUPFS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/err.h"
#include "mvbackupfs/storage/objstore.h"

enum storage_kind { STORAGE_S3 = 0, STORAGE_LOCAL };

/* One side of minio.*: the Milvus bucket, or the backup bucket. */
struct storage_config {
	enum storage_kind kind;
	char *provider;		/* as written: "minio", "s3", "aws", "local", ... */
	char *address;		/* host, without scheme */
	int port;
	char *region;
	char *access_key;
	char *secret_key;	/* secret */
	char *token;		/* secret, may be "" */
	int use_ssl;
	int use_iam;		/* not supported yet: config_load fails with a clear message */
	char *bucket;
	char *root_path;	/* cleaned: no leading/trailing '/', "" for the bucket root */
	char *local_base;	/* STORAGE_LOCAL only (else NULL): the local store's base directory.
				 * "/" when the configured root path was absolute, else the working
				 * directory at load time; keys are root_path/... below it (see
				 * docs/configuration.md, "local storage") */
};

struct milvus_config {
	char *address;
	int port;
	char *user;
	char *password;		/* secret */
	int tls_mode;		/* 0 off, 1 one-way, 2 mutual */
	char *ca_cert_path;
	char *server_name;
	char *mtls_cert_path;
	char *mtls_key_path;
	char *gc_pause_address;	/* backup.gcPause.address */
	int gc_pause_enable;	/* backup.gcPause.enable */
};

/* Our own section: mvbackupfs.* (all optional; exact YAML keys in docs/configuration.md). */
struct mvbackupfs_config {
	int cache_ttl_ms;		/* mvbackupfs.cache.ttlMs: listings of uncommitted data; default 2000 */
	uint64_t memory_budget;		/* mvbackupfs.memory.budget (bytes, "96MiB"); default 96 MiB */
	uint64_t readahead_max;		/* mvbackupfs.readahead.max: per-file window cap; default 64 MiB */
	int read_parallel;		/* mvbackupfs.readahead.parallel: parts in flight per file; default 8 */
	int copy_parallel;		/* mvbackupfs.snapshot.parallel (server-side copies); default 32 */
	char *snapshot_filter;		/* mvbackupfs.snapshot.filter, "" = everything */
	char *schedule;			/* mvbackupfs.schedule, "" = none */
	int64_t retention_s;		/* mvbackupfs.retention; default 3 days; "never" = 0 */
	int64_t manual_retention_s;	/* mvbackupfs.manual_retention; default 0 = never */
	int auto_delete;		/* mvbackupfs.delete_expired (aliases deleteExpired,
					 * autoDelete, auto_delete); default 1; 0 = only mark */
	int keep_min;			/* mvbackupfs.keep_min (keepMin): the newest N complete
					 * backups never expire away; default 1 */
	int virtual_host;		/* mvbackupfs.s3.virtualHost; default 0 (path style) */
	char *ca_file;			/* mvbackupfs.s3.caFile, "" = system store */
	int request_timeout_ms;		/* mvbackupfs.s3.requestTimeoutMs; default 30000 */
	int max_tries;			/* mvbackupfs.s3.maxTries; default 6 */
};

struct config {
	char *path;				/* the file that was read */
	struct storage_config milvus_storage;	/* minio.* (Milvus' own bucket) */
	struct storage_config backup_storage;	/* minio.backup* (where backups live) */
	struct milvus_config milvus;
	int cross_storage;			/* minio.crossStorage (stream instead of CopyObject) */
	uint64_t multipart_copy_threshold;	/* minio.multipartCopyThresholdMiB, bytes */
	int copy_parallel;			/* backup.parallelism.copydata: milvus-backup's own;
						 * shown by --print-config only, the snapshot
						 * uses mvbackupfs.snapshot.parallel */
	struct mvbackupfs_config fs;
};

/* Zero the struct and fill in every default.  Allocates (the default strings). */
int config_init(struct config *c);

/* Read `path` over the defaults, then apply environment overrides.  YAML syntax errors are
 * reported as "FILE:LINE:COL: message" (-EINVAL); unreadable file -errno; unknown storage
 * type / bad value -EINVAL naming the key.  Unknown keys are ignored (milvus-backup's own
 * keys we do not use); unknown keys inside `mvbackupfs:` are logged as warnings.
 * `c` must come from config_init.  `path` may be NULL: defaults and environment only.  The
 * backup side is always re-derived from the Milvus side (inheritance), so values set in `c`
 * by hand before the call are only kept for keys the file and environment leave unset.
 * On error `c` is still valid (partly loaded): release it with config_release. */
int config_load(struct config *c, const char *path, struct errmsg *err);

/* Append the resolved configuration to `out`, one "key: value" line per setting, named by
 * their YAML keys (for `mvbackupfs --print-config`).  Passwords, secret keys and tokens
 * print as "****" (empty ones as ""); access key IDs show only their first 4 characters.
 * Returns 0, -E2BIG or -ENOMEM. */
int config_dump(const struct config *c, struct buf *out);

/* Which file to read when no -c was given: $MVBACKUPFS_CONFIG, then ./configs/backup.yaml,
 * then ./backup.yaml.  Returns a malloc'd path, or NULL when none exists.  A non-empty
 * $MVBACKUPFS_CONFIG is returned even when the file is missing, so that config_load reports
 * it instead of silently reading another file. */
char *config_find_default(void);

/* Build the object store for one side (S3 or local) from a storage_config.  The `fs` part
 * supplies timeouts, CA and addressing style. */
int config_open_store(const struct config *c, const struct storage_config *sc,
		      struct objstore **out, struct errmsg *err);

/* Parse "96MiB", "1G", "512k", "512" (bytes) -> bytes; -EINVAL on junk or overflow.  Units
 * (case-insensitive, optionally after one space) are binary: k/kb/kib = 1024, m, g, t;
 * "b" = bytes. */
int config_parse_size(const char *s, uint64_t *out);


/* `url` for logs and dumps: "user:password@" after the scheme is replaced by "****@", so a
 * credential written into an address never reaches a log line. */
void config_redact_url(const char *url, char *out, size_t size);

/* 1 when the two sides are one bucket: the same storage kind and, for S3, the same address
 * (case-insensitive), port and bucket; for local storage the same base directory.  Then
 * their root paths are key prefixes of one namespace. */
int config_same_bucket(const struct storage_config *a, const struct storage_config *b);

/* 1 when backups share Milvus's own root (issue 6): the backup side and the Milvus side are
 * one bucket (config_same_bucket) and backupRootPath equals rootPath, or one lies inside
 * the other ("" contains everything).  Milvus's data directories can then appear among the
 * backups; the mount protects them (backup_admin.h) and warns at startup. */
int config_backups_share_milvus_root(const struct config *c);

void config_release(struct config *c);

#endif
