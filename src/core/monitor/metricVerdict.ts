import type { Guard } from '../model/schema-monitoring';
import { MIN_POINTS_FOR_STATS, statisticalVerdict } from './guard';
import { mean } from './stats';
import { formatNumber } from '../format';

/**
 * How a metric's verdict is decided once its window has passed (safety invariant 6: inconclusive
 * is never reported as pass).
 *
 * - The guard rules (max, min, dropPercent, risePercent) are judged on every sample as it arrives.
 *   A confirmed breach (failureLimit in a row), or consecutiveErrorLimit unusable samples in a row,
 *   fails the metric at once, during the window; this function never sees those.
 * - fail: the statistical rule (mannWhitney) finds the window worse than the captured baseline,
 *   p < 0.05 (confidence 0.95, as Kayenta).
 * - inconclusive, with every reason, when any rule the plan asked for could not be judged:
 *   no usable sample; fewer usable samples than half of those taken (errors, NaN, empty, no
 *   traffic are not measurements); a percentage rule with no usable baseline (none, NaN, or <= 0);
 *   a statistical rule with fewer than MIN_POINTS_FOR_STATS finite points on either side, or
 *   against a fixed baseline (one value from the plan is not a distribution).
 * - pass: every rule was judged, the guards held on every usable sample, and the statistical
 *   rule (when asked) found no significant change.
 */
export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface VerdictInput {
  guard: Guard;
  /** `label`: what stands for the baseline when it is not one (another metric's window, for `compareTo`). */
  baseline: { samples: readonly number[]; value?: number; fixed: boolean; label?: string };
  /** Usable values seen in the window (each already within the guard's thresholds). */
  window: readonly number[];
  /** Samples taken in the window, usable or not. */
  taken: number;
  /** Why the last unusable sample was unusable, for the explanation. */
  lastProblem?: string;
}

export function decideVerdict(i: VerdictInput): { verdict: Verdict; explanation: string } {
  const g = i.guard;
  const usable = i.window.length;
  const observed = usable
    ? `mean ${formatNumber(mean(i.window))} over ${usable} of ${i.taken} samples`
    : `no usable sample among ${i.taken} taken${i.lastProblem ? ` (last: ${i.lastProblem})` : ''}`;
  const base =
    i.baseline.value !== undefined && Number.isFinite(i.baseline.value)
      ? `${i.baseline.label ?? 'baseline'} ${formatNumber(i.baseline.value)}${i.baseline.fixed ? ' (fixed)' : ''}`
      : `no ${i.baseline.label ?? 'baseline'}`;
  const unjudged: string[] = [];
  if (usable === 0) unjudged.push('no measurement to judge');
  else if (usable * 2 < i.taken)
    unjudged.push(`only ${usable} of ${i.taken} samples were usable; at least half are needed${i.lastProblem ? ` (last problem: ${i.lastProblem})` : ''}`);
  for (const rule of ['dropPercent', 'risePercent'] as const) {
    if (g[rule] === undefined) continue;
    const b = i.baseline.value;
    if (b === undefined || !Number.isFinite(b)) unjudged.push(`${rule} cannot be judged: no baseline`);
    else if (b <= 0) unjudged.push(`${rule} cannot be judged: the baseline is ${formatNumber(b)}, a percentage of it means nothing`);
  }
  let statText = '';
  if (g.mannWhitney) {
    const stat = i.baseline.fixed
      ? {
          verdict: 'inconclusive' as const,
          explanation: `Mann-Whitney needs a captured baseline of at least ${MIN_POINTS_FOR_STATS} points; the baseline is a fixed value from the plan`,
        }
      : statisticalVerdict(g, i.baseline.samples, i.window)!;
    if (stat.verdict === 'fail') return { verdict: 'fail', explanation: `${observed}, ${base}; ${stat.explanation}` };
    if (stat.verdict === 'inconclusive') unjudged.push(stat.explanation);
    else statText = `; ${stat.explanation}`;
  }
  if (unjudged.length) return { verdict: 'inconclusive', explanation: `${observed}, ${base}; inconclusive: ${unjudged.join('; ')}` };
  return { verdict: 'pass', explanation: `${observed}, ${base}; within its guard${statText}` };
}
