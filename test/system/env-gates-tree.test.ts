import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runIds } from '../../src/core/engine/queries/runs';
import { gitRepo, write } from '../support/helpers';
import { newSshKey, sshApprovals, type Person } from '../support/approvals';
import { smallPlan, workspace, journalLines, type Workspace } from '../support/fixtures';

/**
 * A gated production release runs exactly the commit and the inputs that were approved: a tracked file changed in
 * the working tree (staged or not) refuses it unless waived with a reason, and a `--var` the approval did not carry
 * voids the approval. Real releases through the CLI, real git, real SSH signatures, a real deploy script.
 */
const DEPLOY = '#!/bin/bash\necho "deployed $1" > deployed.txt\n';
const EDITED = '#!/bin/bash\necho "edited by hand $1" > deployed.txt\ntouch edited-script-ran.txt\n';

function plan(environments: string): string {
  return smallPlan({
    checklist: `  - id: migration-script
    title: Migration script present
    files: [migrations/*.sql]`,
    deploy: `    steps:
      - name: deploy
        run: bash deploy.sh "\${release.version} to \${var.url}"`,
    extra: environments,
  }).replace('secrets: [TINY_TOKEN]', 'secrets: [TINY_TOKEN]\nvariables: { url: "http://default.example" }');
}
const GATED = `environments:
  staging:
    variables: { url: "http://staging.example" }
  production:
    variables: { url: "http://prod.example" }
    requires: { released: staging, maxAge: 7d }
    approvals: { count: 1, signed: true }
`;

/** A workspace in a git repository with a tracked deploy.sh, and SSH keys for the operator and Alice. */
function setUp(planText: string) {
  const ws = workspace(planText, { 'deploy.sh': DEPLOY });
  write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
  const git = gitRepo(ws.dir);
  git('add', '-A');
  git('commit', '-qm', 'feat: first');
  const key = (name: string, email: string): Person => ({ name, email, key: newSshKey(email) });
  const operator = key('Test Engineer', 'test@example.com');
  const alice = key('Alice', 'alice@example.com');
  const { cli, approveAs } = sshApprovals(git, ws.planFile, operator, [operator, alice]);
  const newest = () => journalLines(ws, runIds(ws.dir)[0]);
  const gate = (name: string) => newest().filter((e) => e.type === 'gate.changed' && e.gate === name);
  const report = () => fs.readFileSync(path.join(ws.dir, '.release/runs', runIds(ws.dir)[0], 'report.md'), 'utf8');
  const file = (rel: string) => path.join(ws.dir, rel);
  return { ws, git, cli, approveAs, alice, newest, gate, report, file };
}

