#!/usr/bin/env node
// validate.js -- check a backup on S3 against milvus-backup's format (spec
// milvus-backup-format.md §1-§2, as written by milvus-backup main / v0.5.13+), independently of
// mvbackupfs's C code.
//
//   node tests/snapshot/validate.js --bucket B --prefix backup/NAME [options]
//
//   --bucket B            the backup bucket
//   --prefix P            the backup directory (<backupRootPath>/<name>), no trailing slash
//   --milvus-bucket MB    also check that every binlog's log_path exists in the Milvus bucket
//                         with the same size and ETag as its copy (byte-for-byte evidence)
//   --expect FILE         TSV "db<TAB>collection<TAB>rows" (populate.js output): the backup must
//                         hold exactly these collections, with Σ num_of_rows of their non-L0
//                         segments equal to rows
//   --quiet               print only violations
// S3 from the environment: S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, S3_REGION.
//
// What is checked:
//   * all five meta files exist and parse (with a JSON reader that keeps every integer exact:
//     integers become BigInt, so a 64-bit ID is never rounded through a double)
//   * keys and encodings of §2.1/§2.3: known keys only (snake_case, with the proto's own
//     camelCase `fieldID` / `autoID`), integers where the proto has integers (enums too),
//     booleans, strings; zero values omitted except the always-written keys (size, log_size,
//     has_index, state_code, ...), which must be present; no duplicate keys
//   * every binlog named in full_meta.json exists in the bucket at the path rebuilt from the IDs
//     (§1.3: insert_log/<c>/<p>/<group>/<seg>/<field>/<logid>, delta_log with the L0 rules),
//     with exactly its recorded log_size; no object under binlogs/ that the meta does not name
//   * sizes: segment = Σ log_size, partition = Σ segments, collection = Σ partitions (+ the
//     all-partition L0 segments), backup = Σ collections
//   * backup_meta / collection_meta / partition_meta / segment_meta are consistent with
//     full_meta.json (the v0.5.13+ split), and full_meta.json was written last
// Exit status: 0 when no violation, 1 with the list of violations, 2 on usage or I/O errors.
'use strict';

const path = require('node:path');
const fs = require('node:fs');
const { S3Client, s3FromEnv } = require(path.join(__dirname, '..', 'milvus-standin', 'src', 's3.js'));

// ------------------------------------------------------------------------ exact JSON reader

// Parses JSON text; integers (no fraction, no exponent) become BigInt, other numbers Number.
// Objects are plain objects; a duplicate key is recorded in `dups` (path list).
function parseExact(text, dups = []) {
  let i = 0;
  const n = text.length;
  const fail = (msg) => { throw new Error(`${msg} at offset ${i}`); };
  const ws = () => { while (i < n && ' \t\r\n'.includes(text[i])) i++; };
  function str() {
    let s = '';
    i++; // opening quote
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text[i++];
      if (c === '"') return s;
      if (c === '\\') {
        const e = text[i++];
        if (e === 'u') {
          const h = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape');
          s += String.fromCharCode(parseInt(h, 16));
          i += 4;
        } else if ('"\\/bfnrt'.includes(e)) {
          s += { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
        } else fail('bad escape');
      } else if (c < ' ') fail('control character in string');
      else s += c;
    }
  }
  function value(where) {
    ws();
    if (i >= n) fail('unexpected end');
    const c = text[i];
    if (c === '{') {
      i++;
      const o = {};
      ws();
      if (text[i] === '}') { i++; return o; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const k = str();
        ws();
        if (text[i++] !== ':') fail('expected ":"');
        if (Object.prototype.hasOwnProperty.call(o, k)) dups.push(`${where}.${k}`);
        Object.defineProperty(o, k, { value: value(`${where}.${k}`), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return o; }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const a = [];
      ws();
      if (text[i] === ']') { i++; return a; }
      for (;;) {
        a.push(value(`${where}[${a.length}]`));
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return a; }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m && m[0].length) {
      i += m[0].length;
      return m[2] || m[3] ? Number(m[0]) : BigInt(m[0]);
    }
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(lit, i)) { i += lit.length; return v; }
    }
    fail('unexpected character');
    return undefined;
  }
  const v = value('$');
  ws();
  if (i !== n) fail('trailing characters');
  return v;
}

