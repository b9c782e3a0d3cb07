// Steady traffic through HAProxy for the fleet demo and its tests, counted by release phase.
// Usage: node tools/load.mjs URL RPS WORKSPACE OUT.json [ORDERS.db]
// Keep-alive clients send RPS requests/s to URL (the HAProxy frontend), one in four a write (POST
// /orders with an id of its own), the others reads (GET /api/orders); every answer is counted by the phase the release was in
// when the request was sent (read from the newest run's journal: phase.started, rollback.started,
// release.finished), by status, by the server that answered (X-Served-By) and by the version it
// answered with. Non-2xx answers and connection errors are "failed". The counts are written to
// OUT.json twice a second and when the process ends (SIGTERM, SIGINT). At the end, every write
// HAProxy answered 2xx to is looked up in the store the hosts share (ORDERS.db, by default
// WORKSPACE/state/orders.db): "acknowledged writes: N, present[ after rollback]: P, lost: L" is printed
// and written to OUT.json as `writes`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

const [url, rpsArg, workspace, out, ordersDb = path.join(workspace, 'state', 'orders.db')] = process.argv.slice(2);
const rps = Number(rpsArg ?? 200);
const target = new URL(url);
const WRITE_EVERY = 4;
// Ids of their own for this generator's orders: far above the seeded ones, distinct per generator.
const firstId = 1_000_000 * (1 + Math.floor(Math.random() * 1_000_000));
let nextId = firstId;
let inFlight = 0;
const acknowledged = new Set();
let writes = { acknowledged: 0 };
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

function send(n) {
  const p = phase;
  const id = n % WRITE_EVERY === WRITE_EVERY - 1 ? nextId++ : 0;
  const payload = id ? JSON.stringify({ id, customer: `load-${id % 1000}`, total_cents: id % 10_000 }) : undefined;
  let settled = false;
  inFlight++;
  // Each request is counted once: its answer, or the error that ended it.
  const count = (status, server, version, error) => {
    if (settled) return;
    settled = true;
    inFlight--;
    record(p, status, server, version, error);
    if (id && status >= 200 && status < 300) acknowledged.add(id);
  };
  const options = { host: target.hostname, port: target.port, agent, timeout: 10_000 };
  const onAnswer = (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => (body += c));
    res.on('end', () => {
      let version;
      try {
        version = JSON.parse(body).version;
      } catch {}
      count(res.statusCode ?? 0, String(res.headers['x-served-by'] ?? 'haproxy'), version);
    });
    res.on('error', (e) => count(0, String(res.headers['x-served-by'] ?? 'haproxy'), undefined, e.code ?? e.message));
  };
  const req = payload
    ? http.request(
        { ...options, method: 'POST', path: '/orders', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
        onAnswer,
      )
    : http.get({ ...options, path: target.pathname === '/' ? '/api/orders' : target.pathname }, onAnswer);
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => count(0, 'none', undefined, e.code ?? e.message));
  if (payload) req.end(payload);
}

/** Whether the newest run of the workspace started a rollback (its journal says so). */
function rolledBack() {
  try {
    const runs = path.join(workspace, '.release', 'runs');
    const newest = fs.readdirSync(runs).sort().pop();
    return newest ? /"type":"rollback\.started"/.test(fs.readFileSync(path.join(runs, newest, 'journal.jsonl'), 'utf8')) : false;
  } catch {
    return false;
  }
}

/** Looks every acknowledged write up in the shared store: how many are there, and which are not. */
function verifyWrites() {
  const ids = [...acknowledged];
  const sql = ['.timeout 5000', 'CREATE TEMP TABLE acked (id INTEGER PRIMARY KEY);'];
  for (let i = 0; i < ids.length; i += 500)
    sql.push(
      `INSERT INTO acked VALUES ${ids
        .slice(i, i + 500)
        .map((id) => `(${id})`)
        .join(', ')};`,
    );
  sql.push('SELECT count(*) FROM acked JOIN orders USING (id);', 'SELECT id FROM acked WHERE id NOT IN (SELECT id FROM orders) LIMIT 100;');
  const r = spawnSync('sqlite3', ['-batch', ordersDb], { input: sql.join('\n') + '\n', encoding: 'utf8' });
  const lines = (r.stdout ?? '').trim().split('\n').filter(Boolean);
  const present = r.status === 0 && lines.length ? Number(lines[0]) : 0;
  const afterRollback = rolledBack();
  const n = ids.length;
  const line = `acknowledged writes: ${n}, present${afterRollback ? ' after rollback' : ''}: ${present}, lost: ${n - present}`;
  const error = r.status === 0 ? undefined : `sqlite3 could not read ${ordersDb}: ${(r.stderr || r.error?.message || '').trim()}`;
  return { acknowledged: n, present, lost: n - present, lostIds: lines.slice(1).map(Number), afterRollback, line, error };
}

const started = Date.now();
let sent = 0;
// Every 10 ms, send what brings the total to rps × elapsed: the rate holds when a timer is late.
const sender = setInterval(() => {
  const due = Math.floor(((Date.now() - started) / 1000) * rps);
  for (; sent < due; sent++) send(sent);
}, 10);
setInterval(readPhase, 100);

function write() {
  const seconds = (Date.now() - started) / 1000;
  const total = Object.values(counts).reduce((a, b) => a + b.requests, 0);
  const tmp = `${out}.tmp`;
  if (!writes.line) writes = { acknowledged: acknowledged.size };
  fs.writeFileSync(tmp, JSON.stringify({ url, rps, seconds, sent, answered: total, achievedRps: total / seconds, phases, counts, writes }, null, 1));
  fs.renameSync(tmp, out);
}
setInterval(write, 500);
let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(sender);
  // The answers still under way get half a second (up to 5 s while some are still coming).
  await new Promise((r) => setTimeout(r, 500));
  for (let waited = 500; inFlight > 0 && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  writes = verifyWrites();
  console.log(`${new Date().toISOString()} ${writes.line}${writes.error ? ` (${writes.error})` : ''}`);
  if (writes.lostIds.length) console.log(`  lost orders: ${writes.lostIds.slice(0, 10).join(', ')}`);
  write();
  process.exit(0);
}
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => void stop());
