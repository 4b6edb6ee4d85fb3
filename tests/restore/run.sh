#!/usr/bin/env bash
# tests/restore/run.sh [t_NAME...] -- the restore tests (tests/restore/t_*.sh): `.restore` on a
# real mount of build/mvbackupfs (or MVB_BIN) against Milvus stand-ins each test starts itself,
# on the S3 server of the environment (scripts/test.sh's RGW; one is started when S3_ENDPOINT
# is unset).  The runner is the snapshot suite's.  Ends with "N passed, N failed".
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../snapshot/run.sh" --dir "$here" "$@"
