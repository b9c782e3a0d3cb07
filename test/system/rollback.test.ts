import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Release } from '../../src/core/engine/run/engine';
import { foldJournal, rollbackOpenUntil, type ReleaseState } from '../../src/core/model/releaseState';
import { readJournal } from '../../src/core/journal/journal';
import { rollbackAdmission, supersedingRuns } from '../../src/core/engine/gates/rollbackAdmission';
import { buildReport, renderMarkdown } from '../../src/core/report/report';
import { parsePlan } from '../../src/core/plan/load';
import { ROOT, tempDir, write } from '../support/helpers';
import { atVersion, journalLines, scripted, smallPlan, workspace, type Workspace } from '../support/fixtures';
import { withServer } from '../support/server';
import { waitFor } from '../support/waitFor';

const CLI = path.join(ROOT, 'dist', 'cli.js');
const cli = (ws: Workspace, ...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args, '--plan', ws.planFile], { encoding: 'utf8', cwd: ws.dir, stdio: ['pipe', 'pipe', 'pipe'] });
const failingDeploy = `    steps:\n      - name: deploy\n        run: echo "image pull failed" >&2; exit 9`;
const events = (ws: Workspace, runId: string) => journalLines(ws, runId) as { type: string; [k: string]: unknown }[];

/** A journal as a crashed, aborted or old release left it: lines written as the engine writes them. */
function journalOf(dir: string, runId: string, at0: number, kinds: ('started' | 'deploy' | 'released' | 'rolled-back' | 'aborted')[], tail = ''): void {
  let t = at0;
  const line = (e: Record<string, unknown>) => JSON.stringify({ at: new Date((t += 1000)).toISOString(), ...e });
  const L: string[] = [];
  for (const k of kinds) {
    if (k === 'started')
      L.push(
        line({
          type: 'release.started',
          runId,
          plan: '.release/plan.yaml',
          name: 'tiny',
          version: runId,
          environment: 'production',
          user: 'u',
          host: 'h',
          pid: 1,
          planHash: 'x',
        }),
      );
    if (k === 'deploy') L.push(line({ type: 'phase.started', phase: 'deploy' }));
    // A run the engine ended released finished every phase it began.
    if (k === 'released' && kinds.includes('deploy')) L.push(line({ type: 'phase.finished', phase: 'deploy', outcome: 'passed' }));
    if (k === 'released' || k === 'aborted') L.push(line({ type: 'release.finished', outcome: k, message: k }));
    if (k === 'rolled-back')
      L.push(
        line({ type: 'rollback.started', trigger: 'user', reason: 'r', by: 'u', requestedAt: new Date(t).toISOString(), latencyMs: 1 }),
        line({ type: 'rollback.finished', outcome: 'rolled-back', message: 'ok' }),
        line({ type: 'release.finished', outcome: 'rolled-back', message: 'r' }),
      );
  }
  write(dir, `.release/runs/${runId}/journal.jsonl`, L.join('\n') + '\n' + tail);
}

