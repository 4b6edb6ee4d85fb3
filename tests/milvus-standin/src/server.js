// Builds the stand-in: grpc-js server with the real MilvusService definition, every unary
// method wrapped with (in this order) call counting, the fault knobs (drop / stall / fail),
// authentication, database selection and Milvus-style error statuses.
'use strict';

const fs = require('node:fs');

const { grpc, serviceDefinition, methodNames, returnsBareStatus, isUnary } = require('./proto');
const { readSettings, Knobs } = require('./config');
const { Allocator } = require('./ids');
const { S3Client } = require('./s3');
const { Store, MilvusError } = require('./store');
const { makeService } = require('./service');
const { startAdmin } = require('./admin');

const OK = { error_code: 'Success', reason: '', code: 0, retriable: false, detail: '' };

// Milvus's legacy error_code for a few merr codes; everything else is UnexpectedError.
function legacyErrorCode(code) {
  return { 100: 'CollectionNotExists', 700: 'IndexNotExist', 8: 'RateLimit' }[code] || 'UnexpectedError';
}

function milvusStatus(code, reason) {
  return { error_code: legacyErrorCode(code), reason, code, retriable: false, detail: reason };
}

function md1(call, key) {
  const v = call.metadata.get(key);
  return v.length ? String(v[0]) : '';
}

// The http2 stream of a server call, to kill it (STANDIN_DROP_METHOD).
function streamOf(call) {
  let c = call.call;
  for (let i = 0; c && i < 10; i++) {
    if (c.stream) return c.stream;
    c = c.nextCall;
  }
  return null;
}

// Call counters, the call log (bounded) and the GC pause state of the management API.
const CALL_LOG_MAX = 20000;
function makeStats() {
  const stats = {
    calls: {},
    errors: {},
    log: [],
    seq: 0,
    gc: { pauses: 0, resumes: 0, pausedUntil: 0 },
    // count a call and append it to the log; returns the log entry (callers may add to it)
    record(method, extra) {
      stats.calls[method] = (stats.calls[method] || 0) + 1;
      stats.seq += 1;
      const e = Object.assign({ seq: stats.seq, t: Date.now(), method }, extra || {});
      stats.log.push(e);
      if (stats.log.length > CALL_LOG_MAX) stats.log.splice(0, stats.log.length - CALL_LOG_MAX);
      return e;
    },
    reset() {
      stats.calls = {};
      stats.errors = {};
      stats.log = [];
      stats.gc.pauses = 0;
      stats.gc.resumes = 0;
    },
  };
  return stats;
}

// Cleartext, TLS (STANDIN_TLS_CERT + STANDIN_TLS_KEY), or mutual TLS (and STANDIN_TLS_CLIENT_CA:
// a client certificate signed by that CA is required and verified).
function serverCredentials(settings) {
  if (!settings.tlsCert && !settings.tlsKey) {
    if (settings.tlsClientCa) throw new Error('STANDIN_TLS_CLIENT_CA needs STANDIN_TLS_CERT and STANDIN_TLS_KEY');
    return grpc.ServerCredentials.createInsecure();
  }
  if (!settings.tlsCert || !settings.tlsKey) throw new Error('TLS needs both STANDIN_TLS_CERT and STANDIN_TLS_KEY');
  const read = (f) => fs.readFileSync(f);
  const ca = settings.tlsClientCa ? read(settings.tlsClientCa) : null;
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: read(settings.tlsCert), private_key: read(settings.tlsKey) }], !!ca);
}

function tlsDescription(settings) {
  if (!settings.tlsCert) return 'off';
  return settings.tlsClientCa ? 'mutual' : 'on';
}

