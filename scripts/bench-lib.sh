# bench-lib.sh - sourced by scripts/bench-*.sh: exit and cleanup, the S3 server (the one in
# the environment, or a throw-away Ceph RGW of our own), and curl/rclone wired to it.
# The caller sets BENCH (its name, for messages), top, work, MNT, BUCKET and MVB_BIN first,
# then calls bench_s3_up.  Exit status convention of the benchmarks: 0 targets met,
# 1 a target missed, 2 an error.
own_rgw=0

die() { echo "bench-$BENCH: error: $*" >&2; exit 2; }
cleanup() {
	mountpoint -q "$MNT" 2>/dev/null && fusermount3 -u "$MNT"
	[ $own_rgw = 1 ] && bash "$top/scripts/s3-server.sh" stop "$work/rgw" >/dev/null 2>&1
	grep -qF " $work/" /proc/self/mounts || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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

# bench_mount: a fresh mount of $work/backup.yaml on $MNT (waits until mounted); PID = the daemon
bench_mount() {
	local i
	"$MVB_BIN" -c "$work/backup.yaml" "$MNT" 2>"$work/mount.err" || die "mount failed: $(cat "$work/mount.err")"
	for ((i = 0; i < 300; i++)); do mountpoint -q "$MNT" && break; sleep 0.05; done
	mountpoint -q "$MNT" || die "'$MNT' not mounted"
	PID=$(pgrep -f -- "$(basename "$MVB_BIN") .*$MNT\$" | head -n 1)
}

# median V...: the median of the values (the mean of the middle two for an even count)
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
