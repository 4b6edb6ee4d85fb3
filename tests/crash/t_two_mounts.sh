#!/usr/bin/env bash
# t_two_mounts: two mounts of one bucket (spec §6, issue 6).  A committed backup's contents
# are cached for good, its existence is not: when full_meta.json goes away behind a mount's
# back (an S3 client, another mount's rmdir, a mount killed in the middle of a delete), the
# mount shows the new state within its listing TTL (mvbackupfs.cache.ttlMs, 2000 ms here).
#   1. `rclone delete` of full_meta.json -> A's .info says incomplete within the TTL
#   2. rmdir on B -> A shows the backup gone within the TTL
#   3. B killed (kill -9 at its crash point) right after its rmdir returned -> A shows
#      incomplete, and rmdir on A finishes the job
. "$(dirname "$0")/lib.sh"
cr_begin

TTL_S=2		# the default mvbackupfs.cache.ttlMs
sa_start a STANDIN_BINLOG_MAX_ROWS=5 || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 1100 --batches 4 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK")
MA=$(t_mkmnt)
MB=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MA"

# snap NAME: a complete snapshot NAME taken on A, read as complete by A (cached from now on)
snap() {
	sn_mkdir "$MA/.snapshot/$1" || t_bail "mkdir .snapshot/$1: $SN_ERR"
	sn_wait_state 120 "$MA" "$1" complete || t_bail "snapshot $1 did not complete"
	t_eq "A: $1 complete" complete "$(cr_info_state "$MA" "$1")"
	ls -R "$MA/$1" >/dev/null	# the tree cached too
}
# not_complete_on MNT NAME: MNT shows NAME absent or incomplete
not_complete_on() { [ "$(cr_info_state "$1" "$2")" != complete ] && [ "$(sn_root_state "$1" "$2")" != complete ]; }
# within SECONDS DESC CMD...: CMD holds within SECONDS; ok with the time it took
within() {
	local s=$1 desc=$2 t0 ms; shift 2
	t0=$(date +%s%N)
	if t_wait "$s" "$@"; then
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		ok "$desc (after $ms ms)"
	else
		not_ok "$desc (not within $s s)"
	fi
}

# --- 1. full_meta.json deleted with an S3 client
snap gone_s3
t_rclone delete "mvbs3:$BK/backup/gone_s3/meta/full_meta.json" || t_bail "rclone delete"
within $((TTL_S + 2)) "1: A shows gone_s3 incomplete within the TTL" not_complete_on "$MA" gone_s3
t_eq "1: A's gone_s3/.info says incomplete" incomplete "$(cr_info_state "$MA" gone_s3)"
t_check "1: ls A/gone_s3/meta no longer lists full_meta.json" sh -c "! ls '$MA/gone_s3/meta' | grep -qx full_meta.json"
cr_rmdir_clears "1" "$MA" "$BK" gone_s3

# --- 2. rmdir on B
t_mount_or_bail "$CFG" "$MB"
snap gone_b
t_eq "2: B: gone_b complete" complete "$(cr_info_state "$MB" gone_b)"
if sn_rmdir "$MB/gone_b"; then ok "2: rmdir gone_b on B ($SN_MS ms)"; else not_ok "2: rmdir on B: $SN_ERR"; fi
within $((TTL_S + 2)) "2: A no longer shows gone_b complete within the TTL" not_complete_on "$MA" gone_b
empty_b() { sn_prefix_empty "$BK" backup/gone_b/; }
t_check "2: B's delete empties backup/gone_b/ (deadline 60 s)" t_wait 60 empty_b
within $((TTL_S + 2)) "2: ls A no longer lists gone_b" sh -c "! ls '$MA' | grep -qx gone_b"
t_umount "$MB" || t_bail "unmount B"

# --- 3. B killed right after its rmdir returned
snap killed_b
cr_mount "$MVB_CRASH_BIN" "$CFG" "$MB" MVB_CRASH_AT=delete_data_page || t_bail "mount B (crash-point daemon)"
pid=$CR_PID
t_eq "3: B: killed_b complete" complete "$(cr_info_state "$MB" killed_b)"
if sn_rmdir "$MB/killed_b"; then ok "3: rmdir killed_b on B returns ($SN_MS ms)"; else not_ok "3: rmdir on B: $SN_ERR"; fi
t_check "3: B is killed in its delete job" cr_died "$pid"
left=$(sn_count "$BK" backup/killed_b/)
diag "3: $left objects left under backup/killed_b/"
t_check "3: part of killed_b is left" test "$left" -gt 0
within $((TTL_S + 2)) "3: A shows killed_b incomplete within the TTL" \
	sh -c "[ \"\$(awk '\$1 == \"state:\" { print \$2 }' '$MA/killed_b/.info')\" = incomplete ]"
cr_never_false_complete "3: A" "$MA" "$BK" killed_b
cr_rmdir_clears "3: A finishes the delete" "$MA" "$BK" killed_b
fusermount3 -u "$MB" 2>/dev/null || fusermount3 -uz "$MB"	# B's dead mount

t_done
