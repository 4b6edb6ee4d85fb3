#!/usr/bin/env bash
# s3-server.sh start|stop|env DIR -- a throw-away S3 server (Ceph RADOS Gateway) on 127.0.0.1
# for the tests, the demo and the benchmarks.
#
#   start DIR  a single-node Ceph cluster (1 mon, 1 OSD, no mgr, no cephx between daemons) and a
#              radosgw, everything (config, data, logs, pid files) under DIR.  Prints
#              "export VAR=value" lines (also written to DIR/s3.env):
#              S3_ENDPOINT, S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION.
#              Use:  eval "$(scripts/s3-server.sh start /tmp/rgw)"
#              Idempotent: a healthy cluster in DIR is reused; a dead or partial one is stopped
#              and rebuilt.
#   stop DIR   stop the daemons started in DIR (only the pids in DIR/run/*.pid whose command line
#              names DIR/ceph.conf) and delete DIR (KEEP=1 keeps it).  Idempotent.
#   env DIR    print the settings of the running server in DIR again.
#
# Environment (all optional):
#   S3_BUCKETS        space-separated buckets to create (existing ones are fine)
#   RGW_PORT          S3 port (default 7480; the next free port is taken if busy)
#   CEPH_MON_PORT     monitor msgr2 port (default 3300, next free if busy)
#   CEPH_OBJECTSTORE  memstore (default, objects in OSD RAM) or bluestore (sparse file in DIR)
#   CEPH_STORE_BYTES  memstore capacity / bluestore file size (default 4 GiB)
#   S3_ACCESS_KEY, S3_SECRET_KEY  keys of the S3 user
#   S3_TLS=1          serve HTTPS only (beast ssl_endpoint) with a throw-away certificate made in
#                     DIR/tls (a CA and a server certificate for IP:127.0.0.1 and localhost, keys
#                     never leave DIR); S3_ENDPOINT is then https://127.0.0.1:PORT and
#                     S3_CA_FILE=DIR/tls/ca.pem is printed too (curl --cacert, mvbackupfs.s3.caFile)
#   START_TIMEOUT     seconds to wait for each daemon (default 120)
# The packages come from scripts/setup.sh (ceph-mon ceph-osd radosgw ceph-common ceph-base
# uuid-runtime curl); this script never installs anything.
set -euo pipefail

prog=s3-server
# shellcheck source=lib-server.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-server.sh"
srv_args "start|stop|env" "$@"
CONF="$DIR/ceph.conf"

