import { PLAN_REF_RE } from '../plan/load';
import { secretSources } from './secrets';

export interface Scope {
  env: NodeJS.ProcessEnv;
  vars: Record<string, string>;
  builtins: Record<string, string | undefined>;
}

export class UnresolvedReferenceError extends Error {
  override name = 'UnresolvedReferenceError';
}

/** Resolves the plan's `${...}` references; `${...}` forms the plan does not own are left to the shell. */
export function interpolate(text: string, scope: Scope): string {
  return text.replace(PLAN_REF_RE, (_m, ref: string) => {
    if (ref.startsWith('env:')) {
      const v = scope.env[ref.slice(4)];
      if (v === undefined) throw new UnresolvedReferenceError(`environment variable ${ref.slice(4)} is not set (referenced as \${${ref}})`);
      return v;
    }
    if (ref.startsWith('var.')) {
      const v = scope.vars[ref.slice(4)];
      if (v === undefined) throw new UnresolvedReferenceError(`unknown variable \${${ref}}`);
      return v;
    }
    const v = scope.builtins[ref];
    if (v === undefined) throw new UnresolvedReferenceError(`\${${ref}} has no value yet at this point of the release`);
    return v;
  });
}

/** Values the plan pulls from the environment, plus declared secret variables: all masked in every output. */
export function secretValues(planText: string, declared: string[], env: NodeJS.ProcessEnv): string[] {
  return secretSources(planText, declared, env).map((s) => s.value);
}