async function startStandin(env = process.env, opts = {}) {
  const settings = readSettings(env);
  const knobs = new Knobs(settings, env);
  const log = opts.log || ((msg) => process.stderr.write(`milvus-standin: ${msg}\n`));
  const s3 = new S3Client({
    endpoint: env.S3_ENDPOINT,
    accessKey: env.AWS_ACCESS_KEY_ID,
    secretKey: env.AWS_SECRET_ACCESS_KEY,
    region: env.S3_REGION || env.AWS_DEFAULT_REGION || env.AWS_REGION || 'us-east-1',
  });
  await s3.ensureBucket(settings.bucket);
  const ids = new Allocator();
  const store = new Store({ s3, settings, knobs, ids, log });
  const loaded = await store.load();
  if (!loaded) store.addDatabase('default');
  const handlers = makeService(store, settings, knobs);
  const stats = makeStats();

  const wrap = (method) => (call, callback) => {
    stats.record(method);
    const bare = returnsBareStatus(method);
    const reply = (resp) => callback(null, resp);
    const fail = (code, reason) => {
      stats.errors[method] = (stats.errors[method] || 0) + 1;
      const st = milvusStatus(code, reason);
      reply(bare ? st : { status: st });
    };
    const run = async () => {
      const drop = knobs.take(knobs.dropMethod, method);
      if (drop) {
        log(`dropping the connection of ${method} (STANDIN_DROP_METHOD)`);
        const stream = streamOf(call);
        if (stream && stream.session) stream.session.destroy();
        else if (stream) stream.close(2);
        return;
      }
      const stall = knobs.take(knobs.stallMethod, method);
      if (stall) await new Promise((r) => setTimeout(r, stall.ms));
      if (call.cancelled) return;
      if (settings.auth) {
        const tok = md1(call, 'authorization');
        if (!tok) {
          callback({ code: grpc.status.UNAUTHENTICATED, details: 'missing authorization in header' });
          return;
        }
        if (Buffer.from(tok, 'base64').toString('utf8') !== settings.auth) {
          callback({ code: grpc.status.UNAUTHENTICATED, details: 'auth check failure, please check username and password are correct' });
          return;
        }
      }
      const f = knobs.take(knobs.failMethod, method);
      if (f) {
        if (f.args.grpc) callback({ code: f.args.code, details: f.args.reason });
        else fail(f.args.code, f.args.reason);
        return;
      }
      const handler = handlers[method];
      if (!handler) {
        callback({ code: grpc.status.UNIMPLEMENTED, details: `Method ${method} is not implemented by the milvus stand-in` });
        return;
      }
      const req = call.request || {};
      const ctx = { db: (typeof req.db_name === 'string' && req.db_name) || md1(call, 'dbname') || 'default', call };
      try {
        const resp = await handler(req, ctx);
        if (bare) reply(OK);
        else reply(Object.assign({ status: OK }, resp || {}));
      } catch (e) {
        if (e instanceof MilvusError) {
          if (settings.verbose) log(`${method}: ${e.milvusCode} ${e.message}`);
          fail(e.milvusCode, e.message);
        } else if (e && e.milvusCode) {
          fail(e.milvusCode, e.message);
        } else {
          log(`${method} failed: ${e && e.stack ? e.stack : e}`);
          fail(65535, String(e && e.message ? e.message : e));
        }
      }
    };
    run().catch((e) => {
      log(`${method}: ${e.stack || e}`);
      try {
        callback({ code: grpc.status.INTERNAL, details: String(e.message || e) });
      } catch (e2) {
        // the call is gone already
      }
    });
  };

  const impl = {};
  for (const m of methodNames) if (isUnary(m)) impl[m] = wrap(m);
  const server = new grpc.Server({
    'grpc.max_send_message_length': 256 << 20,
    'grpc.max_receive_message_length': 256 << 20,
  });
  // libcurl 7.88 sends RST_STREAM after every finished stream; Node's http2 counts those and
  // sends GOAWAY after 1000 (maxSessionInvalidFrames). Real Milvus (grpc-go) does not.
  if (server.commonServerOptions) server.commonServerOptions.maxSessionInvalidFrames = 2 ** 31 - 1;
  server.addService(serviceDefinition, impl);
  const port = await new Promise((resolve, reject) => {
    server.bindAsync(`${settings.host}:${settings.port}`, serverCredentials(settings), (err, p) => (err ? reject(err) : resolve(p)));
  });
  let admin = null;
  if (settings.adminPort !== 'off') {
    admin = await startAdmin({ host: settings.host, port: Number(settings.adminPort), knobs, stats, store, log });
  }
  const close = async () => {
    if (admin) await new Promise((r) => admin.server.close(r));
    store.saveNow();
    server.forceShutdown();
  };
  return { port, adminUrl: admin ? admin.url : '', settings, knobs, store, stats, close };
}

module.exports = { startStandin, tlsDescription };