// ------------------------------------------------------------------------------- schema

// Types: 'i64' any JSON integer, 'int' (enum / int32: integer), 'str', 'bool', 'map'
// (string -> string object), 'any' (not checked), ['arr', T], ['msg', Name].
const KV = { key: 'str', value: 'str' };
const T = {
  BackupInfo: {
    id: 'str', state_code: 'int', name: 'str', backup_timestamp: 'i64',
    collection_backups: ['arr', ['msg', 'CollectionBackupInfo']], size: 'i64', milvus_version: 'str',
    rbac_meta: 'any', rpc_channel_info: 'any', database_backups: ['arr', ['msg', 'DatabaseBackupInfo']],
    flush_all_msgs_base64: 'map', control_channel_name: 'str', physical_channel_names: ['arr', 'str'],
    format: 'str',
  },
  DatabaseBackupInfo: { db_name: 'str', db_id: 'i64', properties: ['arr', ['msg', 'KV']], ezk: 'str' },
  CollectionBackupInfo: {
    id: 'str', collection_id: 'i64', db_name: 'str', collection_name: 'str',
    schema: ['msg', 'CollectionSchema'], shards_num: 'int', consistency_level: 'int',
    partition_backups: ['arr', ['msg', 'PartitionBackupInfo']], backup_timestamp: 'i64', size: 'i64',
    has_index: 'bool', index_infos: ['arr', ['msg', 'IndexInfo']], load_state: 'str',
    backup_physical_timestamp: 'i64', channel_checkpoints: 'map',
    l0_segments: ['arr', ['msg', 'SegmentBackupInfo']], properties: ['arr', ['msg', 'KV']], db_id: 'i64',
    created_timestamp: 'i64', virtual_channel_names: ['arr', 'str'], physical_channel_names: ['arr', 'str'],
    aliases: ['arr', 'str'], snapshot_backup: 'any',
  },
  PartitionBackupInfo: {
    partition_id: 'i64', partition_name: 'str', collection_id: 'i64',
    segment_backups: ['arr', ['msg', 'SegmentBackupInfo']], size: 'i64', load_state: 'str',
  },
  SegmentBackupInfo: {
    segment_id: 'i64', collection_id: 'i64', partition_id: 'i64', num_of_rows: 'i64',
    binlogs: ['arr', ['msg', 'FieldBinlog']], statslogs: ['arr', ['msg', 'FieldBinlog']],
    deltalogs: ['arr', ['msg', 'FieldBinlog']], size: 'i64', group_id: 'i64', is_l0: 'bool',
    v_channel: 'str', storage_version: 'i64',
  },
  FieldBinlog: { fieldID: 'i64', binlogs: ['arr', ['msg', 'Binlog']] },
  Binlog: {
    entries_num: 'i64', timestamp_from: 'i64', timestamp_to: 'i64', log_path: 'str', log_size: 'i64',
    log_id: 'i64',
  },
  IndexInfo: {
    field_name: 'str', index_name: 'str', index_type: 'str', params: 'map', index_id: 'i64',
    field_id: 'i64', create_time: 'i64', type_params: 'any', index_params: 'any', user_index_params: 'any',
    is_auto_index: 'bool', min_index_version: 'i64', max_index_version: 'i64',
  },
  CollectionSchema: {
    name: 'str', description: 'str', autoID: 'bool', fields: ['arr', ['msg', 'FieldSchema']],
    enable_dynamic_field: 'bool', properties: ['arr', ['msg', 'KV']], functions: ['arr', 'any'],
    struct_array_fields: ['arr', 'any'],
  },
  FieldSchema: {
    fieldID: 'i64', name: 'str', is_primary_key: 'bool', description: 'str', data_type: 'int',
    type_params: ['arr', ['msg', 'KV']], index_params: ['arr', ['msg', 'KV']], autoID: 'bool', state: 'int',
    element_type: 'int', default_value: 'any', is_dynamic: 'bool', is_partition_key: 'bool', nullable: 'bool',
    default_value_proto: 'str', is_function_output: 'bool', default_value_base64: 'str',
  },
  KV,
};
// Keys written with a zero value too (tags edited by milvus-backup's gen_proto.sh).
const ALWAYS = new Set(['size', 'log_size', 'meta_size', 'has_index', 'state_code', 'progress', 'data']);
// Keys that must be present, per message (main).
const REQUIRED = {
  BackupInfo: ['state_code', 'size', 'id', 'name'],
  CollectionBackupInfo: ['size', 'has_index', 'collection_id', 'collection_name'],
  PartitionBackupInfo: ['size', 'partition_id'],
  SegmentBackupInfo: ['size', 'segment_id', 'collection_id', 'partition_id'],
  Binlog: ['log_size', 'log_id', 'log_path'],
};
// Keys only older milvus-backup versions wrote (≤ v0.5.9): tolerated with a warning.
const OLD = {
  BackupInfo: { errorMessage: 'str', start_time: 'i64', end_time: 'i64', progress: 'int', meta_size: 'i64' },
  CollectionBackupInfo: { state_code: 'int', errorMessage: 'str', start_time: 'i64', end_time: 'i64', progress: 'int' },
  SegmentBackupInfo: { backuped: 'bool' },
};