describe('rollback: who may start one, and when (the attacker’s list first)', function () {
  this.timeout(60_000);
  const plan = (() => {
    const text = smallPlan().replace('rollback:\n  steps:', 'rollback:\n  deadline: 5m\n  steps:');
    const r = parsePlan(Buffer.from(text), 'plan.yaml');
    if (!r.ok) throw new Error('plan');
    return r.plan;
  })();
  const T0 = Date.parse('2026-11-27T10:00:00Z');

  // Each case: the other runs in the workspace, what the target run is, the clock, --force; what must happen.
  const cases: {
    name: string;
    others: (dir: string) => void;
    target?: Parameters<typeof journalOf>[3];
    now?: number;
    force?: boolean;
    expect: RegExp | 'ok' | 'late' | 'forced';
  }[] = [
    {
      name: 'a newer run that was aborted at a gate never reached production: not superseding',
      others: (d) => journalOf(d, 'r2', T0 + 60_000, ['started', 'aborted']),
      expect: 'ok',
    },
    { name: 'a newer run that crashed before its deploy: not superseding', others: (d) => journalOf(d, 'r2', T0 + 60_000, ['started']), expect: 'ok' },
    {
      name: 'a newer run paused mid-deploy supersedes',
      others: (d) => journalOf(d, 'r2', T0 + 60_000, ['started', 'deploy']),
      expect: /superseded by the newer run r2 \(r2, interrupted\)/,
    },
    {
      name: 'a newer run that rolled back supersedes (the incident of the issue)',
      others: (d) => journalOf(d, 'r2', T0 + 60_000, ['started', 'deploy', 'rolled-back']),
      expect: /superseded by the newer run r2 \(r2, rolled-back\)/,
    },
    {
      name: 'a newer released run supersedes',
      others: (d) => journalOf(d, 'r2', T0 + 60_000, ['started', 'deploy', 'released']),
      expect: /superseded by the newer run r2/,
    },
    {
      name: 'newer by time even when its id sorts first',
      others: (d) => journalOf(d, 'a-first-by-name', T0 + 60_000, ['started', 'deploy', 'released']),
      expect: /superseded by the newer run a-first-by-name/,
    },
    {
      name: 'of two newer runs the newest is named',
      others: (d) => (journalOf(d, 'r2', T0 + 60_000, ['started', 'deploy', 'released']), journalOf(d, 'r3', T0 + 120_000, ['started', 'deploy', 'released'])),
      expect: /superseded by the newer run r3/,
    },
    { name: 'an older run does not supersede', others: (d) => journalOf(d, 'r0', T0 - 3_600_000, ['started', 'deploy', 'released']), expect: 'ok' },
    {
      name: 'a newer run with a torn last line still supersedes',
      others: (d) => journalOf(d, 'r2', T0 + 60_000, ['started', 'deploy'], '{"at":"2026-11-27T10:01:05.000Z","type":"step.sta'),
      expect: /superseded by the newer run r2/,
    },
    {
      name: 'an empty run folder and a garbage journal are passed over',
      others: (d) => (
        fs.mkdirSync(path.join(d, '.release/runs/empty'), { recursive: true }),
        write(d, '.release/runs/junk/journal.jsonl', '\u0000\u0001 not json\n{"at":1}\n')
      ),
      expect: 'ok',
    },
    {
      name: '--force over a newer run is admitted, and the question says FORCED',
      others: (d) => journalOf(d, 'r2', T0 + 60_000, ['started', 'deploy', 'released']),
      force: true,
      expect: 'forced',
    },
    { name: 'window closed: admitted, never refused; the question names how late', others: () => {}, now: T0 + 3_600_000, expect: 'late' },
    {
      name: 'a run whose deploy never started has nothing to roll back',
      others: () => {},
      target: ['started', 'aborted'],
      expect: /nothing to roll back: the deploy has not started/,
    },
    {
      name: 'a run already rolled back has nothing to roll back',
      others: () => {},
      target: ['started', 'deploy', 'rolled-back'],
      expect: /nothing to roll back: the release is rolled-back/,
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const dir = tempDir('rp-adm-');
      journalOf(dir, 'r1', T0, c.target ?? ['started', 'deploy', 'released']);
      c.others(dir);
      const s: ReleaseState = foldJournal(readJournal(path.join(dir, '.release/runs/r1/journal.jsonl')).events);
      const a = rollbackAdmission(s, plan, c.now ?? T0 + 10_000, supersedingRuns(dir, s), Boolean(c.force));
      if (c.expect instanceof RegExp) {
        assert.equal(a.ok, false, JSON.stringify(a));
        if (!a.ok) assert.match(a.refusal, c.expect);
        return;
      }
      assert.ok(a.ok, JSON.stringify(a));
      if (!a.ok) return;
      assert.equal(a.question.lateByMs !== undefined, c.expect === 'late', a.question.message);
      if (c.expect === 'late') assert.match(a.question.message, /The rollback window closed 55 min ago/);
      if (c.expect === 'forced') assert.match(a.question.message, /FORCED over the newer run r2/);
    });
  }
});

