# shellcheck shell=bash
# tests/copy/lib.sh -- helpers for the copy-in tests (tests/copy/t_*.sh, issue 11): everything
# of tests/snapshot/lib.sh (stand-ins, snapshots, .status polling) and tests/mount/lib.sh
# (assertions, mounts, buckets, cleanup), plus a second S3 server for the target mount.
#
# Source mount A: a snapshot of a Milvus stand-in on the S3 server of the environment
# (S3_ENDPOINT ...).  Target mount B: a bucket on a SECOND S3 server with other credentials
# (S3B_ENDPOINT S3B_ACCESS_KEY S3B_SECRET_KEY, started by tests/copy/run.sh); when those are
# unset (a test run by hand) B uses the first server, which the test says in a diag line.

# shellcheck source=../snapshot/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../snapshot" && pwd)/lib.sh"

# on_b CMD...: run CMD (a command or a helper of these libraries) against server B
on_b() {
	S3_ENDPOINT=${S3B_ENDPOINT:-$S3_ENDPOINT} \
	AWS_ACCESS_KEY_ID=${S3B_ACCESS_KEY:-$AWS_ACCESS_KEY_ID} \
	AWS_SECRET_ACCESS_KEY=${S3B_SECRET_KEY:-$AWS_SECRET_ACCESS_KEY} "$@"
}

# cp_begin: sn_begin, and say which server B is
cp_begin() {
	sn_begin
	command -v rsync >/dev/null || t_bail "rsync is not installed"
	if [ -n "${S3B_ENDPOINT:-}" ]; then
		diag "target server B: $S3B_ENDPOINT (key ${S3B_ACCESS_KEY:0:6}...), source A: $S3_ENDPOINT"
	else
		diag "S3B_ENDPOINT unset: the target mount uses the source's server"
	fi
}

# cp_source NAME [populate options]: a stand-in with data (two databases, deletes), a mount A
# (MA, bucket BA) and a complete snapshot NAME on it.  The expected rows go to $T_TMP/expected.tsv.
cp_source() {
	local name=$1; shift
	sa_start a || t_bail "stand-in"
	sn_populate "$T_TMP/expected.tsv" --dbs default,db1 --collections 2 --rows 600 --batches 3 \
		--deletes 6 --dim 64 "$@" || t_bail "populate"
	LC_ALL=C sort -o "$T_TMP/expected.tsv" "$T_TMP/expected.tsv"
	BA=$(t_bucket) || t_bail "bucket A"
	MA=$(t_mkmnt)
	t_mount_or_bail "$(sn_config "$BA")" "$MA"
	sn_mkdir "$MA/.snapshot/$name" || t_bail "mkdir .snapshot/$name: $SN_ERR"
	sn_wait_state 120 "$MA" "$name" complete || t_bail "snapshot '$name' did not complete"
}

# cp_local_source: the fixture backups (tests/fixtures) copied into $T_TMP/local/backup and a
# mount A of that local directory (MA)
cp_local_source() {
	local fix
	fix=$(t_fixtures) || t_bail "fixtures"
	mkdir -p "$T_TMP/local"
	cp -r "$fix" "$T_TMP/local/backup"
	MA=$(t_mkmnt)
	t_mount_or_bail "$(t_config_local "$T_TMP/local/backup")" "$MA"
}

# cp_local_objects NAME: "path size md5" of every file of backup NAME in $T_TMP/local/backup,
# sorted (cp_objects' format)
cp_local_objects() {
	(cd "$T_TMP/local/backup/$1" && find . -type f -printf '%P %s\n' | LC_ALL=C sort |
		while read -r p s; do echo "$p $s $(md5sum <"$p" | cut -d' ' -f1)"; done)
}

# cp_config_b BUCKET [EXTRA_YAML]: a backup.yaml for backups under s3://BUCKET/backup/ on B
cp_config_b() {
	on_b t_config_s3 "$1" backup "${2:-}"
}

# cp_target [MOUNT OPTS]: a fresh bucket on B (BB), its config (CFGB) and a mount (MB)
cp_target() {
	BB=$(on_b t_bucket) || t_bail "bucket B"
	CFGB=$(cp_config_b "$BB")
	MB=$(t_mkmnt)
	t_mount_or_bail "$CFGB" "$MB" "$@"
}

