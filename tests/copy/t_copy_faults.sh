#!/usr/bin/env bash
# t_copy_faults: the S3 fault proxy (tests/faults/faultproxy.py) between mount B's daemon and its
# RGW while backups are copied in.  Whatever S3 does, the copy completes byte-identical or fails
# with a clear error in .status and the log, and the bucket never holds a copy that reads
# complete with an object missing:
#   - 503 SlowDown bursts and connection resets on object PUTs and multipart parts: retried,
#     the copy completes, byte-identical;
#   - every data PUT fails: .status says failed and names the file, no meta is written; once S3
#     is back, the same cp -r completes it;
#   - the commit's verifying listing fails (503 through every try of a commit attempt): the
#     copy commits by itself once S3 answers again, with no write to wake it;
#   - S3 stops answering data PUTs while the memory budget is full of them (a part fails only
#     after its tries, > 60 s): `cp` reports EIO with the cause in the log and .status, not
#     ENOBUFS from a budget wait that gave up first; the rerun completes it.
# Source: the fixture v0_6_main (64 MiB, multipart-sized binlogs) on a local-directory mount.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tests/faults/lib.sh"
fp_begin
[ -n "${S3B_ENDPOINT:-}" ] && diag "target server B: $S3B_ENDPOINT"
on_b fp_start || t_bail "faultproxy"

cp_local_source
BB=$(on_b t_bucket) || t_bail "bucket B"
CFGB=$(on_b fp_endpoint t_config_s3 "$BB" backup "$(printf 'mvbackupfs:\n  s3:\n    requestTimeoutMs: 3000\n    maxTries: 4\n')")
MB=$(t_mkmnt)
t_mount_or_bail "$CFGB" "$MB"

same_as_source() {	# same_as_source NAME SRC: object for object (the target's own sidecar aside)
	cp_local_objects "$2" >"$T_TMP/objs-src"
	on_b cp_objects "$BB" "backup/$1" | grep -v '^mvbackupfs\.json ' >"$T_TMP/objs-$1"
	cmp -s "$T_TMP/objs-src" "$T_TMP/objs-$1"
}
whole() { on_b fp_complete_objects_present "$BB" backup "$1"; }

# 1. 503 bursts and resets: retried, completes
fp_rule '[{"method":"PUT","path":"/backup/v0_6_main/binlogs/","fault":"status","status":503,"count":3},
          {"method":"PUT","path":"partNumber=","fault":"reset","count":2},
          {"method":"PUT","path":"/backup/v0_6_main/binlogs/","nth":5,"fault":"reset_early","count":2},
          {"method":"POST","path":"/backup/v0_6_main/.*uploadId=","fault":"status","status":503,"count":1}]' || t_bail "rule"
t_check "burst: cp -r through 503 bursts and resets exits 0" cp -r "$MA/v0_6_main" "$MB/"
t_check "burst: completes" cp_wait_complete 90 "$MB" v0_6_main || sed 's/^/#   /' "$MB/v0_6_main/.status"
t_check "burst: the proxy fired its faults" test "$(fp_fired)" -ge 4
t_check "burst: byte-identical to the source" same_as_source v0_6_main v0_6_main
t_check "burst: whole (every binlog its meta names is there)" whole v0_6_main
fp_clear
t_check "burst: rmdir" rmdir "$MB/v0_6_main"
t_check "burst: gone from the bucket" t_wait 60 on_b sn_prefix_empty "$BB" backup/v0_6_main/

