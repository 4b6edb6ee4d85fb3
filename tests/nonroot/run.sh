#!/usr/bin/env bash
# tests/nonroot/run.sh [t_NAME...] -- run the non-root tests (tests/nonroot/t_*.sh), each in
# its own process, against a real mount of build/mvbackupfs (or MVB_BIN) and Milvus stand-ins
# that each test starts and stops itself.  tests/snapshot/run.sh does the rest (the S3 server
# when none is in the environment, the stand-in's modules, the runner and its summary line).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../snapshot/run.sh" --dir "$here" "$@"
