// The demo's edge: sends each request to the colour named in state/active (switched atomically by
// rename) and exposes Prometheus metrics of what it served: requests by status and latency.
// Usage: node service/router.js --port 7100 --state state
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const port = Number(arg('port', '7100'));
const stateDir = arg('state', 'state');
const ports = Object.fromEntries(
  fs
    .readFileSync(path.join(stateDir, 'ports.env'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => l.split('=')),
);

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const byCode = new Map();
const buckets = BUCKETS.map(() => 0);
let count = 0;
let sum = 0;

function observe(code, seconds) {
  byCode.set(code, (byCode.get(code) ?? 0) + 1);
  count++;
  sum += seconds;
  BUCKETS.forEach((le, i) => {
    if (seconds <= le) buckets[i]++;
  });
}

function metrics() {
  const lines = ['# HELP http_requests_total Requests served by the router.', '# TYPE http_requests_total counter'];
  for (const [code, n] of byCode) lines.push(`http_requests_total{code="${code}"} ${n}`);
  lines.push('# HELP http_request_duration_seconds Request latency at the router.', '# TYPE http_request_duration_seconds histogram');
  BUCKETS.forEach((le, i) => lines.push(`http_request_duration_seconds_bucket{le="${le}"} ${buckets[i]}`));
  lines.push(
    `http_request_duration_seconds_bucket{le="+Inf"} ${count}`,
    `http_request_duration_seconds_sum ${sum}`,
    `http_request_duration_seconds_count ${count}`,
  );
  return lines.join('\n') + '\n';
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

http
  .createServer((req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      return res.end(metrics());
    }
    const t0 = process.hrtime.bigint();
    let active;
    try {
      active = fs.readFileSync(path.join(stateDir, 'active'), 'utf8').trim();
    } catch {
      active = '';
    }
    const target = Number(ports[`${active.toUpperCase()}_PORT`]);
    const done = (code) => observe(String(code), Number(process.hrtime.bigint() - t0) / 1e9);
    if (!target) {
      res.writeHead(503);
      res.end('no active colour');
      return done(503);
    }
    const up = http.request({ host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers, agent }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
      r.on('end', () => done(r.statusCode ?? 502));
    });
    up.on('error', () => {
      res.writeHead(502);
      res.end('upstream down');
      done(502);
    });
    req.pipe(up);
  })
  .listen(port, '127.0.0.1', () => console.log(`router on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
