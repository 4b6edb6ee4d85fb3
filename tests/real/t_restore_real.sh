#!/usr/bin/env bash
# t_restore_real: restore into a REAL Milvus 2.3.5 from a backup in another server's bucket.
# Milvus A on MinIO A (tests/real/run.sh, loaded by load.py: docs with 2 partitions, deletes and
# HNSW; bins with binary vectors; empty; sales.orders with auto_id) is snapshotted through a
# mount; Milvus B runs on MinIO B (another server, bucket milvus-b).  A mount whose Milvus is B
# and whose backups are A's bucket on MinIO A (minio.backupAddress...) restores the snapshot
# with `echo suffix=_r > .restore`: the units are streamed into milvus-b under restore-temp-…,
# Milvus 2.3's Import (backup=true, end_ts) loads them, indexes are rebuilt; then B's copies
# equal A's collections through pymilvus (schema, auto_id, partitions, indexes, count(*), a
# query by 100 primary keys), and no restore-temp- object is left in milvus-b.
# Then the seed scenario itself: `cp -r` of the snapshot from A's mount into a mount of bucket
# backup-b on MinIO B (committed there only when whole, byte-identical), and `.restore` from
# there into Milvus B with another suffix: the same checks again.
. "$(dirname "$0")/../mount/lib.sh"
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
t_need_s3
r_need_milvus
SCRIPTS=$T_TOP/scripts
B_MINIO=$T_TMP/minio-b B_MILVUS=$T_TMP/milvus-b
stop_b() {
	bash "$SCRIPTS/milvus-server.sh" stop "$B_MILVUS" >/dev/null 2>&1
	bash "$SCRIPTS/minio-server.sh" stop "$B_MINIO" >/dev/null 2>&1
}
trap 'rc=$?; stop_b; (exit $rc); t_cleanup' EXIT

A_ENDPOINT=$S3_ENDPOINT
env_b=$(S3_BUCKETS="milvus-b backup-b" bash "$SCRIPTS/minio-server.sh" start "$B_MINIO" 2>"$T_TMP/minio-b.err") \
	|| t_bail "MinIO B: $(tail -n 3 "$T_TMP/minio-b.err")"
B_ENDPOINT=$(printf '%s\n' "$env_b" | sed -n 's/^export S3_ENDPOINT=//p')
menv=$(S3_ENDPOINT=$B_ENDPOINT MILVUS_BUCKET=milvus-b MILVUS_PORT=0 bash "$SCRIPTS/milvus-server.sh" start "$B_MILVUS" 2>"$T_TMP/milvus-b.err") \
	|| t_bail "Milvus B: $(tail -n 3 "$T_TMP/milvus-b.err")"
B_PORT=$(printf '%s\n' "$menv" | sed -n 's/^export MILVUS_PORT=//p')
diag "Milvus B up at $SECONDS s"

# the snapshot of A
BA=$(t_bucket) || t_bail "bucket on A"
MNT_A=$(t_mkmnt)
t_mount_or_bail "$(r_config_milvus "$BA")" "$MNT_A"
t_check "mkdir .snapshot/real1 on A" mkdir "$MNT_A/.snapshot/real1"
t_wait 180 r_done "$MNT_A" real1
t_eq "A's snapshot completes" complete "$(r_state "$MNT_A" real1)" || t_bail "snapshot: $(sed -n 's/^error //p' "$MNT_A/real1/.status")"
diag "snapshot at $SECONDS s"

