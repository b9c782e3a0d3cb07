import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release, loadRun, latestRunId } from '../../src/core/engine/run/engine';
import { LockHeldError } from '../../src/core/journal/journal';
import { foldJournal } from '../../src/core/model/releaseState';
import { realClock, type Clock } from '../../src/core/base/clock';
import { runIds } from '../../src/core/engine/queries/runs';
import { gitRepo } from '../support/helpers';
import { atVersion, journalLines, scripted, smallPlan, workspace } from '../support/fixtures';

describe('release engine', () => {
  it('runs a whole release through every phase and journals it in order', async () => {
    const ws = workspace();
    const prompter = scripted();
    const r = await Release.start(ws.options({ prompter }));
    const s = await r.run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.equal(fs.readFileSync(path.join(ws.dir, 'deployed.txt'), 'utf8'), 'version 1.2.3\n');
    assert.equal(fs.readFileSync(path.join(ws.dir, 'state.txt'), 'utf8'), 'v1\nmigrated\n');
    assert.ok(fs.existsSync(path.join(ws.dir, 'announced.txt')));
    const types = journalLines(ws, r.runId).map((e) => e.type);
    assert.equal(types[0], 'release.started');
    assert.equal(types.at(-1), 'release.finished');
    const phases = journalLines(ws, r.runId)
      .filter((e) => e.type === 'phase.started')
      .map((e) => e.phase);
    assert.deepEqual(phases, ['preparation', 'staging', 'backup', 'migration', 'deploy', 'config', 'verification', 'monitoring', 'announcement']);
    assert.deepEqual(
      s.checklist.map((c) => [c.id, c.state, c.by]),
      [
        ['migration-script', 'passed', undefined],
        ['sign-off', 'passed', 'Release Manager'],
      ],
    );
    assert.ok(prompter.asked.includes('confirm: Release tiny 1.2.3 to production?'));
    assert.equal(prompter.notified.length, 1);
    assert.equal(s.metrics.health.verdict?.verdict, 'pass');
    // The fold of the journal on disk is the state the engine reported.
    const again = loadRun(ws.dir, r.runId).state;
    assert.deepEqual({ ...again, updatedAt: '' }, { ...s, updatedAt: '' });
    assert.ok(fs.existsSync(path.join(ws.dir, '.release/runs', r.runId, 'report.md')));
    assert.ok(!fs.existsSync(path.join(ws.dir, '.release/lock')), 'the lock is released');
  });

  it('refuses to start when the acceptance verdict does not say go, quoting what it said', async () => {
    const ws = workspace(smallPlan(), { 'verdict.txt': 'QA verdict: Blocked (3 open P1 bugs)\n' });
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'aborted');
    assert.match(
      s.outcomeMessage!,
      /the verdict from file verdict\.txt is not a go: the verdict is taken back or reports a failure, line 1: "QA verdict: Blocked \(3 open P1 bugs\)"/,
    );
    assert.ok(!fs.existsSync(path.join(ws.dir, 'prepared.txt')), 'nothing ran');
  });

  it('reads the verdict from a command', async () => {
    const ws = workspace(smallPlan({ acceptance: 'command: \'echo "verdict: Ready for Launch"\'' }));
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'released');
    assert.equal(s.acceptance?.source, 'command echo "verdict: Ready for Launch"');
  });

  it('refuses to start while a checklist item fails, and waiving needs a reason and records who', async () => {
    const ws = workspace(smallPlan({ checklist: `  - id: migration-script\n    title: Migration script present\n    files: [db/*.sql]` }));
    const aborted = await (await Release.start(ws.options())).run();
    assert.equal(aborted.status, 'aborted');
    assert.match(aborted.outcomeMessage!, /Migration script present" failed: nothing matches db\/\*\.sql/);

    const noReason = await (await Release.start(ws.options({ prompter: scripted({ checklist: [{ action: 'waive', reason: '  ' }] }) }))).run();
    assert.equal(noReason.status, 'aborted');
    assert.match(noReason.outcomeMessage!, /cannot be waived without a written reason/);

    const waived = await (
      await Release.start(ws.options({ prompter: scripted({ checklist: [{ action: 'waive', reason: 'no schema change in this release' }] }) }))
    ).run();
    assert.equal(waived.status, 'released');
    assert.deepEqual(
      { state: waived.checklist[0].state, by: waived.checklist[0].by, reason: waived.checklist[0].reason },
      { state: 'waived', by: 'Test Engineer', reason: 'no schema change in this release' },
    );
  });

  it('does not start until a person ticks a manual item', async () => {
    const ws = workspace();
    const s = await (await Release.start(ws.options({ prompter: scripted({ tick: undefined }) }))).run();
    assert.equal(s.status, 'aborted');
    assert.match(s.outcomeMessage!, /Sign-off" failed: not ticked/);
  });

  it('does not start when the go/no-go confirmation is declined', async () => {
    const ws = workspace();
    const s = await (await Release.start(ws.options({ prompter: scripted({ confirm: false }) }))).run();
    assert.equal(s.status, 'aborted');
    assert.equal(s.outcomeMessage, 'the release was not confirmed');
  });

  it('checks git gates on a real repository: merged into main, clean tree, tag matching the version', async () => {
    const plan = smallPlan({ checklist: `  - id: main-tagged\n    title: Merged to main and tagged\n    git: {}` });
    const ws = workspace(plan);
    fs.writeFileSync(path.join(ws.dir, '.gitignore'), '.release/runs/\n.release/lock\n*.txt\n');
    const git = gitRepo(ws.dir);
    git('add', '-A');
    git('commit', '-qm', 'feat: first');
    let s = await (await Release.start(ws.options())).run();
    assert.match(s.outcomeMessage!, /HEAD is not tagged v1\.2\.3/);
    git('tag', 'v1.2.2');
    s = await (await Release.start(ws.options())).run();
    assert.match(s.outcomeMessage!, /HEAD is tagged v1\.2\.2, expected v1\.2\.3/);
    git('tag', 'v1.2.3');
    fs.writeFileSync(path.join(ws.dir, 'uncommitted.js'), 'x');
    s = await (await Release.start(ws.options())).run();
    assert.match(s.outcomeMessage!, /uncommitted changes in uncommitted\.js/);
    fs.rmSync(path.join(ws.dir, 'uncommitted.js'));
    git('checkout', '-qb', 'hotfix');
    git('commit', '-q', '--allow-empty', '-m', 'fix: not merged');
    git('tag', '-f', 'v1.2.3');
    s = await (await Release.start(ws.options())).run();
    assert.match(s.outcomeMessage!, /HEAD [0-9a-f]{12} is not in main/);
    git('checkout', '-q', 'main');
    git('tag', '-f', 'v1.2.3');
    s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
  });

  it('never migrates without a backup that passed in this release (a waived backup does not count)', async () => {
    const ws = workspace(smallPlan(), {});
    fs.rmSync(path.join(ws.dir, 'state.txt'));
    const prompter = scripted({ failure: [{ action: 'waive', reason: 'backups are overrated' }] });
    const r = await Release.start(ws.options({ prompter }));
    const s = await r.run();
    assert.equal(s.status, 'paused');
    assert.equal(s.steps['backup/0'].state, 'waived');
    assert.equal(s.gates.migration.state, 'blocked');
    assert.match(s.pausedAt!.message, /no migration without a backup that passed in this same release/);
    assert.ok(!Object.keys(s.steps).some((k) => k.startsWith('migration/')), 'the migration never ran');
  });

  it('pauses on a failed step, then retries it on resume', async () => {
    const ws = workspace(smallPlan({ deploy: `    steps:\n      - name: deploy\n        run: test -f go.txt && echo 1.2.3 > deployed.txt` }));
    const s1 = await (await Release.start(ws.options())).run();
    assert.equal(s1.status, 'paused');
    assert.equal(s1.steps['deploy/0'].state, 'failed');
    assert.equal(s1.steps['deploy/0'].exitCode, 1);
    fs.writeFileSync(path.join(ws.dir, 'go.txt'), '');
    const runId = latestRunId(ws.dir)!;
    const s2 = await (await Release.reopen(ws.options({ prompter: scripted({ failure: [{ action: 'retry' }] }) }), runId)).run();
    // Resume retries the failed step directly: it is not passed, so it runs again.
    assert.equal(s2.status, 'released', s2.outcomeMessage);
    assert.equal(s2.steps['deploy/0'].attempts, 2);
    assert.equal(s2.steps['preparation/0'].attempts, 1, 'passed steps are not run again');
  });

  it('retries in place when asked, and waives with a recorded reason', async () => {
    const ws = workspace(
      smallPlan({ deploy: `    steps:\n      - name: flaky\n        run: if [ -f tried ]; then echo 1.2.3 > deployed.txt; else touch tried; exit 3; fi` }),
    );
    const s = await (await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'retry' }] }) }))).run();
    assert.equal(s.status, 'released');
    assert.equal(s.steps['deploy/0'].attempts, 2);
    const ws2 = workspace(smallPlan({ deploy: `    steps:\n      - name: always fails\n        run: echo 1.2.3 > deployed.txt; exit 4` }));
    const s2 = await (
      await Release.start(ws2.options({ prompter: scripted({ failure: [{ action: 'waive', reason: 'known flaky probe, checked by hand' }] }) }))
    ).run();
    assert.equal(s2.status, 'released');
    assert.deepEqual(
      [s2.steps['deploy/0'].state, s2.steps['deploy/0'].waivedBy, s2.steps['deploy/0'].waiveReason],
      ['waived', 'Test Engineer', 'known flaky probe, checked by hand'],
    );
  });

  it('rolls back a failed deploy and restores the previous state from the backup', async () => {
    const ws = workspace(smallPlan({ deploy: `    steps:\n      - name: deploy\n        run: echo broken > state.txt && exit 1` }));
    const r = await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'rollback' }] }) }));
    const s = await r.run();
    assert.equal(s.status, 'rolled-back');
    assert.equal(fs.readFileSync(path.join(ws.dir, 'state.txt'), 'utf8'), 'v1\n', 'the backup was restored');
    assert.equal(s.rollback?.trigger, 'step');
    assert.match(s.rollback.reason, /deploy failed: exit code 1/);
    assert.ok(s.rollback.latencyMs >= 0 && s.rollback.latencyMs < 5000, `latency ${s.rollback.latencyMs}`);
    assert.equal(s.steps['rollback/0'].state, 'passed');
  });

  it('ends in rollback-failed, never in success, when a rollback step fails', async () => {
    const ws = workspace(
      smallPlan({
        deploy: `    steps:\n      - name: deploy\n        run: exit 1`,
        rollback: `    - name: restore\n      run: echo cannot reach the database >&2; exit 7\n    - name: never\n      run: touch never.txt`,
      }),
    );
    const s = await (await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'rollback' }] }) }))).run();
    assert.equal(s.status, 'rollback-failed');
    assert.equal(s.rollback?.outcome, 'rollback-failed');
    assert.match(s.outcomeMessage!, /rollback failed at restore: exit code 7/);
    assert.ok(!fs.existsSync(path.join(ws.dir, 'never.txt')), 'the rollback stops at the failing step');
  });

  it('refuses a second concurrent release of the same plan, naming who holds it', async () => {
    const ws = workspace(smallPlan({ deploy: `    steps:\n      - name: slow deploy\n        run: sleep 1; echo 1.2.3 > deployed.txt` }));
    const first = await Release.start(ws.options({ holder: 'VS Code window' }));
    const running = first.run();
    await assert.rejects(
      Release.start(ws.options({ holder: 'release-pilot CLI' })),
      (e: Error) => e instanceof LockHeldError && /already being run by VS Code window \(pid \d+, Test Engineer@/.test(e.message),
    );
    assert.equal((await running).status, 'released');
    // Released: a new run (of the next version) may start.
    const second = await Release.start(atVersion(ws, '1.2.4'));
    second.close();
  });

  it('never writes a secret to the journal, logs or report', async () => {
    const secret = 'tok-3f9a1c77e2b04d';
    const ws = workspace();
    const r = await Release.start(ws.options({ env: { ...process.env, TINY_TOKEN: secret } }));
    const s = await r.run();
    assert.equal(s.status, 'released');
    const dir = path.join(ws.dir, '.release/runs', r.runId);
    const files = fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => path.join(d.parentPath, d.name));
    assert.ok(files.length >= 5);
    for (const f of files) assert.ok(!fs.readFileSync(f, 'utf8').includes(secret), `${f} holds the secret`);
    const configLog = fs.readFileSync(path.join(dir, s.steps['config/0'].log!), 'utf8');
    assert.equal(configLog, 'token is ***\n', 'the step ran with the secret, and its log shows it masked');
  });

  it('journals a fold that survives replay, and a rollback after release within the window', async () => {
    const ws = workspace();
    const r = await Release.start(ws.options());
    await r.run();
    const events = journalLines(ws, r.runId) as never[];
    assert.deepEqual(foldJournal(events).status, 'released');
    const again = await Release.reopen(ws.options(), r.runId);
    const s = await again.rollbackFinished('customer complaints after release');
    assert.equal(s.status, 'rolled-back');
    assert.equal(s.rollback?.trigger, 'user');
    assert.equal(fs.readFileSync(path.join(ws.dir, 'state.txt'), 'utf8'), 'v1\n');
  });
});

