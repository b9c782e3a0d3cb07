import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Release } from '../../src/core/engine/run/engine';
import { buildReport, renderMarkdown } from '../../src/core/report/report';
import { journalLines, scripted, smallPlan, workspace, type Workspace } from '../support/fixtures';

const sql = (ws: Workspace, db: string, text: string) =>
  execFileSync('sqlite3', ['-batch', '-noheader', path.join(ws.dir, db), text], { encoding: 'utf8' }).trim();
const columns = (ws: Workspace, db: string) => sql(ws, db, "SELECT group_concat(name) FROM pragma_table_info('orders')");

/** The previous version's smoke test: it reads every order's email, as the old code does. */
const OLD_SMOKE = `      - name: previous version smoke test
        run: sqlite3 staging.db "SELECT id, email FROM orders" > /dev/null`;

/**
 * Staging and production each hold orders with an email column the previous version reads. The
 * staging phase runs the migration on staging (`migration`); the compat check then runs the
 * previous version's smoke test on that schema.
 */
function compatWorkspace(migration: string, database: string): Workspace {
  const text = smallPlan({ rollback: `    - name: code back\n      run: rm -f deployed.txt\n  database:\n${database}\n    compatCheck:\n${OLD_SMOKE}` })
    .replace('run: test -f prepared.txt && echo staging ok', `run: sqlite3 staging.db "${migration}"`)
    .replace('run: echo migrated >> state.txt', `run: sqlite3 app.db "${migration}"`);
  const ws = workspace(text);
  for (const db of ['staging.db', 'app.db'])
    sql(ws, db, "CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT); INSERT INTO orders VALUES (1, 'a@x'), (2, 'b@x');");
  return ws;
}

const DROPS_EMAIL = 'ALTER TABLE orders DROP COLUMN email';
const ADDS_REGION = 'ALTER TABLE orders ADD COLUMN region TEXT';

describe('backward compatibility proven on the staging schema before production (sqlite)', function () {
  this.timeout(60_000);

  it('code-only with an expand migration: the previous version passes on the new schema, code-only is proven and the report says so', async () => {
    const ws = compatWorkspace(ADDS_REGION, '    strategy: code-only');
    const r = await Release.start(ws.options({ prompter: scripted() }));
    const s = await r.run();
    assert.equal(s.status, 'released');
    assert.deepEqual({ ...s.compat }, { strategy: 'code-only', ok: true, previousVersion: s.previousVersion ?? '', message: '' });
    assert.ok(journalLines(ws, r.runId).some((e) => e.type === 'database.compat' && e.ok === true));
    assert.match(renderMarkdown(buildReport(s)), /code-only proven: the previous version.* passed its smoke test on the new schema/);
    assert.match(columns(ws, 'app.db'), /region/);
  });

  it('code-only with a migration that drops a column the previous version reads: the release stops before production, with the reason', async () => {
    const ws = compatWorkspace(DROPS_EMAIL, '    strategy: code-only');
    const r = await Release.start(ws.options({ prompter: scripted() }));
    const s = await r.run();
    assert.equal(s.status, 'paused');
    assert.match(
      s.pausedAt?.message ?? '',
      /failed its smoke test on the new schema \(previous version smoke test: exit code 1\).*strategy code-only cannot roll this release back/,
    );
    assert.equal(s.compat?.ok, false);
    // Production was not touched: no backup, no migration, the column the old version reads is still there.
    assert.equal(s.phases.find((p) => p.id === 'migration')?.startedAt, undefined);
    assert.equal(columns(ws, 'app.db'), 'id,email');
    assert.equal(columns(ws, 'staging.db'), 'id');
  });

  it('code-only refused stays refused on resume: the check is not rerun into a pass and production stays untouched', async () => {
    const ws = compatWorkspace(DROPS_EMAIL, '    strategy: code-only');
    const r = await Release.start(ws.options({ prompter: scripted() }));
    await r.run();
    // Put the column back on staging: the journaled failure still speaks for this release.
    sql(ws, 'staging.db', 'ALTER TABLE orders ADD COLUMN email TEXT');
    const again = await Release.reopen(ws.options({ prompter: scripted() }), r.runId);
    const s = await again.run();
    assert.equal(s.status, 'paused');
    assert.equal(columns(ws, 'app.db'), 'id,email');
  });

  it('down with a dropping migration: the question before production says a rollback will need the down steps; declined, the release ends', async () => {
    const ws = compatWorkspace(DROPS_EMAIL, '    strategy: down\n    down:\n      - run: sqlite3 app.db "ALTER TABLE orders ADD COLUMN email TEXT"');
    const p = scripted({ confirm: false });
    const r = await Release.start(
      ws.options({ prompter: { ...p, confirm: async (m) => (p.asked.push(`confirm: ${m}`), !/smoke test on the new schema/.test(m)) } }),
    );
    const s = await r.run();
    const asked = p.asked.filter((q) => /smoke test on the new schema/.test(q));
    assert.equal(asked.length, 1);
    assert.match(asked[0], /failed its smoke test on the new schema .*a rollback will need the down steps\.\nGo on to production\?/);
    assert.equal(s.status, 'aborted');
    assert.equal(columns(ws, 'app.db'), 'id,email');
  });

  it('restore with a dropping migration, confirmed: the release goes on and the report says a rollback will lose the writes since the backup', async () => {
    const ws = compatWorkspace(
      DROPS_EMAIL,
      "    strategy: restore\n    allowDataLoss: the orders table is rebuilt from the upstream feed each hour\n    restore:\n      - run: cp '${backup.path}' app.db",
    );
    const r = await Release.start(ws.options({ prompter: scripted() }));
    const s = await r.run();
    assert.equal(s.status, 'released');
    assert.match(
      renderMarkdown(buildReport(s)),
      /failed its smoke test on the new schema .*a rollback will need the restore, which loses the writes since the backup/,
    );
    assert.ok(journalLines(ws, r.runId).some((e) => e.type === 'decision' && e.reason === 'compat'));
  });
});
