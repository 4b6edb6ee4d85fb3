#!/usr/bin/env bash
# t_expires_shared: two mounts of one bucket (issue 9).  `echo 7d > .expires` on mount A shows
# on mount B -- in B's .expires, .info and root .info -- within a bounded time (B checks a
# committed backup's sidecar by its ETag at most once per cache TTL, fs/ns_sidecar.c), also
# when B had read all three before the change; B's NAME/mvbackupfs.json reads the new sidecar
# whole.  And back: `never` set on B shows on A.
# shellcheck disable=SC2010
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
t_need_s3
BK=$(t_bucket) || t_bail "bucket"
FIX=$(t_fixtures) || t_bail "fixtures"
for b in v0_5_9 v0_4_30; do t_upload "$FIX/$b" "$BK" "backup/$b"; done
ex_sidecar "$BK" v0_4_30 '{"format":1,"created_by":"test","kind":"manual","job":"j1"}' || t_bail "sidecar"
CFG=$(t_config_s3 "$BK" backup)
MA=$(t_mkmnt)
MB=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MA"
t_mount_or_bail "$CFG" "$MB"
expcol() { awk -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "EXPIRES") k = i; next } $1 == n && k { print $k }' "$1/.info"; }

# B reads everything first: its caches hold "never"
for b in v0_5_9 v0_4_30; do
	t_eq "B: $b/.expires reads never" never "$(cat "$MB/$b/.expires" 2>&1)"
	t_eq "B: root .info EXPIRES of $b is never" never "$(expcol "$MB" "$b")"
	cat "$MB/$b/.info" >/dev/null
done
t_check "B: v0_4_30/mvbackupfs.json reads (cached with its size)" grep -q '"job":"j1"' "$MB/v0_4_30/mvbackupfs.json"

t_eq "A: echo 7d > v0_4_30/.expires succeeds" "" "$(ex_write "$MA/v0_4_30/.expires" 7d)"
want=$(cat "$MA/v0_4_30/.expires")
t_match "A: it reads back as an RFC 3339 time" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "$want"
t_check "B: v0_4_30/.expires shows A's value (deadline 10 s)" \
	t_wait 10 sh -c "[ \"\$(cat '$MB/v0_4_30/.expires')\" = '$want' ]"
t_check "B: v0_4_30/.info shows it (deadline 10 s)" \
	t_wait 10 sh -c "grep -Eq '^expires: +$want\$' '$MB/v0_4_30/.info'"
bexp() { [ "$(expcol "$MB" v0_4_30)" = "$want" ]; }
t_check "B: root .info EXPIRES shows it (deadline 10 s)" t_wait 10 bexp
t_check "B: v0_4_30/mvbackupfs.json reads A's new sidecar whole, its new size (deadline 10 s)" \
	t_wait 10 sh -c "python3 -c 'import json,sys; d = json.load(sys.stdin); sys.exit(d.get(\"expires\") != \"$want\")' <'$MB/v0_4_30/mvbackupfs.json'"
t_eq "B: root .info TYPE stays manual" manual "$(awk '$1 == "v0_4_30" { print $3 }' "$MB/.info")"
t_eq "B: v0_5_9 is untouched (never)" never "$(cat "$MB/v0_5_9/.expires" 2>&1)"

# a backup that had no sidecar, changed on B, seen on A (which has read it before)
t_eq "B: echo 36h > v0_5_9/.expires succeeds" "" "$(ex_write "$MB/v0_5_9/.expires" 36h)"
want=$(cat "$MB/v0_5_9/.expires")
t_check "A: v0_5_9/.expires shows B's value (deadline 10 s)" \
	t_wait 10 sh -c "[ \"\$(cat '$MA/v0_5_9/.expires')\" = '$want' ]"
t_eq "B: echo never > v0_4_30/.expires succeeds" "" "$(ex_write "$MB/v0_4_30/.expires" never)"
t_check "A: v0_4_30/.expires reads never again (deadline 10 s)" \
	t_wait 10 sh -c "[ \"\$(cat '$MA/v0_4_30/.expires')\" = never ]"
t_done
