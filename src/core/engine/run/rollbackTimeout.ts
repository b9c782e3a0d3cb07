import { describeResult } from '../../exec/runner';
import type { Step } from '../../model/schema';
import type { RunContext } from './context';
import { execStep, outputCapBytes } from './stepExec';

/** A rollback step's timeout: its own, or what is left of the budget (never less than a second). */
export function rollbackStepTimeout(own: number | undefined, budgetMs: number, elapsedMs: number): number {
  return own ?? Math.max(1000, budgetMs - elapsedMs);
}

/**
 * Steps of a rollback (its code steps, or a database's `down` or `restore`), in order, each with what
 * is left of the rollback's budget and its own output cap; returns where one failed. `first` runs before
 * the first step is resolved (a rollback has started once it tries); `logged` reads each step's log.
 */
export async function runRollbackSteps(
  c: RunContext,
  steps: readonly Step[],
  o: { id: (i: number) => string; what: string; requestedAt: number; first?: () => void; logged?: (log: string) => void },
): Promise<string | undefined> {
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    let command: string;
    let name: string;
    try {
      command = c.resolve(s.run);
      name = c.resolve(s.name ?? s.run);
    } catch (e) {
      if (i === 0) o.first?.();
      return `${o.what} ${i + 1}: ${(e as Error).message}`;
    }
    if (i === 0) o.first?.();
    const timeoutMs = rollbackStepTimeout(s.timeout, c.o.plan.rollback.budget, c.clock.now() - o.requestedAt);
    const r = await execStep(c, o.id(i), 'rollback', name, command, { cwd: s.cwd, env: c.stepEnv(s), timeoutMs, outputCap: outputCapBytes(s.outputCapMiB) });
    o.logged?.(r.log);
    if (!r.ok) return `${name}: ${describeResult(r.result)}`;
  }
  return undefined;
}
