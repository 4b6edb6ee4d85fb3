#!/usr/bin/env bash
# bench-snapshot.sh -- `mkdir MNT/.snapshot/X` of a real Milvus beside a server-side copy of the
# same objects with `mc cp --recursive`, on the same MinIO (issue 13 item 7).
#
#   bash scripts/bench-snapshot.sh       (about 10 minutes; ROWS=200000 DIM=768 RUNS=3)
#
# Setup (thrown away at the end): a MinIO (scripts/minio-server.sh) holding buckets
# mvb-bench-milvus and mvb-bench-backup, a real Milvus 2.3.5 standalone on it
# (scripts/milvus-server.sh), one collection (INT64 pk, FLOAT_VECTOR DIM) of ROWS rows inserted
# with pymilvus in batches of BATCH, then flushed: about 600 MB of binlogs at the defaults.  Then
# RUNS alternating rounds (odd rounds snapshot first, even rounds mc first) of:
#   snapshot  mkdir MNT/.snapshot/bench_N, timed until .status says "state complete" (polled every
#             10 ms): the daemon's flush call, listing, server-side copies, verification, meta
#   mc        mc cp --recursive of the objects the snapshot copies (files/insert_log/ and
#             files/delta_log/ of the Milvus bucket) to mvb-bench-backup/mc_N/: one alias, so mc
#             copies server-side (CopyObject)
# Each copy is deleted after its round (untimed).  Prints every round, the medians, the ratio
# snapshot/mc, and the daemon's peak RSS (VmHWM).
#
# Environment: MVB_BIN (build/mvbackupfs), ROWS (200000), DIM (768), BATCH (10000), RUNS (3),
# PARALLEL (mvbackupfs.snapshot.parallel; default: the daemon's), KEEP=1 (keep the work dir).
# Needs scripts/setup.sh's .venv (Milvus 2.3.5, pymilvus) and .tools/bin/{minio,mc}.
# Exit status: 0 done, 2 an error.  (No target: the issue's hand measurement was a snapshot in
# 2.6-3.1 s against milvus-backup create's 2.8-3.0 s.)  The spec §8 target (>= 1000 small
# binlogs within 1.2x of rclone) is scripts/bench-snapshot-standin.sh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
MVB_BIN=${MVB_BIN:-$top/build/mvbackupfs}
ROWS=${ROWS:-200000}
DIM=${DIM:-768}
BATCH=${BATCH:-10000}
RUNS=${RUNS:-3}
PARALLEL=${PARALLEL:-}
PY=$top/.venv/bin/python
MB=mvb-bench-milvus BB=mvb-bench-backup

# milvus-backup's environment overrides would change the mount's config
for v in $(env | sed -n 's/^\(MINIO_[A-Z_]*\|MILVUS_[A-Z_]*\|BACKUP_[A-Z_]*\|MVBACKUPFS_CONFIG\)=.*/\1/p'); do unset "$v"; done

