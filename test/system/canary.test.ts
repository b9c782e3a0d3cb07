import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { parsePlan } from '../../src/core/plan/load';
import { panelSnapshot } from '../../src/vscode/snapshot';
import { Snapshot } from '../../src/webview/protocol';
import type { ReleaseEvent } from '../../src/core/model/events';
import type { ReleaseState } from '../../src/core/model/releaseState';
import { journalLines, smallPlan, workspace } from '../support/fixtures';

const read = (dir: string, f: string) => fs.readFileSync(path.join(dir, f), 'utf8');

/**
 * A canary whose setWeight steps record the weight and, when `errorsAt` is reached, make the canary's
 * error ratio (what the metric reads) go up: errors that only show under traffic.
 */
const canary = (o: { errorsAt?: number; weights?: string; promote?: boolean } = {}) => `    strategy: canary
    canary:
      deploy:
        - name: canary gets the new version
          run: echo "\${release.version}" > canary.txt
      setWeight:
        - name: weight
          run: echo \${canary.weight} >> weights.log${o.errorsAt ? ` && if [ \${canary.weight} -ge ${o.errorsAt} ]; then echo 0.3 > canary-errors.txt; fi` : ''}
      weights: ${o.weights ?? '[10, 50, 100]'}
      analysis: 600ms${
        o.promote === false
          ? ''
          : `
      promote:
        - name: promote
          run: echo "\${release.version}" > deployed.txt`
      }`;

const monitoring = `  window: 600ms
  interval: 150ms
  warmup: 0s
  shortWindowReason: a test
  baseline:
    fixed: { canary_errors: 0.01, stable_errors: 0.01 }
  metrics:
    - id: stable_errors
      command: cat stable-errors.txt
      guard: { max: 0.5 }
    - id: canary_errors
      command: cat canary-errors.txt
      compareTo: stable_errors
      guard: { max: 0.05, risePercent: 400 }`;

const rollback = `    - name: canary out of traffic
      run: echo 0 >> weights.log && rm -f canary.txt`;

const files = { 'canary-errors.txt': '0.01\n', 'stable-errors.txt': '0.01\n' };

