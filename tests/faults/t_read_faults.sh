#!/usr/bin/env bash
# t_read_faults: reads through the S3 fault proxy.  Transient faults (503 SlowDown bursts,
# 500s, connections reset in the middle of an answer's body, lost answers) are retried:
# cat, cp -r and diff -r see exactly the stored bytes.  Persistent faults (500 after every
# retry, a stall past the request deadline) are a clear error (EIO / ETIMEDOUT) - never
# wrong or short data - and once the faults are over the same reads succeed (no failure is
# cached).
. "$(dirname "$0")/lib.sh"
fp_begin
fp_start || t_bail "faultproxy"

FIX=$(t_fixtures) || t_bail "fixtures"
BK=$(t_bucket) || t_bail "bucket"
for b in v0_5_9 v0_6_main; do t_upload "$FIX/$b" "$BK" "backup/$b"; done
CFG=$(fp_endpoint t_config_s3 "$BK" backup "$(printf 'mvbackupfs:\n  s3:\n    requestTimeoutMs: 2000\n    maxTries: 4\n')")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
big=$(cd "$FIX/v0_6_main" && find . -type f -printf '%s %P\n' | sort -n | tail -n 1); big=${big#* }
t_check "v0_6_main holds a big binlog ('$big')" test "$(stat -c %s "$FIX/v0_6_main/$big")" -ge 33554432

# --- transient: every kind once or a few times on the object reads, then cp -r / cat
OBJ='"method":"GET","path":"/backup/v0_[0-9_a-z]+/(binlogs|meta)/"'
fp_rule "[{$OBJ,\"distinct\":true,\"fault\":\"status\",\"status\":503,\"code\":\"SlowDown\",\"nth\":1,\"count\":3},
          {$OBJ,\"distinct\":true,\"fault\":\"status\",\"status\":500,\"code\":\"InternalError\",\"nth\":2,\"count\":2},
          {$OBJ,\"distinct\":true,\"fault\":\"reset\",\"nth\":3,\"count\":2},
          {$OBJ,\"distinct\":true,\"fault\":\"lost\",\"nth\":4,\"count\":1}]" || t_bail "rule"
t_check "cp -r v0_5_9 during transient faults" cp -r "$MNT/v0_5_9" "$T_TMP/copy"
t_check "the copy is identical to what is stored" diff -r "$FIX/v0_5_9" "$T_TMP/copy"
t_eq "every fault fired (3 x 503, 2 x 500, 2 resets, 1 lost)" 8 "$(fp_fired)"
fp_clear
fp_rule "[{$OBJ,\"distinct\":true,\"fault\":\"reset\",\"nth\":1,\"count\":3},{$OBJ,\"distinct\":true,\"fault\":\"status\",\"status\":503,\"nth\":2,\"count\":2}]" || t_bail "rule"
t_check "cat of the big binlog during resets mid-body is exact" cmp "$FIX/v0_6_main/$big" "$MNT/v0_6_main/$big"
t_match "the answers were cut mid-body" 'GET [^ ]*/backup/v0_6_main/[^ ]* 20[06] reset' "$(fp_log)"
fp_clear

# --- persistent: 500 after every retry -> EIO, never data
f=$(cd "$FIX/v0_6_main" && find binlogs -type f | sort | head -n 1)
fp_rule "{$OBJ,\"fault\":\"status\",\"status\":500,\"code\":\"InternalError\",\"count\":0}" || t_bail "rule"
out=$(cat "$MNT/v0_6_main/$f" 2>&1 >/dev/null); rc=$?
t_check "cat during persistent 500s fails" test $rc -ne 0
t_match "cat during persistent 500s: Input/output error" 'Input/output error' "$out"
t0=$(date +%s); out=$(cp -r "$MNT/v0_6_main/$(dirname "$f")" "$T_TMP/copy2" 2>&1); rc=$?; diag "cp -r during 500s took $(( $(date +%s) - t0 )) s"
t_check "cp -r during persistent 500s fails" test $rc -ne 0
t_match "cp -r during persistent 500s: Input/output error" 'Input/output error' "$out"
fp_clear

# --- a stall past the deadline: ETIMEDOUT (or EIO), bounded
fp_rule "{$OBJ,\"fault\":\"stall\",\"stall_s\":60,\"count\":0}" || t_bail "rule"
t0=$(date +%s)
out=$(cat "$MNT/v0_6_main/$f" 2>&1 >/dev/null); rc=$?
secs=$(( $(date +%s) - t0 ))
t_check "cat during a stall fails" test $rc -ne 0
t_match "cat during a stall: timed out or I/O error" 'Connection timed out|Input/output error' "$out"
t_check "cat during a stall gives up within 20 s (took $secs s)" test "$secs" -le 20
fp_clear

# --- the faults are over: the same reads succeed, nothing bad was cached
t_check "cat after the faults is exact" cmp "$FIX/v0_6_main/$f" "$MNT/v0_6_main/$f"
t_check "diff -r of both backups after the faults: identical" sh -c "diff -r '$FIX/v0_5_9' '$MNT/v0_5_9' && diff -r '$FIX/v0_6_main' '$MNT/v0_6_main'"
t_match "v0_6_main reads complete" '^state: +complete' "$(cat "$MNT/v0_6_main/.info")"
t_done