const rolloutLines = (dir: string) => fs.readFileSync(path.join(dir, 'rollout.log'), 'utf8').trim().split('\n').sort();

describe('deploy strategies and the rollback window', () => {
  const rolling = (health: string) => `    strategy: rolling
    rolling:
      targets: [web-1, web-2, web-3, web-4, web-5]
      maxUnavailable: 2
      steps:
        - name: update
          run: echo "\${target} \${release.version}" >> rollout.log
      healthCheck:
        run: ${health}
        retries: 1
        interval: 50ms`;

  it('rolls out in batches of maxUnavailable with a health check after each batch', async () => {
    const ws = workspace(smallPlan({ deploy: rolling('grep -q "^${target} " rollout.log && echo 1.2.3 > deployed.txt') }));
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    const deploySteps = s.phases.find((p) => p.id === 'deploy')!.steps;
    assert.deepEqual(deploySteps, [
      'deploy/batch1/web-1/0',
      'deploy/batch1/web-2/0',
      'deploy/batch1/web-1/health',
      'deploy/batch1/web-2/health',
      'deploy/batch2/web-3/0',
      'deploy/batch2/web-4/0',
      'deploy/batch2/web-3/health',
      'deploy/batch2/web-4/health',
      'deploy/batch3/web-5/0',
      'deploy/batch3/web-5/health',
    ]);
    // A batch's targets run side by side: the order of their lines within a batch is not fixed.
    assert.deepEqual(rolloutLines(ws.dir), ['web-1 1.2.3', 'web-2 1.2.3', 'web-3 1.2.3', 'web-4 1.2.3', 'web-5 1.2.3']);
  });

  it('stops a rolling deploy at the first unhealthy batch and rolls back', async () => {
    const ws = workspace(smallPlan({ deploy: rolling('test "${target}" != web-3') }));
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'rolled-back');
    assert.equal(s.rollback?.trigger, 'step');
    assert.match(s.rollback.reason, /^Health check of web-3 failed: unhealthy after 2 attempt\(s\)/);
    assert.deepEqual(rolloutLines(ws.dir), ['web-1 1.2.3', 'web-2 1.2.3', 'web-3 1.2.3', 'web-4 1.2.3'], 'batch 3 never started');
  });

  it('blue-green: deploys the idle colour, checks it, switches, keeps the old colour up, and the next release retires it before it deploys', async () => {
    const bg = `    strategy: blue-green
    blueGreen:
      active: cat active.txt
      deploy:
        - run: echo "\${release.version}" > \${deploy.color}.txt
      healthCheck:
        run: test -f \${deploy.color}.txt
      switch:
        - run: echo \${deploy.color} > active.txt && echo 1.2.3 > deployed.txt
      retire:
        - run: echo "\${release.version}" >> retired-\${deploy.active}.txt && rm \${deploy.active}.txt`;
    const ws = workspace(smallPlan({ deploy: bg }), { 'active.txt': 'blue\n', 'blue.txt': '1.2.2\n' });
    const order: string[] = [];
    const s = await (await Release.start(ws.options({ runId: 'run-1', onEvent: (e) => e.type === 'step.started' && order.push(e.step) }))).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.deepEqual(s.colors, { active: 'blue', idle: 'green' });
    assert.equal(fs.readFileSync(path.join(ws.dir, 'active.txt'), 'utf8'), 'green\n');
    assert.equal(fs.readFileSync(path.join(ws.dir, 'blue.txt'), 'utf8'), '1.2.2\n', 'the old colour stays up after the release, for a rollback');
    assert.ok(!order.some((k) => k.includes('retire')), 'nothing was retired by the release itself');

    const order2: string[] = [];
    const s2 = await (await Release.start(atVersion(ws, '1.2.4', { runId: 'run-2', onEvent: (e) => e.type === 'step.started' && order2.push(e.step) }))).run();
    assert.equal(s2.status, 'released', s2.outcomeMessage);
    assert.deepEqual(s2.retireInherited, { from: 'run-1', active: 'blue', idle: 'green' });
    assert.ok(
      order2.indexOf('deploy/retire.0') >= 0 && order2.indexOf('deploy/retire.0') < order2.indexOf('deploy/deploy.0'),
      `retired before the deploy: ${order2.join(', ')}`,
    );
    assert.match(s2.steps['deploy/retire.0'].name, /\(kept for the rollback of run-1\)$/);
    assert.match(s2.steps['deploy/retire.0'].command, /retired-blue\.txt && rm blue\.txt/, 'the scope of the run that kept it: its old colour');
    assert.equal(fs.readFileSync(path.join(ws.dir, 'green.txt'), 'utf8'), '1.2.3\n', 'the second release keeps its own old colour (green) up');
  });

  it('after the window closed it asks, naming how late, and never refuses', async () => {
    const ws = workspace(smallPlan({ extra: '' }).replace('rollback:\n  steps:', 'rollback:\n  deadline: 1s\n  steps:'));
    const r = await Release.start(ws.options());
    await r.run();
    // Reopened by a clock 1.3 s on: the 1 s window has closed for it, without waiting for it to close.
    const later: Clock = { now: () => Date.now() + 1300, sleep: (ms, signal) => realClock.sleep(ms, signal) };
    const no = scripted({ confirm: false });
    await assert.rejects(
      (await Release.reopen(ws.options({ prompter: no, clock: later }), r.runId)).rollbackFinished('too late?'),
      /the rollback was not confirmed; nothing was started \(a late rollback needs an explicit confirmation that it is late\)/,
    );
    assert.match(no.asked.join('\n'), /The rollback window closed \d+(\.\d)? s ago \(at /);
    assert.ok(!journalLines(ws, r.runId).some((e) => e.type === 'rollback.started'), 'nothing started');
    const s = await (await Release.reopen(ws.options({ clock: later }), r.runId)).rollbackFinished('late, and confirmed as late');
    assert.equal(s.status, 'rolled-back');
    assert.ok(s.rollback!.lateByMs! >= 300, `late by ${s.rollback!.lateByMs} ms`);
  });
});

