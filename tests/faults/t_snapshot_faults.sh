#!/usr/bin/env bash
# t_snapshot_faults: snapshots and deletes through the S3 fault proxy.  Whatever S3 does, the
# command's result is right or a clear error, and the bucket never holds a backup that reads
# complete (meta/full_meta.json) with objects missing (validate.js, straight against RGW).
#   - the reservation's conditional PUT succeeds but its answer is lost, and the server's
#     ETags are not MD5s (SSE-KMS, some S3-compatible servers): the retry's 412 is recognised
#     as our own PUT by content -> mkdir succeeds, one reservation (issue 6, bug 12)
#   - copies meet 503 SlowDown bursts, 500s, `200` with an <Error> body, a reset mid-answer
#     and a lost answer; the commit PUT's answer is lost: retried, the snapshot completes
#   - every copy answers `200` + <Error>: the snapshot fails, nothing reads complete
#   - DeleteObjects: per-key errors on the meta delete -> rmdir fails with EIO and the backup
#     stays complete and whole; per-key errors on the data -> the delete job fails (the keys are
#     not taken as deleted), objects stay, the backup is not complete; rmdir again finishes it;
#     `200` + <Error> -> EIO, nothing deleted; lost answers -> retried, the delete completes
. "$(dirname "$0")/lib.sh"
fp_begin
fp_start || t_bail "faultproxy"

sa_start a STANDIN_BINLOG_MAX_ROWS=40 || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 400 --batches 1 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(fp_endpoint sn_config "$BK" "$(printf 'mvbackupfs:\n  snapshot:\n    parallel: 2\n  s3:\n    requestTimeoutMs: 3000\n    maxTries: 4\n')")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"

# valid NAME: the backup validates against milvus-backup's format (every binlog present)
valid() { sn_validate "$BK" "backup/$1" --expect "$T_TMP/expected.tsv" --quiet; }
# whole NAME: the invariant: complete in the bucket implies every object present
whole() { fp_complete_objects_present "$BK" backup "$1"; }

# --- 1. the reservation's answer is lost; ETags are not MD5s
fp_rule '[{"method":"PUT","path":"/backup/s1/mvbackupfs\\.json$","header":"If-None-Match","fault":"lost"},
          {"method":"*","path":"/backup/s1/mvbackupfs\\.json$","fault":"etag","count":0}]' || t_bail "rule"
if sn_mkdir "$MNT/.snapshot/s1"; then ok "mkdir .snapshot/s1 although the reservation's answer was lost"; else not_ok "mkdir .snapshot/s1 (lost answer, non-MD5 ETag): $SN_ERR"; fi
t_match "the proxy lost the reservation's answer" 'PUT [^ ]*/backup/s1/mvbackupfs\.json 200 lost' "$(fp_log)"
if [ -z "$SN_ERR" ]; then
	sn_wait_state 120 "$MNT" s1 complete
	t_eq "s1 completes" complete "$(sn_status "$MNT" s1 state)"
	t_check "s1 validates (every binlog present)" valid s1
fi
fp_clear

