#!/usr/bin/env bash
# milvus-server.sh start|stop|env DIR -- a real Milvus 2.3.5 standalone (embedded etcd, rocksmq)
# with its data in an S3 bucket, for the suites and the demo.  The stand-in
# (scripts/milvus-standin.sh) takes the same settings and prints the same variables.
#
#   start DIR  writes DIR/configs/milvus.yaml whole (every port, the embedded etcd's own ports
#              through etcd.config.path, the data paths, the bucket) and runs
#              `milvus run standalone` from DIR.  Returns when a client call (pymilvus
#              list_collections) answers; prints "export MILVUS_ADDRESS=127.0.0.1" and
#              "export MILVUS_PORT=N" (also written to DIR/milvus.env).  A healthy instance in DIR
#              is reused; a dead one is stopped and started afresh with the same data.
#   stop DIR   ends only the pid recorded in DIR/run/milvus-server.pid (while its working
#              directory is DIR), then deletes DIR (KEEP=1 keeps it).  Idempotent.
#   env DIR    prints the settings of the instance in DIR again.
#
# Environment:
#   S3_ENDPOINT            the S3 server (http://HOST:PORT) holding the bucket (required for start)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   its keys
#   MILVUS_BUCKET          bucket (default milvus-bucket; Milvus creates it when missing)
#   MILVUS_ROOT_PATH       prefix of the binlogs in the bucket (default files)
#   MILVUS_PORT            gRPC port (default 0 = a free one); every other port it listens on
#                          (internal ones, metrics, etcd client and peer) is always a free one, so
#                          two or three instances run side by side, each with its own etcd.
#   START_TIMEOUT          seconds (default 120)
# Logs stay in DIR/logs.  Installed by scripts/setup.sh: the venv .venv (milvus==2.3.5,
# pymilvus==2.3.8) and the server unpacked into .tools/milvus-2.3.5; this script installs nothing.
set -euo pipefail

prog=milvus-server
# shellcheck source=lib-server.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-server.sh"
srv_args "start|stop|env" "$@"
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY="$TOP/.venv/bin/python"
BIN="$TOP/.tools/milvus-2.3.5/bin"
PIDFILE="$DIR/run/milvus-server.pid"
START_TIMEOUT=${START_TIMEOUT:-120}

die() { log "error: $*"; exit 1; }

