# bench-lib.sh - sourced by scripts/bench-*.sh: exit and cleanup, the S3 server (the one in
# the environment, or a throw-away Ceph RGW of our own), and curl/rclone wired to it.
# The caller sets BENCH (its name, for messages), top, work, MNT, BUCKET and MVB_BIN first,
# then calls bench_s3_up.  bench_row prints a result line that scripts/bench.sh collects into
# its one table; the peer_*_mount helpers mount the peers a user would pick instead.  Exit status convention of the benchmarks: 0 targets met,
# 1 a target missed, 2 an error.
own_rgw=0

die() { echo "bench-$BENCH: error: $*" >&2; exit 2; }
cleanup() {
	local m
	# no work directory (sourced by hand, not by a bench script): nothing here is ours, and
	# the loop below would match every mount point
	[ -n "${work:-}" ] || return 0
	bench_unsplit_cpus
	mountpoint -q "$MNT" 2>/dev/null && fusermount3 -u "$MNT"
	for m in $(awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts); do
		fusermount3 -u "$m"	# a peer's mount (rclone, s3fs) left by an error
	done
	[ $own_rgw = 1 ] && bash "$top/scripts/s3-server.sh" stop "$work/rgw" >/dev/null 2>&1
	grep -qF " $work/" /proc/self/mounts || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# proc_ticks PID: the process's CPU time so far (utime + stime, fields 14 and 15 of
# /proc/PID/stat, in clock ticks; the command name in parentheses may hold spaces)
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# Is a run CPU-bound?  cpu_probe_start before the timed part, cpu_probe_end GIB after it prints
# "BUSY SRV": the percentage of all CPUs busy meanwhile (/proc/stat) and the S3 server's CPU
# seconds per GiB (radosgw + ceph-osd, from the pid files of scripts/s3-server.sh under
# S3_SERVER_DIR: our own RGW or bench.sh's; "-" when unknown, e.g. for MinIO).
srv_ticks() {
	local f p t=0 seen=0
	[ -n "${S3_SERVER_DIR:-}" ] && [ -d "$S3_SERVER_DIR/run" ] || { echo -; return; }
	for f in "$S3_SERVER_DIR"/run/client.rgw.*.pid "$S3_SERVER_DIR"/run/osd.*.pid; do
		[ -r "$f" ] && p=$(cat "$f") && [ -r "/proc/$p/stat" ] || continue
		t=$((t + $(proc_ticks "$p"))); seen=1
	done
	[ $seen = 1 ] && echo $t || echo -
}
# cpu_sample: "BUSY TOTAL SRV": all CPUs' busy and total ticks (/proc/stat), the server's ticks
cpu_sample() { echo "$(awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6 }' /proc/stat) $(srv_ticks)"; }
cpu_probe_start() { PROBE0=$(cpu_sample); }
cpu_probe_end() {
	awk -v a="$PROBE0" -v b="$(cpu_sample)" -v g="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		busy = (y[2] > x[2]) ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0
		srv = (x[3] == "-" || y[3] == "-") ? "-" : sprintf("%.2f", (y[3] - x[3]) / hz / g)
		printf "%.0f %s\n", busy, srv }'
}

# bench_s3_up: check the daemon, start an RGW unless S3_ENDPOINT is set, define sc / rc_env
bench_s3_up() {
	[ -x "$MVB_BIN" ] || die "no daemon at '$MVB_BIN' (run scripts/setup.sh)"
	if [ -z "${S3_ENDPOINT:-}" ]; then
		env_out=$(S3_BUCKETS=$BUCKET bash "$top/scripts/s3-server.sh" start "$work/rgw") ||
			die "cannot start the S3 server"
		own_rgw=1
		eval "$env_out"
	fi
	REGION=${S3_REGION:-us-east-1}
	[ "${SPLIT_CPUS:-0}" = 1 ] && bench_split_cpus
	return 0
}

