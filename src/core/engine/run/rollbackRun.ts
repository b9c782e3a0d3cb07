import type { RollbackTrigger } from '../../model/events';
import type { ReleaseState } from '../../model/releaseState';
import { describeResult } from '../../exec/runner';
import type { RunContext } from './context';
import { spanText, type RollbackQuestion } from '../gates/rollbackAdmission';
import { execStep } from './stepExec';
import { ReleaseStopped } from './stopLatch';
import { notifyStep, webhookStep } from './announceUnits';
import { notBackOnOldColour } from './liveColour';
import { transition } from '../../model/statusTransitions';
import { databaseTouched, decideRestore, rollbackDatabase, type DbPart } from './dbRollback';
import type { WritesCount } from './dbWrites';
import { runRollbackSteps } from './rollbackTimeout';
import { exceptText, needsAttentionIn } from '../../model/needsAttention';
import * as fs from 'node:fs';

/** Runs the plan's rollback steps; a failure among them ends in `rollback-failed`, never in success. */
export async function runRollback(
  c: RunContext,
  trigger: RollbackTrigger,
  reason: string,
  by: string,
  requestedAt = c.clock.now(),
  q: Pick<RollbackQuestion, 'lateByMs' | 'forcedOver'> = {},
): Promise<ReleaseState> {
  // Whatever the release still waited on ends; the rollback's own waits end only on a second stop.
  c.stopLatch.interrupt();
  // Journaled just before the first rollback command starts: the latency ends there.
  const started = () =>
    transition(c, 'rollback.started', {
      trigger,
      reason,
      by,
      requestedAt: new Date(requestedAt).toISOString(),
      latencyMs: c.clock.now() - requestedAt,
      lateByMs: q.lateByMs,
      forcedOver: q.forcedOver,
    });
  const attention: string[] = [];
  const failed = await runCodeSteps(c, requestedAt, started, attention);
  const db = databaseTouched(c);
  const part: DbPart | undefined = !failed && db ? await rollbackDatabase(c, db, requestedAt) : undefined;
  if (part && 'held' in part) {
    // The code went back; the restore waits for a person (the run pauses, as any pause does).
    transition(c, 'release.paused', { message: part.held });
    return c.state;
  }
  return finishRollback(
    c,
    failed ?? (part && 'failed' in part ? part.failed : undefined),
    reason,
    requestedAt,
    part && 'done' in part ? part.done : undefined,
    attention,
  );
}

/**
 * A restore a rollback held for a person, confirmed or declined: the restore runs (or the database
 * stays as it is) and the rollback ends as any rollback does. The wait for the person is not the
 * rollback's time.
 */
export async function finishHeldRestore(c: RunContext, yes: boolean, w: WritesCount | undefined): Promise<ReleaseState> {
  const rb = c.state.rollback!;
  const heldMs = Math.max(0, c.clock.now() - Date.parse(c.state.pausedAt?.since ?? c.state.updatedAt));
  transition(c, 'release.resumed', { by: c.user, pid: process.pid });
  const requestedAt = Date.parse(rb.requestedAt) + heldMs;
  const part = await decideRestore(c, yes, w, requestedAt);
  return finishRollback(c, 'failed' in part ? part.failed : undefined, rb.reason, requestedAt, 'done' in part ? part.done : undefined);
}

/** The rollback's outcome journaled, announced, and the release finished with it. */
async function finishRollback(
  c: RunContext,
  failed: string | undefined,
  reason: string,
  requestedAt: number,
  dbText?: string,
  needsAttention: string[] = [],
): Promise<ReleaseState> {
  const budget = c.o.plan.rollback.budget;
  const outcome = failed ? 'rollback-failed' : 'rolled-back';
  const durationMs = c.clock.now() - requestedAt;
  const over = durationMs > budget ? ` (over the ${Math.round(budget / 1000)} s budget)` : '';
  const db = dbText ? `; ${dbText}` : '';
  const except = exceptText(needsAttention);
  transition(c, 'rollback.finished', {
    outcome,
    message: failed
      ? `ROLLBACK FAILED at ${failed}${except ? `; it could not roll back${except.replace(/^ except/, '')}` : ''}`
      : except
        ? `rolled back${except}: a person is needed there${over}${db}`
        : `every rollback step passed${over}${db}`,
    durationMs,
    budgetMs: budget,
    ...(needsAttention.length ? { needsAttention } : {}),
  });
  // Announced after the outcome is a fact in the journal: a failed announcement cannot hide it,
  // and a stop during the announcement cannot leave a finished rollback looking paused.
  try {
    await announceRollback(c);
  } catch (e) {
    if (!(e instanceof ReleaseStopped)) throw e;
    c.append({ type: 'warning', message: `the rollback announcement was cut short: ${e.message}` });
  }
  transition(c, 'release.finished', {
    outcome,
    message: failed
      ? `rollback failed at ${failed}; production needs a person now`
      : `rolled back${except}: ${reason}${db}${except ? '; a person is needed there' : ''}`,
  });
  return c.state;
}

