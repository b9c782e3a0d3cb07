// The scope itself (names, reference form, values) lives in plan/scope: validation reads it too.
export { interpolate, UnresolvedReferenceError, type Scope } from '../plan/scope';
import type { Plan } from '../model/schema';
import { secretSources } from './secrets';

/** Values the plan pulls from the environment, plus declared secret variables: all masked in every output. */
export function secretValues(planText: string, plan: Pick<Plan, 'secrets' | 'notSecret'>, env: NodeJS.ProcessEnv): string[] {
  return secretSources(planText, plan, env).map((s) => s.value);
}
