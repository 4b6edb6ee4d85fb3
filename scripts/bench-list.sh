#!/usr/bin/env bash
# bench-list.sh -- the listing and idle contract of spec §8 on a root with 1000 backups:
#   ls MNT     cold (fresh mount, first ls) <= 150 ms, warm (again, within the cache TTL) <= 5 ms
#   ls -l MNT  cold <= 300 ms, with no request per backup
#   idle RSS   of the daemon <= 32 MiB, after the listings and after `cat MNT/.info` (which
#              resolves every backup)
#
#   scripts/bench-list.sh          (RUNS=5 BACKUPS=1000 by default)
#
# Uses the S3 server in the environment (S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
# or starts its own (scripts/s3-server.sh, stopped on exit).  Uploads, once, BACKUPS copies of a
# small realistic backup to s3://mvb-bench-list/backup/backup_NNNN/: the meta files of the
# fixture backup v0_5_9 (tests/fixtures) plus one tiny binlog; a re-run against the same server
# reuses them.  Then, RUNS times each, side by side:
#   rclone   `rclone lsf` of the root (one paginated delimiter listing by a direct client):
#            the reference for the cold listing
#   ls       a fresh mount, `ls MNT` (cold), then `ls MNT` again (warm)
#   ls -l    a fresh mount, `ls -l MNT` (cold), then `ls -l MNT` again (warm)
#   peers    the same four listings through `rclone mount` and an s3fs-fuse mount of the same
#            root (PEERS="rclone s3fs" by default; those not installed are skipped): what a user
#            would mount instead
# The S3 requests each step made are counted from the RGW's own request counter (its admin
# socket, when the server runs under S3_SERVER_DIR as scripts/s3-server.sh starts it); without
# it the counts show as "?".  Prints every run, the medians, the ratio to rclone and the
# daemon's VmRSS.  Exit 0 when every target holds, 1 when one is missed, 2 on an error.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
MVB_BIN=${MVB_BIN:-$top/build/mvbackupfs}
RUNS=${RUNS:-5}
PEERS=${PEERS:-rclone s3fs}
BACKUPS=${BACKUPS:-1000}
BUCKET=mvb-bench-list
ROOT=backup
work=$(mktemp -d "${TMPDIR:-/tmp}/mvb-bench-list.XXXXXX")
MNT=$work/mnt
mkdir -p "$MNT"
unset AWS_CA_BUNDLE	# rclone (Go) refuses a custom bundle with its transport
for _v in $(env | sed -n 's/^\(MINIO_[A-Z_]*\|MILVUS_[A-Z_]*\|BACKUP_[A-Z_]*\|MVBACKUPFS_CONFIG\)=.*/\1/p'); do
	unset "$_v"	# milvus-backup's env overrides would change what our YAML says
done

BENCH=list
. "$top/scripts/bench-lib.sh"
bench_s3_up

# the RGW's request counter (perf counter rgw.req) through its admin socket, or "" if unknown
ASOK=
if [ -n "${S3_SERVER_DIR:-}" ] && [ -S "$S3_SERVER_DIR/run/client.rgw.gw.asok" ] && command -v ceph >/dev/null; then
	ASOK=$S3_SERVER_DIR/run/client.rgw.gw.asok
fi
rgw_reqs() {
	[ -n "$ASOK" ] || return 0
	ceph --admin-daemon "$ASOK" perf dump rgw 2>/dev/null |
		sed -n 's/.*"req": *\([0-9]*\).*/\1/p' | head -n 1
}
reqs_since() {	# reqs_since BEFORE: requests since BEFORE (the counter read itself is no request)
	local now
	now=$(rgw_reqs)
	if [ -n "$1" ] && [ -n "$now" ]; then echo $((now - $1)); else echo "?"; fi
}

# --- the data (uploaded once; a re-run against the same server reuses it)
bench_backups "$BACKUPS" 1 997

bench_config "$ROOT"

