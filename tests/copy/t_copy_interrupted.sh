#!/usr/bin/env bash
# t_copy_interrupted: a copy into mount B that stops half-way never reads as complete.
#   - cp killed after some files (the tree copied up to a point): incomplete on B and on a fresh
#     mount; the same cp -r run again completes and commits it;
#   - kill -9 of B's daemon while a copy streams (write-behind still running): incomplete on a
#     fresh mount; the same rsync -a run again completes it;
#   - rmdir of an interrupted copy removes it: no object and no multipart upload left;
#   - a source that is itself incomplete (no full_meta.json) never commits; .status says what
#     is missing.
# Source: the fixture backups (tests/fixtures) on a local-directory mount A (local -> S3).
. "$(dirname "$0")/lib.sh"
cp_begin

cp_local_source
cp_target

# open multipart uploads under s3://BB/backup/NAME/ (B's server)
mpu_count() {
	on_b s3_curl GET "/$BB?uploads&prefix=backup/$1/" | grep -o '<UploadId>' | wc -l
}

no_mpu() { [ "$(mpu_count "$1")" -eq 0 ]; }

# 1. cp stopped half-way: the binlogs and one meta file, then nothing more
mkdir "$MB/half" || t_bail "mkdir half"
t_check "copy the binlogs only (as a cp killed before meta/)" cp -r "$MA/v0_6_main/binlogs" "$MB/half/"
mkdir "$MB/half/meta" && cp "$MA/v0_6_main/meta/backup_meta.json" "$MB/half/meta/"
t_wait 10 sh -c "grep -q '^error waiting for meta' '$MB/half/.status'"
t_match "half: .status says it waits for the meta" '^error waiting for meta/(full_meta|collection_meta)' "$(cat "$MB/half/.status")"
t_eq "half: still importing on B" importing "$(cp_state "$MB" half)"
t_check "half: no meta/full_meta.json in the bucket" on_b sn_no_full_meta "$BB" half
t_umount "$MB" || t_bail "umount B"
MB=$(t_mkmnt)
t_mount_or_bail "$CFGB" "$MB"
t_eq "half: incomplete on a fresh mount" incomplete "$(cp_state "$MB" half)"
t_check "half: the same cp -r again exits 0" cp -rT "$MA/v0_6_main" "$MB/half"
t_check "half: the rerun commits it" cp_wait_complete 60 "$MB" half
cp_local_objects v0_6_main >"$T_TMP/objs-local"
on_b cp_objects "$BB" backup/half | grep -v '^mvbackupfs\.json ' >"$T_TMP/objs-half"
t_same_lines "half: byte-identical to the source, object for object" "$T_TMP/objs-local" "$T_TMP/objs-half"
# the source has no sidecar: the target keeps its own reservation (kind import)
t_match "half: the sidecar is the target's reservation (kind import)" '"kind":"import"' "$(cat "$MB/half/mvbackupfs.json")"

# 2. kill -9 of B's daemon while the copy streams
pid=$(t_daemon_pid "$MB")
rsync -a "$MA/v0_6_main/" "$MB/killed/" 2>/dev/null &
rs=$!
t_wait 30 sh -c "[ \"\$(awk '\$1==\"bytes_done\"{print \$2}' '$MB/killed/.status' 2>/dev/null)\" -gt 0 ] 2>/dev/null" \
	|| diag "no progress seen before the kill"
kill -9 "$pid"
wait "$rs"; rc=$?
t_check "rsync into the killed mount fails (exit $rc)" test "$rc" -ne 0
fusermount3 -u "$MB" 2>/dev/null || umount -l "$MB" 2>/dev/null
MB=$(t_mkmnt)
t_mount_or_bail "$CFGB" "$MB"
st=$(cp_state "$MB" killed)
t_eq "killed: incomplete on a fresh mount (never complete)" incomplete "$st"
t_check "killed: no meta/full_meta.json in the bucket" on_b sn_no_full_meta "$BB" killed
t_check "killed: the same rsync -a again exits 0" rsync -a "$MA/v0_6_main/" "$MB/killed/"
if ! t_check "killed: the rerun commits it" cp_wait_complete 60 "$MB" killed; then
	sed 's/^/#   .status: /' "$MB/killed/.status" 2>&1
	tail -n 30 "$T_TMP/daemon-$(basename "$MB").log" 2>&1 | sed 's/^/#   daemon: /'
	on_b cp_objects "$BB" backup/killed 2>&1 | sed 's/^/#   object: /' | head -n 40
fi
t_check "killed: no multipart upload left after the commit" t_wait 10 no_mpu killed

# 3. rmdir of an interrupted copy: nothing left
mkdir "$MB/gone" && cp -r "$MA/v0_6_main/binlogs" "$MB/gone/"
t_check "rmdir of an importing copy succeeds" rmdir "$MB/gone"
t_check "gone: no object left" t_wait 30 on_b sn_prefix_empty "$BB" backup/gone/
t_check "gone: no multipart upload left" t_wait 30 no_mpu gone
t_check "gone: not listed" sh -c "! ls '$MB' | grep -qx gone"

# 4. an incomplete source never commits
cp -r "$MA/broken_incomplete" "$MB/" 2>/dev/null
t_wait 10 sh -c "grep -q '^error' '$MB/broken_incomplete/.status' && ! grep -q '^error -' '$MB/broken_incomplete/.status'"
t_match "broken_incomplete: .status says what is missing" '^error .*(full_meta|missing|not on the server)' "$(cat "$MB/broken_incomplete/.status")"
t_eq "broken_incomplete: never complete" importing "$(cp_state "$MB" broken_incomplete)"
t_check "broken_incomplete: no meta/full_meta.json written" on_b sn_no_full_meta "$BB" broken_incomplete
t_done
