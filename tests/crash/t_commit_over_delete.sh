#!/usr/bin/env bash
# t_commit_over_delete: a snapshot on mount A commits (PUTs full_meta.json) while mount B
# deletes the same name (issue 6, bug 4), at moments fixed with pause points
# (MVB_PAUSE_AT: A waits between its last reservation check and its commit PUT, B after a
# DeleteObjects page), with either side killed.  Every run must end with the name absent or
# incomplete - never `complete` with binlogs missing - and rmdir clears it:
#   1. B's delete finishes, then A commits: A sees the sidecar changed and takes its commit back
#   2. same, A killed between its commit PUT and its check: a full_meta.json without
#      backup_meta.json is left, which reads incomplete
#   3. B killed after a DeleteObjects page, then A commits: A takes its commit back
#   4. B pauses after its (only) DeleteObjects page, A commits and is killed, B goes on: B
#      finds full_meta.json, gives up (EBUSY) and deletes it again before it does
. "$(dirname "$0")/lib.sh"
cr_begin

# 500 rows in 5-row binlogs: about 500 objects, one DeleteObjects page
sa_start a STANDIN_BINLOG_MAX_ROWS=5 || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 500 --batches 2 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK")
MA=$(t_mkmnt)
MB=$(t_mkmnt)
PA=$T_TMP/pause-a
PB=$T_TMP/pause-b

# start_paused NAME: mkdir .snapshot/NAME on A, which stops before its commit PUT
start_paused() {
	sn_mkdir "$MA/.snapshot/$1" || t_bail "mkdir .snapshot/$1 on A: $SN_ERR"
	t_wait 120 test -e "$PA" || t_bail "$1: A never reached its commit"
	ok "$1: A's snapshot waits before its commit PUT"
}
# b_rmdir NAME: rmdir on B, which sees NAME incomplete
# (B lists the root at most once per TTL, so a name A made since B's last listing shows on
# B within the TTL, not at once)
b_sees_incomplete() { [ "$(cr_info_state "$MB" "$1")" = incomplete ]; }
b_rmdir() {
	t_check "$1: B sees it incomplete within the TTL" t_wait 10 b_sees_incomplete "$1"
	if sn_rmdir "$MB/$1"; then ok "$1: rmdir on B ($SN_MS ms)"; else not_ok "$1: rmdir on B: $SN_ERR"; fi
}
# finish NAME MNT...: the end state on each mount, then rmdir clears it
finish() {
	local name=$1 m; shift
	for m in "$@"; do cr_never_false_complete "$name: mount $(basename "$m")" "$m" "$BK" "$name"; done
	cr_rmdir_clears "$name" "$1" "$BK" "$name"
}
# dead_umount MNT: unmount a mount whose daemon was killed
dead_umount() { fusermount3 -u "$1" 2>/dev/null || fusermount3 -uz "$1"; t_wait 10 sh -c "! mountpoint -q '$1'"; }
empty() { sn_prefix_empty "$BK" "backup/$1/"; }

# --- 1. both alive
cr_mount "$MVB_CRASH_BIN" "$CFG" "$MA" MVB_PAUSE_AT=snapshot_meta_levels MVB_PAUSE_FILE="$PA" || t_bail "mount A"
LOG_A=$CR_LOG
t_mount_or_bail "$CFG" "$MB"
start_paused r1
b_rmdir r1
t_check "r1: B's delete empties the prefix (deadline 60 s)" t_wait 60 empty r1
rm -f "$PA"
# (A's log: its .status is gone with the backup once the job has ended)
t_check "r1: A's snapshot fails: the backup is being deleted (deadline 60 s)" \
	t_wait 60 cr_logged "$LOG_A" "snapshot 'r1' failed: not committed: 'r1' is being deleted"
t_check "r1: no meta/full_meta.json in the bucket" sn_no_full_meta "$BK" r1
finish r1 "$MA" "$MB"
t_umount "$MA" || t_bail "unmount A"