log() { echo "bench-snapshot: $*" >&2; }
die() { log "error: $*"; exit 2; }
[ -x "$MVB_BIN" ] || die "no daemon at '$MVB_BIN' (run scripts/setup.sh)"
if [ ! -x "$PY" ] || [ ! -x "$top/.tools/bin/mc" ]; then die "no .venv or .tools/bin/mc (run scripts/setup.sh)"; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mvb-bench-snapshot.XXXXXX")
mnt=$work/mnt
cleanup() {
	local rc=$?
	set +e
	if mountpoint -q "$mnt" 2>/dev/null; then fusermount3 -u "$mnt" || fusermount3 -uz "$mnt"; fi
	bash "$top/scripts/milvus-server.sh" stop "$work/milvus" >/dev/null 2>&1
	bash "$top/scripts/minio-server.sh" stop "$work/minio" >/dev/null 2>&1
	if [ "${KEEP:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export MC_CONFIG_DIR=$work/mc
mc() { "$top/.tools/bin/mc" --quiet --no-color "$@"; }
now_ns() { date +%s%N; }
secs() { printf "%.3f\n" "$(echo "scale=3; ($2 - $1) / 1000000000" | bc)"; }

# --- MinIO and Milvus
envs=$(S3_BUCKETS="$MB $BB" bash "$top/scripts/minio-server.sh" start "$work/minio" 2>"$work/minio.err") \
	|| { cat "$work/minio.err" >&2; die "MinIO did not start"; }
eval "$envs"
hostport=${S3_ENDPOINT#http://}
export MC_HOST_m="http://$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY@$hostport"
menv=$(MILVUS_BUCKET=$MB MILVUS_ROOT_PATH=files MILVUS_PORT=0 bash "$top/scripts/milvus-server.sh" start "$work/milvus" 2>"$work/milvus.err") \
	|| { cat "$work/milvus.err" >&2; die "Milvus did not start"; }
port=$(sed -n 's/^export MILVUS_PORT=//p' <<<"$menv")
log "MinIO at $S3_ENDPOINT, Milvus 2.3.5 at 127.0.0.1:$port"

t0=$(now_ns)
"$PY" - "$port" "$ROWS" "$DIM" "$BATCH" <<'EOF' >&2 || die "loading Milvus failed"
import sys
import numpy as np
from pymilvus import Collection, CollectionSchema, DataType, FieldSchema, connections
port, rows, dim, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
connections.connect("default", host="127.0.0.1", port=port, timeout=30)
c = Collection("bench", CollectionSchema([FieldSchema("id", DataType.INT64, is_primary=True),
                                          FieldSchema("vec", DataType.FLOAT_VECTOR, dim=dim)]))
rng = np.random.default_rng(7)
for start in range(0, rows, batch):
    n = min(batch, rows - start)
    c.insert([list(range(start, start + n)), rng.random((n, dim), dtype=np.float32)])
c.flush()
print(f"bench-snapshot: loaded {c.num_entities} rows x {dim} dims", file=sys.stderr)
EOF
log "insert + flush took $(secs "$t0" "$(now_ns)") s"

# the objects a snapshot copies: insert and delta logs (not stats logs)
objects() { mc ls --recursive --json "m/$MB/files/$1/" 2>/dev/null | sed -n 's/.*"size":\([0-9]*\).*/\1/p'; }
sizes=$( { objects insert_log; objects delta_log; } )
nobj=$(grep -c . <<<"$sizes" || true)
nbytes=$(awk '{ s += $1 } END { print s + 0 }' <<<"$sizes")
[ "$nobj" -gt 0 ] || die "no binlogs in s3://$MB/files/"
log "Milvus bucket: $nobj insert/delta binlogs, $nbytes bytes"

# --- the mount
cat >"$work/backup.yaml" <<EOF
milvus:
  address: 127.0.0.1
  port: $port
minio:
  storageType: minio
  address: ${hostport%:*}
  port: ${hostport##*:}
  accessKeyID: $AWS_ACCESS_KEY_ID
  secretAccessKey: $AWS_SECRET_ACCESS_KEY
  useSSL: false
  bucketName: $MB
  rootPath: files
  backupBucketName: $BB
  backupRootPath: backup
backup:
  gcPause:
    enable: false
EOF
[ -n "$PARALLEL" ] && printf 'mvbackupfs:\n  snapshot:\n    parallel: %s\n' "$PARALLEL" >>"$work/backup.yaml"
mkdir -p "$mnt"
"$MVB_BIN" -c "$work/backup.yaml" "$mnt" 2>"$work/mount.err" || { cat "$work/mount.err" >&2; die "mount failed"; }
for _ in $(seq 150); do mountpoint -q "$mnt" && break; sleep 0.1; done
mountpoint -q "$mnt" || die "not mounted"
dpid=$(pgrep -f -- "$(basename "$MVB_BIN") -c $work/backup.yaml $mnt\$" | head -n 1 || true)
[ -n "$dpid" ] || log "warning: daemon pid not found (no RSS figure)"

# run_snapshot N: the seconds from mkdir to "state complete"
run_snapshot() {
	local name=bench_$1 t0 k v st deadline
	t0=$(now_ns)
	mkdir "$mnt/.snapshot/$name" || die "mkdir .snapshot/$name failed"
	deadline=$((t0 + 900000000000))
	while :; do
		st=
		while read -r k v; do [ "$k" = state ] && { st=$v; break; }; done <"$mnt/$name/.status"
		[ "$st" = complete ] && break
		case "$st" in failed|cancelled) die "$name: $st: $(grep '^error' "$mnt/$name/.status")" ;; esac
		[ "$(now_ns)" -lt $deadline ] || die "$name: not complete after 900 s"
		sleep 0.01
	done
	secs "$t0" "$(now_ns)"
}

# run_mc N: the seconds of mc's server-side copy of the same binlogs
run_mc() {
	local t0 d
	t0=$(now_ns)
	for d in insert_log delta_log; do
		[ -n "$(mc ls "m/$MB/files/$d/" 2>/dev/null)" ] || continue
		mc cp --recursive "m/$MB/files/$d/" "m/$BB/mc_$1/$d/" >"$work/mc_$1.log" 2>&1 \
			|| { tail -n 5 "$work/mc_$1.log" >&2; die "mc cp failed"; }
	done
	secs "$t0" "$(now_ns)"
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

snap=() mcs=()
for n in $(seq "$RUNS"); do
	if [ $((n % 2)) = 1 ]; then
		s=$(run_snapshot "$n"); m=$(run_mc "$n")
	else
		m=$(run_mc "$n"); s=$(run_snapshot "$n")
	fi
	snap+=("$s") mcs+=("$m")
	sb=$(sed -n 's/^bytes_total //p' "$mnt/bench_$n/.status")
	mb=$(mc ls --recursive --json "m/$BB/mc_$n/" | sed -n 's/.*"size":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	log "round $n: mkdir .snapshot ${s}s ($sb bytes), mc cp --recursive ${m}s ($mb bytes)"
	if [ "$sb" != "$nbytes" ] || [ "$mb" != "$nbytes" ]; then log "warning: copies differ from the $nbytes bytes of binlogs"; fi
	rmdir "$mnt/bench_$n" || die "rmdir bench_$n failed"
	mc rm --recursive --force "m/$BB/mc_$n/" >/dev/null || die "mc rm failed"
done
rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$dpid/status" 2>/dev/null || true)
ms=$(printf '%s\n' "${snap[@]}" | median)
mm=$(printf '%s\n' "${mcs[@]}" | median)
echo "Milvus 2.3.5 on MinIO: $ROWS rows x $DIM dims, $nobj binlogs, $nbytes bytes"
echo "mkdir .snapshot/X:                 median ${ms}s over $RUNS rounds (${snap[*]})"
echo "mc cp --recursive (server-side):   median ${mm}s (${mcs[*]})"
echo "ratio snapshot/mc:                 $(printf '%.2f' "$(echo "scale=4; $ms / $mm" | bc)")x"
echo "daemon peak RSS (VmHWM):           ${rss:-?} kB"
# one line for scripts/bench.sh's table (bench-lib.sh's bench_row format; ratio > 1: ours ahead)
printf 'ROW|%s|%s|%s|%s|s|%s|%s|-\n' "real Milvus: mkdir .snapshot of $nobj binlogs, s" "mc cp --recursive server-side" "$mm" "$ms" \
	"$(printf '%.2f' "$(echo "scale=4; $mm / $ms" | bc)")" "$(awk -v k="${rss:-0}" 'BEGIN { printf "%.1f", k / 1024 }')"
