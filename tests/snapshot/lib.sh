# shellcheck shell=bash
# tests/snapshot/lib.sh -- helpers for the snapshot tests (tests/snapshot/t_*.sh): everything of
# tests/mount/lib.sh (assertions, mounts, buckets, rclone, cleanup), plus Milvus stand-ins
# (tests/milvus-standin), configs that point a mount at one, and polling of .status.
#
# A test: source this file, sn_begin (instead of t_begin), sa_start, populate, sn_config,
# t_mount_or_bail, mkdir MNT/.snapshot/NAME, sn_wait_state ..., t_done.
#
# Stand-ins a test starts live in $T_TMP/sa-*; the EXIT trap stops them (by their pid file,
# through scripts/milvus-standin.sh) before tests/mount/lib.sh's cleanup unmounts, stops the
# daemons and purges the test's buckets.  MILVUS_* variables are never exported to a daemon
# (tests/mount/lib.sh unsets them: milvus-backup's env overrides would change the config);
# a stand-in's address lives in SA_PORT / SA_ADMIN / SA_BUCKET instead.

# shellcheck source=../mount/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../mount" && pwd)/lib.sh"

SN_DIR="$T_TOP/tests/snapshot"
SN_SA_DIRS=()		# stand-in dirs this test started (stopped by the EXIT trap)

sn_cleanup() {
	local rc=$? d
	set +e
	for d in "${SN_SA_DIRS[@]}"; do
		bash "$T_TOP/scripts/milvus-standin.sh" stop "$d" >/dev/null 2>&1
	done
	(exit "$rc")
	t_cleanup
}

# sn_begin: t_begin, with the stand-ins added to the EXIT trap
sn_begin() {
	t_begin
	trap sn_cleanup EXIT
	t_need_daemon
	t_need_s3
	command -v node >/dev/null || t_bail "node is not installed"
	[ -d "$T_TOP/tests/milvus-standin/node_modules/@zilliz/milvus2-sdk-node" ] \
		|| (cd "$T_TOP/tests/milvus-standin" && npm ci --no-audit --no-fund >/dev/null 2>&1) \
		|| t_bail "tests/milvus-standin: npm ci failed"
}