# 2. every data PUT fails: failed, clearly; nothing reads complete
fp_rule '{"method":"PUT","path":"/backup/v0_6_main/binlogs/","fault":"status","status":503,"count":0}' || t_bail "rule"
cp -r "$MA/v0_6_main" "$MB/" 2>"$T_TMP/cp2.err"
t_check "down: .status says failed" t_wait 90 sh -c "grep -qx 'state failed' '$MB/v0_6_main/.status'"
t_match "down: .status names the file and the cause" '^error cannot write .binlogs/.*(503|SlowDown|after)' "$(cat "$MB/v0_6_main/.status")"
t_check "down: no meta/full_meta.json written" on_b sn_no_full_meta "$BB" v0_6_main
t_check "down: not complete, whole" whole v0_6_main
fp_clear
t_check "down: once S3 is back, the same cp -r completes it" cp -rT "$MA/v0_6_main" "$MB/v0_6_main"
t_check "down: completes" cp_wait_complete 90 "$MB" v0_6_main || sed 's/^/#   /' "$MB/v0_6_main/.status"
t_check "down: byte-identical to the source" same_as_source v0_6_main v0_6_main

# 3. the commit's listing (no delimiter, the backup's prefix) fails through two whole commit
# attempts (maxTries 4 each): the committer tries again by itself.  The listing is also how a
# stat of a name the copy has not written yet is answered, so the rule goes in only once every
# file is in, while full_meta.json is open again (no commit while a file is open) and no more
# names are looked up; closing it starts the commit.
t_check "commit: cp -r exits 0" cp -r "$MA/v0_6_main" "$MB/cm"
exec 3>"$MB/cm/meta/full_meta.json"
fp_rule '{"method":"GET","path":"^(?!.*delimiter=).*list-type=2.*prefix=backup%2Fcm%2F","fault":"status","status":503,"count":8}' || t_bail "rule"
cat "$MA/v0_6_main/meta/full_meta.json" >&3
exec 3>&-
fired_ge() { [ "$(fp_fired)" -ge "$1" ]; }
t_check "commit: its listing failed twice (8 faults fired)" t_wait 60 fired_ge 8
t_check "commit: completes with no further write" cp_wait_complete 90 "$MB" cm ||
	sed 's/^/#   /' "$MB/cm/.status"
t_check "commit: byte-identical to the source" same_as_source cm v0_6_main
fp_clear

# 4. S3 answers no data PUT (stalls) while the budget (16 MiB: two parts) is full of them.  A
# small PUT fails after 2 x 32 s, a part after 2 x 40 s: both later than the one-minute budget
# wait, which used to end first with ENOBUFS.  Now the writer waits while the requests run and
# gets their error once they fail; writers after it get it at once.
CFGS=$(on_b fp_endpoint t_config_s3 "$BB" backup "$(printf 'mvbackupfs:\n  memory:\n    budget: 16MiB\n  s3:\n    requestTimeoutMs: 32000\n    maxTries: 2\n')")
MS=$(t_mkmnt)
t_mount_or_bail "$CFGS" "$MS"
fp_rule '{"method":"PUT","path":"/backup/st/binlogs/","fault":"stall","stall_s":300,"count":0}' || t_bail "rule"
cp -r "$MA/v0_6_main" "$MS/st" 2>"$T_TMP/cp4.err"
cprc=$?
t_check "stalled: cp -r fails" test "$cprc" -ne 0
t_match "stalled: cp reports EIO" 'Input/output error' "$(cat "$T_TMP/cp4.err")"
t_check "stalled: not ENOBUFS" sh -c "! grep -q 'No buffer space' '$T_TMP/cp4.err'"
t_check "stalled: .status says failed" t_wait 90 sh -c "grep -qx 'state failed' '$MS/st/.status'"
t_match "stalled: .status names the cause" '^error cannot write .binlogs/.*no answer' "$(cat "$MS/st/.status")"
t_check "stalled: no meta/full_meta.json written" on_b sn_no_full_meta "$BB" st
fp_clear
t_check "stalled: once S3 answers, the same cp -r completes it" cp -rT "$MA/v0_6_main" "$MS/st"
t_check "stalled: completes" cp_wait_complete 90 "$MS" st || sed 's/^/#   /' "$MS/st/.status"
t_check "stalled: byte-identical to the source" same_as_source st v0_6_main
t_done
