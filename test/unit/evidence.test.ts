import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Monitor } from '../../src/core/monitor/monitor';
import { classify } from '../../src/core/monitor/evidence';
import type { Sample } from '../../src/core/monitor/sample';
import type { Clock } from '../../src/core/base/clock';
import { Monitoring } from '../../src/core/model/schema-monitoring';
import type { NewEvent } from '../../src/core/model/events';

/** Time that passes only when the monitor sleeps. */
function steppingClock(): Clock {
  let t = 0;
  return { now: () => t, sleep: async (ms) => void (t += Math.max(0, ms)) };
}

const ok = (value: number): Sample => ({ value, status: 'ok' });
const failed = (message: string): Sample => ({ value: null, status: 'error', message });

/** The fleet canary's three metrics: its 5xx ratio, its own request rate, the backend's. */
const plan = Monitoring.parse({
  window: '10s',
  interval: '1s',
  baseline: { fixed: { canary_rate: 1 } },
  metrics: [
    { id: 'canary_5xx', command: 'true', evidence: { metric: 'canary_rate', total: 'total_rate' }, guard: { max: 0.05 } },
    { id: 'canary_rate', unit: 'req/s', command: 'true', guard: { min: 0 } },
    { id: 'total_rate', unit: 'req/s', command: 'true', guard: { min: 0 } },
  ],
});

/** The canary ratio's sample given its ratio, the canary's rate and the backend's, at `weight`. */
function verdict(ratio: Sample, canary: Sample | undefined, totalRate: Sample | undefined, weight?: number) {
  return classify(plan.metrics, [ratio, canary, totalRate], 0, weight);
}
const reasonOf = (c: ReturnType<typeof classify>) => ('reason' in c ? c.reason : `conclusive ${c.value}`);

