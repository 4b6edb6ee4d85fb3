#!/usr/bin/env bash
# t_expiry_delete: the expiry worker (issue 9).  Two mounts of one bucket find the same
# backups expired (their sidecars expired while no daemon ran): exactly one of them deletes
# each, through the rmdir path, logged with the reason; the newest complete backup is kept
# (keep_min 1, with a warning) and shows `expired`; an incomplete one never expires; one that
# is not due stays.  delete_expired: false only marks.  A backup with a file open (cp -r
# reading it) is not deleted.  `echo 2s > .expires` is acted on within seconds.
# shellcheck disable=SC2010
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
t_need_s3
FIX=$(t_fixtures) || t_bail "fixtures"
past='{"format":1,"created_by":"test","expires":"2020-01-01T00:00:00Z","kind":"scheduled"}'
later='{"format":1,"created_by":"test","expires":"2099-01-01T00:00:00Z","kind":"scheduled"}'

# --- two mounts, one bucket
BK=$(t_bucket) || t_bail "bucket"
for b in v0_5_9 v0_4_30 v0_4_12 broken_incomplete; do t_upload "$FIX/$b" "$BK" "backup/$b"; done
for b in v0_5_9 v0_4_30 broken_incomplete; do ex_sidecar "$BK" "$b" "$past" || t_bail "sidecar $b"; done
ex_sidecar "$BK" v0_4_12 "$later" || t_bail "sidecar v0_4_12"
# more expired copies, so that the two mounts' one-at-a-time deletes run into each other
copies="x1 x2 x3 x4 x5 x6"
for b in $copies; do
	t_upload "$FIX/v0_4_30" "$BK" "backup/$b"
	ex_sidecar "$BK" "$b" "$past" || t_bail "sidecar $b"
done
CFG=$(t_config_s3 "$BK" backup)
MA=$(t_mkmnt)
MB=$(t_mkmnt)
t_mount "$CFG" "$MA" & pa=$!
t_mount "$CFG" "$MB" & pb=$!
wait $pa && wait $pb || t_bail "mount A and B"
T_MOUNTS+=("$MA" "$MB")
T_PIDS+=("$(t_daemon_pid "$MA")" "$(t_daemon_pid "$MB")")

gone() { sn_prefix_empty "$BK" "backup/$1/"; }
t_check "v0_4_30 (expired) is deleted (deadline 60 s)" t_wait 60 gone v0_4_30
t_eq "exactly one mount deleted it, logged with the reason" 1 "$(ex_log_count "deleting backup 'v0_4_30': it expired at 2020-01-01T00:00:00Z")"
for b in $copies; do
	t_check "$b (expired) is deleted (deadline 60 s)" t_wait 60 gone "$b"
	t_eq "$b: exactly one mount deleted it" 1 "$(ex_log_count "deleting backup '$b': it expired")"
done
diag "claims lost to the other mount: $(ex_log_count "is being deleted by another mount")"
t_eq "no delete failed" 0 "$(ex_log_count "delete of '.*' failed|cannot delete")"
t_check "it leaves ls of both mounts (deadline 10 s)" t_wait 10 sh -c "! ls '$MA' '$MB' | grep -qx v0_4_30"
kept() { [ "$(ex_log_count "backup 'v0_5_9' expired at .* but is kept: it is one of the newest 1 complete backups")" -ge 1 ]; }
t_check "v0_5_9, the newest complete backup, is kept with a warning (keep_min)" t_wait 20 kept
t_check "v0_5_9's objects are all still there" test "$(sn_count "$BK" backup/v0_5_9/)" -eq "$(find "$FIX/v0_5_9" -type f | wc -l | awk '{print $1 + 1}')"
t_eq "root .info shows v0_5_9 expired" expired "$(sn_root_state "$MA" v0_5_9)"
t_match "its .info says expired" '^state: +expired$' "$(cat "$MA/v0_5_9/.info")"
t_eq "TYPE auto (the sidecar's kind scheduled)" auto "$(awk '$1 == "v0_5_9" { print $3 }' "$MA/.info")"
t_eq "v0_4_12 (not due) is complete and stays" complete "$(sn_root_state "$MB" v0_4_12)"
t_eq "broken_incomplete (expired, but incomplete) stays" incomplete "$(sn_root_state "$MA" broken_incomplete)"
t_eq "no delete was logged for the others" 0 "$(ex_log_count "deleting backup '(v0_5_9|v0_4_12|broken_incomplete)'")"

# --- delete_expired: false only marks
BK2=$(t_bucket) || t_bail "bucket 2"
for b in v0_5_9 v0_4_30; do t_upload "$FIX/$b" "$BK2" "backup/$b"; done
ex_sidecar "$BK2" v0_4_30 "$past" || t_bail "sidecar"
CFG2=$(t_config_s3 "$BK2" backup "$(printf 'mvbackupfs:\n  delete_expired: false\n')")
MC=$(t_mkmnt)
t_mount_or_bail "$CFG2" "$MC"
marked() { [ "$(ex_log_count "backup 'v0_4_30' expired at 2020-01-01T00:00:00Z; not deleted \(mvbackupfs.delete_expired is false\)")" -ge 1 ]; }
t_check "delete_expired false: the expiry is logged, not acted on (deadline 20 s)" t_wait 20 marked
t_eq "root .info shows it expired" expired "$(sn_root_state "$MC" v0_4_30)"
t_check "its objects are still there" test "$(sn_count "$BK2" backup/v0_4_30/)" -gt 1

# --- in use: a file open in the backup; and .expires acted on at once
BK3=$(t_bucket) || t_bail "bucket 3"
for b in v0_5_9 v0_4_30 v0_4_12; do t_upload "$FIX/$b" "$BK3" "backup/$b"; done
CFG3=$(t_config_s3 "$BK3" backup)
MD=$(t_mkmnt)
t_mount_or_bail "$CFG3" "$MD"
exec 3<"$MD/v0_4_30/meta/backup_meta.json" || t_bail "open"
t_eq "echo 2s > v0_4_30/.expires (a file of it is open)" "" "$(ex_write "$MD/v0_4_30/.expires" 2s)"
t_eq "echo 2s > v0_4_12/.expires" "" "$(ex_write "$MD/v0_4_12/.expires" 2s)"
t_check "v0_4_12 is deleted within seconds of expiring (deadline 30 s)" t_wait 30 sh -c "! ls '$MD' | grep -qx v0_4_12"
inuse() { [ "$(ex_log_count "backup 'v0_4_30' expired at .* but is in use")" -ge 1 ]; }
t_check "v0_4_30, being read, is held: logged (deadline 20 s)" t_wait 20 inuse
t_check "v0_4_30 is still complete" test "$(sn_root_state "$MD" v0_4_30)" = expired
exec 3<&-
t_check "unmount" t_umount "$MD"
t_done
