#!/usr/bin/env bash
# tests/mount/run.sh [--dir DIR] [t_NAME...] -- run the mount-level tests, each in its own
# process: the t_*.sh of tests/mount, or of DIR (tests/snapshot/run.sh runs its own through here).
#
# Needs the S3 server in the environment (S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY:
# eval "$(scripts/s3-server.sh start /tmp/rgw)") and build/mvbackupfs (or MVB_BIN).  Makes the
# fixture tree once (tests/fixtures/make-fixtures.sh) and shares it with every test through
# MVB_FIXTURES_DIR.  Prints each test's result and ends with "N passed, N failed"; exits 1 when a
# test failed.  A test's full output goes to the terminal only when it fails (VERBOSE=1: always).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
if [ "${1:-}" = --dir ]; then
	here=$(cd "$2" && pwd)
	shift 2
fi

if [ $# -gt 0 ]; then
	tests=()
	for t in "$@"; do t=${t%.sh}; tests+=("$here/$(basename "$t").sh"); done
else
	tests=("$here"/t_*.sh)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mvb-mount-run.XXXXXX")
trap 'rm -rf "$work"' EXIT

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
