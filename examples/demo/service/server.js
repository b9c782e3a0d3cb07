// The demo's orders service: /health, the core API /api/orders, and the orders a client writes
// (POST /orders with the id it chose, GET /orders/ID: store.js).
// Usage: node service/server.js --color blue --port 7101 --version 1.1.0 --db data/app.db
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { openStore, handleOrders } = require('./store');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const color = arg('color', 'staging');
const port = Number(arg('port', '0'));
const version = arg('version', '0.0.0');
const db = arg('db', path.join(__dirname, '..', 'data', 'app.db'));

// A release may carry behaviour switches; the faulty demo release turns one on.
let behaviour = {};
try {
  behaviour = JSON.parse(fs.readFileSync(path.join(__dirname, 'release.json'), 'utf8'));
} catch {
  behaviour = {};
}

function schemaVersion() {
  try {
    return Number(
      execFileSync('sqlite3', ['-cmd', '.timeout 5000', db, 'SELECT COALESCE(MAX(version), 0) FROM schema_migrations;'], { encoding: 'utf8' }).trim(),
    );
  } catch {
    return 0;
  }
}

function loadOrders() {
  try {
    const out = execFileSync('sqlite3', ['-cmd', '.timeout 5000', '-json', db, 'SELECT * FROM orders ORDER BY id;'], { encoding: 'utf8' }).trim();
    return out ? JSON.parse(out) : [];
  } catch (e) {
    console.error(`FATAL cannot read orders: ${e.message}`);
    return [];
  }
}

const schema = schemaVersion();
const orders = loadOrders();
const store = openStore(db);
let served = 0;

const server = http.createServer((req, res) => {
  served++;
  const json = (code, body) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.url === '/health') return json(200, { status: 'ok', version, color, schema });
  if (req.url === '/api/orders') {
    // The faulty release: an order cache that starts failing once it warms up under traffic.
    if (behaviour.faultyCacheAfter !== undefined && served > behaviour.faultyCacheAfter && served % 3 === 0) {
      console.error(`ERROR order cache miss storm (request ${served})`);
      return json(500, { error: 'order cache unavailable' });
    }
    return json(200, { version, orders });
  }
  if (handleOrders(store, req, (code, body) => json(code, { ...body, version }))) return;
  json(404, { error: 'not found' });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`INFO orders-service ${version} (${color}) on 127.0.0.1:${server.address().port}, schema ${schema}, ${orders.length} orders`);
});
process.on('SIGTERM', () =>
  server.close(() => {
    store.close();
    process.exit(0);
  }),
);
