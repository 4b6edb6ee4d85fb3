#!/usr/bin/env bash
# t_daemon_snapshot (issue 13 item 8): a daemonized mount (no -f), `mkdir .snapshot/N` at once,
# unmount -- 20 times against the real Milvus 2.3.5; every snapshot completes.  Before the fix
# 1 to 6 in 10 failed with "DescribeDatabase failed: ... closed the connection without an
# HTTP/2 reply (does it expect tls? ...)": 2.3.5 lacks DescribeDatabase and resets the stream
# early.  The daemon is started with stdin/stdout/stderr closed, as a service manager or a
# script without a terminal does (the failure showed most often so).
. "$(dirname "$0")/../mount/lib.sh"
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
t_need_s3
r_need_milvus
B=$(t_bucket) || t_bail "bucket"
CFG=$(r_config_milvus "$B")
MNT=$(t_mkmnt)
N=${REAL_DAEMON_ROUNDS:-20}
ok_n=0 errs=
for ((i = 1; i <= N; i++)); do
	"$MVB_BIN" -c "$CFG" "$MNT" <&- >&- 2>&- || { errs+="round $i: mount failed; "; continue; }
	T_MOUNTS+=("$MNT")
	pid=$(t_daemon_pid "$MNT"); [ -n "$pid" ] && T_PIDS+=("$pid")
	if mkdir "$MNT/.snapshot/d$i" 2>"$T_TMP/mkdir.err"; then
		t_wait 120 r_done "$MNT" "d$i"
		st=$(r_state "$MNT" "d$i")
		if [ "$st" = complete ]; then ok_n=$((ok_n + 1))
		else errs+="round $i: $st: $(sed -n 's/^error //p' "$MNT/d$i/.status" 2>/dev/null); "; fi
	else
		errs+="round $i: mkdir: $(cat "$T_TMP/mkdir.err"); "
	fi
	t_umount "$MNT" || errs+="round $i: unmount failed; "
done
[ -z "$errs" ] || diag "$errs"
t_eq "$N of $N immediate snapshots of a daemonized mount complete" "$N" "$ok_n"
t_done
