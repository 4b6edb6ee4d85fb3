#!/usr/bin/env bash
# t_read_stream: a steady sequential reader gets the rest of a large object from one streamed
# GET (storage/readahead.c, issue 10), and whatever ends that stream early, the reader gets
# exactly the stored bytes:
#   - a plain `cat`: one GET whose range runs to the object's end and covers most of it;
#   - the stream's answer cut half-way (headers, half its body, RST): the rest comes chunk by
#     chunk, and that file streams no more (no second long GET);
#   - the stream's server going silent half-way, connection open: the stream gives up after one
#     request timeout without a byte, not at its deadline for the whole object;
#   - a reader that pauses longer than the stream waits (2 s) and then reads on;
#   - readers that stop early (`head -c`), two readers of one object at once, and a reader
#     that turns to random reads half-way;
#   - after all of it the mount unmounts at once (no worker left waiting in a stream).
# The object is a stray object at the backup root, read through the fault proxy.
. "$(dirname "$0")/lib.sh"
fp_begin
fp_start || t_bail "faultproxy"

BK=$(t_bucket) || t_bail "bucket"
SRC=$T_TMP/src
mkdir -p "$SRC"
SIZE=$((160 * 1048576 + 4321))
head -c "$SIZE" /dev/urandom >"$SRC/big.bin" || t_bail "random object"
t_upload "$SRC" "$BK" backup
want=$(sha256sum <"$SRC/big.bin" | cut -d' ' -f1)
CFG=$(fp_endpoint t_config_s3 "$BK" backup "$(printf 'mvbackupfs:\n  s3:\n    requestTimeoutMs: 5000\n    maxTries: 3\n')")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
last=$((SIZE - 1))

# long_gets: the GETs of big.bin in the proxy's log whose range runs to the end and spans more
# than 32 MiB (the chunk-by-chunk path never asks for more than 8 MiB)
long_gets() {
	fp_log | python3 -c '
import re, sys
n = 0
for line in sys.stdin:
    m = re.search(r"range=bytes=(\d+)-(\d+)", line)
    if line.startswith("GET ") and "big.bin" in line and m and int(m.group(2)) == '"$last"' \
            and int(m.group(2)) - int(m.group(1)) > 32 * 1048576:
        n += 1
print(n)'
}
fp_log_has_range() { fp_log | grep -q 'range=bytes='; }

curl -sf -XDELETE "$FP_CTL/log" >/dev/null
t_eq "cat: sha256 of the object" "$want" "$(cat "$MNT/big.bin" | sha256sum | cut -d' ' -f1)"
if fp_log_has_range; then
	t_eq "cat: one streamed GET to the object's end" 1 "$(long_gets)"
	# it starts with the reader's first read, not once the read-ahead window has grown
	t_eq "cat: the streamed GET starts at byte 0" 1 \
		"$(fp_log | grep -c "^GET .*big\.bin.* range=bytes=0-$last\$")"
else
	t_check "the proxy logs the Range of each GET" false
fi

# the stream's answer cut half-way: correct bytes, and no second stream for that open
t_umount "$MNT"
t_mount_or_bail "$CFG" "$MNT"
curl -sf -XDELETE "$FP_CTL/log" >/dev/null
fp_rule "{\"method\":\"GET\",\"path\":\"big.bin\",\"header\":\"(?i)range: bytes=[0-9]+-$last\\\\r\",\"fault\":\"reset\",\"count\":1}" || t_bail "rule"
t_eq "cut stream: sha256 of the object" "$want" "$(cat "$MNT/big.bin" | sha256sum | cut -d' ' -f1)"
t_eq "cut stream: the proxy cut it" 1 "$(fp_fired)"
t_eq "cut stream: that open streams no more" 1 "$(long_gets)"
fp_clear

# the stream's server stops sending half-way and keeps the connection open: the stream gives
# up after one request timeout without a byte (5 s here), not at its own deadline, which grows
# with the rest of the object (5 s + 1 s per MiB: ~165 s), and the rest comes chunk by chunk
t_umount "$MNT"
t_mount_or_bail "$CFG" "$MNT"
curl -sf -XDELETE "$FP_CTL/log" >/dev/null
fp_rule "{\"method\":\"GET\",\"path\":\"big.bin\",\"header\":\"(?i)range: bytes=0-$last\\\\r\",\"fault\":\"stall_body\",\"stall_s\":300,\"count\":1}" || t_bail "rule"
t0=$(date +%s)
t_eq "stalled stream: sha256 of the object" "$want" "$(cat "$MNT/big.bin" | sha256sum | cut -d' ' -f1)"
took=$(($(date +%s) - t0))
t_eq "stalled stream: the proxy stalled it" 1 "$(fp_fired)"
t_check "stalled stream: cat ended within 60 s, not at the stream's deadline (took ${took} s)" \
	test "$took" -lt 60
fp_clear

# a reader that pauses for longer than a stream waits, then reads on
py_pause() {
	python3 - "$1" <<'EOF'
import hashlib, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
h, n = hashlib.sha256(), 0
while True:
    b = os.read(fd, 1048576)
    if not b:
        break
    h.update(b)
    n += len(b)
    if n == 40 * 1048576:
        time.sleep(3)   # the behaviour under test: a reader that pauses (RA_STREAM_WAIT_MS 2 s)
os.close(fd)
print(h.hexdigest())
EOF
}
t_eq "paused reader: sha256 of the object" "$want" "$(py_pause "$MNT/big.bin")"

# readers that stop early, two at once, and one that turns random half-way
t_eq "head -c: the first 50 MB" "$(head -c 50000000 "$SRC/big.bin" | sha256sum)" \
	"$(head -c 50000000 "$MNT/big.bin" | sha256sum)"
cat "$MNT/big.bin" | sha256sum | cut -d' ' -f1 >"$T_TMP/r1" &
r1=$!
cat "$MNT/big.bin" | sha256sum | cut -d' ' -f1 >"$T_TMP/r2" &
r2=$!
wait "$r1" "$r2"
t_eq "two readers at once: both exact" "$want $want" "$(cat "$T_TMP/r1") $(cat "$T_TMP/r2")"
py_turn() {
	python3 - "$1" "$2" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
data = open(sys.argv[2], "rb").read()
bad, off = [], 0
while off < 90 * 1048576:
    b = os.read(fd, 1048576)
    if b != data[off:off + len(b)]:
        bad.append("sequential at %d" % off)
    off += len(b)
for i in range(40):
    o = (i * 7919 * 4096 + 12345) % (len(data) - 65536)
    if os.pread(fd, 65536, o) != data[o:o + 65536]:
        bad.append("pread at %d" % o)
os.close(fd)
print(" ".join(bad))
EOF
}
t_eq "sequential, then random: exact" "" "$(py_turn "$MNT/big.bin" "$SRC/big.bin")"

t_check "unmounts at once after all of it" timeout 10 fusermount3 -u "$MNT"
t_done
