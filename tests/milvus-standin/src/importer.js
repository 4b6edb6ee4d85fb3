// Binlog import, as Milvus does it for milvus-backup restores:
// - options backup=true: files = [insertPrefix, deltaPrefix or ""]. Paths are keys in the
//   stand-in's OWN bucket (Milvus cannot read another bucket); nothing there -> the task fails
//   with "no binlog to import". Every immediate child of the insert prefix is one segment
//   directory (<seg>/<field>/<logID>); delta directories are paired with it by basename.
//   Each source segment becomes a new flushed segment of the target collection, rows keep
//   their row IDs and timestamps, and the paired deletes (and end_ts, if given) are applied.
// - options l0_import=true: files = [deltaPrefix]; all delta logs under it become one L0
//   segment of the target (partition -1 when no partition is named) and are applied.
// Task states: ImportPending -> ImportStarted -> ImportCompleted, or ImportFailed with a
// failed_reason. STANDIN_IMPORT_STEP_MS paces the steps; STANDIN_FAIL_IMPORT_NTH fails the
// N-th Import call (1-based, counted over the server's life).
'use strict';

const { MilvusError, cmpId } = require('./store');

function opt(options, key) {
  const kv = (options || []).find((o) => o.key === key);
  return kv ? kv.value : undefined;
}

class Importer {
  constructor(store) {
    this.store = store;
    this.knobs = store.knobs;
  }

  // Validates and queues an import; returns the task ID (string).
  start(dbName, req) {
    const st = this.store;
    const c = st.coll(dbName, req.collection_name);
    let partition = null;
    if (req.partition_name) partition = st.partition(c, req.partition_name);
    const files = req.files || [];
    const backup = String(opt(req.options, 'backup')).toLowerCase() === 'true';
    const l0 = String(opt(req.options, 'l0_import')).toLowerCase() === 'true';
    if (backup && l0) throw new MilvusError(1100, 'backup and l0_import options are mutually exclusive');
    if (!files.length) throw new MilvusError(1100, 'import request is empty');
    if (backup && files.length > 2) throw new MilvusError(1100, `too many input paths for binlog import, valid paths length should be 1 or 2, but got ${files.length}`);
    if (l0 && files.length !== 1) throw new MilvusError(1100, 'there should be one prefix for l0 import');
    this.knobs.importCalls += 1;
    const nth = this.knobs.importCalls;
    const id = st.ids.alloc();
    const task = {
      id,
      dbName: c.dbName,
      collectionName: c.name,
      collectionID: c.id,
      partitionName: partition ? partition.name : '',
      files,
      options: req.options || [],
      state: 'ImportPending',
      progress: 0,
      rowCount: 0,
      segmentIDs: [],
      failedReason: '',
      createTs: st.ids.alloc(),
      createdMs: Date.now(),
    };
    st.imports.set(id, task);
    const inject = this.knobs.failImportNth.has(nth);
    setTimeout(() => {
      task.state = 'ImportStarted';
      task.progress = 10;
      const work = inject
        ? Promise.reject(new Error(`injected failure of import #${nth} (STANDIN_FAIL_IMPORT_NTH)`))
        : c.lock.run(() => this.run(c, partition, task, { backup, l0 }));
      work.then(() => {
        // Keep "Started" visible for one more step, like a real job in flight.
        setTimeout(() => {
          task.state = 'ImportCompleted';
          task.progress = 100;
          st.scheduleSave();
        }, this.knobs.importStepMs);
      }, (e) => {
        task.state = 'ImportFailed';
        task.failedReason = e.message;
        st.log(`import ${id} failed: ${e.message}`);
        st.scheduleSave();
      });
    }, this.knobs.importStepMs);
    st.scheduleSave();
    return id;
  }

  async list(prefix) {
    if (!prefix) return [];
    const p = prefix.endsWith('/') ? prefix : prefix + '/';
    const { objects } = await this.store.s3.list(this.store.bucket, p);
    return objects.map((o) => Object.assign(o, { rel: o.key.slice(p.length) }));
  }

