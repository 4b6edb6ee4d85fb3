#!/usr/bin/env bash
# bench-copy-cpu.sh -- CPU per GiB of each process of a `cp -r` between two mvbackupfs mounts
# (issue 11), alternating daemon binaries on one S3 server.  Only the mvbackupfs rounds of
# bench-copy.sh, with the reader daemon (A), the writer daemon (B) and cp counted apart from
# /proc/PID/stat (utime + stime) and /usr/bin/time.
#
# Environment: BINS (space-separated daemon binaries, default build/mvbackupfs), ROUNDS (2: each
# round runs every binary once, in order), SIZE_MB (256), FILES (100), S3_ENDPOINT & keys (else a
# throw-away RGW), HOOK (optional command run in the background during each copy with the
# writer's pid as $1, e.g. 'perf record -g -o /tmp/p.data -p'; it is sent SIGINT after the copy),
# TOOLS (space-separated, each round runs every binary with every tool: cp, `cp -r`, the
# default; rw1m, the same tree copied with plain read()/write() of 1 MiB, which shows what `cp`'s
# kernel path between two FUSE mounts costs: copy_file_range's splice fallback reads the source
# through its page cache, 256 KiB read-ahead READs into fresh folios; docs/copy-performance.md).
# With an RGW of scripts/s3-server.sh (its own, or S3_SERVER_DIR) the server's CPU per GiB is
# printed too (radosgw, ceph-osd), and always the share of all CPUs busy during the copy:
# on a 2-core machine it bounds the copy's wall time (docs/performance.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BENCH=copy-cpu
BINS=${BINS:-$top/build/mvbackupfs}
MVB_BIN=${BINS%% *}
SIZE_MB=${SIZE_MB:-256}
FILES=${FILES:-100}
ROUNDS=${ROUNDS:-2}
TOOLS=${TOOLS:-cp}
for t in $TOOLS; do
	case "$t" in cp|rw1m) ;; *) echo "bench-copy-cpu: a tool is cp or rw1m, not '$t'" >&2; exit 2 ;; esac
