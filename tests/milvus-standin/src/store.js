// The stand-in's data model: databases, collections, partitions, growing rows, sealed segments
// (binlog objects in the Milvus bucket), deletes (delta logs and L0 segments), flushes, and the
// optional JSON state file.
//
// Data path, like Milvus 2.5:
// - Insert appends rows to the partition's growing buffer; a buffer reaching
//   STANDIN_SEGMENT_MAX_ROWS is sealed at once, the rest at the next Flush.
// - Sealing writes <root>/insert_log/<coll>/<part>/<seg>/<field>/<logID> for fields 0 (RowID),
//   1 (Timestamp) and every user field (storage v1), or one object per column group (storage v2:
//   group 0 = row id, timestamp and scalars, each vector field its own group), one object per
//   STANDIN_BINLOG_MAX_ROWS rows.
// - Delete removes growing rows at once; rows already in sealed segments are marked deleted and
//   queued; the next Flush writes them as an L0 segment (partition -1, or the partition named in
//   the Delete) at <root>/delta_log/<coll>/<part>/<l0seg>/<logID>. The Flush after that
//   "compacts" existing L0 segments (STANDIN_L0_COMPACTION, default on): their deletes become
//   per-segment delta logs <root>/delta_log/<coll>/<part>/<seg>/<logID> and the L0 segment is
//   dropped. So a workload of delete/flush/delete/flush shows both forms.
// - Nothing is garbage collected: objects of dropped segments and collections stay.
//
// Every collection has a lock (a promise chain) serialising insert/delete/flush/import.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { encodeObject, decodeObject, isVectorType } = require('./binlog');
const { fieldDim } = require('./fielddata');
const { Rbac } = require('./rbac');
const { versionAtLeast } = require('./config');

class MilvusError extends Error {
  constructor(code, reason) {
    super(reason);
    this.milvusCode = code;
  }
}

function joinKey(...parts) {
  return parts.filter((p) => p !== '' && p !== undefined && p !== null).join('/');
}

function cmpId(a, b) {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// A tiny async mutex.
class Lock {
  constructor() {
    this.tail = Promise.resolve();
  }

  run(fn) {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => {});
    return p;
  }
}

class Store {
  constructor({ s3, settings, knobs, ids, log }) {
    this.s3 = s3;
    this.settings = settings;
    this.bucket = settings.bucket;
    this.rootPath = settings.rootPath;
    this.stateFile = settings.stateFile;
    this.knobs = knobs;
    this.ids = ids;
    this.log = log;
    this.dbs = new Map();
    this.imports = new Map();
    this.rbac = new Rbac();
    this.saveTimer = null;
  }

  // ---------------------------------------------------------------- databases / collections

  addDatabase(name, properties = [], id) {
    const db = {
      name,
      id: id || (name === 'default' ? '1' : this.ids.alloc()),
      createdTs: this.ids.alloc(),
      properties,
      colls: new Map(),
      aliases: new Map(), // alias -> collection name
    };
    this.dbs.set(name, db);
    return db;
  }

  // Milvus 2.6 AddCollectionField: a nullable field with the next field ID (after $meta);
  // existing rows read it as null.
  addField(c, field) {
    if (!field.nullable) throw new MilvusError(1100, `added field must be nullable, please check it, field name = ${field.name}`);
    if (field.is_primary_key) throw new MilvusError(1100, 'not support to add pk field');
    if (c.schema.fields.some((f) => f.name === field.name)) throw new MilvusError(1100, `duplicate field name: ${field.name}`);
    const next = c.schema.fields.reduce((m, f) => Math.max(m, Number(f.fieldID)), 99) + 1;
    c.schema.fields.push(Object.assign({}, field, { fieldID: String(next), type_params: field.type_params || [], index_params: field.index_params || [] }));
  }

  db(name) {
    const db = this.dbs.get(name || 'default');
    if (!db) throw new MilvusError(800, `database not found[database=${name}]`);
    return db;
  }

  // Collection by name or alias.
  coll(dbName, name) {
    const db = this.db(dbName);
    const c = db.colls.get(name) || db.colls.get(db.aliases.get(name));
    if (!c) throw new MilvusError(100, `can't find collection[database=${db.name}][collection=${name}]`);
    return c;
  }

