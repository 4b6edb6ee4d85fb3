#!/usr/bin/env bash
# bench-cpu.sh -- a noise-free figure for the daemon's CPU cost (issue 10): instructions the daemon
# executes per MiB read through the mount, and per 1000 entries of a cold `ls -l`, counted by
# valgrind's callgrind on the daemon.  Wall-clock benchmarks on a shared 2-core machine scatter by
# ±10 %; an instruction count of the same binary on the same input does not, so a regression shows
# as a number.  The store is a local directory (no server, no network): what is counted is the
# daemon's own work (FUSE, namespace, readahead, the local backend), not an S3 server's timing.
#
#   scripts/bench-cpu.sh          (RUNS=3 SIZE_MIB=64 BACKUPS=1000 by default)
#
# Workloads, each on a fresh daemon run under `valgrind --tool=callgrind`, counters zeroed right
# before the workload and dumped right after it (callgrind_control), so start-up and unmount are
# not counted:
#   read     `cat MNT/bench.bin > /dev/null` of a SIZE_MIB random stray object at the root
#   ls -l    `ls -l MNT` of a root with BACKUPS backups (fixture v0_5_9 meta), cold
#   ls       `ls MNT` of the same root, cold (the kernel reads most pages without attributes)
# A warm `ls -l` is not counted: under callgrind the daemon is ~50x slower, so how many of the
# kernel's cached entries have timed out by then depends on timing (its count scattered 10x).
# Prints each run's instruction count, the medians per MiB / per 1000 entries and the spread
# between runs (max-min over median: it should be well under 1 %).  The figures are kept in
# docs/performance.md with the commit they were measured at.  Exit 0, or 2 on an error.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
MVB_BIN=${MVB_BIN:-$top/build/mvbackupfs}
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-64}
BACKUPS=${BACKUPS:-1000}
work=$(mktemp -d "${TMPDIR:-/tmp}/mvb-bench-cpu.XXXXXX")
MNT=$work/mnt
# two stores: the object alone (nothing else for the daemon to do while it is read), and the
# backups.  The daemon's expiry scan (fs/autopilot.c) resolves every backup 10 s after the
# mount and every minute; at 4de2879 one scan of 1000 backups cost about 300 M instructions
# (callgrind, 25 s of an idle mount), so one counted by accident shows as a tenfold outlier
# in a run and in the spread, never as a quiet drift.
RSTORE=$work/rstore/backup
STORE=$work/store/backup
PID=

