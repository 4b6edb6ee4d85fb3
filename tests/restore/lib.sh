# shellcheck shell=bash
# tests/restore/lib.sh -- helpers for the restore tests: everything of tests/snapshot/lib.sh
# (stand-ins, configs, .status polling) plus writing a command into NAME/.restore and looking
# at the Milvus side through tests/restore/rs.js (the official Node SDK).

# shellcheck source=../snapshot/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../snapshot" && pwd)/lib.sh"

RS_DIR="$T_TOP/tests/restore"

# rs_write MNT NAME COMMAND: one write of COMMAND into MNT/NAME/.restore (echo, as a user does);
# RS_ERR is the shell's error text ("" on success), RS_MS the time it took; returns echo's status
rs_write() {
	local t0 rc=0
	t0=$(date +%s%N)
	RS_ERR=$( { echo "$3" >"$1/$2/.restore"; } 2>&1) || rc=$?
	RS_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ $rc -eq 0 ] && RS_ERR=
	return $rc
}

# rs_refused DESC REGEX MNT NAME COMMAND: the write fails with an error text matching REGEX,
# within 5 s (the Milvus checks have a 3 s deadline)
rs_refused() {
	local desc=$1 re=$2
	if rs_write "$3" "$4" "$5"; then
		not_ok "$desc (the write succeeded)"
		return 1
	fi
	t_match "$desc" "$re" "$RS_ERR"
	if [ "$RS_MS" -lt 5000 ]; then ok "$desc: answered in $RS_MS ms"; else not_ok "$desc: took $RS_MS ms"; fi
}

# rs_calls ADMIN: the stand-in's method names called so far (one per line)
rs_calls() { curl -sf "$1/calls" | jq -r '.[].method'; }

# rs_nothing_created DESC ADMIN: no Milvus object was created or dropped since the last
# /stats/reset of that stand-in
rs_nothing_created() {
	local bad
	bad=$(rs_calls "$2" | grep -E '^(CreateDatabase|CreateCollection|CreatePartition|DropCollection|Import|CreateIndex|LoadCollection)$' | sort -u | tr '\n' ' ')
	t_eq "$1: nothing created in Milvus" "" "$bad"
}
rs_reset_calls() { curl -sf -XPOST "$1/stats/reset" >/dev/null; }

# rs_node CMD ARGS...: tests/restore/rs.js
rs_node() { node "$RS_DIR/rs.js" "$@"; }

# rs_temp_count BUCKET: objects under restore-temp-* in BUCKET
rs_temp_count() { t_rclone lsf -R --files-only "mvbs3:$1" 2>/dev/null | grep -c '^restore-temp-' ; }

# rs_wait SECONDS MNT NAME: wait for the restore on NAME to end; returns 0 when complete
rs_wait() { sn_wait_state "$1" "$2" "$3" complete; }
