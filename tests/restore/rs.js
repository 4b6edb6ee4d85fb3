// rs.js - the Milvus side of the restore tests (tests/restore/t_*.sh), through the official
// Node SDK, against the stand-in (or any Milvus 2.4+):
//
//   node rs.js populate --address H:P --collection coll [--db default] [--rows 10000]
//        [--dim 768] [--batches 4] [--deletes 20] [--partition p1]
//       a collection (Int64 pk `id`, VarChar `title`, FloatVector `vec`), an HNSW index, rows in
//       --batches flushed segments (every 10th row into --partition), then --deletes flushed
//       rows deleted in two rounds (L0 segment and delta logs); prints the deleted ids
//   node rs.js compare --a H:P --b H:P --src db.coll --dst db.coll [--sample 100] [--deleted ids]
//       loads both, then checks count(*), partitions, indexes, and a query by --sample random
//       primary keys (all fields, vectors included) are equal, and the deleted ids are absent
//       in dst; prints one "ok|not ok - what" line per check, exits 1 on a difference
//   node rs.js has --address H:P --name db.coll      prints 1 or 0
//   node rs.js create --address H:P --name db.coll   an empty collection of the same schema
//   node rs.js info --address H:P --name db.coll     "rows=N index=0|1 load=STATE partitions=…"
'use strict';

const path = require('node:path');
const sdk = path.join(__dirname, '../milvus-standin/node_modules/@zilliz/milvus2-sdk-node');
const { MilvusClient, DataType } = require(sdk);

function args(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  return o;
}

function ok(r, what) {
  const st = r && r.status ? r.status : r;
  if (!st || (st.error_code !== 'Success' && Number(st.code) !== 0)) {
    throw new Error(`${what}: ${st && st.code} ${st && st.reason}`);
  }
  return r;
}

const client = (address) => new MilvusClient({ address, timeout: 120000, logLevel: 'error' });
const split = (n) => { const [db, c] = n.includes('.') ? n.split('.') : ['default', n]; return { db_name: db, collection_name: c }; };

function fields(dim) {
  return [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'title', data_type: DataType.VarChar, max_length: 128 },
    { name: 'vec', data_type: DataType.FloatVector, dim },
  ];
}

function rows(from, n, dim) {
  return Array.from({ length: n }, (_, i) => ({
    id: from + i,
    title: `title ${from + i}`,
    vec: Array.from({ length: dim }, (_, j) => (((from + i) * 31 + j) % 97) / 97),
  }));
}

async function populate(o) {
  const cl = client(o.address);
  const c = { db_name: o.db || 'default', collection_name: o.collection };
  const dim = Number(o.dim || 768);
  const total = Number(o.rows || 10000);
  const batches = Number(o.batches || 4);
  const deletes = Number(o.deletes || 20);
  if (c.db_name !== 'default' && !(await cl.listDatabases()).db_names.includes(c.db_name)) {
    ok(await cl.createDatabase({ db_name: c.db_name }), 'create db');
  }
  ok(await cl.createCollection({ ...c, fields: fields(dim) }), 'create');
  if (o.partition) ok(await cl.createPartition({ ...c, partition_name: o.partition }), 'partition');
  ok(await cl.createIndex({ ...c, field_name: 'vec', index_type: 'HNSW', metric_type: 'COSINE',
    params: { M: 16, efConstruction: 200 } }), 'index');
  const per = Math.ceil(total / batches);
  for (let from = 0; from < total; from += per) {
    const all = rows(from, Math.min(per, total - from), dim);
    const main = o.partition ? all.filter((r) => r.id % 10 !== 0) : all;
    for (let i = 0; i < main.length; i += 1000) ok(await cl.insert({ ...c, data: main.slice(i, i + 1000) }), 'insert');
    if (o.partition) {
      ok(await cl.insert({ ...c, partition_name: o.partition, data: all.filter((r) => r.id % 10 === 0) }), 'insert p');
    }
    ok(await cl.flushSync({ db_name: c.db_name, collection_names: [c.collection_name] }), 'flush');
  }
  const del = [];
  for (let i = 0; i < deletes; i++) del.push(1 + i * 7);
  for (const ids of [del.slice(0, deletes >> 1), del.slice(deletes >> 1)]) {
    if (!ids.length) continue;
    ok(await cl.delete({ ...c, ids }), 'delete');
    ok(await cl.flushSync({ db_name: c.db_name, collection_names: [c.collection_name] }), 'flush');
  }
  process.stdout.write(del.join(',') + '\n');
  await cl.closeConnection();
}

