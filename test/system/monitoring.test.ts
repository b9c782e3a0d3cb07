import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Monitor } from '../../src/core/monitor/monitor';
import { type WatchOutcome } from '../../src/core/monitor/monitorPorts';
import { realClock } from '../../src/core/base/clock';
import { Monitoring, Metric as MetricSchema, type Metric } from '../../src/core/model/schema-monitoring';
import { PrometheusQuerySource, ScrapeSource, HttpJsonSource, CommandSource } from '../../src/core/monitor/sources';
import { Release } from '../../src/core/engine/run/engine';
import type { NewEvent } from '../../src/core/model/events';
import { TestPrometheus, TestService } from '../support/traffic';
import { freePort } from '../support/server';
import { waitFor } from '../support/waitFor';
import { smallPlan, workspace, scripted, journalLines } from '../support/fixtures';
import { buildReport } from '../../src/core/report/report';

function monitoring(metrics: unknown[], over: Record<string, unknown> = {}) {
  return Monitoring.parse({ window: '4s', interval: '500ms', warmup: 0, baseline: { fixed: {} }, failureLimit: 2, metrics, ...over });
}

async function watch(cfg: ReturnType<typeof monitoring>, events: NewEvent[] = [], baseline = true): Promise<WatchOutcome> {
  const m = new Monitor(cfg, (s) => s, process.cwd(), { append: (e) => events.push(e), clock: realClock, signal: new AbortController().signal });
  if (baseline) await m.captureBaseline();
  return m.watch();
}