describe('rollback from the CLI: refuses what would harm, asks what is late, starts nothing unconfirmed', function () {
  this.timeout(120_000);

  it('refuses to roll back a run a newer run superseded, naming it; --force needs a reason; forced, it runs and says so', async () => {
    const ws = workspace();
    await (await Release.start(ws.options({ runId: 'r1' }))).run();
    const r2 = await (
      await Release.start(
        atVersion(ws, '1.2.4', { runId: 'r2', prompter: scripted({ failure: [{ action: 'rollback' }] }) }, (t) =>
          t.replace('grep -q 1.2.3 deployed.txt', 'grep -q 1.2.4 deployed.txt'),
        ),
      )
    ).run();
    assert.equal(r2.status, 'released', r2.outcomeMessage);
    fs.writeFileSync(path.join(ws.dir, 'state.txt'), 'data written after r2\n');
    const refused = cli(ws, 'rollback', 'r1', '--yes');
    assert.equal(refused.status, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /run r1 was superseded by the newer run r2 \(1\.2\.4, released\)/);
    assert.match(refused.stderr, /release-pilot rollback r1 --force --reason TEXT/);
    assert.ok(!events(ws, 'r1').some((e) => e.type === 'rollback.started' || (e.type === 'step.started' && e.phase === 'rollback')), 'nothing started');
    assert.equal(fs.readFileSync(path.join(ws.dir, 'state.txt'), 'utf8'), 'data written after r2\n', 'no backup was restored');

    const noReason = cli(ws, 'rollback', 'r1', '--yes', '--force');
    assert.equal(noReason.status, 2, noReason.stderr);
    assert.match(noReason.stderr, /--force needs --reason TEXT/);

    const forced = cli(ws, 'rollback', 'r1', '--yes', '--force', '--reason', 'r2 corrupted the ledger; restore r1 backup');
    assert.equal(forced.status, 3, forced.stdout + forced.stderr);
    const s = foldJournal(readJournal(path.join(ws.dir, '.release/runs/r1/journal.jsonl')).events);
    assert.equal(s.rollback?.forcedOver, 'r2');
    assert.ok(events(ws, 'r1').some((e) => e.type === 'decision' && /forced over the newer run r2: r2 corrupted the ledger/.test(String(e.reason))));
    assert.match(renderMarkdown(buildReport(s)), /forced over run r2/);
  });

  it('with no terminal and no --yes, nothing starts and nothing is journaled as started', async () => {
    const ws = workspace();
    const r = await Release.start(ws.options());
    await r.run();
    fs.writeFileSync(path.join(ws.dir, 'state.txt'), 'v2 data\n');
    const before = events(ws, r.runId).length;
    const out = cli(ws, 'rollback', '--reason', 'checking what happens');
    assert.equal(out.status, 1, out.stdout + out.stderr);
    assert.match(out.stderr, /not confirmed \(no terminal to ask; pass --yes\): Roll back tiny 1\.2\.3 on production/);
    const after = events(ws, r.runId).slice(before);
    assert.ok(!after.some((e) => e.type === 'rollback.started' || e.type === 'step.started' || e.type === 'release.finished'), JSON.stringify(after));
    assert.equal(fs.readFileSync(path.join(ws.dir, 'state.txt'), 'utf8'), 'v2 data\n', 'the backup was not restored');
    assert.equal(foldJournal(readJournal(path.join(ws.dir, '.release/runs', r.runId, 'journal.jsonl')).events).status, 'released');
  });

  it('after the window: --yes alone starts nothing; --yes --late rolls back and the report says how late', async () => {
    const ws = workspace(smallPlan().replace('rollback:\n  steps:', 'rollback:\n  deadline: 1s\n  steps:'));
    const r = await Release.start(ws.options());
    await r.run();
    // Late by more than a second (the report says less in ms, not in the s this test reads). Waits for real
    // time: the CLI is a process of its own reading the wall clock, and no clock can be given to it; polled
    // against the moment the journal closed the window, not guessed.
    const closedAt = Date.parse(rollbackOpenUntil(foldJournal(readJournal(path.join(ws.dir, '.release/runs', r.runId, 'journal.jsonl')).events), 1000, 0)!);
    assert.ok(await waitFor(() => Date.now() > closedAt + 1500, 10_000, 20), 'the window closed more than a second ago');
    const yesOnly = cli(ws, 'rollback', '--yes', '--reason', 'late complaint');
    assert.equal(yesOnly.status, 1, yesOnly.stdout + yesOnly.stderr);
    assert.match(yesOnly.stderr, /a late rollback needs --yes --late/);
    assert.match(yesOnly.stderr, /The rollback window closed \d+(\.\d)? s ago/);
    assert.doesNotMatch(yesOnly.stderr, /refus|closed at .*roll back by hand/i);
    assert.ok(!events(ws, r.runId).some((e) => e.type === 'rollback.started'));
    const late = cli(ws, 'rollback', '--yes', '--late', '--reason', 'late complaint');
    assert.equal(late.status, 3, late.stdout + late.stderr);
    assert.match(late.stdout, /Rollback Attempts\*\*: 1\n {2}1\. .* late by \d+\.\d s/);
  });
});

