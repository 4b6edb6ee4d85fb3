#!/usr/bin/env bash
# t_local: `storageType: local` (spec §2) -- the fixture tree in a directory on disk mounts with
# the same listing and byte-exact reads as on S3, with no server at all.
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
FIX=$(t_fixtures) || t_bail "fixtures"
root=$T_TMP/store/backup
mkdir -p "$root"
cp -a "$FIX/." "$root/"
CFG=$(t_config_local "$root")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"

t_same_lines "ls -A lists exactly the backups and stray objects" \
	<(cd "$FIX" && ls -A | LC_ALL=C sort) <(ls -A "$MNT" | LC_ALL=C sort)
t_same_lines "find sees the stored tree, nothing virtual" <(t_tree "$FIX") <(t_tree "$MNT")
t_same_lines "sizes are the files' sizes" <(t_files "$FIX") <(t_files "$MNT")
t_check "diff -r: every file byte-exact" diff -r "$FIX" "$MNT"
big=$(cd "$FIX" && find . -type f -printf '%s %P\n' | sort -n | tail -n 1); big=${big#* }
t_eq "a ranged read of '$big' is exact" \
	"$(dd if="$FIX/$big" iflag=skip_bytes,count_bytes skip=1000001 count=3000000 status=none | md5sum)" \
	"$(dd if="$MNT/$big" iflag=skip_bytes,count_bytes skip=1000001 count=3000000 status=none | md5sum)"
t_eq "stat .info works by name" "regular file" "$(stat -c %F "$MNT/.info" 2>&1)"
b=$(t_expected_backups | while read -r x; do [ "$(t_backup_state "$x")" = complete ] && echo "$x"; done | head -n 1)
t_match "the root .info shows '$b' complete" "$b.*complete" "$(cat "$MNT/.info" 2>&1)"
t_eq "the store directory is untouched by browsing" "" "$(diff -r "$FIX" "$root" 2>&1)"
t_check "unmount" t_umount "$MNT"
t_done
