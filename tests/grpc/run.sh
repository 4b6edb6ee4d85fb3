#!/usr/bin/env bash
# run.sh -- live tests of the gRPC transport (milvus/rpc/grpc.c) and the Milvus client
# (milvus/rpc/milvus_client.c) against the Milvus stand-in (tests/milvus-standin).
#
# Each case starts its own stand-in with the fault knobs it needs (see the stand-in's README),
# runs `grpc_live_test CASE` and stops the stand-in.  The TLS cases get throw-away certificates
# made here (tests/grpc/mkcerts.sh, in the log directory).  Ends with "N passed, N failed"; exits 1
# on any failure.
#
# Environment: BUILD_DIR (default build) holds grpc_live_test; S3_ENDPOINT, AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY for the stand-in's bucket (scripts/test.sh provides them; when unset a
# throw-away server is started with scripts/s3-server.sh and stopped at the end);
# KEEP_LOGS=1 keeps the log directory.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$top/$BUILD_DIR ;; esac
bin=$BUILD_DIR/grpc_live_test
[ -x "$bin" ] || { echo "no $bin: build first (cmake --build $BUILD_DIR)" >&2; exit 1; }
[ -d "$top/tests/milvus-standin/node_modules" ] || { echo "no stand-in modules: run scripts/setup.sh" >&2; exit 1; }

logs=$(mktemp -d "${TMPDIR:-/tmp}/mvb-grpc-tests.XXXXXX")
own_s3=0
standin_pid=	# node
wrapper_pid=	# the subshell around it, so that a killed stand-in is no "Killed" job notice

stop_standin() {
	[ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null
	[ -n "$wrapper_pid" ] && wait "$wrapper_pid" 2>/dev/null
	standin_pid= wrapper_pid=
}

cleanup() {
	local rc=$?
	stop_standin
	[ $own_s3 = 1 ] && bash "$top/scripts/s3-server.sh" stop "$logs/rgw" >/dev/null 2>&1
	if [ "${KEEP_LOGS:-0}" = 1 ] || [ $rc -ne 0 ]; then echo "logs: $logs"; else rm -rf "$logs"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${S3_ENDPOINT:-}" ]; then
	env_out=$(S3_BUCKETS=milvus-bucket bash "$top/scripts/s3-server.sh" start "$logs/rgw" \
		2>"$logs/s3-server.log") || { tail -n 20 "$logs/s3-server.log"; exit 1; }
	own_s3=1
	eval "$env_out"
	export S3_ENDPOINT S3_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
fi

# start_standin NAME [VAR=value ...]: a stand-in on a free port; sets MILVUS_PORT, STANDIN_PID.
start_standin() {
	local name=$1 i
	shift
	rm -f "$logs/$name.port"
	(
		env "$@" MILVUS_PORT=0 STANDIN_PORT_FILE="$logs/$name.port" \
			MILVUS_BUCKET=milvus-bucket MILVUS_ROOT_PATH="grpc-tests-$$-$name" \
			node "$top/tests/milvus-standin/src/main.js" >"$logs/$name.standin.out" \
			2>"$logs/$name.standin.log"
		exit 0
	) 2>/dev/null &
	wrapper_pid=$!
	for i in $(seq 1 300); do	# up to 30 s for node to come up
		[ -s "$logs/$name.port" ] && break
		kill -0 "$wrapper_pid" 2>/dev/null || break
		sleep 0.1
	done
	standin_pid=$(sed -n 's/.* pid=\([0-9][0-9]*\).*/\1/p' "$logs/$name.standin.log" | head -n 1)
	if [ ! -s "$logs/$name.port" ] || [ -z "$standin_pid" ]; then
		tail -n 5 "$logs/$name.standin.log"
		return 1
	fi
	MILVUS_PORT=$(sed -n 's/^MILVUS_PORT=//p' "$logs/$name.port")
	export MILVUS_ADDRESS=127.0.0.1 MILVUS_PORT STANDIN_PID=$standin_pid
}

certs=$logs/certs
bash "$top/tests/grpc/mkcerts.sh" "$certs" || { echo "mkcerts.sh failed" >&2; exit 1; }

pass=0 fail=0
# run_case NAME [VAR=value ...]: the stand-in's settings, then `grpc_live_test NAME`.
run_case() {
	local name=$1 rc
	shift
	if ! start_standin "$name" "$@"; then
		echo "FAIL $name (the stand-in did not start)"
		fail=$((fail+1))
		return
	fi
	# NAME a+b: cases a and b against the same stand-in
	env LIVE_USER="${LIVE_USER:-}" LIVE_PASSWORD="${LIVE_PASSWORD:-}" LIVE_CERTS="$certs" \
		LIVE_ROTATE="${LIVE_ROTATE:-0}" ${LIVE_EXPECT_RETRY:+LIVE_EXPECT_RETRY=1} timeout 120 "$bin" ${name//+/ } >"$logs/$name.out" 2>&1
	rc=$?
	stop_standin
	if [ $rc -eq 0 ]; then
		pass=$((pass+1))
		echo "ok   $name: $(tail -n 1 "$logs/$name.out")"
	else
		fail=$((fail+1))
		echo "FAIL $name (exit $rc):"
		sed 's/^/     /' "$logs/$name.out"
	fi
}

LIVE_USER=root LIVE_PASSWORD=Milvus run_case auth MILVUS_AUTH=root:Milvus
# MVB_GRPC_VERBOSE=1 (curl's trace on stderr) never prints the credentials (spec §7)
MVB_GRPC_VERBOSE=1 LIVE_USER=root LIVE_PASSWORD=Milvus run_case auth MILVUS_AUTH=root:Milvus
secret=$(printf 'root:Milvus' | base64)
if grep -q 'authorization: \*\*\*\*' "$logs/auth.out" && ! grep -qF "$secret" "$logs/auth.out"; then
	pass=$((pass+1)); echo "ok   verbose: the authorization header is masked in MVB_GRPC_VERBOSE's trace"
else
	fail=$((fail+1)); echo "FAIL verbose: the trace shows the credentials or no masked header:"
	grep -i 'authorization' "$logs/auth.out" | head -n 3 | sed 's/^/     /'
fi
run_case unimplemented
run_case client+tls_to_plain
# TLS (milvus.tlsMode 1) and mutual TLS (2); a cleartext client against the TLS server
run_case tls STANDIN_TLS_CERT="$certs/server.pem" STANDIN_TLS_KEY="$certs/server.key"
run_case mtls STANDIN_TLS_CERT="$certs/server.pem" STANDIN_TLS_KEY="$certs/server.key" \
	STANDIN_TLS_CLIENT_CA="$certs/ca.pem"
run_case deadline STANDIN_STALL_METHOD=DescribeCollection:5000:1
run_case big STANDIN_BIG_RESPONSE=6MiB:big
run_case many
LIVE_ROTATE=-1 LIVE_EXPECT_RETRY=1 run_case many
run_case killed STANDIN_STALL_METHOD=DescribeCollection:30000

# Nothing listening: port 1 on loopback.
if MILVUS_ADDRESS=127.0.0.1 MILVUS_PORT=1 timeout 20 "$bin" refused >"$logs/refused.out" 2>&1; then
	pass=$((pass+1)); echo "ok   refused: $(tail -n 1 "$logs/refused.out")"
else
	fail=$((fail+1)); echo "FAIL refused:"; sed 's/^/     /' "$logs/refused.out"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
