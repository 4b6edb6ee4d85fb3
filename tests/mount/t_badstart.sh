#!/usr/bin/env bash
# t_badstart: the bad-start table of spec §2 -- every configuration a user gets wrong makes
# mvbackupfs exit 1 with one clear line, quickly, mounting nothing and leaving the mountpoint
# usable; plus --help, --version, -o ro and -o log=FILE.
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
t_need_s3
BUCKET=$(t_bucket) || t_bail "bucket"
echo "stray" >"$T_TMP/stray.txt"
t_upload "$T_TMP/stray.txt" "$BUCKET" backup
MNT=$(t_mkmnt)

# bad_start DESC CFG MESSAGE_REGEX [SECONDS]: exit 1, stderr matches, within SECONDS (default
# 10), nothing mounted, no daemon left, the mountpoint an empty usable directory
# (BAD_ARGS: more options for the daemon)
BAD_ARGS=()
bad_start() {
	local desc=$1 cfg=$2 re=$3 limit=${4:-10} t0 t1 rc=0 ms err
	t0=$(date +%s%N)
	"$MVB_BIN" -c "$cfg" "${BAD_ARGS[@]}" "$MNT" >"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	err=$(cat "$T_TMP/err")
	if mountpoint -q "$MNT"; then T_MOUNTS+=("$MNT"); fi
	t_eq "$desc: exit status 1" 1 "$rc"
	t_match "$desc: the message says why" "$re" "$err"
	t_check "$desc: fails within $limit s (took $ms ms)" test "$ms" -lt $((limit * 1000))
	t_check_fails "$desc: nothing is mounted" mountpoint -q "$MNT"
	t_eq "$desc: the mountpoint is left an empty usable directory" "" "$(ls -A "$MNT" 2>&1)"
	t_eq "$desc: no daemon is left behind" "" "$(t_daemon_pid "$MNT")"
	t_eq "$desc: the secret key never appears in the output" "" \
		"$(grep -F -e "$AWS_SECRET_ACCESS_KEY" -e wrongSecret "$T_TMP/out" "$T_TMP/err" || true)"
	if mountpoint -q "$MNT"; then fusermount3 -u "$MNT"; fi
}

# 1. YAML syntax error: a tab cannot start a token -- line 3, column 1
cfg=$T_TMP/syntax.yaml
printf 'milvus:\n  address: 127.0.0.1\n\tport: 19530\n' >"$cfg"
bad_start "yaml syntax error" "$cfg" "(:3:[0-9]+|line 3)"
t_match "yaml syntax error: the message names the file" "syntax.yaml" "$(cat "$T_TMP/err")"
t_eq "yaml syntax error: one line" 1 "$(grep -c . "$T_TMP/err")"

# 2. unknown storage type
cfg=$(t_config_s3 "$BUCKET" backup)
sed -i 's/storageType: minio/storageType: floppy/' "$cfg"
bad_start "unknown storage type" "$cfg" "floppy"

# 3. wrong secret key
cfg=$(t_config_s3 "$BUCKET" backup)
sed -i "s/secretAccessKey: .*/secretAccessKey: wrongSecret0000000000000000000000000000/" "$cfg"
bad_start "wrong secret key" "$cfg" "([Cc]redential|[Ss]ignature|[Aa]ccess [Dd]enied|secret|403)"
t_eq "wrong secret key: one line about it" 1 \
	"$(grep -Eic 'credential|signature|access denied|secret|403' "$T_TMP/err")"

# 4. missing bucket
cfg=$(t_config_s3 "no-such-bucket-$$" backup)
bad_start "missing bucket" "$cfg" "no-such-bucket-$$"

# 5. unreachable endpoint: a closed loopback port
cfg=$(t_config_s3 "$BUCKET" backup)
sed -i "s/^  port: $(s3_port)\$/  port: $(t_closed_port)/" "$cfg"
t_check "(the endpoint config points at another port)" sh -c "! grep -q '^  port: $(s3_port)\$' '$cfg'"
bad_start "unreachable endpoint" "$cfg" "(127\.0\.0\.1|connect|refused|unreachable)" 10

# 6. a config file that does not exist
bad_start "missing config file" "$T_TMP/nonexistent.yaml" "nonexistent\.yaml"

# 7. a log file that cannot be opened (-o log=FILE in a directory that does not exist)
BAD_ARGS=(-o "log=$T_TMP/no-such-dir/mvbackupfs.log")
bad_start "-o log= in a missing directory" "$(t_config_s3 "$BUCKET" backup)" "cannot open the log file .*no-such-dir"
BAD_ARGS=()

# --- --help, --version
out=$("$MVB_BIN" --help 2>&1); rc=$?
t_eq "--help exits 0" 0 "$rc"
t_match "--help shows the usage with -c" "-c" "$out"
out=$("$MVB_BIN" --version 2>&1); rc=$?
t_eq "--version exits 0" 0 "$rc"
t_match "--version prints the name and a version" "mvbackupfs.*[0-9]+\.[0-9]+" "$out"

# --- -o ro: mounts, serves, refuses every change with EROFS
cfg=$(t_config_s3 "$BUCKET" backup)
t_mount_or_bail "$cfg" "$MNT" -o ro
t_eq "-o ro: reads work" "stray" "$(cat "$MNT/stray.txt" 2>&1)"
# spec §2: the config's Milvus is a closed port: a warning, not a failure
t_match "Milvus unreachable at start: one warning line, the mount still serves" \
	'^mvbackupfs: warning: Milvus at .* does not answer' "$(cat "$T_TMP/mount.err")"
t_match "-o ro: the mount is read-only in /proc/mounts" "[ ,]ro[ ,]" "$(grep -F " $MNT " /proc/mounts)"
t_match "-o ro: mkdir .snapshot/x fails with EROFS" "Read-only file system" "$(mkdir "$MNT/.snapshot/x" 2>&1)"
t_match "-o ro: mkdir of a backup fails with EROFS" "Read-only file system" "$(mkdir "$MNT/newbackup" 2>&1)"
t_check "unmount" t_umount "$MNT"
# -o log=FILE (t_mount passes it): time-stamped lines from the daemon, up to its unmount
log="$T_TMP/daemon-$(basename "$MNT").log"
t_match "-o log=FILE: the daemon logs its mount there, time-stamped" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z mvbackupfs\[[0-9]+\]: mounted s3://' "$(grep ' mounted ' "$log" 2>&1)"
t_match "-o log=FILE: and its unmount" 'mvbackupfs\[[0-9]+\]: unmounted ' "$(cat "$log" 2>&1)"
t_done
