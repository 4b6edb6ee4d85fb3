#!/usr/bin/env bash
# demo.sh - the seed scenario end to end on this machine, on the components users run, all on
# loopback and all thrown away at the end:
#   1. MinIO A and MinIO B (two scripts/minio-server.sh processes, so the copy crosses servers),
#      a real Milvus 2.3.5 on each (scripts/milvus-server.sh): A on s3://milvus-a, B on
#      s3://milvus-b
#   2. collection default.coll in Milvus A, loaded with pymilvus (scripts/demo.py: DEMO_ROWS rows,
#      default 3000, in two partitions, every 100th row deleted, an HNSW index)
#   3. mount backup bucket A, `mkdir .snapshot/nightly_1`, follow `.status`, `cat .info` (the
#      backup's and the root's), `echo 3d > .expires`
#   4. check the backup with an independent validator of milvus-backup's format
#      (tests/snapshot/validate.js)
#   5. copy it to backup bucket B: `cp -r MNT_A/nightly_1 MNT_B/` (step_copy), committed by
#      mount B once whole; `diff -r` of the two mounts
#   6. restore it into Milvus B as default.coll_bak:
#      `echo 'collections=default.coll suffix=_bak' > MNT_B/nightly_1/.restore` (step_restore)
#   7. verify: count(*), partitions, index and a query by pk in B equal A's
#   8. rmdir the backup in A
# Exits non-zero (after stopping everything) when any step fails; scripts/test.sh runs it.
#
# Usage: bash scripts/demo.sh        (root or sudo; installs what it needs via scripts/setup.sh)
# Environment: DEMO_ROWS (3000), MVB_BIN (the daemon, default build/mvbackupfs), KEEP=1 (keep the
# work dir; everything is still stopped).
# Leaves nothing running: mounts are unmounted and the four servers stopped on any exit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
T0=$SECONDS
ROWS=${DEMO_ROWS:-3000}
# milvus-backup's environment overrides would change the mounts' configuration
for v in $(env | sed -n 's/^\(MINIO_[A-Z_]*\|MILVUS_[A-Z_]*\|BACKUP_[A-Z_]*\|MVBACKUPFS_CONFIG\)=.*/\1/p'); do unset "$v"; done
work=$(mktemp -d /tmp/mvbackupfs-demo.XXXXXX)
MNT_A=$work/mnt-a MNT_B=$work/mnt-b
PY=$top/.venv/bin/python
B=${MVB_BIN:-$top/build/mvbackupfs}
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }
step() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }
die() { printf '\n\033[1;31mdemo failed: %s\033[0m\n' "$*" >&2; exit 1; }

