#!/usr/bin/env bash
# bench-expiry-scan.sh -- S3 requests of one pass over every backup's summary, what the expiry
# worker's scan (fs/autopilot.c) and `cat MNT/.info` do, on a root with BACKUPS complete
# backups (issue 9: the scan must not cost a request per backup).
#
#   scripts/bench-expiry-scan.sh        (BACKUPS=200 RUNS=3 by default; MVB_BIN to compare builds)
#
# Uses the S3 server in the environment or starts its own (scripts/s3-server.sh); the requests
# are counted by the RGW's own counter (admin socket, S3_SERVER_DIR), so any build can be
# measured the same way.  Uploads, once, BACKUPS copies of the fixture v0_5_9's meta + BINLOGS
# binlogs (default 20) + a sidecar to s3://mvb-bench-scan/backup/.  Then on a fresh mount: `cat .info` once
# (every backup read: the cold cost), and RUNS times, each after the cache TTL (2 s) has
# passed, `cat .info` again: the steady cost of a scan.  Prints the counts; exit 0, 2 on error.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
MVB_BIN=${MVB_BIN:-$top/build/mvbackupfs}
RUNS=${RUNS:-3}
BACKUPS=${BACKUPS:-200}
BINLOGS=${BINLOGS:-20}	# per backup: a server that ignored the "/binlogs/" delimiter would list them
BUCKET=mvb-bench-scan-$BINLOGS
ROOT=backup
work=$(mktemp -d "${TMPDIR:-/tmp}/mvb-bench-scan.XXXXXX")
MNT=$work/mnt
mkdir -p "$MNT"
unset AWS_CA_BUNDLE
BENCH=expiry-scan
. "$top/scripts/bench-lib.sh"
bench_s3_up
[ $own_rgw = 1 ] && S3_SERVER_DIR=$work/rgw
ASOK=${S3_SERVER_DIR:+$S3_SERVER_DIR/run/client.rgw.gw.asok}
[ -n "$ASOK" ] && [ -S "$ASOK" ] || die "no RGW admin socket (set S3_SERVER_DIR to the s3-server.sh DIR)"
rgw_reqs() { ceph --admin-daemon "$ASOK" perf dump rgw 2>/dev/null | sed -n 's/.*"req": *\([0-9]*\).*/\1/p' | head -n 1; }

bench_backups "$BACKUPS" "$BINLOGS" 97 \
	'{"format":1,"created_by":"bench","expires":"2099-01-01T00:00:00Z","kind":"manual"}'
bench_config "$ROOT"
bench_mount
q0=$(rgw_reqs); n=$(tail -n +2 "$MNT/.info" | grep -c complete); q1=$(rgw_reqs)
echo "cold: cat .info ($n complete backups): $((q1 - q0)) requests"
for ((r = 1; r <= RUNS; r++)); do
	sleep 2.5	# past the cache TTL (mvbackupfs.cache.ttlMs 2000): a scan's situation
	q0=$(rgw_reqs); cat "$MNT/.info" >/dev/null; q1=$(rgw_reqs)
	echo "run $r: cat .info after the TTL: $((q1 - q0)) requests"
done
fusermount3 -u "$MNT"
