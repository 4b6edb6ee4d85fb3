#!/usr/bin/env bash
# mkcerts.sh DIR -- throw-away TLS material for the TLS tests, made at test time (never commit
# keys).  Writes into DIR (created if missing):
#   ca.pem ca.key            a test CA
#   server.pem server.key    signed by it; SAN DNS:milvus.test, DNS:localhost, IP:127.0.0.1
#   client.pem client.key    signed by it; a client certificate (extendedKeyUsage clientAuth)
#   other-ca.pem             an unrelated CA (the "wrong CA" of the tests)
# EC P-256 keys, valid 2 days.  Needs openssl; prints nothing on success.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
d=$1
mkdir -p "$d"
cd "$d"
umask 077
ossl() { openssl "$@" 2>>mkcerts.log; }

key() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# ca NAME SUBJECT
ca() {
	key "$1.key"
	ossl req -x509 -new -key "$1.key" -sha256 -days 2 -subj "$2" -out "$1.pem" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# leaf NAME SUBJECT EXTFILE-TEXT: a key and a certificate signed by ca
leaf() {
	key "$1.key"
	ossl req -new -key "$1.key" -subj "$2" -out "$1.csr"
	printf '%s\n' "$3" >"$1.ext"
	ossl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
		-extfile "$1.ext" -out "$1.pem"
	rm -f "$1.csr" "$1.ext"
}

ca ca "/CN=mvbackupfs test CA"
ca other-ca "/CN=mvbackupfs unrelated CA"
rm -f other-ca.key
leaf server "/CN=milvus.test" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:milvus.test,DNS:localhost,IP:127.0.0.1"
leaf client "/CN=mvbackupfs test client" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
chmod 644 ./*.pem
rm -f mkcerts.log ca.srl