function isZero(v) {
  if (v === 0n || v === 0 || v === false || v === '' || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  return false;
}

function checkMsg(v, name, where, out) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    out.violations.push(`${where}: expected a ${name} object`);
    return;
  }
  const spec = T[name];
  const old = OLD[name] || {};
  if (name === 'FieldBinlog' && Object.keys(v).length === 0) {
    out.warnings.push(`${where}: empty FieldBinlog {} (written by milvus-backup only for old Milvus)`);
  }
  for (const k of REQUIRED[name] || []) {
    if (!(k in v)) out.violations.push(`${where}: required key "${k}" missing`);
  }
  for (const [k, val] of Object.entries(v)) {
    let t = spec[k];
    if (!t && old[k]) {
      out.warnings.push(`${where}.${k}: key only written by milvus-backup <= v0.5.9`);
      t = old[k];
    }
    if (!t) {
      out.violations.push(`${where}: unknown key "${k}"`);
      continue;
    }
    if (!ALWAYS.has(k) && isZero(val) && name !== 'KV') {
      out.violations.push(`${where}.${k}: zero value written (${fmt(val)}); encoding/json omitempty leaves it out`);
    }
    if (ALWAYS.has(k) && val === null) out.violations.push(`${where}.${k}: null`);
    checkType(val, t, `${where}.${k}`, out);
  }
}

function fmt(v) {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.length ? '[...]' : '[]';
  if (v && typeof v === 'object') return '{...}';
  return JSON.stringify(v);
}

function checkType(val, t, where, out) {
  if (t === 'any') return;
  if (Array.isArray(t)) {
    if (t[0] === 'msg') return checkMsg(val, t[1], where, out);
    if (!Array.isArray(val)) return out.violations.push(`${where}: expected an array, got ${fmt(val)}`);
    val.forEach((x, idx) => checkType(x, t[1], `${where}[${idx}]`, out));
    return undefined;
  }
  switch (t) {
    case 'i64':
    case 'int':
      if (typeof val !== 'bigint') {
        out.violations.push(`${where}: expected a JSON integer, got ${typeof val === 'string' ? 'the string ' : ''}${fmt(val)}`);
      } else if (val > 18446744073709551615n || val < -9223372036854775808n) {
        out.violations.push(`${where}: ${val} does not fit 64 bits`);
      } else if (t === 'int' && (val > 2147483647n || val < -2147483648n)) {
        out.violations.push(`${where}: ${val} does not fit an enum/int32`);
      }
      return undefined;
    case 'str':
      if (typeof val !== 'string') out.violations.push(`${where}: expected a string, got ${fmt(val)}`);
      return undefined;
    case 'bool':
      if (typeof val !== 'boolean') out.violations.push(`${where}: expected a boolean, got ${fmt(val)}`);
      return undefined;
    case 'map':
      if (!val || typeof val !== 'object' || Array.isArray(val)) {
        out.violations.push(`${where}: expected an object (map), got ${fmt(val)}`);
      } else {
        for (const [k, x] of Object.entries(val)) {
          if (typeof x !== 'string') out.violations.push(`${where}.${k}: map value is not a string`);
        }
      }
      return undefined;
    default:
      throw new Error(`schema type ${t}`);
  }
}

