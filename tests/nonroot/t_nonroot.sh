#!/usr/bin/env bash
# t_nonroot: the daemon mounted by an ordinary user (issue 6; spec §7).  A throw-away uid
# (created here when missing) mounts with fusermount3 and uses the tools of the README: ls,
# cat of .info and of an object, mkdir .snapshot/X against the Milvus stand-in, and the
# documented `rm -rf NAME`, which must work for the mounting user (bug 7: 0555 directories
# under default_permissions made its first unlink fail).  With -o allow_other a second uid may
# read but may neither snapshot nor delete (EACCES/EPERM), and nothing is deleted.
# Needs root (to create the users and to run commands as them).  /etc/fuse.conf gets
# user_allow_other only for the allow_other part, and is restored at the end.
# shellcheck disable=SC2010  # what ls (readdir) shows is what these tests check
. "$(dirname "$0")/../snapshot/lib.sh"
sn_begin
[ "$(id -u)" = 0 ] || t_skip "needs root to create the test users"
command -v runuser >/dev/null || t_bail "runuser is not installed (util-linux)"
[ -u "$(command -v fusermount3)" ] || t_bail "fusermount3 is not setuid root: users cannot mount"

U1=mvb-nonroot1
U2=mvb-nonroot2
for u in "$U1" "$U2"; do
	id -u "$u" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$u" \
		|| t_bail "useradd $u"
done
as() { local u=$1; shift; runuser -u "$u" -- "$@"; }

# /etc/fuse.conf: user_allow_other only while this test needs it.  /dev/fuse: Debian's udev
# makes it 0666 (users mount through it and fusermount3); a container may leave it 0600 -
# then it is opened up for the test and restored after.
FUSE_CONF=/etc/fuse.conf
FUSE_CONF_SAVED=
DEV_FUSE_MODE=
nr_cleanup() {
	local rc=$?
	if [ -n "$FUSE_CONF_SAVED" ]; then cp "$FUSE_CONF_SAVED" "$FUSE_CONF"; fi
	if [ -n "$DEV_FUSE_MODE" ]; then chmod "$DEV_FUSE_MODE" /dev/fuse; fi
	(exit "$rc")
	sn_cleanup
}
trap nr_cleanup EXIT
if ! runuser -u "$U1" -- test -r /dev/fuse -a -w /dev/fuse; then
	DEV_FUSE_MODE=$(stat -c %a /dev/fuse)
	chmod 0666 /dev/fuse || t_bail "cannot make /dev/fuse usable by users"
	diag "/dev/fuse was $DEV_FUSE_MODE: 0666 (as Debian's udev sets it) for this test"
fi

# the user's own corner of the test dir: mountpoints and a config only it can read
chmod 711 "$T_TMP"
UD=$T_TMP/user
mkdir -p "$UD" && chown "$U1": "$UD" && chmod 755 "$UD"

sa_start a || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 200 --batches 2 --dim 16 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$UD/backup.yaml
cp "$(sn_config "$BK")" "$CFG" && chown "$U1": "$CFG" && chmod 600 "$CFG"
FIX=$(t_fixtures) || t_bail "fixtures"
t_upload "$FIX/v0_5_9" "$BK" backup/v0_5_9

# umount_user MNT: the user unmounts its own mount; wait for the daemon to go
umount_user() {
	local pid
	pid=$(t_daemon_pid "$1")
	as "$U1" fusermount3 -u "$1" || return 1
	[ -z "$pid" ] || t_wait 10 t_pid_gone "$pid" || return 1
	! grep -qF " $1 fuse" /proc/self/mounts
}
# mount_user MNT [OPTS...]: the daemon started by U1 (it daemonises once mounted)
mount_user() {
	local mnt=$1 pid; shift
	as "$U1" mkdir -p "$mnt" || return 1
	as "$U1" "$MVB_BIN" -c "$CFG" "$@" "$mnt" 2>"$T_TMP/mount-user.err" || {
		diag "mvbackupfs as $U1: $(head -c 1000 "$T_TMP/mount-user.err")"; return 1; }
	T_MOUNTS+=("$mnt")
	# not `mountpoint`: root may not stat a FUSE mount of another user without allow_other
	t_wait 15 grep -qF " $mnt fuse" /proc/self/mounts || return 1
	pid=$(t_daemon_pid "$mnt")
	[ -n "$pid" ] && T_PIDS+=("$pid")
	return 0
}

