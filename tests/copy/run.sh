#!/usr/bin/env bash
# tests/copy/run.sh [t_NAME...] -- the copy-in suite (issue 11): copies between two real mounts,
# the source on the S3 server of the environment (tests/snapshot/run.sh starts a throw-away
# RGW when S3_ENDPOINT is unset), the target on a SECOND throw-away Ceph RGW started here with
# other credentials (its ports are the next free ones: scripts/s3-server.sh), stopped at the end.
# The tests find it in S3B_ENDPOINT / S3B_ACCESS_KEY / S3B_SECRET_KEY (tests/copy/lib.sh).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mvb-copy-run.XXXXXX")
cleanup() {
	local rc=$?
	bash "$top/scripts/s3-server.sh" stop "$work/rgw-b" >/dev/null 2>&1
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! out=$(env -u S3_ENDPOINT RGW_PORT=7490 CEPH_MON_PORT=3310 CEPH_STORE_BYTES=$((4 << 30)) \
	S3_ACCESS_KEY=MVBCOPYTARGETKEY0001 S3_SECRET_KEY=mvbackupfsCopyTargetSecret00000000000000 \
	bash "$top/scripts/s3-server.sh" start "$work/rgw-b" 2>"$work/rgw-b.log"); then
	tail -n 20 "$work/rgw-b.log" | sed 's/^/#   /'
	echo "0 passed, 1 failed"
	exit 1
fi
S3B_ENDPOINT=$(printf '%s\n' "$out" | sed -n 's/^export S3_ENDPOINT=//p')
S3B_ACCESS_KEY=$(printf '%s\n' "$out" | sed -n 's/^export AWS_ACCESS_KEY_ID=//p')
S3B_SECRET_KEY=$(printf '%s\n' "$out" | sed -n 's/^export AWS_SECRET_ACCESS_KEY=//p')
export S3B_ENDPOINT S3B_ACCESS_KEY S3B_SECRET_KEY
echo "# target S3 server B: $S3B_ENDPOINT"
bash "$top/tests/snapshot/run.sh" --dir "$here" "$@"