describe('gated production: the working tree and the --var inputs are what was approved (real releases)', function () {
  this.timeout(240_000);
  let t: ReturnType<typeof setUp>;
  let ws: Workspace;

  // Promotion needs a staging run with the same inputs: each release with --var url has one.
  // Staging and production write one deployed.txt here: what staging wrote is put back, so the file says what production did.
  const stagedWith = async (url: string) => {
    const before = fs.readFileSync(t.file('deployed.txt'), 'utf8');
    const staged = await t.cli('run', '--yes', '--env', 'staging', '--var', `url=${url}`);
    assert.equal(staged.code, 0, staged.err + staged.out);
    fs.writeFileSync(t.file('deployed.txt'), before);
  };

  before(async () => {
    t = setUp(plan(GATED));
    ws = t.ws;
    const staged = await t.cli('run', '--yes', '--env', 'staging');
    assert.equal(staged.code, 0, staged.err + staged.out);
    const ok = await t.approveAs(t.alice, '1.2.3', '--env', 'production');
    assert.equal(ok.code, 0, ok.err);
  });
  afterEach(() => {
    t.git('reset', '-q');
    t.git('checkout', '-q', '--', '.');
    fs.rmSync(t.file('edited-script-ran.txt'), { force: true });
  });

  it('refuses production from a tree with an uncommitted edit of the tracked deploy.sh; the edited script never runs', async () => {
    write(ws.dir, 'deploy.sh', EDITED);
    const r = await t.cli('run', '--yes', '--env', 'production');
    assert.equal(r.code, 1, r.err + r.out);
    assert.ok(!fs.existsSync(t.file('edited-script-ran.txt')), 'the edited deploy.sh ran');
    const tree = t.gate('tree');
    assert.equal(tree.at(-1)?.state, 'blocked');
    assert.match(String(tree.at(-1)?.message), /uncommitted changes to tracked files: deploy\.sh.*--waive dirty-tree=REASON/);
    assert.match(r.out + r.err, /deploy\.sh/);
  });

  it('refuses production with a staged change of deploy.sh (the working tree equal to the index)', async () => {
    write(ws.dir, 'deploy.sh', EDITED);
    t.git('add', 'deploy.sh');
    const r = await t.cli('run', '--yes', '--env', 'production');
    assert.equal(r.code, 1, r.err + r.out);
    assert.ok(!fs.existsSync(t.file('edited-script-ran.txt')));
    assert.match(String(t.gate('tree').at(-1)?.message), /deploy\.sh/);
  });

  it('refuses a tracked file deleted from the working tree', async () => {
    fs.rmSync(t.file('migrations/001.sql'));
    write(ws.dir, 'migrations/002.sql', 'select 2;\n');
    const r = await t.cli('run', '--yes', '--env', 'production');
    assert.equal(r.code, 1, r.err + r.out);
    assert.match(String(t.gate('tree').at(-1)?.message), /migrations\/001\.sql/);
    fs.rmSync(t.file('migrations/002.sql'));
  });

  it('voids the approval when the release overrides --var url that the approval did not carry, naming url', async () => {
    await stagedWith('http://evil.example');
    const r = await t.cli('run', '--yes', '--env', 'production', '--var', 'url=http://evil.example');
    assert.equal(r.code, 1, r.err + r.out);
    assert.equal(t.gate('approval').at(-1)?.state, 'blocked');
    assert.match(String(t.gate('approval').at(-1)?.message), /approved without --var; this run overrides url/);
    assert.notEqual(fs.readFileSync(t.file('deployed.txt'), 'utf8').trim(), 'deployed 1.2.3 to http://evil.example');
  });

  it('approve takes --var: approved with url=a, a release with url=b is refused', async () => {
    await stagedWith('http://b.example');
    const a = await t.approveAs(t.alice, '1.2.3', '--env', 'production', '--var', 'url=http://a.example');
    assert.equal(a.code, 0, a.err);
    const r = await t.cli('run', '--yes', '--env', 'production', '--var', 'url=http://b.example');
    assert.equal(r.code, 1, r.err + r.out);
    assert.match(String(t.gate('approval').at(-1)?.message), /approved with --var url; this run overrides url, with other values/);
  });

  it('approve refuses a --var the plan does not declare', async () => {
    const a = await t.approveAs(t.alice, '1.2.3', '--env', 'production', '--var', 'ulr=http://a.example');
    assert.equal(a.code, 2, a.err);
    assert.match(a.err, /does not declare.*ulr \(did you mean url\?\)/);
  });

  it('releases with the approved --var and an untracked file only; report.md names the override and the untracked file', async () => {
    await stagedWith('http://a.example');
    write(ws.dir, 'notes.md', 'scratch\n');
    try {
      const r = await t.cli('run', '--yes', '--env', 'production', '--var', 'url=http://a.example');
      assert.equal(r.code, 0, r.err + r.out);
      assert.equal(fs.readFileSync(t.file('deployed.txt'), 'utf8').trim(), 'deployed 1.2.3 to http://a.example');
      const md = t.report();
      assert.match(md, /Approval \(open\): approved by Alice &lt;alice@example\.com&gt; \(signed\).*for the run inputs --var url/);
      assert.match(md, /Working tree \(open\): untracked files not in the release commit: notes\.md/);
    } finally {
      fs.rmSync(t.file('notes.md'));
    }
  });
});

describe('gated production: a dirty tree waived with a reason (real release)', function () {
  this.timeout(180_000);
  it('releases with --waive dirty-tree=REASON, journals who and why, and report.md names deploy.sh', async () => {
    const t = setUp(plan(GATED));
    assert.equal((await t.cli('run', '--yes', '--env', 'staging')).code, 0);
    assert.equal((await t.approveAs(t.alice, '1.2.3', '--env', 'production')).code, 0);
    write(t.ws.dir, 'deploy.sh', EDITED);
    const blank = await t.cli('run', '--yes', '--env', 'production', '--waive', 'dirty-tree=  ');
    assert.equal(blank.code, 1, blank.err + blank.out);
    const r = await t.cli('run', '--yes', '--env', 'production', '--waive', 'dirty-tree=hotfix checked by hand');
    assert.equal(r.code, 0, r.err + r.out);
    assert.ok(fs.existsSync(t.file('edited-script-ran.txt')));
    const tree = t.gate('tree').at(-1)!;
    assert.equal(tree.state, 'open');
    assert.deepEqual(tree.override, { by: 'Test Engineer', reason: 'hotfix checked by hand' });
    assert.match(t.report(), /Working tree \(open\): uncommitted changes to tracked files: deploy\.sh.*waived by Test Engineer: hotfix checked by hand/);
  });
});

describe('no environment gates: a dirty tree is released as before, and report.md says so (real release)', function () {
  this.timeout(120_000);
  it('releases from an edited tracked deploy.sh and names it in report.md', async () => {
    const t = setUp(plan(''));
    write(t.ws.dir, 'deploy.sh', EDITED);
    const r = await t.cli('run', '--yes');
    assert.equal(r.code, 0, r.err + r.out);
    assert.equal(t.newest()[0].clean, false);
    assert.match(t.report(), /Working tree \(open\): uncommitted changes to tracked files: deploy\.sh/);
  });
});