/** The rollback's code steps; hosts a step names as needing a person go to `attention`; returns where it failed, if it did. */
async function runCodeSteps(c: RunContext, requestedAt: number, started: () => void, attention: string[]): Promise<string | undefined> {
  const failed = await runRollbackSteps(c, c.o.plan.rollback.steps, {
    id: (i) => `rollback/${i}`,
    what: 'rollback step',
    requestedAt,
    first: started,
    logged: (log) => {
      for (const a of needsAttentionIn(readLog(log))) if (!attention.includes(a)) attention.push(a);
    },
  });
  return failed ?? notBackOnOldColour(c);
}

/** A step's log as written ('' when it cannot be read: no line of it can then be taken into account). */
function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The plan's announcement channels, told of the rollback, its reason and its outcome. This is the
 * release's Announcement phase when it had not passed: its steps and outcome are the rollback's
 * announcement (passed when every channel took it, failed otherwise), so no view shows it pending.
 */
async function announceRollback(c: RunContext): Promise<void> {
  const a = c.o.plan.announce;
  if (!a.command && !a.webhook && !a.notify) return;
  const text = rollbackAnnouncementText(c.state);
  const n = c.state.rollbacks.length;
  const key = (ch: string) => `rollback/announce.${ch}${n > 1 ? `.${n}` : ''}`;
  const asPhase = c.state.phases.find((p) => p.id === 'announcement')?.state !== 'passed';
  const sentBefore = c.state.announcements.length;
  if (asPhase) c.append({ type: 'phase.started', phase: 'announcement' });
  try {
    if (a.command) await announceByCommand(c, key('command'), a.command, text);
    if (a.webhook) {
      const url = a.webhook.url;
      await webhookStep(
        c,
        { key: key('webhook'), phase: 'announcement', name: 'Announce the rollback (webhook)' },
        text,
        () => c.resolve(url),
        (r) => (r.ok ? text : r.detail),
      );
    }
    if (a.notify) await notifyStep(c, { key: key('notify'), phase: 'announcement', name: 'Announce the rollback (notification)' }, text);
  } finally {
    const sent = c.state.announcements.slice(sentBefore);
    const ok = sent.length > 0 && sent.every((x) => x.ok);
    if (asPhase) c.append({ type: 'phase.finished', phase: 'announcement', outcome: ok ? 'passed' : 'failed' });
  }
}

async function announceByCommand(c: RunContext, key: string, command: string, text: string): Promise<void> {
  let ok: boolean;
  let message: string;
  try {
    const r = await execStep(c, key, 'announcement', 'Announce the rollback (command)', c.resolve(command), {
      env: { RELEASE_PILOT_ANNOUNCEMENT: text, RELEASE_PILOT_OUTCOME: c.state.rollback?.outcome ?? '' },
      timeoutMs: 60_000,
    });
    ok = r.ok;
    message = r.ok ? text : `announcement command failed: ${describeResult(r.result)}`;
  } catch (e) {
    ok = false;
    message = `announcement command failed: ${c.masker.mask((e as Error).message)}`;
  }
  c.append({ type: 'announcement.sent', channel: 'command', ok, message });
}

/** Rolls back as requested (by a person, a guard or a failed step); the release stops there. */
export async function rollbackNow(c: RunContext): Promise<'stop'> {
  const r = c.rollbackRequest!;
  await runRollback(c, r.trigger, r.reason, r.by, r.at);
  return 'stop';
}

/** The announcement of a rollback: what, why, and how it ended (a failed rollback says so first). */
export function rollbackAnnouncementText(s: ReleaseState): string {
  const rb = s.rollback;
  const head = `${s.name} ${s.version} on ${s.environment}`;
  if (!rb) return `${head}: no rollback`;
  const took =
    rb.durationMs !== undefined
      ? ` in ${spanText(rb.durationMs)}${rb.budgetMs !== undefined && rb.durationMs > rb.budgetMs ? ` (OVER the ${spanText(rb.budgetMs)} budget)` : ''}`
      : '';
  const outcome =
    rb.outcome === 'rolled-back'
      ? `ROLLED BACK${took}${rb.needsAttention?.length ? `${exceptText(rb.needsAttention)}; a person is needed there` : ''}`
      : `ROLLBACK FAILED${took}: ${rb.message ?? 'see the journal'}; production needs a person now`;
  return `${head}: ${outcome}. Reason (${rb.trigger}, by ${rb.by}): ${rb.reason}`;
}

export { rollbackStepTimeout } from './rollbackTimeout';
