#!/usr/bin/env bash
# t_status_poll: .status supports poll() (spec §5.7): a reader that polls an open .status
# wakes when the job's progress changes, and re-reading from offset 0 shows the news -
# without the reader sleeping or re-opening.  Also: .status is never cached (two reads in a
# row during a job differ as it moves on).
. "$(dirname "$0")/lib.sh"
sn_begin

# many small binlogs and one copy in flight: a copy phase that lasts long enough to watch
sa_start a STANDIN_BINLOG_MAX_ROWS=5 || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 2000 --batches 1 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK" "$(printf 'mvbackupfs:\n  snapshot:\n    parallel: 1\n')")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"

sn_mkdir "$MNT/.snapshot/poll_1" || t_bail "mkdir .snapshot/poll_1: $SN_ERR"
ok "mkdir .snapshot/poll_1"
t_check "ls .snapshot lists poll_1 while it runs" sh -c "ls '$MNT/.snapshot' | grep -qx poll_1"
t_eq "ls .snapshot/poll_1: an empty directory (the data is at MNT/poll_1)" "" "$(ls -A "$MNT/.snapshot/poll_1" 2>&1)"

# The watcher: poll() with a 10 s timeout per wake-up; after each wake-up, pread from 0 must
# show a different text.  It stops at state complete (or after 200 wake-ups) and prints
# "wakeups N changed N timeouts N final STATE".
out=$(python3 - "$MNT/poll_1/.status" <<'PY'
import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
def state(t):
    for line in t.splitlines():
        k, _, v = line.partition(' ')
        if k == 'state':
            return v
    return ''
text = os.pread(fd, 65536, 0).decode()
p = select.poll()
p.register(fd, select.POLLIN)
wakeups = changed = timeouts = 0
while state(text) == 'creating' and wakeups < 200:
    ev = p.poll(10000)
    if not ev:
        timeouts += 1
        break
    wakeups += 1
    new = os.pread(fd, 65536, 0).decode()
    if new != text:
        changed += 1
    text = new
print("wakeups %d changed %d timeouts %d final %s" % (wakeups, changed, timeouts, state(text)))
PY
)
diag "$out"
set -- $out
t_check "poll() woke at least 3 times during the job" test "${2:-0}" -ge 3
t_check "every wake-up showed a changed .status (re-read from offset 0)" test "${4:-0}" -eq "${2:--1}"
t_eq "no poll() timed out while the job ran (10 s each)" 0 "${6:-1}"
t_check "the job ends complete" sn_wait_state 120 "$MNT" poll_1 complete
t_match "poll_1/.info: complete" '^state: +complete' "$(cat "$MNT/poll_1/.info")"

t_done
