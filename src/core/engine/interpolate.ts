// The scope itself (names, reference form, values) lives in plan/scope: validation reads it too.
export { interpolate, UnresolvedReferenceError, type Scope } from '../plan/scope';

/** Values the plan pulls from the environment, plus declared secret variables: all masked in every output. */
export function secretValues(planText: string, declared: string[], env: NodeJS.ProcessEnv): string[] {
  const names = new Set(declared);
  for (const m of planText.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)) names.add(m[1]);
  return [...names].map((n) => env[n]).filter((v): v is string => typeof v === 'string' && v.length > 0);
}
