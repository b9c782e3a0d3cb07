import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { countWrites, provenNone, takeMarks, type DbEnv, type WritesCount } from '../../src/core/engine/run/dbWrites';
import { tempDir } from '../support/helpers';

/**
 * A count of 0 is a proof: each table's content fingerprint at the marks, compared again. Every case
 * below changes what a restore would discard while keeping rows and highest key as they were.
 */
describe('the writes since the backup: 0 only when every table is proven unchanged (sqlite)', function () {
  this.timeout(60_000);

  async function measure(setup: string, change: string): Promise<WritesCount> {
    const dir = tempDir('rp-proof-');
    const file = path.join(dir, 'app.db');
    const sql = (text: string) => execFileSync('sqlite3', ['-batch', file, text], { encoding: 'utf8' });
    sql(setup);
    const e: DbEnv = { cwd: dir, resolve: (t) => t, env: process.env };
    const marks = await takeMarks({ sqlite: file }, e);
    if (change) sql(change);
    return countWrites({ sqlite: file }, marks, e);
  }
  const ORDERS = "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT); INSERT INTO orders(item) VALUES ('a'), ('b');";

  it('a row deleted and its key reused by a new row counts a write', async () => {
    const w = await measure(ORDERS, "DELETE FROM orders WHERE id = 2; INSERT INTO orders(item) VALUES ('acked')");
    assert.ok(w.total >= 1 && !provenNone(w), JSON.stringify(w));
  });

  it('a dropped table counts every row it held', async () => {
    const w = await measure(ORDERS, 'DROP TABLE orders');
    assert.equal(w.total, 2);
    assert.ok(!provenNone(w));
  });

  it('an empty table dropped counts a write', async () => {
    const w = await measure(`${ORDERS} CREATE TABLE notes (x TEXT);`, 'DROP TABLE notes');
    assert.deepEqual(w.tables, { notes: 1 });
  });

  it('a row inserted below the marked keys counts a write', async () => {
    const w = await measure(ORDERS, "INSERT INTO orders(id, item) VALUES (-5, 'below')");
    assert.ok(w.total >= 1 && !provenNone(w), JSON.stringify(w));
  });

  it('a table without an integer key: one row deleted and one inserted counts a write', async () => {
    const w = await measure(
      "CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID; INSERT INTO t VALUES ('a', '1'), ('b', '2');",
      "DELETE FROM t WHERE k = 'a'; INSERT INTO t VALUES ('c', '3')",
    );
    assert.ok(w.total >= 1 && w.atLeast, JSON.stringify(w));
  });

  it('a row updated in place counts a write', async () => {
    const w = await measure(ORDERS, "UPDATE orders SET item = 'changed' WHERE id = 1");
    assert.deepEqual(w, { total: 1, tables: { orders: 1 }, atLeast: true });
  });

  it('a row updated and then set back to the same content is proven unchanged: 0', async () => {
    const w = await measure(ORDERS, "UPDATE orders SET item = 'changed' WHERE id = 1; UPDATE orders SET item = 'a' WHERE id = 1");
    assert.deepEqual(w, { total: 0, tables: {} });
    assert.ok(provenNone(w));
  });

  it('a renamed table counts its rows gone and its rows made', async () => {
    const w = await measure(ORDERS, 'ALTER TABLE orders RENAME TO purchases');
    assert.deepEqual(w.tables, { orders: 2, purchases: 2 });
  });

  it('a column added and written in one row counts a write; one holding its default everywhere does not', async () => {
    const written = await measure(ORDERS, "ALTER TABLE orders ADD COLUMN region TEXT NOT NULL DEFAULT 'eu'; UPDATE orders SET region = 'us' WHERE id = 2");
    assert.ok(written.total >= 1 && !provenNone(written), JSON.stringify(written));
    const fill = await measure(ORDERS, "ALTER TABLE orders ADD COLUMN region TEXT NOT NULL DEFAULT 'eu'");
    assert.ok(provenNone(fill), JSON.stringify(fill));
  });

  it('ten tables, one changed in place: only that one counts', async () => {
    const setup = Array.from({ length: 10 }, (_, i) => `CREATE TABLE t${i} (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t${i}(v) VALUES ('a'), ('b');`).join(
      ' ',
    );
    const w = await measure(setup, "UPDATE t7 SET v = 'x' WHERE id = 2");
    assert.deepEqual(w, { total: 1, tables: { t7: 1 }, atLeast: true });
  });

  it('table and column names that need quoting are fingerprinted: an update in place in them counts', async () => {
    const w = await measure(
      `CREATE TABLE "it's ""t""" ("o'k" TEXT, "a""b" TEXT); INSERT INTO "it's ""t""" VALUES ('1', '2');`,
      `UPDATE "it's ""t""" SET "a""b" = '3'`,
    );
    assert.deepEqual(w.tables, { 'it\'s "t"': 1 });
  });

  it('nothing changed, and an empty table made since: proven 0', async () => {
    const w = await measure(ORDERS, 'CREATE TABLE m1 (x)');
    assert.deepEqual(w, { total: 0, tables: {} });
  });
});
