#!/usr/bin/env bash
# t_badinput: what a read-write mount refuses, each with a clear errno and nothing written:
# a copy target at the root with a bad name (EINVAL) or a taken one (EEXIST), creating files
# outside a backup being copied in or writing into a complete backup (EROFS), nested names
# under .snapshot, removing the virtual directory; and --print-config
# shows the resolved configuration without its secrets.
. "$(dirname "$0")/lib.sh"
t_begin
t_fixture_mount

count() { t_rclone lsf -R --files-only "mvbs3:$BUCKET" 2>/dev/null | wc -l; }
n0=$(count)
t_check "the bucket holds the fixtures" test "$n0" -gt 0

t_match "mkdir MNT/new-backup (not a backup name): Invalid argument" \
	'Invalid argument' "$(mkdir "$MNT/new-backup" 2>&1)"
t_check "new-backup does not appear" sh -c "! ls '$MNT' | grep -qx new-backup"
t_match "mkdir MNT/v0_6_main (taken): File exists" 'File exists' "$(mkdir "$MNT/v0_6_main" 2>&1)"
t_match "touch MNT/newfile: Read-only file system" 'Read-only file system' "$(touch "$MNT/newfile" 2>&1)"
t_match "touch MNT/v0_6_main/newfile (a complete backup): Read-only file system" \
	'Read-only file system' "$(touch "$MNT/v0_6_main/newfile" 2>&1)"
t_match "writing into a backup's file: Read-only file system" 'Read-only file system' \
	"$(sh -c "echo x >> '$MNT/v0_6_main/meta/backup_meta.json'" 2>&1)"
t_check "that file is unchanged" cmp "$FIX/v0_6_main/meta/backup_meta.json" "$MNT/v0_6_main/meta/backup_meta.json"
t_match "mkdir .snapshot/a/b: No such file or directory" 'No such file or directory' \
	"$(mkdir "$MNT/.snapshot/a/b" 2>&1)"
t_match "rmdir .snapshot: refused" 'Operation not permitted|Permission denied|Device or resource busy' \
	"$(rmdir "$MNT/.snapshot" 2>&1)"
t_check ".snapshot is still there" test -d "$MNT/.snapshot"
t_eq "nothing was written to the bucket" "$n0" "$(count)"

# --print-config: the resolved values, secrets masked
out=$("$MVB_BIN" -c "$CFG" --print-config 2>&1); rc=$?
t_eq "--print-config exits 0" 0 "$rc"
t_match "--print-config shows the backup bucket" "$BUCKET" "$out"
t_check "--print-config never shows the secret key" sh -c "! printf '%s' \"\$1\" | grep -qF \"\$2\"" _ "$out" "$AWS_SECRET_ACCESS_KEY"

t_done
