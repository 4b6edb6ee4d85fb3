#!/usr/bin/env bash
# t_copy_sidecar: the sidecar travels (issue 11) and is merged with the target's reservation
# (docs/format-notes.md "Sidecar").
#   - a backup with no sidecar (made by milvus-backup; `external` on A) copied with cp -r:
#     TYPE copied on B, no expiry;
#   - the same backup after `echo 5d > .expires` on A, copied to C: TYPE copied, A's EXPIRES,
#     its mvbackupfs.json reads as A's;
#   - `echo 7d > .expires` on C: C's mvbackupfs.json then reads as the merge (kind import,
#     C's job, the new expiry), A keeps its own;
#   - copied on from C to D (a chain): TYPE copied, C's new EXPIRES.
# Source: the fixture backups on a local-directory mount A (local -> S3).
. "$(dirname "$0")/lib.sh"
cp_begin

FIX=$(t_fixtures) || t_bail "fixtures"
mkdir -p "$T_TMP/local"
cp -r "$FIX" "$T_TMP/local/backup"
rm -f "$T_TMP/local/backup/v0_6_main/mvbackupfs.json"
MA=$(t_mkmnt)
t_mount_or_bail "$(t_config_local "$T_TMP/local/backup")" "$MA"
N=v0_6_main
t_eq "A: $N is external (no sidecar)" external "$(cp_root_col "$MA" $N TYPE)"

# 1. no sidecar arrives
cp_target
t_check "cp -r A/$N B/ exits 0 with no message" sh -c "cp -r '$MA/$N' '$MB/' 2>&1 | (! grep .)"
t_check "B: the copy commits (complete)" cp_wait_complete 60 "$MB" $N
t_eq "B: root .info TYPE copied (arrived by copy, though not made by mvbackupfs)" copied "$(cp_root_col "$MB" $N TYPE)"
t_eq "B: root .info EXPIRES never" never "$(cp_root_col "$MB" $N EXPIRES)"

# 2. a sidecar with an expiry arrives
t_eq "A: echo 5d > $N/.expires succeeds" "" "$( (echo 5d >"$MA/$N/.expires") 2>&1)"
exp_a=$(cat "$MA/$N/.expires")
cp_target
MC=$MB BC=$BB
t_check "cp -r A/$N C/ exits 0 with no message" sh -c "cp -r '$MA/$N' '$MC/' 2>&1 | (! grep .)"
t_check "C: the copy commits (complete)" cp_wait_complete 60 "$MC" $N
cp_same_sidecar "C" "$MA" "$MC" $N %s
t_eq "C: .expires reads A's" "$exp_a" "$(cat "$MC/$N/.expires")"
sc=$(on_b s3_curl GET "/$BC/backup/$N/mvbackupfs.json")
t_match "C: the stored sidecar is the merge (kind import, C's job, A's expiry, as copied)" \
	"\"expires\":\"$exp_a\",\"kind\":\"import\",\"job\":\"import-.*\"as_copied\":" "$sc"

# 3. changed on C: the merge shows, A keeps its own
t_eq "C: echo 7d > $N/.expires succeeds" "" "$( (echo 7d >"$MC/$N/.expires") 2>&1)"
exp_c=$(cat "$MC/$N/.expires")
t_match "C: mvbackupfs.json now reads as the merge with the new expiry" \
	"\"expires\":\"$exp_c\",\"kind\":\"import\",\"job\":\"import-" "$(cat "$MC/$N/mvbackupfs.json")"
t_check "C: it no longer carries the bytes as copied" sh -c "! grep -q as_copied '$MC/$N/mvbackupfs.json'"
t_eq "A: .expires unchanged" "$exp_a" "$(cat "$MA/$N/.expires")"

# 4. copied on: C -> D
cp_target
t_check "cp -r C/$N D/ exits 0 with no message" sh -c "cp -r '$MC/$N' '$MB/' 2>&1 | (! grep .)"
t_check "D: the copy commits (complete)" cp_wait_complete 60 "$MB" $N
t_eq "D: root .info TYPE copied" copied "$(cp_root_col "$MB" $N TYPE)"
t_eq "D: root .info EXPIRES is C's new one" "$exp_c" "$(cp_root_col "$MB" $N EXPIRES)"
t_done
