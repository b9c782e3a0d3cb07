import { inputText, inputValue, sameInput, type InputValue, type RunInputs } from '../../base/inputs';
import type { Plan } from '../../model/schema';

export { journaledInputsDigest } from '../../base/inputs';

/** What a front end was given beyond the plan: `--var` overrides, and the ticks and waivers it answers with. */
export interface GivenInputs {
  vars?: Record<string, string>;
  ticks?: readonly string[];
  waivers?: Readonly<Record<string, string>>;
}

/** The inputs a new run journals at its start; `secret` tells a value that holds a secret (kept by hash only). */
export function startInputs(plan: Plan, given: GivenInputs, secret: (v: string) => boolean): RunInputs {
  const vars = given.vars ?? {};
  const keep = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]): [string, InputValue] => [k, inputValue(v, secret)]));
  return {
    overrides: keep(vars),
    variables: keep({ ...plan.variables, ...vars }),
    ...(given.ticks?.length ? { ticks: [...given.ticks] } : {}),
    ...(given.waivers && Object.keys(given.waivers).length ? { waivers: { ...given.waivers } } : {}),
  };
}

export type ResumedInputs = { ok: true; vars: Record<string, string> } | { ok: false; message: string };

/**
 * The variable values a reopened run goes on with: exactly those it started with. A value given again
 * (`--var`) must be the one the run started with; a secret is proved by its hash, and must be given
 * again (or be the plan's) since the journal does not hold it. `kept` undefined (a journal from
 * before inputs were kept): what is given, as then.
 */
export function resumedInputs(
  runId: string,
  kept: RunInputs | undefined,
  plan: Plan,
  given: Record<string, string> | undefined,
  secret: (v: string) => boolean,
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
  if (problems.length === 0) return { ok: true, vars };
  return {
    ok: false,
    message: `a run resumes with exactly the inputs it started with, so run ${runId} does not go on: ${problems.join('; ')}. Resume without --var (or with the values it started with), or abandon it and start a new release`,
  };
}
