#!/bin/sh
# backup_admin_live.sh - backup_admin (reserve race between two "mounts", delete of a
# 2500-object backup) against a running S3 server (Ceph RGW on loopback).
#   S3_ENDPOINT=http://127.0.0.1:7480 AWS_ACCESS_KEY_ID=.. AWS_SECRET_ACCESS_KEY=.. \
#   S3_BUCKETS="bucket1 …" tests/s3/backup_admin_live.sh [build-dir]
# The first bucket must exist.  Prints one line per check, ends with "N passed, N failed".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${BUILD_DIR:-$here/../../build}}
: "${S3_ENDPOINT:?set S3_ENDPOINT}" "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}" "${S3_BUCKETS:?set S3_BUCKETS}"
export S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY S3_BUCKETS
cmake --build "$build" --target admin_live_test -j2 >/dev/null
exec ${VALGRIND:-} "$build/admin_live_test"