# bench_split_cpus (SPLIT_CPUS=1): the S3 server on the upper half of the CPUs, this script and
# everything it starts (the daemons, cat, curl, the peers) on the lower half, as when the
# server runs on another machine: then a read runs at the server's ceiling, and the ratio says
# how hard the server works per byte for each client, not how the client and the server share
# the CPUs.  Needs the server's pids (S3_SERVER_DIR: our own RGW or bench.sh's).
bench_split_cpus() {
	local n f p lo hi
	n=$(nproc)
	[ "$n" -ge 2 ] || die "SPLIT_CPUS=1 needs 2 CPUs or more (this machine has $n)"
	[ -n "${S3_SERVER_DIR:-}" ] && [ -d "$S3_SERVER_DIR/run" ] ||
		die "SPLIT_CPUS=1 needs the S3 server's pid files (S3_SERVER_DIR of scripts/s3-server.sh)"
	lo="0-$((n / 2 - 1))" hi="$((n / 2))-$((n - 1))"
	split_pinned=1
	for f in "$S3_SERVER_DIR"/run/*.pid; do
		p=$(cat "$f") && [ -d "/proc/$p" ] || continue
		split_was+="$p $(taskset -p -c "$p" | sed 's/.*: //')"$'\n'	# to put back at exit
		taskset -a -p -c "$hi" "$p" >/dev/null || die "cannot pin the S3 server ($f) to CPUs $hi"
	done
	taskset -p -c "$lo" $$ >/dev/null || die "cannot pin this script to CPUs $lo"
	echo "bench-$BENCH: SPLIT_CPUS=1: the S3 server on CPUs $hi, the clients on CPUs $lo"
}
# bench_unsplit_cpus (at exit): the S3 server back on every CPU, so that the benchmarks run after
# this one on the same server (scripts/bench.sh) do not find it on half of them
# (the CPUs each server process had before, not nproc's count: nproc counts only the CPUs this
# script, pinned by then, may use)
split_pinned=0 split_was=""
bench_unsplit_cpus() {
	local p cpus
	[ "$split_pinned" = 1 ] || return 0
	while read -r p cpus; do
		[ -n "$p" ] && [ -d "/proc/$p" ] && taskset -a -p -c "$cpus" "$p" >/dev/null
	done <<<"$split_was"
	split_pinned=0
}

# sc ARGS...: curl signed for the S3 server
sc() {
	curl -sS --aws-sigv4 "aws:amz:$REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
# rc_env ARGS...: rclone with remote "B:" = the S3 server (no config file read or written)
rc_env() {
	RCLONE_CONFIG=/dev/null RCLONE_CONFIG_B_TYPE=s3 RCLONE_CONFIG_B_PROVIDER=Ceph \
	RCLONE_CONFIG_B_ENDPOINT="$S3_ENDPOINT" RCLONE_CONFIG_B_REGION="$REGION" \
	RCLONE_CONFIG_B_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_B_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
		rclone --log-level ERROR "$@"
}

# bench_row METRIC PEER PEER_VALUE OURS UNIT RATIO [RSS_MIB [CPU_S_PER_GIB]]: one result line
# for scripts/bench.sh's table.  RATIO > 1 means mvbackupfs is ahead (the caller decides which
# way round that is for its metric: speed ours/peer, or time peer/ours).
bench_row() {
	printf 'ROW|%s|%s|%s|%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "${7:--}" "${8:--}"
}

# peer_rclone_mount REMOTE_PATH MNT: `rclone mount` (defaults: no VFS cache, 5 min dir cache)
# in the background until MNT is a mount point; sets PEER_PID
peer_rclone_mount() {
	local i
	rc_env mount "b:$1" "$2" >"$work/rclone-mount.log" 2>&1 &
	PEER_PID=$!
	for ((i = 0; i < 400; i++)); do mountpoint -q "$2" && return 0; sleep 0.05; done
	die "rclone mount of '$1' failed: $(tail -n 3 "$work/rclone-mount.log")"
}
# peer_s3fs_mount BUCKET[:/PATH] MNT: an s3fs-fuse mount (it daemonises itself)
peer_s3fs_mount() {
	local i
	printf '%s:%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$work/s3fs.passwd"
	chmod 600 "$work/s3fs.passwd"
	s3fs "$1" "$2" -o passwd_file="$work/s3fs.passwd" -o url="$S3_ENDPOINT" \
		-o use_path_request_style -o endpoint="$REGION" >/dev/null 2>&1 || die "s3fs mount of '$1' failed"
	for ((i = 0; i < 400; i++)); do mountpoint -q "$2" && return 0; sleep 0.05; done
	die "s3fs mount of '$1' did not appear"
}
# peer_unmount MNT: unmount a peer's mount and wait until it is gone
peer_unmount() {
	local i
	fusermount3 -u "$1" || die "unmount of '$1' failed"
	for ((i = 0; i < 200; i++)); do mountpoint -q "$1" || break; sleep 0.05; done
	[ -n "${PEER_PID:-}" ] && wait "$PEER_PID" 2>/dev/null
	PEER_PID=
}

# bench_config ROOT: $work/backup.yaml for backups under s3://$BUCKET/ROOT/ (no Milvus: port 1)
bench_config() {
	local h=${S3_ENDPOINT#*://}
	h=${h%%/*}
	cat >"$work/backup.yaml" <<YAML
milvus:
  address: 127.0.0.1
  port: 1
minio:
  storageType: minio
  address: ${h%:*}
  port: ${h##*:}
  region: $REGION
  accessKeyID: $AWS_ACCESS_KEY_ID
  secretAccessKey: $AWS_SECRET_ACCESS_KEY
  useSSL: false
  bucketName: $BUCKET
  backupBucketName: $BUCKET
  backupRootPath: $1
YAML
}

# bench_backups N BINLOGS BYTES [SIDECAR]: make s3://$BUCKET/$ROOT/ hold N backups named
# backup_0001..., each the fixture v0_5_9's meta, BINLOGS binlogs of BYTES random bytes and, when
# given, SIDECAR as its mvbackupfs.json.  Made once: a re-run against the same server that finds
# N backups there reuses them.
bench_backups() {
	local n=$1 nbin=$2 bytes=$3 sidecar=${4:-} code have fix d i k t0 src=$work/src/$ROOT
	local binlog=binlogs/insert_log/451000000000000001/451000000000000002/451000000000001001/451000000000001001/0/451000000000001003
	code=$(sc -o /dev/null -w '%{http_code}' -X PUT "$S3_ENDPOINT/$BUCKET")
	case "$code" in 200|409) ;; *) die "cannot create bucket '$BUCKET': HTTP $code" ;; esac
	have=$(rc_env lsf --dirs-only "b:$BUCKET/$ROOT/" 2>/dev/null | wc -l)
	[ "$have" = "$n" ] && return 0
	[ "$have" -gt 0 ] && rc_env purge "b:$BUCKET/$ROOT" >/dev/null 2>&1
	fix=$top/tests/fixtures/backups/v0_5_9
	[ -d "$fix/meta" ] || die "no fixture backup at '$fix'"
	echo "making $n backups (v0_5_9 meta + $nbin binlog(s)) under s3://$BUCKET/$ROOT/"
	for ((i = 1; i <= n; i++)); do
		d=$src/$(printf 'backup_%04d' "$i")
		mkdir -p "$d/meta" "$d/$(dirname "$binlog")"
		cp "$fix"/meta/*.json "$d/meta/"
		for ((k = 1; k <= nbin; k++)); do
			head -c "$bytes" /dev/urandom >"$d/$binlog$( [ "$nbin" -gt 1 ] && echo "_$k")"
		done
		[ -z "$sidecar" ] || printf '%s' "$sidecar" >"$d/mvbackupfs.json"
	done
	t0=$(date +%s)
	rc_env copy --transfers 32 --checkers 32 --s3-no-check-bucket --no-check-dest \
		"$src" "b:$BUCKET/$ROOT" || die "upload failed"
	rm -rf "$work/src"
	have=$(rc_env lsf --dirs-only "b:$BUCKET/$ROOT/" | wc -l)
	[ "$have" = "$n" ] || die "the root holds $have backups, not $n"
	echo "uploaded in $(( $(date +%s) - t0 )) s"
}

# bench_mount: a fresh mount of $work/backup.yaml on $MNT (waits until mounted); PID = the daemon
bench_mount() {
	local i
	"$MVB_BIN" -c "$work/backup.yaml" "$MNT" 2>"$work/mount.err" || die "mount failed: $(cat "$work/mount.err")"
	for ((i = 0; i < 300; i++)); do mountpoint -q "$MNT" && break; sleep 0.05; done
	mountpoint -q "$MNT" || die "'$MNT' not mounted"
	PID=$(pgrep -f -- "$(basename "$MVB_BIN") .*$MNT\$" | head -n 1)
}

# median V...: the median of the values (the mean of the middle two for an even count)
# (the mean of the middle two keeps its digits: ratios like 0.947, instruction counts whole)
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.10g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
