#!/usr/bin/env bash
# t_schedule: mvbackupfs.schedule on two mounts of one bucket (issue 9), with the daemon's
# clock moved forward by the test (timefmt.h: MVB_TEST_CLOCK_FILE, read only by the test-hook
# build MVB_CLOCK_BIN).  Every slot of `* * * * *` gives exactly one auto_YYYYMMDD_HHMMSS
# snapshot (UTC name of the slot; the name reservation decides between the mounts), typed
# auto, expiring after mvbackupfs.retention (72h); a manual snapshot is typed manual and
# never expires.  Four days later the first automatic snapshot has expired and is deleted by
# one mount; the second (not due) and the manual one stay.  A slot that cannot run (Milvus
# down) shows in the root .info and the log, and the next slot tries again.
# shellcheck disable=SC2010
. "$(dirname "$0")/lib.sh"
sn_begin
[ -x "${MVB_CLOCK_BIN:-}" ] || t_skip "no test-hook daemon (MVB_CLOCK_BIN; tests/expiry/run.sh builds it)"
MVB_BIN=$MVB_CLOCK_BIN

sa_start a || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 300 --batches 1 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK" "$(printf 'mvbackupfs:\n  schedule: "* * * * *"\n  retention: 72h\n  keep_min: 1\n  snapshot:\n    parallel: 2\n')")

# the daemons' clock: 55 s into a minute, so the first slot comes 5 s after the mounts
export MVB_TEST_CLOCK_FILE=$T_TMP/clock
off=$(( (55 - $(date +%s) % 60 + 60) % 60 ))
echo "$off" >"$MVB_TEST_CLOCK_FILE"
vnow() { echo $(( $(date +%s) + $(cat "$MVB_TEST_CLOCK_FILE") )); }
slot1=$(( ($(vnow) / 60 + 1) * 60 ))
name1=auto_$(date -u -d "@$slot1" +%Y%m%d_%H%M%S)
MA=$(t_mkmnt)
MB=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MA"
t_mount_or_bail "$CFG" "$MB"

