/*
 * test_config.c - backup.yaml loading (milvus/config/config.c): milvus-backup's defaults, its sample
 * file, the backupRootPath trap, backup* inheritance, environment overrides, errors with
 * FILE:LINE:COL, the mvbackupfs: section, local storage, secrets masking, and the size and
 * duration parsers.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mvbackupfs/config/config.h"
#include "mvbackupfs/base/timefmt.h"

static const char *const env_vars[] = {
	"MILVUS_ADDRESS", "MILVUS_PORT", "MILVUS_USER", "MILVUS_PASSWORD", "MILVUS_TLS_MODE",
	"MINIO_ADDRESS", "MINIO_PORT", "MINIO_REGION", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY",
	"MINIO_TOKEN", "MINIO_USE_SSL", "MINIO_USE_IAM", "MINIO_BUCKET_NAME", "MINIO_ROOT_PATH",
	"MINIO_BACKUP_ADDRESS", "MINIO_BACKUP_PORT", "MINIO_BACKUP_REGION",
	"MINIO_BACKUP_ACCESS_KEY", "MINIO_BACKUP_SECRET_KEY", "MINIO_BACKUP_TOKEN",
	"MINIO_BACKUP_USE_SSL", "MINIO_BACKUP_USE_IAM", "MINIO_BACKUP_BUCKET_NAME",
	"MINIO_BACKUP_ROOT_PATH", "BACKUP_GC_PAUSE_ENABLE", "BACKUP_GC_PAUSE_ADDRESS",
	"BACKUP_PARALLELISM_COPYDATA", "MVBACKUPFS_CONFIG",
};

static char tmpfile_path[64];

static int clear_env(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
	return 0;
}

static int cleanup(void **state)
{
	if (tmpfile_path[0])
		unlink(tmpfile_path);
	tmpfile_path[0] = '\0';
	return clear_env(state);
}

/* Write `yaml` to a fresh temporary file; returns its path. */
static const char *yaml_file(const char *yaml)
{
	FILE *f;
	int fd;

	if (tmpfile_path[0])
		unlink(tmpfile_path);
	snprintf(tmpfile_path, sizeof(tmpfile_path), "/tmp/test_config.XXXXXX");
	fd = mkstemp(tmpfile_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(yaml, f);
	fclose(f);
	return tmpfile_path;
}

/* Load `yaml` into *c; returns config_load's code (err filled). */
static int load(struct config *c, const char *yaml, struct errmsg *err)
{
	assert_int_equal(config_init(c), 0);
	return config_load(c, yaml ? yaml_file(yaml) : NULL, err);
}

static void load_ok(struct config *c, const char *yaml)
{
	struct errmsg err = { { 0 } };
	int rc = load(c, yaml, &err);

	if (rc)
		fail_msg("config_load: %s", errmsg_str(&err, rc));
}

static void test_defaults(void **state)
{
	struct config c;

	(void)state;
	/* A file without any of our keys: milvus-backup's code defaults, §5.3. */
	load_ok(&c, "log:\n  level: debug\ncloud:\n  address: x\n");
	assert_string_equal(c.milvus.address, "localhost");
	assert_int_equal(c.milvus.port, 19530);
	assert_string_equal(c.milvus.user, "");
	assert_int_equal(c.milvus.tls_mode, 0);
	assert_int_equal(c.milvus.gc_pause_enable, 1);
	assert_string_equal(c.milvus.gc_pause_address, "http://localhost:9091");
	assert_int_equal(c.milvus_storage.kind, STORAGE_S3);
	assert_string_equal(c.milvus_storage.provider, "minio");
	assert_string_equal(c.milvus_storage.address, "localhost");
	assert_int_equal(c.milvus_storage.port, 9000);
	assert_string_equal(c.milvus_storage.access_key, "minioadmin");
	assert_string_equal(c.milvus_storage.secret_key, "minioadmin");
	assert_string_equal(c.milvus_storage.bucket, "a-bucket");
	assert_string_equal(c.milvus_storage.root_path, "files");
	assert_int_equal(c.milvus_storage.use_ssl, 0);
	assert_null(c.milvus_storage.local_base);
	/* The backup side inherits everything, including rootPath (the trap). */
	assert_string_equal(c.backup_storage.bucket, "a-bucket");
	assert_string_equal(c.backup_storage.root_path, "files");
	assert_string_equal(c.backup_storage.address, "localhost");
	assert_int_equal(c.cross_storage, 0);
	assert_int_equal(c.multipart_copy_threshold, 500ull << 20);
	assert_int_equal(c.copy_parallel, 128);
	assert_int_equal(c.fs.cache_ttl_ms, 2000);
	assert_int_equal(c.fs.memory_budget, 96ull << 20);
	assert_int_equal(c.fs.readahead_max, 64ull << 20);
	assert_int_equal(c.fs.read_parallel, 8);
	assert_int_equal(c.fs.copy_parallel, 32);
	assert_int_equal(c.fs.retention_s, 3 * 86400);
	assert_int_equal(c.fs.manual_retention_s, 0);
	assert_int_equal(c.fs.auto_delete, 1);
	assert_int_equal(c.fs.virtual_host, 0);
	assert_int_equal(c.fs.request_timeout_ms, 30000);
	assert_int_equal(c.fs.max_tries, 6);
	config_release(&c);

	/* No file at all, and an empty file, give the same. */
	load_ok(&c, NULL);
	assert_null(c.path);
	assert_string_equal(c.backup_storage.root_path, "files");
	config_release(&c);
	load_ok(&c, "");
	assert_string_equal(c.milvus_storage.bucket, "a-bucket");
	config_release(&c);
}

static void test_sample_file(void **state)
{
	struct errmsg err = { { 0 } };
	struct config c;
	int rc;

	(void)state;
	assert_int_equal(config_init(&c), 0);
	rc = config_load(&c, MVB_FIXTURES "/config/backup.yaml", &err);
	if (rc)
		fail_msg("%s", errmsg_str(&err, rc));
	assert_string_equal(c.path, MVB_FIXTURES "/config/backup.yaml");
	assert_string_equal(c.milvus.address, "milvus-a.example.internal");
	assert_string_equal(c.milvus.user, "root");
	assert_string_equal(c.milvus.password, "Milvus");
	assert_string_equal(c.milvus_storage.bucket, "milvus-bucket");
	assert_string_equal(c.milvus_storage.root_path, "file");
	assert_string_equal(c.backup_storage.bucket, "backup-bucket");
	assert_string_equal(c.backup_storage.root_path, "backup");
	assert_string_equal(c.backup_storage.address, "minio-a.example.internal");
	assert_int_equal(c.backup_storage.kind, STORAGE_S3);
	assert_int_equal(c.cross_storage, 0);	/* written as the string "false" */
	assert_int_equal(c.copy_parallel, 64);
	assert_int_equal(c.milvus.gc_pause_enable, 1);
	assert_string_equal(c.milvus.gc_pause_address, "http://milvus-a.example.internal:9091");
	config_release(&c);
}

static void test_backup_root_trap(void **state)
{
	struct config c;

	(void)state;
	/* Unset: backups land under Milvus' rootPath, as milvus-backup puts them. */
	load_ok(&c, "minio:\n  rootPath: file\n  backupBucketName: b\n");
	assert_string_equal(c.backup_storage.root_path, "file");
	assert_string_equal(c.backup_storage.bucket, "b");
	config_release(&c);
	/* Unset, and rootPath empty too: "backup". */
	load_ok(&c, "minio:\n  rootPath: \"\"\n");
	assert_string_equal(c.milvus_storage.root_path, "");
	assert_string_equal(c.backup_storage.root_path, "backup");
	config_release(&c);
	/* rootPath: "/" cleans to empty as well. */
	load_ok(&c, "minio:\n  rootPath: /\n");
	assert_string_equal(c.backup_storage.root_path, "backup");
	config_release(&c);
	/* Set: used, cleaned; an explicit "" means the bucket root. */
	load_ok(&c, "minio:\n  rootPath: files\n  backupRootPath: /my//backups/\n");
	assert_string_equal(c.backup_storage.root_path, "my/backups");
	assert_string_equal(c.milvus_storage.root_path, "files");
	config_release(&c);
	load_ok(&c, "minio:\n  rootPath: files\n  backupRootPath: \"\"\n");
	assert_string_equal(c.backup_storage.root_path, "");
	config_release(&c);
	/* A null value (key present, nothing after it) is unset. */
	load_ok(&c, "minio:\n  rootPath: files\n  backupRootPath:\n");
	assert_string_equal(c.backup_storage.root_path, "files");
	config_release(&c);
	/* The environment counts as set. */
	setenv("MINIO_BACKUP_ROOT_PATH", "from-env", 1);
	load_ok(&c, "minio:\n  backupRootPath: from-file\n");
	assert_string_equal(c.backup_storage.root_path, "from-env");
	config_release(&c);
	unsetenv("MINIO_BACKUP_ROOT_PATH");
	setenv("MINIO_ROOT_PATH", "milvus-env", 1);
	load_ok(&c, "minio:\n  rootPath: files\n");
	assert_string_equal(c.backup_storage.root_path, "milvus-env");
	config_release(&c);
}

static void test_inheritance(void **state)
{
	struct config c;

	(void)state;
	load_ok(&c, "minio:\n"
		    "  storageType: s3\n"
		    "  address: s3.example.com\n"
		    "  port: 443\n"
		    "  region: eu-west-1\n"
		    "  accessKeyID: AKIAEXAMPLE\n"
		    "  secretAccessKey: secret\n"
		    "  useSSL: true\n"
		    "  bucketName: milvus\n"
		    "  backupBucketName: backups\n"
		    "  backupRegion: eu-west-2\n");
	assert_int_equal(c.backup_storage.kind, STORAGE_S3);
	assert_string_equal(c.backup_storage.provider, "s3");
	assert_string_equal(c.backup_storage.address, "s3.example.com");
	assert_int_equal(c.backup_storage.port, 443);
	assert_string_equal(c.backup_storage.region, "eu-west-2");
	assert_string_equal(c.backup_storage.access_key, "AKIAEXAMPLE");
	assert_string_equal(c.backup_storage.secret_key, "secret");
	assert_int_equal(c.backup_storage.use_ssl, 1);
	assert_string_equal(c.backup_storage.bucket, "backups");
	assert_string_equal(c.milvus_storage.bucket, "milvus");
	config_release(&c);

	/* Milvus-side environment values are inherited too; backup env beats both. */
	setenv("MINIO_ADDRESS", "env-host", 1);
	setenv("MINIO_SECRET_KEY", "env-secret", 1);
	setenv("MINIO_BACKUP_SECRET_KEY", "env-backup-secret", 1);
	load_ok(&c, "minio:\n  address: file-host\n  backupSecretAccessKey: file-backup-secret\n");
	assert_string_equal(c.milvus_storage.address, "env-host");
	assert_string_equal(c.backup_storage.address, "env-host");
	assert_string_equal(c.milvus_storage.secret_key, "env-secret");
	assert_string_equal(c.backup_storage.secret_key, "env-backup-secret");
	config_release(&c);
	/* A backup key in the file beats an inherited Milvus-side env value. */
	load_ok(&c, "minio:\n  backupAddress: backup-file-host\n");
	assert_string_equal(c.backup_storage.address, "backup-file-host");
	config_release(&c);

	/* Storage type aliases; the backup side follows, and differing types imply
	 * crossStorage. */
	load_ok(&c, "storage:\n  storageType: aliyun\n");
	assert_string_equal(c.backup_storage.provider, "aliyun");
	assert_int_equal(c.cross_storage, 0);
	config_release(&c);
	load_ok(&c, "minio:\n  cloudProvider: aws\nstorage:\n  backupStorageType: minio\n");
	assert_string_equal(c.milvus_storage.provider, "aws");
	assert_string_equal(c.backup_storage.provider, "minio");
	assert_int_equal(c.cross_storage, 1);
	config_release(&c);
	/* Keys are case-insensitive, as in milvus-backup. */
	load_ok(&c, "MINIO:\n  BucketName: upper\n");
	assert_string_equal(c.milvus_storage.bucket, "upper");
	config_release(&c);
}

static void test_env_overrides(void **state)
{
	struct errmsg err = { { 0 } };
	struct config c;

	(void)state;
	setenv("MILVUS_ADDRESS", "milvus-env", 1);
	setenv("MILVUS_PORT", "29530", 1);
	setenv("MILVUS_USER", "alice", 1);
	setenv("MILVUS_PASSWORD", "pw", 1);
	setenv("MILVUS_TLS_MODE", "1", 1);
	setenv("MINIO_PORT", "9100", 1);
	setenv("MINIO_USE_SSL", "true", 1);
	setenv("MINIO_BUCKET_NAME", "env-bucket", 1);
	setenv("MINIO_BACKUP_BUCKET_NAME", "env-backup-bucket", 1);
	setenv("BACKUP_GC_PAUSE_ENABLE", "false", 1);
	setenv("BACKUP_PARALLELISM_COPYDATA", "7", 1);
	setenv("MINIO_REGION", "", 1);	/* empty = unset */
	load_ok(&c, "milvus:\n  address: file\n  port: 1\nminio:\n  region: file-region\n"
		    "  bucketName: file-bucket\n");
	assert_string_equal(c.milvus.address, "milvus-env");
	assert_int_equal(c.milvus.port, 29530);
	assert_string_equal(c.milvus.user, "alice");
	assert_string_equal(c.milvus.password, "pw");
	assert_int_equal(c.milvus.tls_mode, 1);
	assert_int_equal(c.milvus_storage.port, 9100);
	assert_int_equal(c.backup_storage.port, 9100);
	assert_int_equal(c.milvus_storage.use_ssl, 1);
	assert_string_equal(c.milvus_storage.region, "file-region");
	assert_string_equal(c.milvus_storage.bucket, "env-bucket");
	assert_string_equal(c.backup_storage.bucket, "env-backup-bucket");
	assert_int_equal(c.milvus.gc_pause_enable, 0);
	assert_int_equal(c.copy_parallel, 7);
	config_release(&c);

	/* A bad value from the environment names the variable. */
	setenv("MILVUS_PORT", "nineteen", 1);
	assert_int_equal(load(&c, "milvus:\n  port: 19530\n", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "MILVUS_PORT"));
	assert_non_null(strstr(err.msg, "nineteen"));
	config_release(&c);
}

static void test_yaml_syntax_error(void **state)
{
	struct errmsg err = { { 0 } };
	struct config c;
	char want[128];

	(void)state;
	assert_int_equal(load(&c, "milvus:\n  port: 1\n   bad: x\n", &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:3:", tmpfile_path);
	assert_non_null(strstr(err.msg, want));
	config_release(&c);

	assert_int_equal(load(&c, "minio:\n  address: [unclosed\n", &err), -EINVAL);
	assert_non_null(strstr(err.msg, tmpfile_path));
	assert_non_null(strchr(err.msg, ':'));
	config_release(&c);

	/* Tabs for indentation are a classic. */
	assert_int_equal(load(&c, "minio:\n\taddress: x\n", &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:", tmpfile_path);
	assert_non_null(strstr(err.msg, want));
	config_release(&c);

	/* Duplicate keys are refused, naming both lines. */
	assert_int_equal(load(&c, "minio:\n  port: 1\n  port: 2\n", &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:3:3: duplicate key 'port'", tmpfile_path);
	assert_non_null(strstr(err.msg, want));
	config_release(&c);

	/* A section where a value belongs. */
	assert_int_equal(load(&c, "minio:\n  port:\n    x: 1\n", &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:3:5: 'minio.port' must be a single value", tmpfile_path);
	assert_non_null(strstr(err.msg, want));
	config_release(&c);

	/* A value where a section belongs. */
	assert_int_equal(load(&c, "milvus:\n  port: 1\nminio: 5\n", &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:3:8: 'minio' must be a mapping", tmpfile_path);
	assert_non_null(strstr(err.msg, want));
	config_release(&c);

	/* Several documents in one file: which one would win? */
	assert_int_equal(load(&c, "---\nminio:\n  port: 1\n---\nminio:\n  port: 2\n", &err),
			 -EINVAL);
	snprintf(want, sizeof(want), "%s:4:1: more than one YAML document", tmpfile_path);
	assert_non_null(strstr(err.msg, want));
	config_release(&c);

	/* The top level must be a mapping. */
	assert_int_equal(load(&c, "- a\n- b\n", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "mapping"));
	config_release(&c);

	/* An unreadable file is -errno, naming it. */
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_load(&c, "/nonexistent/backup.yaml", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/backup.yaml"));
	config_release(&c);
}

static void test_storage_types(void **state)
{
	static const char *s3ish[] = { "minio", "s3", "aws", "gcp", "ali", "aliyun", "alibaba",
				       "alicloud", "tc", "tencent", "hwc", "MinIO" };
	struct errmsg err = { { 0 } };
	struct config c;
	char yaml[128], want[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(s3ish) / sizeof(s3ish[0]); i++) {
		snprintf(yaml, sizeof(yaml), "minio:\n  storageType: %s\n", s3ish[i]);
		load_ok(&c, yaml);
		assert_int_equal(c.milvus_storage.kind, STORAGE_S3);
		assert_string_equal(c.milvus_storage.provider, s3ish[i]);
		config_release(&c);
	}
	assert_int_equal(load(&c, "minio:\n  address: x\n  storageType: floppy\n", &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:3:16: invalid value 'floppy' for 'minio.storageType'",
		 tmpfile_path);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, "unknown storage type"));
	config_release(&c);

	assert_int_equal(load(&c, "minio:\n  backupStorageType: azure\n", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'azure'"));
	assert_non_null(strstr(err.msg, "minio.backupStorageType"));
	assert_non_null(strstr(err.msg, "not supported yet"));
	config_release(&c);
	assert_int_equal(load(&c, "minio:\n  storageType: gcpnative\n", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not supported yet"));
	config_release(&c);

	/* useIAM: a clear refusal, on either side. */
	assert_int_equal(load(&c, "minio:\n  useIAM: true\n", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "useIAM is not supported"));
	assert_non_null(strstr(err.msg, "accessKeyID"));
	config_release(&c);
	assert_int_equal(load(&c, "minio:\n  backupUseIAM: yes\n", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "backupUseIAM is not supported"));
	config_release(&c);
}

static void test_bad_values(void **state)
{
	static const char *bad[] = {
		"minio:\n  port: 70000\n", "minio:\n  port: 0\n", "minio:\n  port: 9000x\n",
		"minio:\n  backupPort: -1\n", "milvus:\n  port: \"\"\n", "milvus:\n  tlsMode: 3\n",
		"minio:\n  useSSL: maybe\n", "backup:\n  parallelism:\n    copydata: 0\n",
		"mvbackupfs:\n  memory:\n    budget: lots\n",
		"mvbackupfs:\n  memory:\n    budget: 8MiB\n",
		"mvbackupfs:\n  memory:\n    budget: 15MiB\n",
		"mvbackupfs:\n  retention: 3 days\n",
		"mvbackupfs:\n  s3:\n    maxTries: 0\n",
	};
	struct errmsg err = { { 0 } };
	struct config c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errmsg_clear(&err);
		assert_int_equal(load(&c, bad[i], &err), -EINVAL);
		/* Always located in the file. */
		assert_non_null(strstr(err.msg, tmpfile_path));
		assert_non_null(strstr(err.msg, "invalid value"));
		if (strstr(bad[i], "budget: 8MiB") || strstr(bad[i], "budget: 15MiB"))
			assert_non_null(strstr(err.msg, "expected at least 16MiB"));
		config_release(&c);
	}
	assert_int_equal(load(&c, "minio:\n  port: 70000\n", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'minio.port'"));
	assert_non_null(strstr(err.msg, "1 to 65535"));
	config_release(&c);
}

static void test_mvbackupfs_section(void **state)
{
	struct config c;

	(void)state;
	load_ok(&c, "mvbackupfs:\n"
		    "  cache:\n    ttlMs: 500\n"
		    "  memory:\n    budget: 256MiB\n"
		    "  readahead:\n    max: 16M\n    parallel: 4\n"
		    "  snapshot:\n    filter: \"default.coll\"\n    parallel: 64\n"
		    "  schedule: \"03:00\"\n"
		    "  retention: 72h\n"
		    "  manual_retention: 30d\n"
		    "  autoDelete: false\n"
		    "  s3:\n    virtualHost: true\n    caFile: /etc/ssl/ca.pem\n"
		    "    requestTimeoutMs: 10000\n    maxTries: 3\n"
		    "  unknownKnob: 1\n");
	assert_int_equal(c.fs.cache_ttl_ms, 500);
	assert_int_equal(c.fs.memory_budget, 256ull << 20);
	assert_int_equal(c.fs.readahead_max, 16ull << 20);
	assert_int_equal(c.fs.read_parallel, 4);
	assert_string_equal(c.fs.snapshot_filter, "default.coll");
	assert_int_equal(c.fs.copy_parallel, 64);
	assert_string_equal(c.fs.schedule, "03:00");
	assert_int_equal(c.fs.retention_s, 72 * 3600);
	assert_int_equal(c.fs.manual_retention_s, 30 * 86400);
	assert_int_equal(c.fs.auto_delete, 0);
	assert_int_equal(c.fs.virtual_host, 1);
	assert_string_equal(c.fs.ca_file, "/etc/ssl/ca.pem");
	assert_int_equal(c.fs.request_timeout_ms, 10000);
	assert_int_equal(c.fs.max_tries, 3);
	/* Our section does not disturb milvus-backup's keys. */
	assert_string_equal(c.backup_storage.root_path, "files");
	config_release(&c);

	load_ok(&c, "mvbackupfs:\n  retention: never\n  auto_delete: no\n");
	assert_int_equal(c.fs.retention_s, 0);
	assert_int_equal(c.fs.auto_delete, 0);
	config_release(&c);
}

static void test_local_storage(void **state)
{
	struct errmsg err = { { 0 } };
	struct objstore *s = NULL;
	struct config c;
	char cwd[PATH_MAX];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	/* Relative: the store is the working directory, keys start with the cleaned root. */
	load_ok(&c, "minio:\n  storageType: local\n  rootPath: ./milvus-data/\n"
		    "  backupRootPath: backups//nightly\n");
	assert_int_equal(c.milvus_storage.kind, STORAGE_LOCAL);
	assert_int_equal(c.backup_storage.kind, STORAGE_LOCAL);
	assert_string_equal(c.milvus_storage.local_base, cwd);
	assert_string_equal(c.milvus_storage.root_path, "milvus-data");
	assert_string_equal(c.backup_storage.local_base, cwd);
	assert_string_equal(c.backup_storage.root_path, "backups/nightly");
	assert_int_equal(config_open_store(&c, &c.backup_storage, &s, &err), 0);
	assert_string_equal(objstore_name(s), cwd);
	objstore_free(s);
	config_release(&c);

	/* Absolute: the store is "/", the root keeps the whole path. */
	load_ok(&c, "minio:\n  backupStorageType: local\n  backupRootPath: /srv/mv/../backups/\n");
	assert_int_equal(c.milvus_storage.kind, STORAGE_S3);
	assert_int_equal(c.backup_storage.kind, STORAGE_LOCAL);
	assert_string_equal(c.backup_storage.local_base, "/");
	assert_string_equal(c.backup_storage.root_path, "srv/backups");
	assert_int_equal(c.cross_storage, 1);
	assert_int_equal(config_open_store(&c, &c.backup_storage, &s, &err), 0);
	assert_string_equal(objstore_name(s), "/");
	objstore_free(s);
	config_release(&c);

	/* Local with useIAM set: irrelevant, not an error. */
	load_ok(&c, "minio:\n  storageType: local\n  useIAM: true\n  rootPath: /x\n");
	assert_string_equal(c.backup_storage.root_path, "x");
	config_release(&c);
}

static void test_dump_masks_secrets(void **state)
{
	struct buf out = BUF_INIT(1 << 16);
	struct config c;

	(void)state;
	load_ok(&c, "milvus:\n  password: pw-SECRET\n"
		    "minio:\n  accessKeyID: AKIAIOSFODNN7EXAMPLE\n"
		    "  secretAccessKey: sk-SECRET\n  token: tok-SECRET\n"
		    "  backupSecretAccessKey: bsk-SECRET\n");
	assert_int_equal(config_dump(&c, &out), 0);
	assert_null(strstr(out.p, "SECRET"));
	assert_null(strstr(out.p, "AKIAIOSFODNN7EXAMPLE"));
	assert_non_null(strstr(out.p, "milvus.password: ****\n"));
	assert_non_null(strstr(out.p, "minio.secretAccessKey: ****\n"));
	assert_non_null(strstr(out.p, "minio.backupSecretAccessKey: ****\n"));
	assert_non_null(strstr(out.p, "minio.accessKeyID: AKIA****\n"));
	assert_non_null(strstr(out.p, "minio.backupRootPath: files\n"));
	assert_non_null(strstr(out.p, "mvbackupfs.memory.budget: 100663296\n"));
	buf_release(&out);
	config_release(&c);
}

static void test_find_default(void **state)
{
	char dir[] = "/tmp/test_config_cwd.XXXXXX", old[PATH_MAX], *p;
	FILE *f;

	(void)state;
	assert_non_null(getcwd(old, sizeof(old)));
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chdir(dir), 0);
	assert_null(config_find_default());
	f = fopen("backup.yaml", "w");
	assert_non_null(f);
	fclose(f);
	p = config_find_default();
	assert_string_equal(p, "backup.yaml");
	free(p);
	assert_int_equal(mkdir("configs", 0777), 0);
	f = fopen("configs/backup.yaml", "w");
	assert_non_null(f);
	fclose(f);
	p = config_find_default();
	assert_string_equal(p, "configs/backup.yaml");
	free(p);
	setenv("MVBACKUPFS_CONFIG", "/etc/mvbackupfs/backup.yaml", 1);
	p = config_find_default();
	assert_string_equal(p, "/etc/mvbackupfs/backup.yaml");
	free(p);
	unlink("configs/backup.yaml");
	rmdir("configs");
	unlink("backup.yaml");
	assert_int_equal(chdir(old), 0);
	rmdir(dir);
}

static void test_parse_size(void **state)
{
	static const struct {
		const char *in;
		uint64_t want;
	} ok[] = {
		{ "0", 0 }, { "512", 512 }, { "512b", 512 }, { "512k", 512 << 10 },
		{ "512KB", 512 << 10 }, { "96MiB", 96ull << 20 }, { "96 MiB", 96ull << 20 },
		{ "1G", 1ull << 30 }, { "1GiB", 1ull << 30 }, { "2g", 2ull << 30 },
		{ "1TiB", 1ull << 40 }, { " 7M ", 7ull << 20 },
	};
	static const char *junk[] = { "", "MiB", "-1", "1.5G", "12 34", "1X", "1 GiBs",
				      "99999999999999999999", "17179869184T", "1G 1M", "0x10" };
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(config_parse_size(ok[i].in, &v), 0);
		assert_int_equal(v, ok[i].want);
	}
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		if (config_parse_size(junk[i], &v) != -EINVAL)
			fail_msg("'%s' accepted as a size", junk[i]);
}

static void test_parse_duration(void **state)
{
	static const struct {
		const char *in;
		int64_t want;
	} ok[] = {
		{ "0", 0 }, { "3600", 3600 }, { "90m", 5400 }, { "36h", 129600 },
		{ "7d", 604800 }, { "1h30m", 5400 }, { "1d12h", 129600 }, { "2w", 1209600 },
		{ "45s", 45 }, { "1H30M", 5400 },
	};
	static const char *junk[] = { "", "h", "-5m", "1.5h", "1h30", "5 minutes", "1y",
				      "99999999999999999999d", "1h 30m", "7dd" };
	int64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(duration_parse(ok[i].in, &v), 0);
		assert_int_equal(v, ok[i].want);
	}
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		if (duration_parse(junk[i], &v) != -EINVAL)
			fail_msg("'%s' accepted as a duration", junk[i]);
}

static void test_redact_url(void **state)
{
	char b[256];

	config_redact_url("http://admin:s3cret@milvus:9091/x", b, sizeof(b));
	assert_string_equal(b, "http://****@milvus:9091/x");
	assert_null(strstr(b, "s3cret"));
	config_redact_url("http://localhost:9091", b, sizeof(b));
	assert_string_equal(b, "http://localhost:9091");
	config_redact_url("http://host/path@x", b, sizeof(b));	/* '@' in the path is no userinfo */
	assert_string_equal(b, "http://host/path@x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact_url),
		cmocka_unit_test_setup_teardown(test_defaults, clear_env, cleanup),
		cmocka_unit_test_setup_teardown(test_sample_file, clear_env, cleanup),
		cmocka_unit_test_setup_teardown(test_backup_root_trap, clear_env, cleanup),
		cmocka_unit_test_setup_teardown(test_inheritance, clear_env, cleanup),
		cmocka_unit_test_setup_teardown(test_env_overrides, clear_env, cleanup),
		cmocka_unit_test_setup_teardown(test_yaml_syntax_error, clear_env, cleanup),
		cmocka_unit_test_setup_teardown(test_storage_types, clear_env, cleanup),
		cmocka_unit_test_setup_teardown(test_bad_values, clear_env, cleanup),
		cmocka_unit_test_setup_teardown(test_mvbackupfs_section, clear_env, cleanup),
		cmocka_unit_test_setup_teardown(test_local_storage, clear_env, cleanup),
		cmocka_unit_test_setup_teardown(test_dump_masks_secrets, clear_env, cleanup),
		cmocka_unit_test_setup_teardown(test_find_default, clear_env, cleanup),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
