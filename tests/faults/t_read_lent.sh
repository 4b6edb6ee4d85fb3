#!/usr/bin/env bash
# t_read_lent: reads whose reply is written to the kernel straight from a read-ahead chunk
# (fs/fsread.c, issue 10) give exactly the stored bytes: sequential reads of odd sizes (within
# one chunk: lent; across chunks: copied), odd offsets, several readers of one object at once,
# readers that close early while chunks are lent; and a read that fails half-way (every GET
# after the first few answers 500) fails with EIO after a correct prefix, never with wrong bytes.
. "$(dirname "$0")/lib.sh"
fp_begin
fp_start || t_bail "faultproxy"

BK=$(t_bucket) || t_bail "bucket"
SRC=$T_TMP/src
mkdir -p "$SRC"
head -c $((40 * 1048576 + 12345)) /dev/urandom >"$SRC/obj.bin" || t_bail "random object"
t_upload "$SRC" "$BK" backup
want=$(sha256sum <"$SRC/obj.bin" | cut -d' ' -f1)
CFG=$(fp_endpoint t_config_s3 "$BK" backup "$(printf 'mvbackupfs:\n  s3:\n    requestTimeoutMs: 2000\n    maxTries: 2\n')")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"

t_eq "cat: sha256 of the object through the mount" "$want" "$(cat "$MNT/obj.bin" | sha256sum | cut -d' ' -f1)"
bad=""
for bs in 4096 4097 65537 131072 1000003 1048576 3000000; do
	got=$(dd if="$MNT/obj.bin" bs="$bs" status=none | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || bad+="bs=$bs; "
done
t_eq "dd with odd block sizes: every sha256 matches" "" "$bad"

# sequential reads whose sizes cycle through odd values, and a run of pread()s at odd offsets
# going forward (read-ahead stays on, so most land in one chunk and are lent)
py_reads() {
	python3 - "$1" "$2" <<'EOF'
import hashlib, os, sys
mnt, src = sys.argv[1], sys.argv[2]
sizes = [4096, 12345, 1048576, 777777, 131072, 5000, 1048575, 2 * 1048576 + 3]
fd = os.open(mnt, os.O_RDONLY)
h, i = hashlib.sha256(), 0
while True:
    b = os.read(fd, sizes[i % len(sizes)])
    if not b:
        break
    h.update(b)
    i += 1
want = hashlib.sha256(open(src, "rb").read()).hexdigest()
bad = [] if h.hexdigest() == want else ["sequential odd sizes"]
data = open(src, "rb").read()
off, n = 7, 0
while off < len(data):
    ln = [3, 4099, 65536, 1048576, 999999][n % 5]
    if os.pread(fd, ln, off) != data[off:off + ln]:
        bad.append("pread %d+%d" % (off, ln))
    off += ln + 1 + (n * 7919) % 300000
    n += 1
os.close(fd)
print(" ".join(bad))
EOF
}
t_eq "odd-sized sequential reads and preads at odd offsets are exact" "" "$(py_reads "$MNT/obj.bin" "$SRC/obj.bin")"

# four readers of the object at once, with different block sizes
pids=()
for bs in 1M 131072 1000003 4M; do
	dd if="$MNT/obj.bin" bs="$bs" status=none | sha256sum | cut -d' ' -f1 >"$T_TMP/conc.$bs" &
	pids+=($!)
done
wait "${pids[@]}"	# not a bare wait: the fault proxy is a child too
t_eq "four concurrent readers: every sha256 matches" "$want $want $want $want" \
	"$(cat "$T_TMP/conc.1M" "$T_TMP/conc.131072" "$T_TMP/conc.1000003" "$T_TMP/conc.4M" | xargs)"

# readers that stop early (the file is released while read-ahead chunks are in use)
bad=""
for i in 1 2 3 4 5 6 7 8; do
	n=$((i * 1048576 + i * 4099))
	got=$(head -c "$n" "$MNT/obj.bin" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$(head -c "$n" "$SRC/obj.bin" | sha256sum | cut -d' ' -f1)" ] || bad+="$n; "
done
t_eq "readers that close early get exact prefixes" "" "$bad"

# a read that fails half-way: the first GET of the object (the stream a sequential reader gets
# from its first read) breaks off half-way through its body, every later one is a 500
fp_rule '[{"method":"GET","path":"/backup/obj\\.bin","fault":"reset","count":1},
          {"method":"GET","path":"/backup/obj\\.bin","fault":"status","status":500,"code":"InternalError","count":0}]' \
	|| t_bail "rule"
out=$(dd if="$MNT/obj.bin" of="$T_TMP/part" bs=1M 2>&1); rc=$?
t_check "dd of the object during failing GETs fails" test $rc -ne 0
t_match "dd during failing GETs: Input/output error" 'Input/output error' "$out"
n=$(stat -c %s "$T_TMP/part")
t_check "dd stopped before the end ($n bytes read)" test "$n" -lt "$(stat -c %s "$SRC/obj.bin")"
t_check "what dd read before the failure is the object's prefix" cmp -n "$n" "$T_TMP/part" "$SRC/obj.bin"
t_check "the faults fired" test "$(fp_fired)" -gt 0
fp_clear
t_eq "after the faults: cat is exact again" "$want" "$(cat "$MNT/obj.bin" | sha256sum | cut -d' ' -f1)"
t_done
