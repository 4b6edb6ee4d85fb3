#!/usr/bin/env bash
# t_readdir: a root with more backups than one FUSE readdir page holds lists every name exactly
# once, also while backups appear and go between the pages of one listing (the listing of an
# open directory is taken once and served by stable offsets: fs/dirsnap.h); a new listing
# (a new opendir) shows the change; `ls -l` shows every entry as the directory it is.
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
FIX=$(t_fixtures) || t_bail "fixtures"
N=1500
root=$T_TMP/store/backup
mkdir -p "$root"
src=$FIX/v0_5_9
[ -d "$src/meta" ] || t_bail "no fixture backup v0_5_9"
python3 -c '
import os, shutil, sys
src, root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(1, n + 1):
    shutil.copytree(os.path.join(src, "meta"), os.path.join(root, "backup_%04d" % i, "meta"))
' "$src" "$root" "$N" || t_bail "cannot make $N backups"
# the listing cache expires fast, so a fresh listing sees the store's changes at once
CFG=$(t_config_local "$root" "mvbackupfs:
  cache:
    ttlMs: 50")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"

t_same_lines "ls -A lists each of the $N backups exactly once" \
	<(cd "$root" && ls -A | LC_ALL=C sort) <(ls -A "$MNT" | LC_ALL=C sort)
t_eq "ls -l shows $N directories" "$N" "$(ls -l "$MNT" | grep -c '^d')"

# one listing read in two halves with the store changed in between: backup_0001 removed,
# backup_9999 added.  The second half must neither repeat nor skip a name of the first listing.
mkdir -p "$T_TMP/gone"
cat >"$T_TMP/halves.py" <<'PYEOF'
import os, subprocess, sys
mnt, root, gone = sys.argv[1:4]
it = os.scandir(mnt)
names = [next(it).name for _ in range(300)]
os.rename(os.path.join(root, "backup_0001"), os.path.join(gone, "backup_0001"))
subprocess.run(["cp", "-r", os.path.join(gone, "backup_0001"), os.path.join(root, "backup_9999")], check=True)
# let the listing cache expire, and prove it did: a new listing shows the change
import time
deadline = time.monotonic() + 20
while "backup_9999" not in os.listdir(mnt):
    if time.monotonic() > deadline:
        sys.exit("a new listing never showed backup_9999")
    time.sleep(0.05)
names += [e.name for e in it]
print("\n".join(names))
PYEOF
t_check "a listing read in two halves around a change completes" \
	sh -c "python3 '$T_TMP/halves.py' '$MNT' '$root' '$T_TMP/gone' >'$T_TMP/halves.out'"
t_eq "no name twice in that listing" "" "$(LC_ALL=C sort "$T_TMP/halves.out" | uniq -d | head -n 3)"
t_same_lines "that listing is the one taken when it was opened" \
	<(for ((i = 1; i <= N; i++)); do printf 'backup_%04d\n' "$i"; done) <(LC_ALL=C sort "$T_TMP/halves.out")
t_same_lines "a new listing shows the change" \
	<(cd "$root" && ls -A | LC_ALL=C sort) <(ls -A "$MNT" | LC_ALL=C sort)
t_check "unmount" t_umount "$MNT"
t_done
