#!/usr/bin/env bash
# t_snapshot_cancel_parts: a snapshot copying a binlog above the multipart-copy threshold
# (minio.multipartCopyThresholdMiB: 5) copies it server-side part by part (UploadPartCopy) -
# through a CompleteMultipartUpload answering `200` + <Error> and one whose answer is lost -
# and checks for cancellation between parts (issue 6, bug 12): an rmdir during part 1 (held
# up by the fault proxy) stops the copy there - no part 2 is ever asked for, the upload is
# aborted, and the bucket ends empty with no upload left open.  Without a cancel, the same
# snapshot completes with every binlog present.
. "$(dirname "$0")/lib.sh"
fp_begin
fp_start || t_bail "faultproxy"

sa_start a STANDIN_BINLOG_MAX_ROWS=100000 || t_bail "stand-in"
# 12000 rows of 128 floats: one vector binlog of ~6 MiB, two parts of 5 MiB
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 12000 --batches 1 --dim 128 || t_bail "populate"
big=$(t_rclone lsf -R --files-only --format sp "mvbs3:$SA_BUCKET/$SA_ROOT/insert_log" | sort -n | tail -n 1)
t_check "the Milvus bucket holds a binlog above 5 MiB ($big)" test "${big%%;*}" -gt 5242880
BK=$(t_bucket) || t_bail "bucket"
CFG=$(fp_endpoint sn_config "$BK" "$(printf 'mvbackupfs:\n  snapshot:\n    parallel: 1\n')")
sed -i 's/^minio:$/minio:\n  multipartCopyThresholdMiB: 5/' "$CFG"
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"

uploads() { s3_curl GET "/$1?prefix=${2//\//%2F}&uploads=" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'; }

# --- without a cancel: the part copies complete, every binlog present, although the first
# CompleteMultipartUpload answers 200 + <Error> and the answer of the second is lost
fp_rule '[{"method":"POST","path":"/backup/p1/.*[?&]uploadId=","fault":"error200","count":1},
          {"method":"POST","path":"/backup/p1/.*[?&]uploadId=","fault":"lost","count":1}]' || t_bail "rule"
sn_mkdir "$MNT/.snapshot/p1" || t_bail "mkdir .snapshot/p1: $SN_ERR"
sn_wait_state 180 "$MNT" p1 complete
t_eq "p1 completes" complete "$(sn_status "$MNT" p1 state)"
t_check "p1 validates (every binlog present)" sn_validate "$BK" backup/p1 --expect "$T_TMP/expected.tsv" --quiet
t_match "the big binlog was copied in parts" 'PUT [^ ]*/backup/p1/[^ ]*partNumber=2[^ ]* 200' "$(fp_log)"
t_match "CompleteMultipartUpload answered 200 + <Error> once" 'POST [^ ]*/backup/p1/[^ ]*uploadId=[^ ]* 200 error200' "$(fp_log)"
t_match "the answer of a CompleteMultipartUpload that succeeded was lost" 'POST [^ ]*/backup/p1/[^ ]*uploadId=[^ ]* 200 lost' "$(fp_log)"
fp_clear

# --- rmdir while part 1 is held up: no part 2, the upload is aborted
fp_rule '{"method":"PUT","path":"/backup/c1/.*partNumber=1&","header":"x-amz-copy-source-range","fault":"stall","stall_s":4}' || t_bail "rule"
sn_mkdir "$MNT/.snapshot/c1" || t_bail "mkdir .snapshot/c1: $SN_ERR"
stalled() { fp_log | grep "/backup/c1/.*partNumber=1&.* stall$" >/dev/null; }
t_check "part 1 of the big binlog is held up (deadline 120 s)" t_wait 120 stalled
if sn_rmdir "$MNT/c1"; then ok "rmdir c1 during part 1 ($SN_MS ms)"; else not_ok "rmdir c1: $SN_ERR"; fi
t_eq "no part 2 was asked for after the cancel" "" "$(fp_log | grep '/backup/c1/.*partNumber=2&')"
empty() { sn_prefix_empty "$BK" backup/c1/; }
t_check "the bucket ends empty under backup/c1/ (deadline 60 s)" t_wait 60 empty
no_uploads() { [ -z "$(uploads "$BK" backup/c1/)" ]; }
t_check "no upload is left open under backup/c1/ (deadline 30 s)" t_wait 30 no_uploads
t_done
