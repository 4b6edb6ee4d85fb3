#!/usr/bin/env bash
# minio-server.sh start|stop|env DIR -- a throw-away MinIO server on 127.0.0.1 for the tests and
# the demo, with the interface and the printed variables of scripts/s3-server.sh (Ceph RGW), so
# every S3 suite runs on either (S3_SERVER=rgw|minio in scripts/test.sh).
#
#   start DIR  `minio server DIR/data` (single drive), everything (data, logs, pid) under DIR.
#              Prints "export VAR=value" lines (also written to DIR/s3.env): S3_ENDPOINT,
#              S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION,
#              S3_SERVER_DIR.  Use:  eval "$(scripts/minio-server.sh start /tmp/minio)"
#              Idempotent: a healthy server in DIR is reused; a dead one is started afresh
#              (its data kept).
#   stop DIR   stops the pid in DIR/run/minio.pid (only while its command line names DIR/data)
#              and deletes DIR (KEEP=1 keeps it).  Idempotent.
#   env DIR    print the settings of the running server in DIR again.
#
# Environment (all optional):
#   S3_BUCKETS     space-separated buckets to create (existing ones are fine)
#   MINIO_PORT     S3 port (default 0 = a free one; a busy one is an error)
#   S3_ACCESS_KEY, S3_SECRET_KEY   the root user's keys (the same defaults as s3-server.sh)
#   START_TIMEOUT  seconds (default 60)
# The binary: MINIO_BIN, else <repo>/.tools/bin/minio (scripts/setup.sh builds it with
# `go install`), else minio on PATH.  This script never installs anything.
set -euo pipefail

prog=minio-server
# shellcheck source=lib-server.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-server.sh"
srv_args "start|stop|env" "$@"
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PIDFILE="$DIR/run/minio.pid"
S3_ACCESS_KEY=${S3_ACCESS_KEY:-MVBACKUPFSTESTKEY000}
S3_SECRET_KEY=${S3_SECRET_KEY:-mvbackupfsTestSecret0000000000000000000000}
START_TIMEOUT=${START_TIMEOUT:-60}

STARTING=0
die() {
	log "error: $*"
	# a failed start stops what it started (the log stays for a look)
	if [ "$STARTING" = 1 ]; then STARTING=0; KEEP=1 do_stop || true; fi
	exit 1
}

minio_bin() {
	if [ -n "${MINIO_BIN:-}" ]; then echo "$MINIO_BIN"
	elif [ -x "$TOP/.tools/bin/minio" ]; then echo "$TOP/.tools/bin/minio"
	else command -v minio || true
	fi
}

# A pid is ours only while its command line names DIR/data (a recycled pid is left alone).
ours() {
	local pid=$1
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
		tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -xF -- "$DIR/data" >/dev/null
}
our_pid() { local p; p=$(cat "$PIDFILE" 2>/dev/null || true); ours "$p" && echo "$p"; }

live() { [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$1/minio/health/live" 2>/dev/null)" = 200 ]; }


do_stop() {
	local pid
	if pid=$(our_pid); then srv_stop_pid minio "$pid" 10; fi
	rm -f "$PIDFILE"
	srv_rm_dir "data/ of this script" test -d "$DIR/data"
}

do_start() {
	local t0=$SECONDS bin pid port ep i
	bin=$(minio_bin)
	[ -n "$bin" ] && [ -x "$bin" ] || die "no minio binary: run scripts/setup.sh first (or set MINIO_BIN)"
	command -v curl >/dev/null || die "missing curl: run scripts/setup.sh first"

	if pid=$(our_pid) && [ -f "$DIR/s3.env" ]; then
		ep=$(sed -n 's/^export S3_ENDPOINT=//p' "$DIR/s3.env")
		if live "$ep"; then
			log "already running in '$DIR' (pid $pid)"
			S3_ACCESS_KEY=$(sed -n 's/^export AWS_ACCESS_KEY_ID=//p' "$DIR/s3.env")
			S3_SECRET_KEY=$(sed -n 's/^export AWS_SECRET_ACCESS_KEY=//p' "$DIR/s3.env")
			make_buckets "$ep"
			cat "$DIR/s3.env"
			return 0
		fi
		log "pid $pid in '$DIR' does not answer: restarting it"
		KEEP=1 do_stop
	fi
	if [ -e "$DIR" ] && [ ! -d "$DIR/data" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
		die "'$DIR' is not empty and holds no data/: not a directory of this script, left alone"
	fi
	mkdir -p "$DIR"/{data,run,log,certs}
	port=${MINIO_PORT:-0}
	[ "$port" != 0 ] || port=$(free_ports 1)
	ep="http://127.0.0.1:$port"
	(
		cd "$DIR" &&
		exec env MINIO_ROOT_USER="$S3_ACCESS_KEY" MINIO_ROOT_PASSWORD="$S3_SECRET_KEY" \
			MINIO_BROWSER=off MINIO_UPDATE=off MINIO_REGION=us-east-1 HOME="$DIR" \
			setsid "$bin" server --quiet --address "127.0.0.1:$port" --certs-dir "$DIR/certs" \
			"$DIR/data" >>"$DIR/log/minio.log" 2>&1 </dev/null
	) &
	pid=$!
	echo "$pid" >"$PIDFILE"
	STARTING=1
	for ((i = 0; ; i++)); do
		live "$ep" && break
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 5 "$DIR/log/minio.log" >&2 || true
			rm -f "$PIDFILE"
			die "minio exited during start (log: $DIR/log/minio.log)"
		fi
		if [ $i -ge $((START_TIMEOUT * 10)) ]; then
			die "minio did not answer on $ep within ${START_TIMEOUT}s (log: $DIR/log/minio.log)"
		fi
		sleep 0.1
	done
	cat >"$DIR/s3.env" <<EOF
export S3_ENDPOINT=$ep
export S3_REGION=us-east-1
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1
export S3_SERVER_DIR=$DIR
EOF
	make_buckets "$ep"
	STARTING=0
	log "ready in $((SECONDS - t0)) s on $ep (pid $pid)"
	cat "$DIR/s3.env"
}

case "$CMD" in
start) do_start ;;
stop) do_stop ;;
env) [ -f "$DIR/s3.env" ] || die "no server in '$DIR'"; cat "$DIR/s3.env" ;;
*) usage ;;
esac
