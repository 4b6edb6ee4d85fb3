# shellcheck shell=bash
# tests/mount/lib.sh -- helpers for the mount-level tests (sourced by tests/mount/t_*.sh).
#
# A test mounts build/mvbackupfs for real and drives it with the tools users use (ls, cat, cp,
# rsync, dd, stat).  Each test is its own process: it sources this file, calls t_begin, makes
# assertions that print TAP-like "ok N - ..." / "not ok N - ..." lines, and ends with t_done
# (exit 0 when every assertion held, 1 otherwise, 77 when the test was skipped).
#
# Environment:
#   S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY [S3_REGION]
#                      the S3 server (scripts/s3-server.sh start prints them)
#   MVB_BIN            the daemon (default <top>/build/mvbackupfs)
#   MVB_FIXTURES_DIR   a ready fixture tree (tests/mount/run.sh makes one per run); when unset,
#                      t_fixtures makes one in the test's tmp dir
#   MVB_KEEP_TMP=1     keep the test's tmp dir (configs, daemon logs) for a look
#
# Everything a test creates lives in its tmp dir $T_TMP; its buckets are named mvb-<test>-<rand>.
# The EXIT trap unmounts every mount the test made (also when an assertion or the shell fails),
# stops the daemons it started (by pid), and removes $T_TMP.  Never a fixed sleep as
# synchronisation: t_wait polls a condition with a deadline.

set -u
set -o pipefail

T_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MVB_BIN=${MVB_BIN:-$T_TOP/build/mvbackupfs}
T_NAME=$(basename "$0" .sh)
T_N=0
T_FAILED=0
T_MOUNTS=()		# mountpoints this test mounted (unmounted by the EXIT trap)
T_PIDS=()		# daemon pids this test started (stopped by the EXIT trap)
T_TMP=

# milvus-backup reads MINIO_*/MILVUS_* over the config file: a stray one in the caller's
# environment would silently change what a test's YAML says.
for _v in $(env | sed -n 's/^\(MINIO_[A-Z_]*\|MILVUS_[A-Z_]*\|BACKUP_[A-Z_]*\|MVBACKUPFS_CONFIG\)=.*/\1/p'); do
	unset "$_v"
done
unset _v
# rclone (Go) refuses a custom CA bundle with its own transport; tests talk plain http
unset AWS_CA_BUNDLE

# ---------------------------------------------------------------------------- assertions

ok() { T_N=$((T_N+1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N+1)); T_FAILED=$((T_FAILED+1)); echo "not ok $T_N - $*"; }
diag() { echo "# $*"; }

# t_check DESC CMD...: ok when CMD succeeds (its output is shown only on failure)
t_check() {
	local desc=$1 out; shift
	if out=$("$@" 2>&1); then ok "$desc"; return 0; fi
	not_ok "$desc"
	[ -n "$out" ] && printf '%s\n' "$out" | head -n 20 | sed 's/^/#   /'
	return 1
}

# t_check_fails DESC CMD...: ok when CMD fails
t_check_fails() {
	local desc=$1; shift
	if "$@" >/dev/null 2>&1; then not_ok "$desc (command succeeded)"; return 1; fi
	ok "$desc"
}

# t_eq DESC EXPECTED ACTUAL
t_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; return 0; fi
	not_ok "$1"
	diag "expected: $(printf '%s' "$2" | head -c 2000)"
	diag "actual:   $(printf '%s' "$3" | head -c 2000)"
	return 1
}

# t_match DESC REGEX TEXT (extended regex, anywhere in TEXT)
t_match() {
	# a here-string, not a pipe: under pipefail, grep -q leaving at the first match could
	# kill printf with SIGPIPE and turn a match into a failure (seen under load)
	if grep -Eq -- "$2" <<<"$3"; then ok "$1"; return 0; fi
	not_ok "$1"
	diag "no match for /$2/ in:"
	printf '%s\n' "$3" | head -n 20 | sed 's/^/#   /'
	return 1
}

