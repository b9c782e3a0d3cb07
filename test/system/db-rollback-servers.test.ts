import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { countWrites, provenNone, takeMarks, type DbEnv } from '../../src/core/engine/run/dbWrites';
import type { DbWrites } from '../../src/core/model/schema-database';
import { buildReport, renderMarkdown } from '../../src/core/report/report';
import { startMariadb, startPostgres, type DbServer } from '../support/databases';
import { processesIn } from '../support/processes';
import { waitFor } from '../support/waitFor';
import { tempDir } from '../support/helpers';
import { scripted, smallPlan, workspace, type Workspace } from '../support/fixtures';

/** What a database needs for the release: its client commands, written as a step runs them, and where writes are counted. */
interface Engine {
  name: string;
  server: DbServer;
  /** A shell command running one SQL text. */
  sql: (text: string) => string;
  backup: string;
  restore: string;
  writes: string;
  env: string;
  /** The migration: a NOT NULL column the old version's inserts do not fill. */
  migrate: string;
  down: string;
}

const WRITER_ROWS = 12;

/**
 * The release: a backup, the migration, then a deploy whose new version takes writes (a writer
 * process inserting rows with ids it chooses, 1001 on, each id noted once the server acknowledged
 * it) and then fails its check; the person rolls back.
 */
function planFor(e: Engine, database: string): Workspace {
  const writer = `for i in $(seq 1001 ${1000 + WRITER_ROWS}); do ${e.sql("INSERT INTO orders (id, item, region) VALUES ($i, 'new', 'us')")} && echo $i >> acked.txt; done; echo "health check failed" >&2; exit 9`;
  const text = smallPlan({
    deploy: `    steps:\n      - name: deploy and take writes\n        run: ${JSON.stringify(writer)}`,
    rollback: `    - name: code back\n      run: rm -f deployed.txt\n  database:\n${database}`,
    extra: e.env,
  })
    .replace(`mkdir -p "$(dirname '\${backup.path}')" && cp state.txt '\${backup.path}'`, `mkdir -p "$(dirname '\${backup.path}')" && ${e.backup}`)
    .replace('run: echo migrated >> state.txt', `run: ${JSON.stringify(e.migrate)}`);
  return workspace(text);
}

const ORDERS = "INSERT INTO orders (id, item) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')";
const idsOf = (e: Engine) => e.server.sql('SELECT id FROM orders ORDER BY id').split('\n').filter(Boolean).map(Number);
const acked = (ws: Workspace) => fs.readFileSync(path.join(ws.dir, 'acked.txt'), 'utf8').trim().split('\n').map(Number);

async function rolledBack(ws: Workspace): Promise<Release> {
  const r = await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'rollback' }] }) }));
  await r.run();
  return r;
}

