#!/usr/bin/env bash
# t_two_servers: the seed's scenario - Milvus A on MinIO A (tests/real/run.sh) and Milvus B on
# MinIO B (started here: a second MinIO process and a second real Milvus with its own ports and
# embedded etcd).  A snapshot of A taken through a mount completes with A's 4 collections; a
# snapshot of B taken at the same time sees none of them (B is empty); the two servers' buckets
# stay apart (B's Milvus bucket is on MinIO B only, A's backup bucket on MinIO A only).  The
# copy-in and restore into B come with those features (issue 13 item 4).
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
env_b=$(S3_BUCKETS="milvus-b backups-b" bash "$SCRIPTS/minio-server.sh" start "$B_MINIO" 2>"$T_TMP/minio-b.err") \
	|| t_bail "MinIO B: $(tail -n 3 "$T_TMP/minio-b.err")"
B_ENDPOINT=$(printf '%s\n' "$env_b" | sed -n 's/^export S3_ENDPOINT=//p')
t_check "MinIO B is a second server" test "$A_ENDPOINT" != "$B_ENDPOINT"
menv=$(S3_ENDPOINT=$B_ENDPOINT MILVUS_BUCKET=milvus-b MILVUS_PORT=0 bash "$SCRIPTS/milvus-server.sh" start "$B_MILVUS" 2>"$T_TMP/milvus-b.err") \
	|| t_bail "Milvus B: $(tail -n 3 "$T_TMP/milvus-b.err")"
B_PORT=$(printf '%s\n' "$menv" | sed -n 's/^export MILVUS_PORT=//p')
t_check "Milvus B has its own port" test "$B_PORT" != "$REAL_MILVUS_PORT"

# a mount on each side; snapshots of A and of B at the same time
BA=$(t_bucket) || t_bail "bucket on A"
CFG_A=$(r_config_milvus "$BA")
CFG_B=$(S3_ENDPOINT=$B_ENDPOINT REAL_MILVUS_PORT=$B_PORT REAL_MILVUS_BUCKET=milvus-b r_config_milvus backups-b)
MNT_A=$(t_mkmnt) MNT_B=$(t_mkmnt)
t_mount_or_bail "$CFG_A" "$MNT_A"
t_mount_or_bail "$CFG_B" "$MNT_B"
t_check "mkdir .snapshot/a1 on A" mkdir "$MNT_A/.snapshot/a1"
t_check "mkdir .snapshot/b1 on B" mkdir "$MNT_B/.snapshot/b1"
t_wait 120 r_done "$MNT_A" a1
t_wait 120 r_done "$MNT_B" b1
t_eq "A's snapshot completes" complete "$(r_state "$MNT_A" a1)"
t_eq "B's snapshot completes" complete "$(r_state "$MNT_B" b1)"
t_match "A's snapshot holds A's 4 collections" '^collections: +4$' "$(cat "$MNT_A/a1/.info")"
t_match "B's snapshot holds none of them" '^collections: +0$' "$(cat "$MNT_B/b1/.info")"
t_eq "B's mount lists only B's backup" b1 "$(ls "$MNT_B")"
t_eq "A's mount lists only A's backup" a1 "$(ls "$MNT_A")"
t_umount "$MNT_A" || not_ok "unmount A"
t_umount "$MNT_B" || not_ok "unmount B"

# the buckets stay on their own server
t_check "B's Milvus bucket is on MinIO B" test "$(S3_ENDPOINT=$B_ENDPOINT s3_curl HEAD /milvus-b -o /dev/null -w '%{http_code}')" = 200
t_check "B's Milvus bucket is not on MinIO A" test "$(s3_curl HEAD /milvus-b -o /dev/null -w '%{http_code}')" = 404
t_check "A's backup bucket is not on MinIO B" test "$(S3_ENDPOINT=$B_ENDPOINT s3_curl HEAD "/$BA" -o /dev/null -w '%{http_code}')" = 404
t_done
