// The scope itself (names, reference form, values) lives in plan/scope: validation reads it too.
export { interpolate, UnresolvedReferenceError, type Scope } from '../plan/scope';
import { secretSources } from './secrets';

/** Values the plan pulls from the environment, plus declared secret variables: all masked in every output. */
export function secretValues(planText: string, declared: string[], env: NodeJS.ProcessEnv): string[] {
  return secretSources(planText, declared, env).map((s) => s.value);
}