describe('monitoring against a real Prometheus', function () {
  this.timeout(120_000);
  const svc = new TestService();
  const prom = new TestPrometheus();
  // `or vector(0)`: with no 5xx at all the numerator has no series, and the ratio would be empty.
  const ERR = '(sum(rate(http_requests_total{code=~"5.."}[4s])) or vector(0)) / sum(rate(http_requests_total[4s]))';
  const RPS = 'sum(rate(http_requests_total[4s]))';

  before(async () => {
    await svc.start();
    svc.traffic(40);
    await prom.start(`127.0.0.1:${svc.port}`);
    await prom.waitForValue(RPS);
  });
  after(async () => {
    prom.stop();
    await svc.stop();
  });
  beforeEach(() => {
    svc.errorRate = 0;
    svc.traffic(40);
  });

  it('passes a healthy window, with a verdict per metric that names the baseline', async () => {
    const events: NewEvent[] = [];
    const cfg = monitoring(
      [
        { id: 'errors', prometheus: { url: prom.url, query: ERR }, guard: { max: 0.05 } },
        { id: 'qps', prometheus: { url: prom.url, query: RPS }, guard: { dropPercent: 50 } },
      ],
      { baseline: { capture: '2s' }, window: '3s' },
    );
    // What the service really served is the reference, not the 40/s asked of the load loop: on a
    // loaded machine its timer fires late, and Prometheus rightly sees fewer requests.
    const s0 = svc.served();
    const out = await watch(cfg, events);
    const s1 = svc.served();
    assert.deepEqual(out, { ok: true });
    const served = (s1.count - s0.count) / ((s1.at - s0.at) / 1000);
    assert.ok(served > 5, `the load loop served ${served.toFixed(1)}/s`);
    const base = events.find((e) => e.type === 'baseline.captured' && e.metric === 'qps') as Extract<NewEvent, { type: 'baseline.captured' }>;
    assert.ok(base.mean > served * 0.5 && base.mean < served * 2, `baseline qps ${base.mean}, served ${served.toFixed(1)}/s`);
    const verdicts = events.filter((e): e is Extract<NewEvent, { type: 'monitoring.verdict' }> => e.type === 'monitoring.verdict');
    assert.deepEqual(
      verdicts.map((v) => [v.metric, v.verdict]),
      [
        ['errors', 'pass'],
        ['qps', 'pass'],
      ],
    );
    const samples = events.filter((e) => e.type === 'metric.sample' && e.metric === 'qps').length;
    assert.match(verdicts[1].explanation, new RegExp(`over ${samples} of ${samples} samples, baseline`));
  });

  it('rolls back on an error spike and journals breach, then rollback start, with the latency', async () => {
    const plan = smallPlan({
      monitoring: `  window: 20s\n  interval: 500ms\n  failureLimit: 2\n  baseline:\n    capture: 1s\n  metrics:\n    - id: errors\n      prometheus:\n        url: ${prom.url}\n        query: '${ERR}'\n      guard: { max: 0.05 }`,
    });
    const ws = workspace(plan);
    const r = await Release.start(
      ws.options({
        onEvent: (e) => {
          if (e.type === 'phase.started' && e.phase === 'monitoring') svc.errorRate = 0.5;
        },
      }),
    );
    const s = await r.run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.equal(s.rollback?.trigger, 'guard');
    assert.match(s.rollback.reason, /^errors: 0\.\d+ is above the maximum 0\.0500 for 2 sample\(s\) in a row$/);
    const events = journalLines(ws, r.runId);
    const confirmed = events.findIndex((e) => e.type === 'guard.breached' && e.confirmed === true);
    const started = events.findIndex((e) => e.type === 'rollback.started');
    assert.ok(confirmed > 0 && started > confirmed, 'the breach is confirmed, then the rollback starts');
    const rb = events[started] as { latencyMs: number; requestedAt: string; at: string };
    assert.ok(rb.latencyMs >= 0 && rb.latencyMs < 300_000, `breach → rollback ${rb.latencyMs} ms, inside the spec's five minutes`);
    assert.equal(fs.readFileSync(path.join(ws.dir, 'state.txt'), 'utf8'), 'v1\n', 'the rollback restored the backup');
    const mon = s.phases.find((p) => p.id === 'monitoring')!;
    assert.equal(mon.state, 'failed', 'the monitoring phase ended with the rollback');
    assert.equal(s.monitoring?.finishedAt, s.rollback?.startedAt);
  });

  it('catches a traffic drop against the captured baseline', async () => {
    const events: NewEvent[] = [];
    const cfg = monitoring([{ id: 'qps', prometheus: { url: prom.url, query: RPS }, guard: { dropPercent: 50 } }], {
      baseline: { capture: '2s' },
      window: '20s',
    });
    const m = new Monitor(cfg, (s) => s, process.cwd(), { append: (e) => events.push(e), clock: realClock, signal: new AbortController().signal });
    await m.captureBaseline();
    svc.traffic(2);
    const out = await m.watch();
    assert.equal(out.ok, false);
    assert.ok(!out.ok && 'breach' in out);
    assert.match(out.breach.reason, /^qps: [\d.]+ is [\d.]+% below the baseline [\d.]+ \(limit 50%\) for 2 sample\(s\) in a row$/);
    assert.equal(out.action, 'rollback');
  });

  it('explains NaN and empty results and never counts them as a pass', async () => {
    const nan = await new PrometheusQuerySource(prom.url, '0/0', 2000).sample();
    assert.deepEqual([nan.status, nan.value, nan.message], ['nan', null, 'the source returned NaN']);
    const empty = await new PrometheusQuerySource(prom.url, 'no_such_metric_anywhere', 2000).sample();
    assert.deepEqual([empty.status, empty.message], ['empty', 'the query returned no series']);
    const many = await new PrometheusQuerySource(prom.url, 'http_requests_total', 2000).sample();
    assert.equal(many.status, 'error');
    assert.match(many.message!, /returned \d+ series; aggregate it/);
    const bad = await new PrometheusQuerySource(prom.url, 'sum(', 2000).sample();
    assert.equal(bad.status, 'error');
    assert.match(bad.message!, /^Prometheus bad_data: /);
    const events: NewEvent[] = [];
    const out = await watch(
      monitoring([{ id: 'nan', prometheus: { url: prom.url, query: '0/0' }, guard: { max: 1 } }], { window: '10s', consecutiveErrorLimit: 3 }),
      events,
    );
    assert.ok(!out.ok && 'breach' in out && out.breach.kind === 'errors');
    const samples = events.filter((e): e is Extract<NewEvent, { type: 'metric.sample' }> => e.type === 'metric.sample');
    assert.deepEqual(
      samples.map((s) => s.status),
      ['nan', 'nan', 'nan'],
    );
    assert.match(samples[2].message!, /the source returned NaN — inconclusive \(3\/3\)/);
  });

  it('gives inconclusive samples when Prometheus stops mid-window, then fails the analysis after 4', async () => {
    const p2 = await new TestPrometheus().start(`127.0.0.1:${svc.port}`);
    await p2.waitForValue(RPS);
    const events: NewEvent[] = [];
    const cfg = monitoring([{ id: 'qps', prometheus: { url: p2.url, query: RPS }, guard: { min: 1 } }], { window: '30s' });
    // Prometheus stops once a good sample was taken (not after a fixed time: a loaded machine samples later).
    const stopped = waitFor(() => events.some((e) => e.type === 'metric.sample' && e.status === 'ok'), 30_000).then(() => p2.stop());
    const out = await watch(cfg, events);
    await stopped;
    assert.ok(!out.ok && 'breach' in out);
    assert.equal(out.breach.kind, 'errors');
    assert.match(out.breach.reason, /^qps: 4 inconclusive samples in a row \(last: ECONNREFUSED.*\); the analysis fails$/);
    const statuses = events.filter((e): e is Extract<NewEvent, { type: 'metric.sample' }> => e.type === 'metric.sample').map((s) => s.status);
    assert.ok(statuses.includes('ok'), 'samples were good before it stopped');
    assert.deepEqual(statuses.slice(-4), ['error', 'error', 'error', 'error']);
  });
});

