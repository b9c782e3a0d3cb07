import * as os from 'node:os';
import { foldJournal, type ReleaseState } from '../../model/releaseState';
import { signalRecorded } from '../../exec/signal';
import type { RunInputs } from '../../base/inputs';
import type { RunContext } from './context';
import type { EngineOptions } from './ports';
import { liveState } from '../queries/liveState';
import { planHash } from '../gates/planIdentity';
import { transition } from '../../model/statusTransitions';

/** The facts a new run's journal starts with. */
export function startedEvent(
  o: EngineOptions,
  c: RunContext,
  facts: {
    planRel: string;
    version: string;
    previous?: { version: string; source: string; uncertain?: string };
    commit?: string;
    clean?: boolean;
    redeployOf?: { runId: string; tagCommit?: string };
    inputs?: RunInputs;
  },
) {
  return {
    runId: c.runId,
    plan: facts.planRel,
    name: o.plan.release.name,
    version: facts.version,
    environment: o.plan.release.environment,
    user: c.user,
    host: os.hostname(),
    pid: process.pid,
    planHash: planHash(o.planText),
    ...(facts.previous ? { previousVersion: facts.previous.version, previousVersionFrom: facts.previous.source } : {}),
    ...(facts.previous?.uncertain ? { previousVersionUncertain: facts.previous.uncertain } : {}),
    ...(facts.commit ? { commit: facts.commit } : {}),
    ...(facts.clean !== undefined ? { clean: facts.clean } : {}),
    ...(facts.redeployOf ? { redeployOf: facts.redeployOf } : {}),
    ...(facts.inputs ? { inputs: facts.inputs } : {}),
  };
}

/**
 * What a reopened journal says with nobody running it, made facts: interrupted steps (and the
 * processes they left), an unfinished rollback, a plan changed since the start.
 */
export function recordReopenFacts(c: RunContext, planText: string, torn: boolean): void {
  // What the journal says with nobody running it: the steps that were running are interrupted.
  const closed = foldJournal(c.events, { closed: true });
  if (torn) c.append({ type: 'warning', message: 'the journal ended in a torn line (a crash mid-write); that line was dropped' });
  for (const st of Object.values(closed.steps)) {
    if (st.state !== 'interrupted') continue;
    c.append({ type: 'step.interrupted', step: st.key, message: st.message ?? 'interrupted' });
    // The group only once proven the step's; those that left it (setsid, setpgid, a subshell's child handed to init) by the step's mark.
    const { group, marked, contained, refused } = signalRecorded({ pid: st.pid, start: st.start, mark: st.mark }, 'SIGKILL');
    if (refused) c.append({ type: 'warning', message: `the interrupted step "${st.name}": ${refused}` });
    const ended = [
      group !== undefined ? `process group ${group}` : '',
      marked ? `${marked} process(es) outside it` : '',
      contained ? `${contained} process(es) in its cgroup` : '',
    ];
    if (ended.some(Boolean))
      c.append({ type: 'warning', message: `ended the processes left running by the interrupted step "${st.name}" (${ended.filter(Boolean).join(' and ')})` });
  }
  // A rollback that waits for a person before its restore (paused) did not stop half way: it waits.
  if (c.state.lifecycle === 'rolling-back' || c.state.lifecycle === 'restore-held') {
    transition(c, 'rollback.finished', { outcome: 'rollback-failed', message: 'the rollback was interrupted before it finished' });
    transition(c, 'release.finished', { outcome: 'rollback-failed', message: 'the rollback was interrupted before it finished; roll back again' });
  }
  // The process ended after the rollback's outcome and before the release's: the release ends as its rollback did.
  const rb = c.state.rollback;
  if (rb?.outcome && c.state.lifecycle === `rollback-ended:${rb.outcome}`)
    transition(c, 'release.finished', {
      outcome: rb.outcome,
      message:
        rb.outcome === 'rolled-back'
          ? `rolled back: ${rb.reason} (its outcome is recorded on reopening: the process ended before it was)`
          : 'the rollback failed and the process ended before it was recorded; roll back again',
    });
  const started = c.events.find((e) => e.type === 'release.started');
  if (started && started.type === 'release.started' && started.planHash !== planHash(planText))
    c.append({ type: 'warning', message: 'the plan changed since this release started; the current plan is used, unless the run has environment gates' });
}

/**
 * The old colour the serving run kept up for its rollback, which the new run retires before it
 * deploys: what `liveState` says, so a run rolled back, or one whose switch may not have happened, hands none on.
 */
export function oldColourKept(o: EngineOptions, runs: readonly ReleaseState[]): { from: string; active: string; idle: string } | undefined {
  if (!o.plan.phases.deploy.blueGreen?.retire.length) return undefined;
  return liveState(o.workspace, o.plan, undefined, runs).keptColour;
}
