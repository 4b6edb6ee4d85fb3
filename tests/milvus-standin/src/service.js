// The MilvusService methods the stand-in implements. Each handler takes (request, ctx) with
// ctx = {db: database name from db_name or the `dbname` header, ...} and returns the response
// without `status` (server.js adds an OK status, or turns a thrown MilvusError into a Milvus
// error status with gRPC OK). Methods not listed here answer gRPC 12 UNIMPLEMENTED.
'use strict';

const { MilvusError } = require('./store');
const { columnValues, toFieldData } = require('./fielddata');
const { decodeSchema, decodeFieldSchema, MsgPosition } = require('./proto');
const { Importer } = require('./importer');
const { versionAtLeast } = require('./config');

function kv(list) {
  const m = {};
  for (const x of list || []) m[x.key] = x.value;
  return m;
}

// ---------------------------------------------------------------- expressions
// Enough of Milvus's expression language for what the SDK and tests send:
//   ""                      every row
//   field in [v1, v2, ...]  (numbers or "strings")
//   field op value          op one of == != > >= < <=
function parseLiteral(s) {
  s = s.trim();
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(s) || /^'((?:[^'\\]|\\.)*)'$/.exec(s);
  if (m) return { str: m[1].replace(/\\(.)/g, '$1') };
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(s)) return { num: s };
  if (s === 'true' || s === 'false') return { bool: s === 'true' };
  throw new MilvusError(1100, `cannot parse expression: unsupported literal ${s} (stand-in)`);
}

function splitList(s) {
  const out = [];
  let cur = '';
  let q = null;
  for (const ch of s) {
    if (q) {
      cur += ch;
      if (ch === q) q = null;
    } else if (ch === '"' || ch === "'") {
      q = ch;
      cur += ch;
    } else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur.trim()) out.push(cur);
  return out;
}