# a mount of Milvus B (MinIO B) reading the backups in A's bucket on MinIO A
b_host=${B_ENDPOINT#http://}
CFG_B=$T_TMP/backup-b.yaml
cat >"$CFG_B" <<EOT
milvus:
  address: 127.0.0.1
  port: $B_PORT
minio:
  storageType: minio
  address: ${b_host%:*}
  port: ${b_host##*:}
  accessKeyID: $AWS_ACCESS_KEY_ID
  secretAccessKey: $AWS_SECRET_ACCESS_KEY
  useSSL: false
  bucketName: milvus-b
  rootPath: files
  backupAddress: $(s3_host)
  backupPort: $(s3_port)
  backupAccessKeyID: $AWS_ACCESS_KEY_ID
  backupSecretAccessKey: $AWS_SECRET_ACCESS_KEY
  backupUseSSL: false
  backupBucketName: $BA
  backupRootPath: backup
backup:
  gcPause:
    enable: false
EOT
MNT_B=$(t_mkmnt)
t_mount_or_bail "$CFG_B" "$MNT_B"
t_eq "B's mount shows real1 complete" complete "$(r_state "$MNT_B" real1)"
t_check "echo suffix=_r > real1/.restore answers 0" sh -c "echo suffix=_r > '$MNT_B/real1/.restore'"
t_wait 300 sh -c "grep -Eqx 'state (complete|failed|cancelled)' '$MNT_B/real1/.status'"
t_eq "the restore into Milvus B completes" complete "$(r_state "$MNT_B" real1)" \
	|| sed 's/^/#   /' "$MNT_B/real1/.status"
diag "restore at $SECONDS s: $(tr '\n' ' ' <"$MNT_B/real1/.status")"
bd=$(sed -n 's/^bytes_done //p' "$MNT_B/real1/.status")
t_check "the units were streamed into milvus-b (bytes_done $bd > 0)" test "${bd:-0}" -gt 0
out=$("$T_TOP/.venv/bin/python" "$T_TOP/tests/real/check_restore.py" "$REAL_MILVUS_PORT" "$B_PORT" _r \
	default.docs default.bins default.empty sales.orders 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
t_eq "B's restored collections equal A's (pymilvus)" 0 "$rc"
temp=$(S3_ENDPOINT=$B_ENDPOINT t_rclone lsf -R --files-only mvbs3:milvus-b 2>/dev/null | grep -c '^restore-temp-')
t_eq "no restore-temp- object is left in milvus-b" 0 "$temp"

# the seed scenario: cp -r from A's mount into a mount of backup-b on MinIO B, restore from there
CFG_C=$T_TMP/backup-c.yaml
sed -e '/^  backup[A-Z][A-Za-z]*:/d' -e 's/^  rootPath: files$/  rootPath: files\n  backupBucketName: backup-b\n  backupRootPath: backup/' \
	"$CFG_B" >"$CFG_C"
MNT_C=$(t_mkmnt)
t_mount_or_bail "$CFG_C" "$MNT_C"
t_check "cp -r A's real1 into the mount of backup-b on MinIO B" cp -r "$MNT_A/real1" "$MNT_C/"
t_wait 120 sh -c "grep -qx 'state complete' '$MNT_C/real1/.status'"
t_eq "the copy in backup-b reads complete" complete "$(r_state "$MNT_C" real1)"
t_check "the copy is identical to A's (diff -r of the two mounts)" diff -r "$MNT_A/real1" "$MNT_C/real1"
t_umount "$MNT_A"
t_check "echo suffix=_c > real1/.restore (the copy) answers 0" sh -c "echo suffix=_c > '$MNT_C/real1/.restore'"
t_wait 300 sh -c "grep -Eqx 'state (complete|failed|cancelled)' '$MNT_C/real1/.status'"
t_eq "the restore of the copy into Milvus B completes" complete "$(r_state "$MNT_C" real1)" \
	|| sed 's/^/#   /' "$MNT_C/real1/.status"
out=$("$T_TOP/.venv/bin/python" "$T_TOP/tests/real/check_restore.py" "$REAL_MILVUS_PORT" "$B_PORT" _c \
	default.docs default.bins default.empty sales.orders 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
t_eq "B's collections restored from the copy equal A's (pymilvus)" 0 "$rc"
temp=$(S3_ENDPOINT=$B_ENDPOINT t_rclone lsf -R --files-only mvbs3:milvus-b 2>/dev/null | grep -c '^restore-temp-')
t_eq "no restore-temp- object is left in milvus-b after the second restore" 0 "$temp"
t_done
