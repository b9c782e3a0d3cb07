// Steady traffic for the demo: RPS requests per second to the router at URL until stopped, one in
// four a write (POST /orders with an id of its own), the others reads (GET /api/orders).
// Every write the service acknowledged (2xx) is remembered; on SIGTERM or SIGINT the generator stops
// sending, lets the requests under way finish, reads each acknowledged order back through the
// router (GET /orders/ID), prints "acknowledged writes: N, present[ after rollback]: P, lost: L" and
// writes the same as JSON to OUT ("after rollback" when the newest run in WORKSPACE rolled back).
// Usage: node tools/load.js URL RPS [WORKSPACE] [OUT.json]
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [url, rpsArg, workspace = process.cwd(), out = path.join(workspace, 'state', 'writes.json')] = process.argv.slice(2);
const base = url.replace(/\/+$/, '');
const rps = Number(rpsArg ?? 40);
const WRITE_EVERY = 4;
// Ids of their own for this generator's orders: far above the seeded ones, distinct per generator.
const firstId = 1_000_000 * (1 + Math.floor(Math.random() * 1_000_000));
let sent = 0;
let failed = 0;
let inFlight = 0;
let nextId = firstId;
const acknowledged = new Set();

function send() {
  sent++;
  inFlight++;
  const write = sent % WRITE_EVERY === 0;
  const id = write ? nextId++ : 0;
  const request = write
    ? fetch(`${base}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, customer: `load-${id % 1000}`, total_cents: id % 10_000 }),
      })
    : fetch(`${base}/api/orders`);
  request
    .then(
      (r) =>
        r.arrayBuffer().then(() => {
          if (!r.ok) failed++;
          else if (write) acknowledged.add(id);
        }),
      () => failed++,
    )
    .finally(() => inFlight--);
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

/** Reads each acknowledged order back: the ids not found (or not readable). */
async function missing() {
  const ids = [...acknowledged];
  const lost = [];
  const worker = async () => {
    for (let id = ids.pop(); id !== undefined; id = ids.pop()) {
      try {
        const r = await fetch(`${base}/orders/${id}`);
        const body = await r.json();
        if (r.status !== 200 || body.order?.id !== id) lost.push({ id, status: r.status });
      } catch (e) {
        lost.push({ id, error: e.cause?.code ?? e.message });
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return lost;
}

const sender = setInterval(send, 1000 / rps);
const reporter = setInterval(() => console.log(`${new Date().toISOString()} sent ${sent}, failed ${failed}, writes acknowledged ${acknowledged.size}`), 5000);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(sender);
  clearInterval(reporter);
  for (let waited = 0; inFlight > 0 && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  const lost = await missing();
  const after = rolledBack();
  const n = acknowledged.size;
  const line = `acknowledged writes: ${n}, present${after ? ' after rollback' : ''}: ${n - lost.length}, lost: ${lost.length}`;
  console.log(`${new Date().toISOString()} sent ${sent}, failed ${failed}; ${line}`);
  for (const l of lost.slice(0, 10)) console.log(`  lost order ${l.id}: ${l.status ? `GET answered ${l.status}` : l.error}`);
  const result = { sent, failed, acknowledged: n, present: n - lost.length, lost: lost.length, lostIds: lost.slice(0, 100), afterRollback: after, line };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(`${out}.tmp`, JSON.stringify(result, null, 1));
  fs.renameSync(`${out}.tmp`, out);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
