#!/usr/bin/env python3
"""scripts/demo.py -- the pymilvus side of scripts/demo.sh (run with .venv/bin/python).

    demo.py load HOST PORT ROWS            create and fill default.coll in Milvus A; prints the
                                           validator's TSV "db<TAB>collection<TAB>rows" on stdout
    demo.py show HOST PORT COLL            count(*), partitions, index and a query by pk of COLL
    demo.py compare HOST PORT_A COLL_A PORT_B COLL_B
                                           the same figures of A and B side by side; exit 1 when
                                           they differ
    demo.py restore-bulk HOST PORT FULL_META NEW_NAME PREFIX
                                           restore a backup by hand, without milvus-backup:
                                           create NEW_NAME with the schema of FULL_META (the
                                           backup's meta/full_meta.json), then one backup-mode
                                           bulk insert per partition of the binlogs copied to
                                           PREFIX (a key prefix in Milvus B's own bucket holding
                                           the backup's binlogs/), then A's index, load

The collection (a fixed seed, so every run has the same data):
  default.coll  INT64 pk id, VARCHAR title, FLOAT_VECTOR(128) emb; partitions _default and p1;
                ROWS rows in three flushed batches (the second into p1); every 100th id deleted;
                HNSW/L2 index; loaded
"""
import json
import random
import sys
import time

from pymilvus import (Collection, CollectionSchema, DataType, FieldSchema, connections,
                      utility)

DIM = 128
PK_PROBE = [1, 2, 100, 1001, 2998]      # 100 is deleted: its query must come back empty


def connect(alias, host, port):
    connections.connect(alias, host=host, port=port, timeout=30)


def load(host, port, rows):
    connect("a", host, port)
    random.seed(13)
    schema = CollectionSchema([
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("title", DataType.VARCHAR, max_length=200),
        FieldSchema("emb", DataType.FLOAT_VECTOR, dim=DIM),
    ], description="mvbackupfs demo")
    coll = Collection("coll", schema, using="a", shards_num=2)
    coll.create_partition("p1")
    per = rows // 3
    for b in range(3):
        ids = list(range(b * per, rows if b == 2 else (b + 1) * per))
        coll.insert([ids, [f"title {i}" for i in ids], [[random.random() for _ in range(DIM)] for _ in ids]],
                    partition_name="p1" if b == 1 else "_default")
        coll.flush()
    coll.delete(f"id in {list(range(0, rows, 100))}")
    coll.flush()
    coll.create_index("emb", {"index_type": "HNSW", "metric_type": "L2",
                              "params": {"M": 8, "efConstruction": 64}})
    utility.wait_for_index_building_complete("coll", using="a")
    coll.load()
    print(f"default\tcoll\t{coll.num_entities}")
    print(f"loaded default.coll: {coll.num_entities} rows in flushed segments, "
          f"{len(range(0, rows, 100))} deleted, count(*) {figures('a', 'coll')['count(*)']}",
          file=sys.stderr)


def figures(alias, name):
    coll = Collection(name, using=alias)
    coll.load()
    count = coll.query("", output_fields=["count(*)"])[0]["count(*)"]
    got = coll.query(f"id in {PK_PROBE}", output_fields=["id", "title"])
    return {
        "count(*)": count,
        "partitions": sorted(p.name for p in coll.partitions),
        "index": sorted(f"{i.field_name}({i.params.get('index_type')})" for i in coll.indexes),
        f"query id in {PK_PROBE}": sorted((r["id"], r["title"]) for r in got),
    }


def show(host, port, name):
    connect("x", host, port)
    for k, v in figures("x", name).items():
        print(f"  {k:32} {v}")


def compare(host, port_a, name_a, port_b, name_b):
    connect("a", host, port_a)
    connect("b", host, port_b)
    fa, fb = figures("a", name_a), figures("b", name_b)
    print(f"  {'':32} {'A: default.' + name_a:28} B: default.{name_b}")
    same = True
    for k in fa:
        mark = "same" if fa[k] == fb[k] else "DIFFERENT"
        same = same and fa[k] == fb[k]
        va, vb = str(fa[k]), str(fb[k])
        if len(va) > 26:
            print(f"  {k:32} {mark}\n    A {va}\n    B {vb}")
        else:
            print(f"  {k:32} {va:28} {vb}   {mark}")
    return 0 if same else 1