  collById(id) {
    for (const db of this.dbs.values()) for (const c of db.colls.values()) if (c.id === String(id)) return c;
    return null;
  }

  partition(c, name) {
    const p = c.partitions.find((x) => x.name === name);
    if (!p) throw new MilvusError(200, `partition not found[partition=${name}]`);
    return p;
  }

  // schema: decoded CollectionSchema. Returns the new collection.
  createCollection(dbName, name, schema, opts) {
    const db = this.db(dbName);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name || '') || name.length > 255) {
      throw new MilvusError(1100, `Invalid collection name: ${name}. the first character of a collection name must be an underscore or letter`);
    }
    const fields = (schema.fields || []).map((f) => Object.assign({}, f));
    const pks = fields.filter((f) => f.is_primary_key);
    if (pks.length !== 1) throw new MilvusError(1100, 'primary key is not specified or more than one primary key');
    if (!['Int64', 'VarChar'].includes(pks[0].data_type)) throw new MilvusError(1100, 'the data type of primary key should be Int64 or VarChar');
    if (!fields.some((f) => isVectorType(f.data_type))) throw new MilvusError(1100, 'schema does not contain vector field');
    const existing = db.colls.get(name);
    if (existing) {
      const same = JSON.stringify(existing.schema.fields.filter((f) => !f.is_dynamic).map((f) => [f.name, f.data_type]))
        === JSON.stringify(fields.map((f) => [f.name, f.data_type]));
      if (same) return existing;
      throw new MilvusError(1100, `create duplicate collection with different parameters, collection: ${name}`);
    }
    let next = 100;
    for (const f of fields) {
      f.fieldID = String(next++);
      f.type_params = f.type_params || [];
      f.index_params = f.index_params || [];
      if (isVectorType(f.data_type) && f.data_type !== 'SparseFloatVector' && !(fieldDim(f) > 0)) {
        throw new MilvusError(1100, `dimension is not defined in field type params of "${f.name}"`);
      }
    }
    if (schema.enable_dynamic_field) {
      fields.push({ fieldID: String(next++), name: '$meta', data_type: 'JSON', is_dynamic: true, description: 'dynamic schema', type_params: [], index_params: [] });
    }
    // Milvus >= 2.6.8 checks functions at create (it may call model providers); the property
    // disable_func_runtime_check=true skips that. The stand-in cannot reach any provider.
    const props = (opts.properties || []).concat(schema.properties || []);
    if ((schema.functions || []).length && versionAtLeast(this.settings.version, 2, 6, 8)
        && !props.some((p) => p.key === 'disable_func_runtime_check' && p.value === 'true')) {
      throw new MilvusError(1100, `function runtime check failed: cannot reach the provider of function "${schema.functions[0].name}" (the stand-in reaches none; set disable_func_runtime_check=true)`);
    }
    const id = this.ids.alloc();
    const c = {
      id,
      name,
      dbName: db.name,
      schema: Object.assign({}, schema, { name, fields, functions: schema.functions || [], properties: schema.properties || [] }),
      shardsNum: opts.shardsNum > 0 ? opts.shardsNum : 1,
      consistencyLevel: opts.consistencyLevel || 'Bounded',
      properties: opts.properties || [],
      createdTs: this.ids.alloc(),
      createdUtcMs: String(Date.now()),
      partitions: [],
      indexes: [],
      loaded: false,
      growing: new Map(),
      segments: [],
      pendingDeletes: [],
      flushes: new Map(), // flush ts -> done
      lock: new Lock(),
    };
    c.vchannels = [];
    c.pchannels = [];
    for (let i = 0; i < c.shardsNum; i++) {
      c.pchannels.push(`by-dev-rootcoord-dml_${i}`);
      c.vchannels.push(`by-dev-rootcoord-dml_${i}_${id}v${i}`);
    }
    const pkField = fields.find((f) => f.is_partition_key);
    if (pkField) {
      const n = opts.numPartitions > 0 ? opts.numPartitions : 16;
      for (let i = 0; i < n; i++) this.addPartition(c, `_default_${i}`);
    } else {
      this.addPartition(c, '_default');
    }
    db.colls.set(name, c);
    return c;
  }

  addPartition(c, name, id) {
    const p = { id: id || this.ids.alloc(), name, createdTs: this.ids.alloc(), createdUtcMs: String(Date.now()) };
    c.partitions.push(p);
    return p;
  }

  dropCollection(dbName, name) {
    const db = this.db(dbName);
    const c = db.colls.get(name);
    if (!c) return; // Milvus: dropping a missing collection succeeds
    const aliases = [...db.aliases].filter(([, v]) => v === name).map(([k]) => k);
    if (aliases.length) {
      throw new MilvusError(65535, `unable to drop the collection [${name}] because it has associated aliases [${aliases.join(', ')}], please remove all aliases before dropping the collection`);
    }
    db.colls.delete(name);
  }

  pkField(c) {
    return c.schema.fields.find((f) => f.is_primary_key);
  }

  // ---------------------------------------------------------------- keys

  insertKey(c, partID, segID, fieldID, logID) {
    return joinKey(this.rootPath, 'insert_log', c.id, partID, segID, fieldID, logID);
  }

  deltaKey(c, partID, segID, logID) {
    return joinKey(this.rootPath, 'delta_log', c.id, partID, segID, logID);
  }

  // ---------------------------------------------------------------- insert / delete

  // rows: [{vals: {fieldID: value}}] (rowid/ts are assigned here). Returns the primary keys.
  async insert(c, partition, rows) {
    const ts = this.ids.alloc();
    const first = this.ids.allocBig(rows.length);
    const pk = this.pkField(c);
    const partKeyField = c.schema.fields.find((f) => f.is_partition_key);
    rows.forEach((r, i) => {
      r.rowid = (first + BigInt(i)).toString();
      r.ts = ts;
      let partID = partition ? partition.id : c.partitions[0].id;
      if (!partition && partKeyField) {
        const key = String(r.vals[partKeyField.fieldID]);
        let h = 0;
        for (const ch of key) h = (h * 31 + ch.codePointAt(0)) >>> 0;
        partID = c.partitions[h % c.partitions.length].id;
      }
      if (!c.growing.has(partID)) c.growing.set(partID, []);
      c.growing.get(partID).push(r);
    });
    for (const [partID, buf] of c.growing) {
      while (buf.length >= this.knobs.segmentMaxRows && this.knobs.segmentMaxRows > 0) {
        const sealed = buf.splice(0, this.knobs.segmentMaxRows);
        const seg = this.newSegment(c, partID, 'L1', sealed);
        await this.writeSegment(c, seg);
        seg.state = 'Flushed';
      }
    }
    this.scheduleSave();
    return { ids: rows.map((r) => String(r.vals[pk.fieldID])), ts };
  }

  // pks: array of primary keys (strings). partition: optional. Returns number deleted.
  delete(c, partition, pks) {
    const ts = this.ids.alloc();
    const pk = this.pkField(c);
    const want = new Set(pks.map(String));
    let n = 0;
    for (const [partID, buf] of c.growing) {
      if (partition && partition.id !== partID) continue;
      const keep = buf.filter((r) => !want.has(String(r.vals[pk.fieldID])));
      n += buf.length - keep.length;
      c.growing.set(partID, keep);
    }
    for (const key of want) {
      let hit = false;
      for (const seg of c.segments) {
        if (seg.level === 'L0' || (partition && seg.partitionID !== partition.id)) continue;
        const rowTs = this.segmentPkTs(seg, pk, key);
        if (rowTs !== null && cmpId(rowTs, ts) < 0 && !seg.deleted.has(key)) {
          seg.deleted.set(key, ts);
          hit = true;
          n++;
        }
      }
      // Milvus records every delete, hit or not; the stand-in only keeps those that matter.
      if (hit) c.pendingDeletes.push({ pk: key, ts, partitionID: partition ? partition.id : '-1' });
    }
    this.scheduleSave();
    return { n, ts };
  }

  segmentPkTs(seg, pk, key) {
    if (!seg.pkIndex) {
      seg.pkIndex = new Map();
      for (const r of seg.rows || []) seg.pkIndex.set(String(r.vals[pk.fieldID]), r.ts);
    }
    const v = seg.pkIndex.get(key);
    return v === undefined ? null : v;
  }

  // ---------------------------------------------------------------- segments

  newSegment(c, partitionID, level, rows, deltas) {
    const seg = {
      id: this.ids.alloc(),
      partitionID: String(partitionID),
      level,
      state: 'Sealed',
      numRows: level === 'L0' ? deltas.length : rows.length,
      storageVersion: level === 'L0' ? 0 : this.knobs.storageVersion,
      binlogs: [],
      deltalogs: [],
      rows: level === 'L0' ? [] : rows,
      deltas: deltas || [],
      deleted: new Map(),
      createdTs: this.ids.alloc(),
      sorted: false,
    };
    c.segments.push(seg);
    return seg;
  }

  // Column groups of one sealed segment: [{groupID, columns: [{fieldID, type, dim, nullable}]}].
  columnGroups(c, storageVersion) {
    const sys = [{ fieldID: '0', type: 'Int64' }, { fieldID: '1', type: 'Int64' }];
    const user = c.schema.fields.map((f) => ({ fieldID: f.fieldID, type: f.data_type, dim: fieldDim(f), nullable: !!f.nullable }));
    if (storageVersion === 2) {
      const groups = [{ groupID: '0', columns: sys.concat(user.filter((u) => !isVectorType(u.type))) }];
      for (const u of user.filter((x) => isVectorType(x.type))) groups.push({ groupID: u.fieldID, columns: [u] });
      return groups;
    }
    return sys.concat(user).map((col) => ({ groupID: col.fieldID, columns: [col] }));
  }

  async putAll(jobs) {
    const width = 4;
    let i = 0;
    const worker = async () => {
      while (i < jobs.length) {
        const j = jobs[i++];
        await this.s3.putObject(this.bucket, j.key, j.body);
      }
    };
    await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  }

  async writeSegment(c, seg) {
    const jobs = [];
    if (seg.level === 'L0') {
      const logID = this.ids.alloc();
      const body = this.encodeDeltas(c, seg.partitionID, seg.id, seg.deltas);
      const key = this.deltaKey(c, seg.partitionID, seg.id, logID);
      seg.deltalogs.push({ logID, key, size: body.length, rows: seg.deltas.length });
      jobs.push({ key, body });
    } else {
      const chunk = this.knobs.binlogMaxRows > 0 ? this.knobs.binlogMaxRows : seg.rows.length;
      for (let start = 0; start < seg.rows.length || (start === 0 && seg.rows.length === 0); start += chunk) {
        const rows = seg.rows.slice(start, start + chunk);
        for (const g of this.columnGroups(c, seg.storageVersion)) {
          const logID = this.ids.alloc();
          const columns = g.columns.map((col) => Object.assign({}, col, {
            values: rows.map((r) => (col.fieldID === '0' ? r.rowid : col.fieldID === '1' ? r.ts : r.vals[col.fieldID] ?? null)),
          }));
          const body = encodeObject({ kind: 'insert', collectionID: c.id, partitionID: seg.partitionID, segmentID: seg.id }, columns);
          const key = this.insertKey(c, seg.partitionID, seg.id, g.groupID, logID);
          seg.binlogs.push({ fieldID: g.groupID, logID, key, size: body.length, rows: rows.length });
          jobs.push({ key, body });
        }
        if (seg.rows.length === 0) break;
      }
    }
    await this.putAll(jobs);
  }

  encodeDeltas(c, partitionID, segID, deltas) {
    const pk = this.pkField(c);
    return encodeObject({ kind: 'delta', collectionID: c.id, partitionID, segmentID: segID }, [
      { fieldID: 'pk', type: pk.data_type, values: deltas.map((d) => (pk.data_type === 'Int64' ? String(d.pk) : d.pk)) },
      { fieldID: 'ts', type: 'Int64', values: deltas.map((d) => d.ts) },
    ]);
  }

  // Flush one collection: compact older L0 segments, seal growing rows, turn queued deletes
  // into L0 segments. Returns {sealed: [segIDs], flushed: [segIDs], flushTs, sealTime}.
  async flush(c) {
    const flushTs = this.ids.alloc();
    const sealTime = String(Math.floor(Date.now() / 1000));
    const pk = this.pkField(c);
    const toWrite = [];
    const deltaJobs = [];
    // 1. L0 compaction of L0 segments written by earlier flushes.
    if (this.knobs.l0Compaction) {
      for (const l0 of c.segments.filter((s) => s.level === 'L0' && s.state === 'Flushed')) {
        const perSeg = new Map();
        for (const d of l0.deltas) {
          for (const seg of c.segments) {
            if (seg.level === 'L0' || seg.state !== 'Flushed') continue;
            if (l0.partitionID !== '-1' && seg.partitionID !== l0.partitionID) continue;
            const rowTs = this.segmentPkTs(seg, pk, d.pk);
            if (rowTs === null || cmpId(rowTs, d.ts) >= 0) continue;
            if (!perSeg.has(seg)) perSeg.set(seg, []);
            perSeg.get(seg).push(d);
          }
        }
        for (const [seg, deltas] of perSeg) {
          const logID = this.ids.alloc();
          const body = this.encodeDeltas(c, seg.partitionID, seg.id, deltas);
          const key = this.deltaKey(c, seg.partitionID, seg.id, logID);
          seg.deltalogs.push({ logID, key, size: body.length, rows: deltas.length });
          deltaJobs.push({ key, body });
        }
        l0.state = 'Dropped';
      }
      c.segments = c.segments.filter((s) => s.state !== 'Dropped');
    }
    const previouslyFlushed = c.segments.filter((s) => s.level !== 'L0').map((s) => s.id);
    // 2. Seal growing rows.
    const sealed = [];
    for (const [partID, buf] of c.growing) {
      if (!buf.length) continue;
      c.growing.set(partID, []);
      const seg = this.newSegment(c, partID, 'L1', buf);
      sealed.push(seg);
      toWrite.push(seg);
    }
    // 3. Queued deletes of flushed rows -> L0 segments, one per partition scope.
    const byScope = new Map();
    for (const d of c.pendingDeletes) {
      if (!byScope.has(d.partitionID)) byScope.set(d.partitionID, []);
      byScope.get(d.partitionID).push({ pk: d.pk, ts: d.ts });
    }
    c.pendingDeletes = [];
    for (const [partID, deltas] of byScope) toWrite.push(this.newSegment(c, partID, 'L0', null, deltas));
    for (const s of toWrite) s.state = 'Flushing';
    c.flushes.set(flushTs, false);
    const finish = async () => {
      await this.putAll(deltaJobs);
      for (const s of toWrite) {
        await this.writeSegment(c, s);
        s.state = 'Flushed';
      }
      c.flushes.set(flushTs, true);
      this.scheduleSave();
    };
    if (this.knobs.flushDelayMs > 0) {
      const delay = this.knobs.flushDelayMs;
      setTimeout(() => {
        c.lock.run(finish).catch((e) => this.log(`flush of "${c.name}" failed: ${e.message}`));
      }, delay);
    } else {
      await finish();
    }
    this.scheduleSave();
    return { sealed: sealed.map((s) => s.id), flushed: previouslyFlushed, flushTs, sealTime };
  }

  flushState(c, segIDs, flushTs) {
    if (flushTs && flushTs !== '0' && c.flushes.has(flushTs)) return c.flushes.get(flushTs);
    for (const id of segIDs || []) {
      const s = c.segments.find((x) => x.id === String(id));
      if (s && s.state !== 'Flushed') return false;
    }
    return true;
  }

  // Visible rows of a collection (sealed minus deleted, plus growing), optionally by partition.
  *visibleRows(c, partIDs) {
    const pk = this.pkField(c);
    for (const seg of c.segments) {
      if (seg.level === 'L0' || seg.state === 'Importing' || (partIDs && !partIDs.has(seg.partitionID))) continue;
      for (const r of seg.rows || []) {
        if (!seg.deleted.has(String(r.vals[pk.fieldID]))) yield r;
      }
    }
    for (const [partID, buf] of c.growing) {
      if (partIDs && !partIDs.has(partID)) continue;
      yield* buf;
    }
  }

  countRows(c, partIDs) {
    let n = 0;
    for (const seg of c.segments) {
      if (seg.level === 'L0' || seg.state === 'Importing' || (partIDs && !partIDs.has(seg.partitionID))) continue;
      n += seg.numRows - seg.deleted.size;
    }
    for (const [partID, buf] of c.growing) if (!partIDs || partIDs.has(partID)) n += buf.length;
    return n;
  }

  // Milvus's row_count statistic: rows of all non-L0 segments plus growing, deletes NOT
  // subtracted (as in Milvus until compaction rewrites the segments).
  statRowCount(c) {
    let n = 0;
    for (const seg of c.segments) if (seg.level !== 'L0' && seg.state !== 'Importing') n += seg.numRows;
    for (const buf of c.growing.values()) n += buf.length;
    return n;
  }

  // ---------------------------------------------------------------- reading binlogs back

  // Reads a set of insert-log objects of one segment: {fieldDir: [{key}]} -> rows.
  // Returns {rows: [{rowid, ts, vals}], columns: Set of fieldIDs present}.
  async readInsertLogs(bucket, byField) {
    const columns = {};
    const counts = {};
    for (const [dir, objs] of Object.entries(byField)) {
      objs.sort((a, b) => cmpId(a.key.split('/').pop(), b.key.split('/').pop()));
      for (const o of objs) {
        const { header, columns: cols } = decodeObject(await this.s3.getObject(bucket, o.key));
        if (header.kind !== 'insert') throw new Error(`"${o.key}" is not an insert log`);
        for (const [fid, vals] of Object.entries(cols)) {
          if (!columns[fid]) columns[fid] = [];
          for (const v of vals) columns[fid].push(v);
        }
        counts[dir] = (counts[dir] || 0) + header.rows;
      }
    }
    const n = new Set(Object.values(counts));
    if (n.size > 1) {
      throw new Error(`binlog row counts of fields differ (${Object.entries(counts).map(([k, v]) => `${k}:${v}`).join(', ')})`);
    }
    const rows = [];
    const numRows = n.size ? [...n][0] : 0;
    if (!columns['0'] || !columns['1']) throw new Error('row id or timestamp field (0/1) missing from binlogs');
    for (let i = 0; i < numRows; i++) {
      const vals = {};
      for (const [fid, vals2] of Object.entries(columns)) if (fid !== '0' && fid !== '1') vals[fid] = vals2[i];
      rows.push({ rowid: columns['0'][i], ts: columns['1'][i], vals });
    }
    return { rows, present: new Set(Object.keys(columns)) };
  }

  async readDeltaLogs(bucket, keys) {
    const out = [];
    for (const key of keys) {
      const { header, columns } = decodeObject(await this.s3.getObject(bucket, key));
      if (header.kind !== 'delta') throw new Error(`"${key}" is not a delta log`);
      columns.pk.forEach((pk, i) => out.push({ pk: String(pk), ts: columns.ts[i] }));
    }
    return out;
  }

  // ---------------------------------------------------------------- persistence

  scheduleSave() {
    if (!this.stateFile || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.saveNow();
    }, 50);
  }

  saveNow() {
    if (!this.stateFile) return;
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
    }
    const dbs = [...this.dbs.values()].map((db) => ({
      name: db.name, id: db.id, createdTs: db.createdTs, properties: db.properties,
      aliases: [...db.aliases],
      colls: [...db.colls.values()].map((c) => ({
        id: c.id, name: c.name, schema: c.schema, shardsNum: c.shardsNum, consistencyLevel: c.consistencyLevel,
        properties: c.properties, createdTs: c.createdTs, createdUtcMs: c.createdUtcMs, partitions: c.partitions,
        indexes: c.indexes, loaded: c.loaded, vchannels: c.vchannels, pchannels: c.pchannels,
        pendingDeletes: c.pendingDeletes,
        growing: [...c.growing].filter(([, rows]) => rows.length).map(([partID, rows]) => ({
          partID, blob: this.encodeRowsBlob(c, partID, rows).toString('base64'),
        })),
        segments: c.segments.filter((s) => s.state === 'Flushed').map((s) => ({
          id: s.id, partitionID: s.partitionID, level: s.level, numRows: s.numRows, storageVersion: s.storageVersion,
          binlogs: s.binlogs, deltalogs: s.deltalogs, createdTs: s.createdTs,
        })),
      })),
    }));
    const imports = [...this.imports.values()].map((t) => Object.assign({}, t, { timer: undefined }));
    const state = { format: 'mvbackupfs-milvus-standin-state-1', last: this.ids.last.toString(), dbs, imports, rbac: this.rbac.toJSON() };
    const tmp = this.stateFile + '.tmp';
    fs.mkdirSync(path.dirname(path.resolve(this.stateFile)), { recursive: true });
    fs.writeFileSync(tmp, JSON.stringify(state));
    fs.renameSync(tmp, this.stateFile);
  }

  encodeRowsBlob(c, partID, rows) {
    const cols = this.columnGroups(c, 1).map((g) => g.columns[0]).map((col) => Object.assign({}, col, {
      values: rows.map((r) => (col.fieldID === '0' ? r.rowid : col.fieldID === '1' ? r.ts : r.vals[col.fieldID] ?? null)),
    }));
    return encodeObject({ kind: 'insert', collectionID: c.id, partitionID: partID, segmentID: '0' }, cols);
  }

  // Loads the state file (if any) and the rows of every sealed segment from the bucket.
  async load() {
    if (!this.stateFile || !fs.existsSync(this.stateFile)) return false;
    const state = JSON.parse(fs.readFileSync(this.stateFile, 'utf8'));
    if (state.format !== 'mvbackupfs-milvus-standin-state-1') throw new Error(`state file "${this.stateFile}" has an unknown format`);
    if (BigInt(state.last) > this.ids.last) this.ids.last = BigInt(state.last);
    this.dbs.clear();
    this.rbac = Rbac.fromJSON(state.rbac);
    for (const d of state.dbs) {
      const db = this.addDatabase(d.name, d.properties, d.id);
      db.createdTs = d.createdTs;
      db.aliases = new Map(d.aliases);
      for (const s of d.colls) {
        const c = Object.assign({}, s, {
          dbName: db.name, growing: new Map(), segments: [], flushes: new Map(), lock: new Lock(),
        });
        for (const g of s.growing) {
          const { columns } = decodeObject(Buffer.from(g.blob, 'base64'));
          const rows = columns['0'].map((rowid, i) => {
            const vals = {};
            for (const [fid, v] of Object.entries(columns)) if (fid !== '0' && fid !== '1') vals[fid] = v[i];
            return { rowid, ts: columns['1'][i], vals };
          });
          c.growing.set(g.partID, rows);
        }
        for (const sg of s.segments) {
          const seg = Object.assign({}, sg, { state: 'Flushed', rows: [], deltas: [], deleted: new Map() });
          if (seg.level === 'L0') {
            seg.deltas = await this.readDeltaLogs(this.bucket, seg.deltalogs.map((l) => l.key));
          } else {
            const byField = {};
            for (const l of seg.binlogs) (byField[l.fieldID] = byField[l.fieldID] || []).push({ key: l.key });
            seg.rows = (await this.readInsertLogs(this.bucket, byField)).rows;
          }
          c.segments.push(seg);
        }
        // Re-apply deletes: per-segment delta logs, L0 segments, queued deletes.
        const pk = c.schema.fields.find((f) => f.is_primary_key);
        for (const seg of c.segments.filter((x) => x.level !== 'L0')) {
          for (const d of await this.readDeltaLogs(this.bucket, seg.deltalogs.map((l) => l.key))) seg.deleted.set(d.pk, d.ts);
        }
        const applyAll = (deltas, partitionID) => {
          for (const d of deltas) {
            for (const seg of c.segments) {
              if (seg.level === 'L0' || (partitionID !== '-1' && seg.partitionID !== partitionID)) continue;
              const ts = this.segmentPkTs(seg, pk, d.pk);
              if (ts !== null && cmpId(ts, d.ts) < 0) seg.deleted.set(d.pk, d.ts);
            }
          }
        };
        for (const l0 of c.segments.filter((x) => x.level === 'L0')) applyAll(l0.deltas, l0.partitionID);
        for (const d of c.pendingDeletes) applyAll([d], d.partitionID);
        db.colls.set(c.name, c);
      }
    }
    for (const t of state.imports || []) {
      // An import interrupted by the restart cannot resume: report it failed.
      if (t.state === 'ImportPending' || t.state === 'ImportStarted') {
        t.state = 'ImportFailed';
        t.failedReason = 'stand-in restarted during the import';
      }
      this.imports.set(t.id, t);
    }
    return true;
  }
}

module.exports = { Store, MilvusError, Lock, cmpId, joinKey };
