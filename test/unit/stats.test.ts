import * as assert from 'node:assert/strict';
import { mannWhitney, normalCdf, mean, stdev } from '../../src/core/monitor/stats';
import { evaluateGuard, statisticalVerdict } from '../../src/core/monitor/guard';
import { parsePromText, histogramQuantile } from '../../src/core/monitor/promtext';

describe('monitoring maths', () => {
  it('computes the Mann-Whitney U statistic and one-sided p-values', () => {
    // Hand-checked: all of B above all of A gives U = n1*n2 for "greater".
    const a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const b = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
    const r = mannWhitney(a, b, 'greater');
    assert.equal(r.u, 100);
    assert.ok(r.p < 0.001, `p ${r.p}`);
    assert.ok(mannWhitney(a, b, 'less').p > 0.999);
    // Same distribution: not significant.
    const same = mannWhitney([1, 3, 5, 7, 9, 11, 13, 15, 17, 19], [2, 4, 6, 8, 10, 12, 14, 16, 18, 20], 'two-sided');
    assert.ok(same.p > 0.5, `p ${same.p}`);
    // Ties all round: no evidence either way.
    assert.equal(mannWhitney([1, 1, 1], [1, 1, 1], 'greater').p, 1);
  });

  it('matches the normal CDF at known points', () => {
    assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-7);
    assert.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-4);
    assert.ok(Math.abs(normalCdf(-1.644854) - 0.05) < 1e-4);
    assert.equal(mean([1, 2, 3]), 2);
    assert.ok(Math.abs(stdev([2, 4, 4, 4, 5, 5, 7, 9]) - 2.138) < 1e-3);
  });

  it('judges guards against fixed limits and the baseline, and says when it cannot', () => {
    assert.deepEqual(
      evaluateGuard({ max: 0.01 }, 0.02, undefined).breaches.map((b) => b.explanation),
      ['0.0200 is above the maximum 0.0100'],
    );
    assert.deepEqual(
      evaluateGuard({ dropPercent: 30 }, 60, 100).breaches.map((b) => b.rule),
      ['drop 30%'],
    );
    assert.equal(evaluateGuard({ dropPercent: 30 }, 80, 100).breaches.length, 0);
    assert.deepEqual(
      evaluateGuard({ risePercent: 50 }, 151, 100).breaches.map((b) => b.threshold),
      [150],
    );
    assert.deepEqual(evaluateGuard({ risePercent: 50 }, 5, 0).notes, ['baseline is 0: a rise in percent cannot be judged']);
    assert.deepEqual(evaluateGuard({ dropPercent: 50 }, 5, undefined).notes, ['no baseline: percentage rules cannot be judged']);
  });

  it('runs the statistical guard only with enough points, and fails a real shift', () => {
    const base = Array.from({ length: 30 }, (_, i) => 0.01 + (i % 5) * 0.001);
    assert.equal(statisticalVerdict({ mannWhitney: 'increase' }, base, [0.02, 0.03])?.verdict, 'inconclusive');
    assert.equal(
      statisticalVerdict(
        { mannWhitney: 'increase' },
        base,
        base.map((x) => x + 0.02),
      )?.verdict,
      'fail',
    );
    assert.equal(
      statisticalVerdict(
        { mannWhitney: 'increase' },
        base,
        base.map((x) => x - 0.0001),
      )?.verdict,
      'pass',
    );
    assert.equal(statisticalVerdict({ max: 1 }, base, base), undefined);
  });

  it('parses the Prometheus text format and computes histogram quantiles as Prometheus does', () => {
    const { samples, errors } = parsePromText('# HELP x\nhttp_requests_total{code="200",path="/a\\"b"} 10 1700000000\nup 1\nbad line here\nnan_metric NaN\n');
    assert.deepEqual(samples.map((s) => [s.name, s.labels, s.value]).slice(0, 2), [
      ['http_requests_total', { code: '200', path: '/a"b' }, 10],
      ['up', {}, 1],
    ]);
    assert.ok(Number.isNaN(samples[2].value));
    assert.deepEqual(errors, ['line 4: cannot parse "bad line here"']);
    // 100 observations: 50 ≤ 0.1, 90 ≤ 0.5, 100 ≤ 1 → p99 interpolates inside (0.5, 1].
    const q = histogramQuantile(0.99, [
      { le: 0.1, count: 50 },
      { le: 0.5, count: 90 },
      { le: 1, count: 100 },
      { le: Infinity, count: 100 },
    ]);
    assert.ok(Math.abs(q - 0.95) < 1e-9, `p99 ${q}`);
    assert.equal(
      histogramQuantile(0.5, [
        { le: 0.1, count: 50 },
        { le: Infinity, count: 100 },
      ]),
      0.1,
    );
    assert.ok(Number.isNaN(histogramQuantile(0.5, [{ le: Infinity, count: 0 }])));
  });
});
