#!/usr/bin/env bash
# run.sh - the S3 backend's live test against a running S3 server (Ceph RGW on loopback).
#   S3_ENDPOINT=http://127.0.0.1:7480 AWS_ACCESS_KEY_ID=.. AWS_SECRET_ACCESS_KEY=.. \
#   S3_BUCKETS="bucket1 bucket2" tests/s3/run.sh [build-dir]
# Both buckets must exist (start-ceph-rgw.sh creates them with S3_BUCKETS).  The program
# prints one line per check and ends with "N passed, N failed".
#
# Then the https part: a second, throw-away RGW serving HTTPS only (S3_TLS=1
# scripts/s3-server.sh, in a temp dir, stopped at exit) and `s3_live_test --tls` against it with
# its CA (S3_CA_FILE), plus an unrelated CA (tests/grpc/mkcerts.sh) that must be refused.
# S3_TLS_TESTS=0 skips that part.  The last line sums both: "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-${BUILD_DIR:-$top/build}}
case $build in /*) ;; *) build=$top/$build ;; esac
: "${S3_ENDPOINT:?set S3_ENDPOINT}" "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}" "${S3_BUCKETS:?set S3_BUCKETS (two buckets)}"
export S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY S3_BUCKETS
if [ ! -x "$build/s3_live_test" ]; then
	cmake --build "$build" --target s3_live_test -j2 >/dev/null || exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mvb-s3-tests.XXXXXX")
tls_started=0
cleanup() {
	local rc=$?
	[ $tls_started = 1 ] && bash "$top/scripts/s3-server.sh" stop "$tmp/rgw-tls" >/dev/null 2>&1
	rm -rf "$tmp"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass=0 fail=0
# live NAME [ARGS...]: run s3_live_test (output shown and kept in $tmp/NAME.out) and add its
# "N passed, N failed" to the totals; a failed run that counted no failure counts as one
live() {
	local name=$1 rc line p=0 f=0; shift
	"$build/s3_live_test" "$@" >"$tmp/$name.out" 2>&1
	rc=$?
	cat "$tmp/$name.out"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/$name.out" | tail -n 1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*, }; f=${f%% failed}
	fi
	[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
	pass=$((pass+p)) fail=$((fail+f))
}

echo "# plain: $S3_ENDPOINT"
live plain

if [ "${S3_TLS_TESTS:-1}" != 0 ]; then
	if ! env_out=$(S3_TLS=1 S3_BUCKETS="mvbtls-a mvbtls-b" bash "$top/scripts/s3-server.sh" \
		start "$tmp/rgw-tls" 2>"$tmp/rgw-tls.log"); then
		tls_started=1
		echo "FAIL - the https S3 server did not start:"
		tail -n 20 "$tmp/rgw-tls.log"
		fail=$((fail+1))
	elif ! bash "$top/tests/grpc/mkcerts.sh" "$tmp/certs"; then
		tls_started=1
		echo "FAIL - mkcerts.sh"
		fail=$((fail+1))
	else
		tls_started=1
		ep=$(printf '%s\n' "$env_out" | sed -n 's/^export S3_ENDPOINT=//p')
		ca=$(printf '%s\n' "$env_out" | sed -n 's/^export S3_CA_FILE=//p')
		echo "# https: $ep (CA $ca)"
		S3_ENDPOINT=$ep S3_CA_FILE=$ca S3_WRONG_CA_FILE="$tmp/certs/other-ca.pem" \
			S3_BUCKETS="mvbtls-a mvbtls-b" live tls --tls
	fi
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
