# shellcheck shell=bash
# tests/expiry/lib.sh -- tests/snapshot/lib.sh (and through it tests/mount/lib.sh), plus
# helpers for expiry tests: sidecars written straight into the bucket, the daemons' logs.
# shellcheck source=../snapshot/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../snapshot" && pwd)/lib.sh"

# ex_sidecar BUCKET NAME JSON: write s3://BUCKET/backup/NAME/mvbackupfs.json
ex_sidecar() {
	printf '%s' "$3" >"$T_TMP/sidecar.json"
	[ "$(s3_curl PUT "/$1/backup/$2/mvbackupfs.json" --data-binary @"$T_TMP/sidecar.json" -o /dev/null -w '%{http_code}')" = 200 ]
}

# ex_get BUCKET KEY: print the object (empty when absent)
ex_get() { s3_curl GET "/$1/$2" -f 2>/dev/null; }

# ex_log_count REGEX: matching lines across every daemon log of this test
ex_log_count() { cat "$T_TMP"/daemon-*.log 2>/dev/null | grep -cE -- "$1"; }

# ex_write FILE VALUE: echo VALUE > FILE; prints the shell's error ("" on success)
ex_write() { (echo "$2" >"$1") 2>&1 | sed 's/.*: //'; }

# ex_iso SECONDS: RFC 3339 UTC of a Unix time
ex_iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
