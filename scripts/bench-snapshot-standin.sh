#!/usr/bin/env bash
# bench-snapshot-standin.sh -- spec §8 "Snapshot": `mkdir MNT/.snapshot/X` of a collection with >= 1000
# binlog objects must finish within 1.2x the time of rclone's server-side copy of the same
# objects.
#
# Setup: a Milvus stand-in (tests/milvus-standin) whose Milvus bucket lives on the same S3
# server as the backup bucket, one collection (Int64 pk, VarChar, FloatVector DIM) of ROWS rows
# in SEGMENTS flushed segments, with STANDIN_BINLOG_MAX_ROWS rows per binlog object, so every
# segment holds many log files per field (5 fields).  Then RUNS alternating runs of:
#   A  mkdir MNT/.snapshot/bench_N, timed until .status says "state complete" (polled every
#      10 ms); includes the daemon's flush, listing, verification and meta writes
#   B  rclone copy r:<milvus bucket>/<rootPath> r:<backup bucket>/rclone_N/ -- ONE remote, so
#      rclone uses server-side CopyObject -- with --transfers $TRANSFERS (default 32, the same
#      number of copies in flight as mvbackupfs.snapshot.parallel's default)
# and prints the medians, the ratio A/B and whether the target (<= 1.2) was met.
#
# Environment: S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY (else a throw-away Ceph RGW
# is started with scripts/s3-server.sh), MVB_BIN (default build/mvbackupfs), ROWS (4400),
# SEGMENTS (2), DIM (768), BINLOG_MAX_ROWS (20), RUNS (3), TRANSFERS (32), PARALLEL (mvbackupfs
# snapshot.parallel, default: the daemon's default),
# KEEP=1 (keep the work dir).  Exit status as every benchmark (scripts/bench.sh): 0 the target
# met, 1 missed, 2 an error.  Needs node (tests/milvus-standin), rclone, curl, fusermount3.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BENCH=snapshot-standin
# shellcheck source=bench-standin-lib.sh
. "$top/scripts/bench-standin-lib.sh"

# run_snapshot N: prints the seconds from mkdir to "state complete"
run_snapshot() {
	local name="bench_$1" t0 t1 k v st deadline
	t0=$(now_ns)
	mkdir "$mnt/.snapshot/$name" || die "mkdir .snapshot/$name failed"
	deadline=$((t0 + 600000000000))
	while :; do
		st=
		while read -r k v; do [ "$k" = state ] && { st=$v; break; }; done <"$mnt/$name/.status"
		[ "$st" = complete ] && break
		case "$st" in failed|cancelled) die "$name: $st: $(grep '^error' "$mnt/$name/.status")" ;; esac
		[ "$(now_ns)" -lt $deadline ] || die "$name: not complete after 600 s"
		sleep 0.01
	done
	t1=$(now_ns)
	echo "scale=3; ($t1 - $t0) / 1000000000" | bc
}

# run_rclone N: prints the seconds of a server-side rclone copy of the Milvus binlogs
run_rclone() {
	local t0 t1 n
	t0=$(now_ns)
	rc_ copy --transfers "$TRANSFERS" --s3-no-check-bucket --log-level INFO --log-file "$work/rclone_$1.log" \
		"r:$mb/files" "r:$bb/rclone_$1" || die "rclone copy failed"
	t1=$(now_ns)
	n=$(grep -c 'server-side copy' "$work/rclone_$1.log" || true)
	[ "$n" -eq "$nobj" ] || log "warning: rclone reports $n server-side copies for $nobj objects"
	echo "scale=3; ($t1 - $t0) / 1000000000" | bc
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

snap=() rcl=()
for n in $(seq "$RUNS"); do
	if [ $((n % 2)) = 1 ]; then
		s=$(run_snapshot "$n"); r=$(run_rclone "$n")
	else
		r=$(run_rclone "$n"); s=$(run_snapshot "$n")
	fi
	snap+=("$s"); rcl+=("$r")
	got=$(rc_ lsf -R --files-only "r:$bb/backup/bench_$n/binlogs" | wc -l)
	log "run $n: mkdir .snapshot ${s}s ($got binlogs copied), rclone copy ${r}s"
	[ "$got" -eq "$nobj" ] || log "warning: the snapshot holds $got binlogs, the Milvus bucket $nobj"
done
ms=$(printf '%s\n' "${snap[@]}" | median)
mr=$(printf '%s\n' "${rcl[@]}" | median)
ratio=$(printf '%.2f' "$(echo "scale=4; $ms / $mr" | bc)")
echo "objects:               $nobj ($nbytes bytes, $SEGMENTS segments)"
echo "mkdir .snapshot/X:     median ${ms}s over $RUNS runs (${snap[*]})"
echo "rclone copy (1 remote, server-side, --transfers $TRANSFERS): median ${mr}s (${rcl[*]})"
# one line for scripts/bench.sh's table (bench-lib.sh's bench_row format; ratio > 1: ours ahead)
printf 'ROW|%s|%s|%s|%s|s|%s|%s|-\n' "mkdir .snapshot of $nobj binlogs, s" "rclone copy server-side" "$mr" "$ms" \
	"$(printf '%.2f' "$(echo "scale=4; $mr / $ms" | bc)")" -
if [ "$(echo "$ratio <= 1.2" | bc)" = 1 ]; then
	echo "ratio snapshot/rclone: ${ratio}x (target <= 1.2x: met)"
else
	echo "ratio snapshot/rclone: ${ratio}x (target <= 1.2x: MISSED)"
	exit 1
fi
exit 0
