// The fleet's orders service: the demo's orders service (examples/demo/service/server.js), one
// instance per host, bound to that host's loopback address, with its own Prometheus metrics. The
// orders the clients write (POST /orders, GET /orders/ID) go to one store all hosts share: the
// sqlite file DB in WAL mode, through the demo's store.js (copied beside this file by environment.mjs).
// Usage: node server.js --host 127.0.0.11 --port 7101 --version 1.1.0 --name h1 --root HOSTDIR --db ORDERS.db
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { openStore, handleOrders } = require('./store');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const host = arg('host', '127.0.0.1');
const port = Number(arg('port', '0'));
const version = arg('version', '0.0.0');
const name = arg('name', 'local');
const root = arg('root', path.join(__dirname, '..', '..'));
const store = openStore(arg('db', path.join(root, 'orders.db')));

// A release may carry behaviour switches (release.json beside this file); the faulty 1.1.0 of
// `--bad` turns one on: a share of the core API's answers fail, which only traffic shows.
let behaviour = {};
try {
  behaviour = JSON.parse(fs.readFileSync(path.join(__dirname, 'release.json'), 'utf8'));
} catch {
  behaviour = {};
}

const orders = [
  { id: 1, customer: 'ada', total_cents: 1250 },
  { id: 2, customer: 'grace', total_cents: 4200 },
];
const counts = new Map(); // "path|code" -> n
const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const hist = new Array(buckets.length + 1).fill(0);
let durSum = 0;
let served = 0;

function metrics() {
  const lines = ['# TYPE orders_http_requests_total counter'];
  for (const [k, n] of counts) {
    const [p, code] = k.split('|');
    lines.push(`orders_http_requests_total{path="${p}",code="${code}",version="${version}"} ${n}`);
  }
  lines.push('# TYPE orders_http_request_duration_seconds histogram');
  let acc = 0;
  buckets.forEach((b, i) => {
    acc += hist[i];
    lines.push(`orders_http_request_duration_seconds_bucket{le="${b}"} ${acc}`);
  });
  acc += hist[buckets.length];
  lines.push(`orders_http_request_duration_seconds_bucket{le="+Inf"} ${acc}`);
  lines.push(`orders_http_request_duration_seconds_sum ${durSum}`);
  lines.push(`orders_http_request_duration_seconds_count ${acc}`);
  lines.push('# TYPE orders_build_info gauge', `orders_build_info{version="${version}",host="${name}"} 1`);
  return lines.join('\n') + '\n';
}

const server = http.createServer((req, res) => {
  const start = process.hrtime.bigint();
  const json = (code, body) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
    if (req.url !== '/metrics' && req.url !== '/health') {
      const k = `${req.url.replace(/^\/orders\/.*/, '/orders/:id')}|${code}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      durSum += s;
      const i = buckets.findIndex((b) => s <= b);
      hist[i < 0 ? buckets.length : i]++;
    }
  };
  if (req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    return res.end(metrics());
  }
  if (req.url === '/health') {
    // A marker in the host's folder breaks this host's health for one version (the fault tests).
    if (fs.existsSync(path.join(root, `fail-health-${version}`))) return json(503, { status: 'failing', version, host: name });
    return json(200, { status: 'ok', version, host: name });
  }
  if (req.url === '/api/orders') {
    served++;
    if (behaviour.faultyShare !== undefined && served > (behaviour.faultyAfter ?? 0) && Math.random() < behaviour.faultyShare) {
      console.error(`ERROR order cache unavailable (request ${served})`);
      return json(500, { error: 'order cache unavailable', version, host: name });
    }
    res.setHeader('x-order-count', String(orders.length));
    return json(200, { version, host: name, orders });
  }
  if (handleOrders(store, req, (code, body) => json(code, { ...body, version, host: name }))) return;
  json(404, { error: 'not found' });
});
server.keepAliveTimeout = 65_000;

server.listen(port, host, () => {
  console.log(`INFO orders-service ${version} on ${name} (${host}:${server.address().port})`);
});
// A stop finishes the requests under way; a kept-alive connection is closed as soon as it is idle
// (HAProxy drained this host before, so no new request comes).
process.on('SIGTERM', () => {
  server.close(() => {
    store.close();
    process.exit(0);
  });
  server.closeIdleConnections();
  setInterval(() => server.closeIdleConnections(), 20).unref();
  setTimeout(() => process.exit(0), 3000).unref();
});
