#!/usr/bin/env bash
# t_rmdir: rmdir MNT/NAME deletes a backup although it is not empty: complete (milvus-backup
# fixtures and one of our snapshots), incomplete (leftovers), and creating (cancels the job and
# removes what it wrote).  The name vanishes from ls at once, the root .info shows it deleting
# (or no longer), and the bucket ends empty under the prefix.  ENOENT for a name that does not
# exist, EROFS on a read-only mount.
# shellcheck disable=SC2010  # what ls (readdir) shows is what these tests check
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a STANDIN_BINLOG_MAX_ROWS=5 || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 2000 --batches 2 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
FIX=$(t_fixtures) || t_bail "fixtures"
for b in v0_5_9 v0_4_30 broken_incomplete; do t_upload "$FIX/$b" "$BK" "backup/$b"; done
CFG=$(sn_config "$BK" "$(printf 'mvbackupfs:\n  snapshot:\n    parallel: 1\n')")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
MRO=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MRO" -o ro

# rm_and_check NAME WHAT: rmdir, gone from ls at once, root .info deleting or gone, prefix empty
rm_and_check() {
	local name=$1 what=$2 st
	if sn_rmdir "$MNT/$name"; then ok "rmdir $name ($what, $SN_MS ms)"; else not_ok "rmdir $name ($what): $SN_ERR"; return; fi
	t_check "$name is gone from ls at once" sh -c "! ls '$MNT' | grep -qx '$name'"
	t_check "$name shows no content at once" sh -c "[ -z \"\$(ls -A '$MNT/$name' 2>/dev/null)\" ] && ! stat '$MNT/$name/meta' >/dev/null 2>&1"
	# .status follows the delete while it runs; a delete that already finished is gone
	if st=$(grep '^state ' "$MNT/$name/.status" 2>&1); then
		t_match "$name/.status follows the delete" '^state (deleting|deleted)$' "$st"
	else
		t_check "$name/.status is gone only because the delete already finished" sn_prefix_empty "$BK" "backup/$name/"
	fi
	st=$(sn_root_state "$MNT" "$name")
	t_match "root .info: $name deleting or gone" '^(deleting)?$' "$st"
	empty() { sn_prefix_empty "$BK" "backup/$name/"; }
	t_check "the bucket ends empty under backup/$name/ (deadline 60 s)" t_wait 60 empty
	unlisted() { [ -z "$(sn_root_state "$MNT" "$name")" ]; }
	t_check "root .info no longer lists $name once deleted (deadline 10 s)" t_wait 10 unlisted
}

# --- errors first (nothing deleted)
sn_rmdir "$MNT/no_such_backup"
t_match "rmdir of a nonexistent name -> ENOENT" 'No such file or directory' "${SN_ERR:-succeeded}"
sn_rmdir "$MRO/v0_5_9"
t_match "-o ro: rmdir -> EROFS" 'Read-only file system' "${SN_ERR:-succeeded}"
t_check "-o ro: v0_5_9 is still there" test "$(sn_count "$BK" backup/v0_5_9/)" -gt 0

# --- complete (milvus-backup) and incomplete backups
t_eq "v0_5_9 reads as complete" complete "$(sn_root_state "$MNT" v0_5_9)"
rm_and_check v0_5_9 "complete, milvus-backup v0.5.9"
rm_and_check v0_4_30 "complete, milvus-backup v0.4.30"
t_eq "broken_incomplete reads as incomplete" incomplete "$(sn_root_state "$MNT" broken_incomplete)"
rm_and_check broken_incomplete "incomplete"
t_check "the read-only mount no longer lists v0_5_9 (deadline 10 s)" t_wait 10 sh -c "! ls '$MRO' | grep -qx v0_5_9"

# --- a complete backup of our own, then the name is free again
if ! sn_mkdir "$MNT/.snapshot/own_1"; then
	sn_unsupported && diag "the daemon has no snapshot support yet"
	t_bail "mkdir .snapshot/own_1: $SN_ERR"
fi
sn_wait_state 120 "$MNT" own_1 complete
t_eq "own_1 completes" complete "$(sn_status "$MNT" own_1 state)"
rm_and_check own_1 "complete, made by mvbackupfs"
if sn_mkdir "$MNT/.snapshot/own_1"; then ok "the name own_1 can be used again"; else not_ok "mkdir .snapshot/own_1 again: $SN_ERR"; fi
sn_wait_state 120 "$MNT" own_1 complete
t_eq "own_1 (again) completes" complete "$(sn_status "$MNT" own_1 state)"

# --- rmdir of a creating backup: cancel during the copy (one copy in flight, 2000 objects)
if sn_mkdir "$MNT/.snapshot/cancel_1"; then
	copying() {
		local n
		n=$(sn_status "$MNT" cancel_1 items_done)
		[ "$(sn_status "$MNT" cancel_1 state)" = creating ] && [ "$(sn_status "$MNT" cancel_1 phase)" = copy ] && [ "${n:-0}" -gt 0 ]
	}
	if t_wait 60 copying; then
		diag "cancel at items $(sn_status "$MNT" cancel_1 items_done)/$(sn_status "$MNT" cancel_1 items_total)"
		rm_and_check cancel_1 "creating, during its copy"
		t_check "ls .snapshot no longer lists cancel_1" sh -c "! ls '$MNT/.snapshot' | grep -qx cancel_1"
		# the job has stopped: the prefix stays empty once the job is gone from .snapshot
		gone() { ! ls "$MNT/.snapshot" | grep -x cancel_1 >/dev/null; }
		t_wait 30 gone
		t_eq "nothing reappears under backup/cancel_1/ after the cancel" 0 "$(sn_count "$BK" backup/cancel_1/)"
		t_check "no meta/full_meta.json for cancel_1" sn_no_full_meta "$BK" cancel_1
	else
		not_ok "cancel_1 never showed phase copy with items_done > 0 (state $(sn_status "$MNT" cancel_1 state))"
	fi
else
	not_ok "mkdir .snapshot/cancel_1: $SN_ERR"
fi

# --- rmdir of a creating backup before any copy (Milvus flush still running)
sa_knob '{"STANDIN_FLUSH_DELAY_MS":"4000"}' || t_bail "knob"
if sn_mkdir "$MNT/.snapshot/cancel_2"; then
	t_eq "cancel_2 is creating" creating "$(sn_status "$MNT" cancel_2 state)"
	rm_and_check cancel_2 "creating, waiting for the flush"
	gone2() { ! ls "$MNT/.snapshot" | grep -x cancel_2 >/dev/null; }
	t_check "cancel_2 leaves .snapshot (deadline 30 s)" t_wait 30 gone2
	t_eq "nothing under backup/cancel_2/ after the cancel" 0 "$(sn_count "$BK" backup/cancel_2/)"
else
	not_ok "mkdir .snapshot/cancel_2: $SN_ERR"
fi
sa_knob '{"STANDIN_FLUSH_DELAY_MS":""}'

t_done
