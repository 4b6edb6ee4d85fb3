// Admin HTTP endpoint (plain HTTP/1.1 on 127.0.0.1, no auth; tests and demos only):
//   GET  /knobs          current knob strings, JSON {"STANDIN_FLUSH_DELAY_MS": "", ...}
//   POST /knobs          JSON {"STANDIN_FAIL_METHOD": "Flush:65535:boom:1", ...}; sets the
//                        named knobs ("" clears one); 400 with the error on a bad value
//   GET  /stats          {"calls": {"Flush": 3, ...}, "errors": {...}, "imports": N, "gc": {...}}
//   GET  /calls          the call log, oldest first: [{"seq", "t" (Unix ms), "method",
//                        "query" (management calls), "status" (HTTP status, management calls)}]
//   POST /stats/reset    zero the counters and empty the call log
//
// It also answers Milvus's management API (what Milvus serves on its metrics port 9091), so
// a backup tool's `backup.gcPause.address` can point at this URL:
//   GET  /management/datacoord/garbage_collection/pause?pause_seconds=N[&collection_id=C]
//   GET  /management/datacoord/garbage_collection/resume
// answered like Milvus 2.5 (200 {"msg": "OK"}; 500 {"msg": "failed to pause garbage
// collection, ..."}), counted as the methods "GcPause" / "GcResume", which the
// STANDIN_FAIL_METHOD (code = HTTP status), STANDIN_STALL_METHOD and STANDIN_DROP_METHOD knobs
// also apply to.  Nothing is garbage-collected anyway; the pause is only recorded.
//   GET  /segments?db=D&collection=C   segments of a collection with their binlog keys
//   POST /save           write the state file now
'use strict';

const http = require('node:http');

const MGMT = {
  '/management/datacoord/garbage_collection/pause': 'GcPause',
  '/management/datacoord/garbage_collection/resume': 'GcResume',
};

function startAdmin({ host, port, knobs, stats, store, log }) {
  const send = (res, code, obj) => {
    const body = JSON.stringify(obj, null, 1) + '\n';
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const gc = stats.gc;

  // Milvus's management handlers (internal/proxy/management.go, 2.5): the body is always
  // {"msg": ...}; the resume failure text says "pause" in Milvus too.
  const management = async (req, res, url, method) => {
    const query = Object.fromEntries(url.searchParams);
    const entry = stats.record(method, { query });
    const answer = (code, msg) => {
      entry.status = code;
      if (code !== 200) stats.errors[method] = (stats.errors[method] || 0) + 1;
      const body = JSON.stringify({ msg });
      res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const drop = knobs.take(knobs.dropMethod, method);
    if (drop) {
      log(`dropping the connection of ${method} (STANDIN_DROP_METHOD)`);
      entry.status = 'dropped';
      req.socket.destroy();
      return;
    }
    const stall = knobs.take(knobs.stallMethod, method);
    if (stall) await new Promise((r) => setTimeout(r, stall.ms));
    if (req.socket.destroyed) {
      entry.status = 'gone';
      return;
    }
    const f = knobs.take(knobs.failMethod, method);
    if (f) return answer(f.args.code, `failed to pause garbage collection, ${f.args.reason}`);
    if (method === 'GcPause') {
      const secs = query.pause_seconds;
      if (!/^\d+$/.test(secs || '') || Number(secs) <= 0) {
        return answer(500, `failed to pause garbage collection, pause duration not valid: ${secs || ''}`);
      }
      gc.pauses += 1;
      gc.pausedUntil = Date.now() + Number(secs) * 1000;
      log(`garbage collection paused for ${secs} s`);
    } else {
      gc.resumes += 1;
      gc.pausedUntil = 0;
      log('garbage collection resumed');
    }
    return answer(200, 'OK');
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      try {
        if (MGMT[url.pathname] && req.method === 'GET') {
          return management(req, res, url, MGMT[url.pathname]).catch((e) => {
            log(`${url.pathname}: ${e.stack || e}`);
            if (!res.headersSent) send(res, 500, { msg: String(e.message || e) });
          });
        }
        if (url.pathname === '/knobs' && req.method === 'GET') return send(res, 200, knobs.raw);
        if (url.pathname === '/knobs' && req.method === 'POST') {
          const set = JSON.parse(body || '{}');
          for (const [k, v] of Object.entries(set)) knobs.set(k, v);
          log(`knobs changed: ${JSON.stringify(set)}`);
          return send(res, 200, knobs.raw);
        }
        if (url.pathname === '/stats' && req.method === 'GET') {
          return send(res, 200, {
            calls: stats.calls,
            errors: stats.errors,
            imports: knobs.importCalls,
            gc: { pauses: gc.pauses, resumes: gc.resumes, paused: gc.pausedUntil > Date.now(), pausedUntil: gc.pausedUntil },
          });
        }
        if (url.pathname === '/calls' && req.method === 'GET') return send(res, 200, stats.log);
        if (url.pathname === '/stats/reset' && req.method === 'POST') {
          stats.reset();
          return send(res, 200, {});
        }
        if (url.pathname === '/segments' && req.method === 'GET') {
          const c = store.coll(url.searchParams.get('db') || 'default', url.searchParams.get('collection'));
          return send(res, 200, {
            collectionID: c.id,
            partitions: c.partitions,
            segments: c.segments.map((s) => ({
              id: s.id, partitionID: s.partitionID, level: s.level, state: s.state, numRows: s.numRows,
              deleted: s.deleted.size, storageVersion: s.storageVersion, binlogs: s.binlogs, deltalogs: s.deltalogs,
            })),
          });
        }
        if (url.pathname === '/save' && req.method === 'POST') {
          store.saveNow();
          return send(res, 200, {});
        }
        return send(res, 404, { error: `no such admin endpoint "${req.method} ${url.pathname}"` });
      } catch (e) {
        return send(res, 400, { error: e.message });
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address();
      resolve({ server, url: `http://${host}:${a.port}` });
    });
  });
}

module.exports = { startAdmin };
