#!/usr/bin/env bash
# t_fixtures: the real milvus-backup's output (../shared/fixtures/milvus-backup: v0.4.25 and
# v0.5.16 backups of a real Milvus 2.3.5) mounted through local storage, through MinIO (the S3
# server of tests/real/run.sh) and through RGW (when the caller gave one: RGW_S3_ENDPOINT).  On
# each: every figure of expected.json equals what .info shows, `diff -r` between the mount and
# the fixture folder is empty, and `rmdir` of a backup on a copy leaves no object of it behind.
. "$(dirname "$0")/../mount/lib.sh"
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
[ -f "$R_FIX/expected.json" ] || t_bail "no fixtures at '$R_FIX'"
CHECK="$T_TOP/tests/real/check_info.py"

# one_storage LABEL CFG MNT LIST_CMD...: the three checks on a mounted copy; LIST_CMD lists the
# stored keys under backup/fx425_docs/ (empty once the delete is done)
one_storage() {
	local label=$1 cfg=$2 mnt=$3; shift 3
	t_mount_or_bail "$cfg" "$mnt"
	t_check "$label: every figure of expected.json equals .info" python3 "$CHECK" "$mnt" "$R_FIX/expected.json"
	t_check "$label: diff -r mount vs fixture folder is empty" diff -r "$mnt" "$R_FIX/backup"
	t_check "$label: rmdir fx425_docs" rmdir "$mnt/fx425_docs"
	left() { [ -z "$("$@" 2>/dev/null)" ]; }
	if t_wait 60 left "$@"; then ok "$label: nothing of fx425_docs left in the store"
	else not_ok "$label: objects of fx425_docs left"; "$@" | head -n 5 | sed 's/^/#   /'; fi
	t_check "$label: the other backups intact" python3 "$CHECK" "$mnt" "$R_FIX/expected.json" fx425_all fx425_sales fx516_all
	t_umount "$mnt" || not_ok "$label: unmount"
}

# local storage: a copy of the folder
mkdir -p "$T_TMP/local"
cp -r "$R_FIX/backup" "$T_TMP/local/backup"
one_storage local "$(t_config_local "$T_TMP/local/backup")" "$(t_mkmnt)" find "$T_TMP/local/backup/fx425_docs" -type f

# S3 (MinIO in tests/real/run.sh), then RGW when given
s3_round() {
	local label=$1 b
	b=$(t_bucket) || t_bail "bucket on $label"
	t_upload "$R_FIX/backup" "$b" backup
	one_storage "$label" "$(t_config_s3 "$b" backup)" "$(t_mkmnt)" t_rclone lsf -R --files-only "mvbs3:$b/backup/fx425_docs"
}
if [ -n "${S3_ENDPOINT:-}" ]; then s3_round "${REAL_S3_LABEL:-minio}"; fi
if [ -n "${RGW_S3_ENDPOINT:-}" ] && [ "${RGW_S3_ENDPOINT}" != "${S3_ENDPOINT:-}" ]; then
	S3_ENDPOINT=$RGW_S3_ENDPOINT AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$RGW_SECRET_ACCESS_KEY s3_round rgw
fi
t_done
