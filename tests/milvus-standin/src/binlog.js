// The stand-in's own binlog object format (NOT Milvus's parquet-in-event-envelope format).
//
// Every insert-log and delta-log object the stand-in writes into the Milvus bucket is:
//
//   8 bytes   magic "MVSTANDN"
//   u32 LE    format version (1)
//   u32 LE    header length H
//   H bytes   header, UTF-8 JSON:
//             {kind: "insert"|"delta", collectionID, partitionID, segmentID (decimal strings),
//              rows, columns: [{fieldID, type, dim?, nullable?, bytes}]}
//   payload   the columns, in header order, each exactly `bytes` long
//
// Column payloads carry the real values, so object sizes are realistic (a 768-dim FloatVector
// column is rows x 3072 bytes, Int64 is rows x 8 bytes, VarChar is rows x (4 + length)):
//   Bool, Int8: 1 byte; Int16: 2; Int32, Float: 4; Int64, Double: 8 (little endian);
//   VarChar, String, Text, JSON, Array, Geometry, SparseFloatVector: u32 LE length + bytes
//   (Array = an encoded schema.ScalarField, JSON = the JSON bytes);
//   FloatVector: dim x 4; Float16/BFloat16Vector: dim x 2; Int8Vector: dim; BinaryVector: dim/8.
//   A nullable column starts with one validity byte per row (1 = value present).
// A delta log has two columns: fieldID "pk" (Int64 or VarChar) and fieldID "ts" (Int64).
// An insert log of storage version 2 (a column group) holds several columns in one object.
'use strict';

const MAGIC = Buffer.from('MVSTANDN');
const VERSION = 1;

const FIXED = { Bool: 1, Int8: 1, Int16: 2, Int32: 4, Int64: 8, Float: 4, Double: 8 };
const VARLEN = new Set(['VarChar', 'String', 'Text', 'JSON', 'Array', 'Geometry', 'SparseFloatVector']);
const VECTOR_BYTES = {
  FloatVector: (dim) => dim * 4,
  Float16Vector: (dim) => dim * 2,
  BFloat16Vector: (dim) => dim * 2,
  Int8Vector: (dim) => dim,
  BinaryVector: (dim) => dim / 8,
};

function isSupportedType(type) {
  return type in FIXED || VARLEN.has(type) || type in VECTOR_BYTES;
}

function isVectorType(type) {
  return type in VECTOR_BYTES || type === 'SparseFloatVector';
}

// Values in memory: Int64 as decimal string, other numbers as number, Bool as boolean,
// VarChar/String/Text as string, everything else (JSON, Array, Geometry, vectors) as Buffer.
function encodeColumn(col, values) {
  const { type } = col;
  const dim = Number(col.dim || 0);
  const parts = [];
  if (col.nullable) parts.push(Buffer.from(values.map((v) => (v === null || v === undefined ? 0 : 1))));
  if (type in FIXED) {
    const w = FIXED[type];
    const b = Buffer.alloc(values.length * w);
    values.forEach((v, i) => {
      const o = i * w;
      if (v === null || v === undefined) return;
      switch (type) {
        case 'Bool': b.writeUInt8(v ? 1 : 0, o); break;
        case 'Int8': b.writeInt8(v, o); break;
        case 'Int16': b.writeInt16LE(v, o); break;
        case 'Int32': b.writeInt32LE(v, o); break;
        case 'Int64': b.writeBigInt64LE(BigInt(v), o); break;
        case 'Float': b.writeFloatLE(v, o); break;
        case 'Double': b.writeDoubleLE(v, o); break;
        default: break;
      }
    });
    parts.push(b);
  } else if (VARLEN.has(type)) {
    for (const v of values) {
      const data = v === null || v === undefined ? Buffer.alloc(0) : Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(data.length);
      parts.push(len, data);
    }
  } else if (type in VECTOR_BYTES) {
    const w = VECTOR_BYTES[type](dim);
    for (const v of values) {
      if (!Buffer.isBuffer(v) || v.length !== w) throw new Error(`vector of field "${col.fieldID}" has ${v ? v.length : 0} bytes, expected ${w}`);
      parts.push(v);
    }
  } else {
    throw new Error(`data type "${type}" is not supported by the stand-in`);
  }
  return Buffer.concat(parts);
}

function decodeColumn(col, buf, rows) {
  const { type } = col;
  const dim = Number(col.dim || 0);
  let off = 0;
  let valid = null;
  if (col.nullable) {
    valid = buf.subarray(0, rows);
    off = rows;
  }
  const out = new Array(rows);
  for (let i = 0; i < rows; i++) {
    let v;
    if (type in FIXED) {
      const o = off + i * FIXED[type];
      switch (type) {
        case 'Bool': v = buf.readUInt8(o) !== 0; break;
        case 'Int8': v = buf.readInt8(o); break;
        case 'Int16': v = buf.readInt16LE(o); break;
        case 'Int32': v = buf.readInt32LE(o); break;
        case 'Int64': v = buf.readBigInt64LE(o).toString(); break;
        case 'Float': v = buf.readFloatLE(o); break;
        case 'Double': v = buf.readDoubleLE(o); break;
        default: break;
      }
    } else if (VARLEN.has(type)) {
      const len = buf.readUInt32LE(off);
      const data = Buffer.from(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
      v = type === 'VarChar' || type === 'String' || type === 'Text' ? data.toString('utf8') : data;
    } else {
      const w = VECTOR_BYTES[type](dim);
      v = Buffer.from(buf.subarray(off + i * w, off + (i + 1) * w));
    }
    out[i] = valid && !valid[i] ? null : v;
  }
  return out;
}

// columns: [{fieldID, type, dim?, nullable?, values: [...]}]
function encodeObject(meta, columns) {
  const rows = columns.length ? columns[0].values.length : 0;
  const payloads = columns.map((c) => encodeColumn(c, c.values));
  const header = {
    kind: meta.kind,
    format: 'mvbackupfs milvus-standin binlog v1 (not a real Milvus binlog)',
    collectionID: String(meta.collectionID),
    partitionID: String(meta.partitionID),
    segmentID: String(meta.segmentID),
    rows,
    columns: columns.map((c, i) => {
      const h = { fieldID: String(c.fieldID), type: c.type, bytes: payloads[i].length };
      if (c.dim) h.dim = Number(c.dim);
      if (c.nullable) h.nullable = true;
      return h;
    }),
  };
  const hbuf = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(16);
  MAGIC.copy(pre, 0);
  pre.writeUInt32LE(VERSION, 8);
  pre.writeUInt32LE(hbuf.length, 12);
  return Buffer.concat([pre, hbuf, ...payloads]);
}

// Returns {header, columns: {fieldID: values[]}}; throws on anything that is not our format.
function decodeObject(buf) {
  if (buf.length < 16 || !buf.subarray(0, 8).equals(MAGIC)) throw new Error('not a stand-in binlog (bad magic)');
  if (buf.readUInt32LE(8) !== VERSION) throw new Error(`unsupported stand-in binlog version ${buf.readUInt32LE(8)}`);
  const hlen = buf.readUInt32LE(12);
  const header = JSON.parse(buf.subarray(16, 16 + hlen).toString('utf8'));
  let off = 16 + hlen;
  const columns = {};
  for (const c of header.columns) {
    if (off + c.bytes > buf.length) throw new Error('truncated stand-in binlog');
    columns[c.fieldID] = decodeColumn(c, buf.subarray(off, off + c.bytes), header.rows);
    off += c.bytes;
  }
  return { header, columns };
}

module.exports = { encodeObject, decodeObject, encodeColumn, decodeColumn, isSupportedType, isVectorType };
