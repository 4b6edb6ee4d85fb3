#!/usr/bin/env bash
# bench-copy.sh -- spec §8 "Copy between mounts" (issue 11): `cp -r` of a ~2 GiB, ~500-file
# backup from mount A to mount B, against `rclone copy` between the same buckets configured as
# TWO remotes (so rclone streams the bytes instead of copying server-side), and against the same
# `cp -r` between two s3fs-fuse mounts (when s3fs is installed: apt-get install s3fs).
#
# All on one S3 server, RUNS alternating rounds.  Each copy is timed until it is committed (for
# mvbackupfs: until B's .status says complete, polled every 20 ms) and verified byte-identical
# (rclone check --download between the buckets).  Prints medians, ratios, the daemons' peak RSS
# (VmHWM of A's and B's mvbackupfs) and the client CPU seconds per GiB (cp + both daemons: the
# spec's "client CPU"; for rclone its own).  Targets: >= 1.0x rclone, >= 4x s3fs, peak RSS <= 256
# MiB per daemon, <= 3.5 CPU-s/GiB.
#
# Environment: S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY (else a throw-away Ceph RGW),
# MVB_BIN (default build/mvbackupfs), SIZE_MB (2048), FILES (500), RUNS (3), TRANSFERS (rclone
# --transfers, 4: its default), KEEP=1.  Exit status as the other
# benchmarks: 0 every target met, 1 a target missed, 2 an error.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BENCH=copy
MVB_BIN=${MVB_BIN:-$top/build/mvbackupfs}
SIZE_MB=${SIZE_MB:-2048}
FILES=${FILES:-500}
RUNS=${RUNS:-3}
TRANSFERS=${TRANSFERS:-4}
work=$(mktemp -d "${TMPDIR:-/tmp}/mvb-bench-copy.XXXXXX")
MNT=$work/ma	# bench-lib's cleanup unmounts MNT; the others below
tag=$(printf %04x $((RANDOM)))
BUCKET="mvbcopysrc$tag"
# shellcheck source=bench-lib.sh
. "$top/scripts/bench-lib.sh"
unset MILVUS_ADDRESS MILVUS_PORT MINIO_ADDRESS MINIO_PORT 2>/dev/null || true
unset AWS_CA_BUNDLE	# rclone (Go) refuses a custom CA bundle with its own transport
extra_cleanup() {
	local m
	for m in "$work"/mb* "$work"/s3fs-*; do
		mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m"; }
	done
	cleanup
}
trap extra_cleanup EXIT
bench_s3_up
command -v rclone >/dev/null || die "rclone is not installed"

