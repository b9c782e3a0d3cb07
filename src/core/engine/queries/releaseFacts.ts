import type { Plan } from '../../model/schema';
import { buildScope, planUses, type Scope } from '../../plan/scope';
import { git, isRepo } from '../../git/git';
import { commitOf } from '../../git/gate';
import { changelogSince, omittedSummary, type Changelog } from '../../report/changelog';
import { liveState, workspaceRuns } from './liveState';
import { isFinal, type ReleaseState } from '../../model/releaseState';
import { sameVersion } from '../../model/names';

// The facts the scope's values come from that need the workspace (git, earlier runs): read the same
// way by the engine at start, the CLI's validate and dry run, and a click in the tree. Each takes the
// workspace's folded runs (`runs`) when its caller read them already; without, it reads them itself.

export type VersionFact = { ok: true; version: string; changelog?: Changelog } | { ok: false; message: string };

/**
 * The version a release of this plan would carry now (`auto`: from the commits since the newest release tag),
 * and its changelog: the commits since the version that serves now (`changelogSince`).
 */
export async function resolveVersion(workspace: string, plan: Plan, runs?: readonly ReleaseState[]): Promise<VersionFact> {
  const prefix = plan.release.tagPrefix;
  const version = plan.release.version.replace(/^v/, '');
  if (!(await isRepo(workspace))) {
    if (version === 'auto') return { ok: false, message: 'version "auto" needs a git repository with Conventional Commits to compute the next version' };
    return { ok: true, version };
  }
  // The base is what serves before this release (one answer, liveState), not merely the newest tag.
  const served = liveState(workspace, plan, undefined, runs).known;
  const changelog = await changelogSince(
    workspace,
    prefix,
    plan.changelog,
    served && { version: served.version, ...(served.commit ? { commit: served.commit } : {}) },
  );
  if (version === 'auto') {
    const nothing = nothingUserFacing(plan, changelog);
    if (nothing) return { ok: false, message: nothing };
  }
  return { ok: true, version: version === 'auto' ? changelog.version : version, changelog };
}

/**
 * With `version: auto`, why there is no version to propose: every commit since the previous release
 * tag is of a hidden type (or left out), as conventional-recommended-bump proposes no release then.
 * Undefined when something user-facing changed, when HEAD is the release tag itself, on a first
 * release, or when the plan asks for a patch anyway (`changelog.noUserFacingChange: patch`).
 */
function nothingUserFacing(plan: Plan, cl: Changelog): string | undefined {
  if (cl.entries.length || cl.releaseTag || !cl.previousTag || plan.changelog?.noUserFacingChange === 'patch') return undefined;
  const left =
    omittedSummary(cl.omitted)
      .replace(/^Not listed: /, '')
      .replace(/\.$/, '') || 'no commit';
  return `version auto: no user-facing change since ${cl.previousTag} (${left}), so there is no version to propose and nothing to release. To release anyway, set release.version to the version to release (such as ${cl.version}), or changelog.noUserFacingChange: patch`;
}

/**
 * Why a new release of `version` must not start: this service already went out at that version to
 * this environment (from any plan file of the workspace, released or abandoned after its deploy and
 * never rolled back), and a second release under the same name would ship other code: HEAD is not
 * the commit that run recorded, or there is no commit to tell (no git). The same commit again is
 * the same code; a version that was rolled back may be released again.
 */
export function releasedBefore(
  workspace: string,
  plan: Plan,
  planRel: string,
  version: string,
  head?: string,
  runs?: readonly ReleaseState[],
): string | undefined {
  for (const state of liveState(workspace, plan, undefined, runs).out) {
    const id = state.runId;
    if (!sameVersion(state.version, version) || (head !== undefined && state.commit === head)) continue;
    // A run of this plan that has not ended is the one to resume or abandon: the start refuses it as such.
    if (state.plan === planRel && !isFinal(state.status)) continue;
    const from = state.commit ? ` from commit ${state.commit.slice(0, 12)}` : '';
    const how =
      state.status === 'released'
        ? 'was released'
        : state.rule === 'live'
          ? `was deployed (then ${state.status === 'aborted' ? 'abandoned' : state.status}, never rolled back)`
          : `may still be deployed (${state.status === 'rollback-failed' ? 'its rollback failed' : `${state.status} while its deploy or rollback ran`})`;
    const elsewhere = state.plan !== planRel ? ` (by ${state.plan})` : '';
    const way = plan.release.redeploy
      ? `, or redeploy it (Redeploy This Version in the Releases view, or run --redeploy ${version})`
      : '; to deploy it again, a plan whose steps deploy by version sets release.redeploy: true and redeploys it';
    const same = state.version !== version ? `, and ${version} is the same version (build metadata aside)` : '';
    return `${state.name} ${state.version} ${how} to ${state.environment} in run ${id}${elsewhere}${from}${same}, so it does not start again: a second release of ${version} would ship ${head && state.commit ? `other code (HEAD is ${head.slice(0, 12)})` : 'code no commit tells apart from it'} under its name. Give this release a new version (release.version in ${planRel})${way}`;
  }
  return undefined;
}

