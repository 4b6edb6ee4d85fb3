#!/usr/bin/env bash
# t_rmdir_fail: an rmdir that fails after full_meta.json is gone (the store refuses the delete
# of backup_meta.json: MVB_FAIL_AT=delete_meta_between) reports EIO, and the mount shows at
# once what storage now says - incomplete, not the `complete` it had cached - and a failed
# `rm -rf` leaves no frozen (pinned) tree behind: ls shows meta/ without full_meta.json.
# A normal mount's rmdir then clears both backups.
. "$(dirname "$0")/lib.sh"
cr_begin

sa_start a || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 300 --batches 1 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK")
MNT=$(t_mkmnt)
cr_mount "$MVB_CRASH_BIN" "$CFG" "$MNT" MVB_FAIL_AT=delete_meta_between || t_bail "mount the crash-point daemon"

for name in by_rmdir by_rm_rf; do
	sn_mkdir "$MNT/.snapshot/$name" || t_bail "mkdir .snapshot/$name: $SN_ERR"
	sn_wait_state 120 "$MNT" "$name" complete || t_bail "snapshot $name did not complete"
	t_eq "$name: complete (and cached)" complete "$(cr_info_state "$MNT" "$name")"
	ls -R "$MNT/$name" >/dev/null
done

sn_rmdir "$MNT/by_rmdir"
t_match "rmdir by_rmdir fails with EIO" 'Input/output error' "${SN_ERR:-it succeeded}"
t_check "by_rmdir: meta/full_meta.json is gone from the bucket" sn_no_full_meta "$BK" by_rmdir
t_eq "by_rmdir: .info says incomplete at once" incomplete "$(cr_info_state "$MNT" by_rmdir)"
t_eq "by_rmdir: root .info says incomplete at once" incomplete "$(sn_root_state "$MNT" by_rmdir)"

out=$(rm -rf "$MNT/by_rm_rf" 2>&1) && not_ok "rm -rf by_rm_rf succeeded" || t_match "rm -rf by_rm_rf fails with EIO" 'Input/output error' "$out"
t_check "by_rm_rf: meta/full_meta.json is gone from the bucket" sn_no_full_meta "$BK" by_rm_rf
t_check "by_rm_rf: ls shows it (the delete did not happen)" sh -c "ls '$MNT' | grep -qx by_rm_rf"
t_eq "by_rm_rf: .info says incomplete at once" incomplete "$(cr_info_state "$MNT" by_rm_rf)"
t_check "by_rm_rf: ls by_rm_rf/meta no longer lists full_meta.json (no frozen tree)" \
	sh -c "! ls '$MNT/by_rm_rf/meta' | grep -qx full_meta.json"

t_umount "$MNT" || t_bail "unmount"
t_mount_or_bail "$CFG" "$MNT"
cr_rmdir_clears "by_rmdir" "$MNT" "$BK" by_rmdir
cr_rmdir_clears "by_rm_rf" "$MNT" "$BK" by_rm_rf

t_done
