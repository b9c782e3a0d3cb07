import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { Release, loadRun } from '../../src/core/engine/run/engine';
import { GateError } from '../../src/core/engine/gates/gateError';
import { buildReport, renderMarkdown } from '../../src/core/report/report';
import { previewRollback } from '../../src/core/engine/queries/rollbackPreview';
import { ROOT } from '../support/helpers';
import type { TableMark } from '../../src/core/model/events';
import { journalLines, scripted, smallPlan, workspace, type Workspace } from '../support/fixtures';

const sql = (ws: Workspace, text: string) => execFileSync('sqlite3', ['-batch', '-noheader', path.join(ws.dir, 'app.db'), text], { encoding: 'utf8' }).trim();
const ids = (ws: Workspace) => sql(ws, 'SELECT group_concat(id) FROM (SELECT id FROM orders ORDER BY id)');
const columns = (ws: Workspace) => sql(ws, "SELECT group_concat(name) FROM pragma_table_info('orders')");

/**
 * A service's database: five orders before the release. The migration adds a NOT NULL column the old
 * version does not know; the deploy takes writes (three orders added, one removed, as a live service
 * would between the backup and a failure) and then fails, and the person rolls back.
 */
function dbWorkspace(
  database: string,
  deploy = "      - name: deploy\n        run: sqlite3 app.db \"INSERT INTO orders(id, item) VALUES (101, 'x'), (102, 'y'), (103, 'z'); DELETE FROM orders WHERE id = 2\" && echo \"image pull failed\" >&2 && exit 9",
): Workspace {
  const text = smallPlan({
    deploy: `    steps:\n${deploy}`,
    rollback: `    - name: code back\n      run: rm -f deployed.txt\n  database:\n${database}`,
  })
    .replace("cp state.txt '${backup.path}'", 'sqlite3 app.db ".backup \'${backup.path}\'"')
    .replace('run: echo migrated >> state.txt', 'run: sqlite3 app.db "ALTER TABLE orders ADD COLUMN region TEXT NOT NULL DEFAULT \'eu\'"');
  const ws = workspace(text);
  sql(ws, "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL); INSERT INTO orders(id, item) VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e');");
  return ws;
}

/** The restore alone, as before writes were carried forward: these tests are about what it discards and when it waits. */
const RESTORE = `    carryForward: false\n    restore:\n      - name: restore the backup\n        run: cp '\${backup.path}' app.db`;
const WRITES = '    writes: { sqlite: app.db }';

async function releaseRolledBack(ws: Workspace): Promise<Release> {
  const r = await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'rollback' }] }) }));
  await r.run();
  return r;
}