async function loaded(cl, c) {
  ok(await cl.loadCollectionSync(c), `load ${c.collection_name}`);
}

async function count(cl, c) {
  const r = ok(await cl.query({ ...c, filter: '', output_fields: ['count(*)'] }), 'count');
  return Number(r.data[0]['count(*)']);
}

function norm(rowsIn) {
  return rowsIn.map((r) => ({ id: String(r.id), title: r.title,
    vec: (r.vec || []).map((x) => Math.round(x * 1e6) / 1e6) }))
    .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
}

async function compare(o) {
  const A = client(o.a);
  const B = client(o.b);
  const a = split(o.src);
  const b = split(o.dst);
  let bad = 0;
  const check = (what, cond, detail) => {
    if (cond) console.log(`ok - ${what}`);
    else { bad++; console.log(`not ok - ${what}${detail ? `: ${detail}` : ''}`); }
  };
  await loaded(A, a);
  await loaded(B, b);
  const ca = await count(A, a);
  const cb = await count(B, b);
  check(`count(*) ${o.dst} = ${o.src} (${cb} vs ${ca})`, ca === cb && ca > 0);
  const pa = (await A.showPartitions(a)).partition_names.slice().sort();
  const pb = (await B.showPartitions(b)).partition_names.slice().sort();
  check(`partitions equal (${pb.join(',')})`, JSON.stringify(pa) === JSON.stringify(pb), `${pa} vs ${pb}`);
  const ia = (await A.describeIndex(a)).index_descriptions || [];
  const ib = (await B.describeIndex(b)).index_descriptions || [];
  const sig = (v) => v.map((d) => `${d.field_name}:${(d.params || []).filter((p) => p.key === 'index_type' || p.key === 'metric_type').map((p) => `${p.key}=${p.value}`).sort().join(';')}`).sort().join(' ');
  check(`indexes equal (${sig(ib)})`, sig(ia) === sig(ib) && ia.length > 0, `${sig(ia)} vs ${sig(ib)}`);
  const deleted = o.deleted ? o.deleted.split(',').filter(Boolean) : [];
  const n = Number(o.sample || 100);
  const maxId = Number(o.maxid || 10000);
  const ids = new Set();
  while (ids.size < n) {
    const id = Math.floor(Math.random() * maxId);
    if (!deleted.includes(String(id))) ids.add(id);
  }
  const filter = `id in [${[...ids].join(',')}]`;
  const qa = ok(await A.query({ ...a, filter, output_fields: ['id', 'title', 'vec'], limit: n }), 'query a');
  const qb = ok(await B.query({ ...b, filter, output_fields: ['id', 'title', 'vec'], limit: n }), 'query b');
  const ja = JSON.stringify(norm(qa.data));
  const jb = JSON.stringify(norm(qb.data));
  check(`a query by ${n} random primary keys returns the same vectors and scalars (${qb.data.length} rows)`,
    ja === jb && qa.data.length === n, `${qa.data.length} vs ${qb.data.length} rows`);
  if (deleted.length) {
    const qd = ok(await B.query({ ...b, filter: `id in [${deleted.join(',')}]`, output_fields: ['id'] }), 'query deleted');
    check(`the ${deleted.length} deleted keys are absent in ${o.dst}`, qd.data.length === 0, `${qd.data.length} found`);
  }
  await A.closeConnection();
  await B.closeConnection();
  process.exit(bad ? 1 : 0);
}

