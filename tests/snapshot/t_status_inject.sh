#!/usr/bin/env bash
# t_status_inject: a server's words never add a line to .status or to the log (issue 6,
# bug 9).  The stand-in fails Flush with a reason holding newlines ("boom\nstate complete") -
# once as a Milvus error status (the reason field), once as a gRPC error (grpc-message); the
# snapshot fails, .status keeps one `state` line (failed) and one `error` line carrying the
# whole reason, and no line of the daemon's log starts with the injected text.
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 100 --batches 1 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK")
MNT=$(t_mkmnt)
LOG=$T_TMP/daemon.log
"$MVB_BIN" -c "$CFG" -f "$MNT" 2>"$LOG" &
T_PIDS+=("$!")
t_wait 15 mountpoint -q "$MNT" || t_bail "mount: $(head -c 1000 "$LOG")"
T_MOUNTS+=("$MNT")

final() { sn_wait_state 60 "$MNT" "$1" failed; }

for kind in milvus grpc; do
	name=inj_$kind
	if [ $kind = milvus ]; then spec='Flush:65535:boom\nstate complete\nprogress 100.00'
	else spec='Flush:grpc:13:boom\nstate complete\nprogress 100.00'; fi
	sa_knob "{\"STANDIN_FAIL_METHOD\":\"$spec\"}" || t_bail "knob"
	sn_mkdir "$MNT/.snapshot/$name" || t_bail "mkdir .snapshot/$name: $SN_ERR"
	t_check "$name: the snapshot fails" final "$name"
	status=$(cat "$MNT/$name/.status")
	t_eq "$name: .status has exactly one state line" 1 "$(printf '%s\n' "$status" | grep -c '^state ')"
	t_eq "$name: that line says failed" "state failed" "$(printf '%s\n' "$status" | grep '^state ')"
	t_eq "$name: .status has exactly one progress line" 1 "$(printf '%s\n' "$status" | grep -c '^progress ')"
	t_match "$name: the error line carries the whole reason" '^error .*boom state complete progress 100\.00' "$status"
	t_eq "$name: .status has its 13 keys, no more" 13 "$(printf '%s\n' "$status" | wc -l)"
	sa_knob '{"STANDIN_FAIL_METHOD":""}' || t_bail "knob"
done
t_match "the log names the failure" 'boom state complete' "$(cat "$LOG")"
t_check "no log line starts with the injected text" sh -c "! grep -Eq '^(state complete|progress 100)' '$LOG'"

t_done
