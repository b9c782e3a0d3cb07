import { unmaskableReason } from '../exec/mask';

export interface SecretSource {
  name: string;
  value: string;
}

/** The environment variables whose values are masked in every output: each `${env:NAME}` the plan reads, and the declared secrets. */
export function secretSources(planText: string, declared: string[], env: NodeJS.ProcessEnv): SecretSource[] {
  const names = new Set(declared);
  for (const m of planText.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)) names.add(m[1]);
  return [...names].flatMap((name) => (typeof env[name] === 'string' && env[name] !== '' ? [{ name, value: env[name] }] : []));
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
