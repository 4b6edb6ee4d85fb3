#!/usr/bin/env bash
# t_milvus_root: backups that share Milvus's own root never expose Milvus's data to deletion
# (issue 6, bug 1).  milvus-backup's rule puts the backup root at minio.rootPath when
# minio.backupRootPath is unset (milvus-backup-format.md §5.3), so with the backup bucket =
# Milvus's bucket, insert_log/, delta_log/, stats_log/, index_files/ ... of the live Milvus sit
# beside the backups.  They are not listed (ls, .info), rmdir / rm -rf / rm of them fail with
# EPERM and a log line naming the reason, a snapshot may not be named like them, every object
# stays, and the daemon warns at startup that backups share Milvus's root.  Also with the
# backup root at the bucket root (Milvus's "files/" is then a root entry) and with a separate
# backupRootPath (no warning, nothing hidden).
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
t_need_s3
FIX=$(t_fixtures) || t_bail "fixtures"
BUCKET=$(t_bucket) || t_bail "bucket"

# Milvus-like objects under rootPath "files" (Milvus 2.3-2.6 layout), and a real backup beside them
MV=$T_TMP/milvus
for d in insert_log/451/452/453/100/1 insert_log/451/452/453/0/2 delta_log/451/452/453/3 \
	stats_log/451/452/453/100/4 index_files/9/1/452/453/HNSW_0 bm25_stats/451/452/453/101/5 \
	part_stats/451/452/x json_stats/451/452/453/y; do
	mkdir -p "$MV/$(dirname "$d")"
	head -c 333 /dev/urandom >"$MV/$d"
done
t_upload "$MV" "$BUCKET" files
t_upload "$FIX/v0_5_9" "$BUCKET" files/v0_5_9
t_upload "$FIX/v0_6_main" "$BUCKET" files/v0_6_main

count() { t_rclone lsf -R --files-only "mvbs3:$BUCKET/$1" 2>/dev/null | wc -l; }
milvus_objects() { t_rclone lsf -R --files-only "mvbs3:$BUCKET/files" 2>/dev/null | grep -Ev '^v0_' | LC_ALL=C sort; }
milvus_objects >"$T_TMP/milvus.before"
t_eq "the Milvus-like objects are in the bucket" "$(find "$MV" -type f | wc -l)" "$(wc -l <"$T_TMP/milvus.before")"

# fg_mount CFG MNT LOG: mount in the foreground, the daemon's stderr (its log) going to LOG
fg_mount() {
	"$MVB_BIN" -c "$1" -f "$2" 2>"$3" &
	T_PIDS+=("$!")
	t_wait 15 mountpoint -q "$2" || t_bail "mount '$2' (foreground): $(head -c 1000 "$3")"
	T_MOUNTS+=("$2")
}

# --- the trap: backupRootPath unset -> backups under Milvus's rootPath "files"
CFG=$(t_config_s3 "$BUCKET" files)
sed -i '/^  backupRootPath:/d' "$CFG"
MNT=$(t_mkmnt)
LOG=$T_TMP/daemon.log
fg_mount "$CFG" "$MNT" "$LOG"
t_match "startup warning: backups share Milvus's root" "backups share Milvus's root" "$(cat "$LOG")"

listing=$(ls "$MNT")
t_match "ls shows the backup v0_5_9" '^v0_5_9$' "$listing"
t_check "ls does not show insert_log, delta_log, stats_log, index_files, bm25_stats, part_stats, json_stats" \
	sh -c "! printf '%s\n' '$listing' | grep -Eqx 'insert_log|delta_log|stats_log|index_files|bm25_stats|part_stats|json_stats'"
info=$(cat "$MNT/.info")
t_match ".info lists v0_5_9 complete" '^v0_5_9 +complete' "$info"
t_check ".info lists no Milvus data directory as a backup" \
	sh -c "! printf '%s\n' '$info' | grep -Eq '^(insert_log|delta_log|stats_log|index_files|bm25_stats) '"
t_check "insert_log/.info does not exist" sh -c "! cat '$MNT/insert_log/.info' >/dev/null 2>&1"

out=$(rmdir "$MNT/insert_log" 2>&1); rc=$?
t_check "rmdir MNT/insert_log fails" test $rc -ne 0
t_match "rmdir MNT/insert_log: Operation not permitted" 'Operation not permitted' "$out"
out=$(rm -rf "$MNT/delta_log" 2>&1); rc=$?
t_check "rm -rf MNT/delta_log fails" test $rc -ne 0
t_match "rm -rf MNT/delta_log: Operation not permitted" 'Operation not permitted' "$out"
t_eq "ls MNT/stats_log shows nothing of Milvus's data" "" "$(ls -A "$MNT/stats_log" 2>&1)"
out=$(mkdir "$MNT/.snapshot/index_files" 2>&1); rc=$?
t_check "mkdir .snapshot/index_files fails" test $rc -ne 0
t_match "mkdir .snapshot/index_files: Operation not permitted" 'Operation not permitted' "$out"
t_match "the log names the reason" "refusing to delete '/insert_log': 'insert_log' is Milvus's own data" "$(cat "$LOG")"

# a real backup beside Milvus's data is still deleted as a whole, and only it
t_check "rm -rf MNT/v0_5_9 (a backup) succeeds" rm -rf "$MNT/v0_5_9"
gone() { [ "$(count files/v0_5_9/)" -eq 0 ]; }
t_check "the bucket ends empty under files/v0_5_9/ (deadline 60 s)" t_wait 60 gone
milvus_objects >"$T_TMP/milvus.after"
t_same_lines "every Milvus object is still there" "$T_TMP/milvus.before" "$T_TMP/milvus.after"
t_check "unmount" t_umount "$MNT"

# --- backup root at the bucket root: Milvus's "files/" is a root entry, and protected
CFG0=$(t_config_s3 "$BUCKET" '""')
MNT0=$(t_mkmnt)
LOG0=$T_TMP/daemon0.log
fg_mount "$CFG0" "$MNT0" "$LOG0"
t_match "root '': startup warning" "backups share Milvus's root" "$(cat "$LOG0")"
t_check "root '': ls does not show files" sh -c "! ls '$MNT0' | grep -qx files"
out=$(rmdir "$MNT0/files" 2>&1)
t_match "root '': rmdir MNT/files: Operation not permitted" 'Operation not permitted' "$out"
out=$(rm -rf "$MNT0/files" 2>&1)
t_match "root '': rm -rf MNT/files: Operation not permitted" 'Operation not permitted' "$out"
milvus_objects >"$T_TMP/milvus.after0"
t_same_lines "root '': every Milvus object is still there" "$T_TMP/milvus.before" "$T_TMP/milvus.after0"
t_check "unmount root ''" t_umount "$MNT0"

# --- a separate backupRootPath: no warning, nothing hidden
t_upload "$FIX/v0_6_main" "$BUCKET" backup/v0_6_main
CFGB=$(t_config_s3 "$BUCKET" backup)
MNTB=$(t_mkmnt)
LOGB=$T_TMP/daemonb.log
fg_mount "$CFGB" "$MNTB" "$LOGB"
t_check "backupRootPath 'backup': no shared-root warning" sh -c "! grep -q \"backups share Milvus's root\" '$LOGB'"
t_eq "backupRootPath 'backup': ls shows the backup" v0_6_main "$(ls "$MNTB")"

t_done