# rc2 ARGS: rclone with two remotes on the same server, A: and B: (distinct remotes: streamed);
# a script, so that /usr/bin/time can measure it
cat >"$work/rc2" <<EOT
#!/bin/sh
export RCLONE_CONFIG=/dev/null
export RCLONE_CONFIG_A_TYPE=s3 RCLONE_CONFIG_A_PROVIDER=Ceph RCLONE_CONFIG_A_ENDPOINT="$S3_ENDPOINT"
export RCLONE_CONFIG_A_REGION="$REGION" RCLONE_CONFIG_A_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID"
export RCLONE_CONFIG_A_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
export RCLONE_CONFIG_B_TYPE=s3 RCLONE_CONFIG_B_PROVIDER=Ceph RCLONE_CONFIG_B_ENDPOINT="$S3_ENDPOINT"
export RCLONE_CONFIG_B_REGION="$REGION" RCLONE_CONFIG_B_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID"
export RCLONE_CONFIG_B_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
exec rclone --log-level ERROR "\$@"
EOT
chmod 700 "$work/rc2"
rc2() { "$work/rc2" "$@"; }
mkbucket() { [ "$(sc -X PUT "$S3_ENDPOINT/$1" -o /dev/null -w '%{http_code}')" = 200 ] || die "cannot create bucket $1"; }
config() {	# config BUCKET: backups under s3://BUCKET/backup/
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
mount_mvb() {	# mount_mvb CFG MNT
	mkdir -p "$2"
	"$MVB_BIN" -c "$1" "$2" 2>>"$work/mount.err" || die "mount $2 failed: $(tail -n 3 "$work/mount.err")"
	for _ in $(seq 150); do mountpoint -q "$2" && break; sleep 0.1; done
	mountpoint -q "$2" || die "$2 not mounted"
}
daemon_pid() { pgrep -f -- "$(basename "$MVB_BIN") .*$1\$" | head -n 1; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
verify() {	# verify SRC DST (rclone paths): byte-identical, object for object
	rc2 check --download --one-way "$1" "$2" 2>"$work/check.err" || die "copy $2 differs: $(tail -n 3 "$work/check.err")"
	# the target's own sidecar (reservation) and the hidden mtimes record aside
	[ "$(rc2 lsf -R --files-only --exclude mvbackupfs.json "$1" | wc -l)" = \
	  "$(rc2 lsf -R --files-only --exclude mvbackupfs.json --exclude .mvbackupfs-mtimes.json "$2" | wc -l)" ] ||
		die "copy $2: another number of objects"
}

# --- the source backup: generated locally, uploaded once to bucket A
echo "bench-copy: generating a ${SIZE_MB} MiB, $FILES-file backup"
python3 "$top/scripts/bench-copy-gen.py" "$work/gen" bench_src "$SIZE_MB" "$FILES"
mkbucket "$BUCKET"
rc2 copy --transfers 8 "$work/gen" "A:$BUCKET/backup" || die "upload failed"
rm -rf "$work/gen"
bytes=$(rc2 size --json "A:$BUCKET/backup/bench_src" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])')
gib=$(awk -v b="$bytes" 'BEGIN { printf "%.4f", b / 1073741824 }')
mount_mvb "$(config "$BUCKET")" "$MNT"
pa=$(daemon_pid "$MNT")
have_s3fs=0
if command -v s3fs >/dev/null; then have_s3fs=1; else echo "bench-copy: s3fs not installed (apt-get install s3fs): that comparison is skipped"; fi
s3fs_mount() {	# s3fs_mount BUCKET MNT
	mkdir -p "$2"
	printf '%s:%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$work/s3fs.passwd"; chmod 600 "$work/s3fs.passwd"
	s3fs "$1" "$2" -o passwd_file="$work/s3fs.passwd" -o url="$S3_ENDPOINT" -o use_path_request_style \
		-o endpoint="$REGION" -o nonempty >/dev/null 2>&1 || die "s3fs mount failed"
	for _ in $(seq 100); do mountpoint -q "$2" && break; sleep 0.1; done
}

declare -a T_MVB T_RC T_S3FS C_MVB C_RC P_MVB P_RC P_S3FS	# P_*: "BUSY% SERVER-CPU-s/GiB" (bench-lib)
rss_max=0
for r in $(seq "$RUNS"); do
	# A: cp -r through mvbackupfs, until committed
	bb="mvbcopydst$r-$tag"; mkbucket "$bb"
	mb="$work/mb$r"; mount_mvb "$(config "$bb")" "$mb"
	pb=$(daemon_pid "$mb")
	c0=$(( $(proc_ticks "$pa") + $(proc_ticks "$pb") ))
	cpu_probe_start
	t0=$(now)
	/usr/bin/time -f '%U %S' -o "$work/cp.time" cp -r "$MNT/bench_src" "$mb/"
	until grep -qx 'state complete' "$mb/bench_src/.status" 2>/dev/null; do
		grep -qx 'state failed' "$mb/bench_src/.status" 2>/dev/null && die "copy failed: $(grep '^error' "$mb/bench_src/.status")"
		sleep 0.02
	done
	t1=$(now)
	P_MVB+=("$(cpu_probe_end "$gib")")
	c1=$(( $(proc_ticks "$pa") + $(proc_ticks "$pb") ))
	cpu=$(awk -v d=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v f="$(cat "$work/cp.time")" \
		'BEGIN { split(f, x, " "); print d / hz + x[1] + x[2] }')
	T_MVB+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
	C_MVB+=("$cpu")
	for p in "$pa" "$pb"; do h=$(hwm_kib "$p"); [ "$h" -gt "$rss_max" ] && rss_max=$h; done
	verify "A:$BUCKET/backup/bench_src" "B:$bb/backup/bench_src"
	fusermount3 -u "$mb"
	rc2 purge "B:$bb" >/dev/null 2>&1 || true
	# B: rclone copy between two remotes (streams)
	bb="mvbcopyrc$r-$tag"; mkbucket "$bb"
	cpu_probe_start
	t0=$(now)
	/usr/bin/time -f '%U %S' -o "$work/rc.time" "$work/rc2" copy --transfers "$TRANSFERS" \
		"A:$BUCKET/backup/bench_src" "B:$bb/backup/bench_src" || die "rclone copy failed"
	t1=$(now)
	P_RC+=("$(cpu_probe_end "$gib")")
	T_RC+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
	C_RC+=("$(awk '{ print $1 + $2 }' "$work/rc.time")")
	verify "A:$BUCKET/backup/bench_src" "B:$bb/backup/bench_src"
	rc2 purge "B:$bb" >/dev/null 2>&1 || true
	# C: cp -r between two s3fs mounts
	if [ $have_s3fs = 1 ]; then
		bb="mvbcopys3fs$r-$tag"; mkbucket "$bb"
		s3fs_mount "$BUCKET" "$work/s3fs-a$r"; s3fs_mount "$bb" "$work/s3fs-b$r"
		cpu_probe_start
		t0=$(now)
		cp -r "$work/s3fs-a$r/backup" "$work/s3fs-b$r/"
		sync
		t1=$(now)
		P_S3FS+=("$(cpu_probe_end "$gib")")
		T_S3FS+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
		fusermount3 -u "$work/s3fs-a$r"; fusermount3 -u "$work/s3fs-b$r"
		verify "A:$BUCKET/backup/bench_src" "B:$bb/backup/bench_src"
		rc2 purge "B:$bb" >/dev/null 2>&1 || true
	fi
	echo "bench-copy: round $r: mvbackupfs ${T_MVB[-1]} s, rclone ${T_RC[-1]} s${T_S3FS:+, s3fs ${T_S3FS[-1]:-} s}" \
		"(all CPUs busy: ${P_MVB[-1]%% *} %, ${P_RC[-1]%% *} %${P_S3FS:+, ${P_S3FS[-1]%% *} %})"
done

m_mvb=$(printf '%s\n' "${T_MVB[@]}" | median)
m_rc=$(printf '%s\n' "${T_RC[@]}" | median)
c_mvb=$(printf '%s\n' "${C_MVB[@]}" | median)
c_rc=$(printf '%s\n' "${C_RC[@]}" | median)
ratio_rc=$(awk -v a="$m_mvb" -v b="$m_rc" 'BEGIN { printf "%.2f", b / a }')
cpu_gib=$(awk -v c="$c_mvb" -v g="$gib" 'BEGIN { printf "%.2f", c / g }')
rss_mib=$((rss_max / 1024))
miss=0
echo "bench-copy: $(printf '%.2f' "$gib") GiB, $(rc2 lsf -R --files-only "A:$BUCKET/backup/bench_src" | wc -l) objects, $RUNS runs (medians)"
printf '  cp -r through mvbackupfs   %8.2f s  %7.1f MiB/s\n' "$m_mvb" "$(awk -v g="$gib" -v t="$m_mvb" 'BEGIN { print g * 1024 / t }')"
printf '  rclone copy (2 remotes)    %8.2f s  %7.1f MiB/s   speed ratio %sx (target >= 1.0)\n' "$m_rc" \
	"$(awk -v g="$gib" -v t="$m_rc" 'BEGIN { print g * 1024 / t }')" "$ratio_rc"
awk -v r="$ratio_rc" 'BEGIN { exit !(r < 1.0) }' && miss=1
if [ $have_s3fs = 1 ]; then
	m_s3=$(printf '%s\n' "${T_S3FS[@]}" | median)
	ratio_s3=$(awk -v a="$m_mvb" -v b="$m_s3" 'BEGIN { printf "%.2f", b / a }')
	printf '  cp -r through s3fs         %8.2f s   speed ratio %sx (target >= 4)\n' "$m_s3" "$ratio_s3"
	awk -v r="$ratio_s3" 'BEGIN { exit !(r < 4) }' && miss=1
fi
# load LABEL P...: the median share of all CPUs busy and the server's median CPU-s per GiB
load() {
	local label=$1 busy srv=-
	shift
	busy=$(printf '%s\n' "$@" | awk '{ print $1 }' | median)
	srv=$(printf '%s\n' "$@" | awk '$2 != "-" { print $2 }')
	if [ -n "$srv" ]; then srv=$(printf '%s\n' "$srv" | median); else srv=-; fi
	printf '  %-26s all CPUs busy %s %%, S3 server %s CPU-s/GiB\n' "$label" "$busy" "$srv"
}
echo "bench-copy: CPU during the copies (medians; the server's when it is an RGW of s3-server.sh)"
load "mvbackupfs" "${P_MVB[@]}"
load "rclone copy" "${P_RC[@]}"
[ $have_s3fs = 1 ] && load "s3fs" "${P_S3FS[@]}"
echo "  daemons' peak RSS           $rss_mib MiB (target <= 256)"
[ "$rss_mib" -gt 256 ] && miss=1
echo "  client CPU (cp + daemons)   $cpu_gib s/GiB (target <= 3.5); rclone's own: $(awk -v c="$c_rc" -v g="$gib" 'BEGIN { printf "%.2f", c / g }') s/GiB"
awk -v c="$cpu_gib" 'BEGIN { exit !(c > 3.5) }' && miss=1
bench_row "cp -r of a backup between mounts, s" "rclone copy, 2 remotes" "$m_rc" "$m_mvb" s "$ratio_rc" \
	"$rss_mib" "$cpu_gib"
[ $have_s3fs = 1 ] && bench_row "cp -r of a backup between mounts, s" "cp -r between s3fs mounts" \
	"$m_s3" "$m_mvb" s "$ratio_s3" "$rss_mib" "$cpu_gib"
[ $miss = 1 ] && exit 1
exit 0
