#!/usr/bin/env bash
# t_delete_leftovers: rmdir removes what an interrupted write left under a backup and no
# listing shows (issue 6, bug 12):
#   - S3: multipart uploads left open under the backup's prefix (a cancelled or crashed
#     snapshot's) are aborted - their parts are storage, billed and invisible.  An open
#     upload of ANOTHER backup is left alone.
#   - local store: the temporary files of interrupted atomic writes (.mvbackupfs-tmp.*) and
#     upload staging directories (.mvbackupfs-mpu/) are removed, so the backup's directory
#     is gone from disk, not left as an empty-looking tree.
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
t_need_s3
FIX=$(t_fixtures) || t_bail "fixtures"

# uploads BUCKET PREFIX: the keys of the multipart uploads open under PREFIX (straight from RGW)
uploads() {
	s3_curl GET "/$1?prefix=${2//\//%2F}&uploads=" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'
}
# open_upload BUCKET KEY: start a multipart upload of KEY and upload one part, left open
open_upload() {
	local id
	id=$(s3_curl POST "/$1/$2?uploads=" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
	[ -n "$id" ] || return 1
	head -c 65536 /dev/urandom >"$T_TMP/part"
	s3_curl PUT "/$1/$2?partNumber=1&uploadId=$id" --data-binary @"$T_TMP/part" -o /dev/null
}

# --- S3
BK=$(t_bucket) || t_bail "bucket"
for b in v0_5_9 v0_4_30; do t_upload "$FIX/$b" "$BK" "backup/$b"; done
open_upload "$BK" backup/v0_5_9/binlogs/insert_log/1/2/3/4/100/99 || t_bail "open upload"
open_upload "$BK" backup/v0_5_9/meta/full_meta.json.part || t_bail "open upload"
open_upload "$BK" backup/v0_4_30/binlogs/insert_log/9/9/9/9/100/98 || t_bail "open upload"
t_eq "two uploads are open under backup/v0_5_9/" 2 "$(uploads "$BK" backup/v0_5_9/ | wc -l)"
CFG=$(t_config_s3 "$BK" backup)
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
t_check "rmdir v0_5_9" rmdir "$MNT/v0_5_9"
empty() { sn_prefix_empty "$BK" backup/v0_5_9/; }
t_check "the bucket ends empty under backup/v0_5_9/ (deadline 60 s)" t_wait 60 empty
no_uploads() { [ -z "$(uploads "$BK" backup/v0_5_9/)" ]; }
t_check "no upload is left open under backup/v0_5_9/ (deadline 30 s)" t_wait 30 no_uploads
t_eq "the upload of another backup (v0_4_30) is left alone" 1 "$(uploads "$BK" backup/v0_4_30/ | wc -l)"
t_match "v0_4_30 still reads complete" '^state: +complete' "$(cat "$MNT/v0_4_30/.info")"
id=$(s3_curl GET "/$BK?prefix=backup%2Fv0_4_30%2F&uploads=" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
[ -n "$id" ] && s3_curl DELETE "/$BK/backup/v0_4_30/binlogs/insert_log/9/9/9/9/100/98?uploadId=$id" >/dev/null

# --- local store
root=$T_TMP/store/backup
mkdir -p "$root"
cp -a "$FIX/v0_5_9" "$FIX/v0_4_30" "$root/"
leaf=$(cd "$root/v0_5_9" && find binlogs -type f | sort | head -n 1)
echo partial >"$root/v0_5_9/$(dirname "$leaf")/.mvbackupfs-tmp.0123456789abcdef"
mkdir -p "$root/v0_5_9/binlogs/only_tmp" "$root/v0_5_9/meta/.mvbackupfs-mpu/00112233445566778899aabbccddeeff"
echo partial >"$root/v0_5_9/binlogs/only_tmp/.mvbackupfs-tmp.fedcba9876543210"
echo part >"$root/v0_5_9/meta/.mvbackupfs-mpu/00112233445566778899aabbccddeeff/1"
echo partial >"$root/v0_4_30/.mvbackupfs-tmp.1111111111111111"
CFGL=$(t_config_local "$root")
MNTL=$(t_mkmnt)
t_mount_or_bail "$CFGL" "$MNTL"
t_match "local v0_5_9 reads complete" '^state: +complete' "$(cat "$MNTL/v0_5_9/.info")"
t_check "rmdir v0_5_9 (local)" rmdir "$MNTL/v0_5_9"
gone() { [ ! -e "$root/v0_5_9" ]; }
t_check "the directory v0_5_9 is gone from disk, temporary files and all (deadline 30 s)" t_wait 30 gone
[ -e "$root/v0_5_9" ] && diag "left: $(cd "$root/v0_5_9" && find . | head -n 10 | tr '\n' ' ')"
t_check "another backup's temporary file is left alone" test -f "$root/v0_4_30/.mvbackupfs-tmp.1111111111111111"
t_done