describe('evidence: a ratio over no requests is inconclusive, never a pass', () => {
  const hostile: [string, Sample, Sample | undefined, Sample | undefined, number | undefined, RegExp][] = [
    ['0/0 (NaN ratio, no requests)', ok(NaN), ok(0), ok(200), 10, /^inconclusive: the canary served 0 of ~20 expected requests req\/s/],
    ['a clamp_min-style 0 ratio while the canary served nothing', ok(0), ok(0), ok(200), 10, /^inconclusive: the canary served 0 of ~20 expected requests/],
    ['a clamp_min-style 0 ratio in the window (no weight)', ok(0), ok(0), ok(200), undefined, /^inconclusive: canary_rate served 0 requests req\/s/],
    ['a tiny denominator: 0.3 req/s where 10 % of 200 are expected', ok(0), ok(0.3), ok(200), 10, /served 0\.3 of ~20 expected/],
    ['the evidence NaN', ok(0), ok(NaN), ok(200), 10, /^inconclusive: no evidence of traffic: canary_rate/],
    [
      'the evidence +Infinity',
      ok(0),
      ok(Infinity),
      ok(200),
      10,
      /^inconclusive: no evidence of traffic: canary_rate has no measurement \(the source returned Infinity\)/,
    ],
    ['a negative request rate (a counter reset)', ok(0), ok(-4), ok(200), 10, /canary_rate is -4: a request rate is never negative/],
    ['weight 0', ok(0), ok(5), ok(200), 0, /at weight 0 % the canary is to serve nothing/],
    ['weight 100 served only a third of everything', ok(0), ok(60), ok(200), 100, /served 60 of ~200 expected/],
    [
      'the evidence series missing (an empty answer)',
      ok(0),
      { value: null, status: 'empty', message: 'the query returned no series' },
      ok(200),
      10,
      /no series/,
    ],
    ['the evidence metric erroring', ok(0), failed('connection refused'), ok(200), 10, /canary_rate has no measurement \(connection refused\)/],
    ['the total erroring', ok(0), ok(20), failed('timeout'), 10, /no total_rate measurement to weigh the canary's share against \(timeout\)/],
    ['the total 0', ok(0), ok(20), ok(0), 10, /total_rate is 0: no request reached the service/],
    ['the ratio itself +Infinity with full evidence', ok(Infinity), ok(20), ok(200), 10, /the source returned Infinity/],
  ];
  for (const [what, ratio, canary, totalRate, weight, expected] of hostile)
    it(`is inconclusive on ${what}`, () => {
      const c = verdict(ratio, canary, totalRate, weight);
      assert.ok('reason' in c, `judged as ${reasonOf(c)}`);
      assert.match(c.reason, expected);
    });

  it('judges a ratio whose canary served at least half its share, at weight 10 and 100', () => {
    assert.deepEqual(verdict(ok(0.01), ok(10), ok(200), 10), { value: 0.01 });
    assert.deepEqual(verdict(ok(0), ok(100), ok(200), 100), { value: 0 });
    assert.deepEqual(verdict(ok(0), ok(5), ok(200)), { value: 0 }, 'in the window, some traffic is enough without a min');
  });

  it('evidence.min holds in the window: below it the sample is inconclusive', () => {
    const m = Monitoring.parse({ ...plan, metrics: [{ ...plan.metrics[0], evidence: { metric: 'canary_rate', min: 2 } }, ...plan.metrics.slice(1)] });
    assert.match(reasonOf(classify(m.metrics, [ok(0), ok(1), ok(200)], 0)), /^inconclusive: canary_rate served 1 requests req\/s, at least 2 needed/);
    assert.deepEqual(classify(m.metrics, [ok(0), ok(2), ok(200)], 0), { value: 0 });
  });

  it('refuses evidence naming no metric, or a total that is the evidence metric', () => {
    const bad = (evidence: object) => Monitoring.safeParse({ ...plan, metrics: [{ ...plan.metrics[0], evidence }, ...plan.metrics.slice(1)] });
    const a = bad({ metric: 'nope' });
    assert.ok(!a.success && a.error.issues.some((i) => /no metric has the id nope; expected one of: canary_5xx, canary_rate, total_rate/.test(i.message)));
    const b = bad({ metric: 'canary_rate', total: 'canary_rate' });
    assert.ok(!b.success && b.error.issues.some((i) => /evidence\.total must be the metric of all the requests/.test(i.message)));
  });
});

describe('evidence in the monitor: a canary that serves nothing never advances', function () {
  this.timeout(30_000);
  let server: http.Server;
  let base = '';
  const queues = new Map<string, number[]>();
  before(async () => {
    server = http.createServer((req, res) => res.end(JSON.stringify({ v: queues.get(req.url!.slice(1))?.shift() ?? 0 })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  let n = 0;
  /** A canary analysis of `ratios` (clamp_min style: 0 without traffic) with the canary's and backend's rates. */
  async function analyse(ratios: number[], canary: number[], totalRate: number[], weight: number, window = false) {
    const id = String(n++);
    // The first value of each is the priming read's.
    queues.set(`${id}r`, [0, ...ratios]);
    queues.set(`${id}c`, [0, ...canary]);
    queues.set(`${id}t`, [0, ...totalRate]);
    const cfg = Monitoring.parse({
      window: `${ratios.length}s`,
      interval: '1s',
      warmup: 0,
      baseline: { fixed: { total_rate: 200 } },
      metrics: [
        { id: 'canary_5xx', http: { url: `${base}/${id}r`, field: 'v' }, evidence: { metric: 'canary_rate', total: 'total_rate' }, guard: { max: 0.05 } },
        { id: 'canary_rate', unit: 'req/s', http: { url: `${base}/${id}c`, field: 'v' }, guard: { min: 0 } },
        { id: 'total_rate', unit: 'req/s', http: { url: `${base}/${id}t`, field: 'v' }, guard: { min: 0 } },
      ],
    });
    const events: NewEvent[] = [];
    const mon = new Monitor(cfg, (s) => s, process.cwd(), { append: (e) => events.push(e), clock: steppingClock(), signal: new AbortController().signal });
    const out = await mon.watch(window ? undefined : { windowMs: ratios.length * 1000, weight });
    await mon.close();
    return { out, events };
  }
  const reason = (out: Awaited<ReturnType<Monitor['watch']>>) => (!out.ok && 'breach' in out ? out.breach.reason : JSON.stringify(out));

  it('a clamp_min 0 from a canary that served nothing fails the analysis, saying it served 0 of ~N expected', async () => {
    const { out, events } = await analyse([0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [200, 200, 200, 200, 200, 200], 10);
    assert.equal(out.ok, false);
    assert.match(reason(out), /^canary_5xx: 4 inconclusive samples in a row \(last: inconclusive: the canary served 0 of ~20 expected requests req\/s/);
    const sample = events.find((e) => e.type === 'metric.sample' && e.metric === 'canary_5xx');
    assert.deepEqual(sample && [sample.type === 'metric.sample' && sample.status, sample.type === 'metric.sample' && sample.value], ['no-traffic', null]);
  });

  it('a trickle below half its share in most samples does not pass the analysis, even short of the error limit', async () => {
    const { out } = await analyse([0, 0, 0, 0, 0, 0], [30, 2, 2, 30, 2, 2], [200, 200, 200, 200, 200, 200], 10);
    assert.equal(out.ok, false);
    assert.match(reason(out), /^canary_5xx: only 2 of 6 samples usable .*served 2 of ~20 expected/);
  });

  it('a canary serving its share passes', async () => {
    const { out } = await analyse([0.01, 0, 0, 0.01], [20, 19, 21, 20], [200, 200, 200, 200], 10);
    assert.deepEqual(out, { ok: true });
  });

  it('the window with no traffic on the evidence metric fails as unusable samples do', async () => {
    const { out } = await analyse([0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [200, 200, 200, 200, 200], 0, true);
    assert.equal(out.ok, false);
    assert.match(reason(out), /^canary_5xx: 4 inconclusive samples in a row \(last: inconclusive: canary_rate served 0 requests/);
  });
});
