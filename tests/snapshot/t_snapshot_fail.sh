#!/usr/bin/env bash
# t_snapshot_fail: a snapshot job that fails never commits: Flush failing in Milvus -> .status
# ends "failed" with the cause in `error`, .info never says complete, no meta/full_meta.json;
# a wrong Milvus rootPath in the mount's config (no binlogs found for a collection with rows)
# -> failed, naming the bucket/prefix that was searched.
# shellcheck disable=SC2010  # what ls (readdir) shows is what these tests check
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 200 --batches 2 --dim 16 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"

# never "complete" while we watch: poll .status and the backup's .info together
watch_never_complete() {	# MNT NAME SECONDS
	local deadline=$(( $(date +%s%N) + $3 * 1000000000 )) st
	while :; do
		if grep -Eq '^state: +complete' "$1/$2/.info" 2>/dev/null; then
			echo "complete seen in .info"
			return 1
		fi
		st=$(sn_status "$1" "$2" state)
		case "$st" in failed|cancelled) return 0 ;; complete) echo "complete seen in .status"; return 1 ;; esac
		[ "$(date +%s%N)" -ge "$deadline" ] && { echo "still '$st' after $3 s"; return 1; }
		sleep 0.05
	done
}

# --- Flush fails with a Milvus error status
sa_knob '{"STANDIN_FAIL_METHOD":"Flush:65535:boom"}' || t_bail "knob"
if ! sn_mkdir "$MNT/.snapshot/fl_1"; then
	sn_unsupported && diag "the daemon has no snapshot support yet"
	t_bail "mkdir .snapshot/fl_1: $SN_ERR"
fi
ok "mkdir .snapshot/fl_1 accepted (the failure comes later)"
t_check "fl_1 fails without ever reading complete" watch_never_complete "$MNT" fl_1 60
t_eq "fl_1: .status state failed" failed "$(sn_status "$MNT" fl_1 state)"
err=$(sn_status "$MNT" fl_1 error)
t_match "fl_1: the error names the cause (Flush, boom)" '[Ff]lush.*boom|boom.*[Ff]lush' "$err"
t_check "fl_1: no meta/full_meta.json in the bucket" sn_no_full_meta "$BK" fl_1
t_check "fl_1: .info does not say complete" sh -c "! grep -Eq '^state: +complete' '$MNT/fl_1/.info'"
t_check "fl_1: root .info does not say complete" sh -c "[ \"\$(awk '\$1 == \"fl_1\" { print \$2 }' '$MNT/.info')\" != complete ]"
sa_knob '{"STANDIN_FAIL_METHOD":""}' || t_bail "knob"

# a fresh mount (no job in memory): the leftovers of fl_1 read as incomplete (or nothing at all)
MNT2=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT2" -o ro
if ls "$MNT2" | grep -x fl_1 >/dev/null; then
	t_match "fl_1 from a fresh mount: incomplete" '^state: +incomplete' "$(cat "$MNT2/fl_1/.info")"
else
	ok "fl_1 left nothing a fresh mount lists"
fi

# --- wrong rootPath: the collection has rows but no binlogs are found under it
CFG_RP=$(SN_ROOTPATH=wrong sn_config "$BK")
MNT_RP=$(t_mkmnt)
t_mount_or_bail "$CFG_RP" "$MNT_RP"
if sn_mkdir "$MNT_RP/.snapshot/rp_1"; then
	ok "mkdir .snapshot/rp_1 accepted"
	t_check "rp_1 fails without ever reading complete" watch_never_complete "$MNT_RP" rp_1 60
	t_eq "rp_1: .status state failed" failed "$(sn_status "$MNT_RP" rp_1 state)"
	err=$(sn_status "$MNT_RP" rp_1 error)
	t_match "rp_1: the error names the searched prefix (wrong/insert_log)" "wrong/insert_log" "$err"
	t_match "rp_1: the error names the Milvus bucket" "$SA_BUCKET" "$err"
	t_check "rp_1: no meta/full_meta.json" sn_no_full_meta "$BK" rp_1
else
	not_ok "mkdir .snapshot/rp_1: $SN_ERR"
fi

t_done
