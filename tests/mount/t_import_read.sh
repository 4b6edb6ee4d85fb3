#!/usr/bin/env bash
# t_import_read: a file copied into a backup that is not committed yet is shown by stat (0644,
# its size) but cannot be read: open answers EBUSY with a log line that says why, never ENOENT
# ("No such file" right after `ls` showed it).  Reads work again once the backup is committed
# (t_copy_tools covers that on S3); names that do not exist stay ENOENT.
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
root=$T_TMP/store/backup
mkdir -p "$root"
head -c 3000000 /dev/urandom >"$root/stray.bin"
CFG=$(t_config_local "$root")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"

t_check "mkdir NEW (a copy in)" mkdir "$MNT/NEW"
t_check "mkdir NEW/binlogs" mkdir "$MNT/NEW/binlogs"
t_check "cp a file into it" cp "$MNT/stray.bin" "$MNT/NEW/binlogs/part.bin"
t_eq "stat shows the file being copied in: 0644, its size" "644 3000000" \
	"$(stat -c '%a %s' "$MNT/NEW/binlogs/part.bin" 2>&1)"
t_match "reading it before the commit: Device or resource busy" "Device or resource busy" \
	"$(cat "$MNT/NEW/binlogs/part.bin" 2>&1 >/dev/null)"
t_match "  ... and the log says why" "being copied in: readable once the backup is committed" \
	"$(cat "$T_TMP"/daemon-*.log 2>/dev/null)"
t_match "a name the copy never wrote: No such file or directory" "No such file or directory" \
	"$(cat "$MNT/NEW/binlogs/other.bin" 2>&1 >/dev/null)"
# the upload goes on after close() (write-behind): wait for it, then compare
t_check "the uploaded bytes reach the store, unchanged" \
	t_wait 30 cmp -s "$root/stray.bin" "$root/NEW/binlogs/part.bin"
t_check "unmount" t_umount "$MNT"
t_done