describe('rollback and the data written since the backup (sqlite)', function () {
  this.timeout(60_000);

  it('code-only: the code goes back, the migrated schema and every write stay, and the report says so', async () => {
    const ws = dbWorkspace(`    strategy: code-only\n${WRITES}`);
    const r = await releaseRolledBack(ws);
    const s = r.snapshot;
    assert.equal(s.status, 'rolled-back');
    assert.equal(ids(ws), '1,3,4,5,101,102,103');
    assert.match(columns(ws), /region/);
    assert.deepEqual(
      { ...s.rollback?.database, message: undefined },
      // The migration added a column and rows came: the table changed, so the count (4) is a lower bound.
      { strategy: 'code-only', action: 'kept', ok: true, message: undefined, writes: 4, atLeast: true, tables: { orders: 4 }, kept: 4, discarded: 0 },
    );
    const report = renderMarkdown(buildReport(s));
    assert.match(report, /database: code-only, schema kept/);
    assert.match(report, /Database.*strategy code-only: schema kept; writes since the backup: at least 4; kept: 4 \/ discarded: 0 \(orders: 4\)/);
  });

  it('down: the down steps undo the migration after the code rollback, and every acknowledged row is still there', async () => {
    const ws = dbWorkspace(
      `    strategy: down\n    down:\n      - name: undo the migration\n        run: sqlite3 app.db "ALTER TABLE orders DROP COLUMN region"\n${WRITES}`,
    );
    const r = await releaseRolledBack(ws);
    assert.equal(r.snapshot.status, 'rolled-back');
    assert.equal(columns(ws), 'id,item');
    assert.equal(ids(ws), '1,3,4,5,101,102,103');
    // The code went back first, then the database.
    const steps = journalLines(ws, r.runId)
      .filter((e) => e.type === 'step.started' && e.phase === 'rollback')
      .map((e) => e.step);
    assert.deepEqual(steps, ['rollback/0', 'rollback/down/0']);
    assert.equal(r.snapshot.rollback?.database?.kept, 4);
  });

  it('restore over writes: the code goes back and the run waits for a person, naming the writes it would discard', async () => {
    const ws = dbWorkspace(`    strategy: restore\n${WRITES}\n${RESTORE}`);
    const r = await releaseRolledBack(ws);
    const s = r.snapshot;
    assert.equal(s.status, 'paused');
    assert.match(s.pausedAt?.message ?? '', /restore would discard at least 4 writes \(orders: 4\) made since the backup/);
    assert.equal(s.rollback?.outcome, undefined);
    // Nothing was restored: the writes and the migrated schema are all there.
    assert.equal(ids(ws), '1,3,4,5,101,102,103');
    assert.ok(!fs.existsSync(path.join(ws.dir, 'deployed.txt')), 'the code rolled back');
  });

  it('restore confirmed: the count shown is the number of rows the restore discards', async () => {
    const ws = dbWorkspace(`    strategy: restore\n${WRITES}\n${RESTORE}`);
    const r = await releaseRolledBack(ws);
    sql(ws, "INSERT INTO orders(id, item) VALUES (104, 'late')");
    const before = ids(ws).split(',');
    const prompter = scripted();
    const again = await Release.reopen(ws.options({ prompter }), r.runId);
    const s = await again.rollbackFinished('restore it', { restore: true });
    assert.equal(s.status, 'rolled-back');
    assert.match(prompter.asked.join('\n'), /Restoring discards at least 5 writes \(orders: 5\) made since the backup/);
    const after = ids(ws).split(',');
    assert.equal(after.join(','), '1,2,3,4,5');
    const discarded = before.filter((x) => !after.includes(x)).length + after.filter((x) => !before.includes(x)).length;
    assert.equal(discarded, 5);
    assert.equal(s.rollback?.database?.discarded, 5);
    assert.match(renderMarkdown(buildReport(s)), /strategy restore: restored from the backup; writes since the backup: at least 5; kept: 0 \/ discarded: 5/);
  });

  it('restore declined: the run ends rolled back (code only), the database not restored', async () => {
    const ws = dbWorkspace(`    strategy: restore\n${WRITES}\n${RESTORE}`);
    const r = await releaseRolledBack(ws);
    const s = await (await Release.reopen(ws.options(), r.runId)).rollbackFinished('keep the data', { restore: false });
    assert.equal(s.status, 'rolled-back');
    assert.match(s.outcomeMessage ?? '', /rolled back \(code only\), database not restored/);
    assert.equal(ids(ws), '1,3,4,5,101,102,103');
  });

  it('a restore left unconfirmed changes nothing and still waits', async () => {
    const ws = dbWorkspace(`    strategy: restore\n${WRITES}\n${RESTORE}`);
    const r = await releaseRolledBack(ws);
    const again = await Release.reopen(ws.options({ prompter: scripted({ confirm: false }) }), r.runId);
    await assert.rejects(
      again.rollbackFinished('restore', { restore: true }),
      (e: unknown) => e instanceof GateError && /not confirmed; nothing was done/.test(e.message),
    );
    assert.equal(ids(ws), '1,3,4,5,101,102,103');
    assert.equal(loadRun(ws.dir, r.runId).state.status, 'paused');
  });

  it('a resume of a run that waits before its restore is refused: the release does not go on', async () => {
    const ws = dbWorkspace(`    strategy: restore\n${WRITES}\n${RESTORE}`);
    const r = await releaseRolledBack(ws);
    const again = await Release.reopen(ws.options(), r.runId);
    await assert.rejects(
      again.run(),
      (e: unknown) => e instanceof GateError && /waits before the restore: restore would discard at least 4 writes/.test(e.message),
    );
    assert.ok(!fs.existsSync(path.join(ws.dir, 'deployed.txt')), 'no deploy ran again');
  });

  it('restore over no writes runs by itself', async () => {
    const ws = dbWorkspace(`    strategy: restore\n${WRITES}\n${RESTORE}`, '      - name: deploy\n        run: exit 9');
    const r = await releaseRolledBack(ws);
    assert.equal(r.snapshot.status, 'rolled-back');
    assert.equal(columns(ws), 'id,item');
    assert.equal(r.snapshot.rollback?.database?.action, 'restore');
    assert.equal(r.snapshot.rollback?.database?.writes, 0);
  });

  it('restore with allowDataLoss runs by itself over writes, and counts what it discarded', async () => {
    const ws = dbWorkspace(`    strategy: restore\n    allowDataLoss: the orders are replayed from the queue\n${WRITES}\n${RESTORE}`);
    const r = await releaseRolledBack(ws);
    assert.equal(r.snapshot.status, 'rolled-back');
    assert.equal(ids(ws), '1,2,3,4,5');
    assert.equal(r.snapshot.rollback?.database?.discarded, 4);
    assert.match(r.snapshot.outcomeMessage ?? '', /allowed: the orders are replayed from the queue/);
  });

  it('down that fails does not restore by itself: the run waits for a person before the restore', async () => {
    const ws = dbWorkspace(`    strategy: down\n    down:\n      - name: undo the migration\n        run: exit 3\n${WRITES}\n${RESTORE}`);
    const r = await releaseRolledBack(ws);
    assert.equal(r.snapshot.status, 'paused');
    assert.match(
      r.snapshot.pausedAt?.message ?? '',
      /the down steps failed at undo the migration.*does not restore by itself.*restore would discard at least 4 writes/,
    );
    assert.equal(ids(ws), '1,3,4,5,101,102,103');
  });

  it('down that fails without a restore to fall back on ends the rollback as failed', async () => {
    const ws = dbWorkspace(`    strategy: down\n    down:\n      - name: undo the migration\n        run: exit 3`);
    const r = await releaseRolledBack(ws);
    assert.equal(r.snapshot.status, 'rollback-failed');
    assert.match(r.snapshot.outcomeMessage ?? '', /database down steps: undo the migration/);
  });

  it('marks taken when the backup passes: a table made after it counts every row', async () => {
    const ws = dbWorkspace(
      `    strategy: restore\n${WRITES}\n${RESTORE}`,
      "      - name: deploy\n        run: sqlite3 app.db \"CREATE TABLE audit (note TEXT); INSERT INTO audit VALUES ('a'), ('b')\" && exit 9",
    );
    const r = await releaseRolledBack(ws);
    const marked = journalLines(ws, r.runId).find((e) => e.type === 'database.marked');
    const orders = (marked?.tables as Record<string, TableMark>).orders;
    assert.deepEqual({ ...orders, sum: undefined }, { rows: 5, maxId: '5', columns: ['id', 'item'], sum: undefined });
    assert.match(orders.sum ?? '', /^[0-9A-F]{64}$/);
    assert.match(r.snapshot.pausedAt?.message ?? '', /restore would discard 2 writes \(audit: 2\)/);
  });

  it('a writes command that prints no integer makes the restore wait for a person', async () => {
    const ws = dbWorkspace(`    strategy: restore\n    writes: { command: echo lots }\n${RESTORE}`);
    const r = await releaseRolledBack(ws);
    assert.equal(r.snapshot.status, 'paused');
    assert.match(r.snapshot.warnings.join('\n'), /printed "lots", expected one integer/);
    assert.match(r.snapshot.pausedAt?.message ?? '', /could not be counted/);
  });

  it('the go/no-go question, the rollback-plan gate and the rollback dry run name the strategy and each database command', async () => {
    const ws = dbWorkspace(
      `    strategy: down\n    down:\n      - name: undo the migration\n        run: sqlite3 app.db "ALTER TABLE orders DROP COLUMN region"\n${WRITES}\n${RESTORE}`,
    );
    const prompter = scripted({ failure: [{ action: 'pause' }] });
    const r = await Release.start(ws.options({ prompter }));
    await r.run();
    assert.match(
      prompter.asked.find((q) => q.startsWith('confirm: Release')) ?? '',
      /Release tiny 1\.2\.3 to production\?\nOn rollback, database: down \(1 step\(s\) undo the migration, keeping the data; when they fail, the restore waits for a person\); writes since the backup counted with sqlite\./,
    );
    assert.match(r.snapshot.gates['rollback-plan'].message, /database: down/);
    const p = previewRollback(ws.dir, ws.options().plan, r.runId, { env: process.env });
    assert.ok(p.ok, p.ok ? '' : p.message);
    assert.match(p.text, /Then, when the migration started: database: down/);
    assert.match(p.text, /D1\. undo the migration: \$ sqlite3 app\.db "ALTER TABLE orders DROP COLUMN region"/);
    assert.match(p.text, new RegExp(`B1\\. restore the backup: \\$ cp '${r.runDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/backup' app\\.db`));
  });

  it('the command line: run rolls the code back and says how to answer; resume is refused; --no-restore ends it code only', () => {
    const ws = dbWorkspace(`    strategy: restore\n${WRITES}\n${RESTORE}`);
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), ...args, '--plan', ws.planFile], {
        encoding: 'utf8',
        cwd: ws.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const run = cli('run', '--yes', '--tick', 'sign-off');
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /the code rolled back; the restore waits: restore would discard at least 4 writes \(orders: 4\).*release-pilot rollback --restore/,
    );
    assert.equal(cli('rollback', '--restore', '--no-restore').status, 2);
    const resume = cli('resume');
    assert.equal(resume.status, 1, resume.stdout + resume.stderr);
    assert.match(resume.stderr, /waits before the restore/);
    const abandon = cli('abandon', '--reason', 'leave it as it is');
    assert.equal(abandon.status, 1, abandon.stdout + abandon.stderr);
    assert.match(
      abandon.stderr,
      /waits before the database restore; a rollback is not abandoned half way: answer it with `release-pilot rollback \S+ --restore`.* or `release-pilot rollback \S+ --no-restore`/,
    );
    const unconfirmed = cli('rollback', '--restore');
    assert.equal(unconfirmed.status, 1, unconfirmed.stdout + unconfirmed.stderr);
    assert.match(unconfirmed.stderr, /Restoring discards at least 4 writes/);
    assert.equal(ids(ws), '1,3,4,5,101,102,103');
    const declined = cli('rollback', '--no-restore');
    assert.equal(declined.status, 3, declined.stdout + declined.stderr);
    assert.match(declined.stdout, /rolled back \(code only\), database not restored/);
    assert.match(declined.stdout, /strategy restore: restore declined, database not restored; writes since the backup: at least 4; kept: 4 \/ discarded: 0/);
    assert.equal(ids(ws), '1,3,4,5,101,102,103');
  });

  it("a front end that asks both answers (the editor's dialog) shows the count; dismissed, the restore still waits; declined, the database stays", async () => {
    const ws = dbWorkspace(`    strategy: restore\n${WRITES}\n${RESTORE}`);
    const r = await releaseRolledBack(ws);
    const shown: string[] = [];
    const asking = (answer: 'restore' | 'decline' | undefined) => ({ ...scripted(), decideRestore: async (m: string) => (shown.push(m), answer) });
    await assert.rejects(
      (await Release.reopen(ws.options({ prompter: asking(undefined) }), r.runId)).rollbackFinished('rollback'),
      /not confirmed; nothing was done/,
    );
    assert.equal(loadRun(ws.dir, r.runId).state.status, 'paused');
    const s = await (await Release.reopen(ws.options({ prompter: asking('decline') }), r.runId)).rollbackFinished('rollback');
    assert.equal(s.status, 'rolled-back');
    assert.match(s.outcomeMessage ?? '', /rolled back \(code only\), database not restored/);
    assert.match(shown[0], /Restore the database of tiny 1\.2\.3 on production from the backup\?\nRestoring discards at least 4 writes \(orders: 4\)/);
    assert.equal(ids(ws), '1,3,4,5,101,102,103');
  });

  it('counts exactly over keys beyond 2^53 and tables whose names need quoting', async () => {
    const ws = dbWorkspace(
      `    strategy: restore\n${WRITES}\n${RESTORE}`,
      `      - name: deploy\n        run: sqlite3 app.db "INSERT INTO orders(id, item) VALUES (9007199254740995, 'big'); INSERT INTO \\"we\\"\\"ird t\\" VALUES ('x')" && exit 9`,
    );
    sql(ws, `CREATE TABLE "we""ird t" (note TEXT); INSERT INTO orders(id, item) VALUES (9007199254740993, 'huge')`);
    const r = await releaseRolledBack(ws);
    const marked = journalLines(ws, r.runId).find((e) => e.type === 'database.marked');
    assert.deepEqual(
      Object.fromEntries(Object.entries((marked?.tables ?? {}) as Record<string, TableMark>).map(([k, v]) => [k, { rows: v.rows, maxId: v.maxId }])),
      { orders: { rows: 6, maxId: '9007199254740993' }, 'we"ird t': { rows: 0, maxId: undefined } },
    );
    assert.match(r.snapshot.pausedAt?.message ?? '', /restore would discard at least 2 writes \((orders: 1, we"ird t: 1|we"ird t: 1, orders: 1)\)/);
  });

  const CARRY = `    carryForward: true\n    restore:\n      - name: restore the backup\n        run: cp '\${backup.path}' app.db`;
  const runFile = (ws: Workspace, runId: string, name: string) => path.join(ws.dir, '.release', 'runs', runId, name);

  it('restore confirmed, writes carried forward (carryForward: true): the rows written since the backup are back in the restored schema, and the report counts them', async () => {
    const ws = dbWorkspace(`    strategy: restore\n${WRITES}\n${CARRY}`);
    const r = await releaseRolledBack(ws);
    assert.match(
      r.snapshot.pausedAt?.message ?? '',
      /restore would replace at least 4 writes \(orders: 4\) made since the backup; they are copied to carried-writes.jsonl first/,
    );
    const s = await (await Release.reopen(ws.options({ prompter: scripted() }), r.runId)).rollbackFinished('restore it', { restore: true });
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.equal(columns(ws), 'id,item');
    // The three orders come back; the one deleted since the backup is back as the backup held it.
    assert.equal(ids(ws), '1,2,3,4,5,101,102,103');
    const carried = fs.readFileSync(runFile(ws, r.runId, 'carried-writes.jsonl'), 'utf8');
    assert.match(carried, /\{"table":"orders","row":\{"id":101,"item":"x","region":"eu"\}\}/);
    assert.ok(!fs.existsSync(runFile(ws, r.runId, 'carried-writes.kept.jsonl')), 'nothing kept: every row went back');
    const event = journalLines(ws, r.runId).find((e) => e.type === 'rollback.database' && e.action === 'restore');
    assert.match(
      String(event?.message),
      /writes since the backup: 3; carried forward: 3; kept in carried-writes.kept.jsonl: 0; discarded: 0.* a write made in the \d+ ms between the copy and the put-back is not carried/,
    );
    assert.match(
      renderMarkdown(buildReport(s)),
      /strategy restore: restored from the backup; writes since the backup: 3; carried forward: 3; kept in carried-writes.kept.jsonl: 0; discarded: 0/,
    );
  });

  it('the carried writes cannot be saved: the restore does not start, and the database keeps every write', async () => {
    const ws = dbWorkspace(`    strategy: restore\n${WRITES}\n${CARRY}`);
    const r = await releaseRolledBack(ws);
    // A folder where the file goes: it cannot be written, as on a full or read-only disk.
    fs.mkdirSync(runFile(ws, r.runId, 'carried-writes.jsonl'));
    const s = await (await Release.reopen(ws.options({ prompter: scripted() }), r.runId)).rollbackFinished('restore it', { restore: true });
    assert.equal(s.status, 'rollback-failed');
    assert.match(s.outcomeMessage ?? '', /could not be copied to carried-writes.jsonl.*the restore did not start/);
    assert.equal(ids(ws), '1,3,4,5,101,102,103');
    assert.match(columns(ws), /region/);
    assert.ok(!journalLines(ws, r.runId).some((e) => e.type === 'step.started' && String(e.step).startsWith('rollback/restore')), 'no restore step ran');
  });

  it('restore over no writes, carrying forward: it runs by itself and makes no carried file', async () => {
    const ws = dbWorkspace(`    strategy: restore\n${WRITES}\n${CARRY}`, '      - name: deploy\n        run: exit 9');
    const r = await releaseRolledBack(ws);
    assert.equal(r.snapshot.status, 'rolled-back');
    assert.equal(columns(ws), 'id,item');
    assert.ok(!fs.existsSync(runFile(ws, r.runId, 'carried-writes.jsonl')));
  });

  it('allowDataLoss with writes carried forward: the restore runs by itself and discards nothing', async () => {
    const ws = dbWorkspace(`    strategy: restore\n    allowDataLoss: the orders are replayed from the queue\n${WRITES}\n${CARRY}`);
    const r = await releaseRolledBack(ws);
    assert.equal(r.snapshot.status, 'rolled-back', r.snapshot.outcomeMessage);
    assert.equal(ids(ws), '1,2,3,4,5,101,102,103');
    assert.equal(r.snapshot.rollback?.database?.discarded, 0);
    assert.equal(r.snapshot.rollback?.database?.carry?.carried, 3);
  });
});
