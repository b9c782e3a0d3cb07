import type { ChecklistItem } from '../../model/schema';
import type { Environment } from '../../plan/environments';
import { hasGates } from '../../plan/environments';
import { workingTreeChanges, type TreeChange } from '../../git/gate';
import { pathInRepository, repositoryTop } from '../../git/committed';
import type { RunContext } from '../run/context';
import type { EnvGateVerdict } from './gateVerdict';
import { REASON_RULE, writtenReason } from './writtenReason';

/** The id a waiver of a changed working tree goes by, as a checklist item's does (`--waive dirty-tree=REASON`). */
export const DIRTY_TREE = 'dirty-tree';
const DIRTY_TREE_ITEM: ChecklistItem = { id: DIRTY_TREE, title: 'Working tree as committed', manual: true };

/** A reason as written, when it is one (see `REASON_RULE`). */
export const reasonText = writtenReason;

const MAX_NAMED = 10;
const named = (files: readonly TreeChange[]) =>
  `${files
    .slice(0, MAX_NAMED)
    .map((f) => f.shown)
    .join(', ')}${files.length > MAX_NAMED ? ` and ${files.length - MAX_NAMED} more` : ''}`;

/**
 * The working tree against the release commit, as a gate. Untracked files are not part of what the commit holds
 * and never refuse; a changed tracked file (in the index or not, or hidden from git status) means the release
 * would run something other than the commit its gates were judged for: with environment gates it is refused
 * unless waived with a reason; without, it goes on as before, said. Undefined: a clean tree (the journal's `clean`).
 */
export function treeVerdict(changes: readonly TreeChange[], gated: boolean, waiver?: { by: string; reason: string }): EnvGateVerdict | undefined {
  const tracked = changes.filter((c) => c.tracked);
  const untracked = changes.filter((c) => !c.tracked);
  const aside = untracked.length ? `untracked files not in the release commit: ${named(untracked)} (not part of the release, not refused)` : '';
  if (!tracked.length) return aside ? { gate: 'tree', state: 'open', message: aside } : undefined;
  const changed = `uncommitted changes to tracked files: ${named(tracked)}${aside ? `; ${aside}` : ''}`;
  if (!gated) return { gate: 'tree', state: 'open', message: `${changed}; this release runs them, not the commit (no environment gates here, so not refused)` };
  if (waiver) return { gate: 'tree', state: 'open', message: `${changed}; waived by ${waiver.by}: ${waiver.reason}`, override: waiver };
  return {
    gate: 'tree',
    state: 'blocked',
    message: `${changed}; a release with environment gates runs the commit they were judged for: commit or stash them, or waive with a reason (--waive ${DIRTY_TREE}=REASON)`,
  };
}

/**
 * The changes the tree gate judges: every change of the working tree, but for `planFile` when given: with
 * environment gates the plan has its own rule (the release reads the committed plan, its line endings aside, and
 * refuses any other before any gate); without, a changed plan is a change like any other.
 */
export async function releaseTreeChanges(workspace: string, planFile: string | undefined): Promise<TreeChange[]> {
  const changes = await workingTreeChanges(workspace);
  const top = planFile === undefined ? undefined : await repositoryTop(workspace);
  const plan = top === undefined || planFile === undefined ? undefined : pathInRepository(top, planFile);
  return plan === undefined ? changes : changes.filter((c) => c.file !== plan);
}

/**
 * The tree gate of a run, journaled: a changed tree is asked about as a failed checklist item is (retry, waive
 * with a reason, abort), so `--waive dirty-tree=REASON` and the window's Waive answer it. `blocked` ends or
 * pauses the run. Outside git there is no commit to compare with.
 */
export async function treeGate(c: RunContext, env: Environment | undefined, blocked: (message: string) => boolean): Promise<boolean> {
  if (!c.state.commit) return true;
  const gated = hasGates(env);
  for (;;) {
    const changes = await releaseTreeChanges(c.o.workspace, gated ? c.o.planFile : undefined);
    c.stopLatch.throwIfStopped();
    const v = treeVerdict(changes, gated);
    if (!v) return true;
    c.append({ type: 'gate.changed', gate: 'tree', state: v.state, message: v.message });
    if (v.state === 'open') return true;
    const d = await c.stopLatch.race(c.o.prompter.onChecklistFailed(DIRTY_TREE_ITEM, v.message));
    if (d.action === 'retry') continue;
    const reason = d.action === 'waive' ? reasonText(d.reason) : undefined;
    if (reason) {
      const w = treeVerdict(changes, gated, { by: c.user, reason })!;
      c.append({ type: 'gate.changed', gate: 'tree', state: w.state, message: w.message, ...(w.override ? { override: w.override } : {}) });
      return true;
    }
    return blocked(`tree gate: ${v.message}${d.action === 'waive' ? `; a waiver needs a written reason (${REASON_RULE})` : ''}`);
  }
}