# cp_objects BUCKET PREFIX: "path size md5" of every object below PREFIX (content hashed by
# downloading), sorted; the hidden mtimes record of a copy is left out (import_commit.h), and
# so is the sidecar mvbackupfs.json: a copy commits with its merge (cp_same_sidecar checks it)
cp_objects() {
	local b=$1 p=$2
	{ t_rclone lsf -R --files-only --format ps --separator ' ' "mvbs3:$b/$p" || return 1; } |
		LC_ALL=C sort >"$T_TMP/.cp-sizes"
	{ t_rclone md5sum --download "mvbs3:$b/$p" || return 1; } |
		awk '{ print $2, $1 }' | LC_ALL=C sort >"$T_TMP/.cp-md5"
	LC_ALL=C join "$T_TMP/.cp-sizes" "$T_TMP/.cp-md5" | grep -Ev '^(\.mvbackupfs-mtimes|mvbackupfs)\.json ' || true
}

# cp_same_objects DESC BUCKET_A PREFIX_A BUCKET_B PREFIX_B: object for object, byte-identical
cp_same_objects() {
	cp_objects "$2" "$3" >"$T_TMP/objs-a" || { not_ok "$1 (cannot list A)"; return 1; }
	on_b cp_objects "$4" "$5" >"$T_TMP/objs-b" || { not_ok "$1 (cannot list B)"; return 1; }
	if [ -s "$T_TMP/objs-a" ] && cmp -s "$T_TMP/objs-a" "$T_TMP/objs-b"; then
		ok "$1 ($(wc -l <"$T_TMP/objs-a") objects)"
	else
		not_ok "$1"
		diff "$T_TMP/objs-a" "$T_TMP/objs-b" | head -n 20 | sed 's/^/#   /'
		return 1
	fi
}

# cp_same_sidecar DESC MNT_A MNT_B NAME [FMT]: the copy's root .info row has TYPE copied and
# A's EXPIRES, and its mvbackupfs.json reads as A's byte for byte with the same stat -c FMT
# (default '%s %Y': size and mtime; '%s' for cp -r, which does not keep mtimes)
cp_same_sidecar() {
	local desc=$1 a=$2 b=$3 n=$4 f=${5:-%s %Y} ta tb ea eb
	ta=$(cp_root_col "$a" "$n" TYPE) tb=$(cp_root_col "$b" "$n" TYPE)
	ea=$(cp_root_col "$a" "$n" EXPIRES) eb=$(cp_root_col "$b" "$n" EXPIRES)
	t_eq "$desc: root .info TYPE copied (A: $ta)" copied "$tb"
	t_eq "$desc: root .info EXPIRES as on A" "$ea" "$eb"
	t_check "$desc: mvbackupfs.json reads as A's, same stat '$f'" \
		sh -c "cmp -s '$a/$n/mvbackupfs.json' '$b/$n/mvbackupfs.json' && [ \"\$(stat -c '$f' '$a/$n/mvbackupfs.json')\" = \"\$(stat -c '$f' '$b/$n/mvbackupfs.json')\" ]"
}

# cp_root_col MNT NAME COLUMN: NAME's value in COLUMN (a header of MNT/.info's table)
cp_root_col() {
	awk -v n="$2" -v c="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		$1 == n && k { print $k }' "$1/.info"
}

# cp_state MNT NAME: the state in MNT/NAME/.status
cp_state() { sn_status "$1" "$2" state; }

# cp_wait_complete SECONDS MNT NAME: poll until NAME is complete (0) or the deadline (1)
cp_wait_complete() { t_wait "$1" sh -c "awk '\$1==\"state\"{print \$2}' '$2/$3/.status' 2>/dev/null | grep -qx complete"; }

# cp_errno DESC ERRTEXT CMD...: CMD fails and its message contains ERRTEXT (strerror text)
cp_errno() {
	local desc=$1 want=$2 out rc=0; shift 2
	out=$("$@" 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then not_ok "$desc (it succeeded)"; return 1; fi
	t_match "$desc" "$want" "$out"
}