// ------------------------------------------------------------------------------ helpers

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
}

// First difference between two trees, as a path (for messages).
function firstDiff(a, b, where = '$') {
  if (deepEqual(a, b)) return null;
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a) && a.length !== b.length) return `${where}: ${a.length} vs ${b.length} entries`;
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      if (!(k in a)) return `${where}.${k}: only in the second`;
      if (!(k in b)) return `${where}.${k}: only in the first`;
      const d = firstDiff(a[k], b[k], Array.isArray(a) ? `${where}[${k}]` : `${where}.${k}`);
      if (d) return d;
    }
  }
  return `${where}: ${fmt(a)} vs ${fmt(b)}`;
}

function omit(o, keys) {
  const r = {};
  for (const [k, v] of Object.entries(o)) if (!keys.includes(k)) r[k] = v;
  return r;
}

const big = (v) => (typeof v === 'bigint' ? v : 0n);

// Listing with sizes, ETags and LastModified (s3.js's list() has no ETag).
async function listAll(s3, bucket, prefix) {
  const out = new Map();
  let token = null;
  for (;;) {
    const query = { 'list-type': '2', prefix };
    if (token) query['continuation-token'] = token;
    const res = await s3.request('GET', bucket, '', { query });
    const xml = await res.text();
    const tag = (s, t) => {
      const m = new RegExp(`<${t}>([\\s\\S]*?)</${t}>`).exec(s);
      return m ? m[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&apos;/g, "'") : null;
    };
    for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      out.set(tag(m[1], 'Key'), {
        size: Number(tag(m[1], 'Size')),
        etag: (tag(m[1], 'ETag') || '').replace(/"/g, ''),
        mtime: Date.parse(tag(m[1], 'LastModified') || '') || 0,
      });
    }
    if (tag(xml, 'IsTruncated') !== 'true') break;
    token = tag(xml, 'NextContinuationToken');
    if (!token) break;
  }
  return out;
}

function parseArgs(argv) {
  const o = { bucket: '', prefix: '', milvusBucket: '', expect: '', quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--bucket') o.bucket = val();
    else if (a === '--prefix') o.prefix = val().replace(/\/+$/, '');
    else if (a === '--milvus-bucket') o.milvusBucket = val();
    else if (a === '--expect') o.expect = val();
    else if (a === '--quiet') o.quiet = true;
    else throw new Error(`unknown option "${a}"`);
  }
  if (!o.bucket || !o.prefix) throw new Error('usage: validate.js --bucket B --prefix ROOT/NAME [--milvus-bucket MB] [--expect TSV]');
  return o;
}

// ------------------------------------------------------------------------------- checks

const META = ['backup_meta.json', 'collection_meta.json', 'partition_meta.json', 'segment_meta.json', 'full_meta.json'];

