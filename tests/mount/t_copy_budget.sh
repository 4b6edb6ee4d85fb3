#!/usr/bin/env bash
# t_copy_budget: a copy that one daemon both reads and writes (`cp -r` inside one mount) under a
# small memory budget completes, byte for byte.  The read-ahead's chunks and spare buffers are
# charged to the same budget as the copy's upload parts; when the reader could fill the budget,
# cp (blocked in write() on a part buffer, so reading nothing) waited a minute per file and
# failed with ENOBUFS ("No buffer space available").  Files larger than the budget, on a local
# store and (when the environment has an S3 server) on S3 (multipart uploads, streamed GETs),
# there also with the default budget (96 MiB: 16 MiB parts, of which the read-ahead's reserve
# holds exactly the 1.5 a writer needs at once, upload_part_size).
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
root=$T_TMP/store/backup
mkdir -p "$root/SRC/binlogs"
for i in 1 2 3; do
	head -c $(( (40 << 20) + i * 4099 )) /dev/urandom >"$root/SRC/binlogs/f$i.bin"
done
BUDGET="mvbackupfs:
  memory:
    budget: 32MiB"

# copy_in WHAT MNT [BUDGET]: cp -r SRC/binlogs to NEW/binlogs inside MNT, which must end without
# error
copy_in() {
	t_check "$1: mkdir NEW (a copy in)" mkdir "$2/NEW"
	# the budget wait is a minute per file: 50 s bounds the old failure, ample for 120 MiB
	t_eq "$1: cp -r of 3 x 40 MiB inside the mount (budget ${3:-32 MiB}): no error, within 50 s" "" \
		"$(timeout 50 cp -r "$2/SRC/binlogs" "$2/NEW/binlogs" 2>&1 || echo "exit $?")"
}

# local directory store
CFG=$(t_config_local "$root" "$BUDGET")
MNT=$(t_mkmnt)
t_mount_or_bail "$CFG" "$MNT"
copy_in local "$MNT"
for i in 1 2 3; do
	# the upload goes on after close() (write-behind): wait for it, then compare
	t_check "local: f$i.bin reaches the store, unchanged" \
		t_wait 30 cmp -s "$root/SRC/binlogs/f$i.bin" "$root/NEW/binlogs/f$i.bin"
done
t_check "local: unmount" t_umount "$MNT"

# S3 (RGW)
# same_object BUCKET I: the bucket's copy of fI.bin is the source's, byte for byte
same_object() {
	t_rclone cat "mvbs3:$1/backup/NEW/binlogs/f$2.bin" | cmp -s - "$root/SRC/binlogs/f$2.bin"
}
if [ -n "${S3_ENDPOINT:-}" ]; then
	B=$(t_bucket) || t_bail "bucket"
	t_upload "$root/SRC" "$B" backup/SRC
	MNT=$(t_mkmnt)
	t_mount_or_bail "$(t_config_s3 "$B" backup "$BUDGET")" "$MNT"
	copy_in s3 "$MNT"
	for i in 1 2 3; do
		t_check "s3: f$i.bin reaches the bucket, unchanged" t_wait 30 same_object "$B" "$i"
	done
	t_check "s3: unmount" t_umount "$MNT"
	B=$(t_bucket) || t_bail "bucket"
	t_upload "$root/SRC" "$B" backup/SRC
	MNT=$(t_mkmnt)
	t_mount_or_bail "$(t_config_s3 "$B" backup)" "$MNT"
	copy_in "s3, default budget" "$MNT" "96 MiB, the default"
	for i in 1 2 3; do
		t_check "s3, default budget: f$i.bin reaches the bucket, unchanged" \
			t_wait 30 same_object "$B" "$i"
	done
	t_check "s3, default budget: unmount" t_umount "$MNT"
else
	diag "no S3 server in the environment: the S3 half is skipped"
fi
t_check_fails "the logs have no 'memory budget stayed full'" \
	grep -q "memory budget stayed full" "$T_TMP"/daemon-*.log
t_done