describe('run ids', () => {
  it('a release started in the same second as an earlier one gets its own run, and the earlier journal is untouched', async () => {
    const ws = workspace(undefined, { 'verdict.txt': 'QA verdict: NOT Ready for Launch\n' });
    // A finished run of 1.2.3 (aborted at the verdict: a released one would refuse 1.2.3 again),
    // copied to this second's id and the next five (the start may cross a second boundary).
    const seed = await Release.start(ws.options({ runId: '20000101-000000-1.2.3' }));
    assert.equal((await seed.run()).status, 'aborted');
    fs.writeFileSync(path.join(ws.dir, 'verdict.txt'), 'QA verdict: Ready for Launch\n');
    const runs = path.join(ws.dir, '.release/runs');
    const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const now = Date.now();
    const earlier = [0, 1, 2, 3, 4, 5].map((s) => `${stamp(new Date(now + s * 1000))}-1.2.3`);
    const before = new Map<string, string>();
    for (const id of earlier) {
      fs.cpSync(path.join(runs, '20000101-000000-1.2.3'), path.join(runs, id), { recursive: true });
      before.set(id, fs.readFileSync(path.join(runs, id, 'journal.jsonl'), 'utf8'));
    }
    const r = await Release.start(ws.options());
    assert.ok(!earlier.includes(r.runId), r.runId);
    assert.match(r.runId, /^\d{8}-\d{6}-1\.2\.3-2$/);
    assert.equal((await r.run()).status, 'released');
    const ids = runIds(ws.dir);
    assert.ok(ids.indexOf(r.runId) < ids.indexOf(r.runId.slice(0, -2)), `listed before the run it follows: ${ids.join(' ')}`);
    for (const [id, text] of before) assert.equal(fs.readFileSync(path.join(runs, id, 'journal.jsonl'), 'utf8'), text, `${id} unchanged`);
  });
});
