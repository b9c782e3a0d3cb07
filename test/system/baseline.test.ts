import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { smallPlan, workspace, scripted } from '../support/fixtures';

/** Monitoring of one or two command metrics, their baseline captured for 1 s. */
const monitoringOf = (metrics: string, baseline = '    capture: 1s') => `  window: 1s
  interval: 200ms
  baseline:
${baseline}
  metrics:
${metrics}`;

const HEALTH_MIN_1 = `    - id: health
      command: cat health.txt
      guard: { min: 1 }`;
const ERRORS_MAX = (max: number) => `    - id: errors
      command: cat errors.txt
      guard: { max: ${max} }`;

/**
 * Production as the baseline finds it, meant to slip an already failing service past the check (or
 * to make a healthy one look failing). Refused: the baseline step fails before the backup, and
 * nothing of the release touches production; the failure names each metric with its numbers.
 */
const CASES: Array<{ what: string; monitoring: string; files: Record<string, string>; refused?: RegExp[]; notRefused?: RegExp; warned?: RegExp }> = [
  {
    what: 'an error ratio of 1.00 against max 0.05',
    monitoring: monitoringOf(ERRORS_MAX(0.05)),
    files: { 'errors.txt': '1\n' },
    refused: [/errors: the median of its \d+ baseline samples, 1\.00 is above the maximum 0\.0500/],
  },
  { what: 'an error ratio exactly at max 0.05 (not above it)', monitoring: monitoringOf(ERRORS_MAX(0.05)), files: { 'errors.txt': '0.05\n' } },
  {
    what: 'a health of 0 against min 1',
    monitoring: monitoringOf(HEALTH_MIN_1),
    files: { 'health.txt': '0\n' },
    refused: [/health: the median of its \d+ baseline samples, 0\.00 is below the minimum 1\.00/],
  },
  {
    what: 'a negative value below a negative minimum',
    monitoring: monitoringOf('    - id: drift\n      command: echo -5\n      guard: { min: -1 }'),
    files: {},
    refused: [/drift: the median of its \d+ baseline samples, -5\.00 is below the minimum -1\.00/],
  },
  {
    what: 'two failing metrics: both named',
    monitoring: monitoringOf(`${HEALTH_MIN_1}\n${ERRORS_MAX(0.05)}`),
    files: { 'health.txt': '0\n', 'errors.txt': '0.5\n' },
    refused: [/health: the median of its/, /errors: the median of its/],
  },
  {
    what: 'one failing metric of two: only it is named',
    monitoring: monitoringOf(`${HEALTH_MIN_1}\n${ERRORS_MAX(0.05)}`),
    files: { 'health.txt': '1\n', 'errors.txt': '0.5\n' },
    refused: [/errors: the median of its/],
    notRefused: /health: the median/,
  },
  {
    what: 'a fixed baseline below the minimum (the plan’s figure, not a measurement)',
    monitoring: monitoringOf(HEALTH_MIN_1, '    fixed: { health: 0 }'),
    files: { 'health.txt': '1\n' },
  },
  {
    what: 'a fixed baseline beside a production that reads 0 now against min 1: said in a warning, not stopped on',
    monitoring: monitoringOf(HEALTH_MIN_1, '    fixed: { health: 1 }'),
    files: { 'health.txt': '0\n' },
    warned:
      /^production already breaks its guards before this release touched it: health: read once now \(the plan's fixed baseline is 1\.00\), 0\.00 is below the minimum 1\.00\. The baseline is fixed, so the release goes on/,
  },
  {
    what: 'a fixed error ratio of 0 beside a production that reads 1.00 now against max 0.05 (the templates’ shape): said in a warning',
    monitoring: monitoringOf(ERRORS_MAX(0.05), '    fixed: { errors: 0 }'),
    files: { 'errors.txt': '1\n' },
    warned: /errors: read once now \(the plan's fixed baseline is 0\.00\), 1\.00 is above the maximum 0\.0500/,
  },
  {
    what: 'a fixed baseline with nothing live to read yet (a first release): the reading fails, the release goes on',
    monitoring: monitoringOf(
      '    - id: health\n      command: "if [ -f started ]; then echo 1; else echo n/a; fi"\n      guard: { min: 1 }',
      '    fixed: { health: 1 }',
    ),
    files: {},
  },
  {
    what: 'a metric with only a percentage rule',
    monitoring: monitoringOf('    - id: qps\n      command: echo 0\n      guard: { dropPercent: 50 }'),
    files: {},
  },
  {
    what: 'a metric with no usable baseline sample (not a number)',
    monitoring: monitoringOf('    - id: health\n      command: "if [ -f started ]; then echo 1; else echo n/a; fi"\n      guard: { min: 1 }'),
    files: {},
  },
  {
    what: 'one spike among healthy samples (its mean is above max, its median is not)',
    monitoring: monitoringOf(
      '    - id: errors\n      command: "n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; if [ $n = 1 ]; then echo 100; else echo 0; fi"\n      guard: { max: 5 }',
    ),
    files: {},
  },
  {
    what: 'most samples failing, one healthy',
    monitoring: monitoringOf(
      '    - id: errors\n      command: "n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; if [ $n = 1 ]; then echo 0; else echo 0.9; fi"\n      guard: { max: 0.05 }',
    ),
    files: {},
    refused: [/errors: the median of its \d+ baseline samples, 0\.900 is above the maximum 0\.0500/],
  },
];

describe('a baseline that already breaks a guard stops the release before production is touched', function () {
  this.timeout(60_000);

  for (const c of CASES) {
    it(`${c.refused ? 'stops on' : 'goes on with'} ${c.what}`, async () => {
      // The deploy starts what the "no usable sample" metric then reads, as a switch would.
      const ws = workspace(
        smallPlan({ monitoring: c.monitoring, deploy: '    steps:\n      - name: deploy\n        run: echo "version 1.2.3" > deployed.txt && touch started' }),
        c.files,
      );
      const prompter = scripted();
      const s = await (await Release.start(ws.options({ prompter }))).run();
      if (!c.refused) {
        // (A warned case then breaches in the window, as production was already failing: rolled back.)
        assert.equal(s.status, c.warned ? 'rolled-back' : 'released', s.outcomeMessage);
        const warnings = s.warnings.filter((w) => /already breaks its guards/.test(w));
        if (c.warned) assert.match(warnings.join('\n'), c.warned);
        else assert.deepEqual(warnings, [], 'no warning about production when it reads within its guards (or cannot be read)');
        return;
      }
      assert.equal(s.status, 'paused', s.outcomeMessage);
      const question = prompter.asked.find((a) => a.startsWith('failure: '));
      assert.ok(question, prompter.asked.join('\n'));
      assert.match(question, /production already breaks its guards, before anything of this release touched it/);
      for (const r of c.refused) assert.match(question, r);
      if (c.notRefused) assert.doesNotMatch(question, c.notRefused);
      const ran = Object.values(s.steps).filter((st) => st.state !== 'pending' && st.phase !== 'preparation' && st.phase !== 'staging');
      assert.deepEqual(
        ran.map((st) => [st.phase, st.state]),
        [['backup', 'failed']],
        'only the baseline ran, and failed',
      );
      assert.ok(!fs.existsSync(path.join(ws.dir, 'deployed.txt')), 'nothing was deployed');
    });
  }

  it('a person may waive it with a reason, and the release goes on', async () => {
    const ws = workspace(smallPlan({ monitoring: monitoringOf(ERRORS_MAX(0.05)) }), { 'errors.txt': '1\n' });
    const prompter = scripted({ failure: [{ action: 'waive', reason: 'known incident INC-42, unrelated' }] });
    const s = await (await Release.start(ws.options({ prompter }))).run();
    // The window then breaches the same max: the waiver is for the baseline step only.
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    const baseline = Object.values(s.steps).find((st) => st.phase === 'backup' && st.state === 'waived');
    assert.ok(baseline, JSON.stringify(Object.values(s.steps).map((st) => [st.key, st.state])));
  });
});

describe('the baseline of a blue-green metric of ${deploy.color}', () => {
  const bg = `    strategy: blue-green
    blueGreen:
      active: cat active.txt
      deploy:
        - run: echo 1 > health-\${deploy.color}.txt && echo "version \${release.version}" > deployed.txt
      healthCheck:
        run: test -f health-\${deploy.color}.txt
      switch:
        - run: echo \${deploy.color} > active.txt`;
  const metric = `    - id: health
      command: cat health-\${deploy.color}.txt
      guard: { min: 1, dropPercent: 50 }`;

  it('is sampled on the live colour (the new one serves nothing yet), and the window on the new one', async () => {
    // blue is live and healthy; green has no file until the deploy writes it.
    const ws = workspace(smallPlan({ deploy: bg, monitoring: monitoringOf(metric, '    capture: 600ms') }), {
      'active.txt': 'blue\n',
      'health-blue.txt': '1\n',
    });
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    const b = s.metrics.health.baseline!;
    assert.ok(b.samples.length >= 2 && b.samples.every((v) => v === 1), JSON.stringify(b));
    assert.ok(!s.warnings.some((w) => /no usable baseline sample/.test(w)), s.warnings.join('\n'));
    assert.equal(s.metrics.health.verdict?.verdict, 'pass', s.metrics.health.verdict?.explanation);
    // The window read green: blue's file was never in the window (it is unchanged, and green answered).
    assert.equal(fs.readFileSync(path.join(ws.dir, 'health-green.txt'), 'utf8'), '1\n');
  });

  it('a metric that the window reads on the new colour breaches there, not at the baseline', async () => {
    const deploy = bg.replace('echo 1 > health-${deploy.color}.txt', 'echo 0 > health-${deploy.color}.txt');
    const ws = workspace(
      smallPlan({
        deploy: deploy.replace('test -f health-${deploy.color}.txt', '"true"'),
        monitoring: monitoringOf(metric, '    capture: 600ms'),
        // The rollback points the traffic back to the old colour: a blue-green rollback is checked to have done so.
        rollback: `    - name: switch back\n      run: echo \${deploy.active} > active.txt`,
      }),
      {
        'active.txt': 'blue\n',
        'health-blue.txt': '1\n',
      },
    );
    const s = await (await Release.start(ws.options({ prompter: scripted() }))).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.equal(s.steps['backup/baseline'].state, 'passed');
    assert.match(s.rollback!.reason, /^health: 0(\.00)? is below the minimum 1/);
  });
});
