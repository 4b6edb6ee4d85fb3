#!/usr/bin/env bash
# tests/crash/run.sh [t_NAME...] -- the crash-point suite: builds the daemon with
# -DMVB_CRASH_POINTS=ON in ${BUILD_DIR:-build}-crash/ (include/mvbackupfs/base/crashpoint.h), then
# runs tests/crash/t_*.sh, each in its own process, with the Milvus stand-in and the S3 server
# of the environment (tests/snapshot/run.sh starts a throw-away RGW when S3_ENDPOINT is unset).
# Remounts after a crash use the normal daemon (MVB_BIN, default build/mvbackupfs).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
crash_dir=$top/${BUILD_DIR:-build}-crash

if ! { cmake -S "$top" -B "$crash_dir" -DMVB_CRASH_POINTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
       cmake --build "$crash_dir" -j"${JOBS:-2}" --target mvbackupfs >"$crash_dir/build.log" 2>&1; }; then
	tail -n 30 "$crash_dir/build.log" 2>/dev/null
	echo "0 passed, 1 failed"
	exit 1
fi
export MVB_CRASH_BIN="$crash_dir/mvbackupfs"
# tests/snapshot/run.sh: the S3 server when none is given, the stand-in's modules, the runner
exec bash "$top/tests/snapshot/run.sh" --dir "$here" "$@"
