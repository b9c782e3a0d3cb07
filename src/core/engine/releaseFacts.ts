import type { Plan } from '../plan/schema';
import { buildScope, planUses, type Scope } from '../plan/scope';
import { git, isRepo } from '../git/git';
import { commitOf } from '../git/gate';
import type { ReleaseState } from '../base/fold';
import { changelogSince, type Changelog } from '../report/changelog';
import { loadRun, runIds } from './runs';

// The facts the scope's values come from that need the workspace (git, earlier runs): read the same
// way by the engine at start, the CLI's validate and dry run, and a click in the tree.

export type VersionFact = { ok: true; version: string; changelog?: Changelog } | { ok: false; message: string };

/** The version a release of this plan would carry now: `auto` from the commits since the previous tag. */
export async function resolveVersion(workspace: string, plan: Plan): Promise<VersionFact> {
  const prefix = plan.release.tagPrefix;
  const version = plan.release.version.replace(/^v/, '');
  if (!(await isRepo(workspace))) {
    if (version === 'auto') return { ok: false, message: 'version "auto" needs a git repository with Conventional Commits to compute the next version' };
    return { ok: true, version };
  }
  const changelog = await changelogSince(workspace, prefix, plan.changelog);
  return { ok: true, version: version === 'auto' ? changelog.version : version, changelog };
}

/** The runs of this plan (same file, name and environment) that ended released, newest first. */
function* releasedRuns(workspace: string, plan: Plan, planRel: string): Generator<{ id: string; state: ReleaseState }> {
  for (const id of runIds(workspace)) {
    let state: ReleaseState;
    try {
      state = loadRun(workspace, id).state;
    } catch {
      // An unreadable run says nothing about what production runs.
      continue;
    }
    if (state.status === 'released' && state.plan === planRel && state.name === plan.release.name && state.environment === plan.release.environment)
      yield { id, state };
  }
}

/**
 * Why a new release of `version` must not start: this plan already released that version to its
 * environment, and a second release under the same name would ship other code (or the same code
 * again, which is what a redeploy is for). A version that was rolled back may be released again.
 */
export function releasedBefore(workspace: string, plan: Plan, planRel: string, version: string, head?: string): string | undefined {
  for (const { id, state } of releasedRuns(workspace, plan, planRel)) {
    if (state.version !== version) continue;
    const same = head !== undefined && state.commit === head;
    const from = state.commit ? ` from commit ${state.commit.slice(0, 12)}` : '';
    const way = plan.release.redeploy
      ? `, or redeploy it (Redeploy This Version in the Releases view, or run --redeploy ${version})`
      : '; to deploy it again, a plan whose steps deploy by version sets release.redeploy: true and redeploys it';
    return `${plan.release.name} ${version} was released to ${plan.release.environment} in run ${id}${from}, so it does not start again: a second release of ${version} would ship ${same ? 'the same commit again' : 'other code'} under its name. Give this release a new version (release.version in ${planRel})${way}`;
  }
  return undefined;
}

export type RedeployFact = { ok: true; version: string; of: { runId: string; tagCommit?: string } } | { ok: false; message: string };

/**
 * A redeploy of `wanted`: allowed by the plan (its steps deploy by version), and only of a version
 * this plan released before, to the same environment, in a run that ended released.
 */
export async function resolveRedeploy(workspace: string, plan: Plan, planRel: string, wanted: string): Promise<RedeployFact> {
  const version = wanted.trim().replace(/^v/, '');
  if (!plan.release.redeploy)
    return {
      ok: false,
      message: `${planRel} does not allow a redeploy: set release.redeploy: true when its steps deploy \${release.version} by version (an image tag, a package), not from the working tree`,
    };
  const where = `${plan.release.name} ${version} to ${plan.release.environment}`;
  for (const { id, state } of releasedRuns(workspace, plan, planRel)) {
    if (state.version !== version) continue;
    const tag = `${plan.release.tagPrefix}${version}`;
    const tagCommit = (await isRepo(workspace)) ? ((await commitOf(workspace, `refs/tags/${tag}`)) ?? undefined) : undefined;
    // The tag must still name what that run released: a tag moved since would redeploy other code.
    if (tagCommit && state.commit && tagCommit !== state.commit)
      return {
        ok: false,
        message: `${tag} now points to ${tagCommit}, but run ${id} released ${where} from commit ${state.commit}: the tag moved since; put it back to redeploy that version`,
      };
    return { ok: true, version, of: { runId: id, ...(tagCommit ? { tagCommit } : {}) } };
  }
  return { ok: false, message: `no released run of ${where} in .release/runs: only a version this plan released (and did not roll back) can be redeployed` };
}

export interface PreviousVersion {
  version: string;
  /** Where it came from, for the journal and messages. */
  source: string;
}

/** The version before `version`: the last released run of this plan, else the previous version tag. */
export async function previousVersionOf(workspace: string, plan: Plan, planRel: string, version: string): Promise<PreviousVersion | undefined> {
  for (const { id, state } of releasedRuns(workspace, plan, planRel)) return { version: state.version, source: `released run ${id}` };
  if (!(await isRepo(workspace))) return undefined;
  const prefix = plan.release.tagPrefix;
  const tag = `${prefix}${version}`;
  const tagged = (await commitOf(workspace, `refs/tags/${tag}`)) !== null;
  try {
    const prev = await git(workspace, ['describe', '--tags', '--abbrev=0', '--match', `${prefix}*`, tagged ? `${tag}^` : 'HEAD']);
    const v = prev.slice(prefix.length);
    if (prev && /^\d+\.\d+\.\d+/.test(v) && v !== version) return { version: v, source: `tag ${prev}` };
  } catch {
    // No earlier tag: nothing to go back to.
  }
  return undefined;
}

/** Why a plan that uses `${release.previousVersion}` cannot run here, naming the line; undefined when it can. */
export function previousVersionRefusal(planRel: string, planText: string, plan: Plan, previous: PreviousVersion | undefined): string | undefined {
  if (previous) return undefined;
  const at = planUses(planText, 'release.previousVersion');
  if (!at) return undefined;
  return `${planRel}:${at.line}:${at.column}: \${release.previousVersion} has no value: no released run of this plan in .release/runs and no earlier version tag matching "${plan.release.tagPrefix}*"; a plan that uses it cannot start until one exists`;
}

export class ScopeUnavailableError extends Error {
  override name = 'ScopeUnavailableError';
}

/** The version a release of this plan would carry now, and its previous version when the plan uses it. */
export async function versionFacts(workspace: string, plan: Plan, planRel: string, planText: string): Promise<{ version: string; previousVersion?: string }> {
  const v = await resolveVersion(workspace, plan);
  if (!v.ok) throw new ScopeUnavailableError(v.message);
  if (!planUses(planText, 'release.previousVersion')) return { version: v.version };
  const p = await previousVersionOf(workspace, plan, planRel, v.version);
  const refused = previousVersionRefusal(planRel, planText, plan, p);
  if (refused) throw new ScopeUnavailableError(refused);
  return { version: v.version, previousVersion: p?.version };
}

/** The values a checklist check sees before any run (a click in the tree): the version a release would carry now, no run, no colours. */
export async function beforeRunScope(workspace: string, plan: Plan, planRel: string, planText: string, env: NodeJS.ProcessEnv): Promise<Scope> {
  return buildScope({ plan, env, ...(await versionFacts(workspace, plan, planRel, planText)) });
}
