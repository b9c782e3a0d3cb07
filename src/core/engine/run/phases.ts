import { PHASE_TITLES, type PhaseId } from '../../model/schema';
import type { StepView } from '../../model/stateViews';
import type { RunContext } from './context';
import { phaseGate } from '../gates/runGates';
import type { FailureDecision } from './ports';
import { rollbackNow } from './rollbackRun';
import { markDatabase } from './dbRollback';
import { retireUnits, unitsFor, type Unit } from './phaseUnits';
import { runUnit } from './unitDispatch';
import { REASON_RULE, writtenReason } from '../gates/writtenReason';
import { transition } from '../../model/statusTransitions';

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
    transition(c, 'release.paused', { message: blocked });
    return 'stop';
  }
  c.stopLatch.throwIfStopped();
  c.append({ type: 'phase.started', phase });
  c.log.info(`${PHASE_TITLES[phase]}`);
  let anyFailed = false;
  for (const part of groups(units)) {
    const todo = part.filter((u) => !done(c, u));
    if (todo.length === 0) continue;
    const r = todo.length > 1 && fresh(c, todo) ? await runSideBySide(c, todo) : await runInOrder(c, todo);
    if (r === 'stop') return 'stop';
    if (r === 'failed-continue') anyFailed = true;
  }
  c.append({ type: 'phase.finished', phase, outcome: anyFailed ? 'failed' : 'passed' });
  // What "writes since the backup" is measured from: the database as the backup left it.
  if (phase === 'backup' && !anyFailed) await markDatabase(c);
  return 'ok';
}

const done = (c: RunContext, u: Unit) => ['passed', 'waived'].includes(c.state.steps[u.key]?.state ?? '');
const groupOf = (u: Unit) => ('group' in u ? u.group : undefined);
/** The target a unit runs for: the lane it belongs to in a batch. */
const laneOf = (u: Unit) => ('vars' in u && u.vars?.target) || u.key;

/** The units cut into runs of one group (a rolling batch's steps, or its health checks) and single units. */
function groups(units: Unit[]): Unit[][] {
  const out: Unit[][] = [];
  for (const u of units) {
    const last = out.at(-1);
    if (last && groupOf(u) !== undefined && groupOf(last[0]) === groupOf(u)) last.push(u);
    else out.push([u]);
  }
  return out;
}

/**
 * Whether a group may run side by side: none of its units ran before (a resume takes them one by one,
 * with decisions) and none asks first (one question at a time).
 */
const fresh = (c: RunContext, units: Unit[]) =>
  units.every((u) => c.state.steps[u.key] === undefined && c.o.decided?.[u.key] === undefined && !(u.kind === 'run' && u.step.production));

async function runInOrder(c: RunContext, units: Unit[]): Promise<'ok' | 'stop' | 'failed-continue'> {
  let anyFailed = false;
  for (const unit of units) {
    if (done(c, unit)) continue;
    const r = await runUnitWithDecisions(c, unit);
    if (r === 'stop') return 'stop';
    if (r === 'failed-continue') anyFailed = true;
  }
  return anyFailed ? 'failed-continue' : 'ok';
}

/**
 * A batch's targets side by side, each target's units in order; a target stops at its first failure.
 * Once every target has ended, the failures are decided one by one as any failed step is (a failed
 * health check of a rolling deploy rolls back), and each failed target goes on in order from there.
 */
