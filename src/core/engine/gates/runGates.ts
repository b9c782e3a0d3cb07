import type { ChecklistItem, PhaseId } from '../../model/schema';
import { runShort } from '../../exec/short';
import { releaseCommitMoved } from '../../git/gate';
import type { ReleaseState } from '../../model/releaseState';
import type { RunContext } from '../run/context';
import { checkAcceptance, runCheck } from './checks';
import { isBaselineStep } from '../run/phaseUnits';
import { environmentGates } from './environmentGates';
import { clip } from '../../format';
import { compatText, databaseStrategyText } from '../../model/dbStrategyText';
import { REASON_RULE, writtenReason } from './writtenReason';
import { transition } from '../../model/statusTransitions';

/** A release goes on only from the commit it started from: a moved HEAD or tag pauses it, naming both SHAs. */
export async function releaseCommitUnchanged(c: RunContext): Promise<boolean> {
  // A new run starts at HEAD by definition; whether HEAD is the tagged release commit is the checklist's git gate.
  if (!c.reopened) return true;
  const started = c.events.find((e) => e.type === 'release.started');
  if (!started || started.type !== 'release.started' || !started.commit) return true;
  const moved = await releaseCommitMoved(c.o.workspace, started.commit, `${c.o.plan.release.tagPrefix}${c.state.version}`, started.redeployOf?.tagCommit);
  if (!moved) {
    if (c.state.gates.git?.state === 'blocked')
      c.append({ type: 'gate.changed', gate: 'git', state: 'open', message: `HEAD and the release tag are back at ${started.commit}` });
    return true;
  }
  c.append({ type: 'gate.changed', gate: 'git', state: 'blocked', message: moved });
  transition(c, 'release.paused', { message: `git gate: ${moved}; put it back to resume, or start a new release` });
  return false;
}

/** Acceptance verdict, rollback plan, checklist, then the go/no-go confirmation. */
export async function gates(c: RunContext): Promise<boolean> {
  return (
    (await acceptanceGate(c)) &&
    rollbackPlanGate(c) &&
    (await environmentGatesBeforeGo(c)) &&
    (await checklistGate(c)) &&
    (await activeColour(c)) &&
    (await goDecision(c))
  );
}

/**
 * Decided before the go, and again at each resume: a run reopened later (after a pause, a crash) goes on only
 * if its freeze, promotion and approvals still hold now (an approval revoked, a freeze begun since). Within one
 * process, a release already confirmed is not stopped halfway by them.
 */
async function environmentGatesBeforeGo(c: RunContext): Promise<boolean> {
  if (!c.reopened && c.events.some((e) => e.type === 'decision' && e.reason === 'go')) return true;
  return environmentGates(c);
}

async function acceptanceGate(c: RunContext): Promise<boolean> {
  if (c.state.acceptance?.ok) return true;
  const acceptance = c.o.plan.acceptance;
  const a = await checkAcceptance(acceptance, c.o.workspace, c.masker, (t) => c.resolve(t), c.stopLatch.signal, c.stepEnv({}));
  c.stopLatch.throwIfStopped();
  c.append({ type: 'acceptance.checked', ok: a.ok, expected: acceptance.expect, said: a.said, source: a.source });
  c.append({ type: 'gate.changed', gate: 'acceptance', state: a.ok ? 'open' : 'blocked', message: a.detail });
  return a.ok || c.abort(`acceptance gate: ${a.detail}`);
}

function rollbackPlanGate(c: RunContext): boolean {
  const rb = c.o.plan.rollback;
  if (rb.steps.length === 0) return c.abort('no rollback plan: a release never starts without one');
  c.append({
    type: 'gate.changed',
    gate: 'rollback-plan',
    state: 'open',
    message: `${rb.steps.length} rollback step(s), to start within ${Math.round(rb.deadline / 1000)} s${rb.database ? `; ${databaseStrategyText(rb.database)}` : ''}`,
  });
  return true;
}

async function checklistGate(c: RunContext): Promise<boolean> {
  for (const item of c.o.plan.checklist) {
    c.stopLatch.throwIfStopped();
    const prev = c.state.checklist.find((x) => x.id === item.id);
    if (prev && (prev.state === 'passed' || prev.state === 'waived')) continue;
    if (!(await checklistItem(c, item))) return false;
  }
  c.append({ type: 'gate.changed', gate: 'checklist', state: 'open', message: 'every checklist item passed or was waived' });
  return true;
}

