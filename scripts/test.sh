#!/usr/bin/env bash
# test.sh -- everything CI checks, in one command (.ci/run calls only this):
#
#   1. scripts/setup.sh: packages, the Milvus stand-in's node modules, the build in build/
#   2. unit tests (ctest) in build/
#   3. the same unit tests built with -DMVB_SANITIZE=ON (ASan + UBSan) in build-asan/
#   4. the unit tests under valgrind (memcheck: no error, no leak), and built with ThreadSanitizer
#      (-DMVB_TSAN=ON) in build-tsan/;
#      the libFuzzer targets (scripts/fuzz.sh, FUZZ_SECONDS each, default 10) in BUILD_DIR-fuzz/
#   5. a throw-away S3 server (Ceph RGW, scripts/s3-server.sh) for the suites below
#   6. tests/mount/run.sh, and tests/s3, tests/grpc, tests/snapshot, tests/restore, tests/nonroot, tests/crash, tests/faults, tests/expiry, tests/copy (run.sh each) when present;
#      the mount suite against the ASan daemon, the snapshot suite against the ASan daemon, the
#      mount suite and the racy part of the snapshot suite against the TSan daemon
#   7. the demo (scripts/demo.sh): the seed scenario on real Milvus and MinIO, end to end
#
# Prints one line per suite and ends with "N passed, N failed" (suites); exits 1 on any failure.
# The S3 server is stopped on every exit.  Environment: JOBS (default 2), KEEP_LOGS=1 (keep the
# log dir), SKIP_SETUP=1 (use the existing build),
# BUILD_DIR (default build; the ASan build goes to BUILD_DIR-asan, the TSan build to BUILD_DIR-tsan),
# SUITES="unit asan valgrind tsan mount ..." (a subset), MVB_TSAN_SNAPSHOT (see mount_tsan).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
JOBS=${JOBS:-2}
BUILD_DIR=${BUILD_DIR:-build}		# a developer's own build dir; CI uses build/
ASAN_DIR=${ASAN_DIR:-$BUILD_DIR-asan}
export BUILD_DIR MVB_BIN="$top/$BUILD_DIR/mvbackupfs"
logs=$(mktemp -d "${TMPDIR:-/tmp}/mvb-test-logs.XXXXXX")
export MVB_FAILED_LOGS="$logs/failed"	# a failed mount-level test's daemon logs (tests/mount/lib.sh)
rgw_dir="$logs/rgw"
rgw_started=0
minio_dir="$logs/minio"
minio_started=0

