import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { Plan } from '../../model/schema';
import { pathEntryProblem } from '../../model/schema-parts';
import { interpolate, type Scope } from '../../plan/scope';

/** The line of `key` in the plan's top-level `env` block, or undefined when it cannot be placed. */
function envKeyLine(planText: string, key: string): number | undefined {
  const lc = new LineCounter();
  const doc = parseDocument(planText.charCodeAt(0) === 0xfeff ? planText.slice(1) : planText, { lineCounter: lc, uniqueKeys: false });
  const env = doc.get('env', true);
  if (!isMap(env)) return undefined;
  const pair = env.items.find((p) => isScalar(p.key) && p.key.value === key);
  const at = isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
  return at === undefined ? undefined : lc.linePos(at).line;
}

/**
 * Why a release must not start with the plan's `PATH` as it resolves here, or undefined when every
 * entry is an absolute directory. The plan's text passed the same rule at load; a reference
 * (`${var.P}` holding `:/usr/bin`, `${env:PATH}` with an empty entry) can still bring an empty or a
 * relative entry, which bash reads as the folder a command runs in. The message names the entries by
 * position, never their text: a value read from `${env:…}` is masked everywhere, and stays so here.
 */
export function resolvedPathProblem(plan: Plan, planText: string, planRel: string, scope: Scope): string | undefined {
  const written = plan.env?.PATH;
  if (written === undefined) return undefined;
  let value: string;
  try {
    value = interpolate(written, scope);
  } catch {
    // An unset ${env:…} has its own refusal, with its line (unsetEnvReferences).
    return undefined;
  }
  const problems =
    value === ''
      ? ['it resolves to an empty value']
      : value.split(':').flatMap((entry, i, all) => {
          const why = pathEntryProblem(entry);
          return why ? [`entry ${i + 1} of ${all.length} ${why}`] : [];
        });
  if (problems.length === 0) return undefined;
  const line = envKeyLine(planText, 'PATH');
  const where = line === undefined ? planRel : `${planRel}:${line}`;
  return `PATH in the plan's env (${where}), written ${JSON.stringify(written)}, is not a list of absolute directories once resolved, so nothing was started: ${problems.join('; ')}. Give the plan variable or the environment variable it reads absolute directories only, separated by ":", such as /opt/app/bin:/usr/bin:/bin.`;
}
