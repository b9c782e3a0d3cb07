import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { countWrites, takeMarks, type DbEnv } from '../../src/core/engine/run/dbWrites';
import { CARRY_FILE, KEPT_FILE, copyOut, putBack } from '../../src/core/engine/run/dbCarry';
import type { DbWrites } from '../../src/core/model/schema-database';
import { startMariadb, startPostgres, type DbServer } from '../support/databases';
import { processesIn } from '../support/processes';
import { waitFor } from '../support/waitFor';
import { tempDir } from '../support/helpers';

/** A database the test backs up and restores for real: its SQL, where writes are read, the backup and the restore. */
interface Db {
  name: string;
  w: DbWrites;
  /** Runs SQL; returns its rows' text. */
  sql(text: string): string;
  /** Empties the database (every table gone). */
  clear(): void;
  backup(): void;
  restore(): void;
  /** The column types this engine spells: an integer key, a bigint, text, a short unique text. */
  types: { int: string; big: string; text: string; short: string };
}

const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

/**
 * Marks, a change made straight on the database (the writes since the backup), the copy, the real
 * restore, anything written after the restore (the previous version running), then the put-back.
 */
async function carry(db: Db, setup: string[], change: string[], afterRestore: string[] = []) {
  db.clear();
  for (const s of setup) db.sql(s);
  db.backup();
  const env: DbEnv = { cwd: os_tmp, resolve: (t) => t, env: process.env };
  const marks = await takeMarks(db.w, env);
  for (const c of change) db.sql(c);
  const count = await countWrites(db.w, marks, env);
  const dir = tempDir('rp-carry-run-');
  const copied = await copyOut(db.w, marks, count, env, dir);
  db.restore();
  for (const a of afterRestore) db.sql(a);
  const carried = await putBack(db.w, copied, env, dir);
  return { count, carried, copiedLines: lines(path.join(dir, CARRY_FILE)), keptLines: lines(path.join(dir, KEPT_FILE)), dir };
}

let os_tmp = '';

function sqliteDb(dir: string): Db {
  const file = path.join(dir, 'app.db');
  const backup = path.join(dir, 'app.backup.db');
  return {
    name: 'SQLite',
    w: { sqlite: file },
    sql: (text) => execFileSync('sqlite3', ['-batch', '-noheader', file, text], { encoding: 'utf8' }).trim(),
    clear: () => fs.rmSync(file, { force: true }),
    backup: () => execFileSync('sqlite3', [file, `.backup '${backup}'`]),
    restore: () => fs.copyFileSync(backup, file),
    types: { int: 'INTEGER', big: 'INTEGER', text: 'TEXT', short: 'TEXT' },
  };
}

