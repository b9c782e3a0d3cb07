import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { ROOT, tempDir } from '../support/helpers';
import { freePort } from '../support/server';
import { alive, processesIn } from '../support/processes';
import { waitFor } from '../support/waitFor';

// The demo's orders service as production runs it (examples/demo/service/server.js and store.js,
// a real sqlite file in WAL mode, the demo's own migrations), written to the way a client writes:
// an id of its own, sent again when the answer did not come. Several instances (blue and green
// during a switch) write the same file.
const DEMO = path.join(ROOT, 'examples', 'demo');

interface Instance {
  port: number;
  child: ChildProcess;
  log: () => string;
}

function migrate(db: string, upTo: number): void {
  const dir = tempDir('rp-migrations-');
  for (const f of fs.readdirSync(path.join(DEMO, 'db', 'migrations')))
    if (Number(/^(\d+)/.exec(f)?.[1]) <= upTo) fs.copyFileSync(path.join(DEMO, 'db', 'migrations', f), path.join(dir, f));
  execFileSync('bash', [path.join(DEMO, 'tools', 'migrate.sh'), db, dir], { stdio: 'ignore' });
  fs.rmSync(dir, { recursive: true, force: true });
}

async function startInstance(dir: string, db: string, version: string): Promise<Instance> {
  const port = await freePort();
  const logFile = path.join(dir, `${version}-${port}.log`);
  const out = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [path.join(DEMO, 'service', 'server.js'), '--port', String(port), '--version', version, '--db', db], {
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  // Waits for the real service process to answer (a few hundred ms).
  let up = false;
  for (const end = Date.now() + 10_000; !up && Date.now() < end;) {
    up = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(up, `the service ${version} answers /health`);
  return { port, child, log: () => fs.readFileSync(logFile, 'utf8') };
}

async function stopInstance(i: Instance): Promise<void> {
  if (i.child.exitCode !== null || i.child.signalCode !== null) return;
  const ended = new Promise((r) => i.child.once('exit', r));
  i.child.kill('SIGTERM');
  await ended;
}

async function post(port: number, body: string | object): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

// Every reader waits for the lock (the store's last connection checkpoints the WAL as it closes).
const rows = (db: string, where = '1') =>
  Number(execFileSync('sqlite3', ['-cmd', '.timeout 5000', db, `SELECT count(*) FROM orders WHERE ${where};`], { encoding: 'utf8' }).trim());

describe('the demo orders service takes writes (real service, real sqlite file shared by its instances)', function () {
  this.timeout(120_000);
  let dir: string;
  let db: string;
  let instances: Instance[];

  beforeEach(() => {
    dir = tempDir('rp-orders-');
    db = path.join(dir, 'app.db');
    instances = [];
  });
  afterEach(async () => {
    for (const i of instances) await stopInstance(i);
    // Each instance's sqlite3 ends with it (its stdin closes): nothing of the test is left running.
    assert.ok(await waitFor(() => processesIn(dir).length === 0, 5000), `left running: ${processesIn(dir).join('\n')}`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an order sent twice is one row: 201 when it is committed, 200 when it comes again, 409 for other content under its id', async () => {
    migrate(db, 2);
    const s = await startInstance(dir, db, '1.1.0');
    instances.push(s);
    const order = { id: 500, customer: 'ada', total_cents: 1299 };
    const first = await post(s.port, order);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.deepEqual(first.body.order, { ...order, note: '' });
    const again = await post(s.port, order);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const other = await post(s.port, { ...order, total_cents: 1 });
    assert.equal(other.status, 409);
    assert.equal(rows(db, 'id = 500'), 1);
    assert.equal(rows(db, 'id = 500 AND total_cents = 1299'), 1, 'the first content is kept');
    const got = await fetch(`http://127.0.0.1:${s.port}/orders/500`);
    assert.equal(got.status, 200);
    assert.deepEqual(((await got.json()) as { order: unknown }).order, { ...order, note: '' });
  });

  it('a body that is not an order is refused with a 400 saying what was expected, and nothing is written', async () => {
    migrate(db, 2);
    const s = await startInstance(dir, db, '1.1.0');
    instances.push(s);
    const before = rows(db);
    const cases: [string | object, RegExp][] = [
      ['', /the body is not JSON/],
      ['{"id": 1,', /the body is not JSON/],
      ['null', /not a JSON object/],
      ['[{"id": 9}]', /not a JSON object/],
      [{ id: 0, customer: 'a', total_cents: 1 }, /id: expected a positive integer/],
      [{ id: -7, customer: 'a', total_cents: 1 }, /id: expected a positive integer/],
      [{ id: 1.5, customer: 'a', total_cents: 1 }, /id: expected a positive integer/],
      [{ id: '12', customer: 'a', total_cents: 1 }, /id: expected a positive integer/],
      ['{"id": 9007199254740993, "customer": "a", "total_cents": 1}', /id: expected a positive integer/],
      [{ id: 9, total_cents: 1 }, /customer: expected a text of 1 to 200 characters/],
      [{ id: 9, customer: '', total_cents: 1 }, /customer: expected a text/],
      [{ id: 9, customer: 'x'.repeat(201), total_cents: 1 }, /customer: expected a text of 1 to 200/],
      [{ id: 9, customer: 'a\nSELECT 1;', total_cents: 1 }, /customer: control characters are not allowed/],
      [{ id: 9, customer: 'a', total_cents: -1 }, /total_cents: expected an integer of 0 or more/],
      [{ id: 9, customer: 'a', total_cents: 1, note: 5 }, /note: expected a text/],
    ];
    for (const [body, why] of cases) {
      const r = await post(s.port, body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
      assert.match(String(r.body.error), why, JSON.stringify(body));
    }
    const huge = await post(s.port, JSON.stringify({ id: 9, customer: 'a', total_cents: 1, pad: 'x'.repeat(20_000) }));
    assert.equal(huge.status, 413);
    assert.equal(rows(db), before, 'no refused body wrote a row');
  });

  it('quotes and SQL in a customer name are stored as text, the table intact', async () => {
    migrate(db, 2);
    const s = await startInstance(dir, db, '1.1.0');
    instances.push(s);
    const customer = `o'brien'); DROP TABLE orders; --`;
    const r = await post(s.port, { id: 77, customer, total_cents: 5, note: `it's "quoted" \\ here` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(rows(db), 4, 'the three seeded orders and this one');
    const got = (await (await fetch(`http://127.0.0.1:${s.port}/orders/77`)).json()) as { order: { customer: string; note: string } };
    assert.equal(got.order.customer, customer);
    assert.equal(got.order.note, `it's "quoted" \\ here`);
  });

  it('an order id nobody wrote, or that is no id, is a 404', async () => {
    migrate(db, 1);
    const s = await startInstance(dir, db, '1.0.0');
    instances.push(s);
    for (const p of [
      '/orders/424242',
      '/orders/9007199254740991',
      '/orders/9007199254740993',
      '/orders/abc',
      '/orders/99999999999999999999',
      '/orders/',
      '/orders/1/x',
    ])
      assert.equal((await fetch(`http://127.0.0.1:${s.port}${p}`)).status, 404, p);
  });

  it('1.0.0 and 1.1.0 write the same file at once, across the additive migration: every acknowledged order is there', async () => {
    migrate(db, 1);
    const old = await startInstance(dir, db, '1.0.0');
    instances.push(old);
    let id = 10_000;
    const acked: number[] = [];
    const burst = (port: number, n: number) =>
      Promise.all(
        Array.from({ length: n }, async () => {
          const mine = id++;
          const r = await post(port, { id: mine, customer: `c${mine}`, total_cents: mine });
          if (r.status === 201) acked.push(mine);
          return r.status;
        }),
      );
    // The migration of the release runs while 1.0.0 writes: it waits for the write lock, it does not fail.
    const during = burst(old.port, 150);
    migrate(db, 2);
    const statuses = await during;
    const fresh = await startInstance(dir, db, '1.1.0');
    instances.push(fresh);
    // Blue (1.0.0, which does not know the new column) and green (1.1.0) both write, 150 at once each.
    const both = await Promise.all([burst(old.port, 150), burst(fresh.port, 150)]);
    const all = [...statuses, ...both.flat()];
    assert.deepEqual([...new Set(all)], [201], `every write committed: ${JSON.stringify(all.filter((x) => x !== 201))}`);
    assert.equal(acked.length, 450);
    assert.equal(rows(db, `id >= 10000`), 450);
    assert.equal(Number(execFileSync('sqlite3', ['-cmd', '.timeout 5000', db, 'SELECT MAX(version) FROM schema_migrations;'], { encoding: 'utf8' })), 2);
    assert.equal(execFileSync('sqlite3', ['-cmd', '.timeout 5000', db, 'PRAGMA journal_mode;'], { encoding: 'utf8' }).trim(), 'wal');
    assert.doesNotMatch(old.log() + fresh.log(), /ERROR|FATAL/);
  });

  it('the store process killed under the service: the next write is answered (the store starts again and waits for locks), none hangs', async () => {
    migrate(db, 2);
    const s = await startInstance(dir, db, '1.1.0');
    instances.push(s);
    assert.equal((await post(s.port, { id: 1001, customer: 'a', total_cents: 1 })).status, 201);
    const sqlite = processesIn(dir)
      .map((l) => l.split(' '))
      .find(([, cmd]) => /sqlite3$/.test(cmd));
    assert.ok(sqlite, `the store's sqlite3 runs: ${processesIn(dir).join('\n')}`);
    process.kill(Number(sqlite[0]), 'SIGKILL');
    assert.ok(await waitFor(() => !alive(Number(sqlite[0])), 5000), 'sqlite3 is gone');
    const next = await post(s.port, { id: 1002, customer: 'b', total_cents: 2 });
    assert.equal(next.status, 201, JSON.stringify(next.body));
    assert.equal(rows(db, 'id IN (1001, 1002)'), 2);
    // Killed again with 20 writes inside it, waiting for the write lock another writer (a migration)
    // holds: each is sent again to the next sqlite3, which waits for the lock too, and is committed.
    const holder = spawn('sqlite3', [db], { stdio: ['pipe', 'ignore', 'pipe'] });
    let holderErr = '';
    holder.stderr.on('data', (c) => (holderErr += c));
    holder.stdin.write("BEGIN IMMEDIATE;\nINSERT INTO orders (id, customer, total_cents) VALUES (29999, 'lock', 0);\nSELECT 1;\n");
    await new Promise((r) => setTimeout(r, 50));
    const writes = Array.from({ length: 20 }, (_, k) => post(s.port, { id: 30_000 + k, customer: 'w', total_cents: k }).then((r) => r.status));
    await new Promise((r) => setTimeout(r, 100));
    const store = processesIn(dir)
      .map((l) => l.split(' '))
      .find(([, cmd, flag]) => /sqlite3$/.test(cmd) && flag === '-batch');
    assert.ok(store, 'the store runs again');
    process.kill(Number(store[0]), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    holder.stdin.end('COMMIT;\n');
    await new Promise((r) => holder.once('exit', r));
    assert.equal(holderErr, '');
    const statuses = await Promise.all(writes);
    assert.deepEqual([...new Set(statuses)], [201], `every write committed: ${JSON.stringify(statuses)}`);
    assert.equal(rows(db, 'id >= 29999'), 21);
  });

  it('stopped (SIGTERM) while writes are under way: every write it acknowledged is in the file', async () => {
    migrate(db, 2);
    const s = await startInstance(dir, db, '1.1.0');
    instances.push(s);
    const acked: number[] = [];
    const sends = Array.from({ length: 300 }, (_, k) =>
      post(s.port, { id: 20_000 + k, customer: 'z', total_cents: k }).then(
        (r) => r.status === 201 && acked.push(20_000 + k),
        () => undefined,
      ),
    );
    setTimeout(() => s.child.kill('SIGTERM'), 20);
    await Promise.all(sends);
    await stopInstance(s);
    assert.ok(acked.length > 0, 'some writes were acknowledged before the stop');
    assert.equal(rows(db, `id IN (${acked.join(',')})`), acked.length);
  });
});
