#!/usr/bin/env python3
"""scripts/demo.py -- the pymilvus side of scripts/demo.sh (run with .venv/bin/python).

    demo.py load HOST PORT ROWS            create and fill default.coll in Milvus A; prints the
                                           validator's TSV "db<TAB>collection<TAB>rows" on stdout
    demo.py show HOST PORT COLL            count(*), partitions, index and a query by pk of COLL
    demo.py compare HOST PORT_A COLL_A PORT_B COLL_B
                                           the same figures of A and B side by side; exit 1 when
                                           they differ

The collection (a fixed seed, so every run has the same data):
  default.coll  INT64 pk id, VARCHAR title, FLOAT_VECTOR(128) emb; partitions _default and p1;
                ROWS rows in three flushed batches (the second into p1); every 100th id deleted;
                HNSW/L2 index; loaded
"""
import random
import sys

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


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "load":
        load(args[0], args[1], int(args[2]))
    elif cmd == "show":
        show(*args)
    elif cmd == "compare":
        sys.exit(compare(*args))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
