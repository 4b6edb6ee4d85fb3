#!/usr/bin/env bash
# t_snapshot_inconsistent: a segment whose fields do not line up in the Milvus bucket (issue 6
# bug 5; milvus-backup refuses it too, milvus-backup-format.md §3.2 step 8.2 (b)).
#  in_1: one binlog of one field gone (different binlog counts) -> `failed`, the error names
#        the collection and the segment, nothing committed, rmdir clears it;
#  in_2: every binlog of one field gone (a field missing, the others agreeing) -> the same,
#        the error naming the field;
#  in_3: a flush still settling: the binlog is missing when the job lists, and comes back
#        while the job re-lists (it logs that it does) -> the snapshot completes and validates.
# The mount runs in the foreground (-f) so that the daemon's log is its stderr.
. "$(dirname "$0")/lib.sh"
sn_begin

# 2 segments of 100 rows, 3 binlogs per field each (fields 0, 1, 100 id, 101 title, 102 vec)
sa_start a STANDIN_BINLOG_MAX_ROWS=40 || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 200 --batches 2 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
MNT=$(t_mkmnt)
LOG="$T_TMP/daemon.log"
"$MVB_BIN" -c "$(sn_config "$BK")" -f "$MNT" 2>"$LOG" &
T_PIDS+=("$!")
t_wait 15 mountpoint -q "$MNT" || t_bail "mount '$MNT' (foreground): $(head -c 1000 "$LOG")"
T_MOUNTS+=("$MNT")

IL="$SA_BUCKET/$SA_ROOT/insert_log"
# "coll/part/seg/field/logid" of every insert binlog
keys() { t_rclone lsf -R --files-only "mvbs3:$IL" 2>/dev/null | LC_ALL=C sort; }
keys >"$T_TMP/keys"
# the first segment's vec field (102): its three binlogs
SEGDIR=$(awk -F/ '$4 == 102 { print $1 "/" $2 "/" $3; exit }' "$T_TMP/keys")
[ -n "$SEGDIR" ] || t_bail "no binlogs of field 102 in s3://$IL: $(head -c 300 "$T_TMP/keys")"
SEG=${SEGDIR##*/}
mapfile -t VEC < <(grep "^$SEGDIR/102/" "$T_TMP/keys")
t_eq "segment $SEG has 3 binlogs of field 102" 3 "${#VEC[@]}"
ONE=${VEC[1]}

# aside KEY / back KEY: move one binlog out of the Milvus bucket and back
aside() { t_rclone moveto "mvbs3:$IL/$1" "$T_TMP/aside/$1" >/dev/null 2>&1; }
back() { t_rclone moveto "$T_TMP/aside/$1" "mvbs3:$IL/$1" >/dev/null 2>&1; }
present() { [ "$(keys | grep -c "^$SEGDIR/102/")" -eq "$1" ]; }

# final MNT NAME: the job reached a final state; NEVER_COMPLETE=0 if it ever read complete
final() {
	local st
	st=$(sn_status "$MNT" "$1" state)
	[ "$st" = complete ] && NEVER_COMPLETE=0
	case "$st" in failed|cancelled|complete) return 0 ;; esac
	return 1
}

# refused NAME WHY_RE: the snapshot NAME ends failed naming the segment, nothing committed,
# rmdir clears it
refused() {
	local name=$1 err
	NEVER_COMPLETE=1
	if sn_mkdir "$MNT/.snapshot/$name"; then ok "mkdir .snapshot/$name"; else not_ok "mkdir .snapshot/$name: $SN_ERR"; return; fi
	t_check "$name ends (deadline 120 s)" t_wait 120 final "$name"
	t_eq "$name never read as complete" 1 "$NEVER_COMPLETE"
	t_eq "$name: .status state failed" failed "$(sn_status "$MNT" "$name" state)"
	err=$(sn_status "$MNT" "$name" error)
	diag "$name: error: $err"
	t_match "$name: the error names the collection and the segment" \
		"segment $SEG of 'default\\.coll_1' is inconsistent" "$err"
	t_match "$name: the error says what is wrong" "$2" "$err"
	t_check "$name: no meta/full_meta.json in the bucket" sn_no_full_meta "$BK" "$name"
	t_match "$name: .info says failed or incomplete" '^state: +(failed|incomplete)' "$(cat "$MNT/$name/.info")"
	t_check "$name: the root .info does not say complete" sh -c "[ \"\$(awk -v n='$name' '\$1 == n { print \$2 }' '$MNT/.info')\" != complete ]"
	if sn_rmdir "$MNT/$name"; then ok "rmdir $name"; else not_ok "rmdir $name: $SN_ERR"; fi
	t_check "the bucket ends empty under backup/$name/ (deadline 60 s)" t_wait 60 sn_prefix_empty "$BK" "backup/$name/"
	t_check "$name is gone from the listing" sh -c "! ls '$MNT' | grep -qx '$name'"
}

# --- in_1: one binlog of field 102 gone: 2 binlogs against 3
aside "$ONE" || t_bail "move $ONE aside"
t_check "one binlog of field 102 of segment $SEG is gone" present 2
refused in_1 "field 102 has 2 binlogs, field [0-9]+ has 3"
back "$ONE" || t_bail "put $ONE back"

# --- in_2: field 102 gone entirely from the segment
for k in "${VEC[@]}"; do aside "$k" || t_bail "move $k aside"; done
t_check "field 102 of segment $SEG is gone" present 0
refused in_2 "field 102 \\('vec'\\) has no binlogs"
for k in "${VEC[@]}"; do back "$k" || t_bail "put $k back"; done
t_check "field 102 of segment $SEG is back" present 3

# --- in_3: a flush still settling: the binlog comes back while the job re-lists
aside "$ONE" || t_bail "move $ONE aside"
nlog() { grep -c "segment $SEG of 'default.coll_1' is inconsistent.*re-listing" "$LOG" 2>/dev/null; }
before=$(nlog)
sn_mkdir "$MNT/.snapshot/in_3" || t_bail "mkdir .snapshot/in_3: $SN_ERR"
ok "mkdir .snapshot/in_3"
relisting() { [ "$(nlog)" -gt "$before" ]; }
t_check "in_3: the daemon logs that it re-lists segment $SEG" t_wait 60 relisting
back "$ONE" || t_bail "put $ONE back"
NEVER_COMPLETE=1
t_check "in_3 ends (deadline 120 s)" t_wait 120 final in_3
t_eq "in_3: .status state complete (the flush settled)" complete "$(sn_status "$MNT" in_3 state)"
t_check "in_3: meta/full_meta.json written" sn_has_object "$BK" backup/in_3/meta/full_meta.json
t_check "in_3 validates (every binlog of the meta copied, rows as populated)" \
	sn_validate "$BK" backup/in_3 --milvus-bucket "$SA_BUCKET" --expect "$T_TMP/expected.tsv"

t_done
