#!/usr/bin/env bash
# t_restore_fail: failures and cancels of a restore that copies (backup bucket != Milvus's):
# a failing Import (STANDIN_FAIL_IMPORT_NTH) ends `failed` with Milvus's reason, the partly
# restored collection dropped (and .status says so), no restore-temp- object left; a failing
# CreateIndex likewise; `cancel` during the copy (slowed: many small binlogs, one copy at a
# time) ends `cancelled`, the collection dropped, no temp object left.  After all that, the
# same restore succeeds.
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a STANDIN_BINLOG_MAX_ROWS=10 || t_bail "stand-in"
A="127.0.0.1:$SA_PORT"
rs_node populate --address "$A" --collection coll --rows 1200 --dim 4 --batches 2 --deletes 4 \
	>/dev/null 2>"$T_TMP/populate.err" || t_bail "populate: $(tail -n 3 "$T_TMP/populate.err")"
BK=$(t_bucket) || t_bail "bucket"
MNT=$(t_mkmnt)
t_mount_or_bail "$(sn_config "$BK" 'mvbackupfs:
  snapshot:
    parallel: 1')" "$MNT"
t_check "snapshot" mkdir "$MNT/.snapshot/snap"
sn_wait_state 120 "$MNT" snap complete || t_bail "snapshot: $(sn_status "$MNT" snap error)"
diag "backup holds $(sn_status "$MNT" snap items_total) objects"

dropped() { rs_node has --address "$A" --name "default.$1"; }

# 1. the 1st Import fails
sa_knob '{"STANDIN_FAIL_IMPORT_NTH":"1"}' || t_bail "knob"
t_check "suffix=_f1 accepted" rs_write "$MNT" snap 'suffix=_f1'
sn_wait_state 120 "$MNT" snap failed
t_eq "a failing Import ends failed" failed "$(sn_status "$MNT" snap state)"
err=$(sn_status "$MNT" snap error)
t_match ".status error has Milvus's reason" 'injected failure of import #1' "$err"
t_match ".status error says the collection was dropped" "dropped the partly restored 'default.coll_f1'" "$err"
t_eq "coll_f1 is gone" 0 "$(dropped coll_f1)"
t_eq "no restore-temp- object left" 0 "$(rs_temp_count "$SA_BUCKET")"
sa_knob '{"STANDIN_FAIL_IMPORT_NTH":""}'

# 2. CreateIndex fails
sa_knob '{"STANDIN_FAIL_METHOD":"CreateIndex:65535:index boom"}' || t_bail "knob"
t_check "suffix=_f2 accepted" rs_write "$MNT" snap 'suffix=_f2'
sn_wait_state 120 "$MNT" snap failed
t_match "a failing CreateIndex ends failed with the reason" 'index boom' "$(sn_status "$MNT" snap error)"
t_eq "coll_f2 is gone" 0 "$(dropped coll_f2)"
t_eq "no restore-temp- object left" 0 "$(rs_temp_count "$SA_BUCKET")"
sa_knob '{"STANDIN_FAIL_METHOD":""}'

# 3. cancel during the copy
t_check "suffix=_c accepted" rs_write "$MNT" snap 'suffix=_c'
t_wait 30 sh -c "grep -qx 'phase copy' '$MNT/snap/.status'" && ok "the restore is copying" || not_ok "phase copy not seen: $(sn_status "$MNT" snap phase)"
done_before=$(sn_status "$MNT" snap items_done)
t_check "echo cancel" rs_write "$MNT" snap cancel
sn_wait_state 60 "$MNT" snap cancelled
t_eq "cancel during the copy ends cancelled" cancelled "$(sn_status "$MNT" snap state)"
t_check "it stopped before copying everything ($(sn_status "$MNT" snap items_done) of $(sn_status "$MNT" snap items_total))" \
	test "$(sn_status "$MNT" snap items_done)" -lt "$(sn_status "$MNT" snap items_total)"
diag "items done at cancel: $done_before"
t_eq "coll_c is gone" 0 "$(dropped coll_c)"
t_eq "no restore-temp- object left" 0 "$(rs_temp_count "$SA_BUCKET")"

# 4. and then it works
t_check "suffix=_ok accepted" rs_write "$MNT" snap 'suffix=_ok'
rs_wait 120 "$MNT" snap
t_eq "the restore completes" complete "$(sn_status "$MNT" snap state)"
t_match "coll_ok has the rows (1200, less the 4 deleted)" '^rows=(1196|1200) ' "$(rs_node info --address "$A" --name default.coll_ok)"
t_eq "no restore-temp- object left" 0 "$(rs_temp_count "$SA_BUCKET")"
t_done
