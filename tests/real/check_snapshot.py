#!/usr/bin/env python3
"""tests/real/check_snapshot.py BACKUP_DIR REFERENCE_DIR LIVE_JSON -- check a snapshot taken with
`mkdir .snapshot/N` of a real Milvus (BACKUP_DIR: the backup's folder in the mount) against
  - REFERENCE_DIR (the real milvus-backup v0.5.16's fx516_all of the same data shape): every
    meta/*.json has exactly its key set, recursively (lists: the union over their elements),
    but for the deliberate differences listed in docs/format-notes.md ("Snapshot meta vs
    milvus-backup v0.5.16"), given in EXTRA and MISSING below;
  - itself: every binlog and deltalog the segment meta names exists in binlogs/ with the size
    the meta states;
  - LIVE_JSON (what pymilvus reported, tests/real/load.py): per collection the partitions and
    the indexes, and the rows in the backup's segments equal num_entities.
Prints one line per difference, exit 1 when there is any.  Standard library only.
"""
import json
import os
import sys

# key paths the snapshot writes and v0.5.16 does not / v0.5.16 writes and the snapshot does not
EXTRA = {"segment_meta.json": {"infos[].v_channel"},
         "full_meta.json": {"collection_backups[].partition_backups[].segment_backups[].v_channel"}}
MISSING = {}


def keypaths(v, prefix=""):
    out = set()
    if isinstance(v, dict):
        for k, x in v.items():
            p = f"{prefix}.{k}" if prefix else k
            out.add(p)
            out |= keypaths(x, p)
    elif isinstance(v, list):
        for x in v:
            out |= keypaths(x, prefix + "[]")
    return out


def main():
    bdir, rdir, live_path = sys.argv[1:4]
    bad = []
    for f in sorted(os.listdir(os.path.join(rdir, "meta"))):
        ref = keypaths(json.load(open(os.path.join(rdir, "meta", f))))
        p = os.path.join(bdir, "meta", f)
        if not os.path.exists(p):
            bad.append(f"meta/{f}: missing")
            continue
        got = keypaths(json.load(open(p)))
        extra = got - ref - EXTRA.get(f, set())
        missing = ref - got - MISSING.get(f, set())
        if extra:
            bad.append(f"meta/{f}: keys v0.5.16 does not write: {sorted(extra)}")
        if missing:
            bad.append(f"meta/{f}: keys v0.5.16 writes that are missing: {sorted(missing)}")

    # the stored objects, by (kind, collection, partition, segment, [field,] log id)
    objs = {}
    for root, _, files in os.walk(os.path.join(bdir, "binlogs")):
        for name in files:
            path = os.path.join(root, name)
            parts = os.path.relpath(path, os.path.join(bdir, "binlogs")).split(os.sep)
            # insert_log/C/P/G/S/F/L, delta_log/C/P/G/S/L
            key = (parts[0],) + tuple(parts[1:3]) + tuple(parts[4:])
            objs[key] = os.path.getsize(path)
    segs = json.load(open(os.path.join(bdir, "meta", "segment_meta.json")))["infos"]
    named = 0
    rows = {}
    for s in segs:
        rows[s["collection_id"]] = rows.get(s["collection_id"], 0) + s["num_of_rows"]
        for kind, field in (("insert_log", "binlogs"), ("delta_log", "deltalogs")):
            for fb in s.get(field) or []:
                for b in fb.get("binlogs") or []:
                    named += 1
                    parts = b["log_path"].split("/")
                    i = parts.index(kind)
                    key = (kind,) + tuple(parts[i + 1:i + 3]) + tuple(parts[i + 3:])
                    if key not in objs:
                        bad.append(f"{b['log_path']}: named in segment_meta but not in binlogs/")
                    elif objs[key] != b["log_size"]:
                        bad.append(f"{b['log_path']}: meta says {b['log_size']} bytes, stored {objs[key]}")
    if named == 0:
        bad.append("segment_meta names no binlog")

    live = json.load(open(live_path))
    colls = json.load(open(os.path.join(bdir, "meta", "collection_meta.json")))["infos"]
    parts = json.load(open(os.path.join(bdir, "meta", "partition_meta.json")))["infos"]
    seen = set()
    for c in colls:
        key = f"{c.get('db_name') or 'default'}.{c['collection_name']}"
        seen.add(key)
        want = live.get(key)
        if not want:
            bad.append(f"{key}: in the snapshot, not in Milvus")
            continue
        got_parts = sorted(p["partition_name"] for p in parts if p["collection_id"] == c["collection_id"])
        if got_parts != want["partitions"]:
            bad.append(f"{key}: partitions {got_parts}, pymilvus {want['partitions']}")
        got_idx = sorted(f"{i['field_name']}({i['index_type']})" for i in c.get("index_infos") or [])
        if got_idx != want["indexes"]:
            bad.append(f"{key}: indexes {got_idx}, pymilvus {want['indexes']}")
        if rows.get(c["collection_id"], 0) != want["inserted"]:
            bad.append(f"{key}: {rows.get(c['collection_id'], 0)} rows in segments, pymilvus num_entities {want['inserted']}")
    for key in sorted(set(live) - seen):
        bad.append(f"{key}: in Milvus, not in the snapshot")
    for b in bad:
        print(b)
    if not bad:
        print(f"key sets equal to v0.5.16's; {named} binlogs with their sizes; {len(seen)} collections agree with pymilvus")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
