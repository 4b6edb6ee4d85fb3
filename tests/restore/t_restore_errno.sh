#!/usr/bin/env bash
# t_restore_errno: every refusal of a .restore write, answered at once by the write's errno,
# with the reason in .status (phase refused) and nothing created in Milvus: EINVAL (syntax,
# unknown key, bad name, conflicting keys), ENOENT (collection not in the backup),
# EEXIST (target exists, no drop_existing), EBUSY (a restore runs; also rmdir), EAGAIN (backup
# not complete), ESRCH (cancel with nothing running), EROFS (-o ro), ECONNREFUSED (Milvus
# down), EACCES (bad credentials), EHOSTUNREACH (a host name that does not resolve).  Then a running restore
# is cancelled during Import: .status cancelled, the collection dropped again, no temp objects.
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a MILVUS_AUTH=root:Milvus || t_bail "stand-in"
SA_USER=root SA_PASSWORD=Milvus
sn_populate "$T_TMP/expected.tsv" --names coll --rows 600 --batches 2 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK")
# a backup that is not complete (objects, no meta), for EAGAIN
printf 'x' >"$T_TMP/obj"
s3_curl PUT "/$BK/backup/broken/binlogs/insert_log/1/2/3/4/5" --data-binary @"$T_TMP/obj" -o /dev/null
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
t_check "snapshot" mkdir "$MNT/.snapshot/snap"
sn_wait_state 60 "$MNT" snap complete || t_bail "snapshot: $(sn_status "$MNT" snap error)"
rs_reset_calls "$SA_ADMIN"

for cmd in 'suffix=-x' 'colections=default.coll' 'suffix=_a suffix=_b' 'cancel now' \
	'collections=1bad' 'rename=default.coll:db2.c database=x' 'index=2'; do
	rs_refused "EINVAL for '$cmd'" 'Invalid argument' "$MNT" snap "$cmd"
done
t_eq ".status shows the refusal (state failed)" failed "$(sn_status "$MNT" snap state)"
t_eq ".status phase refused" refused "$(sn_status "$MNT" snap phase)"
t_match ".status error gives the reason" "^restore refused: .*'index'" "$(sn_status "$MNT" snap error)"
rs_refused "ENOENT for a collection not in the backup" 'No such file or directory' "$MNT" snap 'collections=default.nosuch'
t_match ".status error names it" "no collection 'default.nosuch' in backup 'snap'" "$(sn_status "$MNT" snap error)"
rs_refused "ENOENT for a database not in the backup" 'No such file or directory' "$MNT" snap 'collections=db9.*'
rs_refused "EEXIST: the target exists (the source itself, no suffix)" 'File exists' "$MNT" snap 'collections=default.coll'
t_match ".status error says drop_existing" 'exists in milvus .*drop_existing=1' "$(sn_status "$MNT" snap error)"
rs_refused "ESRCH: cancel with no restore running" 'No such process' "$MNT" snap 'cancel'
off=$(python3 -c "
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.pwrite(fd, b'suffix=_x', 5)
    print('accepted')
except OSError as e:
    print(os.strerror(e.errno))" "$MNT/snap/.restore")
t_match "EINVAL for a write at an offset > 0" 'Invalid argument' "$off"
rs_reset_calls "$SA_ADMIN"

# EAGAIN: the backup that is not complete
rs_refused "EAGAIN: the backup is not complete" 'Resource temporarily unavailable' "$MNT" broken 'suffix=_x'
t_eq "and .status of 'broken' says failed" failed "$(sn_status "$MNT" broken state)"
rs_refused "ENOENT: no such backup" 'No such file or directory' "$MNT" nosuch 'suffix=_x'
rs_nothing_created "after every refusal so far" "$SA_ADMIN"

# EROFS
MNT_RO=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT_RO" -o ro
rs_refused "EROFS on a read-only mount" 'Read-only file system' "$MNT_RO" snap 'suffix=_x'
# Milvus down, refusing, unreachable
MNT_X=$(t_mkmnt)
t_mount_or_bail "$(SN_MILVUS_PORT=$(t_closed_port) sn_config "$BK")" "$MNT_X"
rs_refused "ECONNREFUSED: Milvus is down" 'Connection refused' "$MNT_X" snap 'suffix=_x'
t_umount "$MNT_X"
t_mount_or_bail "$(SN_PASSWORD=wrong sn_config "$BK")" "$MNT_X"
rs_refused "EACCES: Milvus refuses the credentials" 'Permission denied' "$MNT_X" snap 'suffix=_x'
t_umount "$MNT_X"
sed '0,/^  address: 127.0.0.1$/s//  address: no-such-milvus.invalid/' "$CFG" >"$T_TMP/unroutable.yaml"
t_mount_or_bail "$T_TMP/unroutable.yaml" "$MNT_X"
rs_refused "EHOSTUNREACH: the Milvus host does not resolve" 'No route to host' "$MNT_X" snap 'suffix=_x'
rs_nothing_created "after the Milvus refusals" "$SA_ADMIN"

# EBUSY while a restore runs (Import held in Pending/Started), rmdir EBUSY; then cancel
sa_knob '{"STANDIN_IMPORT_STEP_MS":"3000"}' || t_bail "knob"
t_check "a restore with suffix _run starts" rs_write "$MNT" snap 'suffix=_run'
t_wait 20 sh -c "grep -qx 'phase import' '$MNT/snap/.status'" || diag "phase: $(sn_status "$MNT" snap phase)"
t_eq ".info shows the backup restoring" restoring "$(awk '$1 == "state:" { print $2 }' "$MNT/snap/.info")"
rs_reset_calls "$SA_ADMIN"
rs_refused "EBUSY: a restore already runs on the backup" 'Device or resource busy' "$MNT" snap 'suffix=_other'
t_eq ".status still follows the running restore" restoring "$(sn_status "$MNT" snap state)"
t_check_fails "rmdir of a backup being restored from fails" rmdir "$MNT/snap"
t_match "rmdir: EBUSY" 'busy' "$(rmdir "$MNT/snap" 2>&1)"
rs_nothing_created "after EBUSY" "$SA_ADMIN"
t_check "echo cancel answers 0" rs_write "$MNT" snap cancel
sn_wait_state 30 "$MNT" snap cancelled
t_eq "the restore ends cancelled" cancelled "$(sn_status "$MNT" snap state)"
t_match ".status says what was dropped" "dropped the partly restored 'default.coll_run'" "$(sn_status "$MNT" snap error)"
has=$(node -e "
const {MilvusClient}=require('$T_TOP/tests/milvus-standin/node_modules/@zilliz/milvus2-sdk-node');
const c=new MilvusClient({address:'127.0.0.1:$SA_PORT',username:'root',password:'Milvus',logLevel:'error'});
c.hasCollection({collection_name:'coll_run'}).then(r=>{console.log(r.value?1:0);process.exit(0)});")
t_eq "coll_run is gone from Milvus" 0 "$has"
t_eq "no restore-temp- object left (same bucket: none made)" 0 "$(rs_temp_count "$SA_BUCKET")"
t_check "the backup is still there" test -f "$MNT/snap/meta/full_meta.json"
t_done
