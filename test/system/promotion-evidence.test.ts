import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../src/cli/cliMain';
import { runIds } from '../../src/core/engine/queries/runs';
import { promotionVerdict } from '../../src/core/engine/gates/environmentGates';
import { planHash } from '../../src/core/engine/gates/planIdentity';
import { parsePlan } from '../../src/core/plan/load';
import { gitRepo, write } from '../support/helpers';
import { smallPlan, workspace, journalLines, type Workspace } from '../support/fixtures';

/** Staging, then production behind promotion; the metric reads metric.txt (ignored by git), so staging can measure nothing. */
const PLAN = smallPlan({
  checklist: `  - id: migration-script
    title: Migration script present
    files: [migrations/*.sql]`,
  monitoring: `  window: 1s
  interval: 500ms
  baseline:
    fixed: { health: 1 }
  metrics:
    - id: health
      command: cat metric.txt
      guard: { min: 1 }`,
  extra: `environments:
  staging: {}
  production:
    requires: { released: staging, maxAge: 7d }
`,
});

/**
 * What a staging run must prove before production with real runs and real journals:
 * monitoring that judged something and passed, and the plan file the staging run used named in the gate.
 */
describe('promotion: the staging run proves what it claims (real runs)', function () {
  this.timeout(120_000);
  let ws: Workspace;
  let git: (...args: string[]) => string;
  const cli = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main(argv, { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') });
    return { code, out, err };
  };
  const newest = () => journalLines(ws, runIds(ws.dir)[0]);
  const promotion = () => newest().filter((e) => e.type === 'gate.changed' && e.gate === 'promotion');

  /** A fresh repository (a version is released once per commit): the plan, and `files` over the defaults. */
  const setUp = (files: Record<string, string>, plan = PLAN) => {
    ws = workspace(plan, files);
    write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
    git = gitRepo(ws.dir);
    git('add', '-A');
    git('commit', '-qm', 'feat: first');
  };

  it('a staging run whose monitoring was inconclusive (a statistical rule it could not judge) does not promote; the gate says so', async () => {
    // Mann-Whitney against a fixed baseline cannot be judged: the guards held, the verdict is inconclusive.
    setUp({ 'metric.txt': '1\n' }, PLAN.replace('guard: { min: 1 }', 'guard: { min: 1, mannWhitney: decrease }'));
    const stg = await cli('run', '--yes', '--env', 'staging', '--plan', ws.planFile);
    assert.equal(stg.code, 0, stg.err + stg.out);
    const verdicts = newest().filter((e) => e.type === 'monitoring.verdict');
    assert.deepEqual(
      verdicts.map((e) => e.verdict),
      ['inconclusive'],
      'the staging run journaled an inconclusive verdict',
    );
    const prod = await cli('run', '--yes', '--env', 'production', '--plan', ws.planFile);
    assert.equal(prod.code, 1, prod.err + prod.out);
    const [gate] = promotion();
    assert.equal(gate.state, 'blocked');
    assert.match(String(gate.message), /ended released but its monitoring was inconclusive, not passed \(health: /);
    assert.doesNotMatch(String(gate.message), /monitoring passed\)/);
  });

  it('a staging run whose metric returned only NaN fails its monitoring (no usable sample), is rolled back, and does not promote', async () => {
    setUp({ 'metric.txt': 'NaN\n' });
    const stg = await cli('run', '--yes', '--env', 'staging', '--plan', ws.planFile);
    assert.equal(stg.code, 3, stg.err + stg.out);
    assert.match(stg.err + stg.out, /no usable sample of health in the window/);
    const prod = await cli('run', '--yes', '--env', 'production', '--plan', ws.planFile);
    assert.equal(prod.code, 1, prod.err + prod.out);
    const [gate] = promotion();
    assert.equal(gate.state, 'blocked');
    assert.match(String(gate.message), /was rolled back/);
  });

  it('a staging run made with another committed plan promotes, and the gate names that plan and that its hash differs', async () => {
    setUp({ 'metric.txt': '1\n', '.release/other.yaml': PLAN.replace('      command: cat metric.txt', '      command: echo 1') });
    const other = path.join(ws.dir, '.release/other.yaml');
    const stg = await cli('run', '--yes', '--env', 'staging', '--plan', other);
    assert.equal(stg.code, 0, stg.err + stg.out);
    assert.equal(newest()[0].plan, '.release/other.yaml', 'the journal records the plan file');
    const prod = await cli('run', '--yes', '--env', 'production', '--plan', ws.planFile);
    assert.equal(prod.code, 0, prod.err + prod.out);
    const [gate] = promotion();
    assert.equal(gate.state, 'open', String(gate.message));
    assert.match(
      String(gate.message),
      /monitoring passed\), with ANOTHER plan: \.release\/other\.yaml \(its hash differs from this plan's, \.release\/plan\.yaml\)/,
    );
    // The same staging run, judged for a release with that very plan: said to be this plan.
    const loaded = parsePlan(fs.readFileSync(other, 'utf8'), other);
    assert.ok(loaded.ok);
    const commit = git('rev-parse', 'HEAD');
    const req = { released: 'staging', maxAge: 86_400_000 };
    const same = promotionVerdict(ws.dir, loaded.plan, req, { version: '1.2.3', commit }, Date.now(), {
      plan: '.release/other.yaml',
      planHash: planHash(fs.readFileSync(other, 'utf8')),
    });
    assert.match(same.message, /, with this plan \(\.release\/other\.yaml\)$/);
  });
});
