#!/usr/bin/env bash
# t_copy_tools: a snapshot on mount A (stand-in data: two databases, deletes) copied into mount B
# (another S3 server, other credentials) with cp -r, rsync -a, tar -c | tar -x and cp -a; each
# copy commits (complete), is byte-identical object for object, passes the format validator,
# and a fresh mount of B shows the same .info as A; a second rsync -a transfers no file.
. "$(dirname "$0")/lib.sh"
cp_begin

cp_source nightly_1
cp_target

# cp -r
t_check "cp -r MA/nightly_1 MB/ exits 0 with no message" sh -c "cp -r '$MA/nightly_1' '$MB/' 2>&1 | (! grep .)"
t_check "cp -r: complete" cp_wait_complete 60 "$MB" nightly_1
# rsync -a (rsync makes the directory itself, writes .NAME.XXXXXX and renames)
t_check "rsync -a MA/nightly_1/ MB/by_rsync/ exits 0 with no message" \
	sh -c "rsync -a '$MA/nightly_1/' '$MB/by_rsync/' 2>&1 | (! grep .)"
t_check "rsync -a: complete" cp_wait_complete 60 "$MB" by_rsync
# tar
mkdir "$T_TMP/tarsrc" && ln -s "$MA/nightly_1" "$T_TMP/tarsrc/by_tar"
t_check "tar -C MA -ch by_tar | tar -C MB -x exits 0 with no message" \
	sh -c "tar -C '$T_TMP/tarsrc' -ch by_tar | tar -C '$MB' -x 2>&1 | (! grep .)"
t_check "tar -x: complete" cp_wait_complete 60 "$MB" by_tar
# cp -a
t_check "cp -a MA/nightly_1 MB/by_cp_a exits 0 with no message" \
	sh -c "cp -a '$MA/nightly_1' '$MB/by_cp_a' 2>&1 | (! grep .)"
t_check "cp -a: complete" cp_wait_complete 60 "$MB" by_cp_a

for n in nightly_1 by_rsync by_tar by_cp_a; do
	cp_same_objects "$n: byte-identical to the source, object for object" "$BA" backup/nightly_1 "$BB" "backup/$n"
	t_check "$n: validate.js accepts it" on_b sn_validate "$BB" "backup/$n" --expect "$T_TMP/expected.tsv"
done

# a fresh mount of B: the same .info counts as A
sn_info_rows "$MA" nightly_1 >"$T_TMP/info-a.tsv"
t_umount "$MB" || t_bail "umount B"
MB2=$(t_mkmnt)
t_mount_or_bail "$CFGB" "$MB2"
for n in nightly_1 by_rsync by_tar by_cp_a; do
	t_eq "$n: complete on a fresh mount of B" complete "$(cp_state "$MB2" "$n")"
	sn_info_rows "$MB2" "$n" >"$T_TMP/info-b.tsv"
	t_same_lines "$n: .info on B lists what A lists" "$T_TMP/info-a.tsv" "$T_TMP/info-b.tsv"
done

# the second rsync -a of the same source: nothing to transfer, exit 0
out=$(rsync -a --stats "$MA/nightly_1/" "$MB2/by_rsync/" 2>&1); rc=$?
t_eq "second rsync -a exits 0" 0 "$rc"
t_match "second rsync -a transfers no file" 'Number of regular files transferred: 0' "$out" \
	|| printf '%s\n' "$out" | head -n 30 | sed 's/^/#   /'
t_done
