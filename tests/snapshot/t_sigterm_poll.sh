#!/usr/bin/env bash
# t_sigterm_poll: SIGTERM while a snapshot runs and a reader poll()s its .status (issue 6, bug
# 6): the daemon stops its jobs before the FUSE session goes away - no sanitizer report, exit
# status 0, the mountpoint unmounted, the poller not left hanging, and after a remount the
# name is not complete.
#
# The snapshot is held in its flush phase (the stand-in stalls Flush), so the job is still
# running, and the poller is asleep in poll() with a wake-up registered, when SIGTERM comes.
# With the ASan daemon, tests/snapshot/session_guard.c is preloaded: it makes a wake-up sent
# through a destroyed session an ASan report (libfuse is not instrumented), and holds the
# exit after fuse_destroy() so that the stalled job calls back inside that window.
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 200 --batches 1 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK")
MNT=$(t_mkmnt)
SAN="$T_TMP/san"
mkdir -p "$SAN"
LOG="$T_TMP/daemon.log"

# sanitizer reports of this daemon go to $SAN (the suite's other options are kept)
san_env=(ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:log_path=$SAN/asan"
	UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}:log_path=$SAN/ubsan"
	TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0}:log_path=$SAN/tsan")
if ldd "$MVB_BIN" 2>/dev/null | grep 'libasan\.so' >/dev/null; then
	libasan=$(ldd "$MVB_BIN" | awk '/libasan\.so/ { print $3; exit }')
	cc -shared -fPIC -O1 -g -fsanitize=address -o "$T_TMP/session_guard.so" \
		"$SN_DIR/session_guard.c" -ldl 2>"$T_TMP/cc.err" || t_bail "cc session_guard.c: $(head -c 500 "$T_TMP/cc.err")"
	san_env+=(LD_PRELOAD="$libasan $T_TMP/session_guard.so" MVB_GUARD_HOLD_MS=4000)
	diag "ASan daemon: session_guard.so preloaded"
fi

# the daemon in the foreground (a child of this test: its exit status is visible)
env "${san_env[@]}" "$MVB_BIN" -c "$CFG" -f "$MNT" 2>"$LOG" &
PID=$!
T_PIDS+=("$PID")
T_MOUNTS+=("$MNT")
t_wait 20 mountpoint -q "$MNT" || t_bail "mount '$MNT': $(head -c 1000 "$LOG")"

sa_knob '{"STANDIN_STALL_METHOD":"Flush:3000:1"}' || t_bail "knob"
sn_mkdir "$MNT/.snapshot/term_1" || t_bail "mkdir .snapshot/term_1: $SN_ERR"
ok "mkdir .snapshot/term_1"

# The poller: re-reads .status from offset 0 after every wake-up; once it shows the flush
# phase it touches MARK and sleeps in poll() (60 s).  It ends when a read or poll fails (the
# mount went away) or the state is final, and prints how.
MARK="$T_TMP/poller.flush"
python3 - "$MNT/term_1/.status" "$MARK" >"$T_TMP/poller.out" 2>&1 <<'PY' &
import os, select, sys
path, mark = sys.argv[1], sys.argv[2]
def field(t, key):
    for line in t.splitlines():
        k, _, v = line.partition(' ')
        if k == key:
            return v.strip()
    return ''
fd = os.open(path, os.O_RDONLY)
p = select.poll()
p.register(fd, select.POLLIN)
while True:
    try:
        text = os.pread(fd, 65536, 0).decode()
    except OSError as e:
        print("read-error", e.errno); break
    st = field(text, 'state')
    if st in ('complete', 'failed', 'cancelled'):
        print("final", st); break
    if field(text, 'phase') == 'flush' and not os.path.exists(mark):
        open(mark, 'w').close()
    try:
        ev = p.poll(60000)
    except OSError as e:
        print("poll-error", e.errno); break
    if not ev:
        print("timeout"); break
    if ev[0][1] & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
        print("poll-hup", ev[0][1]); break
PY
POLLER=$!

t_wait 20 test -e "$MARK" || t_bail "the poller never saw phase flush: $(cat "$MNT/term_1/.status" 2>&1 | tr '\n' ' ')"
in_poll() { grep -q poll "/proc/$POLLER/wchan" 2>/dev/null; }
t_check "the poller sleeps in poll() while the snapshot is held in flush" t_wait 10 in_poll
t_eq "the snapshot is still running (state creating)" creating "$(sn_status "$MNT" term_1 state)"

kill -TERM "$PID"
t_check "the daemon exits within 30 s of SIGTERM" t_wait 30 t_pid_gone "$PID"
rc=0
wait "$PID" || rc=$?
t_eq "exit status 0 after SIGTERM" 0 "$rc"
t_check "the mountpoint is unmounted" t_wait 10 sh -c "! mountpoint -q '$MNT'"
reports=$(cat "$SAN"/* 2>/dev/null)
t_eq "no sanitizer report from the daemon" "" "$(printf '%s' "$reports" | head -n 40)"
t_check "the poller is not left hanging (ends within 10 s)" t_wait 10 t_pid_gone "$POLLER"
diag "poller: $(cat "$T_TMP/poller.out")"
t_match "the daemon logged its unmount" 'unmounted' "$(cat "$LOG")"

# what SIGTERM left: never a complete backup
sa_knob '{"STANDIN_STALL_METHOD":""}' || t_bail "knob"
t_mount_or_bail "$CFG" "$MNT"
st=$(sn_root_state "$MNT" term_1)
t_check "after a remount term_1 is absent or incomplete (is '${st:-absent}')" \
	test "${st:-absent}" = absent -o "$st" = incomplete

t_done