async function has(o) {
  const cl = client(o.address);
  const r = await cl.hasCollection(split(o.name));
  process.stdout.write(r.value ? '1\n' : '0\n');
  await cl.closeConnection();
}

async function create(o) {
  const cl = client(o.address);
  ok(await cl.createCollection({ ...split(o.name), fields: fields(Number(o.dim || 768)) }), 'create');
  await cl.closeConnection();
}

// info --address H:P --name db.coll: one line "rows=N index=0|1 load=STATE partitions=a,b"
async function info(o) {
  const cl = client(o.address);
  const c = split(o.name);
  const st = await cl.getCollectionStatistics(c);
  const ix = await cl.describeIndex(c);
  const ld = await cl.getLoadState(c);
  const ps = await cl.showPartitions(c);
  const hasIx = (ix.index_descriptions || []).length > 0 && Number(ix.status.code || 0) === 0;
  process.stdout.write(`rows=${st.data.row_count} index=${hasIx ? 1 : 0} load=${ld.state} partitions=${(ps.partition_names || []).slice().sort().join(',')}\n`);
  await cl.closeConnection();
}

// alias --address H:P --name db.coll --alias A: create an alias
// aliases --address H:P --name db.coll: its aliases, comma-separated, sorted
async function alias(o) {
  const cl = client(o.address);
  ok(await cl.createAlias({ ...split(o.name), alias: o.alias }), 'alias');
  await cl.closeConnection();
}

async function aliases(o) {
  const cl = client(o.address);
  const r = await cl.describeCollection(split(o.name));
  process.stdout.write(`${(r.aliases || []).slice().sort().join(',')}\n`);
  await cl.closeConnection();
}

// rbac-get --address H:P: the RBAC summary (BackupRBAC), one sorted line per entry:
//   "user NAME roles=R1,R2 hash=HASH", "role NAME", "grant ROLE OBJECT NAME PRIVILEGE DB",
//   "group NAME privileges=P1,P2"
// rbac-put --address H:P --json FILE: RestoreRBAC with the RBACMeta in FILE
async function rbacGet(o) {
  const cl = client(o.address);
  const m = ok(await cl.backupRBAC(), 'BackupRBAC').RBAC_meta || {};
  const lines = [];
  for (const u of m.users || []) lines.push(`user ${u.user} roles=${(u.roles || []).map((r) => r.name).sort().join(',')} hash=${u.password}`);
  for (const r of m.roles || []) lines.push(`role ${r.name}`);
  for (const g of m.grants || []) lines.push(`grant ${g.role.name} ${g.object.name} ${g.object_name} ${g.grantor.privilege.name} ${g.db_name}`);
  for (const g of m.privilege_groups || []) lines.push(`group ${g.group_name} privileges=${(g.privileges || []).map((p) => p.name).sort().join(',')}`);
  process.stdout.write(lines.sort().map((l) => `${l}\n`).join(''));
  await cl.closeConnection();
}

async function rbacPut(o) {
  const cl = client(o.address);
  ok(await cl.restoreRBAC({ RBAC_meta: JSON.parse(require('node:fs').readFileSync(o.json, 'utf8')) }), 'RestoreRBAC');
  await cl.closeConnection();
}

