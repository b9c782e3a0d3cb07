import type { ReleaseState, ReleaseStatus } from '../../model/releaseState';
import type { Plan } from '../../model/schema';
import { loadRun, runIds, runsStamp } from './runs';
import { sameName } from '../../model/names';

/**
 * How a run's ending bears on what serves in its environment now:
 * - `live`: its version serves (released; or stopped, abandoned or paused after its deploy passed, never rolled back);
 * - `reverted`: it was rolled back, so what served before it serves again;
 * - `uncertain`: it may serve or not (its rollback failed or is under way, its deploy was stopped mid-switch);
 * - `never`: it never reached production (stopped or abandoned before its deploy started).
 */
export type ServingRule = 'live' | 'reverted' | 'uncertain' | 'never';

/** The rule for one run, from its folded journal (closed: a step running with nobody behind it is interrupted). */
export function servingRule(s: ReleaseState): ServingRule {
  switch (s.status) {
    case 'released':
      return 'live';
    case 'rolled-back':
      return 'reverted';
    case 'rollback-failed':
    case 'rolling-back':
      return 'uncertain';
    default: {
      if (!s.deployStartedAt) return 'never';
      const deploy = s.phases.find((p) => p.id === 'deploy')?.state;
      return deploy === 'passed' || deploy === 'waived' ? 'live' : 'uncertain';
    }
  }
}

/** A run that serves, or may serve, in an environment. */
export interface ServingRun {
  runId: string;
  /** The service and environment as the run's journal names them. */
  name: string;
  environment: string;
  version: string;
  commit?: string;
  /** The plan file of the run, relative to the workspace. */
  plan: string;
  status: ReleaseStatus;
  rule: 'live' | 'uncertain';
  /** Blue-green: the colours the run deployed with (`idle` took the new version). */
  colors?: { active: string; idle: string };
}

/** The one answer to "what is live" in one environment of one service, derived from every journal of the workspace. */
export interface LiveState {
  name: string;
  environment: string;
  /** The newest run that serves or may serve; undefined when no run reached production. */
  now?: ServingRun;
  /** The newest run known to serve: `now` when certain, else the last certain one before it. */
  known?: ServingRun;
  /** The runs that serve or may serve now: `known` and every uncertain run newer than it. */
  serving: ServingRun[];
  /** Why what serves is not certain (names the runs that may serve); undefined when it is certain. */
  uncertain?: string;
  /** Every run whose version is out or may be out, newest first: a new release of one of these versions ships over it. */
  out: ServingRun[];
  /**
   * Blue-green: the old colour the serving run kept up for its rollback, which the next run retires before it
   * deploys. Only when the serving run is certain and no later run started a deploy over it.
   */
  keptColour?: { from: string; active: string; idle: string };
}

/** Two names of one service or environment: `Staging` and `staging` are the same place. */

/**
 * What is live, from the folded runs of the workspace, newest first (every plan file's; runs of other
 * services or environments are passed over). Pure: the table test drives it with synthetic journals.
 */
export function liveFrom(runs: readonly ReleaseState[], name: string, environment: string): LiveState {
  const live: LiveState = { name, environment, out: [], serving: [] };
  const unsure: ServingRun[] = [];
  let deployedOver = false;
  for (const s of runs) {
    if (!s.runId || !sameName(s.name, name) || !sameName(s.environment, environment)) continue;
    const rule = servingRule(s);
    if (rule === 'never') continue;
    const mayServe = rule === 'live' || rule === 'uncertain';
    const run: ServingRun | undefined = mayServe
      ? {
          runId: s.runId,
          name: s.name,
          environment: s.environment,
          version: s.version,
          ...(s.commit ? { commit: s.commit } : {}),
          plan: s.plan,
          status: s.status,
          rule,
          ...(s.colors ? { colors: s.colors } : {}),
        }
      : undefined;
    if (run) live.out.push(run);
    if (!live.known) {
      if (run && !live.now) live.now = run;
      if (run?.rule === 'uncertain') unsure.push(run);
      if (run?.rule === 'live') {
        live.known = run;
        if (!deployedOver && unsure.length === 0 && run.colors) live.keptColour = { from: run.runId, ...run.colors };
      }
    }
    deployedOver = true;
  }
  live.serving = [...unsure, ...(live.known ? [live.known] : [])];
  if (unsure.length)
    live.uncertain = `${unsure.map((r) => `run ${r.runId} (${r.version}, ${uncertainWhy(r.status)})`).join(' and ')} may still serve${live.known ? `; the last version known to serve before it is ${live.known.version} (run ${live.known.runId})` : ''}`;
  return live;
}

const uncertainWhy = (status: string) =>
  status === 'rollback-failed' ? 'its rollback failed' : status === 'rolling-back' ? 'its rollback did not finish' : `${status} while its deploy ran`;

/** One run of a read of the workspace: its folded journal, or why it could not be read. */
export type RunRead = { runId: string; state: ReleaseState } | { runId: string; error: unknown };

/**
 * One read of every run of the workspace, newest first, and what tells whether it is still current
 * (`stamp`): the queries of one start answer from the same read (`liveState`, `releasedBefore`,
 * the unresolved run) instead of each reading every journal again.
 */
export interface RunsRead {
  runs: RunRead[];
  stamp: string;
}

/** How a start reads the workspace's runs (the engine's option; the default reads the journals). */
export type RunsReader = (workspace: string) => RunsRead;

/** Reads and folds every run of the workspace, newest first. */
export function readWorkspaceRuns(workspace: string): RunsRead {
  const stamp = runsStamp(workspace);
  const runs: RunRead[] = [];
  for (const runId of runIds(workspace)) {
    try {
      runs.push({ runId, state: loadRun(workspace, runId).state });
    } catch (error) {
      runs.push({ runId, error });
    }
  }
  return { runs, stamp };
}

/** The folded runs of a read: an unreadable run says nothing about what production runs. */
export const statesOf = (read: RunsRead): ReleaseState[] => read.runs.flatMap((r) => ('state' in r ? [r.state] : []));

/** Every readable run of the workspace, folded, newest first: an unreadable run says nothing about what production runs. */
export function workspaceRuns(workspace: string): ReleaseState[] {
  return statesOf(readWorkspaceRuns(workspace));
}

/** What is live in `environment` (the plan's own by default) for the plan's service, from every journal of the workspace. */
export function liveState(
  workspace: string,
  plan: Plan,
  environment = plan.release.environment,
  runs: readonly ReleaseState[] = workspaceRuns(workspace),
): LiveState {
  return liveFrom(runs, plan.release.name, environment);
}

/** Whether a run serves now in its environment (`yes`), may serve (`maybe`), or not (undefined), as `liveFrom` says. */
export function servingNow(runs: readonly ReleaseState[]): (s: ReleaseState) => 'yes' | 'maybe' | undefined {
  const memo = new Map<string, LiveState>();
  return (s) => {
    const key = `${s.name.normalize('NFKC').toLowerCase()}\n${s.environment.normalize('NFKC').toLowerCase()}`;
    let live = memo.get(key);
    if (!live) memo.set(key, (live = liveFrom(runs, s.name, s.environment)));
    if (!live.serving.some((r) => r.runId === s.runId)) return undefined;
    return live.uncertain ? 'maybe' : 'yes';
  };
}