cleanup() {
	local rc=$?
	if [ $rgw_started = 1 ]; then bash "$top/scripts/s3-server.sh" stop "$rgw_dir" >/dev/null 2>&1; fi
	if [ $minio_started = 1 ]; then bash "$top/scripts/minio-server.sh" stop "$minio_dir" >/dev/null 2>&1; fi
	if [ "${KEEP_LOGS:-0}" = 1 ] || [ $rc -ne 0 ]; then
		echo "logs: $logs"
	else
		rm -rf "$logs"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass=0 fail=0 results=()
T_START=$(date +%s)

# suite NAME CMD...: run one suite, its output to $logs/NAME.log (shown on failure)
suite() {
	local name=$1 t0 rc; shift
	if [ -n "${SUITES:-}" ] && ! [[ " $SUITES " == *" $name "* ]]; then return 0; fi
	t0=$(date +%s)
	echo "=== $name"
	"$@" >"$logs/$name.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass+1)); results+=("PASS $name ($(( $(date +%s) - t0 )) s)")
		# one line of the suite's own summary, when it has one
		grep -E '^[0-9]+ passed, [0-9]+ failed|tests passed' "$logs/$name.log" | tail -n 1 | sed 's/^/    /'
	else
		fail=$((fail+1)); results+=("FAIL $name ($(( $(date +%s) - t0 )) s, exit $rc)")
		echo "--- $name failed (exit $rc); last lines of $logs/$name.log:"
		tail -n 60 "$logs/$name.log" | sed 's/^/    /'
	fi
	return $rc
}

# ------------------------------------------------------------------------------ the suites
build_ok=0
if [ "${SKIP_SETUP:-0}" = 1 ] && [ -x "$BUILD_DIR/mvbackupfs" ]; then
	build_ok=1
else
	suite setup bash scripts/setup.sh && build_ok=1
fi

unit() { ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$JOBS"; }

asan() {
	cmake -S . -B "$ASAN_DIR" -DMVB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null &&
	cmake --build "$ASAN_DIR" -j"$JOBS" &&
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		ctest --test-dir "$ASAN_DIR" --output-on-failure -j"$JOBS"
}

valgrind_unit() {
	local t n=0 bad=0
	for t in "$BUILD_DIR"/test_*; do
		[ -x "$t" ] && [ -f "$t" ] || continue
		n=$((n+1))
		echo "--- valgrind $t"
		if ! (cd "$BUILD_DIR" && valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
			--errors-for-leak-kinds=definite,indirect "./$(basename "$t")"); then
			echo "FAIL valgrind $t"
			bad=$((bad+1))
		fi
	done
	echo "valgrind: $n programs, $bad failed"
	[ $bad -eq 0 ]
}

# The mount-level suite again, with the daemon built with ASan/UBSan.  The daemon runs
# detached, so its reports go to files; any report fails the suite.
mount_asan() {
	local d="$logs/daemon-asan" f bad=0
	[ -x "$ASAN_DIR/mvbackupfs" ] || { echo "no $ASAN_DIR/mvbackupfs (the asan suite builds it)"; return 1; }
	mkdir -p "$d"
	ASAN_OPTIONS="log_path=$d/asan:detect_leaks=1" UBSAN_OPTIONS="log_path=$d/ubsan:print_stacktrace=1" \
		MVB_BIN="$top/$ASAN_DIR/mvbackupfs" bash tests/mount/run.sh || bad=1
	# the streamed read path (large objects, cut and paused streams): not in the mount suite
	ASAN_OPTIONS="log_path=$d/asan:detect_leaks=1" UBSAN_OPTIONS="log_path=$d/ubsan:print_stacktrace=1" \
		MVB_BIN="$top/$ASAN_DIR/mvbackupfs" bash tests/mount/run.sh --dir tests/faults t_read_stream || bad=1
	for f in "$d"/*; do
		[ -f "$f" ] || continue
		echo "--- sanitizer report $f"; cat "$f"; bad=1
	done
	[ $bad -eq 0 ]
}

# ThreadSanitizer (build-tsan/, -DMVB_TSAN=ON) and more live suites against sanitized daemons.
# Reports of the detached daemons go to files (log_path); any report fails the suite.  Known
# false positives inside libraries are suppressed in tests/tsan.supp (one reason per line).
TSAN_DIR=${TSAN_DIR:-$BUILD_DIR-tsan}
TSAN_SUPP="$top/tests/tsan.supp"
tsan_build() {
	cmake -S . -B "$TSAN_DIR" -DMVB_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
	cmake --build "$TSAN_DIR" -j"$JOBS"
}
tsan_unit() {
	tsan_build &&
	TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1:suppressions=$TSAN_SUPP" \
		ctest --test-dir "$TSAN_DIR" --output-on-failure -j"$JOBS"
}
# sanitizer_reports DIR: print every report file in DIR; 1 when there is one
sanitizer_reports() {
	local f bad=0
	for f in "$1"/*; do
		[ -f "$f" ] || continue
		echo "--- sanitizer report $f"; cat "$f"; bad=1
	done
	[ $bad -eq 0 ]
}
# the mount suite and the snapshot tests of MVB_TSAN_SNAPSHOT (default: those that race jobs,
# poll() and shutdown; "all" for the whole suite) against the TSan daemon
mount_tsan() {
	local d="$logs/daemon-tsan" bad=0 sn
	sn=${MVB_TSAN_SNAPSHOT:-t_status_poll t_status_poll_stress t_sigterm_poll t_snapshot_race t_snapshot_delete_race}
	[ "$sn" = all ] && sn=
	[ -x "$TSAN_DIR/mvbackupfs" ] || tsan_build || return 1
	mkdir -p "$d"
	export TSAN_OPTIONS="log_path=$d/tsan:halt_on_error=0:second_deadlock_stack=1:suppressions=$TSAN_SUPP"
	MVB_BIN="$top/$TSAN_DIR/mvbackupfs" bash tests/mount/run.sh || bad=1
	MVB_BIN="$top/$TSAN_DIR/mvbackupfs" bash tests/mount/run.sh --dir tests/faults t_read_stream || bad=1
	# shellcheck disable=SC2086
	MVB_BIN="$top/$TSAN_DIR/mvbackupfs" bash tests/snapshot/run.sh $sn || bad=1
	unset TSAN_OPTIONS
	sanitizer_reports "$d" || bad=1
	[ $bad -eq 0 ]
}
# the snapshot suite against the ASan/UBSan daemon (the asan suite builds it)
snapshot_asan() {
	local d="$logs/daemon-asan-snapshot" bad=0
	[ -x "$ASAN_DIR/mvbackupfs" ] || { echo "no $ASAN_DIR/mvbackupfs (the asan suite builds it)"; return 1; }
	mkdir -p "$d"
	ASAN_OPTIONS="log_path=$d/asan:detect_leaks=1" UBSAN_OPTIONS="log_path=$d/ubsan:print_stacktrace=1" \
		MVB_BIN="$top/$ASAN_DIR/mvbackupfs" bash tests/snapshot/run.sh || bad=1
	sanitizer_reports "$d" || bad=1
	[ $bad -eq 0 ]
}

# the restore suite against the ASan/UBSan daemon (issue 8; the asan suite builds it)
restore_asan() {
	local d="$logs/daemon-asan-restore" bad=0
	[ -x "$ASAN_DIR/mvbackupfs" ] || { echo "no $ASAN_DIR/mvbackupfs (the asan suite builds it)"; return 1; }
	mkdir -p "$d"
	ASAN_OPTIONS="log_path=$d/asan:detect_leaks=1" UBSAN_OPTIONS="log_path=$d/ubsan:print_stacktrace=1" \
		MVB_BIN="$top/$ASAN_DIR/mvbackupfs" bash tests/restore/run.sh || bad=1
	sanitizer_reports "$d" || bad=1
	[ $bad -eq 0 ]
}

# The stand-in's own suite (the official Node SDK against it).  It skips itself without an S3
# server, so a run that passed nothing counts as a failure here.
standin_smoke() {
	local out rc
	out=$(cd tests/milvus-standin && npm test 2>&1); rc=$?
	printf '%s\n' "$out"
	[ $rc -eq 0 ] && printf '%s\n' "$out" | grep '^# pass [1-9]' >/dev/null
}

if [ $build_ok = 1 ]; then
	suite unit unit
	suite asan asan
	suite valgrind valgrind_unit
	suite tsan tsan_unit
else
	fail=$((fail+1)); results+=("FAIL unit/asan/valgrind (no build)")
fi

# libFuzzer targets (tests/fuzz, scripts/fuzz.sh): built with clang in BUILD_DIR-fuzz, each run
# FUZZ_SECONDS (default 10); a crash, leak, sanitizer report, hang or OOM fails the suite and
# the reproducer stays in the logs dir (logs/fuzz).
suite fuzz env FUZZ_DIR="$BUILD_DIR-fuzz" FUZZ_LOGS="$logs/fuzz" bash scripts/fuzz.sh "${FUZZ_SECONDS:-10}"

# The live suites share one S3 server.
live=()
[ -f tests/mount/run.sh ] && live+=(mount)
[ -f tests/s3/run.sh ] && live+=(s3)
[ -f tests/s3/backup_admin_live.sh ] && live+=(admin)
[ -f tests/milvus-standin/package.json ] && live+=(standin)
[ -f tests/grpc/run.sh ] && live+=(grpc)
[ -f tests/snapshot/create_live.sh ] && live+=(create)
[ -f tests/snapshot/run.sh ] && live+=(snapshot)
[ -f tests/restore/run.sh ] && live+=(restore)	# .restore against stand-ins (issue 8)
# the restore suite against the ASan daemon: on request only (SUITES="restore-asan"), ~4 min
[[ " ${SUITES:-} " == *" restore-asan "* ]] && live+=(restore-asan)
[ -f tests/nonroot/run.sh ] && live+=(nonroot)
[ -f tests/crash/run.sh ] && live+=(crash)	# builds $BUILD_DIR-crash (-DMVB_CRASH_POINTS=ON)
[ -f tests/expiry/run.sh ] && live+=(expiry)	# .expires, expiry, schedule (also uses $BUILD_DIR-crash)
[ -f tests/mount/run.sh ] && live+=(mount-asan)
[ -f tests/faults/faultproxy.py ] && live+=(faults)	# S3 fault proxy (tests/faults/lib.sh)
[ -f tests/copy/run.sh ] && live+=(copy)	# copy-in (issue 11): starts a second RGW for the target
[ -f tests/snapshot/run.sh ] && live+=(snapshot-asan mount-tsan)
# real Milvus 2.3.5 on real MinIO, the real milvus-backup's output (tests/real/run.sh starts them)
[ -f tests/real/run.sh ] && live+=(real)
want_live=0
for s in "${live[@]}"; do
	if [ -z "${SUITES:-}" ] || [[ " $SUITES " == *" $s "* ]]; then want_live=1; fi
done
if [ $want_live = 1 ]; then
	if [ $build_ok != 1 ]; then
		fail=$((fail+1)); results+=("FAIL ${live[*]} (no build)")
	elif env_out=$(S3_BUCKETS="mvbs3live mvbs3live2" bash scripts/s3-server.sh start "$rgw_dir" 2>"$logs/s3-server.log"); then
		rgw_started=1
		eval "$env_out"
		export S3_ENDPOINT S3_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
		echo "(S3 server: $S3_ENDPOINT)"
		for s in "${live[@]}"; do
			case $s in
			s3) suite s3 env S3_BUCKETS="mvbs3live mvbs3live2" bash tests/s3/run.sh "$BUILD_DIR" ;;
			admin) suite admin env S3_BUCKETS="mvbs3live" bash tests/s3/backup_admin_live.sh "$BUILD_DIR" ;;
			create) suite create env BUILD_DIR="$BUILD_DIR" bash tests/snapshot/create_live.sh ;;
			mount-asan) suite mount-asan mount_asan ;;
			snapshot-asan) suite snapshot-asan snapshot_asan ;;
			restore-asan) suite restore-asan restore_asan ;;
			mount-tsan) suite mount-tsan mount_tsan ;;
			standin) suite standin standin_smoke ;;
			faults) suite faults bash tests/mount/run.sh --dir tests/faults ;;
			*) suite "$s" bash "tests/$s/run.sh" ;;
			esac
		done
	else
		rgw_started=1	# stop whatever part of it came up
		cat "$logs/s3-server.log" | tail -n 20
		fail=$((fail+1)); results+=("FAIL s3-server (could not start: the live suites did not run)")
	fi
fi

s3_minio() (
	eval "$minio_env"
	export S3_ENDPOINT S3_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
	echo "(MinIO: $S3_ENDPOINT)"
	# the https part of tests/s3 starts its own RGW: it runs with the s3 suite
	S3_TLS_TESTS=0 S3_BUCKETS="mvbs3live mvbs3live2" bash tests/s3/run.sh "$BUILD_DIR" || return 1
	bash tests/mount/run.sh || return 1
	# issue 10: streamed reads and their faults (a stream cut or stalled half-way, reads that
	# fail), through the fault proxy in front of MinIO, as the faults suite does on the RGW
	bash tests/mount/run.sh --dir tests/faults t_read_stream t_read_lent t_read_faults || return 1
	# issue 9: .expires across mounts, the expiry worker (its listing with the delimiter
	# "/binlogs/"), the schedule, the fstab line
	bash tests/expiry/run.sh || return 1
	# issue 11: copies into a mount (multipart uploads, the commit's listing, the conditional
	# create of the reservation) and the crash points, source and target on this MinIO
	# (S3B_* unset: the copy tests use one server)
	env -u S3B_ENDPOINT bash tests/snapshot/run.sh --dir tests/copy || return 1
	env -u S3B_ENDPOINT bash tests/crash/run.sh
)
# s3-minio: the S3 client, mount, expiry, copy and crash suites again, on MinIO (scripts/minio-server.sh,
# stopped on exit like the RGW): a difference between the two servers is fixed in the code.
if [ -f tests/s3/run.sh ] && { [ -z "${SUITES:-}" ] || [[ " $SUITES " == *" s3-minio "* ]]; }; then
	if [ $build_ok != 1 ]; then
		fail=$((fail+1)); results+=("FAIL s3-minio (no build)")
	elif minio_env=$(S3_BUCKETS="mvbs3live mvbs3live2" bash scripts/minio-server.sh start "$minio_dir" 2>"$logs/minio-server.log"); then
		minio_started=1
		suite s3-minio s3_minio
	else
		minio_started=1	# stop whatever part of it came up
		tail -n 20 "$logs/minio-server.log"
		fail=$((fail+1)); results+=("FAIL s3-minio (MinIO could not start)")
	fi
fi

# demo: the README's first command, the seed scenario on real Milvus A/B and MinIO A/B through
# two mounts (snapshot, .info, .expires, cp -r, .restore, verify in B, rmdir); it starts and stops
# its own servers and exits non-zero when a step fails
if [ -f scripts/demo.sh ] && { [ -z "${SUITES:-}" ] || [[ " $SUITES " == *" demo "* ]]; }; then
	if [ $build_ok = 1 ]; then
		suite demo bash scripts/demo.sh
	else
		fail=$((fail+1)); results+=("FAIL demo (no build)")
	fi
fi

echo
echo "=== summary ($(( $(date +%s) - T_START )) s)"
for r in "${results[@]}"; do echo "$r"; done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
