#!/usr/bin/env bash
# t_copy_budget: a copy that one daemon both reads and writes (`cp -r` inside one mount) under a
# small memory budget completes, byte for byte.  The read-ahead's chunks and spare buffers are
# charged to the same budget as the copy's upload parts; when the reader could fill the budget,
# cp (blocked in write() on a part buffer, so reading nothing) waited a minute per file and
# failed with ENOBUFS ("No buffer space available").  Files larger than the budget, a local store.
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
root=$T_TMP/store/backup
mkdir -p "$root/SRC/binlogs"
for i in 1 2 3; do
	head -c $(( (40 << 20) + i * 4099 )) /dev/urandom >"$root/SRC/binlogs/f$i.bin"
done
CFG=$(t_config_local "$root" "mvbackupfs:
  memory:
    budget: 32MiB")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"

t_check "mkdir NEW (a copy in)" mkdir "$MNT/NEW"
# the budget wait is a minute per file: 50 s bounds the old failure and is ample for 120 MiB
t_eq "cp -r of 3 x 40 MiB inside the mount (budget 32 MiB): no error, within 50 s" "" \
	"$(timeout 50 cp -r "$MNT/SRC/binlogs" "$MNT/NEW/binlogs" 2>&1 || echo "exit $?")"
for i in 1 2 3; do
	# the upload goes on after close() (write-behind): wait for it, then compare
	t_check "f$i.bin reaches the store, unchanged" \
		t_wait 30 cmp -s "$root/SRC/binlogs/f$i.bin" "$root/NEW/binlogs/f$i.bin"
done
t_check_fails "the log has no 'memory budget stayed full'" \
	grep -q "memory budget stayed full" "$T_TMP"/daemon-*.log
t_check "unmount" t_umount "$MNT"
t_done
