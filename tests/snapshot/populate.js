// populate.js - fill a Milvus (the stand-in, or a real one) through the official Node SDK for the
// snapshot tests: databases, collections with an index, batched inserts with a flush after each
// batch, and deletes of flushed rows ("delete, flush, delete, flush" leaves both an
// all-partition L0 segment and per-segment delta logs in the stand-in).
//
//   node populate.js --address 127.0.0.1:19530 [--user U --password P] [--dbs default,db1]
//        [--collections 2 | --names coll,other] [--rows 900] [--batches 3] [--deletes 0]
//        [--dim 64] [--bucket NAME] [--ca CA.pem [--server-name NAME]]
//
// --ca: the server speaks TLS, its certificate signed by that CA (--server-name: the name to
// verify instead of the address's host).
// --rows is the number of rows per collection, inserted in --batches equal batches (the last
// takes the remainder), each followed by a flush, so every batch becomes one segment.
// --deletes N (in the first collection of each database) deletes N flushed rows in two rounds,
// each followed by a flush.  Collections are named coll_1..coll_N unless --names lists them.
// Databases other than "default" are created when missing.  --bucket also creates that S3
// bucket (S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), e.g. a backup bucket.
// Prints "db<TAB>collection<TAB>rows" per collection (rows inserted; deletes not subtracted,
// as the backup's entity counts).
'use strict';

const path = require('node:path');
const sdk = path.join(__dirname, '../milvus-standin/node_modules/@zilliz/milvus2-sdk-node');
const { MilvusClient, DataType } = require(sdk);
const { s3FromEnv } = require('../milvus-standin/src/s3');

function parseArgs(argv) {
  const o = { address: '127.0.0.1:19530', dbs: 'default', collections: 1, rows: 900,
    batches: 3, deletes: 0, dim: 64 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument '${a}'`);
    o[a.slice(2)] = argv[++i];
  }
  return o;
}

function ok(r, what) {
  const st = r && r.status ? r.status : r;
  if (!st || (st.error_code !== 'Success' && Number(st.code) !== 0)) {
    throw new Error(`${what}: ${st && st.code} ${st && st.reason}`);
  }
}

function rows(from, n, dim) {
  return Array.from({ length: n }, (_, i) => ({
    id: from + i,
    title: `title ${from + i}`,
    vec: Array.from({ length: dim }, (_, j) => (((from + i) * 31 + j) % 97) / 97),
  }));
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dbs = String(o.dbs).split(',').filter(Boolean);
  const names = o.names ? String(o.names).split(',').filter(Boolean)
    : Array.from({ length: Number(o.collections) }, (_, i) => `coll_${i + 1}`);
  const total = Number(o.rows);
  const batches = Math.max(1, Number(o.batches));
  const deletes = Number(o.deletes);
  const dim = Number(o.dim);
  if (o.bucket) await s3FromEnv().ensureBucket(o.bucket);
  const tls = o.ca ? { ssl: true, tls: { rootCertPath: o.ca, serverName: o['server-name'] } } : {};
  // timeout: the SDK's default per-call deadline (15 s) is too short for a flush that writes
  // thousands of binlog objects on a loaded machine (seen with 6 test runs on 2 cores)
  const client = new MilvusClient({ address: o.address, username: o.user, password: o.password,
    logLevel: 'error', timeout: 120000, ...tls });
  const fields = [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'title', data_type: DataType.VarChar, max_length: 128 },
    { name: 'vec', data_type: DataType.FloatVector, dim },
  ];
  const existing = (await client.listDatabases()).db_names;
  for (const db of dbs) {
    if (!existing.includes(db)) ok(await client.createDatabase({ db_name: db }), `create ${db}`);
    for (const [ci, coll] of names.entries()) {
      const c = { db_name: db, collection_name: coll };
      ok(await client.createCollection({ ...c, fields }), `create ${db}.${coll}`);
      ok(await client.createIndex({ ...c, field_name: 'vec', index_type: 'HNSW',
        metric_type: 'COSINE', params: { M: 16, efConstruction: 200 } }), `index ${db}.${coll}`);
      const per = Math.floor(total / batches);
      for (let b = 0, from = 0; b < batches; b++) {
        const n = b === batches - 1 ? total - from : per;
        if (n > 0) ok(await client.insert({ ...c, data: rows(from, n, dim) }), `insert ${db}.${coll}`);
        ok(await client.flushSync({ db_name: db, collection_names: [coll] }), `flush ${db}.${coll}`);
        from += n;
      }
      if (ci === 0 && deletes > 0) {
        const first = Math.ceil(deletes / 2);
        for (const ids of [[...Array(first).keys()], [...Array(deletes - first).keys()].map((i) => first + i)]) {
          if (!ids.length) continue;
          ok(await client.delete({ ...c, ids }), `delete ${db}.${coll}`);
          ok(await client.flushSync({ db_name: db, collection_names: [coll] }), `flush ${db}.${coll}`);
        }
      }
      process.stdout.write(`${db}\t${coll}\t${total}\n`);
    }
  }
  await client.closeConnection();
}

main().catch((e) => {
  console.error(`populate: ${e.message}`);
  process.exit(1);
});