die() { echo "bench-cpu: error: $*" >&2; exit 2; }
cleanup() {
	mountpoint -q "$MNT" 2>/dev/null && fusermount3 -u "$MNT"
	[ -n "$PID" ] && kill "$PID" 2>/dev/null
	grep -qF " $work/" /proc/self/mounts || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for _v in $(env | sed -n 's/^\(MINIO_[A-Z_]*\|MILVUS_[A-Z_]*\|BACKUP_[A-Z_]*\|MVBACKUPFS_CONFIG\)=.*/\1/p'); do
	unset "$_v"	# milvus-backup's env overrides would change what our YAML says
done

[ -x "$MVB_BIN" ] || die "no daemon at '$MVB_BIN' (run scripts/setup.sh)"
command -v callgrind_control >/dev/null || die "valgrind (callgrind_control) is not installed"
mkdir -p "$MNT" "$STORE" "$RSTORE"

# --- the data: one large stray object and BACKUPS small backups
head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$RSTORE/bench.bin" || die "cannot write the object"
fix=$top/tests/fixtures/backups/v0_5_9
[ -d "$fix/meta" ] || die "no fixture backup at '$fix'"
for ((i = 1; i <= BACKUPS; i++)); do
	d=$STORE/$(printf 'backup_%04d' "$i")
	mkdir -p "$d/meta"
	cp "$fix"/meta/*.json "$d/meta/"
done
for s in store rstore; do
	cat >"$work/$s.yaml" <<EOF
milvus:
  address: 127.0.0.1
  port: 1
minio:
  storageType: local
  bucketName: $work/$s
  rootPath: $work/milvus-files
  backupBucketName: $work/$s
  backupRootPath: $work/$s/backup
backup:
  gcPause:
    enable: false
mvbackupfs:
  cache:
    ttlMs: 600000   # the daemon runs ~50x slower under callgrind: no listing expires mid-run
EOF
done

# start STORE: the daemon in the foreground under callgrind, until the mount is up
start() {
	local i
	valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
		"$MVB_BIN" -f -c "$work/$1.yaml" "$MNT" >"$work/daemon.log" 2>&1 &
	PID=$!
	for ((i = 0; i < 1200; i++)); do
		mountpoint -q "$MNT" && return 0
		kill -0 "$PID" 2>/dev/null || die "the daemon exited: $(tail -n 5 "$work/daemon.log")"
		sleep 0.05
	done
	die "'$MNT' not mounted after 60 s"
}
stop() {
	fusermount3 -u "$MNT" || die "unmount failed"
	wait "$PID" 2>/dev/null
	PID=
	rm -f "$work"/cg.out*
}
# counted CMD...: run CMD with the daemon's counters zeroed before and dumped after; print the
# instructions the daemon executed meanwhile (all threads)
counted() {
	local f
	callgrind_control -z "$PID" >/dev/null 2>&1 || die "callgrind_control -z failed"
	"$@" || die "'$*' failed"
	rm -f "$work"/cg.out.*
	callgrind_control -d "$PID" >/dev/null 2>&1 || die "callgrind_control -d failed"
	f=$(ls "$work"/cg.out.* 2>/dev/null | head -n 1)
	[ -n "$f" ] || die "callgrind wrote no dump"
	awk '/^(summary|totals):/ { print $2; exit }' "$f"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spread() {	# (max - min) / median, in percent
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = v[int((NR + 1) / 2)]; printf "%.2f", m ? (v[NR] - v[1]) * 100 / m : 0 }'
}

cat_obj() { cat "$MNT/bench.bin" >/dev/null; }
ls_l() {
	local n
	n=$(ls -l "$MNT" | grep -c '^d')
	[ "$n" = "$BACKUPS" ] || { echo "bench-cpu: ls -l shows $n backups, not $BACKUPS" >&2; return 1; }
}

ls_plain() {
	local n
	n=$(ls "$MNT" | wc -l)
	[ "$n" = "$BACKUPS" ] || { echo "bench-cpu: ls shows $n backups, not $BACKUPS" >&2; return 1; }
}

rd=() cold=() plain=()
for ((r = 1; r <= RUNS; r++)); do
	start rstore
	ir=$(counted cat_obj); rd+=("$ir")
	stop
	start store
	ic=$(counted ls_l); cold+=("$ic")
	stop
	start store
	ip=$(counted ls_plain); plain+=("$ip")
	stop
	echo "run $r: read $SIZE_MIB MiB $ir Ir; ls -l of $BACKUPS cold $ic Ir; ls cold $ip Ir"
done

per() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a / b }'; }	# per A B: A / B
rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "commit $rev, $RUNS runs, medians (spread = (max-min)/median):"
printf '%-36s %14s   spread %s %%\n' "read: instructions per MiB" \
	"$(per "$(median "${rd[@]}")" "$SIZE_MIB")" "$(spread "${rd[@]}")"
printf '%-36s %14s   spread %s %%\n' "ls -l cold: instructions per 1000" \
	"$(per "$(median "${cold[@]}")" "$(awk -v n="$BACKUPS" 'BEGIN { print n / 1000 }')")" "$(spread "${cold[@]}")"
printf '%-36s %14s   spread %s %%\n' "ls cold: instructions per 1000" \
	"$(per "$(median "${plain[@]}")" "$(awk -v n="$BACKUPS" 'BEGIN { print n / 1000 }')")" "$(spread "${plain[@]}")"
# for scripts/bench.sh's table (the format of bench-lib.sh's bench_row; no peer runs here)
printf 'ROW|read, instructions per MiB (callgrind)|-|-|%s|Ir/MiB|-|-|-\n' "$(per "$(median "${rd[@]}")" "$SIZE_MIB")"
printf 'ROW|ls -l cold, instructions per 1000 entries (callgrind)|-|-|%s|Ir/1000|-|-|-\n' \
	"$(per "$(median "${cold[@]}")" "$(awk -v n="$BACKUPS" 'BEGIN { print n / 1000 }')")"
printf 'ROW|ls cold, instructions per 1000 entries (callgrind)|-|-|%s|Ir/1000|-|-|-\n' \
	"$(per "$(median "${plain[@]}")" "$(awk -v n="$BACKUPS" 'BEGIN { print n / 1000 }')")"
