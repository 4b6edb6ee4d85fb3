#!/usr/bin/env bash
# demo.sh - the seed scenario end to end on this machine, with real servers on loopback:
#   1. an S3 server (Ceph RGW) with buckets milvus-a, backup-a, milvus-b, backup-b
#   2. Milvus A (the project's stand-in: real gRPC, real Milvus protos) holding collection
#      default.coll, filled through the official Node SDK
#   3. mount backup-a, `mkdir .snapshot/nightly_1`, follow `.status`, read `.info`
#   4. check the backup against an independent validator of milvus-backup's format
#   5. move it to bucket backup-b and mount that: it reads as the same complete backup
# Restore into Milvus B (`echo ... > .restore`) and `cp -r` between two mounts come with the
# next issues; until then step 5 copies with `cp -r` out of the mount and rclone into B.
#
# Usage: bash scripts/demo.sh        (root or sudo; installs what it needs via setup.sh)
# Leaves nothing running: servers are stopped and mounts unmounted on exit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
work=$(mktemp -d /tmp/mvbackupfs-demo.XXXXXX)
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

cleanup() {
	set +e
	for m in "$work/mnt-a" "$work/mnt-b"; do mountpoint -q "$m" 2>/dev/null && fusermount3 -u "$m"; done
	bash scripts/milvus-standin.sh stop "$work/milvus-a" >/dev/null 2>&1
	bash scripts/s3-server.sh stop "$work/s3" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

echo "== setting up (packages, build): scripts/setup.sh"
bash scripts/setup.sh >"$work/setup.log" 2>&1 || { tail -n 30 "$work/setup.log"; exit 1; }

echo "== S3 server (Ceph RGW on 127.0.0.1)"
eval "$(S3_BUCKETS="milvus-a backup-a backup-b" bash scripts/s3-server.sh start "$work/s3" 2>"$work/s3.log")"
export S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
echo "S3 at $S3_ENDPOINT"

echo "== Milvus A (stand-in) with its data in s3://milvus-a/files/"
eval "$(MILVUS_PORT=0 MILVUS_BUCKET=milvus-a MILVUS_ROOT_PATH=files bash scripts/milvus-standin.sh start "$work/milvus-a" 2>"$work/milvus-a.log")"
echo "Milvus A at $MILVUS_ADDRESS:$MILVUS_PORT"
say "node tests/snapshot/populate.js --names coll --rows 30000 --batches 3 --deletes 100 --dim 768"
node tests/snapshot/populate.js --address "$MILVUS_ADDRESS:$MILVUS_PORT" --dbs default --names coll \
	--rows 30000 --batches 3 --deletes 100 --dim 768 | tee "$work/expected.tsv"

host=${S3_ENDPOINT#http://}
conf() {	# conf FILE BACKUP_BUCKET: milvus-backup's backup.yaml, as an operator has it
	cat >"$1" <<YAML
milvus:
  address: $MILVUS_ADDRESS
  port: $MILVUS_PORT
minio:
  storageType: minio
  address: ${host%:*}
  port: ${host##*:}
  accessKeyID: $AWS_ACCESS_KEY_ID
  secretAccessKey: $AWS_SECRET_ACCESS_KEY
  useSSL: false
  bucketName: milvus-a
  rootPath: files
  backupBucketName: $2
  backupRootPath: backup
YAML
}
conf "$work/backup-a.yaml" backup-a
conf "$work/backup-b.yaml" backup-b
mkdir -p "$work/mnt-a" "$work/mnt-b" "$work/copy"
B=build/mvbackupfs

run $B -c "$work/backup-a.yaml" "$work/mnt-a"
run ls -la "$work/mnt-a"
run mkdir "$work/mnt-a/.snapshot/nightly_1"
say "cat $work/mnt-a/nightly_1/.status   (until state complete)"
deadline=$((SECONDS + 300))
while :; do
	st=$(cat "$work/mnt-a/nightly_1/.status")
	state=$(awk '$1 == "state" { print $2 }' <<<"$st")
	printf '  %s  phase %-8s progress %6s%%  items %s/%s\n' "$state" \
		"$(awk '$1 == "phase" { print $2 }' <<<"$st")" "$(awk '$1 == "progress" { print $2 }' <<<"$st")" \
		"$(awk '$1 == "items_done" { print $2 }' <<<"$st")" "$(awk '$1 == "items_total" { print $2 }' <<<"$st")"
	case $state in complete) break ;; failed|cancelled) echo "$st"; exit 1 ;; esac
	[ $SECONDS -lt $deadline ] || { echo "timed out"; exit 1; }
	sleep 0.5
done
run cat "$work/mnt-a/nightly_1/.status"
run cat "$work/mnt-a/nightly_1/.info"
run cat "$work/mnt-a/.info"
run ls -R "$work/mnt-a/nightly_1/meta"

say "node tests/snapshot/validate.js   (an independent check of milvus-backup's format)"
node tests/snapshot/validate.js --bucket backup-a --prefix backup/nightly_1/ --expect "$work/expected.tsv"

echo
echo "== moving the backup to bucket backup-b (cp -r out of the mount, rclone in)"
run cp -r "$work/mnt-a/nightly_1" "$work/copy/"
export RCLONE_CONFIG_DEMO_TYPE=s3 RCLONE_CONFIG_DEMO_PROVIDER=Ceph RCLONE_CONFIG_DEMO_ENDPOINT="$S3_ENDPOINT" \
	RCLONE_CONFIG_DEMO_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_DEMO_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
say "rclone copy $work/copy/nightly_1 demo:backup-b/backup/nightly_1"
env -u AWS_CA_BUNDLE rclone --log-level ERROR copy "$work/copy/nightly_1" demo:backup-b/backup/nightly_1
run $B -c "$work/backup-b.yaml" "$work/mnt-b"
run cat "$work/mnt-b/nightly_1/.info"
say "diff -r mnt-a/nightly_1 mnt-b/nightly_1"
diff -r "$work/mnt-a/nightly_1" "$work/mnt-b/nightly_1" && echo "identical"
run rmdir "$work/mnt-a/nightly_1"
run ls "$work/mnt-a"
echo
echo "demo finished: snapshot taken, inspected, validated, moved to another bucket, deleted"