/** Checks one item until it passes, is waived with a reason, or the release is aborted. */
async function checklistItem(c: RunContext, item: ChecklistItem): Promise<boolean> {
  for (;;) {
    c.append({ type: 'checklist.item.changed', id: item.id, title: item.title, state: 'checking' });
    const { ok, detail, by } = await checkItem(c, item);
    c.append({ type: 'checklist.item.changed', id: item.id, title: item.title, state: ok ? 'passed' : 'failed', detail, by });
    if (ok) return true;
    const d = await c.stopLatch.race(c.o.prompter.onChecklistFailed(item, detail));
    if (d.action === 'retry') continue;
    if (d.action === 'waive') {
      const reason = writtenReason(d.reason);
      if (!reason) return c.abort(`checklist item ${item.id} cannot be waived without a written reason: ${REASON_RULE}`);
      c.append({ type: 'checklist.item.changed', id: item.id, title: item.title, state: 'waived', by: c.user, reason, detail });
      return true;
    }
    return c.abort(`checklist item "${item.title}" failed: ${detail}`);
  }
}

async function checkItem(c: RunContext, item: ChecklistItem): Promise<{ ok: boolean; detail: string; by?: string }> {
  if (item.manual) {
    const by = await c.stopLatch.race(c.o.prompter.tickManual(item));
    return { ok: by !== undefined, detail: by !== undefined ? `ticked by ${by}` : 'not ticked', by };
  }
  const r = await runCheck(item, c.o.workspace, c.state.version, c.o.plan.release.tagPrefix, c.masker, (t) => c.resolve(t), {
    signal: c.stopLatch.signal,
    redeploy: Boolean(c.state.redeployOf),
    env: c.o.plan.env,
    read: c.commandEnv(),
    versionOrigin: autoVersionOrigin(c),
  });
  c.stopLatch.throwIfStopped();
  return { ok: r.ok, detail: r.detail };
}

/** Blue-green: which colour is live is asked once, before anything is deployed. */
async function activeColour(c: RunContext): Promise<boolean> {
  const d = c.o.plan.phases.deploy;
  if (c.state.colors || d.strategy !== 'blue-green' || !d.blueGreen) return true;
  const bg = d.blueGreen;
  const r = await runShort(c.resolve(bg.active), { cwd: c.o.workspace, timeoutMs: 30_000, signal: c.stopLatch.signal, env: c.stepEnv({}) });
  c.stopLatch.throwIfStopped();
  const active = r.stdout.trim();
  if (r.exitCode !== 0 || !bg.colors.includes(active)) {
    return c.abort(
      `cannot tell the active colour: "${bg.active}" ${r.exitCode !== 0 ? `failed (exit code ${r.exitCode})` : `printed "${clip(active, 40)}", expected ${bg.colors.join(' or ')}`}`,
    );
  }
  c.append({ type: 'deploy.colors', active, idle: bg.colors.find((x) => x !== active)! });
  return true;
}

async function goDecision(c: RunContext): Promise<boolean> {
  if (c.events.some((e) => e.type === 'decision' && e.reason === 'go')) return true;
  const plan = c.o.plan;
  const again = c.state.redeployOf ? `Redeploy ${plan.release.name} ${c.state.version}, released before in run ${c.state.redeployOf.runId},` : '';
  const asked = again ? `${again} to ${plan.release.environment}?` : `Release ${plan.release.name} ${c.state.version} to ${plan.release.environment}?`;
  const question = plan.rollback.database ? `${asked}\nOn rollback, ${databaseStrategyText(plan.rollback.database)}.` : asked;
  const go = await c.stopLatch.race(c.o.prompter.confirm(question));
  if (!go) return c.abort('the release was not confirmed');
  c.append({ type: 'decision', action: 'continue', by: c.user, reason: 'go' });
  return true;
}

/** The ordering rules a careful engineer keeps. */
export function phaseGate(s: ReleaseState, phase: PhaseId): string | undefined {
  if (s.compat && !s.compat.ok && s.compat.strategy === 'code-only' && phase !== 'preparation' && phase !== 'staging') return compatText(s.compat);
  if (phase === 'migration') {
    const backupSteps = Object.values(s.steps).filter((x) => x.phase === 'backup' && !isBaselineStep(x.key));
    const backupPassed = backupSteps.length > 0 && backupSteps.every((x) => x.state === 'passed');
    if (!backupPassed) return 'no migration without a backup that passed in this same release (a waived backup is not a backup)';
  }
  if (phase === 'announcement') {
    const mon = s.phases.find((p) => p.id === 'monitoring')!;
    if (mon.state !== 'passed') return 'no announcement before the monitoring window passed';
  }
  return undefined;
}

/** With `version: auto`, the tag a git check expects is not in the plan: say where its version came from. */
function autoVersionOrigin(c: RunContext): string | undefined {
  if (c.o.plan.release.version !== 'auto') return undefined;
  const prev = c.state.changelog?.previousTag;
  return `version auto: ${c.state.version}, proposed from the commits since ${prev ?? 'the first commit (no release tag yet)'}`;
}
