import type { Plan } from '../model/schema';
import type { Environment } from '../model/schema-environments';
export type { Environment } from '../model/schema-environments';

/** The environment names of a plan, as written. */
export const environmentNames = (plan: Plan): string[] => Object.keys(plan.environments ?? {});

/** The environment of a plan with environments, found without case; undefined when it has none of that name. */
export function environmentOf(plan: Plan, name: string): { name: string; env: Environment } | undefined {
  const key = environmentNames(plan).find((n) => n.toLowerCase() === name.trim().toLowerCase());
  return key === undefined ? undefined : { name: key, env: plan.environments![key] };
}

/**
 * The plan as one environment runs it: `release.environment` is its name, its variables, production flag and
 * monitoring window over the shared ones. Every rule keyed on the environment (the same version already out,
 * resume under another environment) then holds per environment.
 */
export function planForEnvironment(plan: Plan, name: string | undefined): { ok: true; plan: Plan } | { ok: false; message: string } {
  const names = environmentNames(plan);
  if (!names.length) {
    if (name === undefined || name.trim().toLowerCase() === plan.release.environment.toLowerCase()) return { ok: true, plan };
    return { ok: false, message: `the plan has no environments: section; it releases to ${plan.release.environment} only (got --env ${name})` };
  }
  if (name === undefined) return { ok: false, message: `the plan has several environments; name one with --env: ${names.join(', ')}` };
  const found = environmentOf(plan, name);
  if (!found) return { ok: false, message: `the plan has no environment ${JSON.stringify(name)}; expected one of: ${names.join(', ')}` };
  const e = found.env;
  return {
    ok: true,
    plan: {
      ...plan,
      release: { ...plan.release, environment: found.name, ...(e.production !== undefined ? { production: e.production } : {}) },
      variables: { ...plan.variables, ...e.variables },
      monitoring: {
        ...plan.monitoring,
        ...(e.monitoring?.window !== undefined ? { window: e.monitoring.window } : {}),
        ...(e.monitoring?.shortWindowReason !== undefined ? { shortWindowReason: e.monitoring.shortWindowReason } : {}),
      },
    },
  };
}

/** The settings of the environment a plan (already resolved by planForEnvironment) runs in, if it declares it. */
export const currentEnvironment = (plan: Plan): Environment | undefined => environmentOf(plan, plan.release.environment)?.env;

/** The freeze window that holds `now` (the first in plan order), if any. */
export function freezeAt(env: Environment, now: number): Environment['freeze'][number] | undefined {
  return env.freeze.find((w) => Date.parse(w.from) <= now && now < Date.parse(w.to));
}

/** The plan for a run of `environment` when the plan has it; else the plan as written (whose rules then judge the run). */
export function planForRun(plan: Plan, environment: string | undefined): Plan {
  const r = environment === undefined || !environmentOf(plan, environment) ? undefined : planForEnvironment(plan, environment);
  return r?.ok ? r.plan : plan;
}

/** Whether an environment declares a gate of its own: a freeze window, a promotion or approvals. */
export const hasGates = (env: Environment | undefined): boolean =>
  !!env && (env.freeze.length > 0 || env.requires !== undefined || env.approvals !== undefined);

/**
 * Which environment's gates the views check between runs: the one checked last (or just approved),
 * else the last run's if it declares gates, else the one that requires a release to the last run's
 * environment (staging released: production is what a person waits for). Undefined: none to check.
 */
export function environmentToCheck(
  plan: Plan,
  last: { environment: string; version: string } | undefined,
  checked?: { environment: string; version: string },
): { environment: string; version: string } | undefined {
  if (checked) return checked;
  if (!last) return undefined;
  const own = environmentOf(plan, last.environment);
  if (own && hasGates(own.env)) return { environment: own.name, version: last.version };
  const next = environmentNames(plan).find((n) => plan.environments![n].requires?.released.toLowerCase() === last.environment.toLowerCase());
  return next === undefined ? undefined : { environment: next, version: last.version };
}