STARTING=0
die() {
	log "error: $*"
	[ -d "$DIR/log" ] && tail -n 5 "$DIR"/log/*.log >&2 2>/dev/null || true
	# a failed start stops what it started (the logs stay for a look)
	if [ "$STARTING" = 1 ]; then STARTING=0; KEEP=1 do_stop || true; fi
	exit 1
}
now_ms() { date +%s%3N; }

# A pid is ours only while its command line names our ceph.conf (a recycled pid is left alone).
ours() {
	local pid=$1
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -F -- "$CONF" >/dev/null
}

# ------------------------------------------------------------------------------------ stop
stop_one() {  # stop_one NAME SECONDS_BEFORE_KILL
	local f="$DIR/run/$1.pid"
	[ -f "$f" ] || return 0
	# radosgw ignores SIGTERM once the OSD is gone: SIGKILL after $2 s
	srv_stop_pid "$1" "$(cat "$f" 2>/dev/null || true)" "$2"
	rm -f "$f"
}

do_stop() {
	if [ -d "$DIR/run" ]; then
		stop_one client.rgw.gw 3
		stop_one osd.0 2	# thrown away anyway: no need for memstore to dump its RAM
		stop_one mon.a 10
	fi
	srv_rm_dir ceph.conf test -f "$CONF"
}

# ----------------------------------------------------------------------------------- start
RGW_PORT=${RGW_PORT:-7480}
CEPH_MON_PORT=${CEPH_MON_PORT:-3300}
CEPH_OBJECTSTORE=${CEPH_OBJECTSTORE:-memstore}
CEPH_STORE_BYTES=${CEPH_STORE_BYTES:-4294967296}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-MVBACKUPFSTESTKEY000}
S3_SECRET_KEY=${S3_SECRET_KEY:-mvbackupfsTestSecret0000000000000000000000}
START_TIMEOUT=${START_TIMEOUT:-120}

CURL_TLS=()	# --cacert FILE for an https server
http_code() { curl -s -m 5 "${CURL_TLS[@]}" -o /dev/null -w '%{http_code}' "$1" 2>/dev/null || true; }

make_cert() {  # make_cert DIR: ca.pem, server.pem, server.key (S3_TLS=1)
	local d=$1
	mkdir -p "$d"
	(
		cd "$d" && umask 077 &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -sha256 \
			-subj "/CN=s3-server.sh test CA" -keyout ca.key -out ca.pem \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
			-subj "/CN=127.0.0.1" -keyout server.key -out server.csr &&
		printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 7 \
			-sha256 -extfile server.ext -out server.pem &&
		rm -f ca.key ca.srl server.csr server.ext && chmod 644 ca.pem server.pem
	) >"$DIR/log/tls.out" 2>&1 || die "cannot make the TLS certificate: $(tail -n 3 "$DIR/log/tls.out")"
}

wait_for() {  # wait_for DESCRIPTION COMMAND...: poll every 0.2 s up to START_TIMEOUT
	local what=$1 i=0; shift
	until "$@" >/dev/null 2>&1; do
		i=$((i+1)); [ $i -gt $((START_TIMEOUT*5)) ] && die "timed out waiting for $what"
		sleep 0.2
	done
}

running() {  # the cluster in DIR is up and its gateway answers
	local f ep ca
	[ -f "$DIR/s3.env" ] && [ -f "$CONF" ] || return 1
	ca=$(sed -n 's/^export S3_CA_FILE=//p' "$DIR/s3.env")
	[ -z "$ca" ] || CURL_TLS=(--cacert "$ca")
	for f in mon.a osd.0 client.rgw.gw; do
		ours "$(cat "$DIR/run/$f.pid" 2>/dev/null || true)" || return 1
	done
	ep=$(sed -n 's/^export S3_ENDPOINT=//p' "$DIR/s3.env")
	[ "$(http_code "$ep")" = 200 ]
}

do_start() {
	local t0 tool missing=() mon1 mon2 fsid monaddr osd_uuid osd_id ep frontend scheme=http tls_env=
	t0=$(now_ms)
	for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool uuidgen curl \
		$([ "${S3_TLS:-0}" = 1 ] && echo openssl); do
		command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
	done
	[ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}: run scripts/setup.sh first"

	if running; then
		log "already running in '$DIR'"
		S3_ACCESS_KEY=$(sed -n 's/^export AWS_ACCESS_KEY_ID=//p' "$DIR/s3.env")
		S3_SECRET_KEY=$(sed -n 's/^export AWS_SECRET_ACCESS_KEY=//p' "$DIR/s3.env")
		make_buckets "$(sed -n 's/^export S3_ENDPOINT=//p' "$DIR/s3.env")"
		cat "$DIR/s3.env"
		return 0
	fi
	if [ -e "$DIR" ] && [ ! -f "$CONF" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
		die "'$DIR' is not empty and holds no ceph.conf: not a directory of this script, left alone"
	fi
	if [ -e "$DIR" ]; then
		log "stale or partial cluster in '$DIR': stopping it and starting afresh"
		do_stop || true
		rm -rf "$DIR"
	fi

	mkdir -p "$DIR"/{mon,osd,run,log,rgw}
	STARTING=1
	mon2=$(free_port "$CEPH_MON_PORT")
	mon1=$(free_port 6789); [ "$mon1" = "$mon2" ] && mon1=$(free_port $((mon2+1)))
	RGW_PORT=$(free_port "$RGW_PORT")
	fsid=$(uuidgen)
	frontend="beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1"
	if [ "${S3_TLS:-0}" = 1 ]; then
		make_cert "$DIR/tls"
		frontend="beast ssl_endpoint=127.0.0.1:$RGW_PORT ssl_certificate=$DIR/tls/server.pem"
		frontend+=" ssl_private_key=$DIR/tls/server.key tcp_nodelay=1"
		scheme=https
		CURL_TLS=(--cacert "$DIR/tls/ca.pem")
		tls_env="export S3_CA_FILE=$DIR/tls/ca.pem"
	fi
	monaddr="[v2:127.0.0.1:$mon2,v1:127.0.0.1:$mon1]"

	# Settings that matter (see docs in the header of this repo's s3-test notes):
	# no cephx; the rgw client needs "auth client required = none" and a crc mon connection
	# or it hangs 300 s; size-1 pools; fast paxos (start 12.7 s -> 1.6 s); tcp_nodelay.
	cat > "$CONF" <<EOF
[global]
fsid = $fsid
mon host = $monaddr
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
ms mon client mode = crc
ms mon service mode = crc
ms client mode = crc
ms service mode = crc
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
debug ms = 0
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
mon data avail warn = 1
mon data avail crit = 0
paxos propose interval = 0.05
paxos min wait = 0.01
[mon]
mon data = $DIR/mon/\$name
mon initial members = a
[osd]
osd data = $DIR/osd/\$name
osd objectstore = $CEPH_OBJECTSTORE
memstore device bytes = $CEPH_STORE_BYTES
bluestore block create = true
bluestore block size = $CEPH_STORE_BYTES
bluestore fsck on mount = false
osd memory target = 939524096
osd op num shards = 1
osd op num threads per shard = 2
[client.rgw.gw]
auth client required = none
ms mon client mode = crc
rgw frontends = $frontend
rgw data = $DIR/rgw
rgw thread pool size = 64
rgw enable usage log = false
# a deleted object's data is reclaimed after 30 s, not Ceph's 2 h: the copy benchmark writes and
# deletes GiBs per round, and with the default a 16 GiB store was full in its second round
rgw gc obj min wait = 30
rgw gc processor period = 10
rgw dns name =
debug rgw = 1
EOF
	local C=(ceph -c "$CONF" --connect-timeout 10)

	monmaptool --create --clobber --fsid "$fsid" --addv a "$monaddr" "$DIR/monmap" >/dev/null
	ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" >/dev/null 2>&1 || die "ceph-mon --mkfs failed"
	ceph-mon -c "$CONF" -i a || die "ceph-mon did not start"
	wait_for "monitor quorum" "${C[@]}" mon stat
	log "mon up on 127.0.0.1:$mon2/$mon1 ($(( $(now_ms) - t0 )) ms)"

	osd_uuid=$(uuidgen)
	osd_id=$("${C[@]}" osd new "$osd_uuid")
	[ "$osd_id" = 0 ] || die "unexpected osd id '$osd_id'"
	mkdir -p "$DIR/osd/osd.0"
	ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$DIR/log/osd-mkfs.out" 2>&1 \
		|| die "ceph-osd --mkfs failed: $(tail -3 "$DIR/log/osd-mkfs.out")"
	ceph-osd -c "$CONF" -i 0 >"$DIR/log/osd-start.out" 2>&1 || die "ceph-osd did not start"
	osd_up() { "${C[@]}" osd dump 2>/dev/null | grep '^osd.0 up' >/dev/null; }
	wait_for "osd.0 up" osd_up
	log "osd.0 ($CEPH_OBJECTSTORE) up ($(( $(now_ms) - t0 )) ms)"

	radosgw -c "$CONF" -n client.rgw.gw >"$DIR/log/rgw-start.out" 2>&1 \
		|| die "radosgw did not start: $(cat "$DIR/log/rgw-start.out")"
	ep="$scheme://127.0.0.1:$RGW_PORT"
	# Our radosgw must own the port: when another server took it between free_port and the
	# bind (two test runs starting at once), radosgw logs the failed bind and the answer on
	# $ep would come from the other server - the tests would then run against it.
	rgw_owns_port() {
		local pid
		pid=$(cat "$DIR/run/client.rgw.gw.pid" 2>/dev/null) || return 1
		ss -Hltnp "sport = :$RGW_PORT" 2>/dev/null | grep -F "pid=$pid," >/dev/null
	}
	rgw_ok() { [ "$(http_code "$ep")" = 200 ] && rgw_owns_port; }
	wait_for "radosgw on $ep" rgw_ok
	log "radosgw answering on $ep ($(( $(now_ms) - t0 )) ms)"

	radosgw-admin -c "$CONF" user create --uid=tester --display-name="mvbackupfs tests" \
		--access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" \
		>"$DIR/log/user.json" 2>"$DIR/log/user.err" \
		|| die "radosgw-admin user create failed: $(cat "$DIR/log/user.err")"

	cat > "$DIR/s3.env" <<EOF
export S3_ENDPOINT=$ep
export S3_REGION=us-east-1
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1
export S3_SERVER_DIR=$DIR
EOF
	[ -z "$tls_env" ] || echo "$tls_env" >>"$DIR/s3.env"
	make_buckets "$ep"
	STARTING=0
	log "ready in $(( $(now_ms) - t0 )) ms; pids: mon=$(cat "$DIR/run/mon.a.pid") osd=$(cat "$DIR/run/osd.0.pid") rgw=$(cat "$DIR/run/client.rgw.gw.pid")"
	cat "$DIR/s3.env"
}

case "$CMD" in
start) do_start ;;
stop) do_stop ;;
env) [ -f "$DIR/s3.env" ] || die "no server in '$DIR'"; cat "$DIR/s3.env" ;;
*) usage ;;
esac
