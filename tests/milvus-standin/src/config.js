// Configuration of the stand-in: fixed settings read once from the environment, and fault /
// behaviour knobs that can also be changed at run time through the admin HTTP endpoint
// (admin.js). Knob values use the same strings as the environment variables.
'use strict';

// Fixed settings (read at start).
function readSettings(env = process.env) {
  const version = env.MILVUS_VERSION || 'v2.5.14';
  return {
    port: Number(env.MILVUS_PORT || 19530),
    host: env.MILVUS_HOST || '127.0.0.1',
    version,
    auth: env.MILVUS_AUTH || '',
    bucket: env.MILVUS_BUCKET || 'milvus-bucket',
    rootPath: env.MILVUS_ROOT_PATH === undefined ? 'files' : env.MILVUS_ROOT_PATH.replace(/^\/+|\/+$/g, ''),
    stateFile: env.MILVUS_STATE_FILE || '',
    adminPort: env.STANDIN_ADMIN_PORT === undefined ? 0 : env.STANDIN_ADMIN_PORT,
    portFile: env.STANDIN_PORT_FILE || '',
    verbose: env.STANDIN_VERBOSE === '1',
    // TLS: server certificate and key (PEM files); with a client CA, mutual TLS
    tlsCert: env.STANDIN_TLS_CERT || '',
    tlsKey: env.STANDIN_TLS_KEY || '',
    tlsClientCa: env.STANDIN_TLS_CLIENT_CA || '',
  };
}

// Milvus 2.6 writes storage v2 (column groups) by default, 2.5 storage v1.
function versionAtLeast(version, major, minor, patch = 0) {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version || '');
  if (!m) return false;
  const v = [Number(m[1]), Number(m[2]), Number(m[3] || 0)];
  const w = [major, minor, patch];
  for (let i = 0; i < 3; i++) if (v[i] !== w[i]) return v[i] > w[i];
  return true;
}

const KNOB_NAMES = [
  'STANDIN_FLUSH_DELAY_MS',
  'STANDIN_FAIL_IMPORT_NTH',
  'STANDIN_FAIL_METHOD',
  'STANDIN_DROP_METHOD',
  'STANDIN_STALL_METHOD',
  'STANDIN_BIG_RESPONSE',
  'STANDIN_IMPORT_STEP_MS',
  'STANDIN_SEGMENT_MAX_ROWS',
  'STANDIN_BINLOG_MAX_ROWS',
  'STANDIN_L0_COMPACTION',
  'STANDIN_STORAGE_VERSION',
];

function parseSizeBytes(s) {
  const m = /^(\d+)\s*([kKmMgG]i?[bB]?)?$/.exec(String(s).trim());
  if (!m) throw new Error(`bad size "${s}"`);
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] || '').charAt(0).toLowerCase()] || 1;
  return Number(m[1]) * mult;
}

// "Name:a:b[:count]" specs separated by ';'.  Returns [{method, args: [...], remaining}].
function parseSpecs(s, nargs, name) {
  if (!s) return [];
  return s.split(';').map((x) => x.trim()).filter(Boolean).map((spec) => {
    const parts = spec.split(':');
    if (!parts[0]) throw new Error(`${name}: method name missing in "${spec}"`);
    const method = parts[0];
    const rest = parts.slice(1);
    let args;
    let remaining = Infinity;
    if (nargs === 'reason') {
      // Name:code:reason[:count] -- reason may itself contain ':', count is a trailing integer
      // only when there are 4+ parts and the last one is all digits.
      if (rest.length < 1) throw new Error(`${name}: "${spec}" needs Name:code[:reason[:count]]`);
      let code = rest[0];
      let grpc = false;
      let tail = rest.slice(1);
      if (code === 'grpc') { grpc = true; code = tail[0]; tail = tail.slice(1); }
      if (!/^\d+$/.test(code || '')) throw new Error(`${name}: bad code in "${spec}"`);
      if (tail.length >= 2 && /^\d+$/.test(tail[tail.length - 1])) {
        remaining = Number(tail[tail.length - 1]);
        tail = tail.slice(0, -1);
      }
      args = { code: Number(code), grpc, reason: tail.join(':') || 'injected failure (stand-in)' };
    } else {
      args = rest.slice(0, nargs);
      if (rest.length > nargs) remaining = Number(rest[nargs]);
      if (!Number.isFinite(remaining) && remaining !== Infinity) throw new Error(`${name}: bad count in "${spec}"`);
    }
    return { method, args, remaining };
  });
}

