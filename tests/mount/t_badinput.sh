#!/usr/bin/env bash
# t_badinput: what a read-write mount refuses today, each with a clear errno and nothing
# written: creating a copy target at the root (not served yet: ENOTSUP), creating or writing
# files, nested names under .snapshot, removing the virtual directory; and --print-config
# shows the resolved configuration without its secrets.
. "$(dirname "$0")/lib.sh"
t_begin
t_fixture_mount

count() { t_rclone lsf -R --files-only "mvbs3:$BUCKET" 2>/dev/null | wc -l; }
n0=$(count)
t_check "the bucket holds the fixtures" test "$n0" -gt 0

t_match "mkdir MNT/newbackup: Operation not supported (copy-in comes later)" \
	'Operation not supported' "$(mkdir "$MNT/newbackup" 2>&1)"
t_check "newbackup does not appear" sh -c "! ls '$MNT' | grep -qx newbackup"
t_match "touch MNT/newfile: refused" 'Operation not supported|Permission denied' "$(touch "$MNT/newfile" 2>&1)"
t_match "writing into a backup's file: refused" 'Permission denied|Read-only' \
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