done_in() { [ "$(sn_root_state "$1" "$2")" = complete ]; }
t_check "slot 1: '$name1' is taken and completes (deadline 60 s)" t_wait 60 done_in "$MA" "$name1"
t_eq "slot 1: exactly one automatic snapshot in the bucket" "$name1" "$(t_rclone lsf --dirs-only "mvbs3:$BK/backup" | tr -d / | grep '^auto_')"
t_eq "slot 1: one mount started it" 1 "$(ex_log_count "automatic snapshot '$name1' started")"
# the other mount's worker looks at the clock once a second: its turn at the slot can come up
# to a second after the first mount's snapshot completed (CI run C of stop 23 asserted before
# it, then moved the clock past the slot); wait for it, then count
taken_seen() { [ "$(ex_log_count "'$name1' exists already \(another mount")" -ge 1 ]; }
t_wait 10 taken_seen || true	# the count below says whether it came
t_eq "slot 1: the other found it taken" 1 "$(ex_log_count "'$name1' exists already \(another mount")"
t_eq "its TYPE is auto" auto "$(awk -v n="$name1" '$1 == n { print $3 }' "$MB/.info")"
exp1=$(date -u -d "$(cat "$MA/$name1/.expires")" +%s 2>/dev/null || echo 0)
t_check "it expires after the retention, 72h (.expires $(cat "$MA/$name1/.expires"))" \
	sh -c "[ $exp1 -ge $((slot1 + 259200)) ] && [ $exp1 -le $((slot1 + 259200 + 60)) ]"
t_match "the root .info shows the schedule" '^schedule: +\* \* \* \* \* \(local time\), next [0-9T:-]+Z' "$(cat "$MA/.info")"

# a manual snapshot: typed manual, never expires (manual_retention unset)
sn_mkdir "$MA/.snapshot/manual_1" || t_bail "mkdir .snapshot/manual_1: $SN_ERR"
t_check "manual_1 completes (deadline 60 s)" t_wait 60 done_in "$MA" manual_1
t_eq "manual_1: TYPE manual" manual "$(awk '$1 == "manual_1" { print $3 }' "$MA/.info")"
t_eq "manual_1: expires never" never "$(cat "$MA/manual_1/.expires")"

# two days later: the next slot
echo $(( off + 2 * 86400 )) >"$MVB_TEST_CLOCK_FILE"
autos() { t_rclone lsf --dirs-only "mvbs3:$BK/backup" | tr -d / | grep -c '^auto_'; }
two() { [ "$(autos)" -ge 2 ]; }
t_check "two days later: a second automatic snapshot (deadline 30 s)" t_wait 30 two
name2=$(t_rclone lsf --dirs-only "mvbs3:$BK/backup" | tr -d / | grep '^auto_' | sort | tail -n 1)
t_check "$name2 completes (deadline 60 s)" t_wait 60 done_in "$MA" "$name2"
t_eq "still one snapshot per slot (2 automatic ones)" 2 "$(autos)"

# four days after slot 1: the first has expired (72h), the second not (it has 24h left)
echo $(( off + 4 * 86400 )) >"$MVB_TEST_CLOCK_FILE"
gone() { sn_prefix_empty "$BK" "backup/$name1/"; }
t_check "four days later: $name1 has expired and is deleted (deadline 60 s)" t_wait 60 gone
t_eq "one mount deleted it, with the reason" 1 "$(ex_log_count "deleting backup '$name1': it expired at ")"
t_check "$name2 (not due) stays" test "$(sn_count "$BK" "backup/$name2/")" -gt 1
t_check "manual_1 (never) stays" test "$(sn_count "$BK" backup/manual_1/)" -gt 1

# Milvus down: the slot fails, shows in the root .info and the log; the next slot tries again
none_creating() { ! awk '$1 ~ /^auto_/ && $2 == "creating"' "$MA/.info" | grep . >/dev/null; }
t_check "the four-day slot's snapshot has ended (deadline 60 s)" t_wait 60 none_creating
# a slot whose previous automatic snapshot still runs (a slow flush) is skipped, on both mounts
sa_knob '{"STANDIN_FLUSH_DELAY_MS":"8000"}' || t_bail "knob"
echo $(( off + 4 * 86400 + 60 )) >"$MVB_TEST_CLOCK_FILE"
creating_now() { cat "$MA/.info" "$MB/.info" | awk '$1 ~ /^auto_/ && $2 == "creating"' | grep . >/dev/null; }
t_check "the next slot's snapshot is running (slow flush; deadline 15 s)" t_wait 15 creating_now
echo $(( off + 4 * 86400 + 120 )) >"$MVB_TEST_CLOCK_FILE"
skipped() { [ "$(ex_log_count "slot 'auto_[0-9_]+' skipped: the previous automatic snapshot 'auto_[0-9_]+' is still running")" -ge 2 ]; }
t_check "the slot after it is skipped on both mounts, logged (deadline 15 s)" t_wait 15 skipped
n_before=$(autos)
sa_knob '{"STANDIN_FLUSH_DELAY_MS":""}'
t_check "the slow one completes (deadline 30 s)" t_wait 30 none_creating
t_eq "no snapshot was piled up for the skipped slot" "$n_before" "$(autos)"
sa_stop "$SA_DIR"
nfail() { ex_log_count "schedule: automatic snapshot 'auto_[0-9_]+' could not start"; }
echo $(( off + 5 * 86400 )) >"$MVB_TEST_CLOCK_FILE"
failed1() { [ "$(nfail)" -ge 2 ]; }
t_check "Milvus down: the slot could not start, logged on both mounts (deadline 30 s)" t_wait 30 failed1
t_match "the root .info shows the failed run" '^last run: +auto_[0-9_]+ failed: could not start: ' "$(cat "$MA/.info")"
echo $(( off + 5 * 86400 + 120 )) >"$MVB_TEST_CLOCK_FILE"
failed2() { [ "$(nfail)" -ge 4 ]; }
t_check "the next slot tries again (deadline 30 s)" t_wait 30 failed2
t_check "unmount A" t_umount "$MA"
t_check "unmount B" t_umount "$MB"
t_done
