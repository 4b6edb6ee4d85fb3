// Conversion between Milvus schema.FieldData columns (what the SDK sends in Insert, what Query
// answers) and the stand-in's per-row values (see binlog.js for the value representation).
'use strict';

const { encodeScalarField, decodeScalarField } = require('./proto');
const { isSupportedType } = require('./binlog');

const SCALAR_KEY = {
  Bool: 'bool_data', Int8: 'int_data', Int16: 'int_data', Int32: 'int_data', Int64: 'long_data',
  Float: 'float_data', Double: 'double_data', VarChar: 'string_data', String: 'string_data',
  Text: 'string_data', JSON: 'json_data', Array: 'array_data', Geometry: 'geometry_data',
};
const VECTOR_KEY = {
  FloatVector: 'float_vector', BinaryVector: 'binary_vector', Float16Vector: 'float16_vector',
  BFloat16Vector: 'bfloat16_vector', Int8Vector: 'int8_vector', SparseFloatVector: 'sparse_float_vector',
};

function fieldDim(field) {
  const p = (field.type_params || []).find((kv) => kv.key === 'dim');
  return p ? Number(p.value) : 0;
}

// Bytes per row of a dense vector field.
function vectorWidth(type, dim) {
  switch (type) {
    case 'FloatVector': return dim * 4;
    case 'Float16Vector':
    case 'BFloat16Vector': return dim * 2;
    case 'Int8Vector': return dim;
    case 'BinaryVector': return dim / 8;
    default: return 0;
  }
}

// One FieldData column -> array of `numRows` values for `field` (a FieldSchema object).
// Throws Error with .milvusCode on a mismatch.
function columnValues(fd, field, numRows) {
  const type = field.data_type;
  const bad = (msg) => Object.assign(new Error(msg), { milvusCode: 1100 });
  if (!isSupportedType(type)) throw bad(`data type "${type}" of field "${field.name}" is not supported by the stand-in`);
  let values;
  if (VECTOR_KEY[type]) {
    const v = fd.vectors;
    if (!v) throw bad(`field "${field.name}" needs vector data`);
    const dim = fieldDim(field);
    if (type === 'SparseFloatVector') {
      values = ((v.sparse_float_vector && v.sparse_float_vector.contents) || []).map((b) => Buffer.from(b));
    } else if (type === 'FloatVector') {
      const data = (v.float_vector && v.float_vector.data) || [];
      if (data.length !== numRows * dim) throw bad(`the dim (${dim}) of field data(${field.name}) is not equal to schema dim`);
      const all = Buffer.from(Float32Array.from(data).buffer);
      values = [];
      for (let i = 0; i < numRows; i++) values.push(Buffer.from(all.subarray(i * dim * 4, (i + 1) * dim * 4)));
    } else {
      const all = Buffer.from(v[VECTOR_KEY[type]] || []);
      const w = vectorWidth(type, dim);
      if (all.length !== numRows * w) throw bad(`the dim (${dim}) of field data(${field.name}) is not equal to schema dim`);
      values = [];
      for (let i = 0; i < numRows; i++) values.push(Buffer.from(all.subarray(i * w, (i + 1) * w)));
    }
  } else {
    const s = fd.scalars;
    const key = SCALAR_KEY[type];
    if (!s || !s[key]) throw bad(`field "${field.name}" needs ${key}`);
    const data = s[key].data || [];
    if (type === 'Array') {
      values = data.map((cell) => encodeScalarField(cell));
    } else if (type === 'JSON' || type === 'Geometry') {
      values = data.map((b) => Buffer.from(b));
    } else if (type === 'Int64') {
      values = data.map((x) => String(x));
    } else {
      values = data.slice();
    }
  }
  // Nullable columns: valid_data marks present rows; values may be compacted or full length.
  const valid = fd.valid_data || [];
  if (valid.length === numRows && valid.some((x) => !x)) {
    const full = [];
    let j = 0;
    const compact = values.length < numRows;
    for (let i = 0; i < numRows; i++) {
      if (!valid[i]) {
        full.push(null);
        if (!compact) j++;
      } else {
        full.push(values[j++]);
      }
    }
    values = full;
  }
  if (values.length !== numRows) {
    throw bad(`the num_rows (${numRows}) of field (${field.name}) is not equal to passed num_rows (${values.length})`);
  }
  return values;
}

// values of one field -> FieldData (for Query results).
function toFieldData(field, values) {
  const type = field.data_type;
  const fd = { type, field_name: field.name, field_id: String(field.fieldID), is_dynamic: !!field.is_dynamic };
  if (field.nullable) fd.valid_data = values.map((v) => v !== null && v !== undefined);
  if (VECTOR_KEY[type]) {
    const dim = fieldDim(field);
    if (type === 'FloatVector') {
      const data = [];
      for (const b of values) {
        const f = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
        for (const x of f) data.push(x);
      }
      fd.vectors = { dim: String(dim), float_vector: { data } };
    } else if (type === 'SparseFloatVector') {
      fd.vectors = { dim: String(dim), sparse_float_vector: { dim: String(dim), contents: values } };
    } else {
      fd.vectors = { dim: String(dim), [VECTOR_KEY[type]]: Buffer.concat(values) };
    }
    return fd;
  }
  const key = SCALAR_KEY[type];
  const present = values.map((v) => (v === null || v === undefined ? null : v));
  let data;
  if (type === 'Array') data = present.map((v) => (v ? decodeScalarField(v) : {}));
  else if (type === 'JSON' || type === 'Geometry') data = present.map((v) => v || Buffer.alloc(0));
  else if (type === 'Bool') data = present.map((v) => !!v);
  else if (type === 'VarChar' || type === 'String' || type === 'Text') data = present.map((v) => (v === null ? '' : v));
  else data = present.map((v) => (v === null ? 0 : v));
  fd.scalars = { [key]: type === 'Array' ? { data, element_type: field.element_type } : { data } };
  return fd;
}

module.exports = { columnValues, toFieldData, fieldDim, vectorWidth };