describe('rollback keeps acknowledged writes: real PostgreSQL 15 and MariaDB', function () {
  this.timeout(240_000);
  let tmp: string;
  const engines: Engine[] = [];

  before(async function () {
    tmp = tempDir('rp-dbrb-');
    const pg = await startPostgres(tmp);
    const pgUrl = `postgres://app@127.0.0.1:${pg.port}/app`;
    const psql = (t: string) => `psql -X -q -v ON_ERROR_STOP=1 -c ${JSON.stringify(t)}`;
    engines.push({
      name: 'PostgreSQL',
      server: pg,
      sql: psql,
      env: `env:\n${Object.entries(pg.env)
        .map(([k, v]) => `  ${k}: "${v}"`)
        .join('\n')}`,
      backup: "pg_dump -Fc -f '${backup.path}'",
      restore: "pg_restore --clean --if-exists -d app '${backup.path}'",
      writes: `    writes:\n      postgres: { url: "${pgUrl}" }`,
      migrate: psql("ALTER TABLE orders ADD COLUMN region text NOT NULL DEFAULT 'eu'; ALTER TABLE orders ALTER COLUMN region DROP DEFAULT"),
      down: psql('ALTER TABLE orders DROP COLUMN region'),
    });
    const maria = await startMariadb(tmp);
    const m = (t: string) => `mariadb --socket="$DB_SOCKET" -u root app -e ${JSON.stringify(t)}`;
    engines.push({
      name: 'MariaDB',
      server: maria,
      sql: m,
      env: `env:\n  DB_SOCKET: "${maria.socket}"`,
      backup: `mariadb-dump --socket="$DB_SOCKET" -u root app > '\${backup.path}'`,
      restore: `mariadb --socket="$DB_SOCKET" -u root app < '\${backup.path}'`,
      writes: `    writes:\n      mysql: { socket: "${maria.socket}", user: root, database: app }`,
      migrate: m('ALTER TABLE orders ADD COLUMN region VARCHAR(8) NOT NULL'),
      down: m('ALTER TABLE orders DROP COLUMN region'),
    });
  });

  after(async () => {
    for (const e of engines) await e.server.stop();
    // Waits for the database servers to end.
    const left = await waitFor(() => processesIn(tmp).length === 0, 20_000, 100);
    assert.ok(left, `processes left running: ${processesIn(tmp).join('\n')}`);
  });

  const fresh = (e: Engine) => {
    e.server.sql('DROP TABLE IF EXISTS orders');
    e.server.sql(
      `CREATE TABLE orders (id ${e.name === 'MariaDB' ? 'INT' : 'integer'} PRIMARY KEY, item ${e.name === 'MariaDB' ? 'VARCHAR(20)' : 'text'} NOT NULL)`,
    );
    e.server.sql(ORDERS);
  };

  /** The writes counted between the marks and a change made straight on the server. */
  async function measure(e: Engine, setup: string[], change: string[]) {
    e.server.sql('DROP TABLE IF EXISTS orders');
    e.server.sql('DROP TABLE IF EXISTS tokens');
    for (const t of setup) e.server.sql(t);
    const w: DbWrites =
      e.name === 'MariaDB'
        ? { mysql: { socket: (e.server as DbServer & { socket: string }).socket, user: 'root', database: 'app' } }
        : { postgres: { url: `postgres://app@127.0.0.1:${(e.server as DbServer & { port: number }).port}/app` } };
    const env: DbEnv = { cwd: tmp, resolve: (t) => t, env: process.env };
    const marks = await takeMarks(w, env);
    for (const t of change) e.server.sql(t);
    return countWrites(w, marks, env);
  }
  const ORDERS_T = ['CREATE TABLE orders (id integer PRIMARY KEY, item varchar(20) NOT NULL)', "INSERT INTO orders VALUES (1, 'a'), (2, 'b')"];

  for (const which of ['PostgreSQL', 'MariaDB']) {
    it(`${which}: a row inserted below the marked keys counts a write`, async () => {
      const w = await measure(
        engines.find((x) => x.name === which)!,
        ORDERS_T,
        ["INSERT INTO orders VALUES (-5, 'below')"],
      );
      assert.ok(w.total >= 1 && !provenNone(w), JSON.stringify(w));
    });

    it(`${which}: a table keyed by text: one row deleted and one inserted counts a write`, async () => {
      const w = await measure(
        engines.find((x) => x.name === which)!,
        [
          'CREATE TABLE tokens (k varchar(36) PRIMARY KEY, v varchar(20))',
          "INSERT INTO tokens VALUES ('6f1c0a4e-0000-4000-8000-000000000001', 'a'), ('6f1c0a4e-0000-4000-8000-000000000002', 'b')",
        ],
        ["DELETE FROM tokens WHERE v = 'a'", "INSERT INTO tokens VALUES ('6f1c0a4e-0000-4000-8000-000000000003', 'c')"],
      );
      assert.deepEqual(w, { total: 1, tables: { tokens: 1 }, atLeast: true });
    });

    it(`${which}: a row updated in place counts a write; set back to its content, it is proven 0`, async () => {
      const e = engines.find((x) => x.name === which)!;
      const w = await measure(e, ORDERS_T, ["UPDATE orders SET item = 'changed' WHERE id = 1"]);
      assert.deepEqual(w, { total: 1, tables: { orders: 1 }, atLeast: true });
      const back = await measure(e, ORDERS_T, ["UPDATE orders SET item = 'changed' WHERE id = 1", "UPDATE orders SET item = 'a' WHERE id = 1"]);
      assert.ok(provenNone(back), JSON.stringify(back));
    });

    it(`${which}: a dropped table counts every row it held`, async () => {
      const w = await measure(
        engines.find((x) => x.name === which)!,
        ORDERS_T,
        ['DROP TABLE orders'],
      );
      assert.deepEqual(w, { total: 2, tables: { orders: 2 }, atLeast: true });
    });
  }

  for (const which of ['PostgreSQL', 'MariaDB']) {
    it(`${which}: strategy down undoes the migration and every acknowledged row is still there`, async () => {
      const e = engines.find((x) => x.name === which)!;
      fresh(e);
      const ws = planFor(e, `    strategy: down\n    down:\n      - name: undo the migration\n        run: ${JSON.stringify(e.down)}\n${e.writes}`);
      const r = await rolledBack(ws);
      const s = r.snapshot;
      assert.equal(s.status, 'rolled-back', s.outcomeMessage);
      const ack = acked(ws);
      assert.equal(ack.length, WRITER_ROWS);
      const ids = idsOf(e);
      assert.deepEqual(
        ack.filter((id) => !ids.includes(id)),
        [],
        'every acknowledged row is there',
      );
      assert.equal(ids.length, 5 + WRITER_ROWS);
      // The old version runs again on the schema: its insert has no region.
      e.server.sql("INSERT INTO orders (id, item) VALUES (2001, 'old')");
      assert.equal(s.rollback?.database?.writes, WRITER_ROWS);
      assert.match(
        renderMarkdown(buildReport(s)),
        new RegExp(`strategy down: down steps passed; writes since the backup: (at least )?${WRITER_ROWS}; kept: ${WRITER_ROWS} / discarded: 0`),
      );
    });

    it(`${which}: strategy restore waits for a person; the count it shows is the number of rows the confirmed restore carries forward, each acknowledged row in the database or the file`, async () => {
      const e = engines.find((x) => x.name === which)!;
      fresh(e);
      const ws = planFor(
        e,
        `    strategy: restore\n    carryForward: true\n    restore:\n      - name: restore the backup\n        run: ${JSON.stringify(e.restore)}\n${e.writes}`,
      );
      const r = await rolledBack(ws);
      assert.equal(r.snapshot.status, 'paused', r.snapshot.outcomeMessage);
      const shown =
        /restore would replace (?:at least )?(\d+) writes \(orders: (\d+)\) made since the backup; they are copied to carried-writes.jsonl first/.exec(
          r.snapshot.pausedAt?.message ?? '',
        );
      assert.ok(shown, r.snapshot.pausedAt?.message);
      const before = idsOf(e);
      assert.equal(before.length, 5 + WRITER_ROWS, 'nothing was restored while it waits');
      const prompter = scripted();
      const s = await (await Release.reopen(ws.options({ prompter }), r.runId)).rollbackFinished('restore it', { restore: true });
      assert.equal(s.status, 'rolled-back', s.outcomeMessage);
      // The backup's schema is back (no region column), and every row written since is back in it.
      assert.equal(e.server.sql(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'region'`), '0');
      const after = idsOf(e);
      assert.deepEqual(after, before);
      const runDir = path.join(ws.dir, '.release', 'runs', r.runId);
      const kept = fs.existsSync(path.join(runDir, 'carried-writes.kept.jsonl'))
        ? fs
            .readFileSync(path.join(runDir, 'carried-writes.kept.jsonl'), 'utf8')
            .trim()
            .split('\n')
            .map((l) => (JSON.parse(l) as { row: { id: number } }).row.id)
        : [];
      const carried = after.filter((id) => id > 1000).length;
      assert.equal(Number(shown[1]), carried + kept.length);
      // Nothing disappeared: every acknowledged row is in the database or in the kept file.
      assert.deepEqual(
        acked(ws).filter((id) => !after.includes(id) && !kept.includes(id)),
        [],
      );
      assert.equal(carried, WRITER_ROWS);
      const copied = fs.readFileSync(path.join(runDir, 'carried-writes.jsonl'), 'utf8').trim().split('\n');
      assert.equal(copied.length, WRITER_ROWS);
      assert.deepEqual(JSON.parse(copied[0]), { table: 'orders', row: { id: 1001, item: 'new', region: 'us' } });
      assert.match(prompter.asked.join('\n'), new RegExp(`Restoring replaces (?:at least )?${carried} writes \\(orders: ${carried}\\)`));
      assert.match(
        renderMarkdown(buildReport(s)),
        new RegExp(
          `strategy restore: restored from the backup; writes since the backup: ${carried}; carried forward: ${carried}; kept in carried-writes.kept.jsonl: 0; discarded: 0`,
        ),
      );
      assert.deepEqual(
        { ...s.rollback?.database?.carry, windowMs: 0 },
        { writes: carried, carried, kept: 0, keptFile: 'carried-writes.kept.jsonl', windowMs: 0 },
      );
    });

    it(`${which}: carryForward false: the confirmed restore discards the rows it counted, as before`, async () => {
      const e = engines.find((x) => x.name === which)!;
      fresh(e);
      const ws = planFor(
        e,
        `    strategy: restore\n    carryForward: false\n    restore:\n      - name: restore the backup\n        run: ${JSON.stringify(e.restore)}\n${e.writes}`,
      );
      const r = await rolledBack(ws);
      const shown = /restore would discard (?:at least )?(\d+) writes \(orders: (\d+)\)/.exec(r.snapshot.pausedAt?.message ?? '');
      assert.ok(shown, r.snapshot.pausedAt?.message);
      const before = idsOf(e);
      const s = await (await Release.reopen(ws.options({ prompter: scripted() }), r.runId)).rollbackFinished('restore it', { restore: true });
      const after = idsOf(e);
      assert.deepEqual(after, [1, 2, 3, 4, 5]);
      assert.equal(Number(shown[1]), before.length - after.length);
      assert.match(renderMarkdown(buildReport(s)), new RegExp(`kept: 0 / discarded: ${before.length - after.length}`));
    });
  }
});
