#!/usr/bin/env bash
# t_snapshot_errors: mkdir MNT/.snapshot/NAME refuses synchronously, within 1 s each, with the
# errno a shell shows: bad name -> EINVAL, name taken (a complete backup, leftovers of a failed
# one, a snapshot being taken) -> EEXIST, Milvus down -> EHOSTUNREACH/ECONNREFUSED, wrong
# Milvus password -> EACCES, -o ro -> EROFS; and a refused mkdir writes nothing to the bucket.
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a MILVUS_AUTH=root:Milvus STANDIN_FLUSH_DELAY_MS=3000 || t_bail "stand-in"
A_DIR=$SA_DIR
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 50 --batches 1 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
# a complete backup (a fixture of milvus-backup v0.5.9) and the leftovers of a failed one
FIX=$(t_fixtures) || t_bail "fixtures"
t_upload "$FIX/v0_5_9" "$BK" backup/done_1
printf 'x' >"$T_TMP/obj"
t_rclone copyto "$T_TMP/obj" "mvbs3:$BK/backup/left_1/binlogs/insert_log/1/2/3/3/100/4" || t_bail "upload"
N0=$(sn_count "$BK" backup/)
CFG=$(sn_config "$BK")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"

# --- bad names (milvus-backup's rule ^[A-Za-z_][A-Za-z0-9_]*$, at most 128 chars)
long=$(printf 'a%.0s' $(seq 129))
for bad in 1abc a-b 'a b' 'a.b' "$long" 'snap$'; do
	sn_mkdir "$MNT/.snapshot/$bad"
	sn_expect_err "mkdir .snapshot/'${bad:0:20}' -> EINVAL" 'Invalid argument'
done
if sn_unsupported; then t_bail "the daemon has no snapshot support yet (mkdir: $SN_ERR)"; fi
t_eq "refused names wrote nothing under backup/" "$N0" "$(sn_count "$BK" backup/)"

# --- names that are taken
sn_mkdir "$MNT/.snapshot/done_1"
sn_expect_err "mkdir .snapshot/done_1 (a complete backup) -> EEXIST" 'File exists'
sn_mkdir "$MNT/.snapshot/left_1"
sn_expect_err "mkdir .snapshot/left_1 (leftover objects) -> EEXIST" 'File exists'
t_eq "left_1 still holds only its one object" 1 "$(sn_count "$BK" backup/left_1/)"
t_eq "taken names wrote nothing under backup/" "$N0" "$(sn_count "$BK" backup/)"

# a snapshot being taken (the stand-in's flush takes 3 s)
if sn_mkdir "$MNT/.snapshot/busy_1"; then
	ok "mkdir .snapshot/busy_1 starts a snapshot ($SN_MS ms)"
	sn_mkdir "$MNT/.snapshot/busy_1"
	sn_expect_err "a second mkdir .snapshot/busy_1 while it runs -> EEXIST" 'File exists'
	sn_mkdir "$MNT/busy_1"
	t_check "mkdir MNT/busy_1 (copy target) while it is being taken fails" test -n "$SN_ERR"
	sn_wait_state 60 "$MNT" busy_1 complete
	t_eq "busy_1 completes" complete "$(sn_status "$MNT" busy_1 state)"
	sn_mkdir "$MNT/.snapshot/busy_1"
	sn_expect_err "mkdir .snapshot/busy_1 once complete -> EEXIST" 'File exists'
else
	not_ok "mkdir .snapshot/busy_1: $SN_ERR"
fi

# --- wrong Milvus password (a mount of its own; browsing still works)
CFG_PW=$(SN_PASSWORD=wrong sn_config "$BK")
MNT_PW=$(t_mkmnt)
if t_mount "$CFG_PW" "$MNT_PW"; then
	sn_mkdir "$MNT_PW/.snapshot/pw_1"
	sn_expect_err "wrong Milvus password -> EACCES" 'Permission denied'
	t_eq "nothing written under backup/pw_1/" 0 "$(sn_count "$BK" backup/pw_1/)"
	t_check "pw_1 does not appear" sh -c "! ls '$MNT_PW' | grep -qx pw_1"
else
	not_ok "mount with a wrong Milvus password (browsing must work): $(head -c 300 "$T_TMP/mount.err")"
fi

# --- read-only mount
MNT_RO=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT_RO" -o ro
sn_mkdir "$MNT_RO/.snapshot/ro_1"
sn_expect_err "-o ro: mkdir .snapshot/ro_1 -> EROFS" 'Read-only file system'
t_eq "nothing written under backup/ro_1/" 0 "$(sn_count "$BK" backup/ro_1/)"

# --- Milvus down
sa_stop "$A_DIR"
sn_mkdir "$MNT/.snapshot/down_1"
sn_expect_err "stand-in stopped -> EHOSTUNREACH or ECONNREFUSED" 'No route to host|Connection refused'
t_eq "nothing written under backup/down_1/" 0 "$(sn_count "$BK" backup/down_1/)"
t_check "down_1 does not appear" sh -c "! ls '$MNT' | grep -qx down_1"
t_check "ls .snapshot is empty" sh -c "[ -z \"\$(ls '$MNT/.snapshot')\" ]"
# a closed port in the config: the same
CFG_CL=$(SN_MILVUS_PORT=$(t_closed_port) sn_config "$BK")
MNT_CL=$(t_mkmnt)
if t_mount "$CFG_CL" "$MNT_CL"; then
	sn_mkdir "$MNT_CL/.snapshot/closed_1"
	sn_expect_err "Milvus port closed -> EHOSTUNREACH or ECONNREFUSED" 'No route to host|Connection refused'
else
	not_ok "mount with Milvus unreachable (must only warn)"
fi

t_done
