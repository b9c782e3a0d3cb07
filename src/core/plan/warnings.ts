import type { Plan } from '../model/schema';

/** The spec's monitoring window is 15 to 30 minutes. */
export const SPEC_MIN_WINDOW_MS = 15 * 60_000;

/** A name with a "prod" word: production, prod, prod-eu, eu-production; not preprod, nonprod, products. */
const PROD_NAME = /(^|[^a-z])prod(uction)?([^a-z]|$)/i;

export function isProduction(plan: Plan): boolean {
  return plan.release.production ?? PROD_NAME.test(plan.release.environment);
}

export interface PlanWarning {
  /** Key path of the value the warning is about. */
  path: (string | number)[];
  message: string;
}

/** What a valid plan does that the spec advises against; the plan still runs. */
export function planWarnings(plan: Plan): PlanWarning[] {
  const warnings: PlanWarning[] = [];
  const m = plan.monitoring;
  if (isProduction(plan) && m.window < SPEC_MIN_WINDOW_MS && !m.shortWindowReason?.trim()) {
    warnings.push({
      path: ['monitoring', 'window'],
      message: `a monitoring window of ${duration(m.window)} on ${plan.release.environment} is shorter than the spec's minimum of 15 minutes (15–30 min); lengthen it, or record why under monitoring.shortWindowReason`,
    });
  }
  if (plan.phases.migration?.steps.length && !plan.rollback.database)
    warnings.push({
      path: ['phases', 'migration'],
      message:
        'the migration has steps but rollback.database says nothing: say what a rollback does to the database (strategy code-only, down or restore); a restore among rollback.steps discards every write made since the backup without counting them or asking',
    });
  return warnings;
}

const duration = (ms: number) => (ms < 120_000 ? `${+(ms / 1000).toFixed(1)} s` : `${+(ms / 60_000).toFixed(1)} min`);
