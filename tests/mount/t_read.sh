#!/usr/bin/env bash
# t_read: what a user reads through the mount is byte-for-byte what is stored (spec §5.1):
# whole files (incl. a 64 MiB binlog), ranged reads, concurrent reads; and cp -r, rsync -a, tar,
# du and find see exactly the stored objects -- never a virtual control file (spec §3).
. "$(dirname "$0")/lib.sh"
t_begin
t_fixture_mount

# --- everything, byte-exact (diff -r walks readdir: also proves the listings equal)
t_check "diff -r fixture tree vs mount: identical (every file of every backup, stray objects)" \
	diff -r "$FIX" "$MNT"

big=$(cd "$FIX" && find . -type f -printf '%s %P\n' | sort -n | tail -n 1)
bigsize=${big%% *}; big=${big#* }
t_check "the fixtures hold a file of at least 64 MiB ('$big', $bigsize bytes)" test "$bigsize" -ge 67108864
t_check "cmp of '$big' through the mount" cmp "$FIX/$big" "$MNT/$big"
t_eq "stat size of '$big'" "$bigsize" "$(stat -c %s "$MNT/$big")"

# --- ranged reads: aligned, unaligned, across EOF, past EOF
rng() {  # rng FILE OFFSET COUNT: COUNT bytes at OFFSET
	dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=1M status=none
}
bad=""
for r in "0 4096" "4096 1" "1048575 3" "8388607 1048577" "33554432 8388608" "$((bigsize / 2 + 12345)) 777777" \
	"$((bigsize - 100)) 100" "$((bigsize - 10)) 4096" "$bigsize 10" "$((bigsize + 4096)) 10"; do
	set -- $r
	if ! cmp -s <(rng "$FIX/$big" "$1" "$2") <(rng "$MNT/$big" "$1" "$2"); then
		bad+="offset $1 count $2; "
	fi
done
t_eq "dd ranged reads (aligned, unaligned, across and past EOF) are exact" "" "$bad"
t_eq "a read past EOF returns nothing" 0 "$(rng "$MNT/$big" "$((bigsize + 1))" 100 | wc -c)"
t_eq "dd skip/count in 4 KiB blocks" "$(dd if="$FIX/$big" bs=4096 skip=3000 count=300 status=none | md5sum)" \
	"$(dd if="$MNT/$big" bs=4096 skip=3000 count=300 status=none | md5sum)"

# backwards reads (a reader seeking back must not get read-ahead data of the wrong place)
bad=""
for off in $((bigsize - 1048576)) $((bigsize / 2)) 1048576 0; do
	cmp -s <(rng "$FIX/$big" "$off" 65536) <(rng "$MNT/$big" "$off" 65536) || bad+="$off; "
done
t_eq "reads going backwards through the file are exact" "" "$bad"

# two readers of one file at once
want=$(md5sum <"$FIX/$big" | cut -d' ' -f1)
md5sum <"$MNT/$big" >"$T_TMP/r1" & p1=$!
md5sum <"$MNT/$big" >"$T_TMP/r2" & p2=$!
wait $p1; wait $p2
t_eq "two concurrent readers of '$big' both get exact data" "$want $want" \
	"$(cut -d' ' -f1 "$T_TMP/r1") $(cut -d' ' -f1 "$T_TMP/r2")"

# --- copying tools see only the stored objects
b=$(t_expected_backups | while read -r x; do [ "$(t_backup_state "$x")" = complete ] && echo "$x"; done | head -n 1)
[ -n "$b" ] || t_bail "expected.tsv names no complete backup"
t_check "cp -r $b out of the mount" cp -r "$MNT/$b" "$T_TMP/cp"
t_same_lines "cp -r copied exactly the stored objects (no .info/.status/...)" <(t_tree "$FIX/$b") <(t_tree "$T_TMP/cp")
t_check "cp -r copy is byte-exact" diff -r "$FIX/$b" "$T_TMP/cp"

t_check "rsync -a $b out of the mount" rsync -a "$MNT/$b/" "$T_TMP/rsync/"
t_same_lines "rsync -a copied exactly the stored objects" <(t_tree "$FIX/$b") <(t_tree "$T_TMP/rsync")
t_check "rsync -a copy is byte-exact" diff -r "$FIX/$b" "$T_TMP/rsync"
t_eq "rsync -a kept the files' mtimes" \
	"$(cd "$MNT/$b" && find . -type f -printf '%T@ %P\n' | sed 's/\.[0-9]* / /' | LC_ALL=C sort)" \
	"$(cd "$T_TMP/rsync" && find . -type f -printf '%T@ %P\n' | sed 's/\.[0-9]* / /' | LC_ALL=C sort)"

t_same_lines "tar lists exactly the stored objects" \
	<(cd "$FIX" && tar -cf - "$b" | tar -tf - | LC_ALL=C sort) \
	<(cd "$MNT" && tar -cf - "$b" | tar -tf - | LC_ALL=C sort)

t_same_lines "find of the whole mount equals the fixture tree" <(t_tree "$FIX") <(t_tree "$MNT")
t_eq "du -a sees no control file" "" "$(du -a "$MNT" | awk -F/ '{print $NF}' | grep -E '^\.(info|status|restore|expires|snapshot)' || true)"
t_eq "the mount holds exactly the stored bytes" "$(cd "$FIX" && find . -type f -printf '%s\n' | awk '{s+=$1} END {print s}')" \
	"$(cd "$MNT" && find . -type f -printf '%s\n' | awk '{s+=$1} END {print s}')"

t_check "unmount" t_umount "$MNT"
t_done
