#!/usr/bin/env bash
# tests/real/run.sh [t_NAME...] -- the suites on real parts: a real Milvus 2.3.5 on a real MinIO
# (scripts/milvus-server.sh, scripts/minio-server.sh; installed by scripts/setup.sh), the real
# daemon mounted for real, the real milvus-backup's output (../shared/fixtures/milvus-backup).
#
# Starts MinIO A and, unless REAL_NO_MILVUS=1, Milvus A on it (bucket milvus-a) once for the whole
# run, loads the fixtures' data shape into it with pymilvus (tests/real/load.py; what pymilvus
# reports is in $REAL_LIVE_JSON), then runs the t_*.sh of this directory through
# tests/mount/run.sh (the S3 server the tests see is MinIO A; RGW_* carry the caller's S3 server,
# e.g. scripts/test.sh's RGW, when there is one).  Stops everything it started at the end.
# Ends with "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mvb-real.XXXXXX")
cleanup() {
	local rc=$?
	bash "$top/scripts/milvus-server.sh" stop "$work/milvus-a" >/dev/null 2>&1
	bash "$top/scripts/minio-server.sh" stop "$work/minio-a" >/dev/null 2>&1
	if [ "${KEEP_LOGS:-0}" = 1 ]; then echo "# kept $work"; else rm -rf "$work"; fi
	exit $rc
}
trap cleanup EXIT

# the caller's S3 server (RGW) stays reachable for the tests that compare servers
export RGW_S3_ENDPOINT=${S3_ENDPOINT:-} RGW_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-} RGW_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-}
env_a=$(S3_BUCKETS="milvus-a" bash "$top/scripts/minio-server.sh" start "$work/minio-a") || { echo "not ok - MinIO A did not start"; echo "0 passed, 1 failed"; exit 1; }
eval "$env_a"
export REAL_MINIO_A_DIR="$work/minio-a"
if [ "${REAL_NO_MILVUS:-0}" != 1 ]; then
	t0=$SECONDS
	menv=$(MILVUS_BUCKET=milvus-a MILVUS_ROOT_PATH=files MILVUS_PORT=0 bash "$top/scripts/milvus-server.sh" start "$work/milvus-a") \
		|| { echo "not ok - Milvus A did not start"; echo "0 passed, 1 failed"; exit 1; }
	eval "$menv"
	export REAL_MILVUS_PORT=$MILVUS_PORT REAL_MILVUS_BUCKET=milvus-a
	unset MILVUS_ADDRESS MILVUS_PORT
	echo "# Milvus A up on MinIO A in $((SECONDS - t0)) s"
	t0=$SECONDS
	"$top/.venv/bin/python" "$here/load.py" 127.0.0.1 "$REAL_MILVUS_PORT" >"$work/live.json" 2>"$work/load.err" \
		|| { tail -n 5 "$work/load.err"; echo "not ok - loading the data set"; echo "0 passed, 1 failed"; exit 1; }
	export REAL_LIVE_JSON="$work/live.json"
	echo "# data set loaded with pymilvus in $((SECONDS - t0)) s"
fi
bash "$top/tests/mount/run.sh" --dir "$here" "$@"
