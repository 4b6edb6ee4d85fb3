#!/usr/bin/env bash
# t_list: the root of a mount lists exactly the backups and stray objects of the backup root
# (spec §3); virtual entries (.info, .snapshot, per-backup .info/.status/...) are reachable by
# name but never listed; sizes, modes, owner and mtimes are real.
. "$(dirname "$0")/lib.sh"
t_begin
t_upload_t0=$(date +%s)
t_fixture_mount

# --- readdir of the root: the same names as the fixture root, nothing virtual
(cd "$FIX" && ls -A | LC_ALL=C sort) >"$T_TMP/want.ls"
t_check "ls of the root succeeds" sh -c "ls -A '$MNT' >'$T_TMP/got.raw'"
LC_ALL=C sort "$T_TMP/got.raw" >"$T_TMP/got.ls"
t_same_lines "ls -A lists exactly the backups and stray objects" "$T_TMP/want.ls" "$T_TMP/got.ls"
t_eq "no dot names in the root listing" "" "$(grep '^\.' "$T_TMP/got.ls" || true)"
missing=$(t_expected_backups | while read -r b; do grep -qxF "$b" "$T_TMP/got.ls" || echo "$b"; done)
t_eq "every backup of expected.tsv is listed" "" "$missing"

# --- ls -la: sizes, modes, owner
me=$(id -u)
t_check "ls -la of the root succeeds" ls -la "$MNT"
bad=""
while read -r e; do
	if [ -f "$FIX/$e" ]; then
		want="regular file 444 $me $(stat -c %s "$FIX/$e")"
		got=$(stat -c '%F %a %u %s' "$MNT/$e" 2>&1)
	else
		want="directory"
		got=$(stat -c '%F' "$MNT/$e" 2>&1)
	fi
	[ "$got" = "$want" ] || bad+="$e: want '$want' got '$got'; "
done <"$T_TMP/want.ls"
t_eq "stray objects are read-only files (0444) with their sizes, backups are directories" "" "$bad"

bad=""
while read -r b; do
	[ "$(t_backup_state "$b")" = complete ] || continue
	m=$(stat -c '%a %u' "$MNT/$b") || { bad+="$b: stat failed; "; continue; }
	# directories: 0755 on a writable mount - the owner may rm -rf a backup (issue 6, bug 7;
	# removing inside deletes nothing by itself) - files 0444
	[ "$m" = "755 $me" ] || bad+="$b: dir '$m'; "
	# every file of a committed backup: 0444, the fixture's size
	while read -r size rel; do
		got=$(stat -c '%a %s' "$MNT/$b/$rel" 2>/dev/null) || { bad+="$b/$rel: missing; "; continue; }
		[ "$got" = "444 $size" ] || bad+="$b/$rel: '$got' (want '444 $size'); "
	done < <(t_files "$FIX/$b")
	# directories inside: 0755 too
	while read -r d; do
		got=$(stat -c %a "$MNT/$b/$d" 2>/dev/null) || { bad+="$b/$d: missing; "; continue; }
		[ "$got" = 755 ] || bad+="$b/$d: dir mode $got; "
	done < <(cd "$FIX/$b" && find . -mindepth 1 -type d -printf '%P\n')
done < <(t_expected_backups)
t_eq "complete backups: directories 0755 (writable mount), files 0444 with their real sizes, owned by the mounting user" "" "$bad"

# mtimes are the objects' LastModified: the time of the upload, not 1970 and not the mount
now=$(date +%s)
bad=""
while read -r e; do
	[ -f "$FIX/$e" ] || continue
	mt=$(stat -c %Y "$MNT/$e")
	{ [ "$mt" -ge $((t_upload_t0 - 5)) ] && [ "$mt" -le $((now + 5)) ]; } || bad+="$e: mtime $mt; "
done <"$T_TMP/want.ls"
t_eq "stray objects carry their upload time as mtime" "" "$bad"

# --- inside a backup: the stored objects only
b=$(t_expected_backups | while read -r x; do [ "$(t_backup_state "$x")" = complete ] && echo "$x"; done | head -n 1)
[ -n "$b" ] || t_bail "expected.tsv names no complete backup"
t_same_lines "ls -A of backup '$b' lists its stored objects only" \
	<(cd "$FIX/$b" && ls -A | LC_ALL=C sort) <(ls -A "$MNT/$b" | LC_ALL=C sort)
t_same_lines "find of backup '$b' sees the stored tree only" <(t_tree "$FIX/$b") <(t_tree "$MNT/$b")

# --- virtual entries: lookup by name only
t_eq "stat .info: a read-only regular file" "regular file 444" "$(stat -c '%F %a' "$MNT/.info" 2>&1)"
t_eq "stat .snapshot: a directory" "directory" "$(stat -c '%F' "$MNT/.snapshot" 2>&1)"
t_check "ls .snapshot succeeds" ls -A "$MNT/.snapshot"
t_eq "ls .snapshot is empty (no snapshot is being taken)" "" "$(ls -A "$MNT/.snapshot" 2>&1)"
t_eq "stat $b/.info: a read-only regular file" "regular file 444" "$(stat -c '%F %a' "$MNT/$b/.info" 2>&1)"
t_eq "stat $b/.status: a read-only regular file" "regular file 444" "$(stat -c '%F %a' "$MNT/$b/.status" 2>&1)"
t_check_fails "a name that does not exist: stat fails" stat "$MNT/no_such_backup"
t_match "  ... with ENOENT" "No such file or directory" "$(stat "$MNT/no_such_backup" 2>&1)"
t_check_fails "a dot name that is not virtual does not exist" stat "$MNT/.no_such_thing"

t_check "unmount" t_umount "$MNT"

# a read-only mount: nothing may be removed, so directories are 0555
MRO=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MRO" -o ro
t_eq "read-only mount: backup directories 0555" "555 555" "$(stat -c %a "$MRO/v0_6_main" "$MRO/v0_6_main/meta" | tr '\n' ' ' | sed 's/ $//')"
t_check "unmount the read-only mount" t_umount "$MRO"
t_done