describe('metric sources against the same kind of service', function () {
  this.timeout(60_000);
  const svc = new TestService();
  before(async () => {
    await svc.start();
    svc.traffic(50);
    assert.ok(await waitFor(() => svc.served().count >= 20, 20_000), 'the load loop is sending');
  });
  after(() => svc.stop());
  afterEach(() => {
    Object.assign(svc, { errorRate: 0, garbage: false, slowMs: 0, statsValue: 1, latencyMs: 0 });
    svc.traffic(50);
  });

  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('scrapes a text endpoint: rate, error ratio and p99 from the histogram between two scrapes', async () => {
    svc.errorRate = 0.25;
    svc.latencyMs = 20;
    const rate = new ScrapeSource(svc.url('/metrics'), 'http_requests_total', {}, 'rate', 0.99, 2000);
    const ratio = new ScrapeSource(svc.url('/metrics'), 'http_requests_total', { code: '5..' }, 'ratio', 0.99, 2000);
    const p99 = new ScrapeSource(svc.url('/metrics'), 'http_request_duration_seconds', {}, 'quantile', 0.99, 2000);
    const first = await rate.sample();
    assert.deepEqual([first.status, first.message], ['empty', 'first scrape: a rate needs two']);
    await Promise.all([ratio.sample(), p99.sample()]);
    const before = svc.served();
    // 75 requests between the scrapes: 1.5 s of the 50 requests a second asked for, longer on a loaded machine.
    assert.ok(await waitFor(() => svc.served().count - before.count >= 75, 30_000), 'the load loop sent 75 requests');
    const [r, e, q] = await Promise.all([rate.sample(), ratio.sample(), p99.sample()]);
    const after = svc.served();
    // Compared with what the service really served between the scrapes: a loaded machine sends fewer
    // requests and answers slower than asked, and the figures must follow what happened.
    const served = after.count - before.count;
    assert.ok(served >= 75, `the load loop sent ${served} requests between the scrapes`);
    const expectedRate = served / ((after.at - before.at) / 1000);
    assert.equal(r.status, 'ok');
    assert.ok(Math.abs(r.value! - expectedRate) / expectedRate < 0.35, `rate ${r.value}, served ${expectedRate.toFixed(1)}/s`);
    const errors = (after.byCode.get('500') ?? 0) - (before.byCode.get('500') ?? 0);
    assert.ok(Math.abs(e.value! - errors / served) < 0.08, `error ratio ${e.value}, served ${errors}/${served}`);
    assert.ok(Math.abs(e.value! - 0.25) < 0.1, `error ratio ${e.value}: every 4th request fails`);
    // The bucket the 99th percentile of the requests served between the scrapes falls in.
    const delta = after.buckets.map((b, i) => ({ le: b.le, n: b.n - before.buckets[i].n }));
    const k = delta.findIndex((b) => b.n >= 0.99 * served);
    const [lo, hi] = k === -1 ? [delta[delta.length - 1].le, Infinity] : [k > 0 ? delta[k - 1].le : 0, delta[k].le];
    assert.ok(q.value! > lo && q.value! <= hi, `p99 ${q.value} s falls in the ${lo * 1000}-${hi * 1000} ms bucket the served requests put it in`);
    assert.ok(q.value! > 0.01, `p99 ${q.value} s: every request takes at least the 20 ms the service waits`);
  });

  it('says "no traffic" for a ratio with no requests between scrapes', async () => {
    svc.traffic(0);
    // Lets the requests already sent be answered (the service answers at once) before the first scrape.
    await pause(200);
    const ratio = new ScrapeSource(svc.url('/metrics'), 'http_requests_total', { code: '5..' }, 'ratio', 0.99, 2000);
    await ratio.sample();
    await pause(200);
    const s = await ratio.sample();
    assert.equal(s.status, 'no-traffic');
    assert.match(s.message!, /^no http_requests_total between two scrapes/);
  });

  it('explains garbage and a slow endpoint as errors', async () => {
    svc.garbage = true;
    const g = await new ScrapeSource(svc.url('/metrics'), 'http_requests_total', {}, 'gauge', 0.99, 2000).sample();
    assert.deepEqual([g.status, g.message], ['error', 'not Prometheus text format: line 1: cannot parse "this is { not prometheus"']);
    svc.garbage = false;
    svc.slowMs = 800;
    const slow = await new ScrapeSource(svc.url('/metrics'), 'http_requests_total', {}, 'gauge', 0.99, 200).sample();
    assert.deepEqual([slow.status, slow.message], ['error', 'no answer within 200 ms']);
  });

  it('reads a JSON field over HTTP, and explains a missing, null or non-numeric one', async () => {
    const src = (f: string) => new HttpJsonSource(svc.url('/stats'), f, 2000);
    assert.deepEqual(await src('service.healthy').sample(), { value: 1, status: 'ok' });
    assert.deepEqual(await src('service.missing').sample(), { value: null, status: 'error', message: 'service.missing matches nothing in the response' });
    svc.statsValue = null;
    assert.equal((await src('service.healthy').sample()).status, 'empty');
    svc.statsValue = 'NaN';
    assert.equal((await src('service.healthy').sample()).status, 'nan');
    svc.statsValue = 'green';
    assert.deepEqual(await src('service.healthy').sample(), { value: null, status: 'error', message: 'service.healthy is "green", not a number' });
  });

  it('reads a number a command prints, and explains a failing or silent one', async () => {
    assert.deepEqual(await new CommandSource('echo "latency 0.25"', 2000, process.cwd()).sample(), { value: 0.25, status: 'ok' });
    assert.equal((await new CommandSource('true', 2000, process.cwd()).sample()).status, 'empty');
    const failing = await new CommandSource('echo boom >&2; exit 4', 2000, process.cwd()).sample();
    assert.deepEqual([failing.status, failing.message], ['error', 'exit code 4: boom']);
    const slow = await new CommandSource('sleep 5', 300, process.cwd()).sample();
    assert.deepEqual([slow.status, slow.message], ['error', 'no answer within 300 ms']);
  });

  it('a source that never answers ends the analysis after the error limit, explained', async () => {
    const events: NewEvent[] = [];
    const closed = await freePort();
    const metrics: Metric[] = [
      MetricSchema.parse({ id: 'down', http: { url: `http://127.0.0.1:${closed}/stats`, field: 'x' }, timeout: '300ms', guard: { max: 1 } }),
    ];
    const out = await watch(Monitoring.parse({ window: '10s', interval: '100ms', baseline: { fixed: { down: 0 } }, metrics }), events);
    assert.ok(!out.ok && 'breach' in out && out.breach.kind === 'errors');
    assert.match(out.breach.reason, /^down: 4 inconclusive samples in a row \(last: ECONNREFUSED/);
  });

  void scripted;
});

describe('the window never releases what it could not judge', function () {
  this.timeout(60_000);
  const plan = (metric: string, over = '') =>
    smallPlan({
      monitoring: `  window: 1s\n  interval: 250ms\n  warmup: 0s\n  failureLimit: 2\n  baseline:\n    fixed: { m: 0 }\n  metrics:\n    - id: m\n${metric}${over}`,
    });

  it('a mistyped access-log path (no usable sample in the whole window) rolls back and says why', async () => {
    const ws = workspace(
      plan(
        '      accessLog: { path: nonexistent-dir/access.log, format: combined, statistic: errorRatio }\n      guard: { max: 0.1 }',
        '\n  consecutiveErrorLimit: 10',
      ),
    );
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.match(s.rollback!.reason, /^m: no usable sample of m in the window \(\d+ taken\): .*nonexistent-dir.*; unusable samples do not pass$/);
    assert.equal(s.metrics.m.verdict?.verdict, 'fail');
    const r = buildReport(s);
    assert.match(r.verification.monitoring, /^Abnormal: .*no usable sample of m in the window/);
    assert.equal(r.incidentResponse.rollbackTriggered, 'Yes');
  });

  it('a window shorter than consecutiveErrorLimit samples of errors, onBreach prompt: the person is asked', async () => {
    const ws = workspace(plan('      command: echo n/a\n      guard: { max: 0.1 }', '\n  consecutiveErrorLimit: 20\n  onBreach: prompt'));
    const prompter = scripted({ breach: 'rollback' });
    const s = await (await Release.start(ws.options({ prompter }))).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.match(s.rollback!.reason, /^m: no usable sample of m in the window \(\d+ taken\): the command printed/);
  });

  /**
   * A metric that counts its reads in the file n and prints `then` from the read where `[ $n test ]`
   * holds, else 0. Production is read once beside the fixed baseline (a first scrape, then the reading:
   * n = 1, 2); the window's first sample primes the source (n = 3), its 4 samples are n = 4..7.
   */
  const counted = (test: string, then: string) =>
    `      command: "n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; if [ $n ${test} ]; then echo ${then}; else echo 0; fi"\n      guard: { max: 0.5 }`;

  it('a breach in the last sample, not yet confirmed, is confirmed by the extension and rolls back', async () => {
    // Breaches from the window's last sample on.
    const ws = workspace(plan(counted('-ge 7', '1')));
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    const ext = journalLines(ws, s.runId).filter((e) => e.type === 'monitoring.extended');
    assert.equal(ext.length, 1);
    assert.equal(ext[0].extraMs, 250);
    assert.match(String(ext[0].reason), /^m breached its guard in its last 1 sample\(s\), 2 confirm a breach: 1 more sample\(s\) confirm or clear it$/);
    assert.match(s.rollback!.reason, /^m: 1\.00 is above the maximum 0\.500 for 2 sample\(s\) in a row$/);
  });

  it('a breach in the last sample that clears in the extension releases, and the report says the window was extended', async () => {
    const ws = workspace(plan(counted('-eq 7', '1')));
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.equal(
      fs.readFileSync(path.join(ws.dir, 'n'), 'utf8').trim(),
      '8',
      'one sample more than the window (and the priming one, and the two of the reading beside the fixed baseline)',
    );
    assert.equal(
      buildReport(s).verification.monitoring,
      'Normal (1 s window (extended by up to 0.25 s: m breached its guard in its last 1 sample(s), 2 confirm a breach: 1 more sample(s) confirm or clear it), 1 metric)',
    );
  });

  it('a run of errors open at the window end is cleared or confirmed by the samples it still needs', async () => {
    const ws = workspace(plan(counted('-ge 7', 'n/a'), '\n  consecutiveErrorLimit: 3'));
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.match(s.rollback!.reason, /^m: 3 inconclusive samples in a row/);
    assert.equal(
      fs.readFileSync(path.join(ws.dir, 'n'), 'utf8').trim(),
      '9',
      'two samples more than the window (and the priming one, and the two of the reading beside the fixed baseline)',
    );
  });
});
