import { isFinal, type ReleaseState } from '../../model/releaseState';
import { readWorkspaceRuns, type RunsRead } from '../queries/liveState';
import { ErrorCodes } from '../../base/errors';

/** A run of this plan that has not reached an outcome: a new release must not start over it. */
export class UnresolvedRunError extends Error {
  override name = 'UnresolvedRunError';
  readonly code = ErrorCodes.UnresolvedRun;
  constructor(
    readonly runId: string,
    readonly state: ReleaseState,
  ) {
    super(unresolvedMessage(runId, state));
  }
}

function unresolvedMessage(runId: string, s: ReleaseState): string {
  const running = Object.values(s.steps).filter((st) => st.state === 'interrupted' || st.state === 'running');
  const failed = Object.values(s.steps).filter((st) => st.state === 'failed');
  const what = running.length
    ? `; "${running.map((st) => st.name).join('", "')}" was running when it stopped${running.some((st) => st.pid) ? ' (its processes may still run; resume, rollback or abandon ends them)' : ''}`
    : failed.length
      ? `; "${failed.at(-1)!.name}" failed`
      : '';
  const why = s.pausedAt ? ` (${s.pausedAt.message})` : '';
  return [
    `release ${s.name} ${s.version} (run ${runId}) is ${s.status}${why}${what}.`,
    'A new release does not start over an unresolved one. Go on with one of:',
    `  release-pilot resume ${runId}            continue it (--retry runs the interrupted step again)`,
    `  release-pilot rollback ${runId} --reason TEXT   roll it back`,
    `  release-pilot abandon ${runId} --reason TEXT    end it without rolling back (you handle production)`,
  ].join('\n');
}

/**
 * The newest run of this plan that no live process owns and that has no outcome (paused or
 * interrupted), or undefined. `ownRun` is skipped: it is the run being started.
 */
export function findUnresolvedRun(workspace: string, planRel: string, ownRun?: string): { runId: string; state: ReleaseState } | undefined {
  return unresolvedIn(readWorkspaceRuns(workspace), planRel, ownRun);
}

/**
 * `findUnresolvedRun` over runs read already, read with the plan's lock held (or with no live holder):
 * no other process runs any of them, so each is folded closed. A run that could not be read is an error:
 * it may be the unresolved one.
 */
export function unresolvedIn(read: RunsRead, planRel: string, ownRun?: string): { runId: string; state: ReleaseState } | undefined {
  for (const r of read.runs) {
    if (r.runId === ownRun) continue;
    if ('error' in r) throw r.error;
    const state = r.state;
    if (!state.runId || state.plan !== planRel) continue;
    if (!isFinal(state.status)) return { runId: r.runId, state };
  }
  return undefined;
}
