import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Monitor } from '../../src/core/monitor/monitor';
import type { Clock } from '../../src/core/base/clock';
import { Monitoring } from '../../src/core/model/schema-monitoring';
import type { NewEvent } from '../../src/core/model/events';
import { foldJournal } from '../../src/core/model/releaseState';
import { formatProblem, parsePlan } from '../../src/core/plan/load';
import { smallPlan } from '../support/fixtures';

/** Time that passes only when the monitor sleeps. */
function steppingClock(): Clock {
  let t = 0;
  return { now: () => t, sleep: async (ms) => void (t += Math.max(0, ms)) };
}

describe('monitoring.warmup: samples right after a switch are journaled, not judged', function () {
  this.timeout(30_000);
  let server: http.Server;
  let base = '';
  const queues = new Map<string, number[]>();
  before(async () => {
    server = http.createServer((req, res) => res.end(JSON.stringify({ v: queues.get(req.url!.slice(1))?.shift() ?? 1 })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  let n = 0;
  /** Watches one metric (guard max 5) whose samples are `values` in order, after the one the priming read eats. */
  async function watch(values: number[], over: Record<string, unknown> = {}, analysisMs?: number) {
    const id = String(n++);
    queues.set(id, [1, ...values]);
    const cfg = Monitoring.parse({
      window: `${values.length}s`,
      interval: '1s',
      baseline: { fixed: { m: 1 } },
      metrics: [{ id: 'm', http: { url: `${base}/${id}`, field: 'v' }, guard: { max: 5 } }],
      ...over,
    });
    const events: NewEvent[] = [];
    const mon = new Monitor(cfg, (s) => s, process.cwd(), { append: (e) => events.push(e), clock: steppingClock(), signal: new AbortController().signal });
    const out = await mon.watch(analysisMs ? { windowMs: analysisMs } : undefined);
    const samples = events.filter((e): e is Extract<NewEvent, { type: 'metric.sample' }> => e.type === 'metric.sample');
    return { out, samples, events };
  }

  it('the default (one interval) leaves exactly the first sample unjudged: a breach only there is ignored', async () => {
    const { out, samples } = await watch([99, 1, 1, 1]);
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.deepEqual(
      samples.map((s) => [s.value, s.warmup ?? false]),
      [
        [99, true],
        [1, false],
        [1, false],
        [1, false],
      ],
    );
    assert.match(samples[0].message!, /^warm-up, not judged \(1 s of 1 s after the switch\)/);
  });

  it('the same breach one sample later, after the warm-up, is caught', async () => {
    const { out } = await watch([1, 99, 1, 1]);
    assert.equal(out.ok, false);
    assert.match(!out.ok && 'breach' in out ? out.breach.reason : '', /^m: .*99/);
  });

  it('warmup 0 judges the first sample; 2.5 intervals leave two out', async () => {
    assert.equal((await watch([99, 1, 1, 1], { warmup: 0 })).out.ok, false);
    const two = await watch([99, 99, 1, 1], { warmup: '2500ms' });
    assert.equal(two.out.ok, true);
    assert.deepEqual(
      two.samples.map((s) => s.warmup ?? false),
      [true, true, false, false],
    );
    assert.equal((await watch([99, 99, 99, 1], { warmup: '2500ms' })).out.ok, false);
  });

  it('each canary analysis has its own warm-up', async () => {
    const { out, samples } = await watch([99, 1, 1, 1], { window: '10s' }, 4000);
    assert.equal(out.ok, true);
    assert.equal(samples.filter((s) => s.warmup).length, 1);
    assert.equal((await watch([1, 99, 1, 1], { window: '10s' }, 4000)).out.ok, false);
  });

  it('warm-up samples are in the journal but not in the judged samples the report and chart use', async () => {
    const { events } = await watch([99, 1, 1]);
    let at = 0;
    const journal = events.map((e, i) => ({ ...e, seq: i + 1, at: new Date(Date.UTC(2026, 0, 1) + at++ * 1000).toISOString() }));
    const s = foldJournal(journal);
    assert.equal(s.metrics.m.samples.length, 2);
    assert.equal(s.metrics.m.warmupSamples, 1);
  });
});

describe('monitoring.warmup: windows and analyses too short for it are refused at their line', () => {
  const problems = (text: string) => {
    const r = parsePlan(text, 'plan.yaml');
    return r.ok ? [] : r.problems.map(formatProblem);
  };
  const mon = (window: string, extra = '') => `  window: ${window}
  interval: 1s${extra}
  baseline:
    fixed: { health: 1 }
  metrics:
    - id: health
      command: cat health.txt
      guard: { min: 1 }`;

  it('a window of warm-up + failureLimit intervals passes; one shorter is refused at monitoring.window', () => {
    assert.deepEqual(problems(smallPlan({ monitoring: mon('2s') })), []);
    const text = smallPlan({ monitoring: mon('1s') });
    const line = text.split('\n').findIndex((l) => l.startsWith('  window: ')) + 1;
    assert.deepEqual(problems(text), [
      `plan.yaml:${line}:11: a window of 1 s judges 0 sample(s) after its warm-up of 1 s (every 1 s); confirming a breach takes failureLimit 1, so it needs at least 2 s (at monitoring.window)`,
    ]);
    assert.match(problems(smallPlan({ monitoring: mon('5s', '\n  warmup: 3s\n  failureLimit: 3') })).join('\n'), /needs at least 6 s/);
    assert.deepEqual(problems(smallPlan({ monitoring: mon('1s', '\n  warmup: 0s') })), []);
  });

  it('a canary analysis shorter than warm-up + what its limits need is refused at its line', () => {
    const deploy = (analysis: string) => `    strategy: canary
    canary:
      deploy:
        - run: echo canary
      setWeight:
        - run: echo \${canary.weight}
      weights: [10, 100]
      analysis: ${analysis}`;
    assert.deepEqual(problems(smallPlan({ deploy: deploy('5s'), monitoring: mon('5s') })), []);
    const text = smallPlan({ deploy: deploy('4s'), monitoring: mon('5s') });
    const line = text.split('\n').findIndex((l) => l.startsWith('      analysis: ')) + 1;
    const p = problems(text);
    assert.equal(p.length, 1, p.join('\n'));
    assert.match(p[0], new RegExp(`^plan\\.yaml:${line}:\\d+: an analysis of 4 s .*first 1 s unjudged \\(monitoring\\.warmup\\).* needs at least 5 s`));
  });
});
