# shellcheck shell=bash
# tests/crash/lib.sh -- helpers for the crash-point tests (tests/crash/t_*.sh): everything of
# tests/snapshot/lib.sh (and so of tests/mount/lib.sh), plus mounts of the crash-point build
# (include/mvbackupfs/base/crashpoint.h: MVB_CRASH_AT / MVB_FAIL_AT / MVB_PAUSE_AT) and the one
# check every test makes after a crash: the backup is never a false `complete`.
#
# Environment: MVB_CRASH_BIN, the daemon built with -DMVB_CRASH_POINTS=ON (tests/crash/run.sh
# builds it in build-crash/); MVB_BIN, the normal daemon every remount uses.

# shellcheck source=../snapshot/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../snapshot" && pwd)/lib.sh"

MVB_CRASH_BIN=${MVB_CRASH_BIN:-$T_TOP/build-crash/mvbackupfs}

# cr_begin: sn_begin, and the crash-point daemon must exist
cr_begin() {
	sn_begin
	[ -x "$MVB_CRASH_BIN" ] || t_bail "no crash-point daemon at '$MVB_CRASH_BIN' (tests/crash/run.sh builds it)"
}

# cr_mount BIN CFG MNT [VAR=VALUE...]: mount with daemon BIN in the foreground (-f, its log
# in $CR_LOG), VAR=VALUE in its environment (MVB_CRASH_AT=point ...); waits until MNT is
# mounted (deadline 15 s) and sets CR_PID to the daemon's pid.  The EXIT trap unmounts it and
# stops the daemon like any t_mount.
CR_N=0
cr_mount() {
	local bin=$1 cfg=$2 mnt=$3; shift 3
	CR_N=$((CR_N + 1))
	CR_LOG=$T_TMP/daemon-$CR_N.log
	env "$@" "$bin" -f -c "$cfg" "$mnt" >"$CR_LOG" 2>&1 &
	CR_PID=$!
	T_PIDS+=("$CR_PID")
	T_MOUNTS+=("$mnt")
	if ! t_wait 15 mountpoint -q "$mnt"; then
		diag "'$mnt' is not mounted 15 s after starting $bin: $(tail -n 5 "$CR_LOG")"
		return 1
	fi
}

# cr_logged LOG REGEX: the daemon's log has a line matching REGEX
cr_logged() { grep -Eq -- "$2" "$1"; }

# cr_died PID: the daemon is gone (killed by its crash point) within 60 s
cr_died() { t_wait 60 t_pid_gone "$1"; }

# cr_remount CFG MNT: unmount a dead mount and mount it again with the normal daemon
cr_remount() {
	fusermount3 -u "$2" 2>/dev/null || fusermount3 -uz "$2" 2>/dev/null
	t_wait 10 sh -c "! mountpoint -q '$2'" || return 1
	t_mount "$1" "$2"
}

# cr_info_state MNT NAME: the state line of MNT/NAME/.info ("" when NAME is absent)
cr_info_state() { awk '$1 == "state:" { print $2; exit }' "$1/$2/.info" 2>/dev/null; }

# cr_never_false_complete DESC MNT BUCKET NAME: what MNT shows of NAME is absent, incomplete
# or failed (this mount's snapshot of it failed), or complete with every binlog full_meta.json names present with its size; and
# whatever the mount says, when the bucket holds both commit keys of NAME (what milvus-backup
# calls an existing backup), validate.js must find every binlog.  Prints the state seen.
cr_never_false_complete() {
	local desc=$1 mnt=$2 bk=$3 name=$4 root info
	root=$(sn_root_state "$mnt" "$name")
	info=$(cr_info_state "$mnt" "$name")
	CR_STATE=${info:-absent}
	if [ "${root:-absent}" != "${info:-absent}" ]; then
		not_ok "$desc: root .info says '${root:-absent}', $name/.info says '${info:-absent}'"
		return 1
	fi
	case "$CR_STATE" in
	absent|incomplete|failed) ok "$desc: $CR_STATE" ;;	# failed: this mount's snapshot failed
	complete)
		if sn_validate "$bk" "backup/$name" --quiet; then
			ok "$desc: complete, and every binlog of its full_meta.json is there"
		else
			not_ok "$desc: complete with its data damaged (validate.js above)"
			return 1
		fi ;;
	*) not_ok "$desc: unexpected state '$CR_STATE'"; return 1 ;;
	esac
	if sn_has_object "$bk" "backup/$name/meta/full_meta.json" &&
	   sn_has_object "$bk" "backup/$name/meta/backup_meta.json"; then
		if sn_validate "$bk" "backup/$name" --quiet; then
			ok "$desc: the bucket's committed meta names only objects that exist"
		else
			not_ok "$desc: the bucket holds a commit whose binlogs are missing"
			return 1
		fi
	fi
	return 0
}

# cr_rmdir_clears DESC MNT BUCKET NAME: rmdir NAME succeeds (or NAME is already gone) and the
# bucket ends empty under backup/NAME/ (deadline 60 s)
cr_rmdir_clears() {
	local desc=$1 mnt=$2 bk=$3 name=$4
	if [ -e "$mnt/$name" ]; then
		if sn_rmdir "$mnt/$name"; then
			ok "$desc: rmdir $name"
		elif grep -q 'No such file' <<<"$SN_ERR" && ! ls "$mnt" | grep -x "$name" >/dev/null; then
			ok "$desc: $name was gone already (the kernel had its entry cached)"
		else
			not_ok "$desc: rmdir $name: $SN_ERR"
		fi
	fi
	# shellcheck disable=SC2317
	cr_empty() { sn_prefix_empty "$bk" "backup/$name/"; }
	t_check "$desc: nothing left under backup/$name/ (deadline 60 s)" t_wait 60 cr_empty
}
