import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadRun, runIds } from '../../src/core/engine/queries/runs';
import { Release } from '../../src/core/engine/run/engine';
import { realClock } from '../../src/core/base/clock';
import { loadPlanFile } from '../../src/core/plan/load';
import { planForEnvironment } from '../../src/core/plan/environments';
import { gitRepo, write } from '../support/helpers';
import { newSshKey, sshApprovals, type Person } from '../support/approvals';
import { smallPlan, workspace, journalLines, type Workspace } from '../support/fixtures';

const CHECKLIST = `  - id: migration-script
    title: Migration script present
    files: [migrations/*.sql]`;

/** Staging, then production behind promotion and one signed approval by someone else; eu frozen now. */
function envPlan(freeze: { from: string; to: string }): string {
  return smallPlan({
    checklist: CHECKLIST,
    extra: `environments:
  staging:
    variables: { url: "http://staging.example" }
  production:
    variables: { url: "http://prod.example" }
    requires: { released: staging, maxAge: 7d }
    approvals: { count: 1, signed: true }
  eu:
    freeze:
      - { from: "${freeze.from}", to: "${freeze.to}", reason: "year-end freeze" }
`,
  })
    .replace('secrets: [TINY_TOKEN]', 'secrets: [TINY_TOKEN]\nvariables: { url: "http://default.example" }')
    .replace('echo "version ${release.version}" > deployed.txt', 'echo "version ${release.version} to ${var.url}" > deployed.txt');
}

/** `+05:30` text of an instant: a freeze written in another zone than the machine's. */
function inIndia(ms: number): string {
  return new Date(ms + 5.5 * 3_600_000).toISOString().replace(/\.\d+Z$/, '+05:30');
}

