#!/usr/bin/env bash
# t_info: the virtual files a person or a script reads (spec §5.7): the root .info has one row
# per backup with its state; a backup's .info names every collection with its exact entity count
# and size (as tests/fixtures/expected.tsv records them); .info.json says the same in JSON;
# .status has the stable keys in their order.
. "$(dirname "$0")/lib.sh"
t_begin
t_fixture_mount
t_expected_collections >"$T_TMP/expected" || t_bail "expected.tsv"

# --- root .info: one row per backup, with its state
t_check "cat .info succeeds" sh -c "cat '$MNT/.info' >'$T_TMP/root.info'"
bad=""
while read -r b; do
	st=$(t_backup_state "$b")
	row=$(grep -E "(^|[[:space:]])$b([[:space:]]|\$)" "$T_TMP/root.info" || true)
	n=$(printf '%s' "$row" | grep -c . || true)
	if [ "$n" != 1 ]; then bad+="$b: $n rows; "; continue; fi
	grep -Eq "(^|[[:space:]])$st([[:space:]]|\$)" <<<"$row" || bad+="$b: no state '$st' in '$row'; "
done < <(t_expected_backups)
t_eq "root .info: exactly one row per backup, with its state (complete/incomplete)" "" "$bad"
[ -z "$bad" ] || sed 's/^/#   /' "$T_TMP/root.info" | head -n 40
stray=$(cd "$FIX" && find . -mindepth 1 -maxdepth 1 -type f -printf '%P\n' | head -n 1)
if [ -n "$stray" ]; then
	t_eq "root .info: no row for the stray object '$stray'" "" \
		"$(grep -E "(^|[[:space:]])$stray([[:space:]]|\$)" "$T_TMP/root.info" || true)"
fi

# --- per-backup .info: collections, exact entities and sizes
bad=""
nb=0
while IFS=$'\t' read -r b st db coll ent size; do
	[ "$st" = complete ] || continue
	nb=$((nb+1))
	info=$(cat "$MNT/$b/.info" 2>&1) || { bad+="$b: cat .info failed: $info; "; continue; }
	row=$(printf '%s\n' "$info" | grep -E "(^|[[:space:]])$coll([[:space:]]|\$)" \
		| grep -E "(^|[[:space:]])$db([[:space:]]|\$)" || true)
	[ -n "$row" ] || { bad+="$b: no row for $db.$coll; "; continue; }
	grep -Eq "(^|[[:space:]])$ent([[:space:]]|\$)" <<<"$row" \
		|| bad+="$b: row for $db.$coll lacks entities $ent: '$row'; "
done <"$T_TMP/expected"
t_check "expected.tsv names complete backups with collections" test "$nb" -gt 0
t_eq "backup .info: every collection with its exact entity count" "" "$bad"

# the backup's totals: name, state, entities, size in bytes
bad=""
while read -r b; do
	st=$(t_backup_state "$b")
	[ "$st" = complete ] || continue
	IFS=$'\t' read -r tent total < <(t_expected_total "$b")
	info=$(cat "$MNT/$b/.info" 2>/dev/null)
	grep -Eq "^[[:space:]]*name:[[:space:]]*${b}[[:space:]]*\$" <<<"$info" || bad+="$b: no 'name: $b' line; "
	grep -Eq "^[[:space:]]*state:[[:space:]]*complete" <<<"$info" || bad+="$b: no 'state: complete' line; "
	grep -E "^[[:space:]]*entities:" <<<"$info" | grep -E "(^|[^0-9])$tent([^0-9]|\$)" >/dev/null \
		|| bad+="$b: entities line lacks $tent; "
	grep -E "^[[:space:]]*size:" <<<"$info" | grep -E "(^|[^0-9])$total([^0-9]|\$)" >/dev/null \
		|| bad+="$b: size line lacks $total bytes: '$(printf '%s\n' "$info" | grep -E '^[[:space:]]*size:')'; "
done < <(t_expected_backups)
t_eq "backup .info: name, state, total entities and total size in bytes" "" "$bad"

# --- .info.json parses and says the same
check_json() {  # check_json FILE DB COLL ENTITIES SIZE
	python3 - "$@" <<'PY'
import json, sys
path, db, coll, ent, size = sys.argv[1:6]
doc = json.load(open(path))
def walk(o):
    if isinstance(o, dict):
        yield o
        for v in o.values(): yield from walk(v)
    elif isinstance(o, list):
        for v in o: yield from walk(v)
def get(d, *keys):
    for k in keys:
        if k in d: return d[k]
    return None
for d in walk(doc):
    name = get(d, "collection", "collection_name", "name")
    if name != coll: continue
    if get(d, "database", "db", "db_name") not in (db, None): continue
    e = get(d, "entities", "num_entities", "rows", "row_count")
    s = get(d, "size", "size_bytes", "bytes")
    if e is None or s is None: continue
    if int(e) == int(ent) and int(s) == int(size):
        sys.exit(0)
    print(f"{db}.{coll}: entities {e} size {s}, want {ent} {size}")
    sys.exit(1)
print(f"{db}.{coll}: not found")
sys.exit(1)
PY
}
bad=""
while IFS=$'\t' read -r b st db coll ent size; do
	[ "$st" = complete ] || continue
	cat "$MNT/$b/.info.json" >"$T_TMP/info.json" 2>"$T_TMP/info.err" || { bad+="$b: cat .info.json: $(cat "$T_TMP/info.err"); "; continue; }
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T_TMP/info.json" 2>/dev/null \
		|| { bad+="$b: .info.json does not parse; "; continue; }
	out=$(check_json "$T_TMP/info.json" "$db" "$coll" "$ent" "$size") || bad+="$b: $out; "
done <"$T_TMP/expected"
t_eq "backup .info.json parses and has every collection's exact entities and size" "" "$bad"

# --- .status: stable keys, in order, state first
keys="state job phase progress bytes_done bytes_total items_done items_total rate_bps eta_s started updated error"
bad=""
while read -r b; do
	st=$(t_backup_state "$b")
	status=$(cat "$MNT/$b/.status" 2>&1) || { bad+="$b: cat .status failed: $status; "; continue; }
	first=$(printf '%s\n' "$status" | head -n 1)
	grep -Eq "^state (idle|$st)\$" <<<"$first" || bad+="$b: first line '$first'; "
	got=$(printf '%s\n' "$status" | awk '{print $1}' | head -n 13 | tr '\n' ' ')
	[ "$got" = "$keys " ] || bad+="$b: keys '$got'; "
done < <(t_expected_backups)
t_eq ".status of every backup: 'state' first, then the stable keys of spec §5.7 in order" "" "$bad"

# the virtual files are read-only to the user
t_check_fails "writing .info fails" sh -c "echo x > '$MNT/.info'"
t_check "unmount" t_umount "$MNT"
t_done
