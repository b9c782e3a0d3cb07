import * as assert from 'node:assert/strict';
import { main } from '../../src/cli/cliMain';
import { runIds } from '../../src/core/engine/queries/runs';
import { parsePlan } from '../../src/core/plan/load';
import { gitRepo, write } from '../support/helpers';
import { smallPlan, workspace, type Workspace } from '../support/fixtures';

const ENVS = `environments:
  staging: {}
  production:
    requires: { released: staging, maxAge: 7d }
    approvals: { count: 1, from: [alice@example.com] }
    freeze:
      - { from: "2020-01-01T00:00:00Z", to: "2099-01-01T00:00:00Z", reason: "big freeze" }
`;
const PLAN = smallPlan({
  checklist: `  - id: migration-script
    title: Migration script present
    files: [migrations/*.sql]`,
  extra: ENVS,
});

/** Environment gates on the command line and in validation, each as a person meets it. */
describe('environments: dry run, approve and flags as an operator meets them', function () {
  this.timeout(60_000);
  let ws: Workspace;
  let git: (...args: string[]) => string;
  const cli = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main([...argv, '--plan', ws.planFile], { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') });
    return { code, out, err };
  };
  const approvalTags = () => git('tag', '-l', 'release-pilot/approval/*').split('\n').filter(Boolean);

  before(() => {
    ws = workspace(PLAN);
    write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
    git = gitRepo(ws.dir);
    git('add', '-A');
    git('commit', '-qm', 'feat: first');
  });

  it("--dry-run --env production shows the environment's freeze, promotion and approval gates as they stand", async () => {
    const r = await cli('run', '--env', 'production', '--dry-run');
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /✗ freeze: blocked — releases are frozen from 2020-01-01T00:00:00Z to 2099-01-01T00:00:00Z: big freeze/);
    assert.match(r.out, /✗ promotion: blocked — no released staging run of tiny 1\.2\.3 at commit [0-9a-f]{12}/);
    assert.match(r.out, /✗ approval: blocked — 0 of 1 approval\(s\) for 1\.2\.3 to production/);
    assert.equal(runIds(ws.dir).length, 0, 'a dry run starts nothing');
    const stg = await cli('run', '--env', 'staging', '--dry-run');
    assert.doesNotMatch(stg.out, /freeze:|promotion:|approval:/, 'staging declares no gates');
  });

  it('a repeated --env is refused, naming both values, and nothing starts', async () => {
    const r = await cli('run', '--env', 'staging', '--env', 'production', '--dry-run');
    assert.equal(r.code, 2, r.out);
    assert.match(r.err, /--env is given 2 times \("staging", "production"\): give it once/);
    const eq = await cli('approve', '1.2.3', '--env=production', '--env', 'staging');
    assert.equal(eq.code, 2);
    assert.deepEqual(approvalTags(), []);
  });

  it("approve refuses a version the plan does not release; the plan's version is approved", async () => {
    git('config', 'user.name', 'Alice');
    git('config', 'user.email', 'alice@example.com');
    const r = await cli('approve', '9.9.9', '--env', 'production');
    assert.equal(r.code, 2, r.out);
    assert.match(r.err, /releases tiny version 1\.2\.3, not 9\.9\.9: approve the version this plan releases/);
    assert.deepEqual(approvalTags(), []);
    const ok = await cli('approve', 'v1.2.3', '--env', 'production');
    assert.equal(ok.code, 0, ok.err);
    assert.equal(approvalTags().length, 1);
    approvalTags().forEach((t) => git('tag', '-d', t));
  });

  it("approve refuses a --comment holding a secret's value (it would be pushed in the tag), naming the secret, not its value", async () => {
    const saved = process.env.TINY_TOKEN;
    process.env.TINY_TOKEN = 's3cr3t-T0ken-value-42';
    try {
      const r = await cli('approve', '1.2.3', '--env', 'production', '--comment', 'looks good, used token s3cr3t-T0ken-value-42\nto check');
      assert.equal(r.code, 2, r.out);
      assert.match(r.err, /the comment holds the value of TINY_TOKEN \(a secret of the plan\)/);
      assert.doesNotMatch(r.err + r.out, /s3cr3t-T0ken-value-42/);
      assert.deepEqual(approvalTags(), []);
      const ok = await cli('approve', '1.2.3', '--env', 'production', '--comment', 'looks good');
      assert.equal(ok.code, 0, ok.err);
    } finally {
      if (saved === undefined) delete process.env.TINY_TOKEN;
      else process.env.TINY_TOKEN = saved;
      approvalTags().forEach((t) => git('tag', '-d', t));
    }
  });
});

describe('environments: validation messages ', () => {
  const problems = (text: string) => {
    const r = parsePlan(text, 'plan.yaml');
    return r.ok ? [] : r.problems;
  };
  const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

  it('maxAge 1e400 is said to be infinite, not "got number null"', () => {
    const text = PLAN.replace('maxAge: 7d', 'maxAge: 1e400');
    const [p, ...rest] = problems(text);
    assert.equal(rest.length, 0);
    assert.doesNotMatch(p.message, /null/);
    assert.match(p.message, /got number Infinity \(not a finite number\)/);
    assert.equal(p.line, lineOf(text, 'maxAge'));
  });

  it('an approvals count more than the people listed in from fails at its line; count = listed passes', () => {
    const text = PLAN.replace(
      'approvals: { count: 1, from: [alice@example.com] }',
      'approvals:\n      count: 2\n      from: [alice@example.com, ALICE@example.com ]',
    );
    const [p, ...rest] = problems(text);
    assert.equal(rest.length, 0, rest.map((x) => x.message).join('\n'));
    assert.match(p.message, /2 approvals can never be given: only 1 person is listed in from/);
    assert.equal(p.line, lineOf(text, 'count: 2'));
    assert.deepEqual(problems(text.replace('ALICE@example.com', 'bob@example.com')), []);
    assert.deepEqual(problems(PLAN.replace('count: 1, from: [alice@example.com]', 'count: 5')), [], 'an empty from: anyone may approve');
  });
});
