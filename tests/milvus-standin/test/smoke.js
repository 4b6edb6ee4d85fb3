// Self-test of the Milvus stand-in against a real S3 server (Ceph RGW), driven by the official
// Node SDK (MilvusClient) and, for gRPC-level checks, a raw grpc-js client.
//
//   eval "$(S3_BUCKETS= /work/shared/tools/s3/start-ceph-rgw.sh /tmp/rgw-x)"   # or scripts/ copy
//   cd tests/milvus-standin && npm test        (= node --test test/smoke.js)
//
// Needs S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; skipped without S3_ENDPOINT.
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { MilvusClient, DataType } = require('@zilliz/milvus2-sdk-node');
const { s3FromEnv } = require('../src/s3');
const { decodeObject } = require('../src/binlog');
const { execFileSync } = require('node:child_process');
const { startChild, rawClient, rawCall, admin, waitFor } = require('./helpers');

const HAVE_S3 = !!process.env.S3_ENDPOINT;
const DIM = 768;
const AUTH = 'root:Milvus';
const AUTH_HEADER = Buffer.from(AUTH).toString('base64');
const BUCKET = `standin-smoke-${process.pid}-${Date.now().toString(36)}`;
const BATCH = 300;

function rows(from, n) {
  return Array.from({ length: n }, (_, i) => ({
    id: from + i,
    title: `title ${from + i} ${'x'.repeat((from + i) % 37)}`,
    vec: Array.from({ length: DIM }, (_, j) => ((from + i) * 31 + j) % 97 / 97),
  }));
}

const FIELDS = [
  { name: 'id', data_type: DataType.Int64, is_primary_key: true },
  { name: 'title', data_type: DataType.VarChar, max_length: 256 },
  { name: 'vec', data_type: DataType.FloatVector, dim: DIM },
];

async function emptyBucket(s3, bucket) {
  const { objects } = await s3.list(bucket, '');
  for (const o of objects) await s3.deleteObject(bucket, o.key);
  await s3.deleteBucket(bucket);
}

function ok(status, what) {
  const st = status && status.status ? status.status : status;
  assert.equal(st.error_code, 'Success', `${what}: ${st.code} ${st.reason}`);
}

