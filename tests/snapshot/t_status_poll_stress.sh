#!/usr/bin/env bash
# t_status_poll_stress: poll() on .status never misses a job's final change (issue 6, bug 8).
# Many short snapshots, each watched from the moment its mkdir returns by several readers
# that poll() the open .status and re-read it from offset 0 after every wake-up; each reader
# must see the final state (complete) through poll() within a deadline - a reader whose
# poll() times out while .status still says creating missed the last wake-up.
. "$(dirname "$0")/lib.sh"
sn_begin

N=${MVB_POLL_STRESS_JOBS:-20}		# snapshots
K=${MVB_POLL_STRESS_READERS:-6}		# readers (open files, each its own poll() loop) per snapshot
sa_start a STANDIN_BINLOG_MAX_ROWS=10 || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 200 --batches 1 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"

# For each of N names: mkdir .snapshot/NAME, open NAME/.status K times, one thread per open
# file: read, poll(deadline left), re-read ... until the state is final.  Prints one line per
# snapshot: "NAME final STATE,STATE,... wakeups N missed M" (missed: readers whose poll()
# timed out before they saw a final state).
out=$(python3 - "$MNT" "$N" "$K" <<'PY'
import os, select, sys, threading, time
mnt, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
DEADLINE = 60.0
def state(t):
    for line in t.splitlines():
        key, _, v = line.partition(' ')
        if key == 'state':
            return v.strip()
    return ''
def reader(path, res, i, end):
    fd = os.open(path, os.O_RDONLY)
    p = select.poll()
    p.register(fd, select.POLLIN)
    wakeups = 0
    st = state(os.pread(fd, 65536, 0).decode())
    while st == 'creating':
        left = end - time.monotonic()
        if left <= 0 or not p.poll(int(left * 1000)):
            res[i] = ('missed:' + st, wakeups)
            os.close(fd)
            return
        wakeups += 1
        st = state(os.pread(fd, 65536, 0).decode())
    res[i] = (st, wakeups)
    os.close(fd)
for j in range(n):
    name = 'ps_%d' % j
    try:
        os.mkdir(os.path.join(mnt, '.snapshot', name))
    except OSError as e:
        print(name, 'mkdir-error', e.strerror); continue
    end = time.monotonic() + DEADLINE
    res = [None] * k
    ts = [threading.Thread(target=reader, args=(os.path.join(mnt, name, '.status'), res, i, end)) for i in range(k)]
    for t in ts: t.start()
    for t in ts: t.join()
    missed = sum(1 for r in res if r[0].startswith('missed'))
    print(name, 'final', ','.join(sorted(set(r[0] for r in res))), 'wakeups', sum(r[1] for r in res), 'missed', missed)
    sys.stdout.flush()
PY
)
printf '%s\n' "$out" | sed 's/^/# /'
t_eq "$N snapshots were watched" "$N" "$(printf '%s\n' "$out" | grep -c ' final ')"
t_eq "every reader saw the final state through poll() (no poll() timed out while creating)" \
	"" "$(printf '%s\n' "$out" | awk '$NF != 0' | head -n 5)"
t_eq "every snapshot ended complete, as every reader saw it" \
	"" "$(printf '%s\n' "$out" | awk '$3 != "complete"' | head -n 5)"
t_check "the readers were woken by poll() (wake-ups > 0)" \
	test "$(printf '%s\n' "$out" | awk '{ s += $5 } END { print s + 0 }')" -gt 0
t_match "ps_0/.info: complete" '^state: +complete' "$(cat "$MNT/ps_0/.info" 2>&1)"

t_done
