#!/usr/bin/env bash
# tests/snapshot/run.sh [t_NAME...] -- run the snapshot tests (tests/snapshot/t_*.sh), each in
# its own process, against a real mount of build/mvbackupfs (or MVB_BIN) and Milvus stand-ins
# (tests/milvus-standin) that each test starts and stops itself.
#
# The S3 server comes from the environment (S3_ENDPOINT, AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY; scripts/test.sh provides them); when S3_ENDPOINT is unset, a throw-away
# Ceph RGW is started with scripts/s3-server.sh and stopped at the end.  The fixture tree is
# made once and shared through MVB_FIXTURES_DIR.  Prints each test's result and ends with
# "N passed, N failed"; exits 1 when a test failed.  A test's output goes to the terminal only
# when it fails (VERBOSE=1: always).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

if [ $# -gt 0 ]; then
	tests=()
	for t in "$@"; do t=${t%.sh}; tests+=("$here/$(basename "$t").sh"); done
else
	tests=("$here"/t_*.sh)
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
		echo "0 passed, ${#tests[@]} failed"
		exit 1
	fi
	eval "$env_out"
	export S3_ENDPOINT S3_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
fi

if [ ! -d "$top/tests/milvus-standin/node_modules/@zilliz/milvus2-sdk-node" ]; then
	(cd "$top/tests/milvus-standin" && npm ci --no-audit --no-fund >"$work/npm.log" 2>&1) \
		|| { echo "# npm ci in tests/milvus-standin failed:"; tail -n 10 "$work/npm.log" | sed 's/^/#   /'; }
fi

if [ -z "${MVB_FIXTURES_DIR:-}" ] && [ -f "$top/tests/fixtures/make-fixtures.sh" ]; then
	if bash "$top/tests/fixtures/make-fixtures.sh" "$work/fixtures" >"$work/fixtures.log" 2>&1; then
		export MVB_FIXTURES_DIR="$work/fixtures"
	else
		echo "# make-fixtures.sh failed (the tests that need fixtures will fail):"
		tail -n 20 "$work/fixtures.log" | sed 's/^/#   /'
	fi
fi

pass=0 fail=0 skip=0 failed=()
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	[ -f "$t" ] || { echo "FAIL $name (no such test)"; fail=$((fail+1)); failed+=("$name"); continue; }
	t0=$(date +%s%N)
	bash "$t" >"$work/$name.out" 2>&1
	rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	n_ok=$(grep -c '^ok ' "$work/$name.out")
	n_bad=$(grep -c '^not ok ' "$work/$name.out")
	if [ $rc -eq 77 ]; then
		skip=$((skip+1))
		echo "SKIP $name ($(grep -m1 '^# SKIP' "$work/$name.out" | sed 's/^# SKIP [^:]*: //'))"
		continue
	fi
	if [ $rc -eq 0 ]; then
		pass=$((pass+1))
		echo "PASS $name ($n_ok assertions, $ms ms)"
		[ "${VERBOSE:-0}" = 1 ] && sed 's/^/    /' "$work/$name.out"
	else
		fail=$((fail+1)); failed+=("$name")
		echo "FAIL $name (exit $rc, $n_bad of $((n_ok + n_bad)) assertions failed, $ms ms)"
		sed 's/^/    /' "$work/$name.out" | tail -n 80
	fi
done

[ $skip -gt 0 ] && echo "($skip skipped)"
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