describe('environments: promotion, approvals in git, freeze windows (real git, real SSH signatures)', function () {
  this.timeout(120_000);
  let ws: Workspace;
  let git: (...args: string[]) => string;
  let alice: Person;
  let mallory: Person;
  let operator: Person;
  let cli: ReturnType<typeof sshApprovals>['cli'];
  let approveAs: ReturnType<typeof sshApprovals>['approveAs'];
  const key = (who: string, email: string): Person => ({ name: who, email, key: newSshKey(email) });
  const approvalTags = () => git('tag', '-l', 'release-pilot/approval/*').split('\n').filter(Boolean);
  const dropApprovals = () => approvalTags().forEach((t) => git('tag', '-d', t));
  const newestJournal = () => journalLines(ws, runIds(ws.dir)[0]);
  const gateEvents = (gate: string) => newestJournal().filter((e) => e.type === 'gate.changed' && e.gate === gate);

  before(function () {
    const now = Date.now();
    ws = workspace(envPlan({ from: inIndia(now - 3_600_000), to: inIndia(now + 3_600_000) }));
    write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
    git = gitRepo(ws.dir);
    git('add', '-A');
    git('commit', '-qm', 'feat: first');
    operator = key('Test Engineer', 'test@example.com');
    alice = key('Alice', 'alice@example.com');
    mallory = key('Mallory', 'mallory@example.com');
    // The operator and Alice are trusted signers; Mallory's key is not.
    ({ cli, approveAs } = sshApprovals(git, ws.planFile, operator, [operator, alice]));
  });

  it('refuses a run without --env, listing the environments, and an environment the plan does not have', async () => {
    const r = await cli('run', '--yes');
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /name one with --env: staging, production, eu/);
    const bad = await cli('run', '--yes', '--env', 'qa');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /no environment "qa"; expected one of: staging, production, eu/);
    assert.equal(runIds(ws.dir).length, 0);
  });

  it('refuses production without a released staging run of this commit, naming the gate', async () => {
    const r = await cli('run', '--yes', '--env', 'production');
    assert.equal(r.code, 1, r.err + r.out);
    assert.match(r.out + r.err, /promotion gate: no released staging run of tiny 1\.2\.3 at commit [0-9a-f]{12}/);
    assert.equal(gateEvents('promotion')[0].state, 'blocked');
    assert.equal(gateEvents('approval').length, 0, 'nothing past the first blocked gate is judged');
  });

  it('does not count a staging run made from a working tree with uncommitted changes', async () => {
    const stray = write(ws.dir, 'hotfix.js', 'patched by hand\n');
    try {
      const r = await cli('run', '--yes', '--env', 'staging');
      assert.equal(r.code, 0, r.err + r.out);
      assert.equal(newestJournal()[0].clean, false);
    } finally {
      fs.rmSync(stray);
    }
    const prod = await cli('run', '--yes', '--env', 'production');
    assert.equal(prod.code, 1, prod.err + prod.out);
    assert.match(String(gateEvents('promotion')[0].message), /: run \S+ started from a working tree with uncommitted changes/);
  });

  it('releases to staging with its own values, and records the environment', async () => {
    const r = await cli('run', '--yes', '--env', 'staging');
    assert.equal(r.code, 0, r.err + r.out);
    assert.equal(fs.readFileSync(path.join(ws.dir, 'deployed.txt'), 'utf8').trim(), 'version 1.2.3 to http://staging.example');
    assert.equal(newestJournal()[0].environment, 'staging');
    assert.equal(newestJournal()[0].clean, true);
  });

  it("refuses to roll back the staging run with another environment's values (--env production)", async () => {
    const r = await cli('rollback', '--env', 'production', '--yes', '--reason', 'wrong environment');
    assert.equal(r.code, 2, r.err + r.out);
    assert.match(r.err, /went to staging, not production: rollback it with --env staging, or without --env/);
    assert.ok(!newestJournal().some((e) => String(e.type).startsWith('rollback.')), 'nothing was rolled back');
  });

  it('refuses production with no approval, then with only a self-approval (signed and trusted)', async () => {
    const none = await cli('run', '--yes', '--env', 'production');
    assert.equal(none.code, 1);
    assert.equal(gateEvents('promotion')[0].state, 'open');
    assert.match(String(gateEvents('promotion')[0].message), /released to staging in run \S+/);
    assert.match(String(gateEvents('approval')[0].message), /^0 of 1 approval/);

    const self = await approveAs(operator, '1.2.3', '--env', 'production');
    assert.equal(self.code, 0, self.err);
    const r = await cli('run', '--yes', '--env', 'production');
    assert.equal(r.code, 1);
    assert.match(String(gateEvents('approval')[0].message), /the approver is the person starting the release/);
    dropApprovals();
  });

  it('refuses an unsigned approval where signatures are required', async () => {
    git('config', 'gpg.format', 'openpgp'); // so that -a stays unsigned whatever tag.gpgSign says
    const who = 'Alice <alice@example.com>';
    git('config', 'user.name', 'Alice');
    git('config', 'user.email', 'alice@example.com');
    try {
      const head = git('rev-parse', 'HEAD');
      const hash = (await import('node:crypto')).createHash('sha256').update(fs.readFileSync(ws.planFile)).digest('hex');
      const msg = `release-pilot approval\nenvironment: production\nversion: 1.2.3\ncommit: ${head}\nplan: ${hash}\napprover: ${who}\nat: 2026-11-28T00:00:00.000Z`;
      git('tag', '-a', '-m', msg, 'release-pilot/approval/production/1.2.3/unsigned', head);
    } finally {
      git('config', 'gpg.format', 'ssh');
      git('config', 'user.name', operator.name);
      git('config', 'user.email', operator.email);
    }
    const r = await cli('run', '--yes', '--env', 'production');
    assert.equal(r.code, 1);
    assert.match(String(gateEvents('approval')[0].message), /unsigned, and this environment needs signed approvals/);
    dropApprovals();
  });

  it("refuses an approval signed by a key not in the allowed signers (Mallory's key under Alice's name)", async () => {
    const r0 = await approveAs({ ...alice, key: mallory.key }, '1.2.3', '--env', 'production');
    assert.equal(r0.code, 0, r0.err);
    const r = await cli('run', '--yes', '--env', 'production');
    assert.equal(r.code, 1);
    assert.match(String(gateEvents('approval')[0].message), /signature does not verify/);
    dropApprovals();
  });

  // The plan changed after the approval: since the gates are read from the committed plan, an uncommitted
  // change is refused before any gate, and no run starts; the approval's own plan hash check is in the corpus.
  it('refuses a release after the plan changed by one byte since the approval, before any gate', async () => {
    const a = await approveAs(alice, '1.2.3', '--env', 'production', '--comment', 'looks good');
    assert.equal(a.code, 0, a.err);
    const text = fs.readFileSync(ws.planFile, 'utf8');
    const runs = runIds(ws.dir).length;
    fs.writeFileSync(ws.planFile, text + ' ');
    try {
      const r = await cli('run', '--yes', '--env', 'production');
      assert.equal(r.code, 1, r.err + r.out);
      assert.match(r.err, /the release plan \.release\/plan\.yaml has changes not committed: environment gates .* Commit the plan/);
      assert.equal(runIds(ws.dir).length, runs, 'no run was started');
    } finally {
      fs.writeFileSync(ws.planFile, text);
    }
  });

  it('refuses production after the commit was amended with the same message: staging released the other commit', async () => {
    const before = git('rev-parse', 'HEAD');
    git('commit', '-q', '--amend', '--no-edit', '--date', '2026-01-02T00:00:00Z');
    try {
      const r = await cli('run', '--yes', '--env', 'production');
      assert.equal(r.code, 1);
      assert.match(String(gateEvents('promotion')[0].message), new RegExp(`no released staging run .*: run \\S+ released commit ${before.slice(0, 12)}`));
    } finally {
      git('reset', '-q', '--soft', before);
    }
  });

  it("releases production with Alice's valid signed approval; journal and report name the staging run and the approver", async () => {
    assert.equal(approvalTags().length, 1, 'the approval of the previous test, for this plan as written');
    const r = await cli('run', '--yes', '--env', 'production');
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(String(gateEvents('approval')[0].message), /^approved by Alice <alice@example\.com> \(signed\)/);
    assert.equal(fs.readFileSync(path.join(ws.dir, 'deployed.txt'), 'utf8').trim(), 'version 1.2.3 to http://prod.example');
    const report = fs.readFileSync(path.join(ws.dir, '.release/runs', runIds(ws.dir)[0], 'report.md'), 'utf8');
    assert.match(report, /Promotion \(open\): 1\.2\.3 at [0-9a-f]{12} was released to staging in run \S+/);
    assert.match(report, /Approval \(open\): approved by Alice &lt;alice@example\.com&gt; \(signed\)/);
    // Which tag counted, and the key its signature was verified with, as ssh-keygen prints its fingerprint.
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${alice.key}.pub`], { encoding: 'utf8' }).split(' ')[1];
    assert.match(fingerprint, /^SHA256:/);
    const [tag] = approvalTags();
    assert.deepEqual(gateEvents('approval')[0].approvals, [{ tag, approver: 'Alice <alice@example.com>', key: fingerprint }]);
    assert.ok(report.includes(`Approval tag ${tag}: Alice &lt;alice@example.com&gt;, signed with key ${fingerprint}`), report);
    assert.ok(report.indexOf('### 1. Release Log') < report.indexOf(tag) && report.indexOf(tag) < report.indexOf('### 2. Changelog'), 'in the Release Log');
  });

  it('refuses a release inside a freeze window written in another time zone; a blank override is refused; a reason is recorded', async () => {
    const r = await cli('run', '--yes', '--env', 'eu');
    assert.equal(r.code, 1);
    assert.match(String(gateEvents('freeze')[0].message), /releases are frozen from .*\+05:30 to .*\+05:30: year-end freeze/);
    const blank = await cli('run', '--yes', '--env', 'eu', '--override-freeze', '   ');
    assert.equal(blank.code, 1);
    assert.match(String(gateEvents('freeze')[0].message), /an override needs a written reason/);
    const ok = await cli('run', '--yes', '--env', 'eu', '--override-freeze', 'security fix CVE-1');
    assert.equal(ok.code, 0, ok.err + ok.out);
    assert.match(String(gateEvents('freeze')[0].message), /overridden by Test Engineer: security fix CVE-1/);
    const report = fs.readFileSync(path.join(ws.dir, '.release/runs', runIds(ws.dir)[0], 'report.md'), 'utf8');
    assert.match(report, /Freeze \(open\): freeze .* \(year-end freeze\) overridden by Test Engineer: security fix CVE-1/);
  });

  // Last: it leaves a paused production run behind.
  it('re-judges the approval at a resume: an approval revoked after the start pauses the run; a changed plan is refused', async () => {
    assert.equal(approvalTags().length, 1, "Alice's approval of the earlier tests");
    const loaded = loadPlanFile(ws.planFile);
    assert.ok(loaded.ok);
    const chosen = planForEnvironment(loaded.plan, 'production');
    assert.ok(chosen.ok);
    const options = ws.options({ plan: chosen.plan, planText: loaded.text, stopAfter: 'preparation' });
    const first = await (await Release.start(options)).run();
    assert.equal(first.status, 'paused', JSON.stringify(first.pausedAt));
    assert.equal(first.gates.approval.state, 'open');
    const runId = first.runId;

    // Edited and not committed: refused before anything is judged.
    const text = fs.readFileSync(ws.planFile, 'utf8');
    fs.writeFileSync(ws.planFile, text.replace('    approvals: { count: 1, signed: true }\n', ''));
    const edited = await cli('resume', runId, '--yes');
    assert.equal(edited.code, 1, edited.err + edited.out);
    assert.match(edited.err, /\.release\/plan\.yaml has changes not committed/);
    // Edited and committed: the plan is not the one the run's gates were judged on.
    git('commit', '-qam', 'chore: production needs no approval');
    try {
      const committed = await cli('resume', runId, '--yes');
      assert.equal(committed.code, 1, committed.err + committed.out);
      assert.match(committed.err, new RegExp(`the plan \\.release/plan\\.yaml changed since run ${runId} started, and its environments have gates`));
    } finally {
      git('reset', '-q', '--hard', 'HEAD~1');
    }
    assert.equal(loadRun(ws.dir, runId).state.status, 'paused');

    // The plan as it was, the approval revoked: the resume pauses at the approval gate, and deploys nothing.
    dropApprovals();
    const r = await cli('resume', runId, '--yes');
    assert.equal(r.code, 1, r.err + r.out);
    const after = loadRun(ws.dir, runId).state;
    assert.equal(after.status, 'paused');
    assert.equal(after.gates.approval.state, 'blocked');
    assert.match(after.gates.approval.message, /^0 of 1 approval/);
    assert.match(after.pausedAt?.message ?? '', /approval gate: 0 of 1 approval.*resume once it is open, or roll back or abandon this run/);
    assert.equal(after.phases.find((p) => p.id === 'deploy')?.state, 'pending');
    const ended = await cli('abandon', runId, '--reason', 'approval revoked');
    assert.equal(ended.code, 0, ended.err + ended.out);
  });

  it('re-judges the freeze at a resume: a freeze begun since the start pauses the run; an override given at the start holds', async () => {
    const loaded = loadPlanFile(ws.planFile);
    assert.ok(loaded.ok);
    const chosen = planForEnvironment(loaded.plan, 'eu');
    assert.ok(chosen.ok);
    // Started two hours ago by its clock, before the window (now ± 1 h) began: no freeze then.
    const earlier = { now: () => Date.now() - 2 * 3_600_000, sleep: (ms: number, signal: AbortSignal) => realClock.sleep(ms, signal) };
    const options = ws.options({ plan: chosen.plan, planText: loaded.text, stopAfter: 'preparation' });
    const first = await (await Release.start({ ...options, clock: earlier })).run();
    assert.equal(first.status, 'paused', JSON.stringify(first.pausedAt));
    assert.match(first.gates.freeze.message, /^no freeze now/);
    const frozen = await cli('resume', first.runId, '--yes');
    assert.equal(frozen.code, 1, frozen.err + frozen.out);
    const after = loadRun(ws.dir, first.runId).state;
    assert.equal(after.status, 'paused');
    assert.match(after.pausedAt?.message ?? '', /freeze gate: releases are frozen from .*: year-end freeze/);
    assert.equal(after.phases.find((p) => p.id === 'deploy')?.state, 'pending');
    assert.equal((await cli('abandon', first.runId, '--reason', 'frozen')).code, 0);

    // Overridden at the start: a resume without --override-freeze keeps that override, naming who gave it.
    const second = await (await Release.start({ ...options, user: 'Test Engineer', overrideFreeze: 'hotfix for CVE-2' })).run();
    assert.equal(second.status, 'paused', JSON.stringify(second.pausedAt));
    // A CRLF checkout of the same plan is the same plan: neither the committed-plan rule nor the hash objects.
    const text = fs.readFileSync(ws.planFile, 'utf8');
    fs.writeFileSync(ws.planFile, text.replace(/\n/g, '\r\n'));
    let resumed: Awaited<ReturnType<typeof cli>>;
    try {
      resumed = await cli('resume', second.runId, '--yes');
    } finally {
      fs.writeFileSync(ws.planFile, text);
    }
    assert.equal(resumed.code, 0, resumed.err + resumed.out);
    const done = loadRun(ws.dir, second.runId).state;
    assert.equal(done.status, 'released');
    assert.match(done.gates.freeze.message, /overridden by Test Engineer: hotfix for CVE-2$/);
  });
});
