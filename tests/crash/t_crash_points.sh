#!/usr/bin/env bash
# t_crash_points: kill -9 of the daemon at every crash point (include/mvbackupfs/base/crashpoint.h)
# of a snapshot and of a delete.  After each: a remount with the normal daemon shows the backup
# absent or incomplete - never `complete` with a binlog of its full_meta.json missing (checked
# on .info and in the bucket) - and rmdir clears it, leaving nothing in the bucket.
#   snapshot_reserved      after the reservation (mkdir fails: the daemon died under it)
#   snapshot_meta_levels   the four level files written, full_meta.json not
#   snapshot_commit_put    full_meta.json written, the post-commit check not made (complete
#                          is right here: no delete ran, every binlog is there)
#   delete_meta_between    rmdir: full_meta.json deleted, backup_meta.json not yet
#   delete_meta_page       rmdir: both deleted, the rest of meta/ deleted, the data not
#   delete_data_page       the delete job, after its first DeleteObjects page
#   delete_before_sidecar  the delete job, everything but the sidecar deleted
. "$(dirname "$0")/lib.sh"
cr_begin

# 1100 rows in 5-row binlogs, in 4 flushed batches (each flush well within populate's gRPC
# deadline on a loaded machine): more than one 1000-key DeleteObjects page per backup
sa_start a STANDIN_BINLOG_MAX_ROWS=5 || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 1100 --batches 4 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK")
MNT=$(t_mkmnt)

for point in snapshot_reserved snapshot_meta_levels snapshot_commit_put \
	     delete_meta_between delete_meta_page delete_data_page delete_before_sidecar; do
	name=cp_$point
	diag "--- crash point $point"
	cr_mount "$MVB_CRASH_BIN" "$CFG" "$MNT" MVB_CRASH_AT="$point" || t_bail "mount the crash-point daemon"
	pid=$CR_PID
	case $point in
	snapshot_*)
		sn_mkdir "$MNT/.snapshot/$name" || diag "mkdir: $SN_ERR" ;;
	delete_*)
		sn_mkdir "$MNT/.snapshot/$name" || t_bail "mkdir .snapshot/$name: $SN_ERR"
		sn_wait_state 120 "$MNT" "$name" complete || t_bail "$name: the snapshot did not complete"
		t_eq "$point: $name complete before the rmdir" complete "$(cr_info_state "$MNT" "$name")"
		objs=$(sn_count "$BK" "backup/$name/")
		diag "$name: $objs objects"
		sn_rmdir "$MNT/$name" || diag "rmdir: $SN_ERR" ;;
	esac
	if cr_died "$pid" && cr_logged "$CR_LOG" "crash point '$point'"; then
		ok "$point: the daemon was killed there"
	else
		t_bail "$point: the daemon never reached the crash point (state $(sn_status "$MNT" "$name" state))"
	fi
	left=$(sn_count "$BK" "backup/$name/")
	diag "$point: $left objects left in the bucket"
	t_check "$point: something is left to clean up" test "$left" -gt 0
	case $point in
	delete_data_page)
		t_check "$point: the delete stopped part way ($left of $objs objects left)" \
			test "$left" -lt "$objs" ;;
	esac
	cr_remount "$CFG" "$MNT" || t_bail "remount after $point"
	cr_never_false_complete "$point: after the remount" "$MNT" "$BK" "$name"
	case $point in
	snapshot_commit_put) ;;
	*) t_check "$point: not complete" test "$CR_STATE" != complete ;;
	esac
	cr_rmdir_clears "$point" "$MNT" "$BK" "$name"
	t_umount "$MNT" || t_bail "unmount after $point"
done

t_done
