#!/usr/bin/env bash
# tests/snapshot/run.sh [--dir DIR] [t_NAME...] -- run the snapshot tests (tests/snapshot/t_*.sh), each in
# its own process, against a real mount of build/mvbackupfs (or MVB_BIN) and Milvus stand-ins
# (tests/milvus-standin) that each test starts and stops itself.
#
# The S3 server comes from the environment (S3_ENDPOINT, AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY; scripts/test.sh provides them); when S3_ENDPOINT is unset, a throw-away
# Ceph RGW is started with scripts/s3-server.sh and stopped at the end.  The fixture tree is
# made once and shared through MVB_FIXTURES_DIR.  Prints each test's result and ends with
# "N passed, N failed"; exits 1 when a test failed (tests/mount/run.sh does the running).
# --dir DIR runs the t_*.sh of DIR instead (tests/crash/run.sh).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
dir=$here
if [ "${1:-}" = --dir ]; then
	dir=$(cd "$2" && pwd)
	shift 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mvb-snapshot-run.XXXXXX")
rgw_started=0
cleanup() {
	local rc=$?
	[ $rgw_started = 1 ] && bash "$top/scripts/s3-server.sh" stop "$work/rgw" >/dev/null 2>&1
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${S3_ENDPOINT:-}" ]; then
	echo "# S3_ENDPOINT unset: starting a Ceph RGW in $work/rgw"
	rgw_started=1
	if ! env_out=$(bash "$top/scripts/s3-server.sh" start "$work/rgw" 2>"$work/rgw.log"); then
		tail -n 20 "$work/rgw.log" | sed 's/^/#   /'
		echo "0 passed, 1 failed"
		exit 1
	fi
	eval "$env_out"
	export S3_ENDPOINT S3_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
fi

if [ ! -d "$top/tests/milvus-standin/node_modules/@zilliz/milvus2-sdk-node" ]; then
	(cd "$top/tests/milvus-standin" && npm ci --no-audit --no-fund >"$work/npm.log" 2>&1) \
		|| { echo "# npm ci in tests/milvus-standin failed:"; tail -n 10 "$work/npm.log" | sed 's/^/#   /'; }
fi

# the runner (fixtures, per-test processes, the summary line) is the mount suite's
bash "$top/tests/mount/run.sh" --dir "$dir" "$@"