function postgresDb(dir: string, pg: DbServer & { port: number }): Db {
  const dump = path.join(dir, 'pg.dump');
  const env = { ...process.env, ...pg.env };
  return {
    name: 'PostgreSQL',
    w: { postgres: { url: `postgres://app@127.0.0.1:${pg.port}/app` } },
    sql: (t) => pg.sql(t),
    clear: () => pg.sql('DROP SCHEMA public CASCADE; CREATE SCHEMA public'),
    backup: () => execFileSync('pg_dump', ['-Fc', '-f', dump], { env }),
    restore: () => {
      pg.sql('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
      execFileSync('pg_restore', ['-d', 'app', dump], { env });
    },
    types: { int: 'integer', big: 'bigint', text: 'text', short: 'varchar(40)' },
  };
}

function mariadbDb(dir: string, m: DbServer & { socket: string }): Db {
  const dump = path.join(dir, 'maria.sql');
  return {
    name: 'MariaDB',
    w: { mysql: { socket: m.socket, user: 'root', database: 'app' } },
    sql: (t) => m.sql(t),
    clear: () => {
      m.sql('DROP DATABASE app; CREATE DATABASE app');
    },
    backup: () => execFileSync('bash', ['-c', `mariadb-dump --no-defaults --socket="${m.socket}" -u root app > '${dump}'`]),
    restore: () => {
      m.sql('DROP DATABASE app; CREATE DATABASE app');
      execFileSync('bash', ['-c', `mariadb --no-defaults --socket="${m.socket}" -u root app < '${dump}'`]);
    },
    types: { int: 'INT', big: 'BIGINT', text: 'LONGTEXT CHARACTER SET utf8mb4', short: 'VARCHAR(40)' },
  };
}

describe('a restore carries the writes since the backup forward: SQLite, PostgreSQL 15 and MariaDB', function () {
  this.timeout(240_000);
  let tmp: string;
  const dbs: Db[] = [];
  const servers: DbServer[] = [];

  before(async function () {
    tmp = tempDir('rp-carry-');
    os_tmp = tmp;
    dbs.push(sqliteDb(tmp));
    const pg = await startPostgres(tmp);
    servers.push(pg);
    dbs.push(postgresDb(tmp, pg));
    const maria = await startMariadb(tmp);
    servers.push(maria);
    dbs.push(mariadbDb(tmp, maria));
  });

  after(async () => {
    for (const s of servers) await s.stop();
    // Waits for the database servers to end.
    const left = await waitFor(() => processesIn(tmp).length === 0, 20_000, 100);
    assert.ok(left, `processes left running: ${processesIn(tmp).join('\n')}`);
  });

  const orders = (d: Db) => [
    `CREATE TABLE orders (id ${d.types.int} PRIMARY KEY, item ${d.types.text} NOT NULL)`,
    "INSERT INTO orders VALUES (1, 'a'), (2, 'b')",
  ];
  const count = (d: Db, t: string, where = '1 = 1') => Number(d.sql(`SELECT count(*) FROM ${t} WHERE ${where}`));

  it('SQLite: a BLOB value cannot be copied as JSON: the copy fails, so no restore may start, and no file is left half written', async () => {
    const d = dbs[0];
    d.clear();
    d.sql("CREATE TABLE files (id INTEGER PRIMARY KEY, data BLOB); INSERT INTO files VALUES (1, x'00ff')");
    const env: DbEnv = { cwd: tmp, resolve: (t) => t, env: process.env };
    const marks = await takeMarks(d.w, env);
    d.sql("INSERT INTO files VALUES (2, x'0102')");
    const dir = tempDir('rp-carry-run-');
    await assert.rejects(copyOut(d.w, marks, await countWrites(d.w, marks, env), env, dir), /BLOB/);
    assert.equal(fs.existsSync(path.join(dir, CARRY_FILE)), false);
  });

  for (const which of ['SQLite', 'PostgreSQL', 'MariaDB']) {
    const db = () => dbs.find((d) => d.name === which)!;

    it(`${which}: rows inserted since the backup are back after the restore, and a NOT NULL column the restore drops is left out`, async () => {
      const d = db();
      const r = await carry(d, orders(d), [
        `ALTER TABLE orders ADD COLUMN region ${d.types.short} NOT NULL DEFAULT 'eu'`,
        "INSERT INTO orders (id, item, region) VALUES (3, 'c', 'us'), (4, 'd', 'us')",
      ]);
      assert.deepEqual([r.carried.writes, r.carried.carried, r.carried.kept], [2, 2, 0]);
      assert.equal(count(d, 'orders'), 4);
      // The rows below the marks are proven as marked: only the two above them are copied.
      assert.equal(r.carried.unchanged, 0);
      assert.deepEqual(
        r.copiedLines.map((l) => JSON.parse(l) as unknown),
        [
          { table: 'orders', row: { id: 3, item: 'c', region: 'us' } },
          { table: 'orders', row: { id: 4, item: 'd', region: 'us' } },
        ],
      );
      assert.equal(r.keptLines.length, 0);
    });

    it(`${which}: no writes since the backup: nothing is copied and no file is made`, async () => {
      const d = db();
      const r = await carry(d, orders(d), []);
      assert.equal(r.count.total, 0);
      assert.deepEqual({ ...r.carried, windowMs: 0 }, { writes: 0, carried: 0, kept: 0, unchanged: 0, windowMs: 0, dropped: [] });
      assert.equal(fs.existsSync(path.join(r.dir, CARRY_FILE)), false);
      assert.equal(fs.existsSync(path.join(r.dir, KEPT_FILE)), false);
    });

    it(`${which}: a table without a primary key: its new rows come back, once each`, async () => {
      const d = db();
      const r = await carry(
        d,
        [`CREATE TABLE events (what ${d.types.short}, n ${d.types.int})`, "INSERT INTO events VALUES ('a', 1), ('b', 2)"],
        ["INSERT INTO events VALUES ('c', 3), ('d', 4)"],
      );
      assert.equal(r.carried.carried, 2, JSON.stringify(r.carried));
      assert.equal(count(d, 'events'), 4);
    });

    it(`${which}: a table without a key: two identical rows written since both come back, and the counts say so`, async () => {
      const d = db();
      const r = await carry(d, [`CREATE TABLE log (msg ${d.types.short})`, "INSERT INTO log VALUES ('x')"], ["INSERT INTO log VALUES ('nokey'), ('nokey')"]);
      assert.equal(count(d, 'log', "msg = 'nokey'"), 2);
      assert.equal(count(d, 'log'), 3);
      assert.deepEqual([r.carried.carried, r.carried.kept], [2, 0], JSON.stringify(r.carried));
    });

    it(`${which}: a table without a key: a row the backup held once and written twice more since is there three times`, async () => {
      const d = db();
      const r = await carry(
        d,
        [`CREATE TABLE log (msg ${d.types.short}, n ${d.types.int})`, "INSERT INTO log VALUES ('dup', 1), (NULL, NULL)"],
        ["INSERT INTO log VALUES ('dup', 1), ('dup', 1), (NULL, NULL)"],
      );
      assert.equal(count(d, 'log', "msg = 'dup' AND n = 1"), 3);
      assert.equal(count(d, 'log', 'msg IS NULL AND n IS NULL'), 2);
      assert.deepEqual([r.carried.carried, r.carried.kept], [3, 0], JSON.stringify(r.carried));
    });

    it(`${which}: a table without a key: identical rows deleted since are back as the backup held them, none added`, async () => {
      const d = db();
      const r = await carry(
        d,
        [`CREATE TABLE log (msg ${d.types.short})`, "INSERT INTO log VALUES ('a'), ('a'), ('a')"],
        ["DELETE FROM log WHERE msg = 'a'", "INSERT INTO log VALUES ('a'), ('b')"],
      );
      assert.equal(count(d, 'log', "msg = 'a'"), 3);
      assert.equal(count(d, 'log', "msg = 'b'"), 1);
      assert.deepEqual([r.carried.carried, r.carried.kept], [1, 0], JSON.stringify(r.carried));
    });

    it(`${which}: a table made by the migration is not in the restored schema: its rows are kept in the file, with why`, async () => {
      const d = db();
      const r = await carry(d, orders(d), [`CREATE TABLE coupons (code ${d.types.short} PRIMARY KEY)`, "INSERT INTO coupons VALUES ('X1'), ('X2')"]);
      assert.deepEqual([r.carried.carried, r.carried.kept, r.carried.keptFile], [0, 2, KEPT_FILE]);
      const kept = r.keptLines.map((l) => JSON.parse(l) as { table: string; why: string; row: { code: string } });
      assert.deepEqual(
        kept.map((k) => k.row.code),
        ['X1', 'X2'],
      );
      assert.match(kept[0].why, /table coupons is not in the restored schema/);
    });

    it(`${which}: a row whose unique value the restored table already holds is kept in the file; the others come back`, async () => {
      const d = db();
      const r = await carry(
        d,
        [`CREATE TABLE users (id ${d.types.int} PRIMARY KEY, email ${d.types.short} UNIQUE)`, "INSERT INTO users VALUES (1, 'a@x')"],
        ["INSERT INTO users VALUES (2, 'b@x'), (3, 'c@x')"],
        // The previous version, running again after the restore, takes b@x under another id.
        ["INSERT INTO users VALUES (50, 'b@x')"],
      );
      assert.deepEqual([r.carried.writes, r.carried.carried, r.carried.kept], [2, 1, 1]);
      assert.equal(count(d, 'users'), 3);
      const kept = JSON.parse(r.keptLines[0]) as { why: string; row: { id: number } };
      assert.equal(kept.row.id, 2);
      assert.match(kept.why, /unique|duplicate/i);
    });

    it(`${which}: a row the previous version wrote after the restore under a carried id is never overwritten; the carried one is kept`, async () => {
      const d = db();
      const r = await carry(d, orders(d), ["INSERT INTO orders VALUES (3, 'carried')"], ["INSERT INTO orders VALUES (3, 'written after')"]);
      assert.deepEqual([r.carried.carried, r.carried.kept], [0, 1]);
      assert.equal(d.sql('SELECT item FROM orders WHERE id = 3'), 'written after');
      assert.equal((JSON.parse(r.keptLines[0]) as { row: { item: string } }).row.item, 'carried');
    });

    it(`${which}: a row updated below the marks is put back by its key; one deleted since is back as the backup held it`, async () => {
      const d = db();
      const r = await carry(d, orders(d), ["UPDATE orders SET item = 'changed' WHERE id = 1", 'DELETE FROM orders WHERE id = 2']);
      assert.deepEqual([r.carried.carried, r.carried.kept], [1, 0]);
      assert.equal(d.sql('SELECT item FROM orders WHERE id = 1'), 'changed');
      assert.equal(count(d, 'orders'), 2);
    });

    it(`${which}: ids beyond 2^53, quotes, backslashes, newlines, tabs, unicode and NUL come back exactly (a row with a NUL SQLite cannot put back is kept whole)`, async () => {
      const d = db();
      const weird = `it's "q" \\ back\\slash\nline\ttab ünï 😀`;
      const lit = (s: string) => (d.name === 'MariaDB' ? `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'` : `'${s.replace(/'/g, "''")}'`);
      const r = await carry(
        d,
        [`CREATE TABLE big (id ${d.types.big} PRIMARY KEY, v ${d.types.text})`, "INSERT INTO big VALUES (9007199254740993, 'a')"],
        [
          `${d.name === 'MariaDB' ? 'SET NAMES utf8mb4; ' : ''}INSERT INTO big VALUES (9007199254740995, ${lit(weird)}), (9007199254740997, NULL), (9007199254740999, '')`,
        ],
      );
      assert.deepEqual([r.carried.carried, r.carried.kept], [3, 0], r.keptLines.join('\n'));
      assert.equal(
        d.sql(
          'SELECT group_concat(id) FROM (SELECT id FROM big ORDER BY id) x'.replace(
            'group_concat(id)',
            d.name === 'PostgreSQL' ? "string_agg(id::text, ',')" : 'group_concat(id)',
          ),
        ),
        '9007199254740993,9007199254740995,9007199254740997,9007199254740999',
      );
      const hex = d.name === 'PostgreSQL' ? "encode(convert_to(v, 'UTF8'), 'hex')" : d.name === 'MariaDB' ? 'HEX(v)' : 'hex(v)';
      assert.equal(d.sql(`SELECT ${hex} FROM big WHERE id = 9007199254740995`).toLowerCase(), Buffer.from(weird, 'utf8').toString('hex'));
      assert.equal(count(d, 'big', 'v IS NULL'), 1);
      assert.equal(count(d, 'big', "v = ''"), 1, 'the empty text stays empty, not NULL');
      if (d.name !== 'PostgreSQL') {
        // A NUL inside a text (PostgreSQL's text cannot hold one).
        const nul = d.name === 'MariaDB' ? "CONCAT('a', CHAR(0), 'b')" : "'a' || char(0) || 'b'";
        const again = await carry(d, [`CREATE TABLE big (id ${d.types.big} PRIMARY KEY, v ${d.types.text})`], [`INSERT INTO big VALUES (1, ${nul})`]);
        if (d.name === 'MariaDB') {
          assert.deepEqual([again.carried.carried, again.carried.kept], [1, 0]);
          assert.equal(d.sql('SELECT HEX(v) FROM big WHERE id = 1'), '610062');
        } else {
          // SQLite's JSON functions end a text at its NUL: the row is kept in the file whole, not put back cut.
          assert.deepEqual([again.carried.carried, again.carried.kept], [0, 1]);
          assert.match(again.keptLines[0], /"v":"a\\u0000b"/);
          assert.match(again.keptLines[0], /NUL/);
        }
      }
    });

    it(`${which}: a huge row (4 MB) comes back whole`, async () => {
      const d = db();
      const big = d.name === 'PostgreSQL' ? "repeat('x', 4194304)" : d.name === 'MariaDB' ? "REPEAT('x', 4194304)" : "printf('%.*c', 4194304, 'x')";
      const r = await carry(d, [`CREATE TABLE blobs (id ${d.types.int} PRIMARY KEY, v ${d.types.text})`], [`INSERT INTO blobs VALUES (1, ${big})`]);
      assert.deepEqual([r.carried.carried, r.carried.kept], [1, 0]);
      assert.equal(d.sql(`SELECT length(v) FROM blobs WHERE id = 1`), '4194304');
    });

    it(`${which}: a table the migration dropped is named; the restore brings its rows back`, async () => {
      const d = db();
      const r = await carry(d, orders(d), ['DROP TABLE orders']);
      assert.deepEqual(r.carried.dropped, ['orders']);
      assert.equal(count(d, 'orders'), 2);
    });
  }
});
