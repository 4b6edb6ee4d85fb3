#!/usr/bin/env bash
# t_sidecar_requests: what stat, `ls -l` and cat of a copied backup's mvbackupfs.json ask of
# S3, counted by the fault proxy's request log (no fault is injected).  The copy's stored
# sidecar is the merge with the target's reservation and keeps the bytes that arrived
# ("as_copied"), which the mount shows (fs/sidecar_view.c).  The namespace reads it once per
# version of the sidecar: a stat after the kernel's attribute timeout, a readdirplus entry
# or a cat makes no GET of it (each made one before), and they show the size as copied.
. "$(dirname "$0")/lib.sh"
fp_begin
fp_start || t_bail "faultproxy"

FIX=$(t_fixtures) || t_bail "fixtures"
N=v0_6_main
mkdir -p "$T_TMP/local/backup"
cp -r "$FIX/$N" "$T_TMP/local/backup/" || t_bail "cp fixture"
MA=$(t_mkmnt)
t_mount_or_bail "$(t_config_local "$T_TMP/local/backup")" "$MA"
t_eq "A: echo 5d > $N/.expires (gives it a sidecar)" "" "$( (echo 5d >"$MA/$N/.expires") 2>&1)"
BK=$(t_bucket) || t_bail "bucket"
MB=$(t_mkmnt)
t_mount_or_bail "$(t_config_s3 "$BK" backup)" "$MB"
t_check "cp -r A/$N B/" cp -r "$MA/$N" "$MB/"
t_wait 60 sh -c "awk '\$1==\"state\"{print \$2}' '$MB/$N/.status' 2>/dev/null | grep -qx complete" \
	|| t_bail "the copy of $N did not commit"
t_match "the stored sidecar is the merge, with the bytes as copied" '"as_copied":' \
	"$(s3_curl GET "/$BK/backup/$N/mvbackupfs.json")"

# through the proxy: a fresh mount
MP=$(t_mkmnt)
t_mount_or_bail "$(fp_endpoint t_config_s3 "$BK" backup)" "$MP"
want=$(stat -c %s "$MA/$N/mvbackupfs.json")
t_eq "stat shows the size as copied" "$want" "$(stat -c %s "$MP/$N/mvbackupfs.json")"
# sidecar_gets: the GETs of the copy's sidecar in the proxy's log
sidecar_gets() { fp_log | grep -c "^GET [^ ]*/$N/mvbackupfs\.json"; }

t_match "the proxy saw that first look (the mount goes through it)" "GET [^ ]*$N" "$(fp_log)"
curl -sf -XDELETE "$FP_CTL/log" >/dev/null
# stat and ls -l for 3 s: past the kernel's 1 s attribute timeout, so that the getattrs and
# readdirplus listings reach the daemon again
sizes=$(
	end=$((SECONDS + 3))
	while [ $SECONDS -lt $end ]; do
		stat -c %s "$MP/$N/mvbackupfs.json"
		ls -l "$MP/$N" | awk '$NF == "mvbackupfs.json" { print $5 }'
	done | sort -u
)
t_eq "stat and ls -l show the size as copied throughout" "$want" "$sizes"
t_check "cat reads the bytes as copied" cmp "$MA/$N/mvbackupfs.json" "$MP/$N/mvbackupfs.json"
t_eq "no GET of the sidecar for them" 0 "$(sidecar_gets)" \
	|| fp_log | grep 'mvbackupfs\.json' | head -n 10 | sed 's/^/#   /'
t_done
