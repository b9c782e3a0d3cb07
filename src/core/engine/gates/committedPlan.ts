import * as path from 'node:path';
import { committedKind, committedPlanPaths, committedText, pathInRepository, repositoryTop, stagedChange } from '../../git/committed';
import { gitUnavailable } from '../../git/git';
import { parsePlan } from '../../plan/load';
import type { Plan } from '../../model/schema';
import { hasGates } from '../../plan/environments';

/** Whether any environment of a plan declares a gate another person or the calendar controls. */
export const declaresGates = (plan: Plan): boolean => Object.values(plan.environments ?? {}).some(hasGates);

/** A committed text that does not load cannot say it has no gates: it counts as gated. */
function textDeclaresGates(text: string | undefined, file: string): boolean {
  if (text === undefined) return false;
  const loaded = parsePlan(text, file);
  return !loaded.ok || declaresGates(loaded.plan);
}

/** As YAML reads it: a leading BOM and the kind of line ending do not change what a plan says. */
const sameText = (a: string, b: string) => {
  const norm = (t: string) => (t.charCodeAt(0) === 0xfeff ? t.slice(1) : t).replace(/\r\n?/g, '\n');
  return norm(a) === norm(b);
};

/**
 * Why this plan may not decide gates, or undefined. The gates of an environment (promotion, approvals,
 * freeze) are only worth something when the person they hold back cannot edit them away: so when the plan in
 * use, the plan HEAD has at its path, the workspace's `.release/plan.yaml` at HEAD, or any `.release/plan.yaml`
 * committed anywhere in the repository declares a gate, the plan in use must be, byte for byte (line endings
 * aside), the file HEAD has at its path: tracked, committed, no staged or unstaged change. (Looking at every
 * committed `.release/plan.yaml`: an untracked plan in a new sub-folder, `--plan x/.release/plan.yaml`, would
 * else find no committed plan "in its workspace" and escape the repository's gates.)
 *
 * Why the whole file and not just its gate sections: a comparison of parsed gate sections misses what steers
 * them from elsewhere (YAML anchors and merges, a renamed environment, `release.name` that promotion matches
 * on, variables that point production at another host), and an approval binds the whole plan's hash anyway.
 * Why the bytes and not `git status`: a clean filter or `assume-unchanged`/`skip-worktree` makes status
 * report a changed file as clean; here git only gives HEAD's blob (replace refs and grafts off, see git.ts),
 * and the comparison is ours. Symlinks are followed in HEAD's tree, not on disk, so repointing a link in the
 * working tree changes nothing.
 *
 * Fails closed: when the workspace is in a folder with a `.git` entry but git cannot answer (not on PATH,
 * another user's repository), nothing says what HEAD has, so every plan is refused with git's own words.
 *
 * Known limit: a plan committed under another name than `.release/plan.yaml` (e.g. `.release/other.yaml`)
 * without gates may still be used: it is committed, so the change is in the history for review.
 */
export async function uncommittedGatedPlan(workspace: string, planFile: string, plan: Plan, planText: string): Promise<string | undefined> {
  const unreadable = await gitUnavailable(workspace);
  if (unreadable) return unreadable;
  const top = await repositoryTop(workspace);
  if (!top) return undefined;
  const rel = pathInRepository(top, planFile);
  const committed = rel === undefined ? undefined : await committedText(top, rel);
  const gated = declaresGates(plan) || textDeclaresGates(committed, rel ?? planFile) || (await gatedElsewhere(top, workspace, rel));
  if (!gated) return undefined;
  const shown = rel ?? planFile;
  const why = ' (approvals, promotion, freeze) are read from the plan as committed, so that nobody can edit them away before a release';
  if (rel === undefined)
    return `the release plan ${planFile} is outside the repository ${top}, whose plans declare environment gates: gates${why}. Release with the plan committed in the repository (--plan ${pathInRepository(top, path.join(workspace, '.release', 'plan.yaml')) ?? '.release/plan.yaml'})`;
  if (committed === undefined) {
    const kind = await committedKind(top, rel);
    const what = kind ? `HEAD has ${kind} there` : 'HEAD has no such file: untracked, new or renamed';
    return `the release plan ${shown} is not committed (${what}), and environment gates${why}. Commit it (git add ${shown} && git commit), then release again`;
  }
  if (sameText(committed, planText)) return undefined;
  const staged = (await stagedChange(top, rel)) ? 'staged but not committed' : 'not committed';
  return `the release plan ${shown} has changes ${staged}: environment gates${why} at HEAD. Commit the plan (git add ${shown} && git commit), or undo the changes (git checkout HEAD -- ${shown}), then release again`;
}

/** Whether the workspace's `.release/plan.yaml` at HEAD, or any `.release/plan.yaml` committed in the repository, declares gates. */
async function gatedElsewhere(top: string, workspace: string, rel: string | undefined): Promise<boolean> {
  const defaultRel = pathInRepository(top, path.join(workspace, '.release', 'plan.yaml'));
  const others = new Set([...(defaultRel ? [defaultRel] : []), ...(await committedPlanPaths(top))]);
  if (rel) others.delete(rel);
  for (const other of others) if (textDeclaresGates(await committedText(top, other), other)) return true;
  return false;
}
