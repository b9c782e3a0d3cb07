import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { scripted, smallPlan, workspace } from '../support/fixtures';

/**
 * Each step records when it started and ended (ms since the epoch): `<target> <start> <end>` in
 * times.log, so the test sees what overlapped, not how long anything took.
 */
const rolling = (o: { targets: string[]; batch: number; step?: string; health?: string }) => `    strategy: rolling
    rolling:
      targets: [${o.targets.join(', ')}]
      maxUnavailable: ${o.batch}
      steps:
        - name: update
          run: s=$(date +%s%3N); ${o.step ?? 'sleep 0.6'}; echo "\${target} $s $(date +%s%3N)" >> times.log
        - name: report
          run: echo "updated \${target}" && echo 1.2.3 > deployed.txt
      healthCheck:
        run: ${o.health ?? 'grep -q "^${target} " times.log'}
        retries: 0`;

type Span = { target: string; start: number; end: number };
const spans = (dir: string): Span[] =>
  fs
    .readFileSync(path.join(dir, 'times.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const [target, start, end] = l.split(' ');
      return { target, start: Number(start), end: Number(end) };
    });

describe('rolling batches side by side', () => {
  it("runs a batch's targets at the same time, and the next batch only after the batch's health checks", async () => {
    const targets = ['web-1', 'web-2', 'web-3', 'web-4', 'web-5', 'web-6', 'web-7', 'web-8'];
    const ws = workspace(smallPlan({ deploy: rolling({ targets, batch: 4 }) }));
    const out: string[] = [];
    const s = await (await Release.start(ws.options({ onOutput: (k, chunk) => k.startsWith('deploy/') && out.push(chunk) }))).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    const all = spans(ws.dir);
    assert.deepEqual(all.map((x) => x.target).sort(), targets);
    const batch1 = all.filter((x) => targets.slice(0, 4).includes(x.target));
    const batch2 = all.filter((x) => targets.slice(4).includes(x.target));
    // Side by side: every step of a batch started before any of them ended (each sleeps 0.6 s).
    for (const b of [batch1, batch2]) assert.ok(Math.max(...b.map((x) => x.start)) < Math.min(...b.map((x) => x.end)), JSON.stringify(b));
    // Batch 2 starts after batch 1's health checks passed.
    const ended = (key: string) => Date.parse(s.steps[key].startedAt!) + s.steps[key].durationMs!;
    const health1 = Math.max(...targets.slice(0, 4).map((t) => ended(`deploy/batch1/${t}/health`)));
    assert.ok(Math.min(...batch2.map((x) => x.start)) >= health1 - 5, `batch 2 started after batch 1 was checked: ${JSON.stringify({ health1, batch2 })}`);
    // One target's steps in order: its report step after its update step.
    for (const [b, list] of [
      [1, targets.slice(0, 4)],
      [2, targets.slice(4)],
    ] as const)
      for (const t of list)
        assert.ok(Date.parse(s.steps[`deploy/batch${b}/${t}/1`].startedAt!) >= ended(`deploy/batch${b}/${t}/0`) - 5, `${t}: report after update`);
    // Targets side by side share the terminal: each output line says whose it is.
    const text = out.join('');
    for (const t of targets) assert.match(text, new RegExp(`^\\[${t}\\] updated ${t}\\r?$`, 'm'));
    assert.ok(!/^updated /m.test(text), 'no line without its target');
  });

  it('lets the rest of a batch finish when one target fails, then asks about the failure; a rollback follows', async () => {
    const targets = ['web-1', 'web-2', 'web-3', 'web-4'];
    const step = 'sleep 0.4; test "${target}" != web-2 || exit 1';
    const prompter = scripted({ failure: [{ action: 'rollback' }] });
    const ws = workspace(smallPlan({ deploy: rolling({ targets, batch: 4, step }) }));
    const s = await (await Release.start(ws.options({ prompter }))).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.deepEqual(prompter.asked.filter((a) => a.startsWith('failure:')).length, 1);
    assert.match(
      prompter.asked.find((a) => a.startsWith('failure:'))!,
      /^failure: deploy\/batch1\/web-2\/0: /,
    );
    // The others finished their steps (both of them) before the question; web-2 never reached its second.
    for (const t of ['web-1', 'web-3', 'web-4']) assert.equal(s.steps[`deploy/batch1/${t}/1`].state, 'passed', t);
    assert.equal(s.steps['deploy/batch1/web-2/1'], undefined);
    assert.equal(s.steps['deploy/batch1/web-1/health'], undefined, 'no health check after a failed batch');
  });

  it('retries a failed target alone, then goes on with its next step and the batch health checks', async () => {
    const targets = ['web-1', 'web-2'];
    // web-2 fails once (no flag file yet), then passes.
    const step = 'sleep 0.2; test "${target}" != web-2 || test -f retried || { touch retried; exit 1; }';
    const prompter = scripted({ failure: [{ action: 'retry' }] });
    const ws = workspace(smallPlan({ deploy: rolling({ targets, batch: 2, step }) }));
    const s = await (await Release.start(ws.options({ prompter }))).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.equal(s.steps['deploy/batch1/web-2/0'].attempts, 2);
    assert.equal(s.steps['deploy/batch1/web-1/0'].attempts, 1);
    assert.equal(s.steps['deploy/batch1/web-2/1'].state, 'passed');
  });

  it("rolls back at a target's failed health check without waiting for the other targets' retries", async () => {
    // web-1's check fails at once; web-2's hangs 3 s per attempt, 5 attempts: 15 s if waited for.
    const health = '"if [ ${target} = web-1 ]; then exit 1; else sleep 3; exit 1; fi"';
    const plan = smallPlan({
      deploy: rolling({ targets: ['web-1', 'web-2'], batch: 2, step: 'true', health }).replace('retries: 0', 'retries: 4\n        interval: 10ms'),
    });
    const ws = workspace(plan);
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.match(s.rollback!.reason, /^Health check of web-1 failed: unhealthy after 5 attempt\(s\)/);
    const checked = Date.parse(s.steps['deploy/batch1/web-1/health'].startedAt!);
    const rollbackAt = Date.parse(s.rollback!.startedAt);
    // One hanging attempt (3 s) at most, not five (15 s).
    assert.ok(rollbackAt - checked < 9000, `the rollback started ${rollbackAt - checked} ms after the checks`);
    assert.match(s.steps['deploy/batch1/web-2/health'].message!, /rollback requested/);
  });

  it('stops every target of the batch on a stop, and each is interrupted, not failed', async () => {
    const targets = ['web-1', 'web-2', 'web-3'];
    const ws = workspace(smallPlan({ deploy: rolling({ targets, batch: 3, step: 'sleep 30' }) }));
    const r = await Release.start(ws.options());
    const running = r.run();
    const t0 = Date.now();
    while (Object.values(r.snapshot.steps).filter((x) => x.key.startsWith('deploy/batch1/') && x.state === 'running').length < 3) {
      if (Date.now() - t0 > 20_000) throw new Error('the batch did not start');
      await new Promise((res) => setTimeout(res, 50));
    }
    r.stop('SIGTERM');
    const s = await running;
    assert.equal(s.status, 'paused');
    for (const t of targets) assert.equal(s.steps[`deploy/batch1/${t}/0`].state, 'interrupted', t);
    assert.ok(Date.now() - t0 < 20_000, 'no step ran its 30 s');
  });
});