export type RedeployFact = { ok: true; version: string; of: { runId: string; tagCommit?: string } } | { ok: false; message: string };

/**
 * A redeploy of `wanted`: allowed by the plan (its steps deploy by version), and only of a version
 * this plan released before, to the same environment, in a run that ended released.
 */
export async function resolveRedeploy(workspace: string, plan: Plan, planRel: string, wanted: string, runs?: readonly ReleaseState[]): Promise<RedeployFact> {
  const version = wanted.trim().replace(/^v/, '');
  if (!plan.release.redeploy)
    return {
      ok: false,
      message: `${planRel} does not allow a redeploy: set release.redeploy: true when its steps deploy \${release.version} by version (an image tag, a package), not from the working tree`,
    };
  const where = `${plan.release.name} ${version} to ${plan.release.environment}`;
  for (const state of liveState(workspace, plan, undefined, runs).out) {
    if (state.version !== version || state.status !== 'released' || state.plan !== planRel) continue;
    const id = state.runId;
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

/**
 * What a redeploy of `wanted` would carry and replace, as a run would resolve them (`resolveRedeploy`, then the
 * version live now as its previous version): what `run --redeploy V --dry-run` shows.
 */
export async function redeployFacts(
  workspace: string,
  plan: Plan,
  planRel: string,
  wanted: string,
): Promise<{ ok: false; message: string } | { ok: true; version: string; previousVersion?: string; of: { runId: string; tagCommit?: string } }> {
  const r = await resolveRedeploy(workspace, plan, planRel, wanted);
  if (!r.ok) return r;
  const previous = await previousVersionOf(workspace, plan, r.version);
  return { ...r, ...(previous ? { previousVersion: previous.version } : {}) };
}

export interface PreviousVersion {
  version: string;
  /** Where it came from, for the journal and messages. */
  source: string;
  /** Why what serves now may not be this version (a rollback failed, a switch was interrupted). */
  uncertain?: string;
}

/**
 * The version a release replaces, its rollback target: what is live in the environment (`liveState`), the
 * last version known to serve when that is uncertain (saying so), else the previous version tag.
 */
export async function previousVersionOf(workspace: string, plan: Plan, version: string, runs?: readonly ReleaseState[]): Promise<PreviousVersion | undefined> {
  const live = liveState(workspace, plan, undefined, runs);
  const uncertain = live.uncertain ? { uncertain: live.uncertain } : {};
  if (live.known) return { version: live.known.version, source: `${live.known.status === 'released' ? 'released ' : ''}run ${live.known.runId}`, ...uncertain };
  const tagged = await previousTagVersion(workspace, plan, version);
  return tagged ? { ...tagged, ...uncertain } : undefined;
}

async function previousTagVersion(workspace: string, plan: Plan, version: string): Promise<PreviousVersion | undefined> {
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

/**
 * What a run of this plan needs of the workspace before it starts: the version it would carry now and,
 * when the plan uses it, the previous version. Each that is missing is an unmet start precondition,
 * not a plan error: `run` refuses with its message; validate and the dry run warn with it.
 * `shownAs` names the plan file in the messages (`planRel` by default).
 */
export interface StartFacts {
  version?: string;
  previousVersion?: string;
  unmet: string[];
}

export async function startFacts(workspace: string, plan: Plan, planRel: string, planText: string, shownAs = planRel): Promise<StartFacts> {
  const runs = workspaceRuns(workspace);
  const v = await resolveVersion(workspace, plan, runs);
  if (!v.ok) return { unmet: [v.message] };
  if (!planUses(planText, 'release.previousVersion')) return { version: v.version, unmet: [] };
  const p = await previousVersionOf(workspace, plan, v.version, runs);
  const refused = previousVersionRefusal(shownAs, planText, plan, p);
  return { version: v.version, ...(p ? { previousVersion: p.version } : {}), unmet: refused ? [refused] : [] };
}

/** What a preview shows for a fact that a start precondition still lacks. */
export const NOT_YET = { version: '<version: none to propose yet>', previousVersion: '<previous version: none yet>' } as const;

/** The values a preview resolves with: the facts, or a placeholder for each one still missing. */
export const previewFacts = (f: StartFacts) => ({ version: f.version ?? NOT_YET.version, previousVersion: f.previousVersion ?? NOT_YET.previousVersion });

/** The version a release of this plan would carry now, and its previous version when the plan uses it. */
export async function versionFacts(workspace: string, plan: Plan, planRel: string, planText: string): Promise<{ version: string; previousVersion?: string }> {
  const f = await startFacts(workspace, plan, planRel, planText);
  if (f.unmet.length) throw new ScopeUnavailableError(f.unmet[0]);
  return { version: f.version!, ...(f.previousVersion ? { previousVersion: f.previousVersion } : {}) };
}

/** The values a checklist check sees before any run (a click in the tree): the version a release would carry now, no run, no colours. */
export async function beforeRunScope(workspace: string, plan: Plan, planRel: string, planText: string, env: NodeJS.ProcessEnv): Promise<Scope> {
  return buildScope({ plan, env, ...(await versionFacts(workspace, plan, planRel, planText)) });
}