cleanup() {
	local rc=$?
	set +e
	# /proc/mounts, not mountpoint(1): a mount whose daemon died fails stat() but is still there
	for m in "$MNT_A" "$MNT_B"; do
		if grep -qF " $m fuse" /proc/mounts; then fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m"; fi
	done
	for s in milvus-a milvus-b; do bash scripts/milvus-server.sh stop "$work/$s" >/dev/null 2>&1 & done
	wait
	for s in minio-a minio-b; do bash scripts/minio-server.sh stop "$work/$s" >/dev/null 2>&1 & done
	wait
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "setting up (packages, Milvus 2.3.5 venv, MinIO and mc, the build): scripts/setup.sh"
bash scripts/setup.sh >"$work/setup.log" 2>&1 || { tail -n 30 "$work/setup.log"; die "setup failed"; }
echo "done in $((SECONDS - T0)) s"

# --- servers: MinIO A and B, then Milvus A and B (started side by side: about 30 s each)
step "MinIO A and MinIO B (two servers on 127.0.0.1), Milvus 2.3.5 A on MinIO A, B on MinIO B"
envof() { sed -n "s/^export $2=//p" <<<"$1"; }	# envof "EXPORT LINES" VAR
ea=$(S3_BUCKETS="milvus-a backup-a" bash scripts/minio-server.sh start "$work/minio-a" 2>"$work/minio-a.err") \
	|| { cat "$work/minio-a.err"; die "MinIO A did not start"; }
eb=$(S3_BUCKETS="milvus-b backup-b" bash scripts/minio-server.sh start "$work/minio-b" 2>"$work/minio-b.err") \
	|| { cat "$work/minio-b.err"; die "MinIO B did not start"; }
S3_A=$(envof "$ea" S3_ENDPOINT) S3_B=$(envof "$eb" S3_ENDPOINT)
KEY=$(envof "$ea" AWS_ACCESS_KEY_ID) SECRET=$(envof "$ea" AWS_SECRET_ACCESS_KEY)
export AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET
echo "MinIO A at $S3_A (buckets milvus-a, backup-a), MinIO B at $S3_B (buckets milvus-b, backup-b)"
export MC_HOST_a="http://$KEY:$SECRET@${S3_A#http://}" MC_HOST_b="http://$KEY:$SECRET@${S3_B#http://}"
S3_ENDPOINT=$S3_A MILVUS_BUCKET=milvus-a MILVUS_ROOT_PATH=files MILVUS_PORT=0 \
	bash scripts/milvus-server.sh start "$work/milvus-a" >"$work/milvus-a.env" 2>"$work/milvus-a.err" &
pa=$!
S3_ENDPOINT=$S3_B MILVUS_BUCKET=milvus-b MILVUS_ROOT_PATH=files MILVUS_PORT=0 \
	bash scripts/milvus-server.sh start "$work/milvus-b" >"$work/milvus-b.env" 2>"$work/milvus-b.err" &
pb=$!
wait $pa || { cat "$work/milvus-a.err"; die "Milvus A did not start"; }
wait $pb || { cat "$work/milvus-b.err"; die "Milvus B did not start"; }
PORT_A=$(sed -n 's/^export MILVUS_PORT=//p' "$work/milvus-a.env")
PORT_B=$(sed -n 's/^export MILVUS_PORT=//p' "$work/milvus-b.env")
echo "Milvus A at 127.0.0.1:$PORT_A (binlogs in s3://milvus-a/files/ on MinIO A)"
echo "Milvus B at 127.0.0.1:$PORT_B (binlogs in s3://milvus-b/files/ on MinIO B)"

step "collection default.coll in Milvus A, through pymilvus"
say "python scripts/demo.py load 127.0.0.1 $PORT_A $ROWS"
"$PY" scripts/demo.py load 127.0.0.1 "$PORT_A" "$ROWS" >"$work/expected.tsv" || die "loading Milvus A failed"
"$PY" scripts/demo.py show 127.0.0.1 "$PORT_A" coll

# conf FILE S3_ENDPOINT MILVUS_PORT MILVUS_BUCKET BACKUP_BUCKET: milvus-backup's backup.yaml, as an
# operator has it for that Milvus
conf() {
	local h=${2#http://}
	cat >"$1" <<YAML
milvus:
  address: 127.0.0.1
  port: $3
minio:
  storageType: minio
  address: ${h%:*}
  port: ${h##*:}
  accessKeyID: $KEY
  secretAccessKey: $SECRET
  useSSL: false
  bucketName: $4
  rootPath: files
  backupBucketName: $5
  backupRootPath: backup
YAML
}
conf "$work/backup-a.yaml" "$S3_A" "$PORT_A" milvus-a backup-a
conf "$work/backup-b.yaml" "$S3_B" "$PORT_B" milvus-b backup-b
mkdir -p "$MNT_A" "$MNT_B"

# follow MNT NAME [PREV_JOB]: print .status until its state is complete (or done); with
# PREV_JOB, only a job other than PREV_JOB counts (a restore's job on a complete backup)
follow() {
	local st state job line last='' deadline=$((SECONDS + 300))
	say "cat $1/$2/.status   (until state complete; a line per change)"
	while :; do
		if ! st=$(cat "$1/$2/.status" 2>"$work/status.err"); then
			grep -q 'not connected' "$work/status.err" && die "the daemon of $1 died ($(cat "$work/status.err"))"
			st=''
		fi
		state=$(awk '$1 == "state" { print $2 }' <<<"$st")
		job=$(awk '$1 == "job" { print $2 }' <<<"$st")
		if [ $# -lt 3 ] || { [ -n "$job" ] && [ "$job" != - ] && [ "$job" != "$3" ]; }; then
			line=$(printf '  %-10s %-28s phase %-12s progress %6s%%  items %s/%s' "$state" "$job" \
				"$(awk '$1 == "phase" { print $2 }' <<<"$st")" "$(awk '$1 == "progress" { print $2 }' <<<"$st")" \
				"$(awk '$1 == "items_done" { print $2 }' <<<"$st")" "$(awk '$1 == "items_total" { print $2 }' <<<"$st")")
			[ "$line" = "$last" ] || echo "$line"
			last=$line
			case $state in complete|done) break ;; failed|cancelled) echo "$st"; die "$2: $state" ;; esac
		fi
		[ $SECONDS -lt $deadline ] || { echo "$st"; die "$2: not complete after 300 s"; }
		sleep 0.5
	done
}

step "mount backup bucket A and take a snapshot of Milvus A"
run "$B" -c "$work/backup-a.yaml" "$MNT_A"
run ls -la "$MNT_A"
run mkdir "$MNT_A/.snapshot/nightly_1"
follow "$MNT_A" nightly_1
run cat "$MNT_A/nightly_1/.status"
run cat "$MNT_A/nightly_1/.info"
say "echo 3d > $MNT_A/nightly_1/.expires   (kept 3 days; the expiry travels with the copy)"
echo 3d >"$MNT_A/nightly_1/.expires" || die "setting the expiry failed"
run cat "$MNT_A/nightly_1/.expires"
run cat "$MNT_A/.info"
run ls "$MNT_A/nightly_1" "$MNT_A/nightly_1/meta"

step "an independent check of milvus-backup's format"
say "node tests/snapshot/validate.js --bucket backup-a --prefix backup/nightly_1 --milvus-bucket milvus-a --expect expected.tsv"
S3_ENDPOINT=$S3_A node tests/snapshot/validate.js --bucket backup-a --prefix backup/nightly_1 \
	--milvus-bucket milvus-a --expect "$work/expected.tsv" || die "the validator found violations"

# step_copy: the backup from bucket A (MinIO A) to bucket B (MinIO B), through the two mounts;
# mount B commits it only once every object is there, then follows it to complete
step_copy() {
	step "copy the backup to backup bucket B on MinIO B"
	run "$B" -c "$work/backup-b.yaml" "$MNT_B"
	say "cp -r $MNT_A/nightly_1 $MNT_B/"
	if ! cp -r "$MNT_A/nightly_1" "$MNT_B/" 2>"$work/cp.err"; then
		cat "$work/cp.err"
		! grep -q 'not connected' "$work/cp.err" || die "the daemon of mount B died during cp -r"
		die "cp -r into mount B failed"
	fi
	follow "$MNT_B" nightly_1
}

# step_restore: the backup in bucket B into Milvus B as default.coll_bak through .restore
step_restore() {
	local err prev
	step "restore it into Milvus B as default.coll_bak"
	prev=$(awk '$1 == "job" { print $2 }' "$MNT_B/nightly_1/.status")
	say "echo 'collections=default.coll suffix=_bak' > $MNT_B/nightly_1/.restore"
	err=$( { echo 'collections=default.coll suffix=_bak' >"$MNT_B/nightly_1/.restore"; } 2>&1) \
		|| die "writing .restore failed: $err"
	follow "$MNT_B" nightly_1 "$prev"
	run cat "$MNT_B/nightly_1/.status"
	[ "$(awk '$1 == "state" { print $2 }' "$MNT_B/nightly_1/.status")" = complete ] || die "the restore did not complete"
}

step_copy
run cat "$MNT_B/nightly_1/.info"
say "diff -r $MNT_A/nightly_1 $MNT_B/nightly_1"
diff -r "$MNT_A/nightly_1" "$MNT_B/nightly_1" || die "the copy in B differs from A"
echo "identical"
step_restore

step "verify: Milvus B's default.coll_bak against Milvus A's default.coll"
say "python scripts/demo.py compare 127.0.0.1 $PORT_A coll $PORT_B coll_bak"
"$PY" scripts/demo.py compare 127.0.0.1 "$PORT_A" coll "$PORT_B" coll_bak || die "Milvus B differs from Milvus A"

step "delete the backup in bucket A (bucket B keeps its copy)"
run rmdir "$MNT_A/nightly_1"
run ls -a "$MNT_A"
run ls "$MNT_B"
echo
echo "demo finished in $((SECONDS - T0)) s: snapshot of Milvus A taken, inspected, validated, copied to"
echo "another MinIO, restored into Milvus B and checked there, deleted in A; stopping everything"