function compare(field, value, lit) {
  if (value === null || value === undefined) return null;
  if (lit.str !== undefined) return value < lit.str ? -1 : value > lit.str ? 1 : 0;
  if (lit.bool !== undefined) return (value ? 1 : 0) - (lit.bool ? 1 : 0);
  if (field.data_type === 'Int64' && /^-?\d+$/.test(lit.num)) {
    const a = BigInt(value);
    const b = BigInt(lit.num);
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return Math.sign(Number(value) - Number(lit.num));
}

function compileExpr(c, expr) {
  const e = (expr || '').trim();
  if (!e) return () => true;
  const field = (name) => {
    const f = c.schema.fields.find((x) => x.name === name && !x.is_dynamic);
    if (!f) throw new MilvusError(1100, `cannot parse expression: ${e}, error: field ${name} not exist`);
    return f;
  };
  let m = /^(\w+)\s+(not\s+)?in\s+\[([\s\S]*)\]$/i.exec(e);
  if (m) {
    const f = field(m[1]);
    const neg = !!m[2];
    const lits = splitList(m[3]).map(parseLiteral);
    return (r) => {
      const v = r.vals[f.fieldID];
      const hit = lits.some((l) => compare(f, v, l) === 0);
      return neg ? !hit : hit;
    };
  }
  m = /^(\w+)\s*(==|!=|>=|<=|>|<)\s*(.+)$/.exec(e);
  if (m) {
    const f = field(m[1]);
    const lit = parseLiteral(m[3]);
    const op = m[2];
    return (r) => {
      const x = compare(f, r.vals[f.fieldID], lit);
      if (x === null) return false;
      return { '==': x === 0, '!=': x !== 0, '>': x > 0, '>=': x >= 0, '<': x < 0, '<=': x <= 0 }[op];
    };
  }
  throw new MilvusError(1100, `cannot parse expression: ${e} (the stand-in supports "", "f in [..]" and "f op v")`);
}

// Primary keys named by a Delete expression.
function deletePks(c, expr) {
  const pk = c.schema.fields.find((f) => f.is_primary_key);
  const m = /^\s*(\w+)\s+in\s+\[([\s\S]*)\]\s*$/.exec(expr || '') || /^\s*(\w+)\s*==\s*(.+?)\s*$/.exec(expr || '');
  if (m && m[1] === pk.name) {
    return splitList(m[2]).map(parseLiteral).map((l) => (l.str !== undefined ? l.str : String(BigInt(l.num))));
  }
  return null;
}

function makeService(store, settings, knobs) {
  const importer = new Importer(store);
  let connections = 0;

  const collResponse = (c) => ({
    collectionID: c.id,
    collection_name: c.name,
    db_name: c.dbName,
    db_id: store.db(c.dbName).id,
    schema: Object.assign({}, c.schema, {
      fields: c.schema.fields.filter((f) => !f.is_dynamic),
    }),
    virtual_channel_names: c.vchannels,
    physical_channel_names: c.pchannels,
    created_timestamp: c.createdTs,
    created_utc_timestamp: c.createdUtcMs,
    shards_num: c.shardsNum,
    aliases: [...store.db(c.dbName).aliases].filter(([, v]) => v === c.name).map(([k]) => k),
    start_positions: c.pchannels.map((ch) => ({ key: ch, data: Buffer.alloc(8) })),
    consistency_level: c.consistencyLevel,
    properties: c.properties,
    num_partitions: String(c.partitions.length),
    update_timestamp: c.createdTs,
    update_timestamp_str: c.createdTs,
  });

  const loadCheck = (c) => {
    if (!c.loaded) throw new MilvusError(101, `collection not loaded[collection=${c.id}]`);
  };

  const partIds = (c, names) => {
    if (!names || !names.length) return null;
    return new Set(names.map((n) => store.partition(c, n).id));
  };

  const h = {
    // ------------------------------------------------------------ session
    Connect() {
      connections += 1;
      return {
        server_info: {
          build_tags: settings.version,
          build_time: 'mvbackupfs milvus-standin',
          git_commit: 'standin',
          go_version: 'none (node stand-in)',
          deploy_mode: 'STANDALONE',
          reserved: {},
        },
        identifier: store.ids.alloc(),
      };
    },
    GetVersion() {
      return { version: settings.version };
    },

    // ------------------------------------------------------------ RBAC (Milvus >= 2.5; older
    // versions answer gRPC 12 UNIMPLEMENTED, as a real 2.3 / 2.4 does)
    ...(versionAtLeast(settings.version, 2, 5) ? {
      BackupRBAC() {
        return { RBAC_meta: store.rbac.backup() };
      },
      RestoreRBAC(req) {
        store.rbac.restore(req.RBAC_meta);
        store.scheduleSave();
      },
    } : {}),

    // ------------------------------------------------------------ databases
    ListDatabases() {
      const dbs = [...store.dbs.values()];
      return { db_names: dbs.map((d) => d.name), db_ids: dbs.map((d) => d.id), created_timestamp: dbs.map((d) => d.createdTs) };
    },
    CreateDatabase(req) {
      const name = req.db_name;
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name || '')) throw new MilvusError(802, `invalid database name[database=${name}]`);
      if (store.dbs.has(name)) throw new MilvusError(65535, `database already exist: ${name}`);
      store.addDatabase(name, req.properties || []);
      store.scheduleSave();
    },
    DescribeDatabase(req, ctx) {
      const db = store.db(req.db_name || ctx.db);
      return { db_name: db.name, dbID: db.id, created_timestamp: db.createdTs, properties: db.properties };
    },
    DropDatabase(req) {
      const name = req.db_name;
      if (name === 'default') throw new MilvusError(65535, 'can not drop default database');
      const db = store.dbs.get(name);
      if (!db) return;
      if (db.colls.size) throw new MilvusError(65535, `database:${name} not empty, must drop all collections before drop database`);
      store.dbs.delete(name);
      store.scheduleSave();
    },

    // ------------------------------------------------------------ collections
    ShowCollections(req, ctx) {
      const db = store.db(ctx.db);
      let colls = [...db.colls.values()];
      if (req.collection_names && req.collection_names.length) colls = req.collection_names.map((n) => store.coll(db.name, n));
      return {
        collection_names: colls.map((c) => c.name),
        collection_ids: colls.map((c) => c.id),
        created_timestamps: colls.map((c) => c.createdTs),
        created_utc_timestamps: colls.map((c) => c.createdUtcMs),
        inMemory_percentages: colls.map((c) => (c.loaded ? '100' : '0')),
        query_service_available: colls.map((c) => c.loaded),
        shards_num: colls.map((c) => c.shardsNum),
      };
    },
    HasCollection(req, ctx) {
      const db = store.db(ctx.db);
      return { value: db.colls.has(req.collection_name) };
    },
    CreateCollection(req, ctx) {
      let schema;
      try {
        schema = decodeSchema(req.schema);
      } catch (e) {
        throw new MilvusError(1100, `invalid schema: ${e.message}`);
      }
      store.createCollection(ctx.db, req.collection_name, schema, {
        shardsNum: Number(req.shards_num || 0),
        consistencyLevel: req.consistency_level,
        properties: req.properties || [],
        numPartitions: Number(req.num_partitions || 0),
      });
      store.scheduleSave();
    },
    ...(versionAtLeast(settings.version, 2, 6) ? {
      AddCollectionField(req, ctx) {
        const c = store.coll(ctx.db, req.collection_name);
        let field;
        try {
          field = decodeFieldSchema(req.schema);
        } catch (e) {
          throw new MilvusError(1100, `invalid field schema: ${e.message}`);
        }
        store.addField(c, field);
        store.scheduleSave();
      },
    } : {}),
    AlterCollection(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      const set = new Map(c.properties.map((p) => [p.key, p.value]));
      for (const p of req.properties || []) set.set(p.key, p.value);
      for (const k of req.delete_keys || []) set.delete(k);
      c.properties = [...set].map(([key, value]) => ({ key, value }));
      store.scheduleSave();
    },
    DropCollection(req, ctx) {
      store.dropCollection(ctx.db, req.collection_name);
      store.scheduleSave();
    },
    DescribeCollection(req, ctx) {
      let c;
      if (!req.collection_name && req.collectionID && req.collectionID !== '0') {
        c = store.collById(req.collectionID);
        if (!c) throw new MilvusError(100, `can't find collection[database=${ctx.db}][collection=${req.collectionID}]`);
      } else {
        c = store.coll(ctx.db, req.collection_name);
      }
      const r = collResponse(c);
      const big = knobs.bigResponse;
      if (big && (!big.collection || big.collection === c.name)) {
        r.properties = r.properties.concat([{ key: 'standin.padding', value: 'x'.repeat(big.bytes) }]);
      }
      return r;
    },
    GetCollectionStatistics(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      return { stats: [{ key: 'row_count', value: String(store.statRowCount(c)) }] };
    },
    CreateAlias(req, ctx) {
      const db = store.db(ctx.db);
      const c = store.coll(ctx.db, req.collection_name);
      if (db.colls.has(req.alias)) throw new MilvusError(1601, `alias and collection name conflict[database=${db.name}][alias=${req.alias}]`);
      if (db.aliases.has(req.alias) && db.aliases.get(req.alias) !== c.name) {
        throw new MilvusError(1602, `alias already exist[database=${db.name}][alias=${req.alias}]`);
      }
      db.aliases.set(req.alias, c.name);
      store.scheduleSave();
    },
    DropAlias(req, ctx) {
      const db = store.db(ctx.db);
      db.aliases.delete(req.alias);
      store.scheduleSave();
    },
    ListAliases(req, ctx) {
      const db = store.db(ctx.db);
      let names = [...db.aliases];
      if (req.collection_name) {
        const c = store.coll(ctx.db, req.collection_name);
        names = names.filter(([, v]) => v === c.name);
      }
      return { db_name: db.name, collection_name: req.collection_name, aliases: names.map(([k]) => k) };
    },

    // ------------------------------------------------------------ partitions
    ShowPartitions(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      let parts = c.partitions;
      if (req.partition_names && req.partition_names.length) parts = req.partition_names.map((n) => store.partition(c, n));
      return {
        partition_names: parts.map((p) => p.name),
        partitionIDs: parts.map((p) => p.id),
        created_timestamps: parts.map((p) => p.createdTs),
        created_utc_timestamps: parts.map((p) => p.createdUtcMs),
        inMemory_percentages: parts.map(() => (c.loaded ? '100' : '0')),
      };
    },
    HasPartition(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      return { value: c.partitions.some((p) => p.name === req.partition_name) };
    },
    CreatePartition(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      if (c.schema.fields.some((f) => f.is_partition_key)) throw new MilvusError(1100, 'disable create partition if partition key mode is used');
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(req.partition_name || '')) throw new MilvusError(1100, `invalid partition name: ${req.partition_name}`);
      if (!c.partitions.some((p) => p.name === req.partition_name)) store.addPartition(c, req.partition_name);
      store.scheduleSave();
    },

    // ------------------------------------------------------------ data
    async Insert(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      const partition = req.partition_name ? store.partition(c, req.partition_name) : null;
      const numRows = Number(req.num_rows);
      const byName = new Map((req.fields_data || []).map((fd) => [fd.field_name, fd]));
      const rows = Array.from({ length: numRows }, () => ({ vals: {} }));
      for (const f of c.schema.fields) {
        if (f.is_function_output) continue;
        const fd = byName.get(f.name);
        if (!fd) {
          if (f.nullable || f.default_value) {
            rows.forEach((r) => { r.vals[f.fieldID] = null; });
            continue;
          }
          if (f.is_primary_key && f.autoID) continue;
          throw new MilvusError(1100, `field ${f.name} not passed`);
        }
        const vals = columnValues(fd, f, numRows);
        rows.forEach((r, i) => { r.vals[f.fieldID] = vals[i]; });
      }
      const pk = store.pkField(c);
      if (pk.autoID && !byName.has(pk.name)) {
        const first = store.ids.allocBig(numRows);
        rows.forEach((r, i) => { r.vals[pk.fieldID] = (first + BigInt(i)).toString(); });
      }
      const { ids, ts } = await c.lock.run(() => store.insert(c, partition, rows));
      return {
        IDs: pk.data_type === 'Int64' ? { int_id: { data: ids } } : { str_id: { data: ids } },
        succ_index: ids.map((_, i) => i),
        err_index: [],
        insert_cnt: String(ids.length),
        timestamp: ts,
      };
    },
    async Delete(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      const partition = req.partition_name ? store.partition(c, req.partition_name) : null;
      let pks = deletePks(c, req.expr);
      if (!pks) {
        const match = compileExpr(c, req.expr);
        const parts = partition ? new Set([partition.id]) : null;
        pks = [...store.visibleRows(c, parts)].filter(match).map((r) => String(r.vals[store.pkField(c).fieldID]));
      }
      const { n, ts } = await c.lock.run(() => store.delete(c, partition, pks));
      const pk = store.pkField(c);
      return {
        IDs: pk.data_type === 'Int64' ? { int_id: { data: pks } } : { str_id: { data: pks } },
        delete_cnt: String(n),
        timestamp: ts,
      };
    },
    async Flush(req, ctx) {
      const db = store.db(ctx.db);
      const out = { db_name: db.name, coll_segIDs: {}, flush_coll_segIDs: {}, coll_seal_times: {}, coll_flush_ts: {}, channel_cps: {} };
      for (const name of req.collection_names || []) {
        const c = store.coll(db.name, name);
        const r = await c.lock.run(() => store.flush(c));
        out.coll_segIDs[name] = { data: r.sealed };
        out.flush_coll_segIDs[name] = { data: r.flushed };
        out.coll_seal_times[name] = r.sealTime;
        out.coll_flush_ts[name] = r.flushTs;
        for (const ch of c.vchannels) {
          const msgID = Buffer.alloc(8);
          msgID.writeBigUInt64LE(BigInt(r.flushTs) & 0xffffffffffffffffn);
          out.channel_cps[ch] = { channel_name: ch, msgID, msgGroup: '', timestamp: r.flushTs };
        }
      }
      return out;
    },
    GetFlushState(req, ctx) {
      if (!req.collection_name) {
        // Old clients: segment IDs only.
        for (const db of store.dbs.values()) {
          for (const c of db.colls.values()) {
            if ((req.segmentIDs || []).some((id) => c.segments.some((s) => s.id === String(id)))) {
              return { flushed: store.flushState(c, req.segmentIDs, '') };
            }
          }
        }
        return { flushed: true };
      }
      const c = store.coll(ctx.db, req.collection_name);
      return { flushed: store.flushState(c, req.segmentIDs, String(req.flush_ts || '')) };
    },
    GetPersistentSegmentInfo(req, ctx) {
      const c = store.coll(req.dbName || ctx.db, req.collectionName);
      const v26 = /^v?2\.(\d+)/.exec(settings.version);
      const reportSv = !v26 || Number(v26[1]) >= 6;
      return {
        infos: c.segments.filter((s) => s.state !== 'Importing').map((s) => {
          const info = {
            segmentID: s.id,
            collectionID: c.id,
            partitionID: s.partitionID,
            num_rows: String(s.numRows),
            state: s.state === 'Flushed' ? 'Flushed' : s.state,
            level: s.level,
            is_sorted: false,
          };
          if (reportSv) info.storage_version = String(s.storageVersion);
          return info;
        }),
      };
    },
    async Query(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      loadCheck(c);
      const parts = partIds(c, req.partition_names);
      const out = req.output_fields || [];
      const params = kv(req.query_params);
      if (out.length === 1 && out[0].replace(/\s/g, '').toLowerCase() === 'count(*)') {
        const match = compileExpr(c, req.expr);
        const n = (req.expr || '').trim() ? [...store.visibleRows(c, parts)].filter(match).length : store.countRows(c, parts);
        return {
          fields_data: [{ type: 'Int64', field_name: 'count(*)', scalars: { long_data: { data: [String(n)] } } }],
          collection_name: c.name,
          output_fields: ['count(*)'],
          primary_field_name: store.pkField(c).name,
        };
      }
      if (!(req.expr || '').trim() && !params.limit) {
        throw new MilvusError(1100, 'empty expression should be used with limit');
      }
      const match = compileExpr(c, req.expr);
      let rows = [...store.visibleRows(c, parts)].filter(match);
      const offset = Number(params.offset || 0);
      if (params.limit) rows = rows.slice(offset, offset + Number(params.limit));
      const pk = store.pkField(c);
      let fields;
      if (!out.length || out.includes('*')) fields = c.schema.fields.filter((f) => !f.is_dynamic);
      else {
        fields = out.map((n) => {
          const f = c.schema.fields.find((x) => x.name === n);
          if (!f) throw new MilvusError(1100, `field ${n} not exist`);
          return f;
        });
      }
      if (!fields.includes(pk)) fields.unshift(pk);
      return {
        fields_data: fields.map((f) => toFieldData(f, rows.map((r) => (r.vals[f.fieldID] === undefined ? null : r.vals[f.fieldID])))),
        collection_name: c.name,
        output_fields: fields.map((f) => f.name),
        primary_field_name: pk.name,
      };
    },

    // ------------------------------------------------------------ indexes / load
    CreateIndex(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      const f = c.schema.fields.find((x) => x.name === req.field_name);
      if (!f) throw new MilvusError(1100, `cannot create index on non-exist field: ${req.field_name}`);
      const name = req.index_name || `_default_idx_${f.fieldID}`;
      const params = (req.extra_params || []).map((p) => ({ key: p.key, value: p.value }));
      const existing = c.indexes.find((i) => i.field_name === f.name);
      if (existing) {
        if (existing.index_name === name && JSON.stringify(existing.params) === JSON.stringify(params)) return;
        throw new MilvusError(65535, 'CreateIndex failed: at most one distinct index is allowed per field');
      }
      c.indexes.push({ index_name: name, indexID: store.ids.alloc(), field_name: f.name, fieldID: f.fieldID, params });
      store.scheduleSave();
    },
    DescribeIndex(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      let list = c.indexes;
      if (req.index_name) list = list.filter((i) => i.index_name === req.index_name);
      if (req.field_name) list = list.filter((i) => i.field_name === req.field_name);
      if (!list.length) throw new MilvusError(700, `index not found[collection=${c.name}]`);
      const rows = String(store.statRowCount(c));
      return {
        index_descriptions: list.map((i) => ({
          index_name: i.index_name,
          indexID: i.indexID,
          params: i.params,
          field_name: i.field_name,
          indexed_rows: rows,
          total_rows: rows,
          pending_index_rows: '0',
          state: 'Finished',
          index_state_fail_reason: '',
        })),
      };
    },
    LoadCollection(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      const vec = c.schema.fields.filter((f) => /Vector$/.test(f.data_type));
      const missing = vec.find((f) => !c.indexes.some((i) => i.field_name === f.name));
      if (missing) throw new MilvusError(700, `index not found[collection=${c.name}][field=${missing.name}]`);
      c.loaded = true;
      store.scheduleSave();
    },
    ReleaseCollection(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      c.loaded = false;
      store.scheduleSave();
    },
    GetLoadingProgress(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      partIds(c, req.partition_names);
      return { progress: c.loaded ? '100' : '0', refresh_progress: c.loaded ? '100' : '0' };
    },
    GetLoadState(req, ctx) {
      const c = store.coll(ctx.db, req.collection_name);
      partIds(c, req.partition_names);
      return { state: c.loaded ? 'LoadStateLoaded' : 'LoadStateNotLoad' };
    },

    // ------------------------------------------------------------ import
    Import(req, ctx) {
      const id = importer.start(req.db_name || ctx.db, req);
      return { tasks: [id] };
    },
    GetImportState(req) {
      const t = store.imports.get(String(req.task));
      if (!t) throw new MilvusError(2100, `import job not found[jobID=${req.task}]`);
      return importer.stateResponse(t);
    },
    ListImportTasks(req, ctx) {
      let tasks = [...store.imports.values()];
      if (req.collection_name) {
        const c = store.coll(ctx.db, req.collection_name);
        tasks = tasks.filter((t) => t.collectionID === c.id);
      } else {
        const db = store.db(ctx.db);
        tasks = tasks.filter((t) => t.dbName === db.name);
      }
      const limit = Number(req.limit || 0);
      if (limit > 0) tasks = tasks.slice(-limit);
      return { tasks: tasks.map((t) => Object.assign({ status: { error_code: 'Success', code: 0, reason: '' } }, importer.stateResponse(t))) };
    },
  };
  h.connections = () => connections;
  return h;
}

module.exports = { makeService, compileExpr, deletePks, MsgPosition };
