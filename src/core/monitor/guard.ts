import type { Guard } from '../model/schema-monitoring';
import { mannWhitney } from './stats';
import { formatNumber } from '../format';

export interface RuleBreach {
  rule: string;
  threshold: number;
  explanation: string;
}

const fmt = formatNumber;

/** The threshold rules (not the statistical one) applied to one sample; `against` names what `baseline` is. */
export function evaluateGuard(g: Guard, value: number, baseline: number | undefined, against = 'the baseline'): { breaches: RuleBreach[]; notes: string[] } {
  const breaches: RuleBreach[] = [];
  const notes: string[] = [];
  if (g.max !== undefined && value > g.max)
    breaches.push({ rule: `max ${g.max}`, threshold: g.max, explanation: `${fmt(value)} is above the maximum ${fmt(g.max)}` });
  if (g.min !== undefined && value < g.min)
    breaches.push({ rule: `min ${g.min}`, threshold: g.min, explanation: `${fmt(value)} is below the minimum ${fmt(g.min)}` });
  if (g.dropPercent !== undefined || g.risePercent !== undefined) {
    if (baseline === undefined || Number.isNaN(baseline)) notes.push('no baseline: percentage rules cannot be judged');
    else {
      if (g.dropPercent !== undefined) {
        const limit = baseline * (1 - g.dropPercent / 100);
        if (baseline <= 0) notes.push('baseline is 0: a drop cannot be judged');
        else if (value < limit)
          breaches.push({
            rule: `drop ${g.dropPercent}%`,
            threshold: limit,
            explanation: `${fmt(value)} is ${fmt(((baseline - value) / baseline) * 100)}% below ${against} ${fmt(baseline)} (limit ${g.dropPercent}%)`,
          });
      }
      if (g.risePercent !== undefined) {
        const limit = baseline * (1 + g.risePercent / 100);
        if (baseline <= 0) notes.push('baseline is 0: a rise in percent cannot be judged');
        else if (value > limit)
          breaches.push({
            rule: `rise ${g.risePercent}%`,
            threshold: limit,
            explanation: `${fmt(value)} is ${fmt(((value - baseline) / baseline) * 100)}% above ${against} ${fmt(baseline)} (limit ${g.risePercent}%)`,
          });
      }
    }
  }
  return { breaches, notes };
}

/** Below this the test has too little power to call anything (Kayenta asks for 50 where it can). */
export const MIN_POINTS_FOR_STATS = 10;

/** The statistical rule: the window's samples against the baseline's, at confidence 0.95. */
export function statisticalVerdict(
  g: Guard,
  baselineIn: readonly number[],
  windowIn: readonly number[],
): { verdict: 'pass' | 'fail' | 'inconclusive'; explanation: string } | undefined {
  if (!g.mannWhitney) return undefined;
  // NaN would break the ranking and Infinity is no measurement: only finite points count.
  const baseline = baselineIn.filter(Number.isFinite);
  const window = windowIn.filter(Number.isFinite);
  if (baseline.length < MIN_POINTS_FOR_STATS || window.length < MIN_POINTS_FOR_STATS) {
    return {
      verdict: 'inconclusive',
      explanation: `Mann-Whitney needs at least ${MIN_POINTS_FOR_STATS} points on each side; the baseline has ${baseline.length}, the window ${window.length}`,
    };
  }
  const alt = g.mannWhitney === 'increase' ? 'greater' : g.mannWhitney === 'decrease' ? 'less' : 'two-sided';
  const r = mannWhitney(baseline, window, alt);
  const word = g.mannWhitney === 'either' ? 'differs from' : g.mannWhitney === 'increase' ? 'is higher than' : 'is lower than';
  return r.p < 0.05
    ? { verdict: 'fail', explanation: `the window ${word} the baseline (Mann-Whitney U=${r.u.toFixed(1)}, p=${r.p.toPrecision(2)} < 0.05)` }
    : { verdict: 'pass', explanation: `no significant ${g.mannWhitney} against the baseline (Mann-Whitney U=${r.u.toFixed(1)}, p=${r.p.toPrecision(2)})` };
}

/** A guard's rules as a person reads them: `max 0.02, min 1`. */
export function guardRules(g: Guard): string {
  return Object.entries(g)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
