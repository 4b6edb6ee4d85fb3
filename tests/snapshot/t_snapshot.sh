#!/usr/bin/env bash
# t_snapshot: mkdir MNT/.snapshot/X takes a backup of the Milvus stand-in (two databases,
# Int64 pk + VarChar + 768-dim FloatVector, an index, several flushed segments, deletes ->
# L0 segment and delta logs); X appears at once as creating, .status progresses to complete,
# the objects pass the independent format validator (validate.js), byte-for-byte copies of
# the Milvus binlogs, and .info shows every collection with the SDK's row counts.
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs db1,db2 --collections 2 --rows 900 --batches 3 --deletes 8 --dim 768 \
	|| t_bail "populate"
LC_ALL=C sort -o "$T_TMP/expected.tsv" "$T_TMP/expected.tsv"
diag "expected: $(tr '\t\n' ' ;' <"$T_TMP/expected.tsv")"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"

if ! sn_mkdir "$MNT/.snapshot/snap_1"; then
	sn_unsupported && diag "the daemon has no snapshot support yet"
	t_bail "mkdir .snapshot/snap_1: $SN_ERR"
fi
ok "mkdir .snapshot/snap_1 returned 0"
if [ "$SN_MS" -lt 1000 ]; then ok "mkdir returned in $SN_MS ms"; else not_ok "mkdir took $SN_MS ms"; fi

# appears at once, as creating, listed in .snapshot (unless it is already done)
t_check "snap_1 appears at once in ls MNT" sh -c "ls '$MNT' | grep -qx snap_1"
ls_snap=$(ls "$MNT/.snapshot")
st=$(sn_status "$MNT" snap_1 state)
t_match ".status state right after mkdir is creating (or already complete)" '^(creating|complete)$' "$st"
# read after the listing: still creating then means it was creating when listed
if [ "$st" = creating ]; then
	t_match "ls .snapshot lists snap_1 while it is being taken" '^snap_1$' "$ls_snap"
else
	diag "snap_1 completed before .snapshot could be listed"
fi
t_match ".status has every stable key" \
	"$(printf '%s' 'state .*job .*phase .*progress .*bytes_done .*bytes_total .*items_done .*items_total .*rate_bps .*eta_s .*started .*updated .*error ')" \
	"$(tr '\n' ' ' <"$MNT/snap_1/.status")"

sn_wait_state 120 "$MNT" snap_1 complete
st=$(sn_status "$MNT" snap_1 state)
t_eq "snapshot ends complete (.status)" complete "$st" || {
	diag "error: $(sn_status "$MNT" snap_1 error)"
	cat "$MNT/snap_1/.status" 2>/dev/null | sed 's/^/#   /'
}

# progress as seen while polling: the phases and counters moved, and end at 100 %
phases=$(awk '$1 == "phase" { print $2 }' "$T_TMP/states-snap_1" | awk '!s[$0]++' | tr '\n' ' ')
diag "phases seen: $phases"
mono=$(awk '$1 == "bytes_done" || $1 == "items_done" { k = $1; if ($2 + 0 < last[k]) bad = 1; last[k] = $2 + 0 }
	END { print bad ? "no" : "yes" }' "$T_TMP/states-snap_1")
t_eq "bytes_done and items_done never went backwards while polling" yes "$mono"
t_eq "progress at the end is 100.00" 100.00 "$(sn_status "$MNT" snap_1 progress)"
bd=$(sn_status "$MNT" snap_1 bytes_done)
bt=$(sn_status "$MNT" snap_1 bytes_total)
idn=$(sn_status "$MNT" snap_1 items_done)
itt=$(sn_status "$MNT" snap_1 items_total)
t_check "bytes_done = bytes_total > 0 ($bd/$bt)" test "${bd:-0}" -gt 0 -a "${bd:-0}" = "${bt:-x}"
t_check "items_done = items_total > 0 ($idn/$itt)" test "${idn:-0}" -gt 0 -a "${idn:-0}" = "${itt:-x}"
t_eq ".status error is empty" - "$(sn_status "$MNT" snap_1 error)"

# the bucket
t_check "validate.js: the backup is in milvus-backup's format, copies match the Milvus binlogs" \
	sn_validate "$BK" backup/snap_1 --milvus-bucket "$SA_BUCKET" --expect "$T_TMP/expected.tsv"
# (grep without -q reads all of rclone's output: with pipefail, an early exit of grep -q
# would SIGPIPE rclone and fail the pipeline at random)
has_delta() { t_rclone lsf -R --files-only "mvbs3:$BK/backup/snap_1/binlogs/delta_log" | grep . >/dev/null; }
t_check "the deletes (L0 segment / delta logs) were backed up" has_delta

# .info
sn_info_rows "$MNT" snap_1 >"$T_TMP/info.tsv"
t_same_lines ".info lists every collection with the SDK's row counts" "$T_TMP/expected.tsv" "$T_TMP/info.tsv"
info=$(cat "$MNT/snap_1/.info")
t_match ".info: state complete" '^state: +complete' "$info"
total=$(awk -F'\t' '{ s += $3 } END { print s }' "$T_TMP/expected.tsv")
t_match ".info: entities $total" "^entities: +$total\\b" "$info"
t_match ".info: databases db1 and db2" '^databases: .*db1.*db2|^databases: .*db2.*db1' "$info"
t_eq "root .info: snap_1 complete" complete "$(sn_root_state "$MNT" snap_1)"

# listings
t_check "ls MNT shows snap_1" sh -c "ls '$MNT' | grep -qx snap_1"
t_check "ls MNT/.snapshot no longer shows snap_1" sh -c "! ls '$MNT/.snapshot' | grep -qx snap_1"
t_check "ls snap_1 shows meta and binlogs" sh -c "ls '$MNT/snap_1' | tr '\n' ' ' | grep -q 'binlogs meta'"
t_check "the data objects read back through the mount" \
	sh -c "find '$MNT/snap_1/binlogs' -type f | head -n 20 | xargs cat >/dev/null"

# a second mount sees the committed backup the same way
MNT2=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT2" -o ro
sn_info_rows "$MNT2" snap_1 >"$T_TMP/info2.tsv"
t_same_lines "a fresh mount reads the same .info" "$T_TMP/expected.tsv" "$T_TMP/info2.tsv"

t_done
