#!/usr/bin/env node
// Entry point: `node src/main.js` with the settings in the environment (see README.md).
// Prints "MILVUS_PORT=<port>" and "STANDIN_ADMIN_URL=<url>" on stdout once it answers, and
// writes the same two lines to STANDIN_PORT_FILE when that is set.
'use strict';

const fs = require('node:fs');
const { startStandin, tlsDescription } = require('./server');

async function main() {
  const s = await startStandin(process.env);
  const lines = `MILVUS_PORT=${s.port}\nSTANDIN_ADMIN_URL=${s.adminUrl}\n`;
  process.stdout.write(lines);
  process.stderr.write(`milvus-standin: listening on ${s.settings.host}:${s.port} version=${s.settings.version} `
    + `bucket=${s.settings.bucket} rootPath=${s.settings.rootPath} auth=${s.settings.auth ? 'on' : 'off'} `
    + `tls=${tlsDescription(s.settings)} `
    + `storage_version=${s.knobs.storageVersion} pid=${process.pid}\n`);
  if (s.settings.portFile) {
    fs.writeFileSync(s.settings.portFile + '.tmp', lines);
    fs.renameSync(s.settings.portFile + '.tmp', s.settings.portFile);
  }
  let stopping = false;
  const stop = (sig) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`milvus-standin: ${sig}, stopping\n`);
    s.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e) => {
  process.stderr.write(`milvus-standin: cannot start: ${e.stack || e}\n`);
  process.exit(1);
});
