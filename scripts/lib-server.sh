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

# free_ports N: N distinct free TCP ports on 127.0.0.1 for servers to listen on.
# Two rules, both learnt from a CI run where Milvus B died with "bind: address already in use":
# - Never from the kernel's ephemeral range (net.ipv4.ip_local_port_range): a port the kernel
#   hands out for bind(0) is free only for that moment, and any outgoing connection (Milvus A
#   dialling its etcd or MinIO while B starts) may take it as its local port before B binds.
#   Below that range the kernel never picks a port by itself.
# - Reserved while chosen: each port is claimed by mkdir of /tmp/mvb-ports.UID/PORT (atomic), so
#   two servers started side by side never pick the same one; a claim older than 15 minutes is
#   stale (its server listens by then, or is gone) and may be taken again.
free_ports() {
	python3 - "$1" <<'PY'
import os, random, socket, sys, time
n = int(sys.argv[1])
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        eph_lo = int(f.read().split()[0])
except OSError:
    eph_lo = 32768
lo, hi = 10000, max(eph_lo, 10000 + 4 * n)       # [lo, hi): below the ephemeral range
claims = "/tmp/mvb-ports.%d" % os.getuid()
os.makedirs(claims, exist_ok=True)
def claim(p):
    d = os.path.join(claims, str(p))
    try:
        os.mkdir(d)
        return True
    except FileExistsError:
        try:
            if time.time() - os.stat(d).st_mtime < 900:
                return False
            os.utime(d)        # stale: take it over (the bind test below still decides)
            return True
        except OSError:
            return False
got = []
cands = list(range(lo, hi))
random.shuffle(cands)
for p in cands:
    if len(got) == n:
        break
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        s.close()
    except OSError:
        s.close()
        continue
    if claim(p):
        got.append(p)
if len(got) < n:
    sys.exit("free_ports: only %d free ports in %d-%d" % (len(got), lo, hi - 1))
print(" ".join(map(str, got)))
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
