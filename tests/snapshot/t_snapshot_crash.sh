#!/usr/bin/env bash
# t_snapshot_crash: kill -9 of the daemon in the middle of a snapshot's copy never leaves a
# backup that reads as complete: after fusermount3 -u of the dead mount and a remount, the
# leftovers show as incomplete (root .info and the backup's .info), and rmdir clears them (the
# bucket ends empty under the prefix).
. "$(dirname "$0")/lib.sh"
sn_begin

# many small binlog objects (3000 rows, 5 rows per binlog: 600 logs x 5 fields) and one copy
# in flight, so the copy phase lasts long enough to be interrupted
sa_start a STANDIN_BINLOG_MAX_ROWS=5 || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 3000 --batches 1 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK" "$(printf 'mvbackupfs:\n  snapshot:\n    parallel: 1\n')")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
PID=$(t_daemon_pid "$MNT")
[ -n "$PID" ] || t_bail "no daemon pid for $MNT"

if ! sn_mkdir "$MNT/.snapshot/crash_1"; then
	sn_unsupported && diag "the daemon has no snapshot support yet"
	t_bail "mkdir .snapshot/crash_1: $SN_ERR"
fi
ok "mkdir .snapshot/crash_1"

# wait until the copy has written something, then kill -9
copying() {
	local ph n
	ph=$(sn_status "$MNT" crash_1 phase)
	n=$(sn_status "$MNT" crash_1 items_done)
	[ "$(sn_status "$MNT" crash_1 state)" = creating ] && [ "$ph" = copy ] && [ "${n:-0}" -gt 0 ]
}
if t_wait 60 copying; then
	diag "killing pid $PID at items $(sn_status "$MNT" crash_1 items_done)/$(sn_status "$MNT" crash_1 items_total)"
	kill -KILL "$PID"
	ok "kill -9 of the daemon during the copy phase"
else
	diag "state $(sn_status "$MNT" crash_1 state) phase $(sn_status "$MNT" crash_1 phase)"
	t_bail "the snapshot never showed phase copy with items_done > 0 while creating"
fi
t_wait 10 t_pid_gone "$PID" || t_bail "pid $PID still alive after kill -9"
t_check "the bucket holds part of crash_1" test "$(sn_count "$BK" backup/crash_1/)" -gt 0
t_check "no meta/full_meta.json was written" sn_no_full_meta "$BK" crash_1

# the dead mount: unmount, mount again
t_check "fusermount3 -u of the dead mount" fusermount3 -u "$MNT"
t_wait 10 sh -c "! mountpoint -q '$MNT'" || fusermount3 -uz "$MNT" 2>/dev/null
t_mount_or_bail "$CFG" "$MNT"
t_check "crash_1 is listed after the remount" sh -c "ls '$MNT' | grep -qx crash_1"
t_eq "root .info: crash_1 incomplete" incomplete "$(sn_root_state "$MNT" crash_1)"
t_match "crash_1/.info: state incomplete" '^state: +incomplete' "$(cat "$MNT/crash_1/.info" 2>&1)"
t_check "ls .snapshot does not list crash_1 (no job runs)" sh -c "! ls '$MNT/.snapshot' | grep -qx crash_1"
sn_mkdir "$MNT/.snapshot/crash_1"
t_match "mkdir .snapshot/crash_1 again -> EEXIST (leftovers block the name)" 'File exists' "${SN_ERR:-succeeded}"

# rmdir clears it
if sn_rmdir "$MNT/crash_1"; then ok "rmdir crash_1 ($SN_MS ms)"; else not_ok "rmdir crash_1: $SN_ERR"; fi
t_check "crash_1 vanishes from ls at once" sh -c "! ls '$MNT' | grep -qx crash_1"
empty() { sn_prefix_empty "$BK" backup/crash_1/; }
t_check "the bucket ends empty under backup/crash_1/ (deadline 60 s)" t_wait 60 empty

t_done
