#!/usr/bin/env bash
# soak.sh [CYCLES] -- leak soak of the daemon (issue 6; not part of scripts/test.sh): CYCLES
# (default 200) rounds of `mkdir MNT/.snapshot/NAME` (waited until complete) and `rmdir
# MNT/NAME` (waited until gone) on a Milvus stand-in, against one mount.  Prints the daemon's
# open fds (/proc/PID/fd), threads and RSS after a warm-up, every 50 cycles and at the end,
# and fails (exit 1) when, at the end, they grew beyond a small bound over the warm-up figures:
# SOAK_MAX_FDS (default 8) more fds, SOAK_MAX_THREADS (4) more threads, SOAK_MAX_RSS_KB
# (8192) more RSS (measured: 200 cycles grew it 1.9 MiB, flattening: 9240 -> 11140 kB).
#
# Environment: S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY (else a throw-away Ceph RGW
# is started with scripts/s3-server.sh), MVB_BIN (default build/mvbackupfs; an ASan build works
# too), SOAK_WARMUP (10 cycles before the baseline: pools and caches fill up).  Uses the
# helpers of the snapshot tests (tests/snapshot/lib.sh): everything is cleaned up on exit.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
CYCLES=${1:-${CYCLES:-200}}
WARMUP=${SOAK_WARMUP:-10}
MAX_FDS=${SOAK_MAX_FDS:-8}
MAX_THREADS=${SOAK_MAX_THREADS:-4}
MAX_RSS_KB=${SOAK_MAX_RSS_KB:-8192}

rgw_dir=
if [ -z "${S3_ENDPOINT:-}" ]; then
	rgw_dir=$(mktemp -d "${TMPDIR:-/tmp}/mvb-soak-rgw.XXXXXX")
	env_out=$(bash "$top/scripts/s3-server.sh" start "$rgw_dir/rgw" 2>"$rgw_dir/rgw.log") \
		|| { tail -n 20 "$rgw_dir/rgw.log"; exit 2; }
	eval "$env_out"
	export S3_ENDPOINT S3_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
fi

# shellcheck source=../tests/snapshot/lib.sh
. "$top/tests/snapshot/lib.sh"
soak_cleanup() {
	local rc=$?
	[ -n "$rgw_dir" ] && bash "$top/scripts/s3-server.sh" stop "$rgw_dir/rgw" >/dev/null 2>&1 && rm -rf "$rgw_dir"
	(exit "$rc")
	sn_cleanup
}
sn_begin
trap soak_cleanup EXIT

sa_start a || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 2 --rows 300 --batches 1 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
PID=$(t_daemon_pid "$MNT")
[ -n "$PID" ] || t_bail "no daemon pid for $MNT"

# figures PID: "fds N threads N rss_kb N"
figures() {
	echo "fds $(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" \
	     "threads $(awk '/^Threads:/ { print $2 }' "/proc/$1/status")" \
	     "rss_kb $(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status")"
}
gone() { ! ls "$MNT" | grep -x "$1" >/dev/null; }
cycle() {
	local name="soak_$1"
	sn_mkdir "$MNT/.snapshot/$name" || { diag "mkdir .snapshot/$name: $SN_ERR"; return 1; }
	sn_wait_state 120 "$MNT" "$name" complete || { diag "$name: $(sn_status "$MNT" "$name" error)"; return 1; }
	rm -f "$T_TMP/states-$name"
	sn_rmdir "$MNT/$name" || { diag "rmdir $name: $SN_ERR"; return 1; }
	t_wait 60 gone "$name" || { diag "$name still listed 60 s after rmdir"; return 1; }
}

t0=$(date +%s)
for ((i = 1; i <= WARMUP; i++)); do cycle "w$i" || t_bail "warm-up cycle $i"; done
read -r _ fd0 _ th0 _ rss0 <<<"$(figures "$PID")"
echo "# soak: after $WARMUP warm-up cycles: fds $fd0 threads $th0 rss_kb $rss0"
failed=0
for ((i = 1; i <= CYCLES; i++)); do
	cycle "$i" || { failed=$((failed + 1)); [ $failed -ge 3 ] && t_bail "3 cycles failed"; }
	if [ $((i % 50)) -eq 0 ] || [ $i -eq "$CYCLES" ]; then
		echo "# soak: cycle $i ($(( $(date +%s) - t0 )) s): $(figures "$PID")"
	fi
done
read -r _ fd1 _ th1 _ rss1 <<<"$(figures "$PID")"
t_eq "every cycle completed (snapshot complete, then deleted)" 0 "$failed"
t_check "fds: $fd0 -> $fd1 (at most +$MAX_FDS)" test "$fd1" -le $((fd0 + MAX_FDS))
t_check "threads: $th0 -> $th1 (at most +$MAX_THREADS)" test "$th1" -le $((th0 + MAX_THREADS))
t_check "rss: $rss0 -> $rss1 kB (at most +$MAX_RSS_KB kB)" test "$rss1" -le $((rss0 + MAX_RSS_KB))
t_check "the bucket holds no backup after the last delete" sn_prefix_empty "$BK" backup/
t_done
