#!/usr/bin/env python3
"""grpc_seeds.py DIR - write seed inputs for fuzz_grpc_reply into DIR.

Each seed is one byte (the index of the method in milvus_methods[], milvus/rpc/milvus_client.c)
followed by a gRPC-framed protobuf reply (flag 0, big-endian length, message), encoded here by
hand with the field numbers of milvus/rpc/proto/*.proto.  Indexes that drift when the table changes
only make a seed describe another method: it stays a valid fuzzer input.
"""
import os
import struct
import sys


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def vi(field, n):
    return varint(field << 3) + varint(n)


def ld(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


def status(code=0, reason="", error_code=0, retriable=False):
    m = b""
    if error_code:
        m += vi(1, error_code)
    if reason:
        m += ld(2, reason)
    if code:
        m += vi(3, code)
    if retriable:
        m += vi(4, 1)
    return m


def kv(field, k, v):
    return ld(field, ld(1, k) + ld(2, v))


def frame(method_index, msg):
    return bytes([method_index]) + b"\0" + struct.pack(">I", len(msg)) + msg


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    pk = vi(1, 100) + ld(2, "id") + vi(3, 1) + vi(5, 5) + vi(8, 1)
    vec = vi(1, 101) + ld(2, "vec") + vi(5, 101) + kv(6, "dim", "8") + kv(7, "metric", "L2")
    arr = vi(1, 102) + ld(2, "tags") + vi(5, 22) + vi(10, 21) + kv(6, "max_capacity", "16") \
        + ld(11, vi(3, 7)) + vi(15, 1)
    fn = ld(1, "bm25") + vi(2, 1) + vi(4, 1) + ld(5, "text") + vi(6, 103) + ld(7, "sparse") \
        + vi(8, 104) + kv(9, "k", "v")
    schema = ld(1, "docs") + ld(2, "a collection") + ld(4, pk) + ld(4, vec) + ld(4, arr) \
        + vi(5, 1) + kv(6, "mmap.enabled", "true") + ld(7, fn)
    seeds = {
        "ok_version": frame(1, ld(1, status()) + ld(2, "v2.5.14")),
        "describe_collection": frame(7, ld(1, status()) + ld(2, schema) + vi(3, 448)
                                     + ld(4, "by-dev-rootcoord-dml_0_448v0") + vi(6, 1 << 60)
                                     + vi(8, 1) + ld(9, "alias") + vi(11, 2)
                                     + ld(12, "docs") + ld(14, "default") + vi(16, 1)),
        "not_found": frame(7, ld(1, status(code=100, reason="collection not found[collection=x]"))),
        "old_error_code": frame(7, ld(1, status(error_code=4, reason="can't find collection"))),
        "retriable": frame(19, ld(1, status(code=2, reason="busy\nretry", retriable=True))),
        "bare_status": frame(4, status(code=65535, reason="denied")),
        "show_collections": frame(5, ld(1, status()) + ld(2, "a") + ld(2, "b")
                                  + ld(3, varint(1) + varint(2)) + vi(4, 1 << 62)),
        "segments": frame(21, ld(1, status()) + ld(2, vi(1, 450) + vi(2, 448) + vi(3, 449)
                                                  + vi(4, 3000) + vi(5, 3) + vi(6, 2))
                          + ld(2, vi(1, 451) + vi(3, (1 << 64) - 1))),
        "compressed": bytes([1]) + b"\1" + struct.pack(">I", 2) + b"\x08\x01",
        "empty": frame(6, b""),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
