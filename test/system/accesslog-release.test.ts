import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { smallPlan, workspace, journalLines } from '../support/fixtures';
import { processesWhere } from '../support/processes';
import { startNginx, type Nginx } from '../support/nginx';

/**
 * A release judged by nginx's own access log: traffic runs the whole time; the faulty version
 * (a flag file its deploy writes) makes nginx answer 500, the rollback removes the flag.
 */
describe('a release judged by a real nginx access log', function () {
  this.timeout(120_000);
  let nginx: Nginx;
  let stop = false;
  let traffic: Promise<void>;
  let flag = '';

  before(async () => {
    nginx = await startNginx();
    flag = path.join(nginx.dir, 'bad.flag');
    traffic = (async () => {
      while (!stop) {
        await nginx.get(fs.existsSync(flag) ? '/fail' : '/ok').catch(() => 0);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
  });
  after(async () => {
    stop = true;
    await traffic;
    await nginx?.stop();
    assert.deepEqual(
      processesWhere((p) => p.cmd.includes(nginx.dir)),
      [],
    );
  });

  const plan = (bad: boolean) =>
    smallPlan({
      deploy: `    steps:
      - name: deploy
        run: echo "version \${release.version}" > deployed.txt${bad ? ` && touch ${flag}` : ''}`,
      rollback: `    - name: restore
      run: rm -f ${flag} deployed.txt`,
      monitoring: `  window: 2500ms
  interval: 500ms
  shortWindowReason: a test
  baseline:
    capture: 1s
  metrics:
    - id: errors
      accessLog:
        path: ${nginx.log}
        statistic: errorRatio
      guard: { max: 0.2 }
    - id: rps
      accessLog:
        path: ${nginx.log}
        statistic: rate
      guard: { min: 1 }`,
    });

  it('a good version is released: its window saw only 200s', async () => {
    const ws = workspace(plan(false));
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    const samples = journalLines(ws, s.runId).filter((e) => e.type === 'metric.sample' && e.metric === 'errors' && !e.warmup);
    assert.ok(samples.length >= 3, `${samples.length} judged samples`);
    assert.ok(
      samples.every((e) => e.value === 0),
      JSON.stringify(samples.map((e) => e.message)),
    );
    assert.ok(
      journalLines(ws, s.runId).some((e) => e.type === 'metric.sample' && e.warmup === true),
      'the first sample is a warm-up one',
    );
  });

  it('a faulty version is rolled back on its 5xx ratio, and nginx answers 200 again', async () => {
    const ws = workspace(plan(true));
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.match(s.rollback!.reason, /^errors: /);
    assert.ok(!fs.existsSync(flag));
    assert.equal(await nginx.get('/ok'), 200);
  });
});
