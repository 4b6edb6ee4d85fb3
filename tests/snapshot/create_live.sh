#!/usr/bin/env bash
# create_live.sh -- module-level test of the snapshot job (milvus/jobs/backup_create.c): a Milvus
# stand-in filled through the official Node SDK (populate.js), the job run by
# create_live_test against it and a backup bucket on the same S3 server, then checked
# (five meta files, complete per backup_read, entity counts, every binlog key and size, IDs
# above 2^53, failures named, cancel).  Not part of ctest.  Ends with "N passed, N failed".
#
# Environment: BUILD_DIR (default build) holds create_live_test; S3_ENDPOINT,
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY of an S3 server (when unset a throw-away one is
# started with scripts/s3-server.sh and stopped at the end); KEEP_LOGS=1 keeps the log dir.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$top/$BUILD_DIR ;; esac
bin=$BUILD_DIR/create_live_test
[ -x "$bin" ] || { echo "no $bin: build first (cmake --build $BUILD_DIR)" >&2; exit 1; }
[ -d "$top/tests/milvus-standin/node_modules" ] || { echo "no stand-in modules: run scripts/setup.sh" >&2; exit 1; }

logs=$(mktemp -d "${TMPDIR:-/tmp}/mvb-create-tests.XXXXXX")
own_s3=0
sa_dir=$logs/standin
tag=$$-$(date +%s)
export MILVUS_BUCKET=mvb-create-milvus-$tag BACKUP_BUCKET=mvb-create-backup-$tag

cleanup() {
	local rc=$?
	bash "$top/scripts/milvus-standin.sh" stop "$sa_dir" >/dev/null 2>&1
	if [ $own_s3 = 1 ]; then
		bash "$top/scripts/s3-server.sh" stop "$logs/rgw" >/dev/null 2>&1
	else	# leave the shared server as we found it
		node -e '
			const { s3FromEnv } = require(process.argv[1]);
			(async () => { const s3 = s3FromEnv();
			  for (const b of process.argv.slice(2)) {
			    try { const { objects } = await s3.list(b, "");
			      for (const o of objects) await s3.deleteObject(b, o.key);
			      await s3.deleteBucket(b); } catch (e) { /* already gone */ } } })();
		' "$top/tests/milvus-standin/src/s3.js" "$MILVUS_BUCKET" "$BACKUP_BUCKET" >/dev/null 2>&1
	fi
	if [ "${KEEP_LOGS:-0}" = 1 ] || [ $rc -ne 0 ]; then echo "logs: $logs"; else rm -rf "$logs"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${S3_ENDPOINT:-}" ]; then
	env_out=$(bash "$top/scripts/s3-server.sh" start "$logs/rgw" 2>"$logs/s3-server.log") \
		|| { tail -n 20 "$logs/s3-server.log"; exit 1; }
	own_s3=1
	eval "$env_out"
	export S3_ENDPOINT S3_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
fi

# Small binlogs (20 rows each) so that a collection has a few hundred objects.
out=$(STANDIN_BINLOG_MAX_ROWS=20 MILVUS_ROOT_PATH=files MILVUS_VERSION=v2.5.14 \
	bash "$top/scripts/milvus-standin.sh" start "$sa_dir" 2>"$logs/standin.err") \
	|| { echo "the stand-in did not start: $(tail -n 5 "$logs/standin.err")"; exit 1; }
eval "$out"
export MILVUS_ADDRESS MILVUS_PORT MILVUS_ROOT=files
admin=$MILVUS_STANDIN_ADMIN
knob() { curl -sf -XPOST "$admin/knobs" -d "$1" >/dev/null; }

# Two databases, two collections each; deletes in the first collection of each database leave
# per-segment delta logs and an all-partition L0 segment.
node "$top/tests/snapshot/populate.js" --address "127.0.0.1:$MILVUS_PORT" --dbs default,db1 \
	--names coll,other --rows 300 --batches 3 --deletes 10 --dim 16 --bucket "$BACKUP_BUCKET" \
	>"$logs/expected.tsv" 2>"$logs/populate.err" \
	|| { echo "populate.js failed: $(tail -n 5 "$logs/populate.err")"; exit 1; }
# Keep the last L0 segment: otherwise the job's own Flush compacts it into delta logs.
knob '{"STANDIN_L0_COMPACTION":"0"}' || { echo "cannot set stand-in knobs"; exit 1; }

pass=0 fail=0
# run_case CASE [VAR=value ...]
run_case() {
	local name=$1 rc
	shift
	env "$@" BACKUP_NAME="snap_$name" timeout 300 "$bin" "$name" >"$logs/$name.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass+1))
		echo "ok   $name: $(tail -n 1 "$logs/$name.out")"
	else
		fail=$((fail+1))
		echo "FAIL $name (exit $rc):"
		sed 's/^/     /' "$logs/$name.out" | head -n 40
	fi
}

run_case ok EXPECT="$logs/expected.tsv" EXPECT_L0=1
run_case streaming EXPECT="$logs/expected.tsv" EXPECT_L0=1
run_case badroot
run_case nocoll
run_case dbonly
run_case cancel
knob '{"STANDIN_FAIL_METHOD":"Flush:65535:boom"}'
run_case flushfail
knob '{"STANDIN_FAIL_METHOD":""}'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
