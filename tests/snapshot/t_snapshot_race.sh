#!/usr/bin/env bash
# t_snapshot_race: two mounts of the same bucket, mkdir .snapshot/SAME on both at the same
# moment: exactly one succeeds, the other gets EEXIST (the name is reserved with a conditional
# create, spec §6); the winner's backup completes and is valid.  Three rounds.
. "$(dirname "$0")/lib.sh"
sn_begin

sa_start a || t_bail "stand-in"
sn_populate "$T_TMP/expected.tsv" --dbs default --collections 1 --rows 100 --batches 2 --dim 8 || t_bail "populate"
BK=$(t_bucket) || t_bail "bucket"
CFG=$(sn_config "$BK")
M1=$(t_mkmnt)
M2=$(t_mkmnt)
t_mount_or_bail "$CFG" "$M1"
t_mount_or_bail "$CFG" "$M2"

for round in 1 2 3; do
	name=race_$round
	go="$T_TMP/go-$round"
	# both wait for the same file, then mkdir at once
	for m in 1 2; do
		mnt=$M1; [ $m = 2 ] && mnt=$M2
		(
			while [ ! -e "$go" ]; do sleep 0.005; done
			if err=$(mkdir "$mnt/.snapshot/$name" 2>&1); then echo ok; else echo "$err"; fi >"$T_TMP/r$round-$m"
		) &
	done
	sleep 0.2	# let both waiters reach their loop (not a synchronisation: the go file is)
	touch "$go"
	wait
	r1=$(cat "$T_TMP/r$round-1") r2=$(cat "$T_TMP/r$round-2")
	diag "round $round: mount 1: $r1 | mount 2: $r2"
	if printf '%s\n%s\n' "$r1" "$r2" | grep 'Operation not supported' >/dev/null; then
		t_bail "the daemon has no snapshot support yet"
	fi
	wins=$(printf '%s\n%s\n' "$r1" "$r2" | grep -cx ok)
	t_eq "round $round: exactly one mkdir succeeded" 1 "$wins"
	t_check "round $round: the other got EEXIST" sh -c "printf '%s\n%s\n' '$r1' '$r2' | grep -q 'File exists'"
	winner=$M1; [ "$r2" = ok ] && winner=$M2
	sn_wait_state 60 "$winner" "$name" complete
	t_eq "round $round: the winner's snapshot completes" complete "$(sn_status "$winner" "$name" state)"
	t_check "round $round: the backup is valid" sn_validate "$BK" "backup/$name" --expect "$T_TMP/expected.tsv"
done

t_done