# --- a private mount of U1
MNT=$UD/mnt
if mount_user "$MNT"; then ok "$U1 mounts with fusermount3"; else t_bail "$U1 cannot mount"; fi
pid=$(t_daemon_pid "$MNT")
t_eq "the daemon runs as $U1" "$U1" "$(ps -o user= -p "$pid" 2>/dev/null | tr -d ' ')"
# spec §7: no core dumps of the credentials - the daemon is not dumpable, which the kernel
# shows by giving its /proc files to root (and keeps the user's debuggers out)
t_eq "the daemon is not dumpable (its /proc/PID/environ belongs to root)" root "$(stat -c %U "/proc/$pid/environ" 2>&1)"
t_check "$U1 cannot read the daemon's memory maps" sh -c "! runuser -u '$U1' -- cat /proc/$pid/maps >/dev/null 2>&1"
t_match "$U1: ls shows v0_5_9" '^v0_5_9$' "$(as "$U1" ls "$MNT" 2>&1)"
t_match "$U1: cat .info" '^v0_5_9 +complete' "$(as "$U1" cat "$MNT/.info" 2>&1)"
t_check "$U1: cat of an object is byte-exact" cmp "$FIX/v0_5_9/meta/backup_meta.json" <(as "$U1" cat "$MNT/v0_5_9/meta/backup_meta.json")
t_check "root cannot look into the private mount (no allow_other)" sh -c "! ls '$MNT/v0_5_9' >/dev/null 2>&1"

SN_ERR=$(as "$U1" mkdir "$MNT/.snapshot/nr_1" 2>&1); rc=$?
t_eq "$U1: mkdir .snapshot/nr_1 succeeds" "0" "$rc"
[ $rc -eq 0 ] || diag "$SN_ERR"
st_of() { as "$U1" awk '$1 == "state" { print $2 }' "$MNT/nr_1/.status" 2>/dev/null; }
done_state() { case "$(st_of)" in complete|failed|cancelled) return 0 ;; esac; return 1; }
t_wait 120 done_state
t_eq "$U1: nr_1 completes" complete "$(st_of)"
t_check "nr_1 has its full_meta.json in the bucket" sn_has_object "$BK" backup/nr_1/meta/full_meta.json

out=$(as "$U1" rm -rf "$MNT/v0_5_9" 2>&1); rc=$?
t_eq "$U1: rm -rf MNT/v0_5_9 exits 0 (bug 7)" 0 "$rc"
t_eq "$U1: rm -rf prints nothing" "" "$out"
t_check "v0_5_9 leaves ls at once" sh -c "! runuser -u '$U1' -- ls '$MNT' | grep -qx v0_5_9"
t_check "the bucket ends empty under backup/v0_5_9/ (deadline 60 s)" t_wait 60 sn_prefix_empty "$BK" backup/v0_5_9/
t_check "$U1 unmounts" umount_user "$MNT"

# --- allow_other: U2 reads, but may neither snapshot nor delete
if ! grep -qx 'user_allow_other' "$FUSE_CONF" 2>/dev/null; then
	FUSE_CONF_SAVED=$T_TMP/fuse.conf.saved
	if [ -f "$FUSE_CONF" ]; then cp "$FUSE_CONF" "$FUSE_CONF_SAVED"; else : >"$FUSE_CONF_SAVED"; fi
	echo user_allow_other >>"$FUSE_CONF"
fi
MNT2=$UD/mnt2
if mount_user "$MNT2" -o allow_other; then ok "$U1 mounts with -o allow_other"; else t_bail "$U1 cannot mount with -o allow_other"; fi
n_before=$(sn_count "$BK" backup/nr_1/)
t_match "$U2: ls works" '^nr_1$' "$(as "$U2" ls "$MNT2" 2>&1)"
t_match "$U2: cat .info works" '^nr_1 +complete' "$(as "$U2" cat "$MNT2/.info" 2>&1)"
t_check "$U2: cat of an object works" as "$U2" cat "$MNT2/nr_1/meta/full_meta.json"
out=$(as "$U2" mkdir "$MNT2/.snapshot/nr_2" 2>&1)
t_match "$U2: mkdir .snapshot/nr_2 is refused" 'Permission denied|Operation not permitted' "$out"
t_check "$U2: no nr_2 was reserved" sn_prefix_empty "$BK" backup/nr_2/
out=$(as "$U2" rmdir "$MNT2/nr_1" 2>&1)
t_match "$U2: rmdir nr_1 is refused" 'Permission denied|Operation not permitted' "$out"
out=$(as "$U2" rm -rf "$MNT2/nr_1" 2>&1); rc=$?
t_check "$U2: rm -rf nr_1 fails" test $rc -ne 0
t_match "$U2: rm -rf nr_1: permission denied" 'Permission denied|Operation not permitted' "$out"
t_match "nr_1 is still listed and complete" '^nr_1 +complete' "$(as "$U1" cat "$MNT2/.info" 2>&1)"
t_eq "no object of nr_1 was deleted" "$n_before" "$(sn_count "$BK" backup/nr_1/)"
t_check "$U1 (the owner) may still delete nr_1 with rm -rf" as "$U1" rm -rf "$MNT2/nr_1"
t_check "the bucket ends empty under backup/nr_1/ (deadline 60 s)" t_wait 60 sn_prefix_empty "$BK" backup/nr_1/
t_check "$U1 unmounts the shared mount" umount_user "$MNT2"

t_done
