#!/usr/bin/env bash
# t_readdir_cache: the kernel keeps a directory's listing between two opendirs only while it is
# still the listing (fs/dirsnap.h, dirsnap_book).  Every `ls` right after a change shows it:
# a backup removed or added in the store by another writer (here the store itself, its
# listing uncached: ttlMs 0), another mount's rmdir, our own rmdir, our own `rm` of a file
# inside a backup (the backup leaves the root listing: a change the kernel does not see in
# the root), files copied into a new backup.  Each check lists twice in a row, so the second
# listing is one the kernel would serve from its cache if it kept it wrongly.
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
FIX=$(t_fixtures) || t_bail "fixtures"
N=40
root=$T_TMP/store/backup
mkdir -p "$root" "$T_TMP/gone"
src=$FIX/v0_5_9
[ -d "$src/meta" ] || t_bail "no fixture backup v0_5_9"
for ((i = 1; i <= N; i++)); do
	mkdir -p "$root/$(printf 'backup_%04d' "$i")"
	cp -r "$src/meta" "$root/$(printf 'backup_%04d' "$i")/"
done
CFG=$(t_config_local "$root" "mvbackupfs:
  cache:
    ttlMs: 0")
MNT=$(t_mkmnt)
MNT2=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
t_mount_or_bail "$CFG" "$MNT2"

listed() { ls "$MNT" | grep -x "$1" >/dev/null; }	# listed NAME: `ls MNT` shows NAME

# another writer removes and restores a backup between two listings, three times over
for r in 1 2 3; do
	ls "$MNT" >/dev/null
	t_check "round $r: ls shows backup_0010" listed backup_0010
	mv "$root/backup_0010" "$T_TMP/gone/" || t_bail "mv"
	t_check "round $r: the next ls no longer shows it (removed in the store)" sh -c "! ls '$MNT' | grep -qx backup_0010"
	mv "$T_TMP/gone/backup_0010" "$root/" || t_bail "mv back"
	t_check "round $r: the next ls shows it again (back in the store)" listed backup_0010
	t_check "round $r: and ls -l lists it as a directory" sh -c "ls -l '$MNT' | grep -q '^d.* backup_0010\$'"
done

# another mount deletes a backup: gone from this mount's listing once its objects are
ls "$MNT" >/dev/null
t_check "rmdir MNT2/backup_0020 (another mount)" rmdir "$MNT2/backup_0020"
t_check "ls of this mount stops showing backup_0020 (deadline 30 s)" \
	t_wait 30 sh -c "! ls '$MNT' | grep -qx backup_0020"

# our own rmdir: gone from the very next listing
ls "$MNT" >/dev/null
t_check "rmdir MNT/backup_0021" rmdir "$MNT/backup_0021"
t_check "the next ls does not show backup_0021" sh -c "! ls '$MNT' | grep -qx backup_0021"

# our own rm of a file inside a backup: the backup leaves the root listing (pending delete),
# though the kernel saw no change in the root
ls "$MNT" >/dev/null
t_check "ls shows backup_0022" listed backup_0022
t_check "rm MNT/backup_0022/meta/backup_meta.json" rm "$MNT/backup_0022/meta/backup_meta.json"
t_check "the next ls does not show backup_0022" sh -c "! ls '$MNT' | grep -qx backup_0022"

# a copy in: its files show in the next listing of their directory
t_check "mkdir MNT/NEW (a copy in)" mkdir "$MNT/NEW"
t_check "mkdir MNT/NEW/binlogs" mkdir "$MNT/NEW/binlogs"
t_eq "ls of the empty NEW/binlogs" "" "$(ls "$MNT/NEW/binlogs")"
t_check "cp a file into NEW/binlogs" cp "$src/meta/backup_meta.json" "$MNT/NEW/binlogs/a.json"
t_eq "the next ls of NEW/binlogs shows it" "a.json" "$(ls "$MNT/NEW/binlogs")"
t_check "cp another" cp "$src/meta/backup_meta.json" "$MNT/NEW/binlogs/b.json"
t_eq "the next ls of NEW/binlogs shows both" "a.json b.json" "$(ls "$MNT/NEW/binlogs" | xargs)"

t_check "unmount" t_umount "$MNT"
t_check "unmount the other" t_umount "$MNT2"
t_done
