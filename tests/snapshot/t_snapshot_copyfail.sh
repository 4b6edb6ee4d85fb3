#!/usr/bin/env bash
# t_snapshot_copyfail: a copy failing mid-job (spec §5.2, issue 3): while the snapshot copies,
# the Milvus binlogs it still has to copy disappear (what an unpaused garbage collection or a
# compaction does).  The job ends `failed` with the cause in .status, nothing ever reads as
# complete, no meta/full_meta.json is written, and rmdir clears the leftovers.
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a STANDIN_BINLOG_MAX_ROWS=5 || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 2000 --batches 1 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK" "$(printf 'mvbackupfs:\n  snapshot:\n    parallel: 1\n')")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"

sn_mkdir "$MNT/.snapshot/cf_1" || t_bail "mkdir .snapshot/cf_1: $SN_ERR"
ok "mkdir .snapshot/cf_1"
copying() { [ "$(sn_status "$MNT" cf_1 phase)" = copy ] && [ "$(sn_status "$MNT" cf_1 items_done)" -gt 0 ]; }
t_wait 60 copying || t_bail "the snapshot never reached its copy phase"
total=$(sn_status "$MNT" cf_1 items_total)
ok "copying ($(sn_status "$MNT" cf_1 items_done)/$total)"

# the Milvus side loses its binlogs under the running copy
t_rclone purge "mvbs3:$SA_BUCKET/$SA_ROOT/insert_log" >/dev/null 2>&1
t_rclone purge "mvbs3:$SA_BUCKET/$SA_ROOT/delta_log" >/dev/null 2>&1
left=$(t_rclone lsf -R --files-only "mvbs3:$SA_BUCKET/$SA_ROOT/insert_log" 2>/dev/null | wc -l)
t_eq "the Milvus bucket has no insert binlogs any more" 0 "$left"

never_complete=1
ended() {
	local st
	st=$(sn_status "$MNT" cf_1 state)
	[ "$st" = complete ] && never_complete=0
	case "$st" in failed|cancelled|complete) return 0 ;; esac
	return 1
}
t_check "the snapshot ends (deadline 120 s)" t_wait 120 ended
t_eq "cf_1 never read as complete" 1 "$never_complete"
t_eq "cf_1: .status state failed" failed "$(sn_status "$MNT" cf_1 state)"
err=$(sn_status "$MNT" cf_1 error)
t_match "cf_1: the error names the failed copy and its source" "cannot copy.*insert_log|insert_log.*(NoSuchKey|not found|404)" "$err"
done_n=$(sn_status "$MNT" cf_1 items_done)
t_check "cf_1 stopped before copying everything ($done_n/$total)" test "$done_n" -lt "$total"
t_check "cf_1: no meta/full_meta.json in the bucket" sn_no_full_meta "$BK" cf_1
t_match "cf_1: .info says failed or incomplete" '^state: +(failed|incomplete)' "$(cat "$MNT/cf_1/.info")"

if sn_rmdir "$MNT/cf_1"; then ok "rmdir cf_1"; else not_ok "rmdir cf_1: $SN_ERR"; fi
empty() { sn_prefix_empty "$BK" backup/cf_1/; }
t_check "the bucket ends empty under backup/cf_1/ (deadline 60 s)" t_wait 60 empty

t_done
