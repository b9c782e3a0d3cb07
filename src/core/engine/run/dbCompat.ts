import { describeResult } from '../../exec/runner';
import { compatText } from '../../model/dbStrategyText';
import type { RunContext } from './context';
import { execStep, outputCapBytes } from './stepExec';

/** The compat check's steps in order; where one failed, or undefined when all passed. */
async function runCompatSteps(c: RunContext): Promise<string | undefined> {
  const steps = c.o.plan.rollback.database?.compatCheck ?? [];
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const name = c.resolve(s.name ?? s.run);
    const r = await execStep(c, `staging/compat${i}`, 'staging', name, c.resolve(s.run), {
      cwd: s.cwd,
      env: c.stepEnv(s),
      timeoutMs: s.timeout,
      outputCap: outputCapBytes(s.outputCapMiB),
    });
    if (!r.ok) return `${name}: ${describeResult(r.result)}`;
  }
  return undefined;
}

/**
 * The previous version's smoke test on the migrated staging schema, once per release, journaled.
 * Passed: `code-only` is proven. Failed: with `code-only` the gate before production refuses (see
 * phaseGate); with `down` or `restore` a person confirms going on, knowing what a rollback needs.
 */
export async function compatCheck(c: RunContext): Promise<'ok' | 'stop'> {
  const d = c.o.plan.rollback.database;
  if (!d?.compatCheck) return 'ok';
  if (!c.state.compat) {
    const failed = await runCompatSteps(c);
    c.append({ type: 'database.compat', strategy: d.strategy, ok: !failed, previousVersion: c.state.previousVersion ?? '', message: failed ?? '' });
  }
  const compat = c.state.compat!;
  if (compat.ok || d.strategy === 'code-only') return 'ok';
  if (c.events.some((e) => e.type === 'decision' && e.reason === 'compat')) return 'ok';
  const question = `${compatText(compat)}.\nGo on to ${c.o.plan.release.environment}?`;
  const go = await c.stopLatch.race(c.o.prompter.confirm(question));
  if (!go) return c.abort(compatText(compat)) || 'stop';
  c.append({ type: 'decision', action: 'continue', by: c.user, reason: 'compat' });
  return 'ok';
}