async function runSideBySide(c: RunContext, units: Unit[]): Promise<'ok' | 'stop' | 'failed-continue'> {
  const lanes = new Map<string, Unit[]>();
  for (const u of units) lanes.set(laneOf(u), [...(lanes.get(laneOf(u)) ?? []), u]);
  const rest: Unit[][] = [];
  let stopped = false;
  const settled = await Promise.allSettled(
    [...lanes.values()].map(async (lane) => {
      for (let i = 0; i < lane.length; i++) {
        if (c.rollbackRequest || c.stopLatch.by || stopped) {
          rest.push(lane.slice(i));
          return;
        }
        const unit = lane[i];
        const r = await runUnit(c, unit);
        if (r === 'stop') stopped = true;
        // A target that fails its health check rolls the release back at once: the other targets'
        // checks stop at their next attempt instead of running out their retries first.
        if (r === 'failed' && unit.kind === 'health' && unit.rollbackOnFail) {
          const step = c.state.steps[unit.key];
          c.requestRollback({ reason: `${step.name} failed: ${step.message}`, by: 'engine', at: c.clock.now(), trigger: 'step' });
        }
        if (r !== 'ok') {
          rest.push(lane.slice(i));
          return;
        }
      }
    }),
  );
  const thrown = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (thrown) throw thrown.reason;
  if (c.rollbackRequest) return rollbackNow(c);
  c.stopLatch.throwIfStopped();
  if (stopped) return 'stop';
  let anyFailed = false;
  // In the plan's order: the first failed target is decided first.
  for (const lane of rest.sort((a, b) => units.indexOf(a[0]) - units.indexOf(b[0]))) {
    const [failed, ...after] = lane;
    const r = await runUnitWithDecisions(c, failed, c.state.steps[failed.key] !== undefined);
    if (r === 'stop') return 'stop';
    if (r === 'failed-continue') anyFailed = true;
    const next = await runInOrder(c, after);
    if (next === 'stop') return 'stop';
    if (next === 'failed-continue') anyFailed = true;
  }
  return anyFailed ? 'failed-continue' : 'ok';
}

function productionTouched(c: RunContext): boolean {
  return c.state.phases.some(
    (p) => ['migration', 'deploy', 'config', 'verification', 'monitoring'].includes(p.id) && p.state !== 'pending' && p.state !== 'skipped',
  );
}

/** Runs a unit until it passes; a failure is decided by a person (or decided before the run). */
async function runUnitWithDecisions(c: RunContext, unit: Unit, ranAlready = false): Promise<'ok' | 'stop' | 'failed-continue'> {
  // A step that was running when its release died is not run again blindly: a person decides.
  let decided = c.o.decided?.[unit.key];
  const prevState = c.state.steps[unit.key]?.state;
  // `ranAlready`: it just failed beside its batch, and its failure is decided now.
  let interrupted = ranAlready || prevState === 'interrupted' || (prevState === 'failed' && decided !== undefined);
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
      c.requestRollback({ reason: `${step.name} failed: ${step.message}`, by: 'engine', at: c.clock.now(), trigger: 'step' });
      return rollbackNow(c);
    }
    const d =
      decided ??
      (await c.stopLatch.race(c.o.prompter.onFailure({ step, unit, message: step.message ?? 'failed', rollbackAvailable: productionTouched(c) }), () => ({
        action: 'rollback' as const,
      })));
    decided = undefined;
    // Asked for elsewhere while the person was asked (the status bar): that request, with its reason, is the rollback.
    if (c.rollbackRequest) return rollbackNow(c);
    const next = await applyDecision(c, unit, step, d);
    if (next !== 'retry') return next;
  }
}

/** Journals a person's answer to a failed step and acts on it. */
async function applyDecision(c: RunContext, unit: Unit, step: StepView, d: FailureDecision): Promise<'ok' | 'stop' | 'retry'> {
  c.append({ type: 'decision', action: d.action, by: c.user, reason: d.action === 'waive' ? d.reason : undefined, step: unit.key });
  if (d.action === 'retry') return 'retry';
  if (d.action === 'waive') {
    const reason = writtenReason(d.reason);
    if (!reason) {
      transition(c, 'release.paused', { step: unit.key, message: `${step.name} failed and a waiver needs a written reason: ${REASON_RULE}` });
      return 'stop';
    }
    c.append({ type: 'step.waived', step: unit.key, by: c.user, reason });
    return 'ok';
  }
  if (d.action === 'rollback') {
    c.requestRollback({ reason: `${step.name} failed: ${step.message}`, by: c.user, at: c.clock.now(), trigger: 'step' });
    return rollbackNow(c);
  }
  transition(c, 'release.paused', { step: unit.key, message: `${step.name} failed: ${step.message}` });
  return 'stop';
}
