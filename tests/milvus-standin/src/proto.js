// Loads the real Milvus service definition: the protobufjs JSON descriptor shipped in
// @zilliz/milvus2-sdk-node (dist/milvus/proto-json/milvus.js). grpc-js gets it through
// proto-loader's fromJSON; protobufjs itself decodes the nested `bytes` messages (the
// CollectionSchema inside CreateCollectionRequest, array cells).
//
// Loader options: keepCase (Milvus's own field names, e.g. coll_segIDs), longs as String (64-bit
// IDs stay exact), enums as String, defaults and oneof discriminators on.
'use strict';

const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');
const descriptor = require('@zilliz/milvus2-sdk-node/dist/milvus/proto-json/milvus.js').default;

const LOAD_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const TO_OBJECT = { longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true };

const packageDefinition = loader.fromJSON(descriptor, LOAD_OPTIONS);
const root = protobuf.Root.fromJSON(descriptor);
const serviceDefinition = packageDefinition['milvus.proto.milvus.MilvusService'];

const CollectionSchema = root.lookupType('milvus.proto.schema.CollectionSchema');
const ScalarField = root.lookupType('milvus.proto.schema.ScalarField');
const MsgPosition = root.lookupType('milvus.proto.msg.MsgPosition');

const FieldSchema = root.lookupType('milvus.proto.schema.FieldSchema');

function decodeSchema(bytes) {
  return CollectionSchema.toObject(CollectionSchema.decode(bytes), TO_OBJECT);
}

function decodeFieldSchema(bytes) {
  return FieldSchema.toObject(FieldSchema.decode(bytes), TO_OBJECT);
}

function encodeScalarField(obj) {
  return Buffer.from(ScalarField.encode(ScalarField.fromObject(obj)).finish());
}

function decodeScalarField(buf) {
  return ScalarField.toObject(ScalarField.decode(buf), TO_OBJECT);
}

// Whether a method answers a bare common.Status (CreateCollection, DropCollection, ...) rather
// than a message with a `status` field.
function returnsBareStatus(method) {
  const m = serviceDefinition[method];
  return !!m && m.responseType.type.name === 'Status';
}

function isUnary(method) {
  const m = serviceDefinition[method];
  return !!m && !m.requestStream && !m.responseStream;
}

const methodNames = Object.keys(serviceDefinition).filter((k) => serviceDefinition[k].originalName === undefined
  || k === serviceDefinition[k].path.split('/').pop());

module.exports = {
  decodeFieldSchema,
  grpc,
  packageDefinition,
  serviceDefinition,
  methodNames,
  decodeSchema,
  encodeScalarField,
  decodeScalarField,
  returnsBareStatus,
  isUnary,
  MsgPosition,
  sdkVersion: require('@zilliz/milvus2-sdk-node/package.json').version,
};
