# shellcheck shell=bash
# tests/faults/lib.sh -- helpers for the fault-injection tests (tests/faults/t_*.sh): everything
# of tests/snapshot/lib.sh (and so tests/mount/lib.sh), plus the S3 fault proxy
# (tests/faults/faultproxy.py) between a mount and RGW.
#
# A test: source this file, sn_begin, fp_start, fp_config_s3 (or fp_sn_config) to get a config
# whose S3 endpoint is the proxy, mount, then fp_rule '{"method":"GET","fault":"status",...}'
# before the operation under test.  The bucket itself is always checked directly (rclone,
# s3_curl and sn_count talk to RGW, never through the proxy).
#
# The proxy the test starts lives in $T_TMP/fp; the EXIT trap stops it (by its pid).

# shellcheck source=../snapshot/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../snapshot" && pwd)/lib.sh"

FP_DIR=
FP_PID=

fp_cleanup() {
	local rc=$?
	set +e
	# unmount first (the daemons may be stuck in a stalled request), then stop the proxy
	for m in "${T_MOUNTS[@]}"; do
		mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null; }
	done
	[ -n "$FP_PID" ] && t_pid_stop "$FP_PID"
	(exit "$rc")
	sn_cleanup
}

# fp_begin: sn_begin, with the proxy added to the EXIT trap
fp_begin() {
	sn_begin
	trap fp_cleanup EXIT
	command -v python3 >/dev/null || t_bail "python3 is not installed"
}

# fp_start: start the proxy in front of S3_ENDPOINT; sets FP_PORT, FP_CTL (http://127.0.0.1:N)
fp_start() {
	FP_DIR="$T_TMP/fp"
	mkdir -p "$FP_DIR"
	python3 "$T_TOP/tests/faults/faultproxy.py" --upstream "$(s3_host):$(s3_port)" --dir "$FP_DIR" \
		>"$FP_DIR/out" 2>"$FP_DIR/err" &
	FP_PID=$!
	t_wait 10 test -s "$FP_DIR/ctl" || { echo "faultproxy did not start: $(tail -n 5 "$FP_DIR/err")" >&2; return 1; }
	FP_PORT=$(cat "$FP_DIR/port")
	FP_CTL="http://127.0.0.1:$(cat "$FP_DIR/ctl")"
}

# fp_rule JSON: add a rule (or a JSON list of rules); see faultproxy.py's header
fp_rule() {
	local out
	out=$(curl -s -XPOST "$FP_CTL/rules" --data-binary "$1") || { echo "faultproxy: no control port" >&2; return 1; }
	[ "$out" = ok ] || { echo "faultproxy refused the rule: $out" >&2; return 1; }
}

# fp_clear: remove every rule
fp_clear() { curl -sf -XDELETE "$FP_CTL/rules" >/dev/null; }

# fp_fired: how many times the rules fired, in total
fp_fired() { curl -sf "$FP_CTL/rules" | python3 -c 'import json,sys; print(sum(r["fired"] for r in json.load(sys.stdin)))'; }

# fp_log: the proxy's request log ("METHOD TARGET STATUS FAULT")
fp_log() { curl -sf "$FP_CTL/log"; }

# fp_endpoint CMD...: run CMD with S3_ENDPOINT pointing at the proxy (for t_config_s3, sn_config)
fp_endpoint() { S3_ENDPOINT="http://127.0.0.1:$FP_PORT" "$@"; }

# fp_errno CMD...: run CMD, print its stderr's strerror text (after the last ': '), "" on success
fp_errno() {
	local out
	out=$("$@" 2>&1 >/dev/null) && { echo ""; return 0; }
	printf '%s\n' "$out" | tail -n 1 | sed 's/.*: //'
}

# fp_complete_objects_present BUCKET ROOT NAME: the invariant of issue 6.  When
# ROOT/NAME/meta/full_meta.json exists in the bucket (the backup reads complete), every binlog
# it names is present.  Checked with validate.js straight against RGW.  0 when it holds.
fp_complete_objects_present() {
	local b=$1 root=$2 name=$3
	sn_has_object "$b" "$root/$name/meta/full_meta.json" || return 0
	sn_validate "$b" "$root/$name/"
}
