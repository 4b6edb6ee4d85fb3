#!/usr/bin/env bash
# t_snapshot_real: `mkdir .snapshot/N` of the real Milvus 2.3.5 holding the fixtures' data shape
# (tests/real/run.sh loads it with pymilvus): the snapshot completes; its .info agrees with
# pymilvus (collections, partitions, rows in the segments, indexes); every meta file has exactly
# the key set of the real milvus-backup v0.5.16's fx516_all (recursively; deliberate extras in
# docs/format-notes.md); every binlog the meta names is stored with the size it states.
. "$(dirname "$0")/../mount/lib.sh"
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
t_need_s3
r_need_milvus
[ -f "${REAL_LIVE_JSON:-}" ] || t_bail "no REAL_LIVE_JSON: run this through tests/real/run.sh"
B=$(t_bucket) || t_bail "bucket"
CFG=$(r_config_milvus "$B")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
t_check "mkdir .snapshot/real1" mkdir "$MNT/.snapshot/real1"
t_wait 120 r_done "$MNT" real1
t_eq "the snapshot completes" complete "$(r_state "$MNT" real1)" || sed 's/^/#   /' "$MNT/real1/.status"
t_check "meta key sets, binlogs and figures (vs v0.5.16's fx516_all and pymilvus)" \
	python3 "$T_TOP/tests/real/check_snapshot.py" "$MNT/real1" "$R_FIX/backup/fx516_all" "$REAL_LIVE_JSON"
info=$(cat "$MNT/real1/.info")
t_match ".info: 4 collections" '^collections: +4$' "$info"
# in the backup's order, which is Milvus's ListDatabases order (either way round on 2.3.5)
t_match ".info: 2 databases" '^databases: +2 \((default, sales|sales, default)\)$' "$info"
want=$(python3 -c 'import json,sys; print(sum(v["inserted"] for v in json.load(open(sys.argv[1])).values()))' "$REAL_LIVE_JSON")
t_match ".info: entities = pymilvus num_entities summed ($want)" "^entities: +$want " "$info"
t_match ".info: docs has 2 partitions and its HNSW index" '^default +docs +2 .*emb\(HNSW\)$' "$info"
t_match ".info: orders has its IVF_FLAT index" '^sales +orders +1 .*vec\(IVF_FLAT\)$' "$info"
t_umount "$MNT" || not_ok "unmount"
t_done
