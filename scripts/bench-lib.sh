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
