#!/usr/bin/env bash
# t_getattr_requests: what `ls -l` and `stat` inside a backup ask of S3, counted by the fault
# proxy's request log (no fault is injected).  A snapshot and milvus-backup's backups hold no
# copy's mtimes record (.mvbackupfs-mtimes.json, written at the commit of a copy in): their
# getattrs never ask for one (each such GET was a 404, once per backup and mount, and every
# getattr took the copy-in table's lock).  A backup copied in with cp -a holds one: its files
# show the source's mtimes (what rsync -a's quick check needs), read with one GET per mount.
. "$(dirname "$0")/lib.sh"
fp_begin
fp_start || t_bail "faultproxy"

FIX=$(t_fixtures) || t_bail "fixtures"
BK=$(t_bucket) || t_bail "bucket"
for b in v0_4_12 v0_5_9; do t_upload "$FIX/$b" "$BK" "backup/$b"; done
sa_start a || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 200 --batches 1 --dim 8 || t_bail "populate"

# straight to RGW: a snapshot beside the fixtures, and a cp -a of v0_5_9 into bucket BC
MD=$(t_mkmnt)
t_mount_or_bail "$(sn_config "$BK")" "$MD"
sn_mkdir "$MD/.snapshot/snap1" || t_bail "mkdir .snapshot/snap1: $SN_ERR"
sn_wait_state 120 "$MD" snap1 complete || t_bail "snapshot 'snap1' did not complete"
BC=$(t_bucket) || t_bail "bucket BC"
MC=$(t_mkmnt)
t_mount_or_bail "$(t_config_s3 "$BC" backup)" "$MC"
t_check "cp -a v0_5_9 into another bucket" cp -a "$MD/v0_5_9" "$MC/"
t_wait 60 sh -c "awk '\$1==\"state\"{print \$2}' '$MC/v0_5_9/.status' 2>/dev/null | grep -qx complete" \
	|| t_bail "the copy of v0_5_9 did not commit"
t_check "the copy holds an mtimes record" sn_has_object "$BC" backup/v0_5_9/.mvbackupfs-mtimes.json

# through the proxy: fresh mounts (nothing cached), the request log cleared before each look
MP=$(t_mkmnt)
t_mount_or_bail "$(fp_endpoint sn_config "$BK")" "$MP"
MPC=$(t_mkmnt)
t_mount_or_bail "$(fp_endpoint t_config_s3 "$BC" backup)" "$MPC"
# mtimes_requests [METHOD]: the requests (of METHOD, default any) for an mtimes record
mtimes_requests() { fp_log | grep -c "^${1:-[A-Z]*} [^ ]*\.mvbackupfs-mtimes\.json"; }

curl -sf -XDELETE "$FP_CTL/log" >/dev/null
for b in snap1 v0_4_12 v0_5_9; do
	t_check "ls -lR $b" sh -c "ls -lR '$MP/$b' >/dev/null"
	f=$(cd "$MP/$b" && find . -type f | head -n 1)
	t_check "stat $b/$f" stat "$MP/$b/$f"
done
t_match "the proxy saw the listings of the backups (the mounts go through it)" 'GET [^ ]*snap1' "$(fp_log)"
t_eq "no request for an mtimes record in a snapshot or milvus-backup's backups" 0 "$(mtimes_requests)" \
	|| fp_log | grep 'mtimes' | sed 's/^/#   /'

curl -sf -XDELETE "$FP_CTL/log" >/dev/null
(cd "$MD/v0_5_9" && find . -type f -printf '%T@ %P\n' | sed 's/\.[0-9]* / /' | LC_ALL=C sort -k2) >"$T_TMP/src.mt"
# (the copy has a sidecar the source lacks: ours, written at the mkdir)
(cd "$MPC/v0_5_9" && find . -type f -printf '%T@ %P\n' | sed 's/\.[0-9]* / /' | grep -v ' mvbackupfs\.json$' | LC_ALL=C sort -k2) >"$T_TMP/copy.mt"
t_same_lines "every file of the copy shows the source's mtime, not its object's" "$T_TMP/src.mt" "$T_TMP/copy.mt"
t_eq "one GET of the copy's mtimes record for all its files" 1 "$(mtimes_requests GET)"
t_done
