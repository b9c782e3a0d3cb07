import * as assert from 'node:assert/strict';
import { parsePlan, formatProblem } from '../../src/core/plan/load';
import { foldJournal } from '../../src/core/model/releaseState';
import type { ReleaseEvent } from '../../src/core/model/events';
import { smallPlan } from '../support/fixtures';

const RESTORE = `
    restore:
      - name: restore the backup
        run: cp '\${backup.path}' state.txt`;

/** The small plan with a rollback.database block (its lines as written under `database:`). */
function planWith(database: string, over: { noBackup?: boolean } = {}): string {
  let text = smallPlan({
    rollback: `    - name: code back
      run: rm -f deployed.txt
  database:
${database}`,
  });
  if (over.noBackup) text = text.replace(/ {2}backup:\n {4}steps:\n(?: {6}.*\n){2}/, '');
  return text;
}

function problems(text: string) {
  const r = parsePlan(text, 'plan.yaml');
  assert.equal(r.ok, false, 'expected the plan to be refused');
  return r.ok ? [] : r.problems;
}

function refusedAt(text: string, path: string, message: RegExp) {
  const ps = problems(text);
  const p = ps.find((x) => x.path === path && message.test(x.message));
  assert.ok(p, `expected a problem at ${path} matching ${message}, got:\n${ps.map(formatProblem).join('\n')}`);
  assert.ok(p.line > 1 && text.split('\n')[p.line - 1] !== undefined, `a line is named: ${formatProblem(p)}`);
  return p;
}

function accepted(text: string) {
  const r = parsePlan(text, 'plan.yaml');
  assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
  return r;
}

describe('plan: rollback.database (what a rollback does to the data)', () => {
  it('accepts each strategy with what it needs', () => {
    accepted(planWith('    strategy: code-only'));
    accepted(planWith('    strategy: down\n    down:\n      - run: echo undo'));
    accepted(planWith(`    strategy: restore\n    writes: { sqlite: app.db }${RESTORE}`));
    accepted(planWith(`    strategy: down\n    down:\n      - run: echo undo\n    writes: { command: echo 0 }${RESTORE}`));
    const r = accepted(planWith(`    strategy: restore\n    allowDataLoss: a staging copy nobody writes to${RESTORE}`));
    assert.equal(r.ok && r.plan.rollback.database?.allowDataLoss, 'a staging copy nobody writes to');
  });

  it('refuses strategy down without down steps', () => {
    refusedAt(planWith('    strategy: down'), 'rollback.database.down', /strategy down needs `down`/);
  });

  it('refuses strategy down with an empty list of down steps', () => {
    refusedAt(planWith('    strategy: down\n    down: []'), 'rollback.database.down', /at least one down step/);
  });

  it('refuses down steps under another strategy', () => {
    refusedAt(
      planWith('    strategy: code-only\n    down:\n      - run: echo undo'),
      'rollback.database.down',
      /only with strategy down \(this plan says code-only\)/,
    );
  });

  it('refuses strategy restore without restore steps', () => {
    refusedAt(planWith('    strategy: restore\n    writes: { sqlite: app.db }'), 'rollback.database.restore', /strategy restore needs `restore`/);
  });

  for (const [what, value] of [
    ['empty', '""'],
    ['blank', '"    "'],
    ['invisible', '"\\u200b\\u200b\\u200b\\u200b"'],
    ['too short', '"ok"'],
    ['punctuation only', '"..."'],
  ] as const) {
    it(`refuses an allowDataLoss reason that is ${what}`, () => {
      refusedAt(
        planWith(`    strategy: restore\n    allowDataLoss: ${value}\n    writes: { sqlite: app.db }${RESTORE}`),
        'rollback.database.allowDataLoss',
        /why writes since the backup may be discarded/,
      );
    });
  }

  it('refuses allowDataLoss with nothing to restore', () => {
    refusedAt(planWith('    strategy: code-only\n    allowDataLoss: nobody writes here'), 'rollback.database.allowDataLoss', /needs `restore` steps/);
  });

  it('refuses carryForward with writes counted by a command: it cannot say which rows to carry', () => {
    refusedAt(
      planWith(`    strategy: restore\n    carryForward: true\n    writes: { command: echo 3 }${RESTORE}`),
      'rollback.database.carryForward',
      /needs `writes` from `sqlite`, `postgres` or `mysql`/,
    );
    accepted(planWith(`    strategy: restore\n    carryForward: false\n    writes: { command: echo 3 }${RESTORE}`));
  });

  it('refuses a carryForward that is not true or false', () => {
    refusedAt(planWith(`    strategy: restore\n    carryForward: yes please\n    writes: { sqlite: app.db }${RESTORE}`), 'rollback.database.carryForward', /./);
  });

  it('refuses writes measured by two sources', () => {
    refusedAt(planWith(`    strategy: restore\n    writes: { sqlite: app.db, command: echo 3 }${RESTORE}`), 'rollback.database.writes', /exactly one source/);
  });

  it('refuses writes measured by no source', () => {
    refusedAt(planWith(`    strategy: restore\n    writes: {}${RESTORE}`), 'rollback.database.writes', /exactly one source/);
  });

  it('refuses a restore that could not count what it discards', () => {
    refusedAt(planWith(`    strategy: restore${RESTORE}`), 'rollback.database.writes', /a restore needs `writes`/);
  });

  it('refuses a restore in a plan without a backup phase', () => {
    refusedAt(
      planWith(`    strategy: restore\n    writes: { sqlite: app.db }${RESTORE}`, { noBackup: true }),
      'rollback.database.restore',
      /needs phases.backup/,
    );
  });

  it('refuses a MySQL password written in the plan', () => {
    refusedAt(
      planWith(`    strategy: restore\n    writes:\n      mysql: { host: 127.0.0.1, database: app, password: hunter22 }${RESTORE}`),
      'rollback.database.writes.mysql.password',
      /expected \$\{env:NAME\}/,
    );
  });

  it('refuses a postgres source that is not a postgres URL', () => {
    refusedAt(
      planWith(`    strategy: restore\n    writes:\n      postgres: { url: "mysql://127.0.0.1/app" }${RESTORE}`),
      'rollback.database.writes.postgres.url',
      /postgres:\/\//,
    );
  });

  it('refuses an unknown strategy', () => {
    refusedAt(planWith('    strategy: rewind'), 'rollback.database.strategy', /code-only|down|restore/);
  });

  it("refuses a database step whose timeout exceeds the rollback's budget", () => {
    refusedAt(
      planWith(`    strategy: down\n    down:\n      - run: echo undo\n        timeout: 20m`),
      'rollback.database.down[0].timeout',
      /cannot exceed the rollback budget/,
    );
  });

  it('warns about a migration with steps when the rollback says nothing about the database', () => {
    const r = parsePlan(smallPlan(), 'plan.yaml');
    assert.ok(r.ok);
    const w = r.warnings.find((x) => x.path === 'phases.migration');
    assert.ok(w, r.warnings.map(formatProblem).join('\n'));
    assert.match(w.message, /rollback.database says nothing.*discards every write made since the backup without counting them/);
    const said = accepted(planWith('    strategy: code-only'));
    assert.ok(said.ok && !said.warnings.some((x) => x.path === 'phases.migration'));
  });
});

