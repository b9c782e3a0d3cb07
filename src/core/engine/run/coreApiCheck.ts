import type { Plan } from '../../model/schema';

/** Which verification HTTP check the report's "Core API" line speaks for, and why that one. */
export interface CoreApiChoice {
  /** The step key of the check (`verification/http.<i>`), when there is one. */
  step?: string;
  name?: string;
  /** marked: `core: true`; named: the first check whose name or URL says "api"; not-marked: checks exist, none says; none: no HTTP check. */
  basis: 'marked' | 'named' | 'not-marked' | 'none';
}

const API_WORD = /(^|[^a-z])api([^a-z]|$)/i;

export function coreApiCheck(plan: Plan): CoreApiChoice {
  const checks = plan.phases.verification?.http ?? [];
  if (checks.length === 0) return { basis: 'none' };
  const pick = (i: number, basis: CoreApiChoice['basis']): CoreApiChoice => ({
    step: `verification/http.${i}`,
    name: checks[i].name ?? `${checks[i].method} ${checks[i].url}`,
    basis,
  });
  const marked = checks.findIndex((c) => c.core);
  if (marked >= 0) return pick(marked, 'marked');
  // A check the plan marked as not the core API is never picked by its name.
  const named = checks.findIndex((c) => c.core !== false && (API_WORD.test(c.name ?? '') || API_WORD.test(c.url)));
  if (named >= 0) return pick(named, 'named');
  return { basis: 'not-marked' };
}
