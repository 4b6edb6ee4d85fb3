#!/usr/bin/env python3
"""tests/real/load.py -- load a data set of the shape of ../shared/fixtures/milvus-backup into a
real Milvus through pymilvus, and print what pymilvus then reports, as JSON on stdout.

    .venv/bin/python tests/real/load.py HOST PORT [--small]

The data (database.collection), as in the fixtures' README:
  default.docs    (description "docs fixture") INT64 pk id, VARCHAR title, JSON meta, FLOAT_VECTOR(64) emb; 2 shards;
                  partitions _default and p2024; 3000 rows in three flushed batches (the second
                  into p2024), then 10 rows deleted (id in [0,10,...,90]); HNSW/IP index
  default.bins    VARCHAR pk key, BINARY_VECTOR(128) bv; 500 rows; BIN_FLAT/HAMMING
  default.empty   INT64 pk id, FLOAT_VECTOR(8) v; no rows, no index
  sales.orders    INT64 pk id with auto_id, DOUBLE amount, INT32 qty, FLOAT_VECTOR(16) vec;
                  1000 rows; IVF_FLAT/L2
The output: {"db.coll": {"inserted": N, "deleted": N, "partitions": [...], "fields": [...],
"indexes": ["field(TYPE)"], "count": N}}: inserted is num_entities (rows in flushed segments),
count is count(*) after loading (null for a collection without an index, which cannot load).
Deterministic data: a fixed seed.
"""
import json
import random
import sys

from pymilvus import Collection, CollectionSchema, DataType, FieldSchema, connections, db

random.seed(516)


def vec(dim):
    return [random.random() for _ in range(dim)]


def bvec(dim):
    return bytes(random.getrandbits(8) for _ in range(dim // 8))


def main():
    host, port = sys.argv[1], sys.argv[2]
    connections.connect("default", host=host, port=port, timeout=30)
    out = {}

    # default.docs
    db.using_database("default")
    schema = CollectionSchema([
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("title", DataType.VARCHAR, max_length=200),
        FieldSchema("meta", DataType.JSON),
        FieldSchema("emb", DataType.FLOAT_VECTOR, dim=64),
    ], description="docs fixture")
    docs = Collection("docs", schema, shards_num=2)
    docs.create_partition("p2024")
    for b in range(3):
        ids = list(range(b * 1000, (b + 1) * 1000))
        rows = [ids, [f"title {i}" for i in ids],
                [{"n": i, "tag": ["a", "b", "c"][i % 3], "nested": {"even": i % 2 == 0}} for i in ids],
                [vec(64) for _ in ids]]
        docs.insert(rows, partition_name="p2024" if b == 1 else "_default")
        docs.flush()
    docs.create_index("emb", {"index_type": "HNSW", "metric_type": "IP",
                              "params": {"M": 8, "efConstruction": 64}})
    docs.delete("id in [0,10,20,30,40,50,60,70,80,90]")
    docs.flush()

    # default.bins
    bins = Collection("bins", CollectionSchema([
        FieldSchema("key", DataType.VARCHAR, is_primary=True, max_length=64),
        FieldSchema("bv", DataType.BINARY_VECTOR, dim=128),
    ]))
    bins.insert([[f"k{i:04d}" for i in range(500)], [bvec(128) for _ in range(500)]])
    bins.flush()
    bins.create_index("bv", {"index_type": "BIN_FLAT", "metric_type": "HAMMING", "params": {}})

    # default.empty
    Collection("empty", CollectionSchema([
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("v", DataType.FLOAT_VECTOR, dim=8),
    ]))

    # sales.orders
    db.create_database("sales")
    db.using_database("sales")
    orders = Collection("orders", CollectionSchema([
        FieldSchema("id", DataType.INT64, is_primary=True, auto_id=True),
        FieldSchema("amount", DataType.DOUBLE),
        FieldSchema("qty", DataType.INT32),
        FieldSchema("vec", DataType.FLOAT_VECTOR, dim=16),
    ]))
    orders.insert([[random.uniform(1, 500) for _ in range(1000)],
                   [random.randint(1, 20) for _ in range(1000)],
                   [vec(16) for _ in range(1000)]])
    orders.flush()
    orders.create_index("vec", {"index_type": "IVF_FLAT", "metric_type": "L2",
                                "params": {"nlist": 16}})

    deleted = {"default.docs": 10}
    for dbname, names in (("default", ["docs", "bins", "empty"]), ("sales", ["orders"])):
        db.using_database(dbname)
        for name in names:
            c = Collection(name)
            key = f"{dbname}.{name}"
            info = {
                "inserted": c.num_entities,
                "deleted": deleted.get(key, 0),
                "partitions": sorted(p.name for p in c.partitions),
                "fields": [f.name for f in c.schema.fields],
                "indexes": sorted(f"{i.field_name}({i.params.get('index_type')})" for i in c.indexes),
            }
            if c.indexes:
                c.load()
                info["count"] = c.query("", output_fields=["count(*)"])[0]["count(*)"]
                c.release()
            else:
                info["count"] = None
            out[key] = info
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
