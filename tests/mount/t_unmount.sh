#!/usr/bin/env bash
# t_unmount: the two ways a user ends a mount leave nothing behind -- SIGTERM to the daemon
# unmounts cleanly, and fusermount3 -u ends the daemon.
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
t_need_s3
BUCKET=$(t_bucket) || t_bail "bucket"
echo "not a backup" >"$T_TMP/stray.txt"
t_upload "$T_TMP/stray.txt" "$BUCKET" backup
CFG=$(t_config_s3 "$BUCKET" backup)
MNT=$(t_mkmnt)

# --- SIGTERM
t_mount_or_bail "$CFG" "$MNT"
pid=$(t_daemon_pid "$MNT")
t_check "the daemon runs in the background (pgrep finds it)" test -n "$pid"
t_eq "the mount serves the bucket" "not a backup" "$(cat "$MNT/stray.txt" 2>&1)"
[ -n "$pid" ] && kill -TERM "$pid"
t_check "SIGTERM: the mount goes away" t_wait 10 sh -c "! mountpoint -q '$MNT'"
t_check "SIGTERM: the daemon exits" t_wait 10 t_pid_gone "$pid"
t_eq "SIGTERM: the mountpoint is an empty usable directory again" "" "$(ls -A "$MNT" 2>&1)"
t_eq "SIGTERM: /proc/mounts has no entry for it" "" "$(grep -F " $MNT " /proc/mounts || true)"

# --- fusermount3 -u
t_mount_or_bail "$CFG" "$MNT"
pid=$(t_daemon_pid "$MNT")
t_check "remount after SIGTERM works" test -n "$pid"
t_eq "the remount serves the bucket" "not a backup" "$(cat "$MNT/stray.txt" 2>&1)"
t_check "fusermount3 -u succeeds" fusermount3 -u "$MNT"
t_check "fusermount3 -u: the mount goes away" t_wait 10 sh -c "! mountpoint -q '$MNT'"
t_check "fusermount3 -u: the daemon exits" t_wait 10 t_pid_gone "$pid"
t_eq "fusermount3 -u: no mvbackupfs process is left for the mountpoint" "" "$(t_daemon_pid "$MNT")"
t_eq "fusermount3 -u: the mountpoint is an empty usable directory again" "" "$(ls -A "$MNT" 2>&1)"

# --- foreground (-f): the daemon stays the child; fusermount3 -u ends it with status 0
"$MVB_BIN" -c "$CFG" -f "$MNT" 2>"$T_TMP/fg.err" &
fg=$!
T_PIDS+=("$fg")
t_check "-f: mounted while running in the foreground" t_wait 15 mountpoint -q "$MNT"
T_MOUNTS+=("$MNT")
t_check "-f: fusermount3 -u succeeds" fusermount3 -u "$MNT"
if t_wait 10 t_pid_gone "$fg"; then wait "$fg"; rc=$?; else rc="still running after 10 s"; fi
t_eq "-f: the foreground daemon exits 0 after unmount" 0 "$rc"
t_done
