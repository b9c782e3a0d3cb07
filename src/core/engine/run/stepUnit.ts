import type { RunContext } from './context';
import { execStep, outputCapBytes } from './stepExec';
import type { Unit } from './phaseUnits';
import { transition } from '../../model/statusTransitions';
import { isProduction } from '../../plan/warnings';

/** The phases whose steps act on production. */
const PRODUCTION_PHASES: readonly string[] = ['migration', 'deploy', 'config'];

type Outcome = 'ok' | 'failed' | 'stop';

/** A plan step: a production one is confirmed first, naming the environment and the command. */
export async function runStepUnit(c: RunContext, unit: Extract<Unit, { kind: 'run' }>, name: string, extra: Record<string, string>): Promise<Outcome> {
  const s = unit.step;
  const command = c.resolve(s.run, extra);
  const env = c.stepEnv(s, extra);
  // Another machine must see a production step start: a run whose store cannot record it pauses first (resumable).
  if (c.store && (s.production || (isProduction(c.o.plan) && PRODUCTION_PHASES.includes(unit.phase))) && !(await c.store.recorded())) {
    transition(c, 'release.paused', {
      step: unit.key,
      message: `the release store cannot record that the production step "${name}" starts: paused before it (resume when the store is back; the resume publishes the journal first)`,
    });
    return 'stop';
  }
  if (
    s.production &&
    !(await c.stopLatch.race(
      c.o.prompter.confirm(`Run the production step "${name}" on ${c.o.plan.release.environment}?\n${c.masker.mask(command)}`, {
        step: unit.key,
      }),
      () => false,
    ))
  ) {
    // A rollback asked for while the person was asked: the step does not run, the rollback does.
    if (c.rollbackRequest) return 'failed';
    transition(c, 'release.paused', { step: unit.key, message: `production step "${name}" was not confirmed` });
    return 'stop';
  }
  // The step runs the command as resolved; the journal and every front end see it masked (append masks).
  const linePrefix = unit.group && extra.target ? `[${extra.target}] ` : undefined;
  const r = await execStep(c, unit.key, unit.phase, name, command, {
    cwd: s.cwd,
    env,
    timeoutMs: s.timeout,
    linePrefix,
    outputCap: outputCapBytes(s.outputCapMiB),
  });
  return r.ok ? 'ok' : 'failed';
}