describe('milvus stand-in', { skip: HAVE_S3 ? false : 'S3_ENDPOINT not set (start an RGW first)' }, () => {
  let tmp;
  let sa;
  let client;
  let raw;
  const s3 = HAVE_S3 ? s3FromEnv() : null;
  const env = () => ({
    MILVUS_BUCKET: BUCKET,
    MILVUS_VERSION: 'v2.5.14',
    MILVUS_ROOT_PATH: 'files',
    MILVUS_AUTH: AUTH,
    MILVUS_STATE_FILE: path.join(tmp, 'state.json'),
    STANDIN_BINLOG_MAX_ROWS: '200',
    STANDIN_IMPORT_STEP_MS: '30',
  });
  const info = {};

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'standin-smoke-'));
    sa = await startChild(env());
    client = new MilvusClient({ address: `127.0.0.1:${sa.port}`, username: 'root', password: 'Milvus', logLevel: 'error' });
    raw = rawClient(sa.port);
  });

  after(async () => {
    if (client) await client.closeConnection();
    if (raw) raw.close();
    if (sa) await sa.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    await emptyBucket(s3, BUCKET);
  });

  test('version, auth and unimplemented methods at the gRPC level', async () => {
    const v = await client.getVersion();
    assert.equal(v.version, 'v2.5.14');
    let r = await rawCall(raw, 'ShowCollections', {}, {});
    assert.equal(r.err && r.err.code, 16, 'no authorization header -> UNAUTHENTICATED');
    r = await rawCall(raw, 'ShowCollections', {}, { authorization: Buffer.from('root:wrong').toString('base64') });
    assert.equal(r.err && r.err.code, 16, 'wrong password -> UNAUTHENTICATED');
    r = await rawCall(raw, 'ShowCollections', {}, { authorization: AUTH_HEADER });
    assert.equal(r.err, null);
    assert.equal(r.resp.status.code, 0);
    r = await rawCall(raw, 'CreateResourceGroup', { resource_group: 'rg' }, { authorization: AUTH_HEADER });
    assert.equal(r.err && r.err.code, 12, 'CreateResourceGroup is not implemented');
    r = await rawCall(raw, 'BackupRBAC', {}, { authorization: AUTH_HEADER });
    assert.equal(r.err, null, 'BackupRBAC is implemented (2.5)');
    assert.deepEqual(r.resp.RBAC_meta.roles, [], 'no roles but the built-in ones');
    r = await rawCall(raw, 'ShowCollections', {}, { authorization: AUTH_HEADER, dbname: 'nosuchdb' });
    assert.equal(r.resp.status.code, 800, 'unknown database -> Milvus status 800 with gRPC OK');
  });

  test('two databases with collections, an index, several segments', async () => {
    for (const db of ['db1', 'db2']) ok(await client.createDatabase({ db_name: db }), `create ${db}`);
    const dbs = await client.listDatabases();
    assert.deepEqual([...dbs.db_names].sort(), ['db1', 'db2', 'default']);
    await client.useDatabase({ db_name: 'db1' });
    ok(await client.createCollection({ collection_name: 'coll', fields: FIELDS }), 'create coll');
    ok(await client.createCollection({ collection_name: 'other', fields: FIELDS }), 'create other');
    ok(await client.createIndex({ collection_name: 'coll', field_name: 'vec', index_type: 'HNSW', metric_type: 'COSINE', params: { M: 16, efConstruction: 200 } }), 'index');
    const d = await client.describeCollection({ collection_name: 'coll' });
    ok(d, 'describe');
    assert.ok(BigInt(d.collectionID) > 2n ** 53n, `collection ID ${d.collectionID} is above 2^53`);
    assert.deepEqual(d.schema.fields.map((f) => [f.fieldID, f.name]), [['100', 'id'], ['101', 'title'], ['102', 'vec']]);
    info.collID = d.collectionID;
    const parts = await client.showPartitions({ collection_name: 'coll' });
    assert.deepEqual(parts.partition_names, ['_default']);
    info.partID = parts.partitionIDs[0];
    for (let b = 0; b < 3; b++) {
      const res = await client.insert({ collection_name: 'coll', data: rows(b * BATCH, BATCH) });
      ok(res, 'insert');
      assert.equal(Number(res.insert_cnt), BATCH);
      const f = await client.flushSync({ collection_names: ['coll'] });
      ok(f, 'flush');
    }
    const segs = await client.getPersistentSegmentInfo({ collectionName: 'coll' });
    ok(segs, 'segment info');
    assert.equal(segs.infos.length, 3);
    for (const s of segs.infos) {
      assert.equal(s.state, 'Flushed');
      assert.equal(s.level, 'L1');
      assert.equal(Number(s.num_rows), BATCH);
      assert.equal(s.partitionID, info.partID);
      assert.equal(s.storage_version, '0', 'Milvus 2.5 does not report storage_version');
    }
    info.segs = segs.infos.map((s) => s.segmentID);
    // db2 has its own collection of the same name, with other IDs.
    ok(await client.createCollection({ db_name: 'db2', collection_name: 'coll', fields: FIELDS }), 'create db2.coll');
    const d2 = await client.describeCollection({ db_name: 'db2', collection_name: 'coll' });
    assert.notEqual(d2.collectionID, info.collID);
  });

  test('binlog objects in the Milvus bucket have the layout and realistic sizes', async () => {
    const { objects } = await s3.list(BUCKET, `files/insert_log/${info.collID}/${info.partID}/`);
    for (const seg of info.segs) {
      const mine = objects.filter((o) => o.key.split('/')[4] === seg);
      const byField = {};
      for (const o of mine) (byField[o.key.split('/')[5]] = byField[o.key.split('/')[5]] || []).push(o);
      assert.deepEqual(Object.keys(byField).sort(), ['0', '1', '100', '101', '102']);
      // 300 rows in binlogs of at most 200 rows: two log files per field
      for (const f of Object.keys(byField)) assert.equal(byField[f].length, 2, `field ${f} of ${seg}`);
      const vecBytes = byField['102'].reduce((a, o) => a + o.size, 0);
      assert.ok(vecBytes >= BATCH * DIM * 4 && vecBytes < BATCH * DIM * 4 + 4096, `vector binlogs ${vecBytes} B`);
      const pkBytes = byField['100'].reduce((a, o) => a + o.size, 0);
      assert.ok(pkBytes >= BATCH * 8 && pkBytes < BATCH * 8 + 4096, `pk binlogs ${pkBytes} B`);
      const one = decodeObject(await s3.getObject(BUCKET, byField['100'][0].key));
      assert.equal(one.header.segmentID, seg);
      assert.equal(one.header.kind, 'insert');
      assert.equal(one.columns['100'].length, one.header.rows);
    }
  });

  test('deletes: growing rows vanish, flushed rows go to an L0 segment, then to delta logs', async () => {
    // rows 0..4 are in the first segment (flushed)
    ok(await client.delete({ collection_name: 'coll', ids: [0, 1, 2, 3, 4] }), 'delete');
    ok(await client.flushSync({ collection_names: ['coll'] }), 'flush');
    let segs = (await client.getPersistentSegmentInfo({ collectionName: 'coll' })).infos;
    const l0 = segs.filter((s) => s.level === 'L0');
    assert.equal(l0.length, 1);
    assert.equal(l0[0].partitionID, '-1');
    assert.equal(Number(l0[0].num_rows), 5);
    let objs = (await s3.list(BUCKET, `files/delta_log/${info.collID}/-1/${l0[0].segmentID}/`)).objects;
    assert.equal(objs.length, 1);
    // growing rows deleted before any flush never reach a binlog
    ok(await client.insert({ collection_name: 'coll', data: rows(900, 10) }), 'insert growing');
    ok(await client.delete({ collection_name: 'coll', ids: [905, 906] }), 'delete growing');
    // more deletes of flushed rows (second segment), then a flush: the first L0 is compacted into
    // a delta log of segment 1, a new L0 holds the new deletes
    ok(await client.delete({ collection_name: 'coll', ids: [300, 301, 302] }), 'delete 2');
    ok(await client.flushSync({ collection_names: ['coll'] }), 'flush 2');
    segs = (await client.getPersistentSegmentInfo({ collectionName: 'coll' })).infos;
    const l0b = segs.filter((s) => s.level === 'L0');
    assert.equal(l0b.length, 1);
    assert.notEqual(l0b[0].segmentID, l0[0].segmentID);
    assert.equal(Number(l0b[0].num_rows), 3);
    assert.equal(segs.filter((s) => s.level === 'L1').length, 4);
    objs = (await s3.list(BUCKET, `files/delta_log/${info.collID}/${info.partID}/${info.segs[0]}/`)).objects;
    assert.equal(objs.length, 1, 'delta log of the first segment');
    const delta = decodeObject(await s3.getObject(BUCKET, objs[0].key));
    assert.deepEqual(delta.columns.pk, ['0', '1', '2', '3', '4']);
    info.l0 = l0b[0].segmentID;
    info.newSeg = segs.find((s) => s.level === 'L1' && !info.segs.includes(s.segmentID)).segmentID;
  });

  test('count(*) and row_count', async () => {
    ok(await client.loadCollectionSync({ collection_name: 'coll' }), 'load');
    const cnt = await client.count({ collection_name: 'coll' });
    ok(cnt, 'count');
    assert.equal(cnt.data, 900 + 10 - 2 - 5 - 3);
    const st = await client.getCollectionStatistics({ collection_name: 'coll' });
    assert.equal(st.data.row_count, String(900 + 8), 'row_count does not subtract deletes of flushed rows');
    const q = await client.query({ collection_name: 'coll', filter: 'id in [5, 6, 4]', output_fields: ['id', 'title', 'vec'] });
    ok(q, 'query');
    assert.deepEqual(q.data.map((r) => String(r.id)).sort(), ['5', '6']);
    assert.equal(q.data[0].vec.length, DIM);
    const ls = await client.getLoadState({ collection_name: 'coll' });
    assert.equal(ls.state, 'LoadStateLoaded');
    const other = await rawCall(raw, 'Query', { collection_name: 'other', output_fields: ['count(*)'] }, { authorization: AUTH_HEADER, dbname: 'db1' });
    assert.equal(other.resp.status.code, 101, 'query on a collection that is not loaded');
  });

  test('import backup=true of a copied segment, and l0_import', async () => {
    // Copy segment 1 (300 rows, 5 deleted in its delta log) the way milvus-backup lays it out.
    const seg = info.segs[0];
    const bk = 'backup/smoke/binlogs';
    const copy = async (from, to) => {
      const { objects } = await s3.list(BUCKET, from);
      assert.ok(objects.length > 0, `objects under ${from}`);
      for (const o of objects) await s3.copyObject(BUCKET, o.key, BUCKET, to + o.key.slice(from.length));
    };
    await copy(`files/insert_log/${info.collID}/${info.partID}/${seg}/`, `${bk}/insert_log/${info.collID}/${info.partID}/${seg}/${seg}/`);
    await copy(`files/delta_log/${info.collID}/${info.partID}/${seg}/`, `${bk}/delta_log/${info.collID}/${info.partID}/${seg}/${seg}/`);
    ok(await client.createCollection({ db_name: 'db2', collection_name: 'coll_bak', fields: FIELDS }), 'create coll_bak');
    const imp = await client.bulkInsert({
      db_name: 'db2',
      collection_name: 'coll_bak',
      partition_name: '_default',
      files: [`${bk}/insert_log/${info.collID}/${info.partID}/${seg}/`, `${bk}/delta_log/${info.collID}/${info.partID}/${seg}/`],
      options: [{ key: 'backup', value: 'true' }, { key: 'skip_disk_quota_check', value: 'true' }],
    });
    ok(imp, 'import');
    const task = imp.tasks[0];
    assert.ok(BigInt(task) > 2n ** 53n);
    const seen = new Set();
    const st = await waitFor('import to finish', async () => {
      const s = await client.getImportState({ task });
      seen.add(s.state);
      return ['ImportCompleted', 'ImportFailed'].includes(s.state) ? s : null;
    }, 20000, 10);
    const infos = Object.fromEntries(st.infos.map((kv) => [kv.key, kv.value]));
    assert.equal(st.state, 'ImportCompleted', infos.failed_reason);
    assert.ok(seen.has('ImportStarted'), `states seen: ${[...seen]}`);
    assert.equal(infos.progress_percent, '100');
    assert.equal(st.row_count, '295');
    ok(await client.createIndex({ db_name: 'db2', collection_name: 'coll_bak', field_name: 'vec', index_type: 'HNSW', metric_type: 'COSINE', params: { M: 16, efConstruction: 200 } }), 'index');
    ok(await client.loadCollectionSync({ db_name: 'db2', collection_name: 'coll_bak' }), 'load');
    assert.equal((await client.count({ db_name: 'db2', collection_name: 'coll_bak' })).data, 295);
    const q = await client.query({ db_name: 'db2', collection_name: 'coll_bak', filter: 'id == 7', output_fields: ['title', 'vec'] });
    assert.equal(q.data[0].title, rows(7, 1)[0].title);
    assert.deepEqual(q.data[0].vec.map((x) => Math.round(x * 97)), rows(7, 1)[0].vec.map((x) => Math.round(x * 97)));
    // The restored collection's segment and its binlogs exist in the bucket under its own IDs.
    const bakSegs = (await client.getPersistentSegmentInfo({ dbName: 'db2', collectionName: 'coll_bak' })).infos;
    assert.equal(bakSegs.length, 1);
    assert.equal(bakSegs[0].num_rows, '295');

    // L0 import: the L0 segment of `coll` (deletes of ids 300..302) has nothing to hit in coll_bak
    // (ids 0..299): the count stays; an L0 segment is added.
    await copy(`files/delta_log/${info.collID}/-1/${info.l0}/`, `${bk}/delta_log/${info.collID}/-1/${info.l0}/`);
    const imp2 = await client.bulkInsert({
      db_name: 'db2', collection_name: 'coll_bak', partition_name: '',
      files: [`${bk}/delta_log/${info.collID}/-1/${info.l0}/`],
      options: [{ key: 'l0_import', value: 'true' }],
    });
    ok(imp2, 'l0 import');
    const st2 = await waitFor('l0 import', async () => {
      const s = await client.getImportState({ task: imp2.tasks[0] });
      return ['ImportCompleted', 'ImportFailed'].includes(s.state) ? s : null;
    });
    assert.equal(st2.state, 'ImportCompleted');
    const bakSegs2 = (await client.getPersistentSegmentInfo({ dbName: 'db2', collectionName: 'coll_bak' })).infos;
    assert.deepEqual(bakSegs2.map((s) => [s.level, s.partitionID === '-1']).sort(), [['L0', true], ['L1', false]]);
    assert.equal((await client.count({ db_name: 'db2', collection_name: 'coll_bak' })).data, 295);
    const list = await client.listImportTasks({ db_name: 'db2', collection_name: 'coll_bak' });
    assert.equal(list.tasks.length, 2);
  });

  test('import failures: missing prefix, injected failure', async () => {
    ok(await client.createCollection({ db_name: 'db2', collection_name: 'coll_fail', fields: FIELDS }), 'create');
    const wait = async (task) => waitFor('import end', async () => {
      const s = await client.getImportState({ task });
      return ['ImportCompleted', 'ImportFailed'].includes(s.state) ? s : null;
    });
    const reason = (s) => s.infos.find((kv) => kv.key === 'failed_reason').value;
    let imp = await client.bulkInsert({
      db_name: 'db2', collection_name: 'coll_fail', files: ['elsewhere/insert_log/1/2/3/', ''], options: [{ key: 'backup', value: 'true' }],
    });
    ok(imp, 'import');
    let s = await wait(imp.tasks[0]);
    assert.equal(s.state, 'ImportFailed');
    assert.match(reason(s), /no binlog to import/);
    const before = (await admin(sa.admin, 'GET', '/stats')).imports;
    await admin(sa.admin, 'POST', '/knobs', { STANDIN_FAIL_IMPORT_NTH: String(before + 1) });
    imp = await client.bulkInsert({
      db_name: 'db2', collection_name: 'coll_fail',
      files: [`backup/smoke/binlogs/insert_log/${info.collID}/${info.partID}/${info.segs[0]}/`, ''],
      options: [{ key: 'backup', value: 'true' }],
    });
    s = await wait(imp.tasks[0]);
    assert.equal(s.state, 'ImportFailed');
    assert.match(reason(s), /injected/);
    await admin(sa.admin, 'POST', '/knobs', { STANDIN_FAIL_IMPORT_NTH: '' });
    const r = await client.bulkInsert({ db_name: 'db2', collection_name: 'missing', files: ['x/', ''], options: [{ key: 'backup', value: 'true' }] });
    assert.equal(r.status.code, 100, 'import into a missing collection');
  });

  test('fault knobs: Milvus error, stall past a deadline, dropped connection, big response, flush delay', async () => {
    const md = { authorization: AUTH_HEADER, dbname: 'db1' };
    await admin(sa.admin, 'POST', '/knobs', { STANDIN_FAIL_METHOD: 'GetPersistentSegmentInfo:65535:segment not found (injected):1' });
    let r = await rawCall(raw, 'GetPersistentSegmentInfo', { collectionName: 'coll' }, md);
    assert.equal(r.resp.status.code, 65535);
    r = await rawCall(raw, 'GetPersistentSegmentInfo', { collectionName: 'coll' }, md);
    assert.equal(r.resp.status.code, 0, 'the failure was limited to one call');

    await admin(sa.admin, 'POST', '/knobs', { STANDIN_STALL_METHOD: 'ShowCollections:1500:1' });
    r = await rawCall(raw, 'ShowCollections', {}, md, 300);
    assert.equal(r.err && r.err.code, 4, 'DEADLINE_EXCEEDED');

    await admin(sa.admin, 'POST', '/knobs', { STANDIN_DROP_METHOD: 'DescribeCollection:1' });
    r = await rawCall(raw, 'DescribeCollection', { collection_name: 'coll' }, md);
    assert.ok(r.err && [13, 14].includes(r.err.code), `dropped call fails with ${r.err && r.err.code}`);
    r = await rawCall(raw, 'DescribeCollection', { collection_name: 'coll' }, md);
    assert.equal(r.err, null, 'next call works again');

    await admin(sa.admin, 'POST', '/knobs', { STANDIN_BIG_RESPONSE: '5M:coll' });
    r = await rawCall(raw, 'DescribeCollection', { collection_name: 'coll' }, md);
    assert.equal(r.err, null);
    const pad = r.resp.properties.find((p) => p.key === 'standin.padding');
    assert.equal(pad.value.length, 5 << 20);
    await admin(sa.admin, 'POST', '/knobs', { STANDIN_BIG_RESPONSE: '' });

    await admin(sa.admin, 'POST', '/knobs', { STANDIN_FLUSH_DELAY_MS: '400' });
    ok(await client.insert({ collection_name: 'coll', data: rows(1000, 5) }), 'insert');
    const f = await client.flush({ collection_names: ['coll'] });
    ok(f, 'flush');
    const segIDs = f.coll_segIDs.coll.data;
    assert.equal(segIDs.length, 1);
    const req = { segmentIDs: segIDs, flush_ts: f.coll_flush_ts.coll, collection_name: 'coll' };
    const early = await client.getFlushState(req);
    assert.equal(early.flushed, false, 'not flushed during the delay');
    await waitFor('flush state', async () => (await client.getFlushState(req)).flushed);
    await admin(sa.admin, 'POST', '/knobs', { STANDIN_FLUSH_DELAY_MS: '' });
    assert.ok(BigInt(f.coll_flush_ts.coll) > 2n ** 53n);
    const cp = f.channel_cps[Object.keys(f.channel_cps)[0]];
    assert.equal(cp.timestamp, f.coll_flush_ts.coll);
  });

  test('management API: GC pause / resume like Milvus 2.5, call log, failure knob', async () => {
    const mg = async (p) => {
      const res = await fetch(`${sa.admin}/management/datacoord/garbage_collection/${p}`);
      return { code: res.status, body: await res.json() };
    };
    const seq0 = (await admin(sa.admin, 'GET', '/calls')).reduce((m, e) => Math.max(m, e.seq), 0);
    let r = await mg('pause?pause_seconds=3600&collection_id=0');
    assert.deepEqual(r, { code: 200, body: { msg: 'OK' } });
    assert.equal((await admin(sa.admin, 'GET', '/stats')).gc.paused, true);
    r = await mg('pause?pause_seconds=soon');
    assert.equal(r.code, 500);
    assert.match(r.body.msg, /^failed to pause garbage collection, /);
    await admin(sa.admin, 'POST', '/knobs', { STANDIN_FAIL_METHOD: 'GcResume:500:busy:1' });
    r = await mg('resume');
    assert.deepEqual(r, { code: 500, body: { msg: 'failed to pause garbage collection, busy' } });
    r = await mg('resume');
    assert.deepEqual(r, { code: 200, body: { msg: 'OK' } });
    assert.equal((await admin(sa.admin, 'GET', '/stats')).gc.paused, false);
    const log = (await admin(sa.admin, 'GET', '/calls')).filter((e) => e.seq > seq0);
    assert.deepEqual(log.map((e) => [e.method, e.status]),
      [['GcPause', 200], ['GcPause', 500], ['GcResume', 500], ['GcResume', 200]]);
    assert.deepEqual(log[0].query, { pause_seconds: '3600', collection_id: '0' });
  });

  test('aliases and collection listing', async () => {
    ok(await client.createAlias({ collection_name: 'coll', alias: 'coll_alias' }), 'alias');
    const al = await client.listAliases({ collection_name: 'coll' });
    assert.deepEqual(al.aliases, ['coll_alias']);
    const d = await client.describeCollection({ collection_name: 'coll_alias' });
    assert.equal(d.collection_name, 'coll');
    assert.deepEqual(d.aliases, ['coll_alias']);
    const sc = await client.showCollections();
    assert.deepEqual(sc.data.map((c) => c.name).sort(), ['coll', 'other']);
  });

  test('state survives a restart', async () => {
    const before = (await client.count({ collection_name: 'coll' })).data;
    const segsBefore = (await client.getPersistentSegmentInfo({ collectionName: 'coll' })).infos;
    await client.closeConnection();
    await sa.stop();
    sa = await startChild(env());
    client = new MilvusClient({ address: `127.0.0.1:${sa.port}`, username: 'root', password: 'Milvus', database: 'db1', logLevel: 'error' });
    assert.equal((await client.count({ collection_name: 'coll' })).data, before);
    const segsAfter = (await client.getPersistentSegmentInfo({ collectionName: 'coll' })).infos;
    assert.deepEqual(segsAfter.map((s) => [s.segmentID, s.num_rows, s.level]), segsBefore.map((s) => [s.segmentID, s.num_rows, s.level]));
    const d = await client.describeCollection({ collection_name: 'coll' });
    assert.equal(d.collectionID, info.collID);
    // New IDs stay above the old ones.
    ok(await client.createCollection({ collection_name: 'after_restart', fields: FIELDS }), 'create');
    const d2 = await client.describeCollection({ collection_name: 'after_restart' });
    assert.ok(BigInt(d2.collectionID) > BigInt(info.collID));
  });
});

