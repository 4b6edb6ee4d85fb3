#!/usr/bin/env bash
# t_expires: NAME/.expires (spec §5.6, issue 9) -- lookup-only, 0644, reads `never` or an
# RFC 3339 UTC time; accepts never, a duration from now and an RFC 3339 time, stored in the
# backup's mvbackupfs.json (other fields kept); junk or a past time -> EINVAL, -o ro -> EROFS,
# a backup that is not complete -> EAGAIN.  .info and the root .info show the expiry; the root
# table's TYPE column says who made each backup.
# shellcheck disable=SC2010  # what ls (readdir) shows is what these tests check
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
t_need_s3
BK=$(t_bucket) || t_bail "bucket"
FIX=$(t_fixtures) || t_bail "fixtures"
for b in v0_5_9 v0_4_30 broken_incomplete; do t_upload "$FIX/$b" "$BK" "backup/$b"; done
ex_sidecar "$BK" v0_4_30 '{"format":1,"created_by":"someone","kind":"manual","job":"j7","x_future":1}' || t_bail "sidecar"
CFG=$(t_config_s3 "$BK" backup)
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
MRO=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MRO" -o ro

t_eq "cat .expires of a backup without expiry: never" never "$(cat "$MNT/v0_5_9/.expires" 2>&1)"
t_eq ".expires is a 0644 regular file" "644 regular file" "$(stat -c '%a %F' "$MNT/v0_5_9/.expires" 2>&1)"
t_check "ls -a does not list .expires (lookup-only)" sh -c "! ls -a '$MNT/v0_5_9' | grep -qx .expires"
t_match "root .info has a TYPE column" '^NAME +STATE +TYPE +CREATED +EXPIRES' "$(head -n 1 "$MNT/.info")"
t_eq "TYPE external: made by milvus-backup (no sidecar)" external "$(awk '$1 == "v0_5_9" { print $3 }' "$MNT/.info")"
t_eq "TYPE manual: the sidecar says so" manual "$(awk '$1 == "v0_4_30" { print $3 }' "$MNT/.info")"

# a duration from now
t0=$(date +%s)
t_eq "echo 7d > .expires succeeds" "" "$(ex_write "$MNT/v0_5_9/.expires" 7d)"
t1=$(date +%s)
got=$(cat "$MNT/v0_5_9/.expires" 2>&1)
gs=$(date -u -d "$got" +%s 2>/dev/null || echo 0)
t_check ".expires reads now+7d as RFC 3339 UTC ($got)" sh -c "[ $gs -ge $((t0 + 7*86400)) ] && [ $gs -le $((t1 + 7*86400)) ] && echo '$got' | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'"
t_match "the sidecar in the bucket holds it" "\"expires\":\"$got\"" "$(ex_get "$BK" backup/v0_5_9/mvbackupfs.json)"
t_match ".info shows it" "^expires: +$got\$" "$(cat "$MNT/v0_5_9/.info")"
t_eq "root .info shows it" "$got" "$(awk '$1 == "v0_5_9" { print $5 }' "$MNT/.info")"
t_eq "TYPE stays external (a sidecar made only for the expiry)" external "$(awk '$1 == "v0_5_9" { print $3 }' "$MNT/.info")"

# an RFC 3339 time, on a backup whose sidecar has other fields
t_eq "echo 2099-01-02T03:04:05Z > .expires succeeds" "" "$(ex_write "$MNT/v0_4_30/.expires" 2099-01-02T03:04:05Z)"
t_eq "it reads back" 2099-01-02T03:04:05Z "$(cat "$MNT/v0_4_30/.expires" 2>&1)"
sc=$(ex_get "$BK" backup/v0_4_30/mvbackupfs.json)
t_match "the sidecar keeps its other fields" '"created_by":"someone".*"expires":"2099-01-02T03:04:05Z".*"kind":"manual".*"job":"j7"' "$sc"
t_eq "an offset is converted to UTC" "" "$(ex_write "$MNT/v0_4_30/.expires" 2099-01-02T05:04:05+02:00)"
t_eq "... and reads back in UTC" 2099-01-02T03:04:05Z "$(cat "$MNT/v0_4_30/.expires" 2>&1)"
t_eq "echo 36h succeeds" "" "$(ex_write "$MNT/v0_4_30/.expires" 36h)"
t_eq "echo never succeeds" "" "$(ex_write "$MNT/v0_4_30/.expires" never)"
t_eq "it reads never" never "$(cat "$MNT/v0_4_30/.expires" 2>&1)"
no_expires() { ex_get "$BK" backup/v0_4_30/mvbackupfs.json >"$T_TMP/sc" && ! grep -q expires "$T_TMP/sc"; }
t_check "the sidecar has no expires any more" no_expires

# refusals: the errno of the write, nothing changed
before=$(ex_get "$BK" backup/v0_5_9/mvbackupfs.json)
for v in soon 90 0d 7x "7d later" 2020-01-01T00:00:00Z "$(ex_iso $(( $(date +%s) - 60 )))" 2026-13-01T00:00:00Z; do
	t_eq "echo '$v' > .expires -> EINVAL" "Invalid argument" "$(ex_write "$MNT/v0_5_9/.expires" "$v")"
done
t_eq "refused writes changed nothing" "$before" "$(ex_get "$BK" backup/v0_5_9/mvbackupfs.json)"
t_eq "-o ro: echo 7d > .expires -> EROFS" "Read-only file system" "$(ex_write "$MRO/v0_5_9/.expires" 7d)"
t_eq "-o ro: .expires is 0444" 444 "$(stat -c %a "$MRO/v0_5_9/.expires" 2>&1)"
t_eq "incomplete: echo 7d > .expires -> EAGAIN" "Resource temporarily unavailable" "$(ex_write "$MNT/broken_incomplete/.expires" 7d)"
t_eq "incomplete: no sidecar was written" "" "$(ex_get "$BK" backup/broken_incomplete/mvbackupfs.json)"
t_eq "no such backup: .expires -> ENOENT" "No such file or directory" "$(ex_write "$MNT/no_such/.expires" 7d)"
t_match "the refusal is logged with the value" "cannot set the expiry of 'v0_5_9' to 'soon'" "$(cat "$T_TMP"/daemon-*.log)"
t_check "unmount" t_umount "$MNT"
t_done
