#!/usr/bin/env bash
# t_gcpause: the GC pause of a snapshot job (milvus-backup §3.2 step 3, Milvus < 2.6.8) against
# the stand-in's management API (served on its admin URL):
#  - backup.gcPause.enable true -> exactly one GET …/garbage_collection/pause?pause_seconds=3600
#    &collection_id=0 before the first Flush, and one GET …/resume after the copy (while the
#    resume is held back, the backup's meta/full_meta.json already exists);
#  - the pause or the resume failing (HTTP 500), or a closed port, or a management endpoint that
#    never answers -> the snapshot still completes, the daemon logs a warning, and it is not
#    held up for long;
#  - the job failing (Flush fails) or cancelled (rmdir while creating) -> GC is resumed too;
#  - enable false -> no management call at all.
# The mounts run in the foreground (-f) so that the daemon's log is its stderr.
. "$(dirname "$0")/lib.sh"
sn_begin
command -v jq >/dev/null || t_bail "jq is not installed"

sa_start a || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 200 --batches 2 --dim 16 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"

# gc_config ENABLE ADDRESS: a config for the stand-in with backup.gcPause set
gc_config() {
	local f
	f=$(sn_config "$BK")
	sed -i "s|^    enable: false\$|    enable: $1\n    address: $2|" "$f"
	grep -q "^    address: $2\$" "$f" || t_bail "gc_config: no gcPause section in $f"
	echo "$f"
}

# fg_mount CFG MNT LOG: mount in the foreground, the daemon's stderr going to LOG
fg_mount() {
	"$MVB_BIN" -c "$1" -f "$2" 2>"$3" &
	T_PIDS+=("$!")
	t_wait 15 mountpoint -q "$2" || t_bail "mount '$2' (foreground): $(head -c 1000 "$3")"
	T_MOUNTS+=("$2")
}

# snap MNT NAME: reset the stand-in's call log, take snapshot NAME and wait until it is final;
# SNAP_MS = milliseconds from mkdir to the final state.  Returns 0 when it completed.
snap() {
	local t0 st
	curl -sf -XPOST "$SA_ADMIN/stats/reset" >/dev/null || t_bail "stats/reset"
	t0=$(date +%s%N)
	sn_mkdir "$1/.snapshot/$2" || { SNAP_MS=0; diag "mkdir .snapshot/$2: $SN_ERR"; return 1; }
	sn_wait_state 120 "$1" "$2" complete
	SNAP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	st=$(sn_status "$1" "$2" state)
	[ "$st" = complete ] && return 0
	diag "$2 ended '$st': $(sn_status "$1" "$2" error)"
	return 1
}

calls() { curl -sf "$SA_ADMIN/calls"; }
# ncalls METHOD: how many calls of METHOD the log holds
ncalls() { calls | jq --arg m "$1" '[.[] | select(.method == $m)] | length'; }
# seq_first / seq_last METHOD: sequence number of its first / last call ("" when none)
seq_first() { calls | jq -r --arg m "$1" '[.[] | select(.method == $m) | .seq] | min // ""'; }
seq_last() { calls | jq -r --arg m "$1" '[.[] | select(.method == $m) | .seq] | max // ""'; }
lt() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" -lt "$2" ]; }

# --- enabled: one pause before the flush, one resume at the end
MNT=$(t_mkmnt)
LOG="$T_TMP/daemon-on.log"
fg_mount "$(gc_config true "$SA_ADMIN")" "$MNT" "$LOG"
snap "$MNT" gc_1 || t_bail "snapshot gc_1 did not complete"
ok "gc_1 completes with the GC pause enabled ($SNAP_MS ms)"
t_eq "gc_1: exactly one pause" 1 "$(ncalls GcPause)"
t_eq "gc_1: the pause asks for 3600 s, cluster-wide (collection_id=0), and succeeded" \
	'{"collection_id":"0","pause_seconds":"3600"} 200' \
	"$(calls | jq -cS '.[] | select(.method == "GcPause") | .query' | head -n 1) $(calls | jq -r '.[] | select(.method == "GcPause") | .status' | head -n 1)"