async function validate(s3, o) {
  const out = { violations: [], warnings: [], stats: { collections: 0, segments: 0, binlogs: 0, bytes: 0n } };
  const V = (m) => out.violations.push(m);
  const dir = `${o.prefix}/`;
  const objs = await listAll(s3, o.bucket, dir);
  if (objs.size === 0) {
    V(`nothing under s3://${o.bucket}/${dir}`);
    return out;
  }
  const name = path.posix.basename(o.prefix);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name.length > 128) V(`backup name "${name}" breaks milvus-backup's name rule`);

  // 1. the five meta files
  const meta = {};
  for (const f of META) {
    const key = `${dir}meta/${f}`;
    if (!objs.has(key)) {
      V(`meta/${f} missing`);
      continue;
    }
    const text = (await s3.getObject(o.bucket, key)).toString('utf8');
    const dups = [];
    try {
      meta[f] = parseExact(text, dups);
    } catch (e) {
      V(`meta/${f} does not parse: ${e.message}`);
      continue;
    }
    for (const d of dups) V(`meta/${f}: duplicate key ${d}`);
  }
  const full = meta['full_meta.json'];
  if (!full) return out;

  // 2. keys and encodings
  checkMsg(full, 'BackupInfo', 'full_meta', out);
  if (meta['backup_meta.json']) checkMsg(meta['backup_meta.json'], 'BackupInfo', 'backup_meta', out);
  for (const [f, msg] of [['collection_meta.json', 'CollectionBackupInfo'], ['partition_meta.json', 'PartitionBackupInfo'],
    ['segment_meta.json', 'SegmentBackupInfo']]) {
    const m = meta[f];
    if (!m) continue;
    const extra = Object.keys(m).filter((k) => k !== 'infos');
    if (extra.length) V(`meta/${f}: unknown keys ${extra.join(', ')} (expected {"infos":[...]})`);
    if (m.infos !== undefined && !Array.isArray(m.infos)) V(`meta/${f}: "infos" is not an array`);
    (Array.isArray(m.infos) ? m.infos : []).forEach((x, i) => checkMsg(x, msg, `${f}.infos[${i}]`, out));
  }
  if (out.violations.length && out.violations.some((v) => /expected a .* object/.test(v))) return out;

  // 3. identity
  if (full.name !== name) V(`full_meta.name is "${full.name}", the directory is "${name}"`);
  if (full.format !== undefined && full.format !== '') V(`full_meta.format is "${full.format}"; only the binlog format is checked`);
  const colls = Array.isArray(full.collection_backups) ? full.collection_backups : [];
  if (!colls.length) V('full_meta has no collection_backups');
  const dbs = new Set((full.database_backups || []).map((d) => d.db_name));

  // 4. binlogs, sizes
  const named = new Set();
  const milvusChecks = [];
  const entities = new Map();
  let backupSize = 0n;
  colls.forEach((c, ci) => {
    const cw = `collection ${c.db_name || 'default'}.${c.collection_name}`;
    out.stats.collections++;
    if (c.id !== full.id) V(`${cw}: id "${c.id}" is not the backup id "${full.id}"`);
    if (full.database_backups && !dbs.has(c.db_name || 'default')) V(`${cw}: database not in database_backups`);
    if (!c.schema) V(`${cw}: no schema`);
    const cid = c.collection_id;
    let rows = 0n;
    const segSize = (s, sw, pid, l0) => {
      out.stats.segments++;
      if (s.collection_id !== cid) V(`${sw}: collection_id ${s.collection_id} is not ${cid}`);
      if (big(s.partition_id) !== pid) V(`${sw}: partition_id ${s.partition_id} is not ${pid}`);
      if (l0 && !s.is_l0) V(`${sw}: in l0_segments but is_l0 is not true`);
      const group = pid === -1n ? 0n : s.segment_id;
      if (big(s.group_id) !== group) V(`${sw}: group_id ${big(s.group_id)}, expected ${group}`);
      if (!s.is_l0) rows += big(s.num_of_rows);
      if (s.is_l0 && s.binlogs && s.binlogs.length) V(`${sw}: an L0 segment with insert binlogs`);
      let sum = 0n;
      const one = (b, bw, kind, field) => {
        out.stats.binlogs++;
        const id = b.log_id;
        if (typeof id !== 'bigint') return;
        const g = group === 0n ? '' : `${group}/`;
        const rel = kind === 'insert'
          ? `binlogs/insert_log/${cid}/${pid}/${g}${s.segment_id}/${field}/${id}`
          : `binlogs/delta_log/${cid}/${pid}/${g}${s.segment_id}/${id}`;
        const tail = kind === 'insert'
          ? `insert_log/${cid}/${pid}/${s.segment_id}/${field}/${id}`
          : `delta_log/${cid}/${pid}/${s.segment_id}/${id}`;
        if (typeof b.log_path === 'string' && !b.log_path.endsWith(`/${tail}`) && b.log_path !== tail) {
          V(`${bw}: log_path "${b.log_path}" does not end with ${tail}`);
        }
        const key = dir + rel;
        named.add(key);
        const obj = objs.get(key);
        if (!obj) V(`${bw}: object ${rel} missing`);
        else if (BigInt(obj.size) !== big(b.log_size)) V(`${bw}: ${rel} has ${obj.size} bytes, log_size says ${big(b.log_size)}`);
        if (o.milvusBucket && typeof b.log_path === 'string' && obj) milvusChecks.push({ bw, src: b.log_path, obj });
        sum += big(b.log_size);
      };
      (s.binlogs || []).forEach((fb, fi) => (fb.binlogs || []).forEach((b, bi) => one(b, `${sw}.binlogs[${fi}].binlogs[${bi}]`, 'insert', big(fb.fieldID))));
      (s.deltalogs || []).forEach((fb, fi) => (fb.binlogs || []).forEach((b, bi) => one(b, `${sw}.deltalogs[${fi}].binlogs[${bi}]`, 'delta', 0n)));
      if ((s.statslogs || []).length) out.warnings.push(`${sw}: statslogs present (milvus-backup never fills them)`);
      if (sum !== big(s.size)) V(`${sw}: size ${big(s.size)} but its binlogs sum to ${sum}`);
      return big(s.size);
    };
    let collSum = 0n;
    (c.partition_backups || []).forEach((p, pi) => {
      const pw = `${cw} partition ${p.partition_name || pi}`;
      if (p.collection_id !== cid) V(`${pw}: collection_id ${p.collection_id} is not ${cid}`);
      let psum = 0n;
      (p.segment_backups || []).forEach((s, si) => {
        psum += segSize(s, `${pw} segment ${s.segment_id || si}`, big(p.partition_id), false);
      });
      if (psum !== big(p.size)) V(`${pw}: size ${big(p.size)} but its segments sum to ${psum}`);
      collSum += big(p.size);
    });
    let l0sum = 0n;
    (c.l0_segments || []).forEach((s, si) => {
      l0sum += segSize(s, `${cw} l0 segment ${s.segment_id || si}`, -1n, true);
    });
    if (big(c.size) !== collSum + l0sum) {
      if (big(c.size) === collSum && l0sum) out.warnings.push(`${cw}: size leaves the all-partition L0 segments out (v0.4.15-v0.5.12 style)`);
      else V(`${cw}: size ${big(c.size)} but partitions + L0 sum to ${collSum + l0sum}`);
    }
    backupSize += big(c.size);
    const ek = `${c.db_name || 'default'}\t${c.collection_name}`;
    if (entities.has(ek)) V(`${cw}: listed twice`);
    entities.set(ek, rows);
    void ci;
  });
  if (backupSize !== big(full.size)) V(`full_meta.size ${big(full.size)} but the collections sum to ${backupSize}`);
  out.stats.bytes = backupSize;
  for (const k of objs.keys()) {
    if (k.startsWith(`${dir}binlogs/`) && !named.has(k)) V(`object ${k.slice(dir.length)} is not named by the meta`);
  }

  // 5. byte-for-byte against the Milvus bucket (size + ETag of the source key)
  if (o.milvusBucket && milvusChecks.length) {
    const prefixes = new Set(milvusChecks.map((m) => m.src.split('/').slice(0, 4).join('/') + '/'));
    const src = new Map();
    for (const p of prefixes) for (const [k, v] of await listAll(s3, o.milvusBucket, p)) src.set(k, v);
    for (const m of milvusChecks) {
      const s = src.get(m.src);
      if (!s) V(`${m.bw}: source ${m.src} not in s3://${o.milvusBucket}`);
      else if (s.size !== m.obj.size || (s.etag && m.obj.etag && s.etag !== m.obj.etag)) {
        V(`${m.bw}: copy differs from its source ${m.src} (size ${m.obj.size}/${s.size}, etag ${m.obj.etag}/${s.etag})`);
      }
    }
  }

  // 6. the level files against full_meta (main: v0.5.13+)
  const bm = meta['backup_meta.json'];
  if (bm) {
    for (const k of ['collection_backups', 'database_backups', 'rbac_meta']) if (k in bm) V(`backup_meta.json holds ${k} (main writes only the summary)`);
    for (const k of ['id', 'state_code', 'name', 'size', 'milvus_version', 'format']) {
      if (!deepEqual(bm[k], full[k])) V(`backup_meta.${k} ${fmt(bm[k])} differs from full_meta.${k} ${fmt(full[k])}`);
    }
  }
  const cm = meta['collection_meta.json'];
  if (cm) {
    const infos = cm.infos || [];
    const stripped = colls.map((c) => {
      const r = omit(c, ['l0_segments']);
      if (c.partition_backups) r.partition_backups = c.partition_backups.map((p) => omit(p, ['segment_backups']));
      return r;
    });
    if (deepEqual(infos, colls)) out.warnings.push('collection_meta.json holds the segments (v0.5.10-v0.5.12 style)');
    else if (!deepEqual(infos, stripped)) V(`collection_meta.json is not full_meta's collections without segments: ${firstDiff(infos, stripped)}`);
  }
  const pm = meta['partition_meta.json'];
  if (pm) {
    const want = colls.flatMap((c) => (c.partition_backups || []).map((p) => omit(p, ['segment_backups'])));
    if (!deepEqual(pm.infos || [], want)) V(`partition_meta.json is not full_meta's partitions without segments: ${firstDiff(pm.infos || [], want)}`);
  }
  const sm = meta['segment_meta.json'];
  if (sm) {
    const want = colls.flatMap((c) => (c.partition_backups || []).flatMap((p) => p.segment_backups || []));
    if (!deepEqual(sm.infos || [], want)) V(`segment_meta.json is not full_meta's partition segments: ${firstDiff(sm.infos || [], want)}`);
  }
  const fmt0 = objs.get(`${dir}meta/full_meta.json`);
  for (const f of META.slice(0, 4)) {
    const x = objs.get(`${dir}meta/${f}`);
    if (x && fmt0 && x.mtime > fmt0.mtime) V(`meta/${f} is newer than full_meta.json (full_meta must be written last)`);
  }

  // 7. expected collections and entities
  if (o.expect) {
    const want = new Map();
    for (const line of fs.readFileSync(o.expect, 'utf8').split('\n')) {
      if (!line.trim() || line.startsWith('#')) continue;
      const [db, coll, rows] = line.split('\t');
      want.set(`${db}\t${coll}`, BigInt(rows));
    }
    for (const [k, rows] of want) {
      if (!entities.has(k)) V(`collection ${k.replace('\t', '.')} not in the backup`);
      else if (entities.get(k) !== rows) V(`collection ${k.replace('\t', '.')}: ${entities.get(k)} rows in non-L0 segments, expected ${rows}`);
    }
    for (const k of entities.keys()) if (!want.has(k)) V(`collection ${k.replace('\t', '.')} in the backup but not expected`);
  }
  return out;
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`validate: ${e.message}\n`);
    process.exit(2);
  }
  const s3 = process.env.S3_ENDPOINT ? s3FromEnv() : null;
  if (!s3) {
    process.stderr.write('validate: S3_ENDPOINT is not set\n');
    process.exit(2);
  }
  const out = await validate(s3, o);
  if (!o.quiet) for (const w of out.warnings) process.stdout.write(`warning: ${w}\n`);
  for (const v of out.violations) process.stdout.write(`violation: ${v}\n`);
  if (out.violations.length) {
    process.stdout.write(`${out.violations.length} violation(s) in s3://${o.bucket}/${o.prefix}/\n`);
    process.exit(1);
  }
  const s = out.stats;
  if (!o.quiet) {
    process.stdout.write(`ok: s3://${o.bucket}/${o.prefix}/: ${s.collections} collections, ${s.segments} segments, ` +
      `${s.binlogs} binlogs, ${s.bytes} bytes\n`);
  }
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`validate: ${e.message}\n`);
    process.exit(2);
  });
}

module.exports = { parseExact, validate, S3Client };
