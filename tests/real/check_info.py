#!/usr/bin/env python3
"""tests/real/check_info.py MNT EXPECTED_JSON [NAME...] -- compare what a mount's .info files show
with the figures of ../shared/fixtures/milvus-backup/expected.json (computed there without this
project's code).  Prints one line per difference and exits 1 when there is any; prints the number
of figures compared otherwise.  Standard library only.

Compared per backup: the root .info table (state, collections, entities), and NAME/.info (state,
milvus version, backup id, size in bytes, collections, entities, and per collection partitions,
segments, entities and indexes).
"""
import json
import os
import re
import sys


def main():
    mnt, exp_path = sys.argv[1], sys.argv[2]
    exp = json.load(open(exp_path))["backups"]
    names = sys.argv[3:] or sorted(exp)
    bad, n = [], 0

    def eq(what, want, got):
        nonlocal n
        n += 1
        if str(want) != str(got):
            bad.append(f"{what}: expected {want!r}, .info shows {got!r}")

    root = open(os.path.join(mnt, ".info")).read().splitlines()
    hdr = root[0].split()
    rows = {}
    for line in root[1:]:
        f = line.split()
        if f:
            rows[f[0]] = f
    for name in names:
        e = exp[name]
        r = rows.get(name)
        if not r:
            bad.append(f"{name}: not in the root .info")
            continue
        eq(f"{name} root state", e["state"], r[hdr.index("STATE")])
        eq(f"{name} root collections", len(e["collections"]), r[hdr.index("COLLECTIONS")])
        eq(f"{name} root entities", e["entities"], r[hdr.index("ENTITIES")])

        text = open(os.path.join(mnt, name, ".info")).read()
        kv = {}
        for line in text.splitlines():
            m = re.match(r"^([a-z ]+):\s+(.*)$", line)
            if m:
                kv.setdefault(m.group(1), m.group(2))
        eq(f"{name} state", e["state"], kv.get("state"))
        eq(f"{name} milvus", e["milvus_version"], kv.get("milvus"))
        eq(f"{name} backup id", e["backup_id"], kv.get("backup id"))
        m = re.search(r"\((\d+) bytes\)", kv.get("size", ""))
        eq(f"{name} size", e["size_field"], m.group(1) if m else None)
        eq(f"{name} collections", len(e["collections"]), kv.get("collections"))
        eq(f"{name} entities", e["entities"], (kv.get("entities") or "").split(" ")[0])

        table = text.split("\n\n", 1)[1].splitlines() if "\n\n" in text else []
        got = {}
        if table:
            th = table[0].split()
            for line in table[1:]:
                f = line.split()
                if len(f) < len(th):
                    continue
                # SIZE is two words ("811.4 KiB"): the columns after it shift by one
                got[f"{f[0]}.{f[1]}"] = {
                    "partitions": f[th.index("PARTITIONS")],
                    "segments": f[th.index("SEGMENTS")],
                    "entities": f[th.index("ENTITIES")],
                    "indexes": f[-1],
                }
        for coll, ec in sorted(e["collections"].items()):
            g = got.get(coll)
            if not g:
                bad.append(f"{name}: collection {coll} not in its .info table")
                continue
            eq(f"{name} {coll} partitions", len(ec["partitions"]), g["partitions"])
            eq(f"{name} {coll} segments", ec["segments"], g["segments"])
            eq(f"{name} {coll} entities", ec["entities"], g["entities"])
            eq(f"{name} {coll} indexes", ",".join(ec["indexes"]) or "-", g["indexes"])
        eq(f"{name} collection rows", len(e["collections"]), len(got))
    for b in bad:
        print(b)
    if not bad:
        print(f"{n} figures equal")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
