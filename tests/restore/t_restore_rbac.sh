#!/usr/bin/env bash
# t_restore_rbac: rbac=1 (format §4.1 step 3). A backup whose full_meta.json holds rbac_meta
# (users with password hashes, roles, grants, a privilege group) restored into a Milvus 2.5
# stand-in that already has one of its roles, one of its users and one of its grants: every
# other entry is there afterwards, the existing ones are not duplicated (the stand-in's
# RestoreRBAC, like Milvus's, refuses the whole call on a duplicate), and the password hashes
# appear in neither the daemon's log nor .status. Then against a Milvus 2.4 stand-in (no
# BackupRBAC): rbac=1 is refused with ENOTSUP and the reason, and nothing is created.
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a || t_bail "stand-in"
A="127.0.0.1:$SA_PORT"
rs_node populate --address "$A" --collection coll --rows 300 --dim 8 --batches 1 --deletes 0 \
	>/dev/null 2>"$T_TMP/populate.err" || t_bail "populate: $(tail -n 3 "$T_TMP/populate.err")"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
t_check "snapshot" mkdir "$MNT/.snapshot/snap"
sn_wait_state 60 "$MNT" snap complete || t_bail "snapshot: $(sn_status "$MNT" snap error)"
t_umount "$MNT"

# the backup's RBAC, as milvus-backup --rbac writes it into full_meta.json
RBAC='{"users":[{"user":"alice","password":"$2a$10$SECRETHASHalice","roles":[{"name":"reader"}]},{"user":"bob","password":"$2a$10$SECRETHASHbob","roles":[{"name":"reader"},{"name":"writer"}]}],"roles":[{"name":"reader"},{"name":"writer"}],"grants":[{"role":{"name":"reader"},"object":{"name":"Collection"},"object_name":"coll","grantor":{"user":{"name":"root"},"privilege":{"name":"Query"}},"db_name":"default"},{"role":{"name":"writer"},"object":{"name":"Collection"},"object_name":"*","grantor":{"user":{"name":"root"},"privilege":{"name":"Insert"}},"db_name":"default"}],"privilege_groups":[{"group_name":"rw","privileges":[{"name":"Query"},{"name":"Insert"}]}]}'
s3_curl GET "/$BK/backup/snap/meta/full_meta.json" -o "$T_TMP/full_meta.json" || t_bail "get full_meta"
# (python, not jq: jq 1.6 rounds the int64 IDs to doubles)
python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); m["rbac_meta"] = json.loads(sys.argv[2]); json.dump(m, open(sys.argv[3], "w"), separators=(",", ":"))' \
	"$T_TMP/full_meta.json" "$RBAC" "$T_TMP/full_meta2.json" || t_bail "edit full_meta"
s3_curl PUT "/$BK/backup/snap/meta/full_meta.json" --data-binary @"$T_TMP/full_meta2.json" -o /dev/null || t_bail "put full_meta"

# the target has role reader, user alice (another hash) and the reader grant already
echo '{"users":[{"user":"alice","password":"$2a$10$TARGETHASHalice","roles":[]}],"roles":[{"name":"reader"}],"grants":[{"role":{"name":"reader"},"object":{"name":"Collection"},"object_name":"coll","grantor":{"user":{"name":"root"},"privilege":{"name":"Query"}},"db_name":"default"}],"privilege_groups":[]}' >"$T_TMP/seed.json"
rs_node rbac-put --address "$A" --json "$T_TMP/seed.json" || t_bail "seed RBAC"

MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
t_check "suffix=_r rbac=1 accepted" rs_write "$MNT" snap 'collections=default.coll suffix=_r rbac=1'
rs_wait 60 "$MNT" snap
t_eq "the restore completes" complete "$(sn_status "$MNT" snap state)" || diag "$(sn_status "$MNT" snap error)"
got=$(rs_node rbac-get --address "$A") || t_bail "rbac-get"
t_eq "users, roles, grants and groups restored; existing ones kept once and unchanged" \
	"$(printf '%s\n' \
		'grant reader Collection coll Query default' \
		'grant writer Collection * Insert default' \
		'group rw privileges=Insert,Query' \
		'role reader' \
		'role writer' \
		'user alice roles= hash=$2a$10$TARGETHASHalice' \
		'user bob roles=reader,writer hash=$2a$10$SECRETHASHbob')" "$got"
t_eq "the collection is restored too" 1 "$(rs_node has --address "$A" --name default.coll_r)"
t_match "the log says what was restored" 'restored RBAC: 1 users, 1 roles, 1 grants, 1 privilege groups \(3 that exist already left out\)' \
	"$(cat "$T_TMP/daemon-$(basename "$MNT").log")"
t_eq "no password hash in the daemon logs" "" "$(grep -l 'SECRETHASH\|TARGETHASH' "$T_TMP"/daemon-*.log)"
t_eq "no password hash in .status" "" "$(grep 'HASH' "$MNT/snap/.status")"

# a second rbac=1 restore: everything exists now, nothing is sent (RestoreRBAC would refuse)
rs_reset_calls "$SA_ADMIN"
t_check "a second rbac=1 restore accepted" rs_write "$MNT" snap 'collections=default.coll suffix=_r2 rbac=1'
rs_wait 60 "$MNT" snap
t_eq "it completes" complete "$(sn_status "$MNT" snap state)" || diag "$(sn_status "$MNT" snap error)"
t_eq "no RestoreRBAC call when everything exists" "" "$(rs_calls "$SA_ADMIN" | grep -x RestoreRBAC)"
t_umount "$MNT"

# Milvus 2.4: no BackupRBAC -> ENOTSUP at the write, nothing created
sa_start b MILVUS_BUCKET="$SA_BUCKET" MILVUS_VERSION=v2.4.9 || t_bail "stand-in 2.4"
MNT=$(t_mkmnt)
t_mount_or_bail "$(sn_config "$BK")" "$MNT"
rs_reset_calls "$SA_ADMIN"
rs_refused "ENOTSUP for rbac=1 against Milvus 2.4" 'Operation not supported' "$MNT" snap 'suffix=_x rbac=1'
t_match ".status error gives the reason" 'restore refused: milvus v2.4.9 has no BackupRBAC/RestoreRBAC: rbac=1 needs Milvus 2.5 or later' \
	"$(sn_status "$MNT" snap error)"
rs_nothing_created "after the refusal" "$SA_ADMIN"
t_check "without rbac=1 the same restore is accepted" rs_write "$MNT" snap 'suffix=_x'
rs_wait 60 "$MNT" snap
t_eq "and completes" complete "$(sn_status "$MNT" snap state)" || diag "$(sn_status "$MNT" snap error)"
t_done