# --- 2. A killed between its commit PUT and its check, after B's delete
cr_mount "$MVB_CRASH_BIN" "$CFG" "$MA" MVB_PAUSE_AT=snapshot_meta_levels MVB_PAUSE_FILE="$PA" \
	MVB_CRASH_AT=snapshot_commit_put || t_bail "mount A"
pid=$CR_PID
start_paused r2
b_rmdir r2
t_check "r2: B's delete empties the prefix (deadline 60 s)" t_wait 60 empty r2
rm -f "$PA"
t_check "r2: A is killed after its commit PUT" cr_died "$pid"
t_check "r2: A's full_meta.json landed on the deleted backup" sn_has_object "$BK" backup/r2/meta/full_meta.json
cr_remount "$CFG" "$MA" || t_bail "remount A"
t_eq "r2: A (remounted) shows it incomplete" incomplete "$(cr_info_state "$MA" r2)"
t_check "r2: B shows it incomplete within the TTL" t_wait 4 sh -c "[ \"\$(awk '\$1 == \"state:\" { print \$2 }' '$MB/r2/.info')\" = incomplete ]"
finish r2 "$MA" "$MB"
t_umount "$MA" || t_bail "unmount A"
t_umount "$MB" || t_bail "unmount B"

# --- 3. B killed after a DeleteObjects page, A alive
cr_mount "$MVB_CRASH_BIN" "$CFG" "$MA" MVB_PAUSE_AT=snapshot_meta_levels MVB_PAUSE_FILE="$PA" || t_bail "mount A"
LOG_A=$CR_LOG
cr_mount "$MVB_CRASH_BIN" "$CFG" "$MB" MVB_CRASH_AT=delete_data_page || t_bail "mount B"
pid=$CR_PID
start_paused r3
b_rmdir r3
t_check "r3: B is killed in its delete" cr_died "$pid"
rm -f "$PA"
# (A's log: its .status is gone with the backup once the job has ended)
t_check "r3: A's snapshot fails: the backup is being deleted (deadline 60 s)" \
	t_wait 60 cr_logged "$LOG_A" "snapshot 'r3' failed: not committed: 'r3' is being deleted"
t_check "r3: no meta/full_meta.json in the bucket" sn_no_full_meta "$BK" r3
finish r3 "$MA"
dead_umount "$MB"
t_umount "$MA" || t_bail "unmount A"

# --- 4. B pauses after its DeleteObjects page; A commits and is killed; B goes on
cr_mount "$MVB_CRASH_BIN" "$CFG" "$MA" MVB_PAUSE_AT=snapshot_meta_levels MVB_PAUSE_FILE="$PA" \
	MVB_CRASH_AT=snapshot_commit_put || t_bail "mount A"
pid=$CR_PID
cr_mount "$MVB_CRASH_BIN" "$CFG" "$MB" MVB_PAUSE_AT=delete_data_page MVB_PAUSE_FILE="$PB" || t_bail "mount B"
LOG_B=$CR_LOG
start_paused r4
b_rmdir r4
t_check "r4: B's delete waits after its DeleteObjects page" t_wait 60 test -e "$PB"
rm -f "$PA"
t_check "r4: A is killed after its commit PUT" cr_died "$pid"
t_check "r4: A's full_meta.json landed on the half-deleted backup" sn_has_object "$BK" backup/r4/meta/full_meta.json
rm -f "$PB"
t_check "r4: B deletes meta/full_meta.json again before it gives up (deadline 60 s)" \
	t_wait 60 sn_no_full_meta "$BK" r4
t_check "r4: B's delete gives up: full_meta.json appeared (deadline 60 s)" \
	t_wait 60 cr_logged "$LOG_B" "appeared while it was being deleted"
cr_remount "$CFG" "$MA" || t_bail "remount A"
finish r4 "$MA" "$MB"

t_done
