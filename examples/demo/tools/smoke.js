// Staging smoke test: starts the service on a free port against a copy of the database,
// checks /health and the core API, and stops it.  Usage: node tools/smoke.js VERSION
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');

const version = process.argv[2];
const root = path.resolve(__dirname, '..');
const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'orders-staging-'));
const db = path.join(staging, 'app.db');
execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(root, 'data', 'app.db'), `.backup '${db}'`]);
execFileSync('bash', [path.join(root, 'tools', 'migrate.sh'), db, path.join(root, 'db', 'migrations')], { stdio: 'inherit' });

const free = () =>
  new Promise((r) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });

(async () => {
  const port = await free();
  const svc = spawn('node', [path.join(root, 'service', 'server.js'), '--color', 'staging', '--port', String(port), '--version', version, '--db', db], {
    stdio: 'inherit',
  });
  let ok = false;
  try {
    for (let i = 0; i < 50; i++) {
      try {
        const h = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
        if (h.version !== version) throw new Error(`staging runs ${h.version}, expected ${version}`);
        const r = await fetch(`http://127.0.0.1:${port}/api/orders`);
        const body = await r.json();
        if (r.status !== 200 || !Array.isArray(body.orders)) throw new Error(`core API answered ${r.status}`);
        console.log(`staging ${version}: health ok, schema ${h.schema}, core API 200 with ${body.orders.length} orders`);
        ok = true;
        break;
      } catch (e) {
        if (e.cause?.code !== 'ECONNREFUSED') throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    svc.kill();
    fs.rmSync(staging, { recursive: true, force: true });
  }
  process.exit(ok ? 0 : 1);
})().catch((e) => {
  console.error(`staging smoke test failed: ${e.message}`);
  process.exit(1);
});
