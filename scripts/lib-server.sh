# shellcheck shell=bash
# lib-server.sh - sourced by the server scripts (s3-server.sh, minio-server.sh, milvus-server.sh,
# milvus-standin.sh): their command line, messages, free ports, and stopping a process of
# theirs.  The caller sets `prog` (the name in messages) first, and defines `ours PID` (0 while
# PID is its server: a recycled pid is left alone) before it calls srv_stop_pid.

# srv_args "start|stop|env" "$@": CMD and DIR (made absolute) from "CMD DIR"; else the usage
# line and exit 2.  Defines usage().
srv_args() {
	SRV_CMDS=$1; shift
	usage() { echo "usage: $0 $SRV_CMDS DIR" >&2; exit 2; }
	[ $# -eq 2 ] || usage
	CMD=$1
	DIR=$2
	case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
}

log() { echo "$prog: $*" >&2; }

# port_busy PORT: something accepts TCP connections on 127.0.0.1:PORT
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port PORT: the first port from PORT up that nothing listens on
free_port() { local p=$1; while port_busy "$p"; do p=$((p+1)); done; echo "$p"; }

# free_ports N: N distinct free TCP ports on 127.0.0.1 chosen by the kernel (held together
# while chosen)
free_ports() {
	python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# make_buckets ENDPOINT: create the buckets named in S3_BUCKETS (existing ones are fine) as
# S3_ACCESS_KEY / S3_SECRET_KEY, with the curl options in the array CURL_TLS when it is set
make_buckets() {
	local b code i
	for b in ${S3_BUCKETS:-}; do
		# a server that just started answering may still say 503 (MinIO: "server not
		# initialized") for a few seconds under load: retry 5xx and no answer for up to 30 s
		for ((i = 0; i < 150; i++)); do
			code=$(curl -s ${CURL_TLS[@]+"${CURL_TLS[@]}"} -o /dev/null -w '%{http_code}' -X PUT \
				--aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
				-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$1/$b")
			case "$code" in 000|5??) sleep 0.2 ;; *) break ;; esac
		done
		case "$code" in 200|409) ;; *) die "cannot create bucket '$b': HTTP $code" ;; esac
	done
}

# srv_stop_pid NAME PID SECONDS: stop PID when it is ours: SIGTERM, SIGKILL after SECONDS, then
# wait up to 5 s for it to go
srv_stop_pid() {
	local name=$1 pid=$2 secs=$3 i
	ours "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do ours "$pid" || break; sleep 0.1; done
	if ours "$pid"; then log "$name ($pid) still alive after $secs s, SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
	for ((i = 0; i < 50; i++)); do ours "$pid" || break; sleep 0.1; done
	log "stopped $name (pid $pid)"
}

# srv_rm_dir WHAT TEST...: remove DIR (unless KEEP=1) when it is empty or TEST succeeds (it
# holds WHAT, so it is this script's); else say so and return 1
srv_rm_dir() {
	local what=$1; shift
	[ "${KEEP:-0}" != 1 ] && [ -e "$DIR" ] || return 0
	if "$@" || [ -z "$(ls -A "$DIR" 2>/dev/null)" ]; then
		rm -rf "$DIR"
	else
		log "refusing to delete '$DIR': it holds no $what"
		return 1
	fi
}
