#!/usr/bin/env bash
# t_fstab: the /etc/fstab line of the man page (docs/mvbackupfs.1 EXAMPLES) works -- mounted by
# util-linux `mount` from an fstab file (`mount -T FILE MNT`, through mount.fuse3, which runs
# `mvbackupfs SOURCE MNT -o OPTS` with the configuration file as SOURCE), `.info` reads, and
# `umount` unmounts it and the daemon exits.  mount(8) runs helpers with a fixed PATH
# (/usr/local/sbin:...:/bin) where this build is not installed, so the line names the
# program by its path in mount.fuse3's "type fuse, source PROGRAM#SOURCE" form (mvbackupfs(1)
# gives both); everything after mount.fuse3 finds the program is the same.
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
t_need_s3
[ "$(id -u)" = 0 ] || t_skip "mount(8) of a fuse.* fstab line needs root"
command -v mount.fuse3 >/dev/null || [ -x /sbin/mount.fuse3 ] || t_bail "mount.fuse3 (fuse3) is not installed"
BK=$(t_bucket) || t_bail "bucket"
FIX=$(t_fixtures) || t_bail "fixtures"
t_upload "$FIX/v0_5_9" "$BK" backup/v0_5_9
CFG=$(t_config_s3 "$BK" backup)
MNT=$(t_mkmnt)
LOG=$T_TMP/daemon-fstab.log
printf '# an fstab line as in mvbackupfs(1)\n%s#%s  %s  fuse  _netdev,nofail,log=%s  0  0\n' \
	"$(readlink -f "$MVB_BIN")" "$CFG" "$MNT" "$LOG" >"$T_TMP/fstab"
out=$(mount -T "$T_TMP/fstab" "$MNT" 2>&1); rc=$?
t_eq "mount -T FSTAB MNT exits 0 (${out:-no message})" 0 "$rc"
T_MOUNTS+=("$MNT")
t_check "MNT is a mount point (deadline 15 s)" t_wait 15 mountpoint -q "$MNT"
pid=$(pgrep -f -- "mvbackupfs .*$MNT( |$)" | head -n 1)
[ -n "$pid" ] && T_PIDS+=("$pid")
t_match "findmnt shows a FUSE mount" '^fuse' "$(findmnt -n -o FSTYPE "$MNT")"
t_match "cat .info lists the backup, complete" '^v0_5_9 +complete ' "$(cat "$MNT/.info" 2>&1)"
t_match "v0_5_9/.info reads" '^state: +complete$' "$(cat "$MNT/v0_5_9/.info" 2>&1)"
t_eq "umount MNT exits 0" 0 "$(umount "$MNT" 2>&1 >/dev/null; echo $?)"
t_check "MNT is no longer a mount point (deadline 10 s)" t_wait 10 sh -c "! mountpoint -q '$MNT'"
[ -z "$pid" ] || t_check "the daemon exited (deadline 10 s)" t_wait 10 t_pid_gone "$pid"
t_check "the daemon logged to the log= file of the fstab line" test -s "$LOG"
t_done
