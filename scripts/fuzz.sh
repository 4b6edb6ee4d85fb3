#!/usr/bin/env bash
# fuzz.sh -- build the libFuzzer targets (tests/fuzz/fuzz_*.c) and run each one for a while.
#
#   scripts/fuzz.sh [SECONDS]     SECONDS per target (default 60)
#
# Builds with clang into FUZZ_DIR (default build-fuzz; -DMVB_FUZZ=ON: libFuzzer + ASan + UBSan,
# any UB aborts), then for every target: a seed corpus is assembled (tests/fuzz/corpus/<target>,
# the meta fixtures of tests/fixtures and ../shared/fixtures when present, generated gRPC replies),
# the fuzzer runs for SECONDS with its dictionary, and one line reports its executions and the
# coverage libFuzzer ended with (cov = covered edges, ft = features).  The corpus it grows is kept
# in FUZZ_DIR/corpus/<target> and reused by the next run.
#
# Fails (exit 1) when any target crashes, leaks, trips a sanitizer, times out or runs out of
# memory; the reproducer ("crash-…", "leak-…", "timeout-…", "oom-…") and the fuzzer's log are kept
# in the logs dir, whose path is printed.  Reproduce with: FUZZ_DIR/fuzz_<target> ARTEFACT.
#
# Environment: FUZZ_DIR, FUZZ_TARGETS ("s3xml meta_full …": a subset), FUZZ_LOGS (the logs dir;
# default FUZZ_DIR/logs/<date>), JOBS (build parallelism, default 2), FUZZ_NO_BUILD=1.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
SECONDS_EACH=${1:-60}
JOBS=${JOBS:-2}
FUZZ_DIR=${FUZZ_DIR:-build-fuzz}
case "$FUZZ_DIR" in /*) ;; *) FUZZ_DIR="$top/$FUZZ_DIR" ;; esac
logs=${FUZZ_LOGS:-$FUZZ_DIR/logs/$(date -u +%Y%m%dT%H%M%SZ)}
shared="$top/../shared/fixtures/milvus-backup/backup"
log() { echo "fuzz: $*" >&2; }
die() { log "error: $*"; exit 1; }

case "$SECONDS_EACH" in ''|*[!0-9]*) die "usage: scripts/fuzz.sh [SECONDS]" ;; esac
command -v clang >/dev/null 2>&1 || die "clang is not installed (scripts/setup.sh installs clang and libclang-rt-14-dev)"
mkdir -p "$logs" || die "cannot create '$logs'"

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
	CC=clang cmake -S "$top" -B "$FUZZ_DIR" -DMVB_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		>"$logs/build.log" 2>&1 &&
	cmake --build "$FUZZ_DIR" --target fuzz -j"$JOBS" >>"$logs/build.log" 2>&1 ||
		{ tail -n 30 "$logs/build.log" >&2; die "build failed (log: $logs/build.log)"; }
fi

targets=${FUZZ_TARGETS:-$(cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}

# seeds TARGET DIR: fill DIR with the target's seed inputs.
seeds() {
	local t=$1 d=$2 m f n=0
	[ -d "tests/fuzz/corpus/$t" ] && cp tests/fuzz/corpus/"$t"/* "$d"/ 2>/dev/null
	case $t in
	meta_full)
		for f in tests/fixtures/backups/*/meta/*.json "$shared"/*/meta/*.json; do
			[ -f "$f" ] || continue
			n=$((n+1)); cp "$f" "$d/$n-$(basename "$f")"
		done ;;
	meta_levels)
		# the four level files of each fixture backup, NUL-separated (fuzz_meta_levels.c)
		for m in tests/fixtures/backups/*/meta "$shared"/*/meta; do
			[ -f "$m/backup_meta.json" ] || continue
			n=$((n+1))
			{ cat "$m/backup_meta.json"; printf '\0'; cat "$m/collection_meta.json"; printf '\0'
			  cat "$m/partition_meta.json"; printf '\0'; cat "$m/segment_meta.json"; } >"$d/levels-$n"
		done ;;
	grpc_reply) python3 tests/fuzz/grpc_seeds.py "$d" ;;
	config) cp tests/fixtures/config/*.yaml "$d"/ 2>/dev/null ;;
	esac
	return 0
}

# dict TARGET: the dictionary option for TARGET, if it has one
dict() {
	case $1 in
	s3xml) echo "-dict=$top/tests/fuzz/s3xml.dict" ;;
	meta_full|meta_levels|sidecar) echo "-dict=$top/tests/fuzz/meta.dict" ;;
	config) echo "-dict=$top/tests/fuzz/config.dict" ;;
	esac
}

bad=0 total_execs=0
printf '%-14s %10s %8s %8s %7s  %s\n' target executions cov ft corpus result
for t in $targets; do
	bin="$FUZZ_DIR/fuzz_$t"
	[ -x "$bin" ] || { log "no $bin"; bad=$((bad+1)); continue; }
	seed="$FUZZ_DIR/seeds/$t" corpus="$FUZZ_DIR/corpus/$t" out="$logs/$t.log"
	rm -rf "$seed"; mkdir -p "$seed" "$corpus"
	seeds "$t" "$seed"
	# env -i: the config loader reads MILVUS_*/MINIO_* variables; none may leak in.  UB aborts
	# (-fno-sanitize-recover); leaks are checked after every input that allocated.
	env -i PATH="$PATH" HOME="${HOME:-/}" \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1:quarantine_size_mb=32 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$bin" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=20 \
		-rss_limit_mb=2048 -artifact_prefix="$logs/$t-" $(dict "$t") "$corpus" "$seed" \
		>"$out" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -n 1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$out" | tail -n 1)
	cov=$(printf '%s' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	ncorp=$(printf '%s' "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	result=ok
	if [ $rc -ne 0 ] || grep -qE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: |property failed' "$out"; then
		result="FAILED (exit $rc)"
		bad=$((bad+1))
	fi
	total_execs=$((total_execs + ${execs:-0}))
	printf '%-14s %10s %8s %8s %7s  %s\n' "$t" "${execs:--}" "${cov:--}" "${ft:--}" "${ncorp:--}" "$result"
	if [ "$result" != ok ]; then
		grep -E 'ERROR|runtime error|SUMMARY|property failed|Test unit written' "$out" | head -n 8 | sed 's/^/    /'
		for f in "$logs/$t"-*; do [ -f "$f" ] && echo "    artefact: $f"; done
		echo "    log: $out"
	fi
done
ntargets=$(echo "$targets" | wc -w)
echo "$((ntargets - bad)) passed, $bad failed (fuzz: $ntargets targets, ${SECONDS_EACH}s each, $total_execs executions; logs: $logs)"
[ $bad -eq 0 ]
