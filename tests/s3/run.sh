#!/bin/sh
# run.sh - the S3 backend's live test against a running S3 server (Ceph RGW on loopback).
#   S3_ENDPOINT=http://127.0.0.1:7480 AWS_ACCESS_KEY_ID=.. AWS_SECRET_ACCESS_KEY=.. \
#   S3_BUCKETS="bucket1 bucket2" tests/s3/run.sh [build-dir]
# Both buckets must exist (start-ceph-rgw.sh creates them with S3_BUCKETS).  The program
# prints one line per check and ends with "N passed, N failed".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${BUILD_DIR:-$here/../../build}}
: "${S3_ENDPOINT:?set S3_ENDPOINT}" "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}" "${S3_BUCKETS:?set S3_BUCKETS (two buckets)}"
export S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY S3_BUCKETS
if [ ! -x "$build/s3_live_test" ]; then
	cmake --build "$build" --target s3_live_test -j2 >/dev/null
fi
exec "$build/s3_live_test"
