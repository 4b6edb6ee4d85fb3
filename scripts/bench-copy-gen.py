#!/usr/bin/env python3
"""bench-copy-gen.py DIR NAME TOTAL_MB FILES -- write a synthetic milvus-backup (v0.4.4+ layout,
full_meta.json and the four level files) of about TOTAL_MB MiB in FILES binlogs under DIR/NAME/,
sizes like a 768-dim collection: mostly tens of KiB, a few vector binlogs of tens to hundreds
of MiB.  Data is random (incompressible).  For scripts/bench-copy.sh."""
import json, os, random, sys

out, name, total_mb, files = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(42)
coll, part = 450000000000000010, 450000000000000011
big = max(1, files // 60)                      # vector binlogs
small = files - big
small_sizes = [rnd.randint(8, 96) << 10 for _ in range(small)]
rest = max(total_mb << 20, sum(small_sizes) + big) - sum(small_sizes)
big_sizes = [rest // big] * big
big_sizes[-1] += rest - sum(big_sizes)
sizes = small_sizes + big_sizes
rnd.shuffle(sizes)
segs, logid, i = [], 450000000000100000, 0
nseg = max(1, files // 10)
per = [files // nseg + (1 if k < files % nseg else 0) for k in range(nseg)]
chunk = os.urandom(1 << 20)
for k in range(nseg):
    sid = 450000000000001000 + k
    fields = []
    for f in range(per[k]):
        logid += 1
        size = sizes[i]; i += 1
        key = f"binlogs/insert_log/{coll}/{part}/{sid}/{sid}/{100 + f}/{logid}"
        path = os.path.join(out, name, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            left = size
            while left:
                n = min(left, len(chunk))
                fh.write(chunk[:n]); left -= n
        fields.append({"fieldID": 100 + f, "binlogs": [{"log_path": f"files/insert_log/{coll}/{part}/{sid}/{100 + f}/{logid}", "log_size": size, "log_id": logid}]})
    segs.append({"segment_id": sid, "collection_id": coll, "partition_id": part, "num_of_rows": 1000,
                 "binlogs": fields, "size": sum(b["binlogs"][0]["log_size"] for b in fields), "group_id": sid})
schema = {"name": "bench", "fields": [{"fieldID": 100, "name": "pk", "is_primary_key": True, "data_type": 5}]}
partition = {"partition_id": part, "partition_name": "_default", "collection_id": coll, "size": sum(s["size"] for s in segs)}
collection = {"collection_id": coll, "db_name": "default", "collection_name": "bench", "schema": schema,
              "size": partition["size"]}
root = {"id": "bench-0000", "name": name, "size": partition["size"], "milvus_version": "v2.4.0"}
meta = os.path.join(out, name, "meta"); os.makedirs(meta, exist_ok=True)
def w(f, o):
    with open(os.path.join(meta, f), "w") as fh: json.dump(o, fh, separators=(",", ":"))
w("backup_meta.json", root)
w("collection_meta.json", {"infos": [dict(collection, partition_backups=[partition])]})
w("partition_meta.json", {"infos": [partition]})
w("segment_meta.json", {"infos": segs})
w("full_meta.json", dict(root, collection_backups=[dict(collection, partition_backups=[dict(partition, segment_backups=segs)])]))
print(f"{len(sizes) + 5} objects, {sum(sizes) >> 20} MiB")