# sa_start TAG [VAR=VALUE...]: start a stand-in in $T_TMP/sa-TAG with a fresh Milvus bucket
# (VAR=VALUE: MILVUS_AUTH, MILVUS_ROOT_PATH, STANDIN_* knobs, MILVUS_BUCKET to share one).
# Sets SA_DIR SA_PORT SA_ADMIN SA_BUCKET SA_ROOT SA_USER SA_PASSWORD; returns 1 on failure.
sa_start() {
	local tag=$1 out kv bucket="" root=files auth=""; shift
	for kv in "$@"; do
		case "$kv" in
		MILVUS_BUCKET=*) bucket=${kv#*=} ;;
		MILVUS_ROOT_PATH=*) root=${kv#*=} ;;
		MILVUS_AUTH=*) auth=${kv#*=} ;;
		esac
	done
	if [ -z "$bucket" ]; then
		bucket=$(t_bucket) || return 1
	fi
	SA_DIR="$T_TMP/sa-$tag"
	out=$(env MILVUS_PORT=0 MILVUS_BUCKET="$bucket" MILVUS_ROOT_PATH="$root" MILVUS_STATE_FILE="$SA_DIR/state.json" "$@" \
		bash "$T_TOP/scripts/milvus-standin.sh" start "$SA_DIR" 2>"$T_TMP/sa-$tag.err") || {
		echo "stand-in '$tag' did not start: $(tail -n 5 "$T_TMP/sa-$tag.err")" >&2
		return 1
	}
	SN_SA_DIRS+=("$SA_DIR")
	SA_PORT=$(printf '%s\n' "$out" | sed -n 's/^export MILVUS_PORT=//p')
	SA_ADMIN=$(printf '%s\n' "$out" | sed -n 's/^export MILVUS_STANDIN_ADMIN=//p')
	SA_BUCKET=$bucket
	SA_ROOT=$root
	SA_USER=${auth%%:*}
	SA_PASSWORD=${auth#*:}
	[ -n "$auth" ] || { SA_USER=; SA_PASSWORD=; }
	[ -n "$SA_PORT" ] || { echo "stand-in '$tag': no port in its output" >&2; return 1; }
}

# sa_stop DIR: stop the stand-in started in DIR
sa_stop() { bash "$T_TOP/scripts/milvus-standin.sh" stop "$1" >/dev/null 2>&1; }

# sa_knob JSON: set stand-in knobs at run time, e.g. sa_knob '{"STANDIN_FAIL_METHOD":"Flush:65535:boom"}'
sa_knob() {
	curl -sf -XPOST "$SA_ADMIN/knobs" -H 'content-type: application/json' -d "$1" >/dev/null
}

# sn_populate OUTFILE [populate.js options...]: fill the current stand-in (SA_PORT) and write
# the expected "db<TAB>collection<TAB>rows" lines to OUTFILE (a TLS stand-in: --ca CA.pem)
sn_populate() {
	local outf=$1 auth=(); shift
	[ -n "${SA_USER:-}" ] && auth=(--user "$SA_USER" --password "$SA_PASSWORD")
	node "$SN_DIR/populate.js" --address "127.0.0.1:$SA_PORT" "${auth[@]}" "$@" \
		>"$outf" 2>"$T_TMP/populate.err" || {
		echo "populate.js failed: $(tail -n 5 "$T_TMP/populate.err")" >&2
		return 1
	}
}

# sn_config BACKUP_BUCKET [EXTRA_YAML]: a backup.yaml for a mount whose Milvus is the current
# stand-in (SA_PORT, SA_BUCKET, SA_ROOT; SA_USER/SA_PASSWORD when set), backups under
# s3://BACKUP_BUCKET/backup/, same S3 endpoint for both (-> server-side copies).  Overrides:
# SN_ROOTPATH (minio.rootPath), SN_MILVUS_PORT (milvus.port), SN_PASSWORD (milvus.password);
# SN_EXTRA_MILVUS_YAML: more lines of the milvus: section, indented two spaces (tlsMode, ...).
sn_config() {
	local f="$T_TMP/backup-snap-$1-$RANDOM.yaml" user pass
	user=${SA_USER:-}
	pass=${SN_PASSWORD:-${SA_PASSWORD:-}}
	{
		echo "# written by tests/snapshot/lib.sh"
		echo "milvus:"
		echo "  address: 127.0.0.1"
		echo "  port: ${SN_MILVUS_PORT:-$SA_PORT}"
		if [ -n "$user" ]; then
			echo "  user: $user"
			echo "  password: $pass"
		fi
		[ -z "${SN_EXTRA_MILVUS_YAML:-}" ] || printf '%s\n' "$SN_EXTRA_MILVUS_YAML"
		cat <<EOF
minio:
  storageType: minio
  address: $(s3_host)
  port: $(s3_port)
  region: ${S3_REGION:-us-east-1}
  accessKeyID: $AWS_ACCESS_KEY_ID
  secretAccessKey: $AWS_SECRET_ACCESS_KEY
  useSSL: false
  bucketName: $SA_BUCKET
  rootPath: ${SN_ROOTPATH:-$SA_ROOT}
  backupBucketName: $1
  backupRootPath: backup
backup:
  gcPause:
    enable: false
${2:-}
EOF
	} >"$f"
	echo "$f"
}

# ------------------------------------------------------------------------- .status polling

# sn_status MNT NAME KEY: one value of MNT/NAME/.status (empty when unreadable)
sn_status() { awk -v k="$3" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$1/$2/.status" 2>/dev/null; }

# sn_state_is MNT NAME STATE...: .status says one of the STATEs
sn_state_is() {
	local st s
	st=$(sn_status "$1" "$2" state)
	shift 2
	for s in "$@"; do [ "$st" = "$s" ] && return 0; done
	return 1
}

# sn_wait_state SECONDS MNT NAME STATE...: poll .status (every 50 ms) until state is one of
# STATEs, or a final state (complete, failed, cancelled); returns 0 when it is one of STATEs.
# The states seen on the way are appended to $T_TMP/states-NAME (for progress checks).
sn_wait_state() {
	local secs=$1 mnt=$2 name=$3 deadline st s; shift 3
	deadline=$(( $(date +%s%N) + secs * 1000000000 ))
	while :; do
		st=$(sn_status "$mnt" "$name" state)
		[ -f "$mnt/$name/.status" ] && cat "$mnt/$name/.status" >>"$T_TMP/states-$name" 2>/dev/null \
			&& echo "--" >>"$T_TMP/states-$name"
		for s in "$@"; do [ "$st" = "$s" ] && return 0; done
		case "$st" in complete|failed|cancelled) return 1 ;; esac
		[ "$(date +%s%N)" -ge "$deadline" ] && { diag "state of '$name' after ${secs}s: '${st:-none}'"; return 1; }
		sleep 0.05
	done
}

# sn_mkdir PATH: mkdir, recording its error text in SN_ERR ("" on success) and its duration
# in SN_MS (milliseconds); returns mkdir's status
sn_mkdir() { sn_timed mkdir "$1"; }
sn_rmdir() { sn_timed rmdir "$1"; }
sn_timed() {
	local t0 rc=0
	t0=$(date +%s%N)
	SN_ERR=$("$@" 2>&1) || rc=$?
	SN_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ $rc -eq 0 ] && SN_ERR=
	return $rc
}