  async run(c, partition, task, mode) {
    const st = this.store;
    const pk = st.pkField(c);
    const endTs = opt(task.options, 'end_ts');
    if (mode.l0) {
      const objs = await this.list(task.files[0]);
      if (!objs.length) throw new Error(`no binlog to import, input=[${task.files.map((f) => `paths:"${f}"`).join(' ')}]`);
      let deltas = await st.readDeltaLogs(st.bucket, objs.map((o) => o.key));
      if (endTs) deltas = deltas.filter((d) => cmpId(d.ts, endTs) <= 0);
      const partID = partition ? partition.id : '-1';
      for (const d of deltas) {
        for (const seg of c.segments) {
          if (seg.level === 'L0' || (partID !== '-1' && seg.partitionID !== partID)) continue;
          const ts = st.segmentPkTs(seg, pk, d.pk);
          if (ts !== null && cmpId(ts, d.ts) < 0) seg.deleted.set(d.pk, d.ts);
        }
      }
      const seg = st.newSegment(c, partID, 'L0', null, deltas);
      await st.writeSegment(c, seg);
      seg.state = 'Flushed';
      task.segmentIDs.push(seg.id);
      task.rowCount = 0;
      return;
    }
    if (!mode.backup) {
      throw new Error('the stand-in only imports milvus-backup binlogs (options backup=true or l0_import=true)');
    }
    if (!partition) {
      if (c.partitions.length !== 1) throw new Error('partition name is required for binlog import into a collection with several partitions');
      partition = c.partitions[0];
    }
    const [insPrefix, delPrefix] = task.files;
    const ins = await this.list(insPrefix);
    if (!ins.length) throw new Error(`no binlog to import, input=[paths:"${insPrefix}" paths:"${delPrefix || ''}"]`);
    const dels = await this.list(delPrefix || '');
    // Group: segment dir -> field dir -> objects.
    const segs = new Map();
    for (const o of ins) {
      const parts = o.rel.split('/');
      if (parts.length !== 3) throw new Error(`unexpected binlog path "${o.key}" (want <segment>/<field>/<log>)`);
      const [segDir, fieldDir] = parts;
      if (!segs.has(segDir)) segs.set(segDir, {});
      const m = segs.get(segDir);
      (m[fieldDir] = m[fieldDir] || []).push(o);
    }
    const delBySeg = new Map();
    for (const o of dels) {
      const segDir = o.rel.split('/')[0];
      (delBySeg.get(segDir) || delBySeg.set(segDir, []).get(segDir)).push(o.key);
    }
    const created = [];
    try {
      await this.importSegments(c, partition, task, segs, delBySeg, endTs, created);
    } catch (e) {
      c.segments = c.segments.filter((s) => !created.includes(s));
      throw e;
    }
  }

  async importSegments(c, partition, task, segs, delBySeg, endTs, created) {
    const st = this.store;
    const pk = st.pkField(c);
    const need = c.schema.fields.filter((f) => !f.is_function_output);
    let total = 0;
    let done = 0;
    for (const [segDir, byField] of segs) {
      let { rows, present } = await st.readInsertLogs(st.bucket, byField);
      for (const f of need) {
        if (!present.has(f.fieldID) && !(f.nullable || f.default_value || f.is_dynamic)) {
          throw new Error(`field "${f.name}" (id ${f.fieldID}) not found in the binlogs of segment ${segDir}`);
        }
      }
      if (endTs) rows = rows.filter((r) => cmpId(r.ts, endTs) <= 0);
      const deltas = delBySeg.has(segDir) ? await st.readDeltaLogs(st.bucket, delBySeg.get(segDir)) : [];
      if (deltas.length) {
        const del = new Map();
        for (const d of deltas) if (!endTs || cmpId(d.ts, endTs) <= 0) del.set(d.pk, d.ts);
        rows = rows.filter((r) => {
          const t = del.get(String(r.vals[pk.fieldID]));
          return t === undefined || cmpId(r.ts, t) >= 0;
        });
      }
      for (const r of rows) {
        for (const f of need) if (!(f.fieldID in r.vals)) r.vals[f.fieldID] = f.is_dynamic ? Buffer.from('{}') : null;
        for (const k of Object.keys(r.vals)) if (!need.some((f) => f.fieldID === k)) delete r.vals[k];
      }
      if (rows.length) {
        const seg = st.newSegment(c, partition.id, 'L1', rows);
        seg.state = 'Importing';
        created.push(seg);
        await st.writeSegment(c, seg);
      }
      total += rows.length;
      done += 1;
      task.progress = 10 + Math.floor((80 * done) / segs.size);
    }
    for (const seg of created) seg.state = 'Flushed';
    task.segmentIDs = created.map((s) => s.id);
    task.rowCount = total;
  }

  // GetImportStateResponse for one task.
  stateResponse(task) {
    return {
      state: task.state,
      row_count: String(task.rowCount),
      id_list: [],
      infos: [
        { key: 'collection', value: task.collectionName },
        { key: 'partition', value: task.partitionName },
        { key: 'files', value: task.files.join(',') },
        { key: 'progress_percent', value: String(task.progress) },
        { key: 'failed_reason', value: task.failedReason },
      ],
      id: task.id,
      collection_id: task.collectionID,
      segment_ids: task.segmentIDs,
      create_ts: String(Math.floor(task.createdMs / 1000)),
    };
  }
}

module.exports = { Importer };
