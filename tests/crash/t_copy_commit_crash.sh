#!/usr/bin/env bash
# t_copy_commit_crash: kill -9 of the target daemon in the middle of a copy's commit (crash
# point import_meta_levels: the mtimes record, the sidecar and the level meta files are
# written, full_meta.json is not).  A fresh mount shows the copy incomplete, never complete;
# the same `rsync -a` again, sending only what is not stored yet, commits it (the level files
# written before the crash are used from storage), byte-identical to the source object for
# object; one more `rsync -a` transfers no file (the mtimes record keeps the crashed run's
# entries).  (CI once saw a rerun after a kill -9 never commit:
# tests/copy/t_copy_interrupted kills at a random moment, this one at the commit.)
. "$(dirname "$0")/lib.sh"
# shellcheck source=../copy/lib.sh
. "$(dirname "$0")/../copy/lib.sh"
cr_begin

cp_local_source
BB=$(on_b t_bucket) || t_bail "bucket"
CFGB=$(cp_config_b "$BB")
MB=$(t_mkmnt)
cr_mount "$MVB_CRASH_BIN" "$CFGB" "$MB" MVB_CRASH_AT=import_meta_levels ||
	t_bail "mount the crash-point daemon"
pid=$CR_PID

rsync -a "$MA/v0_6_main/" "$MB/cc/" 2>"$T_TMP/rsync-1.err"
diag "first rsync -a: exit $? (the daemon dies once the files are in)"
if cr_died "$pid" && cr_logged "$CR_LOG" "crash point 'import_meta_levels'"; then
	ok "the daemon was killed in the commit"
else
	t_bail "the daemon never reached the crash point: $(tail -n 3 "$CR_LOG")"
fi
on_b cp_objects "$BB" backup/cc >"$T_TMP/objs-crashed"
t_check "crashed: the level files are in the bucket" grep -q '^meta/backup_meta\.json ' "$T_TMP/objs-crashed"
t_check "crashed: meta/full_meta.json is not" on_b sn_no_full_meta "$BB" cc

cr_remount "$CFGB" "$MB" || t_bail "remount with the normal daemon"
t_eq "incomplete on a fresh mount (never complete)" incomplete "$(cp_state "$MB" cc)"
# --ignore-existing: what the rerun of rsync -a does by itself when the stored files' mtimes
# (their upload time) match the source's to the second, as in a fast run: only full_meta.json
# is sent again, the level files are the crashed commit's (CI saw the commit wait for them)
t_check "the same rsync -a again (skipping what is there) exits 0" \
	rsync -a --ignore-existing "$MA/v0_6_main/" "$MB/cc/"
if ! t_check "the rerun commits it" cp_wait_complete 60 "$MB" cc; then
	sed 's/^/#   .status: /' "$MB/cc/.status" 2>&1
	tail -n 20 "$T_TMP/daemon-$(basename "$MB").log" 2>&1 | sed 's/^/#   daemon: /'
fi
cp_local_objects v0_6_main >"$T_TMP/objs-local"
on_b cp_objects "$BB" backup/cc | grep -v '^mvbackupfs\.json ' >"$T_TMP/objs-cc"
t_same_lines "byte-identical to the source, object for object" "$T_TMP/objs-local" "$T_TMP/objs-cc"
# the files the rerun skipped were looked up while the backup was incomplete, with their upload
# times: the kernel keeps those attributes up to attr_timeout (1 s) after the commit
to_send() { rsync -a -n --itemize-changes "$MA/v0_6_main/" "$MB/cc/" 2>&1 | grep -c '^[<>]f'; }
t_wait 5 sh -c "[ \"\$(rsync -a -n --itemize-changes '$MA/v0_6_main/' '$MB/cc/' 2>&1 | grep -c '^[<>]f')\" = 0 ]" ||
	diag "rsync -n still lists $(to_send) files after 5 s"
sent=$(rsync -a --itemize-changes "$MA/v0_6_main/" "$MB/cc/" 2>&1 | grep -c '^[<>]f')
t_eq "one more rsync -a transfers no file" 0 "$sent"
t_done
