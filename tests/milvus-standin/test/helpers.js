// Test helpers: run the stand-in as a child process, a raw grpc-js client on the same Milvus
// descriptor (for checks below the SDK: gRPC codes, deadlines, dropped connections), the
// admin endpoint, and polling.
'use strict';

const { spawn } = require('node:child_process');
const path = require('node:path');
const { grpc, packageDefinition } = require('../src/proto');

const MAIN = path.join(__dirname, '..', 'src', 'main.js');

// Starts `node src/main.js` with env added to process.env; resolves {port, admin, proc, stop}.
function startChild(env, logTo) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [MAIN], {
      env: Object.assign({}, process.env, { MILVUS_PORT: '0' }, env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`stand-in did not start: ${err}`)), 30000);
    proc.stderr.on('data', (d) => {
      err += d;
      if (logTo) logTo(String(d));
    });
    proc.stdout.on('data', (d) => {
      out += d;
      const port = /MILVUS_PORT=(\d+)/.exec(out);
      const admin = /STANDIN_ADMIN_URL=(\S+)/.exec(out);
      if (port && admin) {
        clearTimeout(timer);
        resolve({
          port: Number(port[1]),
          admin: admin[1],
          proc,
          stderr: () => err,
          stop: () => new Promise((r) => {
            if (proc.exitCode !== null) return r();
            proc.once('exit', () => r());
            proc.kill('SIGTERM');
          }),
        });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stand-in exited (${code}) during start: ${err}`));
    });
  });
}

function rawClient(port) {
  const Svc = grpc.loadPackageDefinition(packageDefinition).milvus.proto.milvus.MilvusService;
  return new Svc(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 << 20,
  });
}

// One unary call: resolves {err, resp}. meta: {authorization, dbname}; deadlineMs optional.
function rawCall(client, method, req, meta = {}, deadlineMs) {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(meta)) md.set(k, v);
  const opts = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
  return new Promise((resolve) => {
    client[method](req, md, opts, (err, resp) => resolve({ err, resp }));
  });
}

async function admin(url, method, pathName, body) {
  const res = await fetch(url + pathName, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`admin ${pathName}: ${json.error}`);
  return json;
}

async function waitFor(what, fn, timeoutMs = 20000, stepMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

module.exports = { startChild, rawClient, rawCall, admin, waitFor };
