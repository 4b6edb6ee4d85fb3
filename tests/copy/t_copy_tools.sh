#!/usr/bin/env bash
# t_copy_tools: a snapshot on mount A (stand-in data: two databases, deletes) copied into mount B
# (another S3 server, other credentials) with cp -r, rsync -a, tar -c | tar -x, cp -a and rclone
# copy (it closes each file, then sets its time by path; 4 files at once); each
# copy commits (complete), is byte-identical object for object, passes the format validator,
# and a fresh mount of B shows the same .info as A; a second rsync -a transfers no file.  The
# sidecar travels: the copy is TYPE copied with A's expiry, its mvbackupfs.json reads as A's.
. "$(dirname "$0")/lib.sh"
cp_begin

cp_source nightly_1
t_eq "echo 3d > MA/nightly_1/.expires succeeds" "" "$( (echo 3d >"$MA/nightly_1/.expires") 2>&1)"
# four targets on B, one bucket and mount per tool: a backup keeps its name (its meta says it)
declare -A TB TM TC
for tool in cp_r rsync tar cp_a rclone; do
	cp_target
	TB[$tool]=$BB TM[$tool]=$MB TC[$tool]=$CFGB
done

t_check "cp -r MA/nightly_1 MB/ exits 0 with no message" \
	sh -c "cp -r '$MA/nightly_1' '${TM[cp_r]}/' 2>&1 | (! grep .)"
# rsync makes the directory itself, writes .NAME.XXXXXX files and renames them
t_check "rsync -a MA/nightly_1 MB/ exits 0 with no message" \
	sh -c "rsync -a '$MA/nightly_1' '${TM[rsync]}/' 2>&1 | (! grep .)"
t_check "tar -C MA -c nightly_1 | tar -C MB -x exits 0 with no message" \
	sh -c "tar -C '$MA' -c nightly_1 | tar -C '${TM[tar]}' -x 2>&1 | (! grep .)"
t_check "cp -a MA/nightly_1 MB/ exits 0 with no message" \
	sh -c "cp -a '$MA/nightly_1' '${TM[cp_a]}/' 2>&1 | (! grep .)"
t_check "rclone copy MA/nightly_1 MB/nightly_1 exits 0 with no message" \
	sh -c "RCLONE_CONFIG=/dev/null rclone copy '$MA/nightly_1' '${TM[rclone]}/nightly_1' 2>&1 | (! grep .)"

sn_info_rows "$MA" nightly_1 >"$T_TMP/info-a.tsv"
for tool in cp_r rsync tar cp_a rclone; do
	t_check "$tool: the copy commits (complete)" cp_wait_complete 60 "${TM[$tool]}" nightly_1 \
		|| cat "${TM[$tool]}/nightly_1/.status" | sed 's/^/#   /'
	cp_same_objects "$tool: byte-identical to the source, object for object" \
		"$BA" backup/nightly_1 "${TB[$tool]}" backup/nightly_1
	t_check "$tool: validate.js accepts it" on_b sn_validate "${TB[$tool]}" backup/nightly_1 \
		--expect "$T_TMP/expected.tsv"
	# a fresh mount of B: the same .info counts as A
	t_umount "${TM[$tool]}" || t_bail "umount B ($tool)"
	MB=$(t_mkmnt)
	t_mount_or_bail "${TC[$tool]}" "$MB"
	TM[$tool]=$MB
	t_eq "$tool: complete on a fresh mount of B" complete "$(cp_state "$MB" nightly_1)"
	sn_info_rows "$MB" nightly_1 >"$T_TMP/info-b.tsv"
	t_same_lines "$tool: .info on a fresh mount of B lists what A lists" "$T_TMP/info-a.tsv" "$T_TMP/info-b.tsv"
	if [ "$tool" = cp_r ]; then fmt=%s; else fmt='%s %Y'; fi
	cp_same_sidecar "$tool" "$MA" "$MB" nightly_1 "$fmt"
done
MB2=${TM[rsync]}

# the second rsync -a of the same source: nothing to transfer, exit 0
out=$(rsync -a --stats "$MA/nightly_1" "$MB2/" 2>&1); rc=$?
t_eq "second rsync -a exits 0" 0 "$rc"
t_match "second rsync -a transfers no file" 'Number of regular files transferred: 0' "$out" \
	|| printf '%s\n' "$out" | head -n 30 | sed 's/^/#   /'
# the same for rclone: size and modtime match on every file, nothing is sent or refused
out=$(RCLONE_CONFIG=/dev/null rclone copy -v "$MA/nightly_1" "${TM[rclone]}/nightly_1" 2>&1); rc=$?
t_eq "second rclone copy exits 0" 0 "$rc"
t_match "second rclone copy transfers no file" 'There was nothing to transfer' "$out" \
	|| printf '%s\n' "$out" | head -n 30 | sed 's/^/#   /'
t_done
