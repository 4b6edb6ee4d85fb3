#!/usr/bin/env bash
# t_restore_seed: the seed scenario end to end.  milvus_A (stand-in on its bucket) gets `coll`:
# 10 000 768-dim vectors in several segments, a partition, an HNSW index and deletes (L0 and
# delta logs); `mkdir .snapshot/my_backup` on A's mount; the backup is copied to B's backup
# bucket; on B's mount (Milvus B = another stand-in on another bucket) `echo
# 'collections=default.coll suffix=_bak' > .restore` answers 0, .status goes to complete, and
# in milvus_B `coll_bak` has A's row count, partitions, index and alias, a query by 100 random primary
# keys returns the same vectors and scalars as A, the deleted keys are absent, and no
# restore-temp- object is left in B's bucket.  .restore reads back the command and its job.
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a || t_bail "stand-in A"
A_PORT=$SA_PORT A_ADMIN=$SA_ADMIN
deleted=$(rs_node populate --address "127.0.0.1:$A_PORT" --collection coll --rows 10000 --dim 768 \
	--batches 4 --deletes 20 --partition p1 2>"$T_TMP/populate.err") || t_bail "populate: $(tail -n 3 "$T_TMP/populate.err")"
rs_node alias --address "127.0.0.1:$A_PORT" --name default.coll --alias coll_live || t_bail "alias"
diag "populated in $SECONDS s"
BK_A=$(t_bucket) || t_bail "bucket"
MNT_A=$(t_mkmnt)
t_mount_or_bail "$(sn_config "$BK_A")" "$MNT_A"
t_check "mkdir .snapshot/my_backup on A" mkdir "$MNT_A/.snapshot/my_backup"
sn_wait_state 180 "$MNT_A" my_backup complete || t_bail "snapshot: $(sn_status "$MNT_A" my_backup error)"

diag "snapshot done at $SECONDS s"
sa_start b || t_bail "stand-in B"
B_PORT=$SA_PORT B_ADMIN=$SA_ADMIN B_BUCKET=$SA_BUCKET
BK_B=$(t_bucket) || t_bail "bucket"
t_rclone copy "mvbs3:$BK_A/backup/my_backup" "mvbs3:$BK_B/backup/my_backup" || t_bail "copy to B"
MNT_B=$(t_mkmnt)
t_mount_or_bail "$(sn_config "$BK_B")" "$MNT_B"
t_eq "B's mount shows my_backup complete" complete "$(sn_status "$MNT_B" my_backup state)"

t_check "echo 'collections=default.coll suffix=_bak' > .restore answers 0" \
	rs_write "$MNT_B" my_backup 'collections=default.coll suffix=_bak'
t_match ".restore reads back the command and its job" \
	'^command collections=default.coll suffix=_bak job restore-' "$(tr '\n' ' ' <"$MNT_B/my_backup/.restore")"
t_match ".restore is 0600 and not listed" '^-rw-------$' "$(stat -c %A "$MNT_B/my_backup/.restore")"
t_check ".restore is not in ls" sh -c "! ls -a '$MNT_B/my_backup' | grep -qx .restore"
st=$(sn_status "$MNT_B" my_backup state)
t_match ".status right after the write: restoring (or already complete)" '^(restoring|complete)$' "$st"
rs_wait 180 "$MNT_B" my_backup
diag "restore done at $SECONDS s"
t_eq "the restore ends complete" complete "$(sn_status "$MNT_B" my_backup state)" \
	|| cat "$MNT_B/my_backup/.status" | sed 's/^/#   /'
phases=$(awk '$1 == "phase" { print $2 }' "$T_TMP/states-my_backup" | awk '!s[$0]++' | tr '\n' ' ')
diag "phases seen: $phases"
t_eq ".status job = the job .restore shows" "$(awk '$1 == "job" { print $2 }' "$MNT_B/my_backup/.restore")" \
	"$(sn_status "$MNT_B" my_backup job)"
bd=$(sn_status "$MNT_B" my_backup bytes_done)
t_check "the units were copied into B's bucket (bytes_done $bd > 0)" test "${bd:-0}" -gt 0
t_eq "bytes_done = bytes_total" "$(sn_status "$MNT_B" my_backup bytes_total)" "$bd"

out=$(rs_node compare --a "127.0.0.1:$A_PORT" --b "127.0.0.1:$B_PORT" --src default.coll \
	--dst default.coll_bak --sample 100 --deleted "$deleted" 2>&1)
printf '%s\n' "$out" | sed 's/^/# /'
t_check "coll_bak in milvus_B equals coll in milvus_A" test "$(printf '%s\n' "$out" | grep -c '^ok')" -ge 5 -a \
	"$(printf '%s\n' "$out" | grep -c '^not ok\|rs.js')" -eq 0
t_eq "coll_bak got coll's alias in milvus_B" coll_live "$(rs_node aliases --address "127.0.0.1:$B_PORT" --name default.coll_bak)"
t_eq "no restore-temp- object is left in B's bucket" 0 "$(rs_temp_count "$B_BUCKET")"
t_eq "A has no coll_bak" 0 "$(rs_node has --address "127.0.0.1:$A_PORT" --name default.coll_bak)"
t_check "the Import calls went to milvus_B" sh -c "curl -sf '$B_ADMIN/calls' | jq -r '.[].method' | grep -qx Import"
t_done