# t_same_lines DESC FILE_A FILE_B: the two files hold the same lines (shows a diff otherwise)
t_same_lines() {
	if diff -u "$2" "$3" >"$T_TMP/.diff" 2>&1; then ok "$1"; return 0; fi
	not_ok "$1"
	head -n 30 "$T_TMP/.diff" | sed 's/^/#   /'
	return 1
}

# t_wait SECONDS CMD...: poll CMD (every 50 ms) until it succeeds; 1 when the deadline passes
t_wait() {
	local deadline=$(( $(date +%s%N) + $1 * 1000000000 )); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

t_skip() { echo "# SKIP $T_NAME: $*"; exit 77; }

# t_bail MSG: a precondition failed; the test cannot go on (counts as a failure)
t_bail() { not_ok "$*"; exit 1; }

# ------------------------------------------------------------------------------ lifecycle

t_cleanup() {
	local rc=$? m pid
	set +e
	for m in "${T_MOUNTS[@]}"; do
		if mountpoint -q "$m" 2>/dev/null; then
			fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null
		fi
	done
	for pid in "${T_PIDS[@]}"; do
		t_pid_stop "$pid"
	done
	t_sanitizer_reports || rc=1
	# a failed test's daemon logs outlive T_TMP (scripts/test.sh keeps its log directory
	# when a suite fails): a CI failure can be read afterwards, not only guessed at
	if { [ "$rc" -ne 0 ] || [ "${T_FAILED:-0}" -gt 0 ]; } && [ -n "${MVB_FAILED_LOGS:-}" ] &&
		[ -n "$T_TMP" ] && compgen -G "$T_TMP/*.log" >/dev/null; then
		mkdir -p "$MVB_FAILED_LOGS/$T_NAME" && cp "$T_TMP"/*.log "$MVB_FAILED_LOGS/$T_NAME/" &&
			echo "# daemon logs kept in $MVB_FAILED_LOGS/$T_NAME"
	fi
	if [ -n "$T_TMP" ] && [ -s "$T_TMP/.buckets" ] && [ "${MVB_KEEP_TMP:-0}" != 1 ]; then
		while read -r m; do t_rclone purge "mvbs3:$m" >/dev/null 2>&1; done <"$T_TMP/.buckets"
	fi
	if [ -n "$T_TMP" ] && [ -d "$T_TMP" ]; then
		if [ "${MVB_KEEP_TMP:-0}" = 1 ]; then
			echo "# kept $T_TMP"
		elif grep -qF " $T_TMP/" /proc/self/mounts; then
			# never remove a directory that still has a mount below it
			echo "# $T_TMP still has a mount below it: left in place"
		else
			rm -rf "$T_TMP"
		fi
	fi
	exit "$rc"
}

# t_sanitizer_reports: fail (and show them) when a daemon's log or stderr in $T_TMP holds a
# sanitizer report.  UBSan's report in the ASan+UBSan build goes to stderr whatever log_path
# says, and -fno-sanitize-recover ends the daemon there: without this, a daemonised daemon's
# report went to /dev/null and the test saw only "Transport endpoint is not connected".
t_sanitizer_reports() {
	local f bad=0
	[ -n "$T_TMP" ] && [ -d "$T_TMP" ] || return 0
	while IFS= read -r f; do
		echo "not ok - sanitizer report in $f:"
		grep -A 30 -E 'runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer' "$f" \
			| head -n 60 | sed 's/^/#   /'
		bad=1
	done < <(grep -rlsE --include='*.log' --include='*.err' \
		'runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer' "$T_TMP")
	return $bad
}

# t_begin: the test's tmp dir and the EXIT trap
t_begin() {
	T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mvb-$T_NAME.XXXXXX")
	trap t_cleanup EXIT
	trap 'exit 130' INT TERM
	echo "# $T_NAME (tmp $T_TMP)"
}

# t_done: the test's verdict as its exit status
t_done() {
	if [ "$T_N" -eq 0 ]; then echo "not ok - $T_NAME made no assertion"; exit 1; fi
	echo "# $T_NAME: $((T_N - T_FAILED))/$T_N assertions passed"
	[ "$T_FAILED" -eq 0 ] && exit 0
	exit 1
}

# t_need_daemon: bail out early (one clear line) when build/mvbackupfs is missing
t_need_daemon() {
	[ -x "$MVB_BIN" ] || t_bail "no daemon at '$MVB_BIN' (run scripts/setup.sh)"
}

# t_need_s3: bail out when no S3 server was given
t_need_s3() {
	[ -n "${S3_ENDPOINT:-}" ] && [ -n "${AWS_ACCESS_KEY_ID:-}" ] && [ -n "${AWS_SECRET_ACCESS_KEY:-}" ] \
		|| t_bail "no S3 server: set S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY (eval \"\$(scripts/s3-server.sh start DIR)\")"
}

# -------------------------------------------------------------------------------- S3 side

# the host and port of S3_ENDPOINT (http://127.0.0.1:7480 -> 127.0.0.1 7480)
s3_host() { local h=${S3_ENDPOINT#*://}; h=${h%%/*}; echo "${h%:*}"; }
s3_port() { local h=${S3_ENDPOINT#*://}; h=${h%%/*}; echo "${h##*:}"; }

# rclone remote "mvbs3:" configured from the environment (no config file is read or written)
t_rclone() {
	RCLONE_CONFIG=/dev/null \
	RCLONE_CONFIG_MVBS3_TYPE=s3 RCLONE_CONFIG_MVBS3_PROVIDER=Ceph \
	RCLONE_CONFIG_MVBS3_ENDPOINT="$S3_ENDPOINT" RCLONE_CONFIG_MVBS3_REGION="${S3_REGION:-us-east-1}" \
	RCLONE_CONFIG_MVBS3_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" \
	RCLONE_CONFIG_MVBS3_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
		rclone --log-level ERROR "$@"
}

# s3_curl METHOD PATH [curl args...]: a signed request (PATH is /bucket/key)
s3_curl() {
	local method=$1 path=$2; shift 2
	curl -s -X "$method" --aws-sigv4 "aws:amz:${S3_REGION:-us-east-1}:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@" "$S3_ENDPOINT$path"
}

# Helpers used as $(...) cannot end the test: they print the reason on stderr and return 1;
# the caller writes  B=$(t_bucket) || t_bail "..."

# t_bucket: create a fresh bucket for this test and print its name
t_bucket() {
	local b code
	b=$(printf 'mvb-%s-%s%s' "${T_NAME#t_}" "$$" "$RANDOM" | tr '_A-Z' '-a-z' | cut -c1-63)
	code=$(s3_curl PUT "/$b" -o /dev/null -w '%{http_code}')
	[ "$code" = 200 ] || { echo "cannot create bucket '$b': HTTP $code" >&2; return 1; }
	echo "$b" >>"$T_TMP/.buckets"	# removed by the EXIT trap
	echo "$b"
}

# t_upload DIR BUCKET PREFIX: copy a local tree to s3://BUCKET/PREFIX/ (rclone, 4 transfers)
t_upload() {
	t_rclone copy --transfers 4 --checkers 8 "$1" "mvbs3:$2/$3" || t_bail "cannot upload '$1' to '$2/$3'"
}

# ------------------------------------------------------------------------------- fixtures

# t_fixtures: print the fixture tree (backups of several milvus-backup versions + stray
# objects, the content of a backup root), making it when the run did not
t_fixtures() {
	local mk="$T_TOP/tests/fixtures/make-fixtures.sh"
	if [ -n "${MVB_FIXTURES_DIR:-}" ] && [ -d "$MVB_FIXTURES_DIR" ]; then
		echo "$MVB_FIXTURES_DIR"
		return 0
	fi
	[ -f "$mk" ] || { echo "no fixture generator '$mk'" >&2; return 1; }
	bash "$mk" "$T_TMP/fixtures" >"$T_TMP/make-fixtures.log" 2>&1 \
		|| { tail -n 20 "$T_TMP/make-fixtures.log" >&2; echo "make-fixtures.sh failed" >&2; return 1; }
	echo "$T_TMP/fixtures"
}

# t_expected: print tests/fixtures/expected.tsv as rows "name<TAB>state<TAB>db<TAB>collection
# <TAB>entities<TAB>size", whatever the column order of the file (a header line names the
# columns; other '#' lines are comments; without a header: that order).  db and collection '*'
# mark a backup's totals row, '-' a backup without collections (incomplete).
t_expected() {
	local f=${MVB_EXPECTED_TSV:-$T_TOP/tests/fixtures/expected.tsv}
	[ -f "$f" ] || { echo "no '$f'" >&2; return 1; }
	awk -F'\t' -v OFS='\t' '
		/^#/ || /^[[:space:]]*$/ { next }
		!hdr {
			hdr = 1
			for (i = 1; i <= NF; i++) {
				h = tolower($i); gsub(/[^a-z_]/, "", h)
				if (h == "name" || h == "backup") c["name"] = i
				else if (h == "state") c["state"] = i
				else if (h == "db" || h == "database") c["db"] = i
				else if (h == "collection" || h == "coll") c["coll"] = i
				else if (h == "entities" || h == "rows" || h == "num_rows") c["ent"] = i
				else if (h == "size" || h == "bytes" || h == "size_bytes") c["size"] = i
			}
			if (!("name" in c) || !("state" in c)) {
				# no header: the documented column order
				c["name"] = 1; c["state"] = 2; c["db"] = 3; c["coll"] = 4; c["ent"] = 5; c["size"] = 6
				hdr = 2
			} else next
		}
		{ print $c["name"], $c["state"], $c["db"], $c["coll"], $c["ent"], $c["size"] }
	' "$f"
}

# t_expected_collections: the per-collection rows only (not the '*' totals or '-' rows)
t_expected_collections() { t_expected | awk -F'\t' '$4 != "" && $4 != "*" && $4 != "-"'; }

# t_expected_total NAME: "entities<TAB>size" of a backup (its '*' row, else the sum of its rows)
t_expected_total() {
	t_expected | awk -F'\t' -v OFS='\t' -v n="$1" '
		$1 != n { next }
		$4 == "*" { te = $5; ts = $6; star = 1; next }
		$4 != "-" { se += $5; ss += $6 }
		END { if (star) print te, ts; else print se + 0, ss + 0 }'
}

# t_expected_backups: the distinct backup names of expected.tsv
t_expected_backups() { t_expected | cut -f1 | awk '!seen[$0]++'; }

# t_backup_state NAME: its expected state
t_backup_state() { t_expected | awk -F'\t' -v n="$1" '$1 == n { print $2; exit }'; }

# ------------------------------------------------------------------------ config & mount

# t_config_s3 BUCKET ROOT [EXTRA_YAML]: write a milvus-backup v1 backup.yaml for the backups under
# s3://BUCKET/ROOT/ on the test's S3 server; print its path.  Milvus points at a closed port
# (browsing works without Milvus; startup only warns).
t_config_s3() {
	local f="$T_TMP/backup-$1-$RANDOM.yaml"
	cat >"$f" <<EOF
# written by tests/mount/lib.sh
milvus:
  address: 127.0.0.1
  port: $(t_closed_port)
minio:
  storageType: minio
  address: $(s3_host)
  port: $(s3_port)
  region: ${S3_REGION:-us-east-1}
  accessKeyID: $AWS_ACCESS_KEY_ID
  secretAccessKey: $AWS_SECRET_ACCESS_KEY
  useSSL: false
  bucketName: $1
  rootPath: files
  backupBucketName: $1
  backupRootPath: $2
backup:
  gcPause:
    enable: false
${3:-}
EOF
	echo "$f"
}

# t_config_local DIR [EXTRA_YAML]: a backup.yaml for `storageType: local` whose backup root is
# the directory DIR (milvus-backup's local storage: keys are paths, rootPath a directory)
t_config_local() {
	local f="$T_TMP/backup-local-$RANDOM.yaml"
	cat >"$f" <<EOF
# written by tests/mount/lib.sh
milvus:
  address: 127.0.0.1
  port: $(t_closed_port)
minio:
  storageType: local
  bucketName: $(dirname "$1")
  rootPath: $(dirname "$1")/files
  backupBucketName: $(dirname "$1")
  backupRootPath: $1
backup:
  gcPause:
    enable: false
${2:-}
EOF
	echo "$f"
}

# a loopback port nothing listens on (connect gets ECONNREFUSED at once)
t_closed_port() {
	local p
	for ((p = 20000 + RANDOM % 20000; ; p++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# t_mkmnt: print a fresh empty mountpoint below $T_TMP
t_mkmnt() { mktemp -d "$T_TMP/mnt.XXXXXX"; }

# t_daemon_pid MNT: the pid of the mvbackupfs serving MNT (empty when none)
t_daemon_pid() { pgrep -f -- "$(basename "$MVB_BIN") .*$1\$" | head -n 1; }

# t_mount CFG MNT [OPTS...]: mount (the daemon forks into the background once mounted) and wait
# until MNT is a mountpoint (deadline 15 s).  Returns the daemon's exit status when it fails;
# its stderr until daemonised is kept in $T_TMP/mount.err, its log after that in
# $T_TMP/daemon-<mnt>.log (-o log=).
t_mount() {
	local cfg=$1 mnt=$2 rc=0 pid; shift 2
	# the daemon's log (and any sanitizer report: stderr goes there too) is kept per mount,
	# checked by t_cleanup and shown when the test fails
	"$MVB_BIN" -c "$cfg" -o "log=$T_TMP/daemon-$(basename "$mnt").log" "$@" "$mnt" \
		2>"$T_TMP/mount.err" || rc=$?
	if [ $rc -ne 0 ]; then
		diag "mvbackupfs exited $rc: $(head -c 1000 "$T_TMP/mount.err")"
		return $rc
	fi
	T_MOUNTS+=("$mnt")
	if ! t_wait 15 mountpoint -q "$mnt"; then
		diag "'$mnt' is not mounted 15 s after mvbackupfs returned"
		return 1
	fi
	pid=$(t_daemon_pid "$mnt")
	[ -n "$pid" ] && T_PIDS+=("$pid")
	return 0
}

# t_mount_or_bail CFG MNT [OPTS...]
t_mount_or_bail() { t_mount "$@" || t_bail "mount '$2'"; }

# t_umount MNT: fusermount3 -u and wait (deadline 10 s) until the daemon serving it is gone
t_umount() {
	local mnt=$1 pid
	pid=$(t_daemon_pid "$mnt")
	fusermount3 -u "$mnt" || return 1
	t_wait 10 sh -c "! mountpoint -q '$mnt'" || return 1
	[ -z "$pid" ] || t_wait 10 t_pid_gone "$pid" || return 1
	return 0
}

# t_pid_gone PID: the process has exited (a zombie whose parent is gone counts as gone)
t_pid_gone() {
	[ -r "/proc/$1/stat" ] || return 0
	[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# t_pid_stop PID: SIGTERM, then SIGKILL after 5 s -- only a pid this test started
t_pid_stop() {
	local pid=$1
	t_pid_gone "$pid" && return 0
	kill -TERM "$pid" 2>/dev/null
	t_wait 5 t_pid_gone "$pid" && return 0
	kill -KILL "$pid" 2>/dev/null
	t_wait 5 t_pid_gone "$pid"
}

# t_files DIR: the sorted list of regular files below DIR, relative, with sizes ("size path")
t_files() { (cd "$1" && find . -type f -printf '%s %P\n' | LC_ALL=C sort); }

# t_tree DIR: every entry below DIR, relative, with its type ("f path" / "d path")
t_tree() { (cd "$1" && find . -mindepth 1 -printf '%y %P\n' | LC_ALL=C sort); }

# t_fixture_mount [OPTS...]: the common start of a test: the fixture tree uploaded to a fresh
# bucket under backup/, a config for it and a mount.  Sets FIX (the local fixture tree),
# BUCKET, CFG and MNT.
t_fixture_mount() {
	t_need_daemon
	t_need_s3
	FIX=$(t_fixtures) || t_bail "fixtures"
	BUCKET=$(t_bucket) || t_bail "bucket"
	t_upload "$FIX" "$BUCKET" backup
	CFG=$(t_config_s3 "$BUCKET" backup)
	MNT=$(t_mkmnt)
	t_mount_or_bail "$CFG" "$MNT" "$@"
}