# timestamps from bash itself ($EPOCHREALTIME, bash >= 5): no fork inside the measured interval
ms_between() { awk -v a="${1/,/.}" -v b="${2/,/.}" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
status_kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$PID/status" 2>/dev/null; }

PID=
mount_fresh() { bench_mount; }
unmount() {
	local i
	fusermount3 -u "$MNT" || die "unmount failed"
	for ((i = 0; i < 200; i++)); do [ -n "$PID" ] && [ -d "/proc/$PID" ] || break; sleep 0.05; done
}
# count LISTING: the number of entries in an ls output (without "total N")
count_entries() { grep -vc '^total ' "$1"; }

# a local directory with as many subdirectories: what `ls` itself costs (reference for warm)
mkdir -p "$work/local"
(cd "$work/local" && for ((i = 1; i <= BACKUPS; i++)); do printf 'backup_%04d\0' "$i"; done | xargs -0 mkdir)

# peer_listings WHO: one round of the four listings through a peer's fresh mounts at $work/peer
declare -A PT	# "WHO|LISTING" -> the round's times, space-separated
peer_listings() {
	local who=$1 pm=$work/peer l t0 t1 n msg=
	mkdir -p "$pm"
	for l in ls "ls -l"; do
		case $who in
		rclone) peer_rclone_mount "$BUCKET/$ROOT" "$pm" ;;
		s3fs)   peer_s3fs_mount "$BUCKET:/$ROOT" "$pm" ;;
		esac
		t0=$EPOCHREALTIME
		$l "$pm" >"$work/out" || die "$l through $who failed"
		t1=$EPOCHREALTIME
		n=$(count_entries "$work/out"); [ "$n" = "$BACKUPS" ] || die "$l through $who shows $n entries, not $BACKUPS"
		PT["$who|$l cold"]+="$(ms_between "$t0" "$t1") "
		t0=$EPOCHREALTIME
		$l "$pm" >/dev/null || die "$l through $who failed"
		t1=$EPOCHREALTIME
		PT["$who|$l warm"]+="$(ms_between "$t0" "$t1") "
		peer_unmount "$pm"
		msg+=$(printf ' %s cold %s ms, warm %s ms;' "$l" "$(set -- ${PT["$who|$l cold"]}; eval echo \${$#})" \
			"$(set -- ${PT["$who|$l warm"]}; eval echo \${$#})")
	done
	echo "run $r $who mount:$msg"
}
peers=()
for p in $PEERS; do
	case $p in
	rclone) command -v rclone >/dev/null && peers+=(rclone) || echo "bench-list: rclone not installed: skipped" ;;
	s3fs)   command -v s3fs >/dev/null && peers+=(s3fs) || echo "bench-list: s3fs not installed: skipped" ;;
	*) die "unknown peer '$p' (PEERS: rclone s3fs)" ;;
	esac
done

rc_t=() rc_q=() ls_t=() ls_q=() warm_t=() loc_t=() lsl_t=() lsl_q=() lslw_t=()
for ((r = 1; r <= RUNS; r++)); do
	t0=$EPOCHREALTIME
	ls "$work/local" >/dev/null || die "ls of a local directory failed"
	t1=$EPOCHREALTIME; t=$(ms_between "$t0" "$t1")
	loc_t+=("$t")
	echo "run $r ls LOCALDIR (local, reference): $t ms"
	q0=$(rgw_reqs); t0=$EPOCHREALTIME
	rc_env lsf "b:$BUCKET/$ROOT/" >"$work/out" || die "rclone lsf failed"
	t1=$EPOCHREALTIME; t=$(ms_between "$t0" "$t1"); q=$(reqs_since "$q0")
	n=$(count_entries "$work/out"); [ "$n" = "$BACKUPS" ] || die "rclone lsf shows $n entries, not $BACKUPS"
	rc_t+=("$t"); rc_q+=("$q")
	echo "run $r rclone lsf (direct client):   $t ms, $q requests"

	mount_fresh
	q0=$(rgw_reqs); t0=$EPOCHREALTIME
	ls "$MNT" >"$work/out" || die "ls failed"
	t1=$EPOCHREALTIME; t=$(ms_between "$t0" "$t1"); q=$(reqs_since "$q0")
	n=$(count_entries "$work/out"); [ "$n" = "$BACKUPS" ] || die "ls shows $n entries, not $BACKUPS"
	ls_t+=("$t"); ls_q+=("$q")
	q0=$(rgw_reqs); t0=$EPOCHREALTIME
	ls "$MNT" >/dev/null || die "ls failed"
	t1=$EPOCHREALTIME; tw=$(ms_between "$t0" "$t1"); qw=$(reqs_since "$q0")
	warm_t+=("$tw")
	unmount
	echo "run $r ls MNT (cold, fresh mount):   $t ms, $q requests"
	echo "run $r ls MNT (warm):                $tw ms, $qw requests"

	mount_fresh
	q0=$(rgw_reqs); t0=$EPOCHREALTIME
	ls -l "$MNT" >"$work/out" || die "ls -l failed"
	t1=$EPOCHREALTIME; t=$(ms_between "$t0" "$t1"); q=$(reqs_since "$q0")
	n=$(count_entries "$work/out"); [ "$n" = "$BACKUPS" ] || die "ls -l shows $n entries, not $BACKUPS"
	lsl_t+=("$t"); lsl_q+=("$q")
	t0=$EPOCHREALTIME
	ls -l "$MNT" >/dev/null || die "ls -l failed"
	t1=$EPOCHREALTIME; tw=$(ms_between "$t0" "$t1")
	lslw_t+=("$tw")
	unmount
	echo "run $r ls -l MNT (cold, fresh mount): $t ms, $q requests"
	echo "run $r ls -l MNT (warm):             $tw ms"
	for p in "${peers[@]}"; do peer_listings "$p"; done
