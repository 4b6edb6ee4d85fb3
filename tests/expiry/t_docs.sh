#!/usr/bin/env bash
# t_docs: the documentation works as written (issue 9) -- every docs/examples/*.yaml loads
# with --print-config, without a warning, and says what its comments promise; a bad
# mvbackupfs.schedule stops startup with one line naming it; docs/mvbackupfs.1 renders
# with no warning and documents every control file and the config keys of the schedule.
. "$(dirname "$0")/lib.sh"
t_begin
t_need_daemon
ex=$T_TOP/docs/examples
n=0
for f in "$ex"/*.yaml; do
	n=$((n + 1))
	out=$("$MVB_BIN" -c "$f" --print-config 2>"$T_TMP/err") && ok "$(basename "$f") loads" || not_ok "$(basename "$f") loads: $(cat "$T_TMP/err")"
	t_eq "$(basename "$f"): no warning" "" "$(cat "$T_TMP/err")"
	printf '%s\n' "$out" >"$T_TMP/$(basename "$f").out"
done
t_check "there are example configs" test "$n" -ge 5
val() { sed -n "s/^$2: //p" "$T_TMP/$1.out"; }
t_eq "local.yaml: local storage" local "$(val local.yaml minio.backupStorageType)"
t_eq "minio.yaml: daily at 03:00" 03:00 "$(val minio.yaml mvbackupfs.schedule)"
t_eq "minio.yaml: kept 72h" 259200s "$(val minio.yaml mvbackupfs.retention)"
t_eq "minio.yaml: manual ones never expire" never "$(val minio.yaml mvbackupfs.manual_retention)"
t_eq "minio.yaml: secrets masked" "****" "$(val minio.yaml minio.secretAccessKey)"
t_eq "automatic.yaml: every 6 hours" "0 */6 * * *" "$(val automatic.yaml mvbackupfs.schedule)"
t_eq "automatic.yaml: only marks" false "$(val automatic.yaml mvbackupfs.delete_expired)"
t_eq "automatic.yaml: keep_min 3" 3 "$(val automatic.yaml mvbackupfs.keep_min)"
t_eq "migrate-b.yaml: another store" store-b.example.internal "$(val migrate-b.yaml minio.backupAddress)"

printf 'mvbackupfs:\n  schedule: "25:00"\n' >"$T_TMP/bad.yaml"
out=$("$MVB_BIN" -c "$T_TMP/bad.yaml" --print-config 2>&1) && not_ok "a bad schedule is refused" || ok "a bad schedule is refused"
t_match "... with one line naming the key and the value" "mvbackupfs.schedule: schedule '25:00': expected HH:MM" "$out"

man_out=$(MANWIDTH=80 man --warnings -l "$T_TOP/docs/mvbackupfs.1" 2>"$T_TMP/man.err")
t_eq "the man page renders without warnings" "" "$(cat "$T_TMP/man.err")"
for w in .info .info.json .status .expires .snapshot log=file config=file mvbackupfs.schedule mvbackupfs.retention \
	mvbackupfs.manual_retention mvbackupfs.delete_expired mvbackupfs.keep_min /etc/fstab ExecStart EAGAIN EROFS; do
	t_match "the man page documents $w" "$(printf '%s' "$w" | sed 's/\./\\./g')" "$man_out"
done
t_done