t_eq "gc_1: exactly one resume" 1 "$(ncalls GcResume)"
t_check "gc_1: the pause comes before the first Flush" lt "$(seq_first GcPause)" "$(seq_first Flush)"
t_check "gc_1: the resume comes after the last Flush" lt "$(seq_last Flush)" "$(seq_last GcResume)"
t_check "gc_1: the resume comes after the last GetPersistentSegmentInfo" \
	lt "$(seq_last GetPersistentSegmentInfo)" "$(seq_last GcResume)"
t_eq "gc_1: the stand-in's GC is not left paused" false "$(curl -sf "$SA_ADMIN/stats" | jq -r .gc.paused)"
t_check "gc_1: no GC warning in the daemon's log" sh -c "! grep -i 'garbage collection' '$LOG'"

# the resume comes after the copy: hold it back 4 s and look at the bucket while it waits
sa_knob '{"STANDIN_STALL_METHOD":"GcResume:4000:1"}' || t_bail "knob"
curl -sf -XPOST "$SA_ADMIN/stats/reset" >/dev/null || t_bail "stats/reset"
sn_mkdir "$MNT/.snapshot/gc_2" || t_bail "mkdir .snapshot/gc_2: $SN_ERR"
t_check "gc_2: the resume call arrives" t_wait 120 sh -c "[ \"\$(curl -sf '$SA_ADMIN/calls' | jq '[.[] | select(.method == \"GcResume\")] | length')\" -ge 1 ]"
t_check "gc_2: while the resume is pending, meta/full_meta.json (written after the copy) exists" \
	sn_has_object "$BK" backup/gc_2/meta/full_meta.json
diag "gc_2: state while the resume is pending: $(sn_status "$MNT" gc_2 state) (phase $(sn_status "$MNT" gc_2 phase))"
sn_wait_state 60 "$MNT" gc_2 complete
t_eq "gc_2 completes" complete "$(sn_status "$MNT" gc_2 state)"
sa_knob '{"STANDIN_STALL_METHOD":""}' || t_bail "knob"

# --- the pause fails (HTTP 500): a warning, the snapshot completes
lines0=$(wc -l <"$LOG")
sa_knob '{"STANDIN_FAIL_METHOD":"GcPause:500:gc is busy"}' || t_bail "knob"
if snap "$MNT" gc_3; then ok "gc_3 completes although the pause fails ($SNAP_MS ms)"; else not_ok "gc_3 completes although the pause fails"; fi
t_eq "gc_3: the pause was tried once" 1 "$(ncalls GcPause)"
new=$(tail -n +"$((lines0 + 1))" "$LOG")
t_match "gc_3: the daemon warns that GC was not paused" 'garbage collection of milvus not paused' "$new"
t_match "gc_3: the warning names the HTTP status" 'HTTP 500' "$new"
diag "gc_3: resume calls after the failed pause: $(ncalls GcResume)"
sa_knob '{"STANDIN_FAIL_METHOD":""}' || t_bail "knob"

# --- the resume fails (HTTP 500): a warning, the snapshot completes
lines0=$(wc -l <"$LOG")
sa_knob '{"STANDIN_FAIL_METHOD":"GcResume:500:boom"}' || t_bail "knob"
if snap "$MNT" gc_4; then ok "gc_4 completes although the resume fails"; else not_ok "gc_4 completes although the resume fails"; fi
t_eq "gc_4: one pause, one resume tried" "1 1" "$(ncalls GcPause) $(ncalls GcResume)"
t_match "gc_4: the daemon warns that GC was not resumed" 'garbage collection of milvus not resumed' \
	"$(tail -n +"$((lines0 + 1))" "$LOG")"
sa_knob '{"STANDIN_FAIL_METHOD":""}' || t_bail "knob"

# --- the job fails (Flush fails): GC is resumed all the same
sa_knob '{"STANDIN_FAIL_METHOD":"Flush:65535:boom:1"}' || t_bail "knob"
snap "$MNT" fail_1 && not_ok "fail_1 was expected to fail"
t_eq "fail_1: the job failed" failed "$(sn_status "$MNT" fail_1 state)"
t_eq "fail_1: one pause, one resume" "1 1" "$(ncalls GcPause) $(ncalls GcResume)"
t_check "fail_1: the resume comes after the failed Flush" lt "$(seq_last Flush)" "$(seq_last GcResume)"
sa_knob '{"STANDIN_FAIL_METHOD":""}' || t_bail "knob"

