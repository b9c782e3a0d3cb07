import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Monitor } from '../../src/core/monitor/monitor';
import type { Clock } from '../../src/core/base/clock';
import { Monitoring } from '../../src/core/model/schema-monitoring';
import type { NewEvent } from '../../src/core/model/events';

/** Time that passes only when the monitor sleeps: a 30-sample window takes milliseconds. */
function steppingClock(): Clock {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms) => {
      t += Math.max(0, ms);
    },
  };
}

interface Case {
  name: string;
  /** Values printed during the baseline capture (none: a fixed baseline). */
  baseline?: (number | string)[];
  fixed?: number;
  window: (number | string)[];
  guard: Record<string, unknown>;
  /** A source other than the values command. */
  source?: () => Record<string, unknown>;
  expect: 'pass' | 'fail' | 'inconclusive';
  why?: RegExp;
}

const n = (k: number, f: (i: number) => number | string) => Array.from({ length: k }, (_, i) => f(i));

describe('monitoring verdicts: a hostile corpus (inconclusive is never pass)', function () {
  this.timeout(60_000);
  let server: http.Server;
  let base = '';
  // Each test's values, served in order as JSON: a number, "NaN", null (empty) or err (HTTP 500).
  const queues = new Map<string, (number | string)[]>();
  before(async () => {
    server = http.createServer((req, res) => {
      // A counter that never moves: no traffic between two scrapes.
      const v = queues.get(req.url!.slice(1))?.shift();
      if (req.url === '/metrics') res.end('http_requests_total{code="200"} 5\nhttp_requests_total{code="500"} 0\n');
      else if (req.url === '/overflow') res.end('{"v": 1e999}');
      else if (v === 'err' || v === undefined) {
        res.statusCode = 500;
        res.end('no');
      } else res.end(JSON.stringify({ v: v === '' ? null : v }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const steady = n(12, (i) => 5 + (i % 3) * 0.1);
  const cases: Case[] = [
    {
      // No usable sample in the whole window fails it (it was inconclusive, and released).
      name: '0 usable samples: the source answers null',
      fixed: 1,
      window: ['', '', ''],
      guard: { max: 10 },
      expect: 'fail',
      why: /^m: no usable sample of m in the window \(3 taken\): v is null; unusable samples do not pass$/,
    },
    {
      name: '1 sample against a statistical rule',
      baseline: steady,
      window: [5],
      guard: { mannWhitney: 'increase' },
      expect: 'inconclusive',
      why: /Mann-Whitney needs at least 10 points on each side; the baseline has 12, the window 1/,
    },
    {
      name: '2 samples against a statistical rule',
      baseline: steady,
      window: [5, 5.1],
      guard: { max: 100, mannWhitney: 'either' },
      expect: 'inconclusive',
      why: /the window 2/,
    },
    {
      name: 'a baseline of 2 captured points',
      baseline: [5, 5.1],
      window: steady,
      guard: { mannWhitney: 'increase' },
      expect: 'inconclusive',
      why: /the baseline has 2, the window 12/,
    },
    {
      name: 'all samples equal on both sides: no change at all',
      baseline: n(12, () => 0),
      window: n(12, () => 0),
      guard: { max: 0.01, mannWhitney: 'increase' },
      expect: 'pass',
      why: /within its guard; no significant increase/,
    },
    {
      name: 'NaN samples leave too few points',
      baseline: steady,
      // Ends on a usable sample: a run of NaN open at the window's end is judged by more samples (the window is extended).
      window: n(12, (i) => (i % 2 ? 5 : 'NaN')),
      guard: { mannWhitney: 'increase' },
      expect: 'inconclusive',
      why: /the window 6/,
    },
    {
      name: 'every sample NaN (below the error limit)',
      fixed: 1,
      window: ['NaN', 'NaN', 'NaN'],
      guard: { max: 10 },
      expect: 'fail',
      why: /no usable sample of m in the window \(3 taken\): the source returned NaN/,
    },
    {
      name: 'a fixed baseline cannot feed Mann-Whitney',
      fixed: 5,
      window: steady,
      guard: { mannWhitney: 'increase' },
      expect: 'inconclusive',
      why: /baseline 5\.00 \(fixed\); inconclusive: Mann-Whitney needs a captured baseline of at least 10 points; the baseline is a fixed value from the plan/,
    },
    {
      name: 'a fixed baseline of 0 cannot feed a percentage',
      fixed: 0,
      window: [1, 1, 1],
      guard: { risePercent: 20 },
      expect: 'inconclusive',
      why: /risePercent cannot be judged: the baseline is 0/,
    },
    {
      name: 'a negative captured baseline cannot feed a percentage',
      baseline: [-5, -5, -5],
      window: [-6, -6, -6],
      guard: { dropPercent: 30 },
      expect: 'inconclusive',
      why: /dropPercent cannot be judged: the baseline is -5\.00/,
    },
    {
      name: 'no baseline sample captured at all',
      baseline: ['err', 'err', 'err'],
      window: [5, 5, 5],
      guard: { dropPercent: 30 },
      expect: 'inconclusive',
      why: /dropPercent cannot be judged: no baseline/,
    },
    {
      name: 'most samples unusable (errors apart, never 4 in a row)',
      fixed: 1,
      // Ends on a usable sample: a run of errors open at the window's end is judged by more samples (the window is extended).
      window: ['err', 'err', 'err', 1, 'err', 'err', 'err', 1],
      guard: { max: 10 },
      expect: 'inconclusive',
      why: /only 2 of 8 samples were usable; at least half are needed/,
    },
    {
      name: 'samples all error (below the limit)',
      fixed: 1,
      window: ['err', 'err', 'err'],
      guard: { max: 10 },
      expect: 'fail',
      why: /no usable sample of m in the window \(3 taken\)/,
    },
    {
      name: 'samples all error (at the limit): the analysis fails',
      fixed: 1,
      window: ['err', 'err', 'err', 'err', 'err'],
      guard: { max: 10 },
      expect: 'fail',
      why: /4 inconclusive samples in a row/,
    },
    {
      name: 'no traffic: a ratio with no requests between scrapes',
      fixed: 0,
      window: [],
      guard: { max: 0.05 },
      source: () => ({ scrape: { url: `${base}/metrics`, metric: 'http_requests_total', labels: { code: '5..' }, kind: 'ratio' } }),
      expect: 'fail',
      why: /no usable sample of m in the window \(3 taken\)/,
    },
    {
      name: 'a JSON number that overflows to Infinity',
      fixed: 1,
      window: [],
      guard: { max: 10 },
      source: () => ({ http: { url: `${base}/overflow`, field: 'v' } }),
      expect: 'fail',
      why: /no usable sample of m in the window \(3 taken\): the source returned Infinity/,
    },
    {
      name: 'a run of errors still open at the window end, below the limit: the extension takes it to the limit',
      fixed: 1,
      window: [1, 1, 'err', 'err'],
      guard: { max: 10 },
      expect: 'fail',
      why: /^m: 4 inconclusive samples in a row/,
    },
    {
      name: 'huge values, no shift',
      baseline: n(12, (i) => 1e307 * (1 + (i % 4))),
      window: n(12, (i) => 1e307 * (1 + ((i + 1) % 4))),
      guard: { mannWhitney: 'increase' },
      expect: 'pass',
      why: /mean 2\.5e\+307 over 12 of 12 samples/,
    },
    {
      name: 'huge values, a real shift',
      baseline: n(12, (i) => 1e300 * (1 + (i % 4))),
      window: n(12, (i) => 1e303 * (1 + (i % 4))),
      guard: { mannWhitney: 'increase' },
      expect: 'fail',
      why: /Mann-Whitney U=144\.0/,
    },
    {
      name: 'negative values within a min/max guard',
      fixed: -5,
      window: n(3, () => -5),
      guard: { min: -10, max: 0 },
      expect: 'pass',
      why: /mean -5\.00 over 3 of 3 samples, baseline -5\.00 \(fixed\); within its guard$/,
    },
    {
      name: 'a healthy window with enough points: pass (the control)',
      baseline: steady,
      window: steady,
      guard: { max: 10, mannWhitney: 'increase' },
      expect: 'pass',
      why: /over 12 of 12 samples.*no significant increase against the baseline/,
    },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.expect}`, async () => {
      // The first value of each list is eaten by the priming scrape. Beside a fixed baseline production is
      // read once before the window (a priming scrape, then the reading): two more values.
      const id = String(cases.indexOf(c));
      const first = c.window[0] ?? 1;
      queues.set(id, [...(c.baseline ? [c.baseline[0], ...c.baseline] : [first, first]), first, ...c.window]);
      const taken = c.window.length || 3;
      const source = c.source?.() ?? { http: { url: `${base}/${id}`, field: 'v' } };
      const cfg = Monitoring.parse({
        window: `${taken}s`,
        interval: '1s',
        // Verdicts on exact sample lists: no warm-up sample left out.
        warmup: 0,
        baseline: c.baseline ? { capture: `${c.baseline.length}s` } : { fixed: { m: c.fixed } },
        metrics: [{ id: 'm', ...source, guard: c.guard }],
      });
      const events: NewEvent[] = [];
      const mon = new Monitor(cfg, (s) => s, process.cwd(), { append: (e) => events.push(e), clock: steppingClock(), signal: new AbortController().signal });
      await mon.captureBaseline();
      const out = await mon.watch();
      const verdicts = events.filter((e): e is Extract<NewEvent, { type: 'monitoring.verdict' }> => e.type === 'monitoring.verdict');
      assert.equal(verdicts.length, 1, JSON.stringify(events.slice(-3)));
      assert.equal(verdicts[0].verdict, c.expect, verdicts[0].explanation);
      if (c.why) assert.match(verdicts[0].explanation, c.why);
      assert.equal(out.ok, c.expect !== 'fail', 'only a failed metric stops the release');
    });
  }
});
