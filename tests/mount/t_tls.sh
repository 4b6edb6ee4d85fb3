#!/usr/bin/env bash
# t_tls: S3 over https.  A second, throw-away RGW of this test's own serves HTTPS only
# (S3_TLS=1 scripts/s3-server.sh, a throw-away CA); a mount with minio.useSSL: true and
# mvbackupfs.s3.caFile naming that CA lists and reads; without the CA (the system store) or with
# an unrelated one, mvbackupfs exits 1 at start with one clear line about the certificate and
# mounts nothing.
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
command -v openssl >/dev/null || t_bail "openssl is not installed"

# The https server lives outside $T_TMP (t_cleanup removes that); stopped at exit, after the
# mounts are gone.
RGW_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mvb-t_tls-rgw.XXXXXX")
rmdir "$RGW_DIR"
tls_cleanup() {
	local rc=$? m
	set +e
	for m in "${T_MOUNTS[@]}"; do
		mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m"; }
	done
	bash "$T_TOP/scripts/s3-server.sh" stop "$RGW_DIR" >/dev/null 2>&1
	(exit "$rc")
	t_cleanup
}
trap tls_cleanup EXIT

BUCKET=mvb-tls-$$
env_out=$(S3_TLS=1 S3_BUCKETS=$BUCKET bash "$T_TOP/scripts/s3-server.sh" start "$RGW_DIR" \
	2>"$T_TMP/rgw.log") || { tail -n 20 "$T_TMP/rgw.log" | sed 's/^/# /'; t_bail "the https S3 server did not start"; }
eval "$env_out"		# S3_ENDPOINT (https), S3_CA_FILE, keys: this test's server from here on
t_match "the test server speaks https" '^https://127\.0\.0\.1:[0-9]+$' "$S3_ENDPOINT"
bash "$T_TOP/tests/grpc/mkcerts.sh" "$T_TMP/certs" || t_bail "mkcerts.sh"

printf 'hello over tls\n' >"$T_TMP/hello.txt"
code=$(s3_curl PUT "/$BUCKET/backup/hello.txt" --cacert "$S3_CA_FILE" --data-binary @"$T_TMP/hello.txt" \
	-o /dev/null -w '%{http_code}')
t_eq "upload over https with the CA" 200 "$code"
FIX=$(t_fixtures) || t_bail "fixtures"
[ -d "$FIX/v0_5_9" ] || t_bail "no fixture backup v0_5_9 in '$FIX'"
t_check "upload a fixture backup over https (rclone --ca-cert)" \
	t_rclone --ca-cert "$S3_CA_FILE" copy "$FIX/v0_5_9" "mvbs3:$BUCKET/backup/v0_5_9"

# tls_config [CA_FILE]: the bucket's config, useSSL: true, caFile when given
tls_config() {
	local f
	f=$(t_config_s3 "$BUCKET" backup "${1:+mvbackupfs:
  s3:
    caFile: $1}")
	sed -i 's/^  useSSL: false$/  useSSL: true/' "$f"
	echo "$f"
}

# --- with the CA: ls and cat work
CFG=$(tls_config "$S3_CA_FILE")
t_check "(the config says useSSL: true)" grep -q '^  useSSL: true$' "$CFG"
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
t_eq "cat of an object over https" "hello over tls" "$(cat "$MNT/hello.txt" 2>&1)"
t_match "ls shows the backup" '(^|[[:space:]])v0_5_9($|[[:space:]])' "$(ls "$MNT" 2>&1)"
t_check "the backup's meta files read over https" sh -c "ls -R '$MNT/v0_5_9' >/dev/null && test -n \"\$(ls -A '$MNT/v0_5_9')\""
t_check "unmount" t_umount "$MNT"

# --- without a usable CA: exit 1 at start, one line, nothing mounted
# bad_start DESC CFG: like t_badstart.sh's
bad_start() {
	local desc=$1 cfg=$2 rc=0 t0 ms err
	t0=$(date +%s%N)
	"$MVB_BIN" -c "$cfg" "$MNT" >"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	err=$(cat "$T_TMP/err")
	if mountpoint -q "$MNT"; then T_MOUNTS+=("$MNT"); fi
	t_eq "$desc: exit status 1" 1 "$rc"
	t_match "$desc: the message is about the certificate" "certificate" "$err"
	t_eq "$desc: one line" 1 "$(grep -c . "$T_TMP/err")"
	t_check "$desc: fails within 10 s (took $ms ms)" test "$ms" -lt 10000
	t_check_fails "$desc: nothing is mounted" mountpoint -q "$MNT"
	t_eq "$desc: no daemon is left behind" "" "$(t_daemon_pid "$MNT")"
	if mountpoint -q "$MNT"; then fusermount3 -u "$MNT"; fi
}
bad_start "useSSL without caFile (system store)" "$(tls_config)"
t_match "without caFile: the message points at mvbackupfs.s3.caFile" "caFile" "$(cat "$T_TMP/err")"
bad_start "useSSL with an unrelated CA" "$(tls_config "$T_TMP/certs/other-ca.pem")"
t_done
