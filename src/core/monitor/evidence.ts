// Whether a sample can be judged at all: the one decision every guard path (the monitoring window
// and each canary analysis) takes before a value meets its guard.
import type { Metric } from '../model/schema-monitoring';
import type { Sample } from './sample';
import type { SampleStatus } from '../model/events';

/** A count or rate as a person says it: 0, 20, 0.3, 1.23e+6 (three significant digits). */
const fmt = (n: number): string => String(Number(n.toPrecision(3)));

export type Classified = { value: number } | { status: Exclude<SampleStatus, 'ok' | 'breach'>; reason: string };

/** A sample as a measurement (a finite number), or why it is none: an error, nothing, NaN, ±Infinity. */
export function measurement(s: Sample | undefined): { value: number } | { status: Exclude<SampleStatus, 'ok' | 'breach'>; reason: string } {
  if (!s) return { status: 'empty', reason: 'not sampled' };
  if (s.status !== 'ok' || s.value === null) return { status: s.status === 'ok' ? 'empty' : s.status, reason: s.message ?? s.status };
  // Infinity (JSON's 1e999, a division by zero) is no measurement, like NaN.
  if (!Number.isFinite(s.value)) return { status: 'nan', reason: `the source returned ${s.value}` };
  return { value: s.value };
}

/**
 * Metric `metrics[index]`'s sample of this round, as a value to judge or as inconclusive with the
 * reason. With `evidence`, the evidence metric's sample of the same round must be a measurement
 * above 0 (and at least `min`); with `total` and a canary weight w, at least `minShare` × w % of
 * `total`. A ratio over no requests (a `clamp_min` denominator, a canary that took no traffic) is
 * thus inconclusive, never a pass; the monitor counts it as an unusable sample.
 */
export function classify(metrics: readonly Metric[], samples: readonly (Sample | undefined)[], index: number, weight?: number): Classified {
  const m = metrics[index];
  const own = measurement(samples[index]);
  const ev = m.evidence;
  if (!ev) return own;
  const read = (id: string) => measurement(samples[metrics.findIndex((x) => x.id === id)]);
  const unitOf = (id: string) => metrics.find((x) => x.id === id)?.unit;
  const unit = unitOf(ev.metric) ? ` ${unitOf(ev.metric)}` : '';
  const inconclusive = (reason: string): Classified => ({ status: 'no-traffic', reason: `inconclusive: ${reason}` });
  const served = read(ev.metric);
  if ('reason' in served) return inconclusive(`no evidence of traffic: ${ev.metric} has no measurement (${served.reason})`);
  const v = served.value;
  if (v < 0) return inconclusive(`${ev.metric} is ${fmt(v)}: a request rate is never negative`);
  if (ev.total !== undefined && weight !== undefined) {
    if (!(weight > 0)) return inconclusive(`at weight ${fmt(weight)} % the canary is to serve nothing: there is nothing to judge`);
    const all = read(ev.total);
    if ('reason' in all) return inconclusive(`no ${ev.total} measurement to weigh the canary's share against (${all.reason})`);
    if (!(all.value > 0)) return inconclusive(`${ev.total} is ${fmt(all.value)}: no request reached the service`);
    const expected = (Math.min(weight, 100) / 100) * all.value;
    if (!(v > 0) || v < ev.minShare * expected)
      return inconclusive(
        `the canary served ${fmt(v)} of ~${fmt(expected)} expected requests${unit} (${fmt(weight)} % of ${ev.total} ${fmt(all.value)}; at least ${fmt(ev.minShare * 100)} % of them needed)`,
      );
  }
  if (!(v > 0)) return inconclusive(`${ev.metric} served 0 requests${unit}: nothing to judge`);
  if (ev.min !== undefined && v < ev.min) return inconclusive(`${ev.metric} served ${fmt(v)} requests${unit}, at least ${fmt(ev.min)} needed`);
  return own;
}
