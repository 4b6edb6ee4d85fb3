#!/usr/bin/env bash
# t_restore_schema: a Milvus 2.6.8 stand-in. `coll` has a dynamic field and a field added after
# creation (AddCollectionField, so its ID comes after $meta's); `fn` has a BM25 function (2.6.8
# checks functions at create unless disable_func_runtime_check=true; the source has it false).
# Restored with suffix: `extra` comes back with its own field ID through AddCollectionField
# after CreateCollection, its values (and the nulls of the rows before it) equal the source;
# `fn_r` is created with the check disabled and altered back to false. Options: auto_index=1
# (the vector index becomes AUTOINDEX with the same metric) and skip_collection_properties
# (that property is left out, the others kept).
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a MILVUS_VERSION=v2.6.8 || t_bail "stand-in"
A="127.0.0.1:$SA_PORT"
rs_node evolve --address "$A" --collection coll --rows 300 --dim 8 2>"$T_TMP/evolve.err" ||
	t_bail "evolve: $(tail -n 3 "$T_TMP/evolve.err")"
BK=$(t_bucket) || t_bail "bucket"
MNT=$(t_mkmnt)
t_mount_or_bail "$(sn_config "$BK")" "$MNT"
t_check "snapshot" mkdir "$MNT/.snapshot/snap"
sn_wait_state 60 "$MNT" snap complete || t_bail "snapshot: $(sn_status "$MNT" snap error)"
rs_reset_calls "$SA_ADMIN"
t_check "restore accepted" rs_write "$MNT" snap \
	'suffix=_r auto_index=1 skip_collection_properties=collection.ttl.seconds'
rs_wait 60 "$MNT" snap
t_eq "the restore completes" complete "$(sn_status "$MNT" snap state)" || diag "$(sn_status "$MNT" snap error)"

src=$(rs_node schema --address "$A" --name default.coll)
dst=$(rs_node schema --address "$A" --name default.coll_r)
t_eq "coll_r has coll's fields with the same IDs (extra after \$meta)" \
	"$(grep '^field' <<<"$src")" "$(grep '^field' <<<"$dst")"
t_match "extra is the field added later (ID after \$meta's 103)" '^field extra 104 nullable=1$' "$(grep extra <<<"$dst")"
t_eq "skip_collection_properties: the ttl property is left out, the other kept" \
	"prop standin.keep=yes" "$(grep '^prop' <<<"$dst")"
t_eq "auto_index=1: the vector index is AUTOINDEX with the source metric" \
	"index vec index_type=AUTOINDEX;metric_type=L2" "$(grep '^index' <<<"$dst")"
ids=$(seq -s, 0 37 599)
t_eq "extra's values and the nulls before it equal the source's" \
	"$(rs_node extra --address "$A" --name default.coll --ids "$ids")" \
	"$(rs_node extra --address "$A" --name default.coll_r --ids "$ids")"
calls=$(rs_calls "$SA_ADMIN" | grep -E '^(CreateCollection|AddCollectionField|AlterCollection|Import)$' | uniq | tr '\n' ' ')
t_match "CreateCollection, AddCollectionField before any Import" '^CreateCollection AddCollectionField .*Import' "$calls"
t_eq "fn_r: created (check disabled), then the check property back to false" \
	"$(printf 'function bm25\nprop disable_func_runtime_check=false')" \
	"$(rs_node schema --address "$A" --name default.fn_r | grep -E '^(prop|function)')"
t_done