describe('fold: the database part of a rollback', () => {
  const at = '2026-12-07T10:00:00.000Z';
  const base: ReleaseEvent[] = [
    {
      at,
      type: 'release.started',
      runId: 'r1',
      plan: 'p',
      name: 'app',
      version: '2.0.0',
      environment: 'production',
      user: 'u',
      host: 'h',
      pid: 1,
      planHash: 'x',
    },
    { at, type: 'database.marked', source: 'sqlite', tables: { orders: { rows: 5, maxId: '5' } } },
    { at, type: 'rollback.started', trigger: 'guard', reason: 'breach', by: 'guard', requestedAt: at, latencyMs: 1 },
    { at, type: 'database.writes', source: 'sqlite', total: 3, tables: { orders: 3 } },
  ];

  it('counts the writes a passed restore discarded', () => {
    const s = foldJournal([...base, { at, type: 'rollback.database', strategy: 'restore', action: 'restore', ok: true, message: 'restored', writes: 3 }]);
    assert.deepEqual(
      { ...s.rollback?.database },
      { strategy: 'restore', action: 'restore', ok: true, message: 'restored', writes: 3, tables: { orders: 3 }, kept: 0, discarded: 3 },
    );
  });

  it('counts the writes a down migration kept, and a failed restore as keeping them', () => {
    const down = foldJournal([...base, { at, type: 'rollback.database', strategy: 'down', action: 'down', ok: true, message: 'down', writes: 3 }]);
    assert.equal(down.rollback?.database?.kept, 3);
    assert.equal(down.rollback?.database?.discarded, 0);
    const failed = foldJournal([...base, { at, type: 'rollback.database', strategy: 'restore', action: 'restore', ok: false, message: 'failed', writes: 3 }]);
    assert.equal(failed.rollback?.database?.discarded, 0);
  });

  it('reads a held restore as a paused rollback, and its resume as a rollback again', () => {
    const held: ReleaseEvent[] = [
      ...base,
      { at, type: 'rollback.database', strategy: 'restore', action: 'held', ok: true, message: 'restore would discard 3 writes', writes: 3 },
      { at, type: 'release.paused', message: 'restore would discard 3 writes' },
    ];
    assert.equal(foldJournal(held).status, 'paused');
    assert.equal(foldJournal([...held, { at, type: 'release.resumed', by: 'u', pid: 2 }]).status, 'rolling-back');
  });
});
