#!/usr/bin/env bash
# t_restore_v26: a Milvus 2.6 stand-in (storage v2: column groups, storage_version 2 in the
# segment meta) - snapshot, then restore with suffix from another backup bucket (the Import
# options then carry storage_version=2: tests/unit/test_restore.c); the restored collection
# equals the source (count, partitions, index, a query by 50 keys with vectors, the deleted
# keys absent).
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a MILVUS_VERSION=v2.6.3 || t_bail "stand-in"
A="127.0.0.1:$SA_PORT"
deleted=$(rs_node populate --address "$A" --collection coll --rows 1500 --dim 32 --batches 2 \
	--deletes 6 --partition p1 2>"$T_TMP/populate.err") || t_bail "populate: $(tail -n 3 "$T_TMP/populate.err")"
BK=$(t_bucket) || t_bail "bucket"
MNT=$(t_mkmnt)
t_mount_or_bail "$(sn_config "$BK")" "$MNT"
t_check "snapshot of a 2.6 stand-in" mkdir "$MNT/.snapshot/snap"
sn_wait_state 60 "$MNT" snap complete || t_bail "snapshot: $(sn_status "$MNT" snap error)"
t_match "the backup records storage_version 2" '"storage_version":2' "$(cat "$MNT/snap/meta/full_meta.json")"
rs_reset_calls "$SA_ADMIN"
t_check "suffix=_r accepted" rs_write "$MNT" snap 'suffix=_r'
rs_wait 120 "$MNT" snap
t_eq "the restore completes" complete "$(sn_status "$MNT" snap state)" || diag "$(sn_status "$MNT" snap error)"
t_check "coll_r equals coll" rs_node compare --a "$A" --b "$A" --src default.coll --dst default.coll_r \
	--sample 50 --maxid 1500 --deleted "$deleted"
t_eq "no restore-temp- object left" 0 "$(rs_temp_count "$SA_BUCKET")"
t_done
