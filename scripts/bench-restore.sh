#!/usr/bin/env bash
# bench-restore.sh -- issue 8's benchmark: the copy phase of a restore (`echo suffix=_rN >
# MNT/X/.restore`) of a collection with >= 1000 binlog objects from a backup in another bucket
# of the same S3 server, against rclone's server-side copy of the same objects; target <= 1.2x.
#
# Setup: a Milvus stand-in (tests/milvus-standin) on bucket M, one collection (Int64 pk,
# VarChar, FloatVector DIM) of ROWS rows in SEGMENTS flushed segments with
# STANDIN_BINLOG_MAX_ROWS rows per binlog object; a mount with backups in bucket B takes a
# snapshot `src` of it.  Then RUNS alternating runs of:
#   A  a restore of src with suffix _rN: .status polled every 10 ms, the time spent in each
#      phase recorded (the copy phase copies every unit into M under restore-temp-…)
#   B  rclone copy r:B/backup/src/binlogs r:M/rclone_N/ -- ONE remote, so server-side
#      CopyObject -- with --transfers $TRANSFERS (default 32, mvbackupfs.snapshot.parallel's
#      default, which the restore copy uses too)
# and prints every run's phases, the medians, the ratio copy/rclone and whether the target was
# met.  Not a test: timings vary with the machine.
#
# Environment: S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY (else a throw-away Ceph RGW
# is started with scripts/s3-server.sh), MVB_BIN (default build/mvbackupfs), ROWS (4400),
# SEGMENTS (2), DIM (768), BINLOG_MAX_ROWS (20), RUNS (3), TRANSFERS (32), PARALLEL (mvbackupfs
# snapshot.parallel, also the restore copy's, default: the daemon's default),
# KEEP=1 (keep the work dir).  Exit status as every benchmark (scripts/bench.sh): 0 the target
# met, 1 missed, 2 an error.  Needs node (tests/milvus-standin), rclone, curl, fusermount3.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BENCH=restore
# shellcheck source=bench-standin-lib.sh
. "$top/scripts/bench-standin-lib.sh"


# the source backup
mkdir "$mnt/.snapshot/src" || die "mkdir .snapshot/src failed"
for _ in $(seq 6000); do grep -qx 'state complete' "$mnt/src/.status" && break; grep -qx 'state failed' "$mnt/src/.status" && die "snapshot failed"; sleep 0.1; done
grep -qx 'state complete' "$mnt/src/.status" || die "snapshot not complete"
nobj=$(rc_ lsf -R --files-only "r:$bb/backup/src/binlogs" | wc -l)
log "backup src: $nobj binlog objects"

# run_restore N: restore with suffix _rN; prints "total copy_seconds phase=seconds..."
run_restore() {
	local name=src t0 t1 k v st ph last="" tl deadline out=""
	declare -A dur=()
	t0=$(now_ns); tl=$t0
	echo "suffix=_r$1" >"$mnt/$name/.restore" || die "the restore write failed"
	deadline=$((t0 + 600000000000))
	while :; do
		st= ph=
		while read -r k v; do
			case $k in state) st=$v ;; phase) ph=$v ;; esac
		done <"$mnt/$name/.status"
		if [ "$ph" != "$last" ]; then
			t1=$(now_ns)
			[ -n "$last" ] && dur[$last]=$(( ${dur[$last]:-0} + t1 - tl ))
			tl=$t1; last=$ph
		fi
		[ "$st" = complete ] && break
		case "$st" in failed|cancelled) die "restore $1: $st: $(grep '^error' "$mnt/$name/.status")" ;; esac
		[ "$(now_ns)" -lt $deadline ] || die "restore $1: not complete after 600 s"
		sleep 0.01
	done
	t1=$(now_ns)
	for k in databases collections list copy import index cleanup; do
		out+=" $k=$(echo "scale=3; ${dur[$k]:-0} / 1000000000" | bc)"
	done
	echo "$(echo "scale=3; ($t1 - $t0) / 1000000000" | bc) $(echo "scale=3; ${dur[copy]:-0} / 1000000000" | bc)$out"
}

run_rclone() {
	local t0 t1
	t0=$(now_ns)
	rc_ copy --transfers "$TRANSFERS" --s3-no-check-bucket "r:$bb/backup/src/binlogs" "r:$mb/rclone_$1" || die "rclone copy failed"
	t1=$(now_ns)
	echo "scale=3; ($t1 - $t0) / 1000000000" | bc
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

cp_=() rcl=() tot=()
for n in $(seq "$RUNS"); do
	if [ $((n % 2)) = 1 ]; then
		res=$(run_restore "$n"); r=$(run_rclone "$n")
	else
		r=$(run_rclone "$n"); res=$(run_restore "$n")
	fi
	set -- $res
	tot+=("$1"); cp_+=("$2"); rcl+=("$r")
	shift 2
	log "run $n: restore ${tot[-1]}s (copy ${cp_[-1]}s;$(printf ' %s' "$@")), rclone copy ${r}s"
done
mt=$(printf '%s\n' "${tot[@]}" | median)
mc=$(printf '%s\n' "${cp_[@]}" | median)
mr=$(printf '%s\n' "${rcl[@]}" | median)
ratio=$(printf '%.2f' "$(echo "scale=4; $mc / $mr" | bc)")
echo "objects:               $nobj binlogs in the backup"
echo "restore (whole):       median ${mt}s over $RUNS runs (${tot[*]})"
echo "restore copy phase:    median ${mc}s (${cp_[*]})"
echo "rclone copy (1 remote, server-side, --transfers $TRANSFERS): median ${mr}s (${rcl[*]})"
# one line for scripts/bench.sh's table (bench-lib.sh's bench_row format; ratio > 1: ours ahead)
printf 'ROW|%s|%s|%s|%s|s|%s|%s|-\n' "restore copy phase, $nobj binlogs, s" "rclone copy server-side" "$mr" "$mc" \
	"$(printf '%.2f' "$(echo "scale=4; $mr / $mc" | bc)")" -
if [ "$(echo "$ratio <= 1.2" | bc)" = 1 ]; then
	echo "ratio copy/rclone: ${ratio}x (target <= 1.2x: met)"
else
	echo "ratio copy/rclone: ${ratio}x (target <= 1.2x: MISSED)"
	exit 1
fi
exit 0
