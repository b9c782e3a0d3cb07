import type { Plan } from '../../model/schema';
import { isFinal, rollbackOpenUntil, type ReleaseState } from '../../model/releaseState';
import { loadRun, runIds } from '../queries/runs';
import { sameName } from '../../model/names';

/** A later run of the same service and environment that deployed: rolling an earlier run back would undo it. */
export interface SupersedingRun {
  runId: string;
  version: string;
  status: string;
  startedAt: string;
}

/** What a person is asked before a rollback of a finished release starts. */
export interface RollbackQuestion {
  message: string;
  /** Set when the rollback window has closed: the confirmation has to name it (CLI: --late). */
  lateByMs?: number;
  /** Set when the rollback is forced over a newer run. */
  forcedOver?: string;
}

export type RollbackAdmission = { ok: false; refusal: string; supersededBy?: SupersedingRun } | { ok: true; question: RollbackQuestion };

/** "12 min", "40 s", "2 h 5 min": how late, in words a person reads at a glance. */
export function spanText(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * Later runs of this workspace whose deploy started. An aborted or gated run that never reached
 * production does not supersede anything.
 */
export function supersedingRuns(workspace: string, s: ReleaseState): SupersedingRun[] {
  const out: SupersedingRun[] = [];
  for (const id of runIds(workspace)) {
    if (id === s.runId) continue;
    let other: ReleaseState;
    try {
      other = loadRun(workspace, id).state;
    } catch {
      continue;
    }
    if (!other.startedAt || Date.parse(other.startedAt) <= Date.parse(s.startedAt) || !other.deployStartedAt) continue;
    // A run to another environment (or of another service) deployed elsewhere: it undoes nothing here.
    if (!sameName(other.environment, s.environment) || !sameName(other.name, s.name)) continue;
    out.push({ runId: other.runId || id, version: other.version, status: other.status, startedAt: other.startedAt });
  }
  return out.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
}

/**
 * Whether a rollback of this (reopened, finished or paused) release may start, and what to ask.
 * A closed window never refuses: it makes the question name how late the rollback is.
 */
export function rollbackAdmission(s: ReleaseState, plan: Plan, now: number, newer: SupersedingRun[], force: boolean): RollbackAdmission {
  const until = rollbackOpenUntil(s, plan.rollback.deadline, plan.monitoring.window);
  if (!until)
    return { ok: false, refusal: s.deployStartedAt ? `nothing to roll back: the release is ${s.status}` : 'nothing to roll back: the deploy has not started' };
  const what = `${s.name} ${s.version} on ${s.environment} (run ${s.runId})`;
  const newest = newer[0];
  if (newest && !force) {
    return {
      ok: false,
      supersededBy: newest,
      refusal: `run ${s.runId} was superseded by the newer run ${newest.runId} (${newest.version}, ${newest.status}): rolling it back would undo that run's work (its backup is older, its colours are not today's); roll back ${newest.runId} instead, or force this one with a written reason`,
    };
  }
  const lines = [`Roll back ${what}?`];
  if (newest) lines.push(`FORCED over the newer run ${newest.runId} (${newest.version}, ${newest.status}).`);
  let lateByMs: number | undefined;
  if (isFinal(s.status) && s.status !== 'rollback-failed' && now > Date.parse(until)) {
    lateByMs = now - Date.parse(until);
    lines.push(`The rollback window closed ${spanText(lateByMs)} ago (at ${until}); the rollback steps may meet a production that moved on since.`);
  }
  lines.push(`${plan.rollback.steps.length} rollback step(s), budget ${spanText(plan.rollback.budget)}.`);
  return { ok: true, question: { message: lines.join('\n'), lateByMs, forcedOver: newest?.runId } };
}
