import { unmaskableReason } from '../../exec/mask';
import { envReferences } from '../../plan/load';
import type { Plan } from '../../model/schema';

export interface SecretSource {
  name: string;
  value: string;
}

/**
 * The environment variables whose values are masked in every output: each `${env:NAME}` the plan
 * reads, but those it says are not secret (`notSecret:`), and every declared secret.
 */
export function secretSources(planText: string, plan: Pick<Plan, 'secrets' | 'notSecret'>, env: NodeJS.ProcessEnv): SecretSource[] {
  const names = new Set<string>();
  const notSecret = new Set(plan.notSecret);
  for (const m of planText.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)) if (!notSecret.has(m[1])) names.add(m[1]);
  for (const n of plan.secrets) names.add(n);
  return [...names].flatMap((name) => (typeof env[name] === 'string' && env[name] !== '' ? [{ name, value: env[name] }] : []));
}

/** Values the plan pulls from the environment, plus declared secret variables: all masked in every output. */
export function secretValues(planText: string, plan: Pick<Plan, 'secrets' | 'notSecret'>, env: NodeJS.ProcessEnv): string[] {
  return secretSources(planText, plan, env).map((s) => s.value);
}

/**
 * Why a release must not start with these values, naming each variable (never its value), or
 * undefined when every one can be masked.
 */
export function unmaskableSecrets(sources: SecretSource[]): string | undefined {
  const problems = sources.flatMap(({ name, value }) => {
    const why = unmaskableReason(value);
    return why ? [`${name}: ${why}`] : [];
  });
  if (problems.length === 0) return undefined;
  return `${problems.length === 1 ? 'a secret cannot' : `${problems.length} secrets cannot`} be masked safely, so the release does not start: ${problems.join('; ')}. Every environment variable the plan reads as \${env:NAME}, and every name under secrets:, is masked in every output; give a longer value, or pass a value that is not secret as a plan variable (variables: or --var NAME=VALUE).`;
}

/**
 * Why a release must not start or resume: the environment variables the plan reads as
 * `${env:NAME}` that are not set, each with its line, or undefined when every one is set (an empty
 * value is a value). Without this, the first step that reads one would fail mid-release.
 */
export function unsetEnvReferences(planText: string, planRel: string, env: NodeJS.ProcessEnv, refs = envReferences(planText)): string | undefined {
  const unset = new Map<string, number[]>();
  for (const r of refs) if (typeof env[r.name] !== 'string') unset.set(r.name, [...(unset.get(r.name) ?? []), r.line]);
  if (unset.size === 0) return undefined;
  const list = [...unset].map(([name, lines]) => `${name} (${planRel}:${lines.join(', ')})`);
  return `${unset.size === 1 ? 'an environment variable the plan reads is' : `${unset.size} environment variables the plan reads are`} not set, so nothing was started: ${list.join('; ')}. Set ${unset.size === 1 ? 'it' : 'them'} in the environment VS Code or the command line runs in, or remove the \${env:…} reference.`;
}

/** A value the journal records as it is (never masked), and what the refusal calls it. */
export interface RecordedFact {
  what: string;
  value: string | undefined;
}

/**
 * Why a release must not start: a masked value that the journal's own record holds (the version,
 * the commit, full or short, the run id, a name), naming each variable and what it collides with
 * (never the value), or undefined when none does. Masked there, the record would change (history,
 * `${release.previousVersion}`, the "already released" check); left as it is, it would show the secret.
 */
export function collidingSecrets(sources: SecretSource[], facts: RecordedFact[]): string | undefined {
  const problems = sources.flatMap(({ name, value }) => {
    const v = value.trim();
    const hit = facts.filter((f) => f.value && v && f.value.includes(v)).map((f) => f.what);
    return hit.length > 0 ? [`${name} is the same as ${[...new Set(hit)].join(' and ')}`] : [];
  });
  if (problems.length === 0) return undefined;
  return `${problems.length === 1 ? 'a value that would be masked is' : `${problems.length} values that would be masked are`} part of what the journal records as it is, so the release does not start: ${problems.join('; ')}. Masking it would rewrite that record, and showing it would show the secret. If the value is not secret (an image tag, a commit from CI), list the variable under notSecret: in the plan; otherwise give the secret another value.`;
}

/** Keys whose values are the plan's own ids and names, which the journal records as they are. */
const IDENTIFIER_KEYS = new Set(['name', 'id']);
/** Keys whose lists are ids: a blue-green colour, a rolling target. */
const IDENTIFIER_LISTS = new Set(['colors', 'targets']);

/**
 * Every id and name the plan gives (a step's name, a checklist item's or a metric's id, a colour, a
 * target, an environment), each called by where it is in the plan (`phases.deploy.steps.0.name`):
 * the journal records them as they are, so a secret that holds one is refused, not masked.
 */
export function planIdentifiers(plan: unknown): RecordedFact[] {
  const out: RecordedFact[] = [];
  const walk = (v: unknown, at: string[]) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...at, String(i)]));
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const here = [...at, k];
        if (typeof x === 'string' && IDENTIFIER_KEYS.has(k)) out.push({ what: `the plan's ${here.join('.')}`, value: x });
        if (Array.isArray(x) && IDENTIFIER_LISTS.has(k))
          (x as unknown[]).forEach((id, i) => typeof id === 'string' && out.push({ what: `the plan's ${[...here, i].join('.')}`, value: id }));
        if (k === 'environments' && at.length === 0 && x && typeof x === 'object')
          for (const env of Object.keys(x)) out.push({ what: `the plan's environments.${env}`, value: env });
        walk(x, here);
      }
    }
  };
  walk(plan, []);
  return out;
}