# --- 2. transient faults on the copies and the commit: retried, the snapshot completes
COPY='"method":"PUT","header":"x-amz-copy-source"'
fp_rule "[{$COPY,\"distinct\":true,\"fault\":\"status\",\"status\":503,\"code\":\"SlowDown\",\"nth\":1,\"count\":3},
          {$COPY,\"distinct\":true,\"fault\":\"status\",\"status\":500,\"code\":\"InternalError\",\"nth\":2,\"count\":2},
          {$COPY,\"distinct\":true,\"fault\":\"error200\",\"nth\":3,\"count\":2},
          {$COPY,\"distinct\":true,\"fault\":\"reset\",\"nth\":4,\"count\":1},
          {$COPY,\"distinct\":true,\"fault\":\"lost\",\"nth\":5,\"count\":1},
          {\"method\":\"PUT\",\"path\":\"/backup/s2/meta/full_meta\\\\.json$\",\"fault\":\"lost\"}]" || t_bail "rule"
if sn_mkdir "$MNT/.snapshot/s2"; then ok "mkdir .snapshot/s2"; else t_bail "mkdir .snapshot/s2: $SN_ERR"; fi
sn_wait_state 180 "$MNT" s2 complete
t_eq "s2 completes despite the faults ($(sn_status "$MNT" s2 error))" complete "$(sn_status "$MNT" s2 state)"
log=$(fp_log)
for f in '503 status' '500 status' '200 error200' ' reset$' ' lost$'; do
	t_match "a copy met: $f" "x-amz|backup/s2/.*$f" "$(printf '%s\n' "$log" | grep "/backup/s2/" | grep -- "${f# }")"
done
t_match "the commit PUT's answer was lost" 'PUT [^ ]*/backup/s2/meta/full_meta\.json 200 lost' "$log"
t_check "s2 validates (every binlog present)" valid s2
fp_clear

# --- 3. every copy answers 200 + <Error>: the snapshot fails, never complete
fp_rule "{$COPY,\"fault\":\"error200\",\"count\":0}" || t_bail "rule"
if sn_mkdir "$MNT/.snapshot/s3"; then ok "mkdir .snapshot/s3"; else t_bail "mkdir .snapshot/s3: $SN_ERR"; fi
sn_wait_state 180 "$MNT" s3 failed
t_eq "s3 fails when every copy answers 200 + <Error>" failed "$(sn_status "$MNT" s3 state)"
t_match "s3: the error names the copy" 'cannot copy|InternalError' "$(sn_status "$MNT" s3 error)"
t_check "s3: no meta/full_meta.json" sn_no_full_meta "$BK" s3
fp_clear
if sn_rmdir "$MNT/s3"; then ok "rmdir s3"; else not_ok "rmdir s3: $SN_ERR"; fi
empty() { sn_prefix_empty "$BK" "backup/$1/"; }
t_check "the bucket ends empty under backup/s3/ (deadline 60 s)" t_wait 60 empty s3

# --- 4. DeleteObjects answers per-key errors for the meta: rmdir fails, the backup is whole
n_s2=$(sn_count "$BK" backup/s2/)
fp_rule '{"method":"POST","path":"[?&]delete","fault":"delete_errors","count":0}' || t_bail "rule"
sn_rmdir "$MNT/s2"
t_match "rmdir s2 with per-key delete errors: EIO" 'Input/output error' "${SN_ERR:-succeeded}"
t_check "s2 is still whole in the bucket" whole s2
t_check "s2 still has its full_meta.json" sn_has_object "$BK" backup/s2/meta/full_meta.json
t_eq "no object of s2 was lost" "$n_s2" "$(sn_count "$BK" backup/s2/)"
fp_clear

# --- 5. per-key errors on the data: the job fails, nothing reads complete, rmdir finishes it
fp_rule '{"method":"POST","path":"[?&]delete","body":"binlogs/","fault":"delete_errors","count":0}' || t_bail "rule"
if sn_rmdir "$MNT/s2"; then ok "rmdir s2 (meta deleted)"; else not_ok "rmdir s2: $SN_ERR"; fi
t_check "the data delete met per-key errors (deadline 30 s)" t_wait 30 sh -c "curl -sf '$FP_CTL/log' | grep -q 'delete_errors\$'"
t_check "the delete job ends (deadline 60 s)" t_wait 60 sh -c "[ \"\$(awk '\$1 == \"s2\" { print \$2 }' '$MNT/.info')\" != deleting ]"
t_check "s2: no meta/full_meta.json (never complete)" sn_no_full_meta "$BK" s2
t_check "s2: the data the errors named is still there" test "$(sn_count "$BK" backup/s2/binlogs/)" -gt 0
t_check "s2: the sidecar still reserves the name" sn_has_object "$BK" backup/s2/mvbackupfs.json
t_check "s2 is whole or not complete" whole s2
fp_clear
t_check "s2 is listed again (incomplete) (deadline 10 s)" t_wait 10 sh -c "ls '$MNT' | grep -qx s2"
if sn_rmdir "$MNT/s2"; then ok "rmdir s2 again"; else not_ok "rmdir s2 again: $SN_ERR"; fi
t_check "the bucket ends empty under backup/s2/ (deadline 60 s)" t_wait 60 empty s2

# --- 6. DeleteObjects answers `200` with an <Error> body: an error (EIO), nothing deleted
fp_rule '{"method":"POST","path":"[?&]delete","fault":"error200","count":1}' || t_bail "rule"
n_s1=$(sn_count "$BK" backup/s1/)
sn_rmdir "$MNT/s1"
t_match "rmdir s1 when DeleteObjects answers 200 + <Error>: EIO" 'Input/output error' "${SN_ERR:-succeeded}"
t_check "s1 still has its full_meta.json" sn_has_object "$BK" backup/s1/meta/full_meta.json
t_eq "no object of s1 was lost" "$n_s1" "$(sn_count "$BK" backup/s1/)"
t_check "s1 is still whole" whole s1
fp_clear

# --- 7. a lost DeleteObjects answer: retried (deleting is idempotent), the delete completes
fp_rule '{"method":"POST","path":"[?&]delete","fault":"lost","count":2}' || t_bail "rule"
if sn_rmdir "$MNT/s1"; then ok "rmdir s1 with lost DeleteObjects answers"; else not_ok "rmdir s1: $SN_ERR"; fi
t_check "the bucket ends empty under backup/s1/ (deadline 60 s)" t_wait 60 empty s1
t_match "a DeleteObjects answer was lost" 'POST [^ ]*[?&]delete[^ ]* 200 lost' "$(fp_log)"
t_done