done
work=$(mktemp -d "${TMPDIR:-/tmp}/mvb-bench-copy-cpu.XXXXXX")
MNT=$work/ma
tag=$(printf %04x $((RANDOM)))
BUCKET="mvbcpusrc$tag"
# shellcheck source=bench-lib.sh
. "$top/scripts/bench-lib.sh"
unset MILVUS_ADDRESS MILVUS_PORT MINIO_ADDRESS MINIO_PORT AWS_CA_BUNDLE 2>/dev/null || true
extra_cleanup() {
	local m
	for m in "$work"/mb*; do
		mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m"; }
	done
	# a kept server (S3_ENDPOINT) fills up otherwise: a memstore OSD holds every round's source
	[ $own_rgw = 1 ] || rc purge "A:$BUCKET" >/dev/null 2>&1 || true
	cleanup
}
trap extra_cleanup EXIT
bench_s3_up
rc() {
	RCLONE_CONFIG=/dev/null RCLONE_CONFIG_A_TYPE=s3 RCLONE_CONFIG_A_PROVIDER=Ceph \
	RCLONE_CONFIG_A_ENDPOINT="$S3_ENDPOINT" RCLONE_CONFIG_A_REGION="$REGION" \
	RCLONE_CONFIG_A_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_A_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
		rclone --log-level ERROR "$@"
}
mkbucket() { [ "$(sc -X PUT "$S3_ENDPOINT/$1" -o /dev/null -w '%{http_code}')" = 200 ] || die "cannot create bucket $1"; }
config() {
	cat >"$work/$1.yaml" <<EOT
milvus:
  address: 127.0.0.1
  port: 1
minio:
  storageType: minio
  address: $(h=${S3_ENDPOINT#*://}; echo "${h%:*}")
  port: ${S3_ENDPOINT##*:}
  region: $REGION
  accessKeyID: $AWS_ACCESS_KEY_ID
  secretAccessKey: $AWS_SECRET_ACCESS_KEY
  useSSL: false
  bucketName: $1
  rootPath: files
  backupBucketName: $1
  backupRootPath: backup
EOT
	echo "$work/$1.yaml"
}
mount_mvb() {	# mount_mvb BIN CFG MNT
	mkdir -p "$3"
	"$1" -c "$2" "$3" 2>>"$work/mount.err" || die "mount $3 failed: $(tail -n 3 "$work/mount.err")"
	for _ in $(seq 150); do mountpoint -q "$3" && break; sleep 0.1; done
	mountpoint -q "$3" || die "$3 not mounted"
}
daemon_pid() { pgrep -f -- " $1\$" | head -n 1; }
hz=$(getconf CLK_TCK)

python3 "$top/scripts/bench-copy-gen.py" "$work/gen" bench_src "$SIZE_MB" "$FILES" >/dev/null
mkbucket "$BUCKET"
rc copy --transfers 8 "$work/gen" "A:$BUCKET/backup" || die "upload failed"
rm -rf "$work/gen"
bytes=$(rc size --json "A:$BUCKET/backup/bench_src" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])')
gib=$(awk -v b="$bytes" 'BEGIN { printf "%.4f", b / 1073741824 }')
# rw1m SRC DST: DST does not exist yet
cat >"$work/rw1m.py" <<'EOT'
import os, sys
src, dst = sys.argv[1], sys.argv[2]
buf = bytearray(1 << 20)
view = memoryview(buf)
for d, subdirs, files in os.walk(src):
    out = os.path.normpath(os.path.join(dst, os.path.relpath(d, src)))
    os.mkdir(out)
    for f in sorted(files):
        with open(os.path.join(d, f), "rb", buffering=0) as fi, \
             open(os.path.join(out, f), "wb", buffering=0) as fo:
            while True:
                n = fi.readinto(buf)
                if not n:
                    break
                off = 0
                while off < n:
                    off += fo.write(view[off:n])
EOT
echo "bench-copy-cpu: $gib GiB, $FILES files; CPU-s/GiB: reader A, writer B, cp, total; wall s; server (RGW + OSD, when known); all CPUs busy"
n=0
for r in $(seq "$ROUNDS"); do
	for bin in $BINS; do
		for tool in $TOOLS; do
			case $tool in cp) cmd=(cp -r) ;; rw1m) cmd=(python3 "$work/rw1m.py") ;; esac
			n=$((n + 1))
			ma="$work/ma$n"; mount_mvb "$bin" "$(config "$BUCKET")" "$ma"; pa=$(daemon_pid "$ma")
			bb="mvbcpudst$n-$tag"; mkbucket "$bb"
			mb="$work/mb$n"; mount_mvb "$bin" "$(config "$bb")" "$mb"; pb=$(daemon_pid "$mb")
			hp=
			if [ -n "${HOOK:-}" ]; then $HOOK "$pb" >"$work/hook.out" 2>&1 & hp=$!; sleep 0.5; fi
			a0=$(proc_ticks "$pa"); b0=$(proc_ticks "$pb"); cpu_probe_start; t0=$(date +%s.%N)
			/usr/bin/time -f '%U %S' -o "$work/cp.time" ${CPWRAP:-} "${cmd[@]}" "$ma/bench_src" "$mb/bench_src"
			until grep -qx 'state complete' "$mb/bench_src/.status" 2>/dev/null; do
				grep -qx 'state failed' "$mb/bench_src/.status" 2>/dev/null && die "copy failed"
				sleep 0.02
			done
			t1=$(date +%s.%N); a1=$(proc_ticks "$pa"); b1=$(proc_ticks "$pb"); probe=$(cpu_probe_end "$gib")
			[ -n "$hp" ] && { kill -INT "$hp"; wait "$hp" || true; }
			awk -v a=$((a1 - a0)) -v b=$((b1 - b0)) -v p="$probe" -v hz="$hz" -v g="$gib" -v f="$(cat "$work/cp.time")" \
				-v w="$(awk -v x="$t0" -v y="$t1" 'BEGIN { print y - x }')" -v bin="$bin $tool" 'BEGIN {
				split(f, x, " "); c = x[1] + x[2]; split(p, q, " ")
				printf "  %-50s A %.2f  B %.2f  cp %.2f  total %.2f  wall %.2f  server %s  busy %s%%\n", bin,
					a / hz / g, b / hz / g, c / g, (a / hz + b / hz + c) / g, w, q[2], q[1] }'
			rc check --one-way "A:$BUCKET/backup/bench_src" "A:$bb/backup/bench_src" >/dev/null 2>&1 ||
				die "copy $n differs"
			fusermount3 -u "$mb"; fusermount3 -u "$ma"
			rc purge "A:$bb" >/dev/null 2>&1 || true
		done
	done
done
