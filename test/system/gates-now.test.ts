import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { gatesNow } from '../../src/core/engine/gates/gatesNow';
import { recordApproval } from '../../src/core/git/approvals';
import { planHash } from '../../src/core/engine/gates/planIdentity';
import { parsePlan } from '../../src/core/plan/load';
import { main } from '../../src/cli/cliMain';
import { gitRepo, write } from '../support/helpers';
import { smallPlan, workspace, type Workspace } from '../support/fixtures';

const PLAN = smallPlan({
  checklist: `  - id: migration-script
    title: Migration script present
    files: [migrations/*.sql]`,
  extra: `environments:
  staging: {}
  production:
    requires: { released: staging, maxAge: 7d }
    approvals: { count: 1 }
  frozen:
    freeze:
      - { from: "2020-01-01T00:00:00Z", to: "2099-01-01T00:00:00Z", reason: "big freeze" }
`,
});

/**
 * The environment gates as the views show them between runs (after Approve Release, or on Refresh):
 * judged in a real repository for the person at this git, the way the next run would judge them.
 */
describe('gates judged now, outside a run: what the next release would meet', function () {
  this.timeout(60_000);
  let ws: Workspace;
  let git: (...args: string[]) => string;
  const as = (name: string, email: string) => {
    git('config', 'user.name', name);
    git('config', 'user.email', email);
  };
  const plan = () => {
    const r = parsePlan(fs.readFileSync(ws.planFile), ws.planFile);
    assert.ok(r.ok);
    return r;
  };
  const now = (environment: string) => gatesNow(ws.dir, ws.planFile, plan().plan, plan().text, environment, '1.2.3');
  const byGate = (g: Awaited<ReturnType<typeof now>>) => Object.fromEntries((g?.verdicts ?? []).map((v) => [v.gate, v]));

  before(() => {
    ws = workspace(PLAN);
    write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
    git = gitRepo(ws.dir);
    as('Olga Operator', 'olga@example.com');
    git('add', '-A');
    git('commit', '-qm', 'feat: first');
  });

  it('an environment without gates: nothing to judge (undefined), and nothing is started', async () => {
    assert.equal(await now('staging'), undefined);
  });

  it('production before staging and approval: promotion and approval blocked, with who would start it and the commit', async () => {
    const g = await now('production');
    assert.ok(g);
    assert.equal(g.environment, 'production');
    assert.equal(g.operator, 'Olga Operator');
    assert.equal(g.commit, git('rev-parse', 'HEAD'));
    assert.deepEqual(
      g.verdicts.map((v) => [v.gate, v.state]),
      [
        ['promotion', 'blocked'],
        ['approval', 'blocked'],
      ],
    );
    assert.match(byGate(g).approval.message, /^0 of 1 approval\(s\) for 1\.2\.3 to production/);
    assert.deepEqual(fs.existsSync(`${ws.dir}/.release/runs`) ? fs.readdirSync(`${ws.dir}/.release/runs`) : [], [], 'judging starts no run');
  });

  it('a freeze in effect is blocked: no override is assumed', async () => {
    const g = await now('frozen');
    assert.equal(byGate(g).freeze.state, 'blocked');
    assert.match(byGate(g).freeze.message, /releases are frozen from 2020-01-01T00:00:00Z to 2099-01-01T00:00:00Z: big freeze/);
  });

  it("after staging released and an approval: the operator's own approval is not counted; another person sees both gates open", async () => {
    const out: string[] = [];
    const code = await main(['run', '--env', 'staging', '--yes', '--plan', ws.planFile], { out: (t) => out.push(t), err: (t) => out.push(t) });
    assert.equal(code, 0, out.join('\n'));
    await recordApproval(ws.dir, { environment: 'production', version: '1.2.3', planHash: planHash(plan().text), sign: false });
    const own = byGate(await now('production'));
    assert.equal(own.promotion.state, 'open', own.promotion.message);
    assert.match(own.promotion.message, /was released to staging in run \S+ .*monitoring passed\), with this plan/);
    assert.equal(own.approval.state, 'blocked');
    assert.match(own.approval.message, /Not counted: release-pilot\/approval\/production\/1\.2\.3\/\S+: the approver is the person starting the release/);
    as('Rita Releaser', 'rita@example.com');
    const other = byGate(await now('production'));
    assert.equal(other.approval.state, 'open', other.approval.message);
    assert.match(other.approval.message, /^approved by Olga Operator <olga@example\.com>/);
  });

  it('a plan edited since its commit blocks every gate with the reason a release would give, even those open before', async () => {
    fs.appendFileSync(ws.planFile, '# edited\n');
    try {
      const g = await now('production');
      assert.equal(g?.verdicts.length, 2);
      for (const v of g.verdicts) {
        assert.equal(v.state, 'blocked', v.gate);
        assert.match(v.message, /^the release plan \.release\/plan\.yaml has changes not committed: environment gates/);
      }
    } finally {
      git('checkout', '--', '.release/plan.yaml');
    }
    assert.equal(byGate(await now('production')).approval.state, 'open', 'the committed plan again: open again');
  });
});
