#!/usr/bin/env bash
# t_rm_rf: deleting with the tools users use (spec §5.5).  `rm -rf MNT/NAME` ends with the
# backup gone, exit 0 (removals inside a backup succeed and delete nothing; rm's final
# `rmdir NAME` deletes the backup as a whole).  Removals inside without that rmdir - `rm` of
# one file, `rsync --remove-source-files` reading a backup out - delete nothing: the backup
# stays complete in storage.  A read-only mount refuses all of it; stray objects at the root
# and virtual files cannot be removed.
. "$(dirname "$0")/lib.sh"
t_begin
t_fixture_mount
MRO=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MRO" -o ro

count() {  # count PREFIX: objects stored under s3://BUCKET/PREFIX
	t_rclone lsf -R --files-only "mvbs3:$BUCKET/$1" 2>/dev/null | wc -l
}
gone() { [ "$(count "backup/$1/")" -eq 0 ]; }

# --- read-only: refused, nothing lost
n_before=$(count backup/v0_5_9/)
t_check "the fixture backup v0_5_9 has objects" test "$n_before" -gt 0
out=$(rm -rf "$MRO/v0_5_9" 2>&1); rc=$?
t_check "rm -rf on a read-only mount fails" test $rc -ne 0
t_match "rm -rf on a read-only mount: Read-only file system" 'Read-only file system' "$out"
t_eq "objects of v0_5_9 after the refused rm -rf" "$n_before" "$(count backup/v0_5_9/)"
t_match "v0_5_9 still complete" '^state: +complete' "$(cat "$MNT/v0_5_9/.info")"

# --- rm -rf of a complete backup
out=$(rm -rf "$MNT/v0_5_9" 2>&1); rc=$?
t_eq "rm -rf MNT/v0_5_9 exits 0" 0 "$rc"
t_eq "rm -rf prints nothing" "" "$out"
t_check "v0_5_9 is gone from ls at once" sh -c "! ls '$MNT' | grep -qx v0_5_9"
# .status follows the delete while it runs; a delete that already finished is gone
if st=$(grep '^state ' "$MNT/v0_5_9/.status" 2>&1); then
	t_match "v0_5_9/.status stays readable: the delete's state" '^state (deleting|deleted)$' "$st"
else
	t_check "v0_5_9/.status is gone only because the delete already finished" gone v0_5_9
fi
t_check "v0_5_9/.info is gone at once" sh -c "! cat '$MNT/v0_5_9/.info' >/dev/null 2>&1"
t_check "the bucket ends empty under backup/v0_5_9/ (deadline 60 s)" t_wait 60 gone v0_5_9

# --- rm -rf of an incomplete backup
out=$(rm -rf "$MNT/broken_incomplete" 2>&1); rc=$?
t_eq "rm -rf of an incomplete backup exits 0" 0 "$rc"
t_check "the bucket ends empty under backup/broken_incomplete/ (deadline 60 s)" t_wait 60 gone broken_incomplete

# --- rm of one file deletes nothing; the rmdir that rm -rf would end with deletes all
n_4=$(count backup/v0_4_30/)
t_check "rm MNT/v0_4_30/meta/backup_meta.json succeeds" rm "$MNT/v0_4_30/meta/backup_meta.json"
t_check "v0_4_30 leaves ls (pending delete)" sh -c "! ls '$MNT' | grep -qx v0_4_30"
t_eq "nothing of v0_4_30 is deleted by that rm" "$n_4" "$(count backup/v0_4_30/)"
t_check "rmdir MNT/v0_4_30 then deletes it" rmdir "$MNT/v0_4_30"
t_check "the bucket ends empty under backup/v0_4_30/ (deadline 60 s)" t_wait 60 gone v0_4_30

# --- rsync --remove-source-files out of a backup: a full copy, and the source stays intact
DEST=$T_TMP/moved
n_4=$(count backup/v0_5_4/)
out=$(rsync -a --remove-source-files "$MNT/v0_5_4/" "$DEST/" 2>&1); rc=$?
t_eq "rsync -a --remove-source-files MNT/v0_5_4/ exits 0" 0 "$rc"
t_check "the copy is byte-exact" diff -r "$FIX/v0_5_4" "$DEST"
t_eq "no object of v0_5_4 was deleted" "$n_4" "$(count backup/v0_5_4/)"
t_match "v0_5_4 is still complete in storage (read-only mount)" '^state: +complete' "$(cat "$MRO/v0_5_4/.info")"

# --- what cannot be removed
stray=$(ls "$MNT" | grep '^milvus_backup_check_dst_' | head -n 1)
out=$(rm -f "$MNT/$stray" 2>&1)
t_match "rm of a stray object at the root: Read-only file system" 'Read-only file system' "$out"
t_check "the stray object is still there" test -f "$MNT/$stray"
out=$(rm -f "$MNT/v0_5_9_gone_anyway/.status" "$MNT/v0_6_main/.status" 2>&1)
t_check "rm of a virtual file fails" test -n "$out"
t_match "v0_6_main is untouched by that" '^state: +complete' "$(cat "$MNT/v0_6_main/.info")"
t_check "v0_6_main untouched: still readable byte-exact" diff -r "$FIX/v0_6_main/meta" "$MNT/v0_6_main/meta"

t_done