describe('rollback: budget, announcement and every attempt in the report', function () {
  this.timeout(60_000);
  const withRollback = (steps: string, extra = '', budget = '') =>
    smallPlan({ deploy: failingDeploy, rollback: steps, extra }).replace('rollback:\n  steps:', `rollback:\n${budget}  steps:`);

  it('measures the duration from trigger to the last rollback step and flags a rollback over budget', async () => {
    const ws = workspace(
      withRollback(
        `    - name: drain\n      run: sleep 0.7\n      timeout: 1s\n    - name: restore\n      run: sleep 0.7 && cp '\${backup.path}' state.txt\n      timeout: 1s`,
        '',
        '  budget: 1s\n',
      ),
    );
    const s = await (await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'rollback' }] }) }))).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.ok(s.rollback!.durationMs! >= 1400 && s.rollback!.durationMs! < 5000, `duration ${s.rollback!.durationMs}`);
    assert.equal(s.rollback!.budgetMs, 1000);
    const r = buildReport(s);
    assert.equal(r.incidentResponse.overBudget, true);
    // The line shows the measured duration (2.0 s was seen on a loaded machine, so it is read from the run, not assumed to be 1.x s).
    const shown = `${(s.rollback!.durationMs! / 1000).toFixed(1)} s`;
    assert.ok(renderMarkdown(r).includes(`- **Rollback Duration**: **${shown} (budget 1.0 s) — over budget**`), renderMarkdown(r));
  });

  it('within budget: "Rollback Duration: 0.x s (budget 5 min)", not flagged', async () => {
    const ws = workspace(withRollback(`    - name: restore\n      run: cp '\${backup.path}' state.txt`));
    const s = await (await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'rollback' }] }) }))).run();
    const md = renderMarkdown(buildReport(s));
    assert.match(md, /- \*\*Rollback Duration\*\*: \d+(\.\d)? m?s \(budget 5 min\)\n/);
    assert.doesNotMatch(md, /over budget/);
  });

  it('a rollback step without its own timeout gets what is left of the budget, not 15 minutes', async () => {
    const ws = workspace(withRollback(`    - name: hung load balancer call\n      run: sleep 30`, '', '  budget: 1s\n'));
    const t0 = Date.now();
    const s = await (await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'rollback' }] }) }))).run();
    assert.ok(Date.now() - t0 < 20_000, 'the step was ended at the budget');
    assert.equal(s.status, 'rollback-failed');
    assert.equal(s.steps['rollback/0'].state, 'failed');
    assert.match(s.steps['rollback/0'].message ?? '', /timed out|timeout/i);
  });

  it('is announced on the plan’s channels (a real webhook on 127.0.0.1, the notification) with reason and outcome', async () => {
    const got: string[] = [];
    await withServer(
      (req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          got.push(body);
          res.writeHead(200).end('ok');
        });
      },
      async (server) => {
        const url = `${server.url}/hook`;
        const ws = workspace(
          withRollback(
            `    - name: restore\n      run: cp '\${backup.path}' state.txt`,
            'announce:\n  notify: true\n  webhook:\n    url: ${env:ROLLBACK_HOOK_URL}\n  command: echo "$RELEASE_PILOT_OUTCOME $RELEASE_PILOT_ANNOUNCEMENT" > announced-rollback.txt\n',
          ),
        );
        const p = scripted({ failure: [{ action: 'rollback' }] });
        const s = await (await Release.start(ws.options({ prompter: p, env: { ...process.env, ROLLBACK_HOOK_URL: url } }))).run();
        assert.equal(s.status, 'rolled-back');
        assert.equal(got.length, 1, 'one POST');
        const text = JSON.parse(got[0]).text as string;
        assert.match(text, /^tiny 1\.2\.3 on production: ROLLED BACK in \d+\.\d s\. Reason \(step, by Test Engineer\): deploy failed: exit code 9$/);
        assert.deepEqual(p.notified, [text]);
        assert.equal(fs.readFileSync(path.join(ws.dir, 'announced-rollback.txt'), 'utf8'), `rolled-back ${text}\n`);
        assert.deepEqual(
          s.announcements.map((a) => [a.channel, a.ok]),
          [
            ['command', true],
            ['webhook', true],
            ['notification', true],
          ],
        );
      },
    );
  });

  it('a failed announcement never hides the rollback outcome', async () => {
    await withServer(
      (_req, res) => res.writeHead(500).end('down'),
      async (server) => {
        const url = `${server.url}/hook`;
        const ws = workspace(
          withRollback(
            `    - name: restore\n      run: cp '\${backup.path}' state.txt`,
            'announce:\n  notify: false\n  webhook:\n    url: ${env:ROLLBACK_HOOK_URL}\n    retries: 0\n  command: exit 4\n',
          ),
        );
        const s = await (
          await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'rollback' }] }), env: { ...process.env, ROLLBACK_HOOK_URL: url } }))
        ).run();
        assert.equal(s.status, 'rolled-back');
        assert.equal(s.rollback?.outcome, 'rolled-back');
        assert.match(s.outcomeMessage!, /^rolled back: deploy failed/);
        assert.deepEqual(
          s.announcements.map((a) => [a.channel, a.ok]),
          [
            ['command', false],
            ['webhook', false],
          ],
        );
        const md = renderMarkdown(buildReport(s));
        assert.match(md, /Outcome: \*\*rolled-back\*\*/);
        assert.match(md, /- webhook: \*\*failed\*\* — announcement failed: webhook answered HTTP 500/);
      },
    );
  });

  it('a failed rollback is announced as failed', async () => {
    const ws = workspace(withRollback(`    - name: switch back\n      run: exit 28`));
    const p = scripted({ failure: [{ action: 'rollback' }] });
    const s = await (await Release.start(ws.options({ prompter: p }))).run();
    assert.equal(s.status, 'rollback-failed');
    assert.match(p.notified[0], /ROLLBACK FAILED in \d+\.\d s: ROLLBACK FAILED at switch back: exit code 28; production needs a person now\. Reason \(step/);
  });

  it('lists every attempt in the report: trigger, reason, by, outcome, duration', async () => {
    const ws = workspace(withRollback(`    - name: restore\n      run: test -f lb-back.txt && cp '\${backup.path}' state.txt`));
    const r = await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'rollback' }] }) }));
    assert.equal((await r.run()).status, 'rollback-failed');
    fs.writeFileSync(path.join(ws.dir, 'lb-back.txt'), '');
    const s = await (
      await Release.reopen(ws.options({ user: 'Second Responder' }), r.runId)
    ).rollbackFinished('second attempt after the load balancer came back');
    assert.equal(s.status, 'rolled-back');
    assert.equal(s.rollbacks.length, 2);
    const rep = buildReport(s);
    assert.deepEqual(
      rep.incidentResponse.attempts!.map((a) => [a.trigger, a.by, a.outcome]),
      [
        ['step', 'Test Engineer', 'rollback-failed'],
        ['user', 'Second Responder', 'rolled-back'],
      ],
    );
    const md = renderMarkdown(rep);
    assert.match(
      md,
      /- \*\*Rollback Attempts\*\*: 2\n {2}1\. [\d-]+ [\d:]+ UTC — trigger: step; by: Test Engineer; reason: deploy failed: exit code 9; outcome: \*\*ROLLBACK FAILED\*\* \(ROLLBACK FAILED at restore: exit code 1\); duration: \d+(\.\d)? m?s \(budget 5 min\)\n {2}2\. [\d-]+ [\d:]+ UTC — trigger: user; by: Second Responder; reason: second attempt after the load balancer came back; outcome: rolled-back/,
    );
    // The journal replays to the same list.
    assert.equal(foldJournal(readJournal(path.join(ws.dir, '.release/runs', r.runId, 'journal.jsonl')).events).rollbacks.length, 2);
  });
});

describe('rollback plan validation', () => {
  it('refuses a rollback step whose timeout exceeds the rollback budget, at its line', () => {
    const dir = tempDir('rp-budget-');
    const text = smallPlan({ rollback: `    - name: restore\n      run: "true"\n      timeout: 10m` }).replace(
      'rollback:\n  steps:',
      'rollback:\n  budget: 5m\n  steps:',
    );
    const r = parsePlan(Buffer.from(text), path.join(dir, 'plan.yaml'));
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.match(
      r.problems.map((p) => `${p.line}: ${p.message}`).join('\n'),
      /\d+: a rollback step's timeout \(600 s\) cannot exceed the rollback budget \(300 s\)/,
    );
  });
});