describe('canary deploy', () => {
  it('raises the weight step by step, holds each for its analysis, then promotes', async () => {
    const ws = workspace(smallPlan({ deploy: canary(), monitoring, rollback }), files);
    // What the panel would show while each analysis runs (the snapshot the webview is sent, checked by its schema).
    const seen: string[] = [];
    const onEvent = (e: ReleaseEvent, st: ReleaseState) => {
      if (e.type !== 'canary.weight') return;
      const snap = Snapshot.parse(JSON.parse(JSON.stringify(panelSnapshot(st, ws.options().plan, 'monitor', undefined))));
      seen.push(
        `${snap.canary?.weight} % ${snap.canary?.index}/${snap.canary?.of}; ${snap.markers
          .filter((m) => m.kind === 'canary')
          .map((m) => m.label)
          .join(', ')}`,
      );
    };
    const s = await (await Release.start(ws.options({ onEvent }))).run();
    assert.deepEqual(seen, ['10 % 1/3; canary 10 %', '50 % 2/3; canary 10 %, canary 50 %', '100 % 3/3; canary 10 %, canary 50 %, canary 100 %']);
    assert.equal(panelSnapshot(s, ws.options().plan, 'monitor', undefined).canary, undefined, 'no weight shown once the release ended');
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.equal(read(ws.dir, 'weights.log'), '10\n50\n100\n');
    assert.equal(read(ws.dir, 'deployed.txt'), '1.2.3\n', 'promote ran');
    assert.deepEqual(s.phases.find((p) => p.id === 'deploy')!.steps, [
      'deploy/canary.deploy.0',
      'deploy/canary.1.set.0',
      'deploy/canary.1.analysis',
      'deploy/canary.2.set.0',
      'deploy/canary.2.analysis',
      'deploy/canary.3.set.0',
      'deploy/canary.3.analysis',
      'deploy/canary.promote.0',
    ]);
    assert.equal(s.steps['deploy/canary.2.set.0'].name, 'weight (50 %)');
    assert.equal(s.steps['deploy/canary.2.analysis'].name, 'Analysis at 50 % (2/3)');
    const weights = journalLines(ws, s.runId).filter((e) => e.type === 'canary.weight');
    assert.deepEqual(
      weights.map((e) => [e.weight, e.index, e.of]),
      [
        [10, 1, 3],
        [50, 2, 3],
        [100, 3, 3],
      ],
    );
    assert.deepEqual(s.canary && [s.canary.weight, s.canary.steps.length], [100, 3]);
    // Each weight's analysis judged samples of its own, within its guard (how many depends on the
    // machine's load: 600 ms every 150 ms is 4 when nothing is late).
    const perWeight: number[] = [];
    for (const e of journalLines(ws, s.runId)) {
      if (e.type === 'canary.weight') perWeight.push(0);
      else if (e.type === 'monitoring.window') break;
      else if (e.type === 'metric.sample' && e.metric === 'canary_errors' && perWeight.length) {
        assert.equal(e.status, 'ok', JSON.stringify(e));
        perWeight[perWeight.length - 1]++;
      }
    }
    assert.equal(perWeight.length, 3);
    assert.ok(
      perWeight.every((n) => n >= 1 && n <= 6),
      `samples per weight: ${perWeight.join(', ')}`,
    );
    // The analyses are not the monitoring window: one window event, after the deploy.
    assert.equal(journalLines(ws, s.runId).filter((e) => e.type === 'monitoring.window').length, 1);
    // …and the window's verdict counts the window's samples only (600 ms every 150 ms), not the analyses' too.
    const taken = Number(/ of (\d+) samples/.exec(s.metrics.canary_errors.verdict!.explanation)?.[1]);
    assert.ok(taken >= 1 && taken <= 6, s.metrics.canary_errors.verdict!.explanation);
  });

  it('rolls back at the first weight whose analysis breaches, before the next weight', async () => {
    const ws = workspace(smallPlan({ deploy: canary({ errorsAt: 50 }), monitoring, rollback }), files);
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.equal(read(ws.dir, 'weights.log'), '10\n50\n0\n', 'never 100; the rollback took the canary out');
    assert.ok(!fs.existsSync(path.join(ws.dir, 'deployed.txt')), 'promote never ran');
    assert.equal(s.rollback?.trigger, 'guard');
    assert.match(s.rollback.reason, /^canary at 50 % \(step 2\/3\): canary_errors: 0\.300 is above the maximum 0\.0500 for 1 sample\(s\) in a row$/);
    assert.equal(s.steps['deploy/canary.1.analysis'].state, 'passed');
    assert.equal(s.steps['deploy/canary.2.analysis'].state, 'failed');
    assert.equal(s.steps['deploy/canary.3.set.0'], undefined);
    assert.equal(s.canary?.weight, 50);
    // From the confirmed breach to the rollback's start: no waiting for the rest of the analysis.
    const lines = journalLines(ws, s.runId);
    const breach = lines.find((e) => e.type === 'guard.breached' && e.confirmed)!;
    const started = lines.find((e) => e.type === 'rollback.started')!;
    assert.ok(Date.parse(String(started.at)) - Date.parse(String(breach.at)) < 2000, 'the rollback starts at the breach');
  });

  it('judges a compareTo metric against the other metric of the same moment, not the baseline', async () => {
    // The absolute rule (max 0.9) never breaches here: the canary is judged by the comparison.
    // 0.1 against 0.08 is 25 % above them (within 200 %); 0.3 at 100 % is 275 % above: a breach.
    const mon = monitoring.replace('guard: { max: 0.05, risePercent: 400 }', 'guard: { max: 0.9, risePercent: 200 }');
    const ws = workspace(smallPlan({ deploy: canary({ errorsAt: 100 }), monitoring: mon, rollback }), {
      ...files,
      'stable-errors.txt': '0.08\n',
      'canary-errors.txt': '0.1\n',
    });
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.equal(s.steps['deploy/canary.2.analysis'].state, 'passed', 'canary 0.1 against stable 0.08: 25 % above, within 200 %');
    assert.match(s.rollback!.reason, /canary at 100 % \(step 3\/3\): canary_errors: 0\.300 is 275% above stable_errors \(same moment\) 0\.0800 \(limit 200%\)/);
  });

  it('never passes an analysis that ended on breaching samples not yet confirmed', async () => {
    // failureLimit 3, and the canary's errors begin at its 3rd sample of the first analysis: at most
    // 2 breaching samples when the analysis ends, so no confirmed breach. It must not promote. (Before it,
    // production is read twice beside the fixed baseline, a first scrape and the reading: n = 0, 1; the
    // analysis primes at n = 2 and samples n = 3..6.)
    const counted = `  window: 600ms
  interval: 150ms
  warmup: 0s
  failureLimit: 3
  shortWindowReason: a test
  baseline:
    fixed: { canary_errors: 0.01 }
  metrics:
    - id: canary_errors
      command: n=$(cat n.txt 2>/dev/null || echo 0); echo $((n + 1)) > n.txt; if [ $n -ge 5 ]; then echo 0.3; else echo 0.01; fi
      guard: { max: 0.05 }`;
    const ws = workspace(smallPlan({ deploy: canary(), monitoring: counted, rollback }), files);
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.equal(read(ws.dir, 'weights.log'), '10\n0\n', 'never past 10 %');
    assert.match(
      s.rollback!.reason,
      /^canary at 10 % \(step 1\/3\): canary_errors: its last [12] sample\(s\) breached its guard when the analysis ended; the analysis cannot pass$/,
    );
  });

  it('never passes an analysis where most samples were unusable (no traffic on the canary)', async () => {
    // 1 sample in 3 usable: never 4 unusable in a row (the error limit), but under half usable.
    const sparse = `  window: 900ms
  interval: 150ms
  warmup: 0s
  shortWindowReason: a test
  baseline:
    fixed: { canary_errors: 0.01 }
  metrics:
    - id: canary_errors
      command: n=$(cat n.txt 2>/dev/null || echo 0); echo $((n + 1)) > n.txt; if [ $((n % 3)) -eq 0 ]; then echo 0.01; else echo NaN; fi
      guard: { max: 0.05 }`;
    const ws = workspace(smallPlan({ deploy: canary().replace('analysis: 600ms', 'analysis: 900ms'), monitoring: sparse, rollback }), files);
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.equal(read(ws.dir, 'weights.log'), '10\n0\n');
    assert.match(s.rollback!.reason, /^canary at 10 % \(step 1\/3\): canary_errors: only \d of \d samples usable/);
  });

  it('pauses instead of rolling back when the plan says onBreach: pause', async () => {
    const ws = workspace(smallPlan({ deploy: canary({ errorsAt: 10 }), monitoring: `${monitoring}\n  onBreach: pause`, rollback }), files);
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'paused');
    assert.match(s.pausedAt!.message, /^canary at 10 % \(step 1\/3\): canary_errors/);
    assert.equal(read(ws.dir, 'weights.log'), '10\n');
  });
});