# sn_expect_err DESC REGEX: the last sn_mkdir/sn_rmdir failed with an error matching REGEX
# (an strerror text such as "Invalid argument"), within 1 s
sn_expect_err() {
	if [ -z "$SN_ERR" ]; then
		not_ok "$1 (it succeeded)"
	else
		t_match "$1" "$2" "$SN_ERR"
	fi
	if [ "$SN_MS" -lt 1000 ]; then ok "$1: answered in ${SN_MS} ms"; else not_ok "$1: took ${SN_MS} ms (limit 1000)"; fi
}

# sn_unsupported: the daemon has no snapshot support yet (mkdir answered ENOTSUP)
sn_unsupported() { printf '%s' "${SN_ERR:-}" | grep 'Operation not supported' >/dev/null; }

# ------------------------------------------------------------------------------ bucket side

# sn_count BUCKET PREFIX: number of objects under s3://BUCKET/PREFIX (recursive)
sn_count() {
	local n
	n=$(t_rclone lsf -R --files-only "mvbs3:$1/$2" 2>/dev/null | wc -l) || n=
	echo "${n:-0}"
}

# sn_prefix_empty BUCKET PREFIX: no object under it
sn_prefix_empty() { [ "$(sn_count "$1" "$2")" -eq 0 ]; }

# sn_has_object BUCKET KEY
sn_has_object() { [ "$(s3_curl HEAD "/$1/$2" -I -o /dev/null -w '%{http_code}')" = 200 ]; }

# sn_validate BUCKET PREFIX [validate.js options...]: validate.js, its output indented as diag
sn_validate() {
	local b=$1 p=$2 out rc=0; shift 2
	out=$(node "$SN_DIR/validate.js" --bucket "$b" --prefix "$p" "$@" 2>&1) || rc=$?
	printf '%s\n' "$out" | head -n 40 | sed 's/^/#   /'
	return $rc
}

# sn_info_rows MNT NAME: "db<TAB>collection<TAB>entities" of each collection in NAME's
# .info.json (sorted), falling back to the table of .info
sn_info_rows() {
	if [ -r "$1/$2/.info.json" ] && jq -e . "$1/$2/.info.json" >/dev/null 2>&1; then
		jq -r '.collections[] | [.db, .name, (.entities|tostring)] | @tsv' "$1/$2/.info.json" | LC_ALL=C sort
	else
		awk 'f && NF >= 5 { print $1 "\t" $2 "\t" $5 } /^DATABASE/ { f = 1 }' "$1/$2/.info" | LC_ALL=C sort
	fi
}

# sn_root_state MNT NAME: NAME's STATE column in MNT/.info
sn_root_state() { awk -v n="$2" '$1 == n { print $2; exit }' "$1/.info" 2>/dev/null; }

# sn_no_full_meta BUCKET NAME: s3://BUCKET/backup/NAME/meta/full_meta.json does not exist
sn_no_full_meta() { ! sn_has_object "$1" "backup/$2/meta/full_meta.json"; }
