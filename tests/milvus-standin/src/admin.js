// Admin HTTP endpoint (plain HTTP/1.1 on 127.0.0.1, no auth; tests and demos only):
//   GET  /knobs          current knob strings, JSON {"STANDIN_FLUSH_DELAY_MS": "", ...}
//   POST /knobs          JSON {"STANDIN_FAIL_METHOD": "Flush:65535:boom:1", ...}; sets the
//                        named knobs ("" clears one); 400 with the error on a bad value
//   GET  /stats          {"calls": {"Flush": 3, ...}, "errors": {...}, "imports": N}
//   POST /stats/reset    zero the counters
//   GET  /segments?db=D&collection=C   segments of a collection with their binlog keys
//   POST /save           write the state file now
'use strict';

const http = require('node:http');

function startAdmin({ host, port, knobs, stats, store, log }) {
  const send = (res, code, obj) => {
    const body = JSON.stringify(obj, null, 1) + '\n';
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      try {
        if (url.pathname === '/knobs' && req.method === 'GET') return send(res, 200, knobs.raw);
        if (url.pathname === '/knobs' && req.method === 'POST') {
          const set = JSON.parse(body || '{}');
          for (const [k, v] of Object.entries(set)) knobs.set(k, v);
          log(`knobs changed: ${JSON.stringify(set)}`);
          return send(res, 200, knobs.raw);
        }
        if (url.pathname === '/stats' && req.method === 'GET') {
          return send(res, 200, { calls: stats.calls, errors: stats.errors, imports: knobs.importCalls });
        }
        if (url.pathname === '/stats/reset' && req.method === 'POST') {
          stats.calls = {};
          stats.errors = {};
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
