// Minimal S3 client for the stand-in: AWS Signature V4 (node:crypto) over fetch, path-style
// addressing. Just what the stand-in and its tests need: create/head bucket, put/get/head/
// delete/copy object and ListObjectsV2 (with continuation). Errors are thrown as Error with
// `.status` (HTTP status) and `.s3code` (the <Code> of the error XML, when there is one).
'use strict';

const crypto = require('node:crypto');

const EMPTY_SHA256 = crypto.createHash('sha256').update('').digest('hex');

function sha256hex(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data).digest();
}

// RFC 3986 encoding as SigV4 wants it; '/' kept when encoding an object key path.
function uriEncode(s, keepSlash) {
  let out = encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  if (keepSlash) out = out.replace(/%2F/g, '/');
  return out;
}

function xmlDecode(s) {
  return s.replace(/&(lt|gt|amp|quot|apos|#(\d+)|#x([0-9a-fA-F]+));/g, (m, name, dec, hex) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[name];
  });
}

function xmlTag(xml, tag) {
  const m = xml.match(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`));
  return m ? xmlDecode(m[1]) : null;
}

class S3Client {
  // opts: { endpoint, accessKey, secretKey, region }
  constructor(opts) {
    if (!opts.endpoint) throw new Error('S3 endpoint not set (S3_ENDPOINT)');
    this.endpoint = new URL(opts.endpoint);
    this.accessKey = opts.accessKey || '';
    this.secretKey = opts.secretKey || '';
    this.region = opts.region || 'us-east-1';
  }

  // One signed request. `key` may be '' (bucket-level request). Returns the fetch Response
  // for 2xx (and for statuses listed in opts.okStatus); throws otherwise.
  async request(method, bucket, key, opts = {}) {
    const query = opts.query || {};
    const body = opts.body === undefined ? null : opts.body;
    const path = '/' + uriEncode(bucket, false) + (key !== '' && key !== undefined ? '/' + uriEncode(key, true) : '');
    const qs = Object.keys(query).sort().map((k) => `${uriEncode(k)}=${uriEncode(String(query[k]))}`).join('&');
    const now = new Date();
    const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, '');
    const day = amzDate.slice(0, 8);
    const payloadHash = body ? sha256hex(body) : EMPTY_SHA256;
    const headers = Object.assign({}, opts.headers || {}, {
      host: this.endpoint.host,
      'x-amz-date': amzDate,
      'x-amz-content-sha256': payloadHash,
    });
    const names = Object.keys(headers).map((h) => h.toLowerCase()).sort();
    const lower = {};
    for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = String(v).trim().replace(/\s+/g, ' ');
    const canonical = [method, path, qs, names.map((n) => `${n}:${lower[n]}\n`).join(''), names.join(';'), payloadHash].join('\n');
    const scope = `${day}/${this.region}/s3/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
    let k = hmac('AWS4' + this.secretKey, day);
    k = hmac(k, this.region);
    k = hmac(k, 's3');
    k = hmac(k, 'aws4_request');
    const sig = crypto.createHmac('sha256', k).update(toSign).digest('hex');
    const sendHeaders = {};
    for (const n of names) if (n !== 'host') sendHeaders[n] = lower[n];
    sendHeaders.authorization = `AWS4-HMAC-SHA256 Credential=${this.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${sig}`;
    const url = `${this.endpoint.protocol}//${this.endpoint.host}${path}${qs ? '?' + qs : ''}`;
    const res = await fetch(url, { method, headers: sendHeaders, body: body || undefined });
    if (res.ok || (opts.okStatus || []).includes(res.status)) return res;
    const text = method === 'HEAD' ? '' : await res.text().catch(() => '');
    const err = new Error(`s3 ${method} "${bucket}/${key || ''}": HTTP ${res.status} ${xmlTag(text, 'Code') || ''}`.trim());
    err.status = res.status;
    err.s3code = xmlTag(text, 'Code');
    throw err;
  }

  async ensureBucket(bucket) {
    const res = await this.request('HEAD', bucket, '', { okStatus: [404] });
    if (res.status === 404) {
      await this.request('PUT', bucket, '', { okStatus: [409] }); // 409: created meanwhile
    }
  }

  async putObject(bucket, key, body) {
    await this.request('PUT', bucket, key, { body: Buffer.isBuffer(body) ? body : Buffer.from(body) });
  }

  async getObject(bucket, key) {
    const res = await this.request('GET', bucket, key);
    return Buffer.from(await res.arrayBuffer());
  }

  // Returns {size} or null when the object does not exist.
  async headObject(bucket, key) {
    const res = await this.request('HEAD', bucket, key, { okStatus: [404] });
    if (res.status === 404) return null;
    return { size: Number(res.headers.get('content-length')) };
  }

  async deleteObject(bucket, key) {
    await this.request('DELETE', bucket, key, { okStatus: [404] });
  }

  async deleteBucket(bucket) {
    await this.request('DELETE', bucket, '', { okStatus: [404] });
  }

  async copyObject(srcBucket, srcKey, dstBucket, dstKey) {
    await this.request('PUT', dstBucket, dstKey, {
      headers: { 'x-amz-copy-source': '/' + uriEncode(srcBucket) + '/' + uriEncode(srcKey, true) },
    });
  }

  // Recursive (no delimiter) or one-level (delimiter '/') listing of a prefix; maxKeys sets the
  // page size (tests).
  // Returns {objects: [{key, size}], prefixes: [string]} with all pages read.
  async list(bucket, prefix, delimiter, maxKeys) {
    const objects = [];
    const prefixes = [];
    let token = null;
    for (;;) {
      const query = { 'list-type': '2', prefix: prefix || '' };
      if (delimiter) query.delimiter = delimiter;
      if (maxKeys) query['max-keys'] = String(maxKeys);
      if (token) query['continuation-token'] = token;
      const res = await this.request('GET', bucket, '', { query });
      const xml = await res.text();
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        objects.push({ key: xmlTag(m[1], 'Key'), size: Number(xmlTag(m[1], 'Size')) });
      }
      for (const m of xml.matchAll(/<CommonPrefixes>([\s\S]*?)<\/CommonPrefixes>/g)) {
        prefixes.push(xmlTag(m[1], 'Prefix'));
      }
      if (xmlTag(xml, 'IsTruncated') !== 'true') break;
      token = xmlTag(xml, 'NextContinuationToken');
      if (!token) break;
    }
    return { objects, prefixes };
  }
}

function s3FromEnv(env = process.env) {
  return new S3Client({
    endpoint: env.S3_ENDPOINT,
    accessKey: env.AWS_ACCESS_KEY_ID,
    secretKey: env.AWS_SECRET_ACCESS_KEY,
    region: env.S3_REGION || env.AWS_DEFAULT_REGION || env.AWS_REGION || 'us-east-1',
  });
}

module.exports = { S3Client, s3FromEnv };