describe('milvus stand-in as Milvus 2.6 (storage v2), started by scripts/milvus-standin.sh',
  { skip: HAVE_S3 ? false : 'S3_ENDPOINT not set (start an RGW first)' }, () => {
    const script = path.join(__dirname, '..', '..', '..', 'scripts', 'milvus-standin.sh');
    const bucket = `${BUCKET}-v26`;
    let dir;
    let client;
    const s3 = HAVE_S3 ? s3FromEnv() : null;
    const run = (cmd) => execFileSync('bash', [script, cmd, dir], {
      env: Object.assign({}, process.env, { MILVUS_PORT: '0', MILVUS_BUCKET: bucket, MILVUS_VERSION: 'v2.6.17', STANDIN_ADMIN_PORT: '0' }),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });

    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'standin-v26-'));
    });

    after(async () => {
      if (client) await client.closeConnection();
      run('stop');
      fs.rmSync(dir, { recursive: true, force: true });
      await emptyBucket(s3, bucket);
    });

    test('start prints the exports; column groups; import of a v2 segment', async () => {
      const out = run('start');
      const port = /^export MILVUS_PORT=(\d+)$/m.exec(out);
      assert.ok(port, out);
      assert.match(out, /^export MILVUS_ADDRESS=127\.0\.0\.1$/m);
      assert.equal(run('start'), out, 'a second start only repeats the exports');
      client = new MilvusClient({ address: `127.0.0.1:${port[1]}`, logLevel: 'error' });
      assert.equal((await client.getVersion()).version, 'v2.6.17');
      ok(await client.createCollection({ collection_name: 'c26', fields: FIELDS }), 'create');
      ok(await client.insert({ collection_name: 'c26', data: rows(0, 50) }), 'insert');
      ok(await client.flushSync({ collection_names: ['c26'] }), 'flush');
      const segs = (await client.getPersistentSegmentInfo({ collectionName: 'c26' })).infos;
      assert.equal(segs.length, 1);
      assert.equal(segs[0].storage_version, '2');
      const d = await client.describeCollection({ collection_name: 'c26' });
      const prefix = `files/insert_log/${d.collectionID}/${segs[0].partitionID}/${segs[0].segmentID}/`;
      const { objects } = await s3.list(bucket, prefix);
      assert.deepEqual(objects.map((o) => o.key.slice(prefix.length).split('/')[0]).sort(), ['0', '102'],
        'group 0 (row id, timestamp, scalars) and group 102 (the vector)');
      const g0 = decodeObject(await s3.getObject(bucket, objects.find((o) => o.key.startsWith(prefix + '0/')).key));
      assert.deepEqual(g0.header.columns.map((c) => c.fieldID), ['0', '1', '100', '101']);
      // import the v2 segment back into a new collection
      const bk = `backup/v26/binlogs/insert_log/${d.collectionID}/${segs[0].partitionID}/${segs[0].segmentID}/`;
      for (const o of objects) await s3.copyObject(bucket, o.key, bucket, bk + segs[0].segmentID + '/' + o.key.slice(prefix.length));
      ok(await client.createCollection({ collection_name: 'c26_bak', fields: FIELDS }), 'create bak');
      const imp = await client.bulkInsert({
        collection_name: 'c26_bak', files: [bk, ''],
        options: [{ key: 'backup', value: 'true' }, { key: 'storage_version', value: '2' }],
      });
      ok(imp, 'import');
      const st = await waitFor('import', async () => {
        const s = await client.getImportState({ task: imp.tasks[0] });
        return ['ImportCompleted', 'ImportFailed'].includes(s.state) ? s : null;
      });
      assert.equal(st.state, 'ImportCompleted');
      assert.equal(st.row_count, '50');
    });
  });
