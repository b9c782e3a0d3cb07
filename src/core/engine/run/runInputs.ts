import { inputText, inputValue, sameInput, type DecidingInputs, type InputValue, type RunInputs } from '../../base/inputs';
import type { Plan } from '../../model/schema';
import { envReferences } from '../../plan/load';
import { SecretMasker } from '../../exec/mask';
import { secretValues } from '../gates/secrets';

const keep = (o: Readonly<Record<string, string>>, secret: (v: string) => boolean) =>
  Object.fromEntries(Object.entries(o).map(([k, v]): [string, InputValue] => [k, inputValue(v, secret)]));

/** The `${env:NAME}` the plan's text reads, with their values in `env` (one unset is left out). */
export function readEnvValues(planText: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const names = [...new Set(envReferences(planText).map((r) => r.name))];
  return Object.fromEntries(names.flatMap((n) => (typeof env[n] === 'string' ? [[n, env[n]]] : [])));
}

/**
 * The inputs that decide what ships, as a release started here and now with `vars` would journal them: what
 * `approve` binds (from the approver's own environment) and what the views judge the gates with.
 */
export function inputsNow(plan: Plan, planText: string, vars: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv): DecidingInputs {
  const masker = new SecretMasker(secretValues(planText, plan, env));
  const secret = (v: string) => masker.mask(v) !== v;
  return { overrides: keep(vars, secret), env: keep(readEnvValues(planText, env), secret) };
}

/** What a front end was given beyond the plan: `--var` overrides, the `${env:NAME}` values the plan reads, and the ticks and waivers it answers with. */
export interface GivenInputs {
  vars?: Record<string, string>;
  env?: Record<string, string>;
  ticks?: readonly string[];
  waivers?: Readonly<Record<string, string>>;
}

/** The inputs a new run journals at its start; `secret` tells a value that holds a secret (kept by hash only). */
export function startInputs(plan: Plan, given: GivenInputs, secret: (v: string) => boolean): RunInputs {
  const vars = given.vars ?? {};
  return {
    overrides: keep(vars, secret),
    env: keep(given.env ?? {}, secret),
    variables: keep({ ...plan.variables, ...vars }, secret),
    ...(given.ticks?.length ? { ticks: [...given.ticks] } : {}),
    ...(given.waivers && Object.keys(given.waivers).length ? { waivers: { ...given.waivers } } : {}),
  };
}

export type ResumedInputs = { ok: true; vars: Record<string, string> } | { ok: false; message: string };

/**
 * The variable values a reopened run goes on with: exactly those it started with. A value given again
 * (`--var`) must be the one the run started with; a secret is proved by its hash, and must be given
 * again (or be the plan's) since the journal does not hold it. Every `${env:NAME}` the run started with
 * must have the same value in `env` now (a secret proved by its hash). `kept` undefined (a journal from
 * before inputs were kept): what is given, as then.
 */
export function resumedInputs(
  runId: string,
  kept: RunInputs | undefined,
  plan: Plan,
  given: Record<string, string> | undefined,
  secret: (v: string) => boolean,
  env: Readonly<Record<string, string>> = {},
): ResumedInputs {
  if (!kept) return { ok: true, vars: { ...given } };
  const vars: Record<string, string> = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(given ?? {})) {
    const was = kept.variables[name];
    if (!was) problems.push(`${name}: run ${runId} started without it, this resume gives ${inputText(inputValue(value, secret))}`);
    else if (!sameInput(was, value))
      problems.push(`${name}: run ${runId} started with ${inputText(was)}, this resume gives ${inputText(inputValue(value, secret))}`);
  }
  for (const [name, was] of Object.entries(kept.variables)) {
    if ('value' in was) vars[name] = was.value;
    else if (given?.[name] !== undefined && sameInput(was, given[name])) vars[name] = given[name];
    else if (plan.variables[name] !== undefined && sameInput(was, plan.variables[name])) vars[name] = plan.variables[name];
    else if (given?.[name] === undefined)
      problems.push(`${name}: run ${runId} started with ${inputText(was)}, which the journal does not hold; give it again (--var ${name}=…)`);
  }
  const envProblems: string[] = [];
  for (const [name, was] of Object.entries(kept.env ?? {})) {
    if (env[name] === undefined) envProblems.push(`\${env:${name}}: run ${runId} started with ${inputText(was)}, it is not set now`);
    else if (!sameInput(was, env[name]))
      envProblems.push(`\${env:${name}}: run ${runId} started with ${inputText(was)}, it is ${inputText(inputValue(env[name], secret))} now`);
  }
  if (kept.env)
    for (const name of Object.keys(env))
      if (!(name in kept.env)) envProblems.push(`\${env:${name}}: run ${runId} started without it, it is ${inputText(inputValue(env[name], secret))} now`);
  if (problems.length === 0 && envProblems.length === 0) return { ok: true, vars };
  return {
    ok: false,
    message: `a run resumes with exactly the inputs it started with, so run ${runId} does not go on: ${[...problems, ...envProblems].join('; ')}. ${problems.length ? 'Resume without --var (or with the values it started with)' : 'Restore the environment values it started with and resume again'}, or abandon it and start a new release`,
  };
}
