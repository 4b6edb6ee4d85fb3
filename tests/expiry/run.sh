#!/usr/bin/env bash
# tests/expiry/run.sh [t_NAME...] -- issue 9: .expires, the expiry worker and the schedule,
# each test in its own process against real mounts (MVB_BIN, default build/mvbackupfs), the
# S3 server of the environment (tests/snapshot/run.sh starts a throw-away RGW when S3_ENDPOINT
# is unset) and, for the schedule, the Milvus stand-in.
#
# The schedule test moves the daemon's clock forward (timefmt.h: $MVB_TEST_CLOCK_FILE), which
# only a test-hook build reads: it uses ${BUILD_DIR:-build}-crash/mvbackupfs (-DMVB_CRASH_POINTS=ON,
# built here when missing, as tests/crash does) through MVB_CLOCK_BIN.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
hook_dir=$top/${BUILD_DIR:-build}-crash

if [ -z "${MVB_CLOCK_BIN:-}" ]; then
	if ! { cmake -S "$top" -B "$hook_dir" -DMVB_CRASH_POINTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
	       cmake --build "$hook_dir" -j"${JOBS:-2}" --target mvbackupfs >"$hook_dir/build.log" 2>&1; }; then
		tail -n 30 "$hook_dir/build.log" 2>/dev/null
		echo "0 passed, 1 failed"
		exit 1
	fi
	export MVB_CLOCK_BIN="$hook_dir/mvbackupfs"
fi
exec bash "$top/tests/snapshot/run.sh" --dir "$here" "$@"
