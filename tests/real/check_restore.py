#!/usr/bin/env python3
"""tests/real/check_restore.py A_PORT B_PORT SUFFIX DB.COLL... -- after a restore of a snapshot of
real Milvus A into real Milvus B with collection suffix SUFFIX, check per collection through
pymilvus that B's DB.COLL+SUFFIX equals A's DB.COLL: the schema (field names, types, primary key,
auto_id, dynamic field), the partitions, the indexes (field, index_type, metric_type), and -
when it has an index - count(*) and a query by (up to) 100 primary keys returning every field.
A collection without rows or index is checked for its schema only.  Prints "ok - ..." or
"not ok - ..." lines; exit 1 on any difference.  Loads and releases what it queries.
"""
import random
import sys

from pymilvus import Collection, connections, db


def fields(c):
    return [(f.name, int(f.dtype), f.is_primary, f.auto_id, dict(f.params)) for f in c.schema.fields]


def indexes(c):
    return sorted((i.field_name, i.params.get("index_type"), i.params.get("metric_type")) for i in c.indexes)


def norm(rows, pk):
    out = []
    for r in rows:
        d = {}
        for k, v in r.items():
            if isinstance(v, bytes):
                v = v.hex()
            elif isinstance(v, list) and v and isinstance(v[0], float):
                v = [round(x, 5) for x in v]
            elif isinstance(v, list) and v and isinstance(v[0], bytes):
                v = [x.hex() for x in v]
            d[k] = v
        out.append(d)
    return sorted(out, key=lambda d: str(d[pk]))


def main():
    a_port, b_port, suffix, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    connections.connect("a", host="127.0.0.1", port=a_port, timeout=30)
    connections.connect("b", host="127.0.0.1", port=b_port, timeout=30)
    bad = 0

    def check(what, cond, detail=""):
        nonlocal bad
        print(("ok - " if cond else "not ok - ") + what + ("" if cond else f": {detail}"))
        bad += 0 if cond else 1

    random.seed(8)
    for name in names:
        dbname, coll = name.split(".")
        db.using_database(dbname, using="a")
        db.using_database(dbname, using="b")
        ca = Collection(coll, using="a")
        cb = Collection(coll + suffix, using="b")
        target = f"{dbname}.{coll}{suffix}"
        check(f"{target}: schema (fields, types, pk, auto_id, params)", fields(ca) == fields(cb),
              f"{fields(ca)} vs {fields(cb)}")
        check(f"{target}: dynamic field {ca.schema.enable_dynamic_field}",
              ca.schema.enable_dynamic_field == cb.schema.enable_dynamic_field)
        pa = sorted(p.name for p in ca.partitions)
        pb = sorted(p.name for p in cb.partitions)
        check(f"{target}: partitions {pb}", pa == pb, f"{pa} vs {pb}")
        check(f"{target}: indexes {indexes(cb)}", indexes(ca) == indexes(cb), f"{indexes(ca)} vs {indexes(cb)}")
        if not ca.indexes:
            continue
        ca.load()
        cb.load()
        na = ca.query("", output_fields=["count(*)"])[0]["count(*)"]
        nb = cb.query("", output_fields=["count(*)"])[0]["count(*)"]
        check(f"{target}: count(*) {nb} = A's {na}", na == nb and na > 0, f"{na} vs {nb}")
        pk = ca.schema.primary_field.name
        allpk = [r[pk] for r in ca.query("", output_fields=[pk], limit=16384)]
        sample = random.sample(allpk, min(100, len(allpk)))
        expr = f"{pk} in {sample!r}".replace("'", '"')
        out = ["*"]
        ra = norm(ca.query(expr, output_fields=out), pk)
        rb = norm(cb.query(expr, output_fields=out), pk)
        check(f"{target}: a query by {len(sample)} primary keys returns the same rows", ra == rb and len(ra) == len(sample),
              f"{len(ra)} vs {len(rb)} rows" + ("" if len(ra) != len(rb) else f"; first difference {next((x, y) for x, y in zip(ra, rb) if x != y) if ra != rb else ''}"))
        ca.release()
        cb.release()
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