# A pid is ours only while it is `milvus run standalone` working in DIR (a recycled pid is left alone).
ours() {
	local pid=$1
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	[ "$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" = "$BIN/milvus run standalone " ] || return 1
	[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$DIR" ]
}
our_pid() { local p; p=$(cat "$PIDFILE" 2>/dev/null || true); ours "$p" && echo "$p"; }

# answers PORT SECONDS [PID]: a pymilvus call answers within SECONDS (gives up early when PID dies)
answers() {
	"$PY" - "$1" "$2" "${3:-}" <<'EOF'
import os, sys, time
port, limit, pid = sys.argv[1], float(sys.argv[2]), sys.argv[3]
from pymilvus import connections, utility
deadline = time.time() + limit
while True:
    try:
        connections.connect("probe", host="127.0.0.1", port=port, timeout=5)
        utility.list_collections(using="probe", timeout=5)
        sys.exit(0)
    except Exception as e:  # not up yet
        last = e
        try:
            connections.disconnect("probe")
        except Exception:
            pass
    if time.time() > deadline:
        print(f"last error: {last}", file=sys.stderr)
        sys.exit(1)
    if pid:
        try:
            os.kill(int(pid), 0)
        except OSError:
            print("the server exited", file=sys.stderr)
            sys.exit(1)
    time.sleep(0.5)
EOF
}

print_env() {
	cat "$DIR/milvus.env"
}

do_stop() {
	local pid
	if pid=$(our_pid); then srv_stop_pid milvus "$pid" 10; fi
	rm -f "$PIDFILE"
	srv_rm_dir configs/milvus.yaml test -f "$DIR/configs/milvus.yaml"
}

do_start() {
	local t0=$SECONDS attempt fresh log0 taken pid ports proxy internal root qc qn ic inode dc dn metrics etcdc etcdp ep host sport ssl=false
	[ -x "$PY" ] || die "no '$PY': run scripts/setup.sh first"
	[ -x "$BIN/milvus" ] || die "no '$BIN/milvus': run scripts/setup.sh first"

	if pid=$(our_pid) && [ -f "$DIR/milvus.env" ]; then
		if answers "$(sed -n 's/^export MILVUS_PORT=//p' "$DIR/milvus.env")" 10 "$pid"; then
			log "already running in '$DIR' (pid $pid)"
			print_env
			return 0
		fi
		log "pid $pid in '$DIR' does not answer: restarting it"
		KEEP=1 do_stop
	fi
	if [ -e "$DIR" ] && [ ! -f "$DIR/configs/milvus.yaml" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
		die "'$DIR' is not empty and holds no configs/milvus.yaml: not a directory of this script, left alone"
	fi
	: "${S3_ENDPOINT:?S3_ENDPOINT must be set (the S3 server holding the Milvus bucket)}"
	: "${AWS_ACCESS_KEY_ID:?AWS_ACCESS_KEY_ID must be set}"
	: "${AWS_SECRET_ACCESS_KEY:?AWS_SECRET_ACCESS_KEY must be set}"
	case "$S3_ENDPOINT" in
	https://*) ssl=true; ep=${S3_ENDPOINT#https://} ;;
	http://*) ep=${S3_ENDPOINT#http://} ;;
	*) die "S3_ENDPOINT '$S3_ENDPOINT' is not http://HOST:PORT" ;;
	esac
	ep=${ep%%/*}
	host=${ep%:*}
	sport=${ep##*:}
	[ "$host" != "$ep" ] || die "S3_ENDPOINT '$S3_ENDPOINT' names no port"

	[ -e "$DIR/data/etcd.data" ] && fresh=0 || fresh=1
	mkdir -p "$DIR"/{configs,logs,data,run}
	for attempt in 1 2 3; do
		log0=$({ wc -l <"$DIR/logs/milvus-stdout.log"; } 2>/dev/null || echo 0)
		read -r proxy internal root qc qn ic inode dc dn metrics etcdc etcdp <<<"$(free_ports 12)"
		[ "${MILVUS_PORT:-0}" = 0 ] || proxy=$MILVUS_PORT

		cat >"$DIR/configs/etcd.yaml" <<EOF
name: milvus-etcd
data-dir: $DIR/data/etcd.data
listen-client-urls: http://127.0.0.1:$etcdc
advertise-client-urls: http://127.0.0.1:$etcdc
listen-peer-urls: http://127.0.0.1:$etcdp
initial-advertise-peer-urls: http://127.0.0.1:$etcdp
initial-cluster: milvus-etcd=http://127.0.0.1:$etcdp
initial-cluster-state: new
EOF
		"$PY" "$TOP/scripts/milvus-yaml.py" "$TOP/.venv/lib/python3"*/site-packages/milvus/data/config.yaml.template "$DIR" \
			etcd_port="$etcdc" etcd_log_level=warn etcd_log_path="$DIR/logs/etcd.log" \
			etcd_data_dir="$DIR/data/etcd.data" local_storage_dir="$DIR/data" \
			rocksmq_data_dir="$DIR/data/rocksmq" system_log_path="$DIR/logs" \
			proxy_port="$proxy" proxy_internal_port="$internal" root_coord_port="$root" \
			query_coord_port="$qc" query_node_port="$qn" index_coord_port="$ic" \
			index_node_port="$inode" data_coord_port="$dc" data_node_port="$dn" \
			etcd.endpoints="127.0.0.1:$etcdc" etcd.config.path="$DIR/configs/etcd.yaml" \
			common.storageType=minio minio.address="$host" minio.port="$sport" \
			minio.accessKeyID="$AWS_ACCESS_KEY_ID" minio.secretAccessKey="$AWS_SECRET_ACCESS_KEY" \
			minio.useSSL="$ssl" minio.bucketName="${MILVUS_BUCKET:-milvus-bucket}" \
			minio.rootPath="${MILVUS_ROOT_PATH-files}" \
			rootCoord.ip=127.0.0.1 proxy.ip=127.0.0.1 queryCoord.ip=127.0.0.1 queryNode.ip=127.0.0.1 \
			indexNode.ip=127.0.0.1 dataCoord.ip=127.0.0.1 dataNode.ip=127.0.0.1 \
			|| die "cannot write '$DIR/configs/milvus.yaml'"

		(
			cd "$DIR" &&
			exec env DEPLOY_MODE=STANDALONE METRICS_PORT="$metrics" MILVUS_RUN_DIR="$DIR/run" \
				MILVUSCONF="$DIR/configs" LD_LIBRARY_PATH="$BIN${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
				setsid "$BIN/milvus" run standalone >>"$DIR/logs/milvus-stdout.log" 2>&1 </dev/null
		) &
		pid=$!
		echo "$pid" >"$PIDFILE"
		if ! answers "$proxy" "$START_TIMEOUT" "$pid" 2>"$DIR/logs/probe.err"; then
			KEEP=1 do_stop || true
			# a port taken between the pick and Milvus's bind (by a process that is not ours):
			# pick all ports afresh, at most 3 times
			# (no grep -q: under pipefail its early exit would fail the pipeline)
			taken=$(tail -n "+$((log0 + 1))" "$DIR/logs/milvus-stdout.log" |
				grep -o 'listen tcp [^ ]*: bind: address already in use' || true)
			if ((attempt < 3)) && [ -n "$taken" ]; then
				log "a port was taken before Milvus bound it (${taken%%$'\n'*}): starting again on other ports"
				# a first start leaves nothing behind (its etcd knows the old ports)
				((fresh)) && rm -rf "${DIR:?}/data" && mkdir -p "$DIR/data"
				continue
			fi
			log "no answer on port $proxy within ${START_TIMEOUT}s ($(tail -n 1 "$DIR/logs/probe.err")); last lines of $DIR/logs/milvus-stdout.log:"
			grep -v '^\s*$' "$DIR/logs/milvus-stdout.log" | grep -i 'error\|panic\|fatal' | tail -n 5 >&2 || true
			exit 1
		fi
		break
	done
	cat >"$DIR/milvus.env" <<EOF
export MILVUS_ADDRESS=127.0.0.1
export MILVUS_PORT=$proxy
EOF
	log "ready in $((SECONDS - t0)) s (pid $pid, port $proxy, metrics $metrics, etcd $etcdc/$etcdp, bucket ${MILVUS_BUCKET:-milvus-bucket} on $S3_ENDPOINT)"
	print_env
}

case "$CMD" in
start) do_start ;;
stop) do_stop ;;
env) [ -f "$DIR/milvus.env" ] || die "no server in '$DIR'"; print_env ;;
*) usage ;;
esac
