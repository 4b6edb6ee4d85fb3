#!/usr/bin/env bash
# t_copy_errno: every errno of copying in (spec §5.3, issue 11), with nothing written where the
# call was refused:
#   mkdir NAME: bad name EINVAL, taken EEXIST (also by another mount's concurrent mkdir: exactly
#   one wins), -o ro EROFS; a write that is not sequential EINVAL (logged); writing
#   into a complete backup, at the root or next to it EROFS; chmod/utimens inside a complete
#   backup accepted and changing nothing; unlink of a file not yet committed removes it;
#   fsync returns 0 once the upload is on the server.
. "$(dirname "$0")/lib.sh"
cp_begin

cp_local_source
cp_target
count() { on_b t_rclone lsf -R --files-only "mvbs3:$BB" 2>/dev/null | wc -l; }

# mkdir at the root
t_match "mkdir bad-name: Invalid argument" 'Invalid argument' "$(mkdir "$MB/bad-name" 2>&1)"
t_match "mkdir 9lives: Invalid argument" 'Invalid argument' "$(mkdir "$MB/9lives" 2>&1)"
t_eq "nothing written for refused names" 0 "$(count)"
t_check "cp -r v0_4_30 (a copy to refuse over)" cp -r "$MA/v0_4_30" "$MB/"
t_check "v0_4_30 completes" cp_wait_complete 30 "$MB" v0_4_30
n0=$(count)
t_match "mkdir v0_4_30 (taken): File exists" 'File exists' "$(mkdir "$MB/v0_4_30" 2>&1)"
t_match "write into a complete backup: Read-only file system" 'Read-only file system' \
	"$(sh -c "echo x > '$MB/v0_4_30/meta/new.json'" 2>&1)"
t_match "overwrite a file of a complete backup: Read-only file system" 'Read-only file system' \
	"$(sh -c "cat '$MA/v0_4_30/meta/full_meta.json' > '$MB/v0_4_30/meta/full_meta.json'" 2>&1)"
t_match "mkdir inside a complete backup: Read-only file system" 'Read-only file system' \
	"$(mkdir "$MB/v0_4_30/extra" 2>&1)"
t_match "a file at the root: Read-only file system" 'Read-only file system' "$(touch "$MB/stray" 2>&1)"
t_match "a file in .snapshot: Read-only file system" 'Read-only file system' "$(touch "$MB/.snapshot/x" 2>&1)"
t_check "chmod inside a complete backup: accepted" chmod 0600 "$MB/v0_4_30/meta/full_meta.json"
t_check "touch -d inside a complete backup: accepted" touch -d 2001-01-01 "$MB/v0_4_30/meta"
t_eq "...and the mode did not change" 444 "$(stat -c %a "$MB/v0_4_30/meta/full_meta.json")"
# tar -x over the complete copy: EEXIST, unlink (deletes nothing), EEXIST... must not loop
tar -C "$MA" -c v0_4_30 | timeout 60 tar -C "$MB" -x 2>"$T_TMP/tar.err"; rc=${PIPESTATUS[1]}
t_check "tar -x over a complete backup fails, and ends (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
t_eq "...v0_4_30 is still complete" complete "$(cp_state "$MB" v0_4_30)"
t_eq "nothing written for refused writes" "$n0" "$(count)"
t_check "v0_4_30 is whole and byte-identical after all that" cmp "$MA/v0_4_30/meta/full_meta.json" "$MB/v0_4_30/meta/full_meta.json"

# a read-only mount
MRO=$(t_mkmnt)
t_mount_or_bail "$CFGB" "$MRO" -o ro
t_match "-o ro: mkdir NAME: Read-only file system" 'Read-only file system' "$(mkdir "$MRO/ro_copy" 2>&1)"
t_eq "-o ro: nothing written" "$n0" "$(count)"

# two mounts race for one name: exactly one mkdir wins
MB2=$(t_mkmnt)
t_mount_or_bail "$CFGB" "$MB2"
go="$T_TMP/go"
for m in 1 2; do
	mnt=$MB; [ $m = 2 ] && mnt=$MB2
	( while [ ! -e "$go" ]; do sleep 0.01; done
	  if err=$(mkdir "$mnt/raced" 2>&1); then echo ok; else echo "$err"; fi >"$T_TMP/race-$m" ) &
done
touch "$go"; wait
r="$(cat "$T_TMP/race-1")
$(cat "$T_TMP/race-2")"
t_eq "two mounts: exactly one mkdir raced succeeded" 1 "$(printf '%s\n' "$r" | grep -cx ok)"
t_match "two mounts: the other got File exists" 'File exists' "$r"

# inside an importing backup
mkdir "$MB/imp" || t_bail "mkdir imp"
t_check "mkdir inside an importing backup" mkdir -p "$MB/imp/binlogs/insert_log"
t_check "a sequential write (dd, 3 MiB in 64 KiB blocks)" \
	dd if=/dev/urandom of="$MB/imp/binlogs/insert_log/f1" bs=64k count=48 status=none
t_match "a write that skips ahead: Invalid argument" 'Invalid argument' \
	"$(dd if=/dev/zero of="$MB/imp/binlogs/insert_log/f2" bs=4k count=1 seek=3 conv=notrunc status=none 2>&1)"
t_check "fsync of a new file returns 0 (dd conv=fsync)" \
	dd if=/dev/urandom of="$MB/imp/binlogs/insert_log/f3" bs=1M count=9 conv=fsync status=none
obj_size() { on_b t_rclone lsf --format s "mvbs3:$BB/$1" 2>/dev/null; }
t_eq "after fsync the object is on the server with its size (no wait)" 9437184 "$(obj_size backup/imp/binlogs/insert_log/f3)"
t_check "unlink of a file not committed" rm "$MB/imp/binlogs/insert_log/f3"
t_check "...it is gone from the server" t_wait 10 on_b sn_prefix_empty "$BB" backup/imp/binlogs/insert_log/f3
t_check "...and from the mount" test ! -e "$MB/imp/binlogs/insert_log/f3"
t_eq ".status: importing" importing "$(cp_state "$MB" imp)"
t_check "truncate of a new file to 0" truncate -s 0 "$MB/imp/binlogs/insert_log/f1"
t_eq "...its size is 0" 0 "$(stat -c %s "$MB/imp/binlogs/insert_log/f1")"
t_check "rmdir imp" rmdir "$MB/imp"
t_check "imp: nothing left" t_wait 30 on_b sn_prefix_empty "$BB" backup/imp/
t_done
