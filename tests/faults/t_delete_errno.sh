#!/usr/bin/env bash
# t_delete_errno: an S3 failure while rmdir / unlink / rm -rf / stat look a backup up is an
# I/O error (EIO, or ETIMEDOUT for a stall past the deadline), never ENOENT "no such backup"
# (issue 6, bug 11): rm -rf ignores ENOENT, so an ENOENT would make it report success while
# the backup is still there.  Faults through tests/faults/faultproxy.py: 503 SlowDown on
# every root listing (after the retries), then a stall past the request deadline.  After the
# faults the backup is still complete with all its objects.
. "$(dirname "$0")/lib.sh"
fp_begin
fp_start || t_bail "faultproxy"

FIX=$(t_fixtures) || t_bail "fixtures"
BK=$(t_bucket) || t_bail "bucket"
t_upload "$FIX/v0_5_9" "$BK" backup/v0_5_9
# every lookup re-lists the root (ttl 0), two tries of at most 1 s per request
CFG=$(fp_endpoint t_config_s3 "$BK" backup "$(printf 'mvbackupfs:\n  cache:\n    ttlMs: 0\n  s3:\n    requestTimeoutMs: 1000\n    maxTries: 2\n')")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
n_before=$(sn_count "$BK" backup/v0_5_9/)
t_check "v0_5_9 has objects" test "$n_before" -gt 0
t_match "v0_5_9 reads complete" '^state: +complete' "$(cat "$MNT/v0_5_9/.info")"

ROOTLIST='{"method":"GET","path":"[?&]delimiter=.*list-type=2","fault":"status","status":503,"code":"SlowDown","count":0}'

# errno_of CMD...: strerror text of CMD's failure ("" when it succeeded)
errno_of() { fp_errno "$@"; }

# --- rmdir while the root listing fails (the kernel still knows the directory)
find "$MNT/v0_5_9" >/dev/null	# lookups cached by the kernel for a second
fp_rule "$ROOTLIST" || t_bail "rule"
e=$(errno_of rmdir "$MNT/v0_5_9")
t_match "rmdir during 503s: an I/O error, not ENOENT" '^Input/output error$' "${e:-succeeded}"
e=$(errno_of rm "$MNT/v0_5_9/meta/backup_meta.json")
t_match "unlink inside during 503s: an I/O error, not ENOENT" '^Input/output error$' "${e:-succeeded}"
e=$(errno_of stat "$MNT/v0_5_9/meta")
t_match "stat during 503s: an I/O error, not ENOENT" '^Input/output error$' "${e:-succeeded}"
t_match "the proxy answered 503 to root listings" ' 503 status' "$(fp_log)"

find "$MNT/v0_5_9" >/dev/null 2>&1
rm -rf "$MNT/v0_5_9" 2>"$T_TMP/rm.err"; rc=$?
t_check "rm -rf during 503s fails (exit $rc)" test $rc -ne 0
# (when its first lstat gets the EIO, GNU rm falls back to unlink(2), which the kernel refuses
# with EISDIR for the directory it still has cached: also a failure, nothing removed)
t_match "rm -rf says why: an I/O error (or a timeout, or rm's own EISDIR after the EIO)" \
	'Input/output error|Connection timed out|Is a directory' "$(cat "$T_TMP/rm.err")"
fp_clear
t_eq "after rm -rf failed: every object of v0_5_9 is still there" "$n_before" "$(sn_count "$BK" backup/v0_5_9/)"
t_check "full_meta.json is still there" sn_has_object "$BK" backup/v0_5_9/meta/full_meta.json

# --- a stall past the deadline: ETIMEDOUT
ls "$MNT/v0_5_9" >/dev/null
fp_rule '{"method":"GET","path":"[?&]delimiter=.*list-type=2","fault":"stall","stall_s":30,"count":0}' || t_bail "rule"
e=$(errno_of rmdir "$MNT/v0_5_9")
t_match "rmdir during a stall: timed out (or EIO), not ENOENT" '^(Connection timed out|Input/output error)$' "${e:-succeeded}"
fp_clear

# --- the faults are over: the backup is intact and can be deleted for real
t_check "v0_5_9 is listed again" t_wait 10 sh -c "ls '$MNT' | grep -qx v0_5_9"
t_match "v0_5_9 still reads complete" '^state: +complete' "$(cat "$MNT/v0_5_9/.info")"
t_eq "every object of v0_5_9 is still there" "$n_before" "$(sn_count "$BK" backup/v0_5_9/)"
t_check "rm -rf without faults succeeds" rm -rf "$MNT/v0_5_9"
gone() { sn_prefix_empty "$BK" backup/v0_5_9/; }
t_check "the bucket ends empty under backup/v0_5_9/ (deadline 60 s)" t_wait 60 gone
t_done