# --- the job is cancelled (rmdir while it waits in Flush): GC is resumed all the same
sa_knob '{"STANDIN_STALL_METHOD":"Flush:3000:1"}' || t_bail "knob"
curl -sf -XPOST "$SA_ADMIN/stats/reset" >/dev/null || t_bail "stats/reset"
sn_mkdir "$MNT/.snapshot/cancel_1" || t_bail "mkdir .snapshot/cancel_1: $SN_ERR"
t_check "cancel_1: the job reaches Flush" t_wait 60 sh -c "[ \"\$(curl -sf '$SA_ADMIN/calls' | jq '[.[] | select(.method == \"Flush\")] | length')\" -ge 1 ]"
t_check "cancel_1: rmdir while it is creating" rmdir "$MNT/cancel_1"
t_check "cancel_1: a resume call follows the cancel" t_wait 30 sh -c "[ \"\$(curl -sf '$SA_ADMIN/calls' | jq '[.[] | select(.method == \"GcResume\")] | length')\" -ge 1 ]"
t_eq "cancel_1: one pause, one resume" "1 1" "$(ncalls GcPause) $(ncalls GcResume)"
sa_knob '{"STANDIN_STALL_METHOD":""}' || t_bail "knob"

# --- disabled: no management call (the address is the live stand-in all the same)
MNT_OFF=$(t_mkmnt)
fg_mount "$(gc_config false "$SA_ADMIN")" "$MNT_OFF" "$T_TMP/daemon-off.log"
if snap "$MNT_OFF" off_1; then ok "off_1 completes with the GC pause disabled"; else not_ok "off_1 completes with the GC pause disabled"; fi
base_ms=$SNAP_MS
t_eq "off_1: no pause and no resume call" "0 0" "$(ncalls GcPause) $(ncalls GcResume)"
t_check "off_1: a Flush was made (the call log works)" test "$(ncalls Flush)" -ge 1

# --- a closed port: warnings, and no wait worth the name
MNT_CP=$(t_mkmnt)
LOG_CP="$T_TMP/daemon-closed.log"
fg_mount "$(gc_config true "http://127.0.0.1:$(t_closed_port)")" "$MNT_CP" "$LOG_CP"
if snap "$MNT_CP" cp_1; then ok "cp_1 completes with the management port closed"; else not_ok "cp_1 completes with the management port closed"; fi
diag "cp_1 took $SNAP_MS ms, off_1 (no GC pause) $base_ms ms"
t_check "cp_1: at most 2 s slower than without the GC pause ($SNAP_MS vs $base_ms ms)" \
	test "$SNAP_MS" -le "$((base_ms + 2000))"
t_match "cp_1: the daemon warns that the endpoint cannot be reached" \
	"cannot reach the milvus management endpoint.*127\.0\.0\.1" "$(cat "$LOG_CP")"
t_match "cp_1: ... and that GC was not paused" 'garbage collection of milvus not paused' "$(cat "$LOG_CP")"

# --- an endpoint that accepts but never answers: bounded by the request timeout
sa_knob '{"STANDIN_STALL_METHOD":"GcPause:60000:1"}' || t_bail "knob"
lines0=$(wc -l <"$LOG")
if snap "$MNT" gc_5; then ok "gc_5 completes although the pause is never answered"; else not_ok "gc_5 completes although the pause is never answered"; fi
diag "gc_5 took $SNAP_MS ms (pause unanswered)"
t_check "gc_5: held up at most 15 s by the unanswered pause ($SNAP_MS vs $base_ms ms)" \
	test "$SNAP_MS" -le "$((base_ms + 15000))"
t_match "gc_5: the daemon warns that GC was not paused" 'garbage collection of milvus not paused' \
	"$(tail -n +"$((lines0 + 1))" "$LOG")"
sa_knob '{"STANDIN_STALL_METHOD":""}' || t_bail "knob"

t_done
