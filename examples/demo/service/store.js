// The orders store: one sqlite3 process (the CLI) per service instance, fed SQL on its stdin and
// read back up to a marker line per request, so that a request never waits for a process to start.
// The file is in WAL mode with a busy timeout: several instances write it at once (blue and green
// during a switch; the fleet's four hosts all the time). An order is acknowledged only once the
// store has read it back after its commit.
//   const store = openStore('data/app.db'); await store.put({ id, customer, total_cents }); await store.get(id)
'use strict';
const { spawn } = require('node:child_process');

const BUSY_TIMEOUT_MS = 5000;
const MAX_TEXT = 200;

/** Why `order` (a parsed request body) is not an order, or undefined when it is one. */
function invalidOrder(order) {
  if (!order || typeof order !== 'object' || Array.isArray(order)) return 'the body is not a JSON object';
  if (!Number.isSafeInteger(order.id) || order.id <= 0) return 'id: expected a positive integer';
  for (const key of ['customer', 'note']) {
    const v = order[key];
    if (key === 'note' && v === undefined) continue;
    if (typeof v !== 'string' || !v.length || v.length > MAX_TEXT) return `${key}: expected a text of 1 to ${MAX_TEXT} characters`;
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(v)) return `${key}: control characters are not allowed`;
  }
  if (!Number.isSafeInteger(order.total_cents) || order.total_cents < 0) return 'total_cents: expected an integer of 0 or more';
  return undefined;
}

const sqlText = (s) => `'${s.replace(/'/g, "''")}'`;

function openStore(file) {
  let proc;
  let buffered = '';
  let seq = 0;
  let columns = [];
  const pending = []; // FIFO: sqlite3 answers in the order it was asked

  function start() {
    buffered = '';
    proc = spawn('sqlite3', ['-batch', file], { stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const head = pending[0];
        if (!head) continue;
        if (line === `@@END ${head.seq}`) {
          pending.shift();
          head.resolve(head.lines);
        } else head.lines.push(line);
      }
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (text) => console.error(`ERROR store: ${text.trim()}`));
    proc.stdin.on('error', () => {});
    // Every sqlite3 this store starts (again, after one ended) waits up to 5 s for a lock.
    proc.stdin.write(`.timeout ${BUSY_TIMEOUT_MS}\n`);
    const dead = proc;
    // The requests this sqlite3 had not answered go to the next one, once: each is idempotent (an
    // insert of an id that is there already changes nothing, and the order is read back).
    const ended = (why) => {
      if (proc !== dead) return;
      proc = undefined;
      for (const p of pending.splice(0)) {
        if (p.tries >= 2) p.reject(new Error(`sqlite3 ended (${why})`));
        else send(p);
      }
    };
    proc.on('exit', (code, signal) => ended(signal ?? code));
    proc.on('error', (e) => ended(e.message));
  }

  function send(p) {
    if (!proc) start();
    p.tries++;
    p.lines = [];
    pending.push(p);
    proc.stdin.write(`${p.sql}\nSELECT '@@END ${p.seq}';\n`);
  }

  /** Runs `sql` and resolves with its output lines (a failed statement shows as missing lines). */
  function run(sql) {
    return new Promise((resolve, reject) => send({ seq: ++seq, sql, tries: 0, lines: [], resolve, reject }));
  }

  const ready = run(`PRAGMA journal_mode=WAL;\nSELECT name FROM pragma_table_info('orders');`).then((lines) => {
    columns = lines.slice(1);
    if (!columns.includes('id')) throw new Error(`${file} has no orders table`);
  });
  ready.catch((e) => console.error(`FATAL store: ${e.message}`));

  const rowSql = (id) => `SELECT json_object(${columns.map((c) => `'${c}', ${c}`).join(', ')}) FROM orders WHERE id = ${id};`;

  return {
    ready,
    /** The order `id`, or undefined. */
    async get(id) {
      await ready;
      const [row] = await run(rowSql(id));
      return row ? JSON.parse(row) : undefined;
    },
    /**
     * Writes `order` once: { created: true } when this call committed it, { created: false } when
     * the same order was there already, { conflict } when another order has its id. Rejects when the
     * store could not commit it (the caller answers 503: the client may send it again).
     */
    async put(order) {
      await ready;
      const fields = ['id', 'customer', 'total_cents', ...(order.note !== undefined && columns.includes('note') ? ['note'] : [])];
      const values = fields.map((f) => (typeof order[f] === 'string' ? sqlText(order[f]) : String(order[f])));
      const lines = await run(
        `INSERT INTO orders (${fields.join(', ')}) VALUES (${values.join(', ')}) ON CONFLICT(id) DO NOTHING RETURNING id;\n${rowSql(order.id)}`,
      );
      const row = lines.find((l) => l.startsWith('{'));
      if (!row) throw new Error(`order ${order.id} was not committed`);
      const stored = JSON.parse(row);
      if (lines[0] === String(order.id)) return { created: true, row: stored };
      const same = fields.every((f) => stored[f] === order[f]);
      return same ? { created: false, row: stored } : { conflict: stored };
    },
    close() {
      if (proc) proc.stdin.end();
    },
  };
}

const MAX_BODY = 16 * 1024;

/**
 * The write API over `store`: POST /orders (an order with the id the client chose: 201 when this
 * request committed it, 200 when the same order was there already, 409 when another order has that
 * id, 400 for a body that is not an order, 503 when the store could not commit it) and
 * GET /orders/ID (200 or 404). Answers through `json(code, body)`; false for any other request.
 */
function handleOrders(store, req, json) {
  const url = new URL(req.url, 'http://x');
  const one = /^\/orders\/(\d{1,16})$/.exec(url.pathname);
  if (req.method === 'GET' && one && Number.isSafeInteger(Number(one[1]))) {
    store.get(Number(one[1])).then(
      (row) => (row ? json(200, { order: row }) : json(404, { error: `no order ${one[1]}` })),
      (e) => json(503, { error: `store unavailable: ${e.message}` }),
    );
    return true;
  }
  if (url.pathname !== '/orders') return false;
  if (req.method !== 'POST') {
    json(405, { error: 'POST an order to /orders' });
    return true;
  }
  let body = '';
  let tooBig = false;
  req.setEncoding('utf8');
  req.on('data', (c) => {
    body += c;
    if (body.length > MAX_BODY) tooBig = true;
  });
  req.on('end', () => {
    if (tooBig) return json(413, { error: `an order is at most ${MAX_BODY} bytes` });
    let order;
    try {
      order = JSON.parse(body);
    } catch {
      return json(400, { error: 'the body is not JSON' });
    }
    const why = invalidOrder(order);
    if (why) return json(400, { error: why });
    store.put(order).then(
      (r) =>
        r.conflict ? json(409, { error: `order ${order.id} exists with other content`, order: r.conflict }) : json(r.created ? 201 : 200, { order: r.row }),
      (e) => {
        console.error(`ERROR order ${order.id} not written: ${e.message}`);
        json(503, { error: 'the order was not written; send it again' });
      },
    );
  });
  return true;
}

module.exports = { openStore, invalidOrder, handleOrders };
