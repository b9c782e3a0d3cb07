// Steady traffic through HAProxy for the fleet demo and its tests, counted by release phase.
// Usage: node tools/load.mjs URL RPS WORKSPACE OUT.json
// Keep-alive clients send RPS requests/s; every answer is counted by the phase the release was in
// when the request was sent (read from the newest run's journal: phase.started, rollback.started,
// release.finished), by status, by the server that answered (X-Served-By) and by the version it
// answered with. Non-2xx answers and connection errors are "failed". The counts are written to
// OUT.json twice a second and when the process ends (SIGTERM, SIGINT).
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

const [url, rpsArg, workspace, out] = process.argv.slice(2);
const rps = Number(rpsArg ?? 200);
const target = new URL(url);
// A kept-alive connection the client reuses just as HAProxy closes it for idleness fails with
// ECONNRESET: a race of any keep-alive client, not a failure of the release. The client closes an
// idle connection itself after 4 s (HAProxy waits 30 s), and uses its connections in turn (fifo)
// so that none sits idle long.
const agent = new http.Agent({ keepAlive: true, maxSockets: 16, scheduling: 'fifo', timeout: 4000 });

const counts = {}; // phase -> { requests, ok, non2xx, connErrors, byServer: {server: {ok, failed}}, byVersion: {server@version: n}, errors: [] }
const phases = []; // [{ phase, at }]
let phase = 'before';
let journalSize = 0;

function readPhase() {
  try {
    const runs = path.join(workspace, '.release', 'runs');
    const newest = fs.readdirSync(runs).sort().pop();
    if (!newest) return;
    const file = path.join(runs, newest, 'journal.jsonl');
    const size = fs.statSync(file).size;
    if (size === journalSize) return;
    journalSize = size;
    let next = phase;
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        continue; // a line being written
      }
      if (e.type === 'release.started') next = 'gates';
      else if (e.type === 'phase.started') next = e.phase;
      else if (e.type === 'rollback.started') next = 'rollback';
      else if (e.type === 'rollback.finished' || e.type === 'release.finished') next = 'after';
    }
    if (next !== phase) {
      phase = next;
      phases.push({ phase, at: new Date().toISOString() });
    }
  } catch {
    // no run yet
  }
}

function bucket(p) {
  return (counts[p] ??= { requests: 0, ok: 0, non2xx: 0, connErrors: 0, byServer: {}, byVersion: {}, errors: [] });
}

function record(p, status, server, version, error) {
  const b = bucket(p);
  b.requests++;
  const ok = status >= 200 && status < 300;
  if (ok) b.ok++;
  else if (status) b.non2xx++;
  else b.connErrors++;
  const s = (b.byServer[server] ??= { ok: 0, failed: 0 });
  if (ok) s.ok++;
  else s.failed++;
  if (version) b.byVersion[`${server}@${version}`] = (b.byVersion[`${server}@${version}`] ?? 0) + 1;
  if (!ok && b.errors.length < 20) b.errors.push({ at: new Date().toISOString(), status, server, error });
}

function send() {
  const p = phase;
  const req = http.get({ host: target.hostname, port: target.port, path: target.pathname, agent, timeout: 10_000 }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => (body += c));
    res.on('end', () => {
      let version;
      try {
        version = JSON.parse(body).version;
      } catch {}
      record(p, res.statusCode ?? 0, String(res.headers['x-served-by'] ?? 'haproxy'), version);
    });
    res.on('error', (e) => record(p, 0, String(res.headers['x-served-by'] ?? 'haproxy'), undefined, e.code ?? e.message));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => record(p, 0, 'none', undefined, e.code ?? e.message));
}

const started = Date.now();
let sent = 0;
// Every 10 ms, send what brings the total to rps × elapsed: the rate holds when a timer is late.
setInterval(() => {
  const due = Math.floor(((Date.now() - started) / 1000) * rps);
  for (; sent < due; sent++) send();
}, 10);
setInterval(readPhase, 100);

function write() {
  const seconds = (Date.now() - started) / 1000;
  const total = Object.values(counts).reduce((a, b) => a + b.requests, 0);
  const tmp = `${out}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ url, rps, seconds, sent, answered: total, achievedRps: total / seconds, phases, counts }, null, 1));
  fs.renameSync(tmp, out);
}
setInterval(write, 500);
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    // The answers still under way get half a second.
    setTimeout(() => {
      write();
      process.exit(0);
    }, 500);
  });
}
