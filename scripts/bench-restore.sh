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
# snapshot.parallel, also the restore copy's, default: the daemon's default), STRICT=1 (exit 1 when the target is missed),
# KEEP=1 (keep the work dir).  Needs node (tests/milvus-standin), rclone, curl, fusermount3.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
MVB_BIN=${MVB_BIN:-$top/build/mvbackupfs}
ROWS=${ROWS:-4400}
SEGMENTS=${SEGMENTS:-2}
DIM=${DIM:-768}
BINLOG_MAX_ROWS=${BINLOG_MAX_ROWS:-20}
RUNS=${RUNS:-3}
TRANSFERS=${TRANSFERS:-32}
PARALLEL=${PARALLEL:-}

# milvus-backup's environment overrides would change the mount's config
for v in $(env | sed -n 's/^\(MINIO_[A-Z_]*\|MILVUS_[A-Z_]*\|BACKUP_[A-Z_]*\|MVBACKUPFS_CONFIG\)=.*/\1/p'); do unset "$v"; done
unset AWS_CA_BUNDLE

log() { echo "bench-restore: $*" >&2; }
die() { log "error: $*"; exit 2; }
[ -x "$MVB_BIN" ] || die "no daemon at '$MVB_BIN'"
command -v rclone >/dev/null || die "rclone not installed"

work=$(mktemp -d "${TMPDIR:-/tmp}/mvb-bench-restore.XXXXXX")
mnt="$work/mnt"
rgw=0
buckets=()
cleanup() {
	local rc=$?
	set +e
	if mountpoint -q "$mnt" 2>/dev/null; then fusermount3 -u "$mnt" || fusermount3 -uz "$mnt"; fi
	[ -n "${dpid:-}" ] && { kill "$dpid" 2>/dev/null; for _ in $(seq 50); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done; }
	bash "$top/scripts/milvus-standin.sh" stop "$work/sa" >/dev/null 2>&1
	for b in "${buckets[@]}"; do rc_ purge "r:$b" >/dev/null 2>&1; done
	[ $rgw = 1 ] && bash "$top/scripts/s3-server.sh" stop "$work/rgw" >/dev/null 2>&1
	if [ "${KEEP:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${S3_ENDPOINT:-}" ]; then
	log "S3_ENDPOINT unset: starting a Ceph RGW in $work/rgw"
	rgw=1
	eval "$(bash "$top/scripts/s3-server.sh" start "$work/rgw")"
fi
: "${AWS_ACCESS_KEY_ID:?}" "${AWS_SECRET_ACCESS_KEY:?}"
REGION=${S3_REGION:-us-east-1}
hostport=${S3_ENDPOINT#*://}; hostport=${hostport%%/*}

# rclone with one remote "r:" from the environment (no config file)
rc_() {
	RCLONE_CONFIG=/dev/null RCLONE_CONFIG_R_TYPE=s3 RCLONE_CONFIG_R_PROVIDER=Ceph \
	RCLONE_CONFIG_R_ENDPOINT="$S3_ENDPOINT" RCLONE_CONFIG_R_REGION="$REGION" \
	RCLONE_CONFIG_R_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_R_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
		rclone --log-level ERROR "$@"
}
now_ns() { date +%s%N; }

mb="mvb-bench-milvus-$$"
bb="mvb-bench-backup-$$"
for b in "$mb" "$bb"; do rc_ mkdir "r:$b" || die "cannot create bucket $b"; buckets+=("$b"); done

# --- Milvus stand-in and data
log "stand-in: $ROWS rows in $SEGMENTS segments, dim $DIM, $BINLOG_MAX_ROWS rows per binlog"
sa_out=$(env MILVUS_PORT=0 MILVUS_BUCKET="$mb" MILVUS_ROOT_PATH=files STANDIN_BINLOG_MAX_ROWS="$BINLOG_MAX_ROWS" \
	STANDIN_SEGMENT_MAX_ROWS=100000000 bash "$top/scripts/milvus-standin.sh" start "$work/sa" 2>"$work/sa.err") \
	|| { cat "$work/sa.err" >&2; die "stand-in did not start"; }
sa_port=$(printf '%s\n' "$sa_out" | sed -n 's/^export MILVUS_PORT=//p')
node "$top/tests/snapshot/populate.js" --address "127.0.0.1:$sa_port" --names bench \
	--rows "$ROWS" --batches "$SEGMENTS" --dim "$DIM" >"$work/expected.tsv" 2>"$work/populate.err" \
	|| { cat "$work/populate.err" >&2; die "populate failed"; }
nobj=$(rc_ lsf -R --files-only "r:$mb/files" | wc -l)
nbytes=$(rc_ size --json "r:$mb/files" | sed -n 's/.*"bytes":\([0-9]*\).*/\1/p')
log "Milvus bucket: $nobj binlog objects, $nbytes bytes"
[ "$nobj" -ge 1000 ] || log "warning: fewer than 1000 objects ($nobj): raise ROWS or lower BINLOG_MAX_ROWS"

# --- the mount
cfg="$work/backup.yaml"
cat >"$cfg" <<EOF
milvus:
  address: 127.0.0.1
  port: $sa_port
minio:
  storageType: minio
  address: ${hostport%:*}
  port: ${hostport##*:}
  region: $REGION
  accessKeyID: $AWS_ACCESS_KEY_ID
  secretAccessKey: $AWS_SECRET_ACCESS_KEY
  useSSL: false
  bucketName: $mb
  rootPath: files
  backupBucketName: $bb
  backupRootPath: backup
backup:
  gcPause:
    enable: false
EOF
[ -n "$PARALLEL" ] && printf 'mvbackupfs:\n  snapshot:\n    parallel: %s\n' "$PARALLEL" >>"$cfg"
mkdir -p "$mnt"
"$MVB_BIN" -c "$cfg" "$mnt" 2>"$work/mount.err" || { cat "$work/mount.err" >&2; die "mount failed"; }
for _ in $(seq 150); do mountpoint -q "$mnt" && break; sleep 0.1; done
mountpoint -q "$mnt" || die "not mounted"
dpid=$(pgrep -f -- "$(basename "$MVB_BIN") .*$mnt\$" | head -n 1 || true)


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
if [ "$(echo "$ratio <= 1.2" | bc)" = 1 ]; then
	echo "ratio copy/rclone: ${ratio}x (target <= 1.2x: met)"
else
	echo "ratio copy/rclone: ${ratio}x (target <= 1.2x: MISSED)"
	[ "${STRICT:-0}" = 1 ] && exit 1
fi
exit 0
