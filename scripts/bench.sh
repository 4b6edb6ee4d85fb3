#!/usr/bin/env bash
# bench.sh -- every benchmark in one command, and one table (issue 10).
#
#   scripts/bench.sh [NAME...]     NAME = read read-split list snapshot-standin restore copy cpu
#                                  snapshot (default: all of them, in that order; read-split
#                                  is bench-read.sh with SPLIT_CPUS=1, the S3 server on CPUs of
#                                  its own as a remote server has, on machines of 2 CPUs or more;
#                                  SPLIT_CPUS in the environment is not passed on: every other
#                                  name runs with the server on all CPUs)
#
# Starts one Ceph RGW (scripts/s3-server.sh, memstore of CEPH_STORE_BYTES, default 8 GiB: the
# copy benchmark's 2 GiB backup exists twice, plus the peers' copies) unless S3_ENDPOINT is set,
# and runs each scripts/bench-NAME.sh against it with its own defaults (override them through
# the environment: RUNS, SIZE_MB, ...).  Each script runs the peers a user would pick instead side
# by side in the same rounds — curl (one GET and ranged), s3fs and rclone mount for reads and
# listings, rclone copy (two remotes) and s3fs for copies, rclone copy server-side for snapshots
# and restores — verifies every result, and prints `ROW|...` lines (scripts/bench-lib.sh
# bench_row) that are gathered here into one table: metric, peer, the peer's median, ours, the
# ratio (> 1: mvbackupfs ahead), the daemon's peak RSS and its CPU seconds per GiB.
# `bench-snapshot.sh` runs on real Milvus 2.3.5 and MinIO (it starts them itself); `bench-cpu.sh`
# on a local directory under callgrind.
#
# Logs: BENCH_OUT (default /tmp/mvb-bench-DATE/), one log per script; the table is printed and
# written to BENCH_OUT/table.md as Markdown for docs/performance.md.  Exit status: 0 every target
# met, 1 a target missed, 2 a script failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ALL=(read read-split list snapshot-standin restore copy cpu snapshot)
[ "$(nproc)" -ge 2 ] || ALL=(read list snapshot-standin restore copy cpu snapshot)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")
# script_of NAME: the script a name runs (read-split: bench-read.sh with SPLIT_CPUS=1)
script_of() { case $1 in read-split) echo "$top/scripts/bench-read.sh" ;; *) echo "$top/scripts/bench-$1.sh" ;; esac; }
for n in "${names[@]}"; do
	[ -f "$(script_of "$n")" ] || { echo "bench: no scripts/bench-$n.sh (names: ${ALL[*]})" >&2; exit 2; }
done
out=${BENCH_OUT:-/tmp/mvb-bench-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out" || exit 2
own_rgw=0
cleanup() { [ $own_rgw = 1 ] && bash "$top/scripts/s3-server.sh" stop "$out/rgw" >/dev/null 2>&1; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${S3_ENDPOINT:-}" ]; then
	env_out=$(CEPH_STORE_BYTES=${CEPH_STORE_BYTES:-$((8 << 30))} bash "$top/scripts/s3-server.sh" start "$out/rgw") ||
		{ echo "bench: cannot start the S3 server" >&2; exit 2; }
	own_rgw=1
	eval "$env_out"
	export S3_ENDPOINT S3_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION S3_SERVER_DIR
fi

rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
verdict=0
declare -A rc
for n in "${names[@]}"; do
	echo "=== bench $n: $(basename "$(script_of "$n")") (log: $out/bench-$n.log)"
	t0=$(date +%s)
	split=0
	[ "$n" = read-split ] && split=1
	SPLIT_CPUS=$split bash "$(script_of "$n")" 2>&1 | tee "$out/bench-$n.log" | grep -v '^ROW|'
	rc[$n]=${PIPESTATUS[0]}
	echo "=== bench $n: exit ${rc[$n]} after $(( $(date +%s) - t0 )) s"
	case ${rc[$n]} in 0) ;; 1) [ $verdict = 0 ] && verdict=1 ;; *) verdict=2 ;; esac
done

# the table: every ROW line of every log, then the scripts that printed none
{
	echo "Benchmarks at commit $rev, $(date -u +%Y-%m-%d), load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
	echo
	echo "| benchmark | metric | peer | peer median | mvbackupfs median | unit | ratio | peak RSS MiB | CPU-s/GiB |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for n in "${names[@]}"; do
		grep '^ROW|' "$out/bench-$n.log" | while IFS='|' read -r _ metric peer pv ours unit ratio rss cpu; do
			echo "| $n | $metric | $peer | $pv | $ours | $unit | $ratio | $rss | $cpu |"
		done
	done
	echo
	for n in "${names[@]}"; do
		case ${rc[$n]} in 0) v="targets met" ;; 1) v="a target MISSED" ;; *) v="FAILED (exit ${rc[$n]})" ;; esac
		grep -q '^ROW|' "$out/bench-$n.log" || v+="; no table rows, its summary:"
		echo "- bench-$n.sh: $v"
		grep -q '^ROW|' "$out/bench-$n.log" || tail -n 6 "$out/bench-$n.log" | sed 's/^/      /'
	done
} >"$out/table.md"
echo
cat "$out/table.md"
exit $verdict