describe('canary plan validation', () => {
  const problems = (text: string) => {
    const r = parsePlan(text, 'plan.yaml');
    return r.ok ? [] : r.problems.map((p) => `${p.line}: ${p.path}: ${p.message}`);
  };
  const hostile: [string, string, RegExp][] = [
    ['weights that fall', canary({ weights: '[50, 10]' }), /phases\.deploy\.canary\.weights: canary\.weights must rise/],
    ['a repeated weight', canary({ weights: '[10, 10, 100]' }), /canary\.weights must rise/],
    ['a weight over 100', canary({ weights: '[10, 150]' }), /phases\.deploy\.canary\.weights\[1\]/],
    ['a zero weight', canary({ weights: '[0, 50]' }), /phases\.deploy\.canary\.weights\[0\]/],
    ['a negative weight', canary({ weights: '[-10, 50]' }), /phases\.deploy\.canary\.weights\[0\]/],
    ['a weight written as text', canary({ weights: '["10%", 50]' }), /phases\.deploy\.canary\.weights\[0\]/],
    ['no weights', canary({ weights: '[]' }), /phases\.deploy\.canary\.weights/],
    ['strategy canary without its section', '    strategy: canary', /phases\.deploy\.canary: strategy canary needs a canary section/],
    [
      'canary.weight outside setWeight',
      canary().replace('echo "${release.version}" > canary.txt', 'echo ${canary.weight}'),
      /canary\.weight.*only in canary\.setWeight/,
    ],
    ['an unknown canary reference', canary().replace('echo ${canary.weight} >>', 'echo ${canary.percent} >>'), /canary\.percent/],
    ['a canary reference in other case', canary().replace('echo ${canary.weight} >>', 'echo ${Canary.Weight} >>'), /Canary\.Weight/],
  ];
  for (const [what, deploy, expected] of hostile)
    it(`refuses ${what}, at its line`, () => {
      const p = problems(smallPlan({ deploy, monitoring, rollback }));
      assert.ok(
        p.some((x) => expected.test(x)),
        `${what}: ${p.join('\n') || 'no problem reported'}`,
      );
      assert.ok(p.every((x) => /^\d+: /.test(x) && !x.startsWith('0:')));
    });

  it('refuses an analysis too short to confirm a breach or an unusable source', () => {
    const p = problems(smallPlan({ deploy: canary().replace('analysis: 600ms', 'analysis: 300ms'), monitoring, rollback })).join('\n');
    assert.match(
      p,
      /phases\.deploy\.canary\.analysis: an analysis of 0\.3 s takes 2 sample\(s\) every 0\.15 s, those of its first 0 s unjudged \(monitoring\.warmup\); .* so it needs at least 0\.6 s/,
    );
    assert.match(
      problems(smallPlan({ deploy: canary().replace('analysis: 600ms', 'analysis: 0s'), monitoring, rollback })).join('\n'),
      /needs at least 0\.6 s/,
    );
  });

  it('refuses a compareTo metric with no absolute max or min (the other metric at 0 would judge nothing)', () => {
    const p = problems(
      smallPlan({ deploy: canary(), monitoring: monitoring.replace('guard: { max: 0.05, risePercent: 400 }', 'guard: { risePercent: 50 }'), rollback }),
    ).join('\n');
    assert.match(p, /monitoring\.metrics\[1\]\.guard: a metric judged against stable_errors needs an absolute max or min too/);
  });

  it('refuses a compareTo that names no other metric, itself, and a metric id used twice', () => {
    assert.match(
      problems(smallPlan({ deploy: canary(), monitoring: monitoring.replace('compareTo: stable_errors', 'compareTo: stable'), rollback })).join('\n'),
      /monitoring\.metrics\[1\]\.compareTo: no metric has the id stable; expected one of: stable_errors/,
    );
    assert.match(
      problems(smallPlan({ deploy: canary(), monitoring: monitoring.replace('compareTo: stable_errors', 'compareTo: canary_errors'), rollback })).join('\n'),
      /a metric cannot be compared with itself/,
    );
    assert.match(
      problems(
        smallPlan({
          deploy: canary(),
          monitoring: monitoring.replace('- id: canary_errors', '- id: stable_errors').replace('compareTo: stable_errors', ''),
          rollback,
        }),
      ).join('\n'),
      /metric id stable_errors is used twice/,
    );
  });

  it('accepts the canary plan and promote may be left out', () => {
    assert.deepEqual(problems(smallPlan({ deploy: canary({ promote: false }), monitoring, rollback })), []);
  });
});