TYPES = {1: DataType.BOOL, 2: DataType.INT8, 3: DataType.INT16, 4: DataType.INT32, 5: DataType.INT64,
         10: DataType.FLOAT, 11: DataType.DOUBLE, 21: DataType.VARCHAR, 23: DataType.JSON,
         100: DataType.BINARY_VECTOR, 101: DataType.FLOAT_VECTOR}


def restore_bulk(host, port, full_meta, new_name, prefix):
    from pymilvus.grpc_gen import common_pb2, milvus_pb2
    connect("b", host, port)
    meta = json.load(open(full_meta))
    cb = next(c for c in meta["collection_backups"] if c["db_name"] == "default" and c["collection_name"] == "coll")
    fields = []
    for f in sorted(cb["schema"]["fields"], key=lambda f: f["fieldID"]):
        params = {p["key"]: p["value"] for p in f.get("type_params", [])}
        kw = {}
        if "dim" in params:
            kw["dim"] = int(params["dim"])
        if "max_length" in params:
            kw["max_length"] = int(params["max_length"])
        fields.append(FieldSchema(f["name"], TYPES[f["data_type"]], is_primary=f.get("is_primary_key", False),
                                  auto_id=f.get("autoID", False), **kw))
    coll = Collection(new_name, CollectionSchema(fields, description=cb["schema"].get("description", "")),
                      using="b", shards_num=cb.get("shards_num", 1))
    stub = connections._fetch_handler("b")._stub
    cid = cb["collection_id"]
    for p in cb["partition_backups"]:
        if p["partition_name"] != "_default" and not coll.has_partition(p["partition_name"]):
            coll.create_partition(p["partition_name"])
        segs = p.get("segment_backups") or []
        if not segs:
            continue
        pid = p["partition_id"]
        files = [f"{prefix}/insert_log/{cid}/{pid}/"]
        if any(s.get("deltalogs") and any(d.get("binlogs") for d in s["deltalogs"]) for s in segs):
            files.append(f"{prefix}/delta_log/{cid}/{pid}/")
        # pymilvus 2.3 passes only the "bucket" option: the request is built here with
        # backup=true, as milvus-backup does
        req = milvus_pb2.ImportRequest(collection_name=new_name, partition_name=p["partition_name"], files=files)
        req.options.append(common_pb2.KeyValuePair(key="backup", value="true"))
        resp = stub.Import(req, timeout=60)
        if resp.status.error_code != 0:
            sys.exit(f"bulk insert of partition {p['partition_name']}: {resp.status.reason}")
        for task in resp.tasks:
            deadline = time.time() + 300
            while True:
                st = utility.get_bulk_insert_state(task, using="b")
                if st.state_name == "Completed":
                    break
                if st.state_name in ("Failed", "Failed and cleaned"):
                    sys.exit(f"bulk insert task {task} ({p['partition_name']}): {st.infos}")
                if time.time() > deadline:
                    sys.exit(f"bulk insert task {task}: still {st.state_name} after 300 s")
                time.sleep(0.5)
        print(f"  partition {p['partition_name']}: {len(segs)} segment(s) imported from {files}")
    for idx in cb.get("index_infos") or []:     # {"field_name", "index_name", "params": {...}}
        kv = idx["params"]
        coll.create_index(idx["field_name"], {"index_type": kv["index_type"], "metric_type": kv["metric_type"],
                                              "params": json.loads(kv.get("params") or "{}")},
                          index_name=idx.get("index_name", ""))
    utility.wait_for_index_building_complete(new_name, using="b")
    coll.load()
    print(f"  {new_name}: {coll.num_entities} rows, loaded")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "load":
        load(args[0], args[1], int(args[2]))
    elif cmd == "show":
        show(*args)
    elif cmd == "compare":
        sys.exit(compare(*args))
    elif cmd == "restore-bulk":
        restore_bulk(*args)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
