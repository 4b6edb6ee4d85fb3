#!/usr/bin/env bash
# t_restore_options: restore on the mount where the backup was taken, backups in Milvus's own
# bucket (format §4.4: Milvus reads them directly, so nothing is copied and no restore-temp-
# object appears), with each option: rename= into a new database (created), database=,
# drop_existing=1 replacing a target (rows not doubled), meta_only=1 with index=0 (collection
# and partitions, no rows, no index), load=1 (loaded).
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a || t_bail "stand-in"
A="127.0.0.1:$SA_PORT"
deleted=$(rs_node populate --address "$A" --collection coll --rows 2000 --dim 16 --batches 2 \
	--deletes 6 --partition p1 2>"$T_TMP/populate.err") || t_bail "populate: $(tail -n 3 "$T_TMP/populate.err")"
rs_node populate --address "$A" --collection other --rows 300 --dim 16 --batches 1 --deletes 0 \
	>/dev/null 2>>"$T_TMP/populate.err" || t_bail "populate other"
MNT=$(t_mkmnt)
t_mount_or_bail "$(sn_config "$SA_BUCKET")" "$MNT"
t_check "snapshot into Milvus's bucket" mkdir "$MNT/.snapshot/snap"
sn_wait_state 60 "$MNT" snap complete || t_bail "snapshot: $(sn_status "$MNT" snap error)"

compare() { rs_node compare --a "$A" --b "$A" --src "$1" --dst "$2" --sample 50 --maxid "$3" --deleted "$4" >"$T_TMP/cmp.out" 2>&1; }
restore_ok() {
	rs_write "$MNT" snap "$1" || { not_ok "'$1' accepted: $RS_ERR"; return 1; }
	ok "'$1' accepted"
	rs_wait 60 "$MNT" snap || { not_ok "'$1' completes: $(sn_status "$MNT" snap error)"; return 1; }
	ok "'$1' completes"
}

# rename into a new database; same bucket: no copy
restore_ok 'collections=default.coll rename=default.coll:db2.renamed'
t_eq "same bucket: nothing copied (bytes_total 0)" 0 "$(sn_status "$MNT" snap bytes_total)"
t_eq "no restore-temp- object in the bucket" 0 "$(rs_temp_count "$SA_BUCKET")"
t_check "db2.renamed equals default.coll (count, partitions, index, 50 keys, deletes)" compare default.coll db2.renamed 2000 "$deleted"
sed 's/^/# /' "$T_TMP/cmp.out"
t_eq "the source is untouched" 1 "$(rs_node has --address "$A" --name default.coll)"

# drop_existing: restoring again over it replaces it (the row count is not doubled)
rs_refused "without drop_existing the same restore is EEXIST" 'File exists' "$MNT" snap 'collections=default.coll rename=default.coll:db2.renamed'
restore_ok 'collections=default.coll rename=default.coll:db2.renamed drop_existing=1'
t_check "after drop_existing=1 db2.renamed still equals default.coll" compare default.coll db2.renamed 2000 "$deleted"

# database=
restore_ok 'collections=default.other database=db3'
t_match "db3.other has other's 300 rows" '^rows=300 ' "$(rs_node info --address "$A" --name db3.other)"

# meta_only=1 index=0
restore_ok 'collections=default.coll suffix=_meta meta_only=1 index=0'
t_match "meta_only: coll_meta has the partitions, no rows, no index" '^rows=0 index=0 .*partitions=_default,p1$' \
	"$(rs_node info --address "$A" --name default.coll_meta)"

# load=1 (and index=1, the default)
restore_ok 'collections=default.coll suffix=_loaded load=1'
t_match "load=1: coll_loaded is loaded, with its index and rows" '^rows=[1-9][0-9]* index=1 load=LoadStateLoaded ' \
	"$(rs_node info --address "$A" --name default.coll_loaded)"
t_match "without load=1 the restored collection is not loaded" 'load=LoadStateNotLoad' \
	"$(rs_node info --address "$A" --name db3.other)"
t_done
