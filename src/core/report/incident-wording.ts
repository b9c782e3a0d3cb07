import type { ReleaseState } from '../model/releaseState';
import type { MetricView } from '../model/stateViews';
import { formatNumber } from '../format';
import { exceptText } from '../model/needsAttention';

// What a rollback did and why, in the words the report's Verification and Monitoring lines use.

/** The version the release went back to: `v1.2.2`, or words for it when the run did not know it. */
export function previousVersionText(s: ReleaseState): string {
  return s.previousVersion ? `v${s.previousVersion.replace(/^v/, '')}` : `the version before v${s.version.replace(/^v/, '')}`;
}

/** "rolled back to v1.2.2", "rolling back to v1.2.2", "the rollback to v1.2.2 failed (…)"; undefined without a rollback. */
export function rollbackClause(s: ReleaseState): string | undefined {
  const rb = s.rollback;
  if (!rb) return undefined;
  const to = previousVersionText(s);
  if (rb.outcome === 'rolled-back') return `rolled back to ${to}${exceptText(rb.needsAttention)}`;
  if (rb.outcome === 'rollback-failed') return `the rollback to ${to} failed${rb.message ? ` (${rb.message})` : ''}`;
  return `rolling back to ${to}`;
}

/** The metric whose failure started the rollback (or, without a guard rollback, the first that failed). */
export function failedMetric(s: ReleaseState): MetricView | undefined {
  const failed = Object.values(s.metrics).filter((m) => m.breach || m.verdict?.verdict === 'fail');
  const rb = s.rollback;
  return (rb?.trigger === 'guard' ? failed.find((m) => rb.reason.startsWith(`${m.id}: `)) : undefined) ?? failed[0];
}

/** `max 0.05`; a percentage rule with the absolute limit it stood for: `drop 50% of the baseline (limit 21.4)`. */
export function guardText(b: NonNullable<MetricView['breach']>): string {
  return /^(max|min) /.test(b.rule) ? b.rule : `${b.rule} of the baseline (limit ${formatNumber(b.threshold)})`;
}

/** "errors breached its guard max 0.05 with 0.480, 2 samples in a row". */
export function breachText(m: MetricView & { breach: NonNullable<MetricView['breach']> }): string {
  const n = m.breach.consecutive;
  return `${m.id} breached its guard ${guardText(m.breach)} with ${formatNumber(m.breach.value)}, ${n} sample${n === 1 ? '' : 's'} in a row`;
}

/** Why the rollback started, as a sentence: the breach, the failed step, or who asked and why. */
export function rollbackCause(s: ReleaseState): string {
  const rb = s.rollback!;
  if (rb.trigger === 'user') return `${rb.by} rolled it back: ${rb.reason}`;
  if (rb.trigger === 'guard') {
    const m = failedMetric(s);
    if (m?.breach && rb.reason.startsWith(`${m.id}: `) && m.verdict?.verdict !== 'fail') return breachText({ ...m, breach: m.breach });
  }
  return rb.reason;
}

/** "0.480 against its guard max 0.05, 2 samples in a row, at 10:04:12 UTC; rolled back to v1.2.2". */
function breachExplanation(s: ReleaseState, b: NonNullable<MetricView['breach']>): string {
  const n = b.consecutive;
  const then = s.rollback?.trigger === 'guard' ? `; ${rollbackClause(s)}` : '';
  return `${formatNumber(b.value)} against its guard ${guardText(b)}, ${n} sample${n === 1 ? '' : 's'} in a row, at ${b.at.slice(11, 19)} UTC${then}`;
}

/**
 * A metric's verdict, the one every view reads (report, compare, panel): the window's verdict when it
 * closed; else `breached` when a confirmed breach ended it; else `incomplete` or `not run`.
 */
export function metricVerdict(s: ReleaseState, m: MetricView | undefined): { verdict: string; explanation?: string } {
  if (m?.verdict) return { verdict: m.verdict.verdict, explanation: m.verdict.explanation };
  if (m?.breach) return { verdict: 'breached', explanation: breachExplanation(s, m.breach) };
  return { verdict: m?.samples.length ? 'incomplete' : 'not run' };
}