class Knobs {
  constructor(settings, env = process.env) {
    this.settings = settings;
    this.raw = {};
    for (const n of KNOB_NAMES) this.set(n, env[n] === undefined ? '' : env[n]);
    this.importCalls = 0;
  }

  // Set one knob from its string form (throws on a bad value, leaving the old value).
  set(name, value) {
    const v = value === undefined || value === null ? '' : String(value);
    const saved = Object.assign({}, this);
    try {
      this.setUnchecked(name, v);
    } catch (e) {
      Object.assign(this, saved);
      throw e;
    }
    this.raw[name] = v;
  }

  setUnchecked(name, v) {
    switch (name) {
      case 'STANDIN_FLUSH_DELAY_MS': this.flushDelayMs = Number(v || 0); break;
      case 'STANDIN_FAIL_IMPORT_NTH':
        this.failImportNth = new Set(v.split(',').map((x) => x.trim()).filter(Boolean).map(Number));
        break;
      case 'STANDIN_FAIL_METHOD': this.failMethod = parseSpecs(v, 'reason', name); break;
      case 'STANDIN_DROP_METHOD':
        this.dropMethod = parseSpecs(v, 0, name);
        break;
      case 'STANDIN_STALL_METHOD':
        this.stallMethod = parseSpecs(v, 1, name).map((s) => {
          if (!/^\d+$/.test(s.args[0] || '')) throw new Error(`${name}: "${s.method}" needs Name:ms[:count]`);
          return { method: s.method, ms: Number(s.args[0]), remaining: s.remaining };
        });
        break;
      case 'STANDIN_BIG_RESPONSE': {
        // "bytes[:collection]": pad DescribeCollection answers with a property of that size.
        if (!v) { this.bigResponse = null; break; }
        const [size, coll] = v.split(':');
        this.bigResponse = { bytes: parseSizeBytes(size), collection: coll || '' };
        break;
      }
      case 'STANDIN_IMPORT_STEP_MS': this.importStepMs = Number(v || 100); break;
      case 'STANDIN_SEGMENT_MAX_ROWS': this.segmentMaxRows = Number(v || 100000); break;
      case 'STANDIN_BINLOG_MAX_ROWS': this.binlogMaxRows = Number(v || 20000); break;
      case 'STANDIN_L0_COMPACTION': this.l0Compaction = v !== '0' && v !== 'false'; break;
      case 'STANDIN_STORAGE_VERSION':
        this.storageVersion = v === '' ? (versionAtLeast(this.settings.version, 2, 6) ? 2 : 0) : Number(v);
        if (![0, 1, 2].includes(this.storageVersion)) throw new Error(`${name}: must be 0, 1 or 2`);
        break;
      default: throw new Error(`unknown knob "${name}"`);
    }
    for (const k of ['flushDelayMs', 'importStepMs', 'segmentMaxRows', 'binlogMaxRows']) {
      if (this[k] !== undefined && !(this[k] >= 0)) throw new Error(`${name}: bad number "${v}"`);
    }
  }

  // The matching spec for a method, consuming one use; null when none applies.
  take(list, method) {
    const s = (list || []).find((x) => x.method === method && x.remaining > 0);
    if (!s) return null;
    s.remaining -= 1;
    return s;
  }
}

module.exports = { readSettings, Knobs, KNOB_NAMES, versionAtLeast, parseSizeBytes };