// evolve --address H:P --collection coll [--rows 300] [--dim 8]: a collection with a dynamic
// field and two properties; --rows rows (dynamic key `color`), flushed; then the nullable Int64
// `extra` added (AddCollectionField) and --rows more rows with `extra`, flushed. And `fn`, an
// empty collection with a BM25 function (created with disable_func_runtime_check=true, as the
// stand-in 2.6.8 cannot reach a provider, then altered to false).
async function evolve(o) {
  const cl = client(o.address);
  const c = split(o.collection);
  const dim = Number(o.dim || 8);
  const n = Number(o.rows || 300);
  ok(await cl.createCollection({ ...c, fields: fields(dim), enable_dynamic_field: true,
    properties: { 'collection.ttl.seconds': '3600', 'standin.keep': 'yes' } }), 'create');
  ok(await cl.createIndex({ ...c, field_name: 'vec', index_type: 'HNSW', metric_type: 'L2', params: { M: 8, efConstruction: 64 } }), 'index');
  ok(await cl.insert({ ...c, data: rows(0, n, dim).map((r) => ({ ...r, color: `c${r.id % 5}` })) }), 'insert');
  ok(await cl.flushSync({ db_name: c.db_name, collection_names: [c.collection_name] }), 'flush');
  ok(await cl.addCollectionField({ ...c, field: { name: 'extra', data_type: DataType.Int64, nullable: true } }), 'add field');
  ok(await cl.insert({ ...c, data: rows(n, n, dim).map((r) => ({ ...r, extra: r.id * 3 })) }), 'insert 2');
  ok(await cl.flushSync({ db_name: c.db_name, collection_names: [c.collection_name] }), 'flush 2');
  const fn = { db_name: c.db_name, collection_name: 'fn' };
  ok(await cl.createCollection({ ...fn, fields: [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'text', data_type: DataType.VarChar, max_length: 256, enable_analyzer: true },
    { name: 'sparse', data_type: DataType.SparseFloatVector },
    { name: 'vec', data_type: DataType.FloatVector, dim }],
  functions: [{ name: 'bm25', type: 1, input_field_names: ['text'], output_field_names: ['sparse'], params: {} }],
  properties: { disable_func_runtime_check: 'true' } }), 'create fn');
  ok(await cl.alterCollectionProperties({ ...fn, properties: { disable_func_runtime_check: 'false' } }), 'alter fn');
  await cl.closeConnection();
}

// schema --address H:P --name db.coll: sorted lines "field NAME ID nullable=0|1",
// "prop K=V", "index FIELD k=v;…", "function NAME"
async function schema(o) {
  const cl = client(o.address);
  const c = split(o.name);
  const d = ok(await cl.describeCollection(c), 'describe');
  const lines = [];
  for (const f of d.schema.fields) lines.push(`field ${f.name} ${f.fieldID} nullable=${f.nullable ? 1 : 0}`);
  for (const p of d.properties || []) lines.push(`prop ${p.key}=${p.value}`);
  for (const f of d.schema.functions || []) lines.push(`function ${f.name}`);
  const ix = await cl.describeIndex(c);
  for (const i of ix.index_descriptions || []) lines.push(`index ${i.field_name} ${(i.params || []).map((p) => `${p.key}=${p.value}`).sort().join(';')}`);
  process.stdout.write(lines.sort().map((l) => `${l}\n`).join(''));
  await cl.closeConnection();
}

// extra --address H:P --name db.coll --ids 1,2,3: "id=extra" per row, sorted by id
async function extra(o) {
  const cl = client(o.address);
  const c = split(o.name);
  await loaded(cl, c);
  const r = ok(await cl.query({ ...c, filter: `id in [${o.ids}]`, output_fields: ['id', 'extra'] }), 'query');
  const v = r.data.map((x) => [Number(x.id), x.extra === null || x.extra === undefined ? 'null' : String(x.extra)]);
  process.stdout.write(v.sort((a, b) => a[0] - b[0]).map(([i, e]) => `${i}=${e}\n`).join(''));
  await cl.closeConnection();
}

const [cmd, ...rest] = process.argv.slice(2);
const fns = { populate, compare, has, create, info, alias, aliases, 'rbac-get': rbacGet, 'rbac-put': rbacPut, evolve, schema, extra };
(fns[cmd] || (() => { throw new Error(`unknown command ${cmd}`); }))(args(rest)).catch((e) => {
  console.error(`rs.js ${cmd}: ${e.message}`);
  process.exit(2);
});
