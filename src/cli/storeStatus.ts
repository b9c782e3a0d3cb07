import { loadPlanFile } from '../core/plan/load';
import { foldJournal } from '../core/model/releaseState';
import { latestRunId, loadRun } from '../core/engine/queries/runs';
import type { ReleaseStore } from '../core/store/storeTypes';
import { EXIT, type CliOptions } from './args';
import type { Io } from './io';
import { renderStatus } from './render';
import { followCommand } from './storeCommands';
import { holderText, runHolder } from '../core/engine/queries/sharedRuns';

/**
 * `status [RUN]` of a plan with a store, after the sync: the run as its journal says, and who holds it now
 * (live, or interrupted once its lease ran out); `--follow` prints its events as they reach the store.
 */
export async function storeStatusCommand(
  store: ReleaseStore,
  runArg: string | undefined,
  o: CliOptions,
  planFile: string,
  workspace: string,
  io: Io,
): Promise<number> {
  const runId = runArg ?? latestRunId(workspace);
  if (!runId) {
    io.err(`release-pilot: no release has run in ${workspace} or in the store ${store.where} yet`);
    return EXIT.failed;
  }
  if (o.follow) {
    const loaded = loadPlanFile(planFile);
    if (!loaded.ok) {
      io.err(`release-pilot: --follow reads the plan ${planFile}, which has problems (release-pilot validate names them)`);
      return EXIT.usage;
    }
    return followCommand(store, runId, loaded.plan, io);
  }
  const { state, events, live, torn, corrupt } = loadRun(workspace, runId);
  if (torn) io.err(`warning: the journal's last line is torn (a crash mid-write) and was ignored: ${torn}`);
  if (corrupt.length) io.err(`warning: journal lines ${corrupt.join(', ')} are damaged and were ignored`);
  let held;
  try {
    held = await runHolder(store, state);
  } catch (e) {
    io.err(`warning: ${(e as Error).message}; who holds the run now is not known`);
  }
  // A run held live on another machine: its running step runs there, it is not interrupted.
  io.out(renderStatus(held && !held.stale && !live ? foldJournal(events, { closed: false }) : state));
  if (held) io.out(holderText(held));
  return EXIT.released;
}
