# shellcheck shell=bash
# tests/real/lib.sh -- helpers of the suites on real parts (sourced after tests/mount/lib.sh).
# tests/real/run.sh provides REAL_MILVUS_PORT and REAL_MILVUS_BUCKET (Milvus A on MinIO A, the
# S3 server in S3_ENDPOINT) and REAL_LIVE_JSON (what pymilvus reported after loading).

R_FIX=${MVB_REAL_FIXTURES:-$T_TOP/../shared/fixtures/milvus-backup}
[ -d "$R_FIX" ] || R_FIX=$T_TOP/../../shared/fixtures/milvus-backup

r_need_milvus() {
	[ -n "${REAL_MILVUS_PORT:-}" ] || t_bail "no real Milvus: run this through tests/real/run.sh"
}

# r_config_milvus BACKUP_BUCKET: a backup.yaml for Milvus A (its bucket on S3_ENDPOINT) with the
# backups in s3://BACKUP_BUCKET/backup/
r_config_milvus() {
	local f="$T_TMP/backup-real-$RANDOM.yaml"
	cat >"$f" <<EOT
milvus:
  address: 127.0.0.1
  port: $REAL_MILVUS_PORT
minio:
  storageType: minio
  address: $(s3_host)
  port: $(s3_port)
  accessKeyID: $AWS_ACCESS_KEY_ID
  secretAccessKey: $AWS_SECRET_ACCESS_KEY
  useSSL: false
  bucketName: $REAL_MILVUS_BUCKET
  rootPath: files
  backupBucketName: $1
  backupRootPath: backup
backup:
  gcPause:
    enable: false
EOT
	echo "$f"
}

# r_state MNT NAME: the state line of NAME/.status ("" while there is none)
r_state() { sed -n 's/^state //p' "$1/$2/.status" 2>/dev/null | head -n 1; }
r_done() { case "$(r_state "$1" "$2")" in complete|failed) return 0 ;; esac; return 1; }
