# shellcheck shell=bash
# bench-standin-lib.sh - sourced by the benchmarks on a Milvus stand-in (bench-snapshot-standin.sh,
# bench-restore.sh): their knobs (ROWS SEGMENTS DIM BINLOG_MAX_ROWS RUNS TRANSFERS PARALLEL, see
# their headers), log/die, the work dir and its cleanup (unmount, the stand-in, the buckets,
# an RGW of our own), the S3 server (the environment's, or a throw-away RGW), rclone `rc_`, two
# buckets (Milvus's $mb, the backups' $bb), the stand-in populated with one collection, and the
# mount on $mnt of the daemon $dpid.  The caller sets BENCH (its name) and top, then sources it.
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

log() { echo "bench-$BENCH: $*" >&2; }
die() { log "error: $*"; exit 2; }
[ -x "$MVB_BIN" ] || die "no daemon at '$MVB_BIN'"
command -v rclone >/dev/null || die "rclone not installed"

work=$(mktemp -d "${TMPDIR:-/tmp}/mvb-bench-$BENCH.XXXXXX")
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