done

# --- idle memory: one mount, the listings, then .info (resolves every backup)
mount_fresh
[ -n "$PID" ] || die "cannot find the daemon's pid"
ls "$MNT" >/dev/null && ls -l "$MNT" >/dev/null || die "ls failed"
rss_list=$(status_kib VmRSS)
q0=$(rgw_reqs); t0=$EPOCHREALTIME
cat "$MNT/.info" >"$work/info" || die "cat .info failed"
t1=$EPOCHREALTIME; t_info=$(ms_between "$t0" "$t1"); q_info=$(reqs_since "$q0")
n=$(grep -c '^backup_' "$work/info"); [ "$n" = "$BACKUPS" ] || die ".info shows $n backups, not $BACKUPS"
n=$(grep -c '^backup_[0-9]* *complete ' "$work/info")
rss_info=$(status_kib VmRSS)
hwm=$(status_kib VmHWM)
threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$PID/status")
echo "cat MNT/.info (resolves $BACKUPS backups, $n complete): $t_info ms, $q_info requests"
unmount

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
m_rc=$(median "${rc_t[@]}"); m_ls=$(median "${ls_t[@]}"); m_warm=$(median "${warm_t[@]}")
m_lsl=$(median "${lsl_t[@]}")
echo "median rclone lsf:       $m_rc ms ($(median "${rc_q[@]}") requests)"
echo "median ls cold:          $m_ls ms ($(median "${ls_q[@]}") requests)"
echo "median ls warm:          $m_warm ms (ls of a local directory: $(median "${loc_t[@]}") ms)"
echo "median ls -l cold:       $m_lsl ms ($(median "${lsl_q[@]}") requests)"
echo "ratio ls cold / rclone lsf:   $(awk -v a="$m_ls" -v b="$m_rc" 'BEGIN { printf "%.2f", a / b }')"
echo "ratio ls -l cold / rclone lsf: $(awk -v a="$m_lsl" -v b="$m_rc" 'BEGIN { printf "%.2f", a / b }')"
m_lslw=$(median "${lslw_t[@]}")
echo "median ls -l warm:       $m_lslw ms"

# side by side with the peers' mounts; the ratio is the peer's time over ours (> 1: ours ahead)
declare -A OURS=(["ls cold"]=$m_ls ["ls warm"]=$m_warm ["ls -l cold"]=$m_lsl ["ls -l warm"]=$m_lslw)
for l in "ls cold" "ls warm" "ls -l cold" "ls -l warm"; do
	line=$(printf '%-11s ours %8s ms' "$l:" "${OURS[$l]}")
	for p in "${peers[@]}"; do
		# shellcheck disable=SC2086 # the times are a space-separated list
		pm=$(median ${PT["$p|$l"]})
		ratio=$(awk -v a="$pm" -v b="${OURS[$l]}" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
		line+=$(printf '   %s mount %8s ms (%sx)' "$p" "$pm" "$ratio")
		bench_row "$l, $BACKUPS backups" "$p mount" "$pm" "${OURS[$l]}" ms "$ratio"
	done
	echo "$line"
done

verdict=0
target() {	# target LABEL VALUE LIMIT UNIT
	local v=met
	awk -v a="$2" -v b="$3" 'BEGIN { exit !(a <= b) }' || { v=MISSED; verdict=1; }
	printf '%-28s %s %s (target <= %s %s: %s)\n' "$1:" "$2" "$4" "$3" "$4" "$v"
}
target "ls cold" "$m_ls" 150 ms
target "ls warm" "$m_warm" 5 ms
target "ls -l cold" "$m_lsl" 300 ms
# no request per backup: a cold ls -l may make the root listing's pages, nothing per entry
max_q=$(( (BACKUPS + 999) / 1000 + 2 ))
for q in "${lsl_q[@]}"; do
	if [ "$q" = "?" ]; then
		echo "ls -l requests:              not counted (no RGW admin socket; set S3_SERVER_DIR)"
		break
	fi
	if [ "$q" -gt "$max_q" ]; then
		echo "ls -l requests:              $q in one run (target <= $max_q, none per backup: MISSED)"
		verdict=1
		break
	fi
done
target "idle RSS after ls, ls -l" "$(mib "$rss_list")" 32 MiB
target "idle RSS after .info" "$(mib "$rss_info")" 32 MiB
echo "daemon after .info: VmHWM $(mib "$hwm") MiB, $threads threads"
exit $verdict
