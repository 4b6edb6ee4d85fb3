#!/usr/bin/env bash
# t_snapshot_tls: a Milvus that speaks TLS (the stand-in with a throw-away certificate of
# tests/grpc/mkcerts.sh, SAN milvus.test and 127.0.0.1).  A mount with milvus.tlsMode: 1, the
# CA in milvus.caCertPath and milvus.serverName: milvus.test (while connecting to 127.0.0.1)
# takes a snapshot to completion; a mount with an unrelated CA warns at start about the
# certificate and mkdir .snapshot/NAME fails at once with EHOSTUNREACH (spec §5.2: Milvus does
# not answer; the gRPC layer's -EPROTO is mapped), writing nothing.
. "$(dirname "$0")/lib.sh"
sn_begin
command -v openssl >/dev/null || t_bail "openssl is not installed"
CERTS=$T_TMP/certs
bash "$T_TOP/tests/grpc/mkcerts.sh" "$CERTS" || t_bail "mkcerts.sh"

sa_start a STANDIN_TLS_CERT="$CERTS/server.pem" STANDIN_TLS_KEY="$CERTS/server.key" || t_bail "stand-in"
t_match "the stand-in serves TLS" 'tls=on' "$(cat "$SA_DIR/standin.log" 2>/dev/null)"
sn_populate "$T_TMP/expected.tsv" --ca "$CERTS/ca.pem" --server-name milvus.test \
	--dbs default --collections 1 --rows 50 --batches 1 --dim 8 || t_bail "populate over TLS"
BK=$(t_bucket) || t_bail "bucket"

# --- the right CA and a server name override: the snapshot completes
CFG=$(SN_EXTRA_MILVUS_YAML="  tlsMode: 1
  caCertPath: $CERTS/ca.pem
  serverName: milvus.test" sn_config "$BK")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
t_eq "no warning at start: Milvus answers over TLS" "" "$(grep -i 'warning' "$T_TMP/mount.err")"
if sn_mkdir "$MNT/.snapshot/tls_1"; then
	ok "mkdir .snapshot/tls_1 over TLS returned 0 ($SN_MS ms)"
	sn_wait_state 60 "$MNT" tls_1 complete
	t_eq "tls_1 completes" complete "$(sn_status "$MNT" tls_1 state)"
	t_match ".info of tls_1 lists the collection" 'coll_1' "$(cat "$MNT/tls_1/.info" 2>&1)"
else
	not_ok "mkdir .snapshot/tls_1 over TLS: $SN_ERR"
fi
t_check "unmount" t_umount "$MNT"

# --- an unrelated CA: the mount still serves (Milvus is optional at start), but says why
# Milvus does not answer, and a snapshot is refused at once
N0=$(sn_count "$BK" backup/)
CFG=$(SN_EXTRA_MILVUS_YAML="  tlsMode: 1
  caCertPath: $CERTS/other-ca.pem
  serverName: milvus.test" sn_config "$BK")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
t_match "wrong CA: the start-up warning names the certificate problem" \
	'warning: .*certificate' "$(cat "$T_TMP/mount.err")"
sn_mkdir "$MNT/.snapshot/tls_2"
sn_expect_err "wrong CA: mkdir .snapshot/tls_2 -> EHOSTUNREACH" 'No route to host'
t_eq "wrong CA: nothing was written under backup/" "$N0" "$(sn_count "$BK" backup/)"
t_check "unmount" t_umount "$MNT"
t_done
