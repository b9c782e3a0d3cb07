import { PHASE_TITLES, type PhaseId } from '../plan/schema';
import type { StepView } from '../base/fold';
import type { RunContext } from './context';
import { phaseGate } from './gates';
import type { FailureDecision } from './ports';
import { rollbackNow } from './rollbackRun';
import { retireUnits, unitsFor, type Unit } from './units';
import { runUnit } from './unitRun';

/** Runs one phase's units in order; a unit that passed or was waived before is not run again. */
export async function runPhase(c: RunContext, phase: PhaseId): Promise<'ok' | 'stop'> {
  const view = c.state.phases.find((p) => p.id === phase)!;
  if (view.state === 'passed' || view.state === 'skipped' || view.state === 'waived') return 'ok';
  const units = [...(phase === 'deploy' && c.state.retireInherited ? retireUnits(c.o.plan, c.state.retireInherited) : []), ...unitsFor(c.o.plan, phase)];
  if (units.length === 0) {
    c.append({ type: 'phase.finished', phase, outcome: 'skipped' });
    return 'ok';
  }
  const blocked = phaseGate(c.state, phase);
  if (blocked) {
    c.append({ type: 'gate.changed', gate: phase, state: 'blocked', message: blocked });
    c.append({ type: 'release.paused', message: blocked });
    return 'stop';
  }
  c.stopLatch.throwIfStopped();
  c.append({ type: 'phase.started', phase });
  c.log.info(`${PHASE_TITLES[phase]}`);
  let anyFailed = false;
  for (const unit of units) {
    const prev = c.state.steps[unit.key];
    if (prev && (prev.state === 'passed' || prev.state === 'waived')) continue;
    const r = await runUnitWithDecisions(c, unit);
    if (r === 'stop') return 'stop';
    if (r === 'failed-continue') anyFailed = true;
  }
  c.append({ type: 'phase.finished', phase, outcome: anyFailed ? 'failed' : 'passed' });
  return 'ok';
}

function productionTouched(c: RunContext): boolean {
  return c.state.phases.some(
    (p) => ['migration', 'deploy', 'config', 'verification', 'monitoring'].includes(p.id) && p.state !== 'pending' && p.state !== 'skipped',
  );
}

/** Runs a unit until it passes; a failure is decided by a person (or decided before the run). */
async function runUnitWithDecisions(c: RunContext, unit: Unit): Promise<'ok' | 'stop' | 'failed-continue'> {
  // A step that was running when its release died is not run again blindly: a person decides.
  let decided = c.o.decided?.[unit.key];
  const prevState = c.state.steps[unit.key]?.state;
  let interrupted = prevState === 'interrupted' || (prevState === 'failed' && decided !== undefined);
  for (;;) {
    if (c.rollbackRequest) return rollbackNow(c);
    c.stopLatch.throwIfStopped();
    if (!interrupted) {
      const res = await runUnit(c, unit);
      if (res === 'ok') return 'ok';
      if (res === 'stop') return 'stop';
    }
    interrupted = false;
    c.stopLatch.throwIfStopped();
    if (c.rollbackRequest) return rollbackNow(c);
    if (unit.kind !== 'monitor' && 'announce' in unit && unit.announce) return 'failed-continue';
    const step = c.state.steps[unit.key];
    if (unit.kind === 'health' && unit.rollbackOnFail) {
      c.rollbackRequest = { reason: `${step.name} failed: ${step.message}`, by: 'engine', at: c.clock.now(), trigger: 'step' };
      return rollbackNow(c);
    }
    const d =
      decided ?? (await c.stopLatch.race(c.o.prompter.onFailure({ step, unit, message: step.message ?? 'failed', rollbackAvailable: productionTouched(c) })));
    decided = undefined;
    const next = await applyDecision(c, unit, step, d);
    if (next !== 'retry') return next;
  }
}

/** Journals a person's answer to a failed step and acts on it. */
async function applyDecision(c: RunContext, unit: Unit, step: StepView, d: FailureDecision): Promise<'ok' | 'stop' | 'retry'> {
  c.append({ type: 'decision', action: d.action, by: c.user, reason: d.action === 'waive' ? d.reason : undefined, step: unit.key });
  if (d.action === 'retry') return 'retry';
  if (d.action === 'waive') {
    if (!d.reason.trim()) {
      c.append({ type: 'release.paused', step: unit.key, message: `${step.name} failed and a waiver needs a written reason` });
      return 'stop';
    }
    c.append({ type: 'step.waived', step: unit.key, by: c.user, reason: d.reason });
    return 'ok';
  }
  if (d.action === 'rollback') {
    c.rollbackRequest = { reason: `${step.name} failed: ${step.message}`, by: c.user, at: c.clock.now(), trigger: 'step' };
    return rollbackNow(c);
  }
  c.append({ type: 'release.paused', step: unit.key, message: `${step.name} failed: ${step.message}` });
  return 'stop';
}
