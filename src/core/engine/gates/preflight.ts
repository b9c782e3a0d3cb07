import * as os from 'node:os';
import * as path from 'node:path';
import { headCommit, userChanges } from '../../git/gate';
import { runScope } from '../../plan/scope';
import type { Changelog } from '../../report/changelog';
import { previousVersionOf, previousVersionRefusal, releasedBefore, resolveRedeploy, resolveVersion, type PreviousVersion } from '../queries/releaseFacts';
import type { RunContext } from '../run/context';
import type { EngineOptions } from '../run/ports';
import { uncommittedGatedPlan } from './committedPlan';
import { resolvedPathProblem } from './envPath';
import { GateError } from './gateError';
import { gatedPlanChanged, identityChanged } from './planIdentity';
import { collidingSecrets, planIdentifiers, secretSources, unmaskableSecrets, unsetEnvReferences } from './secrets';
import { unresolvedIn, UnresolvedRunError } from './unresolvedRun';
import { readWorkspaceRuns, statesOf, type RunsRead } from '../queries/liveState';
import { runsStamp } from '../queries/runs';

/** What a new release starts from once nothing refused it. */
export interface StartPreflight {
  planRel: string;
  version: string;
  changelog?: Changelog;
  redeployOf?: { runId: string; tagCommit?: string };
  previous?: PreviousVersion;
  commit?: string;
  /** Whether the tree matched the commit at the start: only such a run can stand for that commit (promotion). */
  clean?: boolean;
  /** The workspace's runs as the refusals read them: the start's one read of every journal. */
  runs: RunsRead;
}

/**
 * Every refusal of a new release before it takes the lock, in this order: secrets that cannot be
 * masked, unset variables, a gated plan not committed, the version (or the run redeployed), a
 * resolved path, the previous version, the same version already released. Only a new release is
 * refused here: a rollback of a running one must always be able to start.
 */
export async function startPreflight(o: EngineOptions): Promise<StartPreflight> {
  const unmaskable = unmaskableSecrets(secretSources(o.planText, o.plan, o.env ?? process.env));
  if (unmaskable) throw new GateError('secrets', unmaskable);
  const planRel = path.relative(o.workspace, o.planFile) || o.planFile;
  const unset = unsetEnvReferences(o.planText, planRel, o.env ?? process.env);
  if (unset) throw new GateError('environment', unset);
  const uncommitted = await uncommittedGatedPlan(o.workspace, o.planFile, o.plan, o.planText);
  if (uncommitted) throw new GateError('plan-not-committed', uncommitted);
  const runs = (o.readRuns ?? readWorkspaceRuns)(o.workspace);
  const states = statesOf(runs);
  const v =
    o.redeploy !== undefined ? await resolveRedeploy(o.workspace, o.plan, planRel, o.redeploy, states) : await resolveVersion(o.workspace, o.plan, states);
  if (!v.ok) throw new GateError(o.redeploy !== undefined ? 'redeploy' : 'version', v.message);
  const { version } = v;
  const badPath = resolvedPathProblem(o.plan, o.planText, planRel, runScope(o.plan, { version, runId: '' }, '', o.env ?? process.env, o.vars));
  if (badPath) throw new GateError('environment', badPath);
  const changelog = 'changelog' in v ? v.changelog : undefined;
  const redeployOf = 'of' in v ? v.of : undefined;
  const previous = await previousVersionOf(o.workspace, o.plan, version, states);
  const refused = previousVersionRefusal(planRel, o.planText, o.plan, previous);
  if (refused) throw new GateError('previous-version', refused);
  const commit = await headCommit(o.workspace);
  const clean = commit ? (await userChanges(o.workspace)).length === 0 : undefined;
  const again = redeployOf ? undefined : releasedBefore(o.workspace, o.plan, planRel, version, commit, states);
  if (again) throw new GateError('version', again);
  return { planRel, version, changelog, redeployOf, previous, commit, clean, runs };
}

/** Refuses a secret equal to a value the journal records as it is, once the run's id and user are known. */
export function refuseRecordedSecrets(o: EngineOptions, env: NodeJS.ProcessEnv, p: StartPreflight, run: { runId: string; user: string }): void {
  const colliding = collidingSecrets(secretSources(o.planText, o.plan, env), [
    { what: 'the version', value: p.version },
    { what: 'the commit', value: p.commit },
    { what: 'the run id', value: run.runId },
    { what: 'the release name', value: o.plan.release.name },
    { what: 'the environment', value: o.plan.release.environment },
    { what: 'the user', value: run.user },
    { what: 'the host', value: os.hostname() },
    { what: 'the previous version', value: p.previous?.version },
    { what: 'the plan file', value: p.planRel },
    ...planIdentifiers(o.plan),
  ]);
  if (colliding) throw new GateError('secrets', colliding);
}

/**
 * The start's read of the runs once it holds the lock: the preflight's read when no journal changed
 * since (and no live process held a run open then), else a new read.
 */
export function runsUnderLock(o: EngineOptions, p: StartPreflight, runId: string): RunsRead {
  return runsStamp(o.workspace, runId) === p.runs.stamp ? p.runs : (o.readRuns ?? readWorkspaceRuns)(o.workspace);
}

/** Refuses a new release over a run of the same plan without an outcome; called with the lock held, with `runsUnderLock`. */
export function refuseOverUnresolvedRun(runs: RunsRead, planRel: string, runId: string): void {
  const unresolved = unresolvedIn(runs, planRel, runId);
  if (unresolved) throw new UnresolvedRunError(unresolved.runId, unresolved.state);
}

/**
 * Every refusal before a run goes on (a start's first phase, or a resume): a resume checks, as a
 * start does, that every variable the plan reads is set (else its first step that reads one fails)
 * and that paths resolve; a reopened run also that the plan names the same release and environment,
 * and takes its gates from the committed plan, not from a plan changed since the run started.
 */
export async function runPreflight(c: RunContext): Promise<void> {
  const o = c.o;
  const planRel = path.relative(o.workspace, o.planFile) || o.planFile;
  const unset = unsetEnvReferences(o.planText, planRel, c.env);
  if (unset) throw new GateError('environment', unset);
  const badPath = resolvedPathProblem(o.plan, o.planText, planRel, c.scope());
  if (badPath) throw new GateError('environment', badPath);
  if (!c.reopened) return;
  const changed = identityChanged(c);
  if (changed) throw new GateError('plan-changed', changed);
  const uncommitted = await uncommittedGatedPlan(o.workspace, o.planFile, o.plan, o.planText);
  if (uncommitted) throw new GateError('plan-not-committed', uncommitted);
  const gatedChanged = gatedPlanChanged(c);
  if (gatedChanged) throw new GateError('plan-changed', gatedChanged);
}
