import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PHASES, PHASE_TITLES } from '../../model/schema';
import { ReleaseLock, readJournal, repairTornTail } from '../../journal/journal';
import type { RollbackTrigger } from '../../model/events';
import { foldJournal, isFinal, type ReleaseState } from '../../model/releaseState';
import { allows, transition } from '../../model/statusTransitions';
import { userName } from '../../git/git';
import { writeReport } from '../../report/report';
import { freshRunId, lockFile, runsDir } from '../queries/runs';
import { coreApiCheck } from './coreApiCheck';
import { rollbackAdmission, supersedingRuns, type RollbackQuestion } from '../gates/rollbackAdmission';
import { ReleaseStopped } from './stopLatch';
import { RunContext } from './context';
import { refuseDamagedJournal } from '../gates/journalTrust';
import { GateError } from '../gates/gateError';
import { refuseOverUnresolvedRun, refuseRecordedSecrets, runPreflight, runsUnderLock, startPreflight } from '../gates/preflight';
import { statesOf } from '../queries/liveState';
import { releaseCommitUnchanged, gates } from '../gates/runGates';
import { runPhase } from './phases';
import { finishHeldRestore, runRollback } from './rollbackRun';
import { restoreHeld, restoreQuestion } from './dbRollback';
import { refuseLiveMismatch } from './liveColour';
import { oldColourKept, recordReopenFacts, startedEvent } from './openingEvents';
import type { EngineOptions } from './ports';
import { resumedInputs, startInputs } from './runInputs';
import { REASON_RULE, writtenReason } from '../gates/writtenReason';
import { StoreSync } from './storeSync';

export { latestRunId, loadRun, lockFile, parseRunId, runDir, runIdProblem, runsDir } from '../queries/runs';
export { silentLogger, type ChecklistDecision, type EngineOptions, type FailureDecision, type FailureInfo, type Logger, type Prompter } from './ports';
export { GateError } from '../gates/gateError';
export { DEFAULT_STEP_TIMEOUT_MS } from './stepExec';
export { announcementText } from './announceUnits';

export async function currentUser(cwd: string): Promise<string> {
  return (await userName(cwd)) ?? os.userInfo().username;
}

/**
 * One release run. It owns the lock and the journal while it runs; everything it does is an
 * event in the journal first. Its parts act on the run's context: the refusals before it goes on
 * (gates/preflight.ts), the gates (gates/runGates.ts), phases and failure decisions (phases.ts), one
 * handler per unit kind (unitDispatch.ts), rollback (rollbackRun.ts).
 */
export class Release {
  readonly runId: string;
  readonly runDir: string;
  private readonly c: RunContext;
  private lock?: ReleaseLock;
  private closed = false;

  private constructor(
    private readonly o: EngineOptions,
    runId: string,
  ) {
    this.c = new RunContext(o, runId);
    this.runId = runId;
    this.runDir = this.c.runDir;
  }

  get snapshot(): ReleaseState {
    return this.c.state;
  }

  /** Starts a new release: takes the lock, opens a journal, and runs it. */
  static async start(o: EngineOptions): Promise<Release> {
    const p = await startPreflight(o);
    const { planRel, version, changelog, redeployOf, previous, commit, clean } = p;
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const runId = o.runId ?? freshRunId(o.workspace, `${stamp}-${version.replace(/[^0-9A-Za-z.-]/g, '_')}`);
    const r = new Release(o, runId);
    const c = r.c;
    c.user = o.user ?? (await currentUser(o.workspace));
    refuseRecordedSecrets(o, c.env, p, { runId, user: c.user });
    r.takeLock();
    try {
      await r.takeStoreLock();
      const runs = runsUnderLock(o, p, runId);
      refuseOverUnresolvedRun(runs, planRel, runId);
      r.warnTakeover();
      const kept = oldColourKept(o, statesOf(runs));
      c.openJournal();
      const inputs = startInputs(o.plan, { vars: o.vars, env: c.readEnv(), ...o.given }, c.holdsSecret);
      transition(c, 'release.started', startedEvent(o, c, { planRel, version, previous, commit, clean, redeployOf, inputs }));
      if (previous?.uncertain)
        c.append({
          type: 'warning',
          message: `what serves ${o.plan.release.environment} now is uncertain: ${previous.uncertain}; \${release.previousVersion} is ${previous.version}`,
        });
      if (changelog) c.append({ type: 'changelog.generated', previousTag: changelog.previousTag, version, sections: changelog.sections });
      c.append({ type: 'verification.planned', coreApi: coreApiCheck(o.plan) });
      if (kept) c.append({ type: 'retire.inherited', ...kept });
      r.beginStore();
    } catch (e) {
      await r.releaseLocks();
      throw e;
    }
    return r;
  }

  /** Opens an existing run again (after a pause, a crash or a reload) and takes its lock. */
  static async reopen(o: EngineOptions, runId: string): Promise<Release> {
    const r = new Release(o, runId);
    const c = r.c;
    c.reopened = true;
    const file = path.join(r.runDir, 'journal.jsonl');
    if (!fs.existsSync(file)) throw new Error(`no release run ${runId} in ${runsDir(o.workspace)}`);
    c.user = o.user ?? (await currentUser(o.workspace));
    r.takeLock();
    r.warnTakeover();
    try {
      await r.takeStoreLock();
      const torn = repairTornTail(file);
      c.events = readJournal(file).events;
      c.state = foldJournal(c.events);
      // A run goes on with the inputs it started with, whoever reopens it (CLI, VS Code) and whatever they were given.
      const resumed = resumedInputs(runId, c.state.inputs, o.plan, o.vars, c.holdsSecret, c.readEnv());
      if (!resumed.ok) throw new GateError('inputs', resumed.message);
      c.vars = resumed.vars;
      c.openJournal();
      recordReopenFacts(c, o.planText, torn);
      r.beginStore();
    } catch (e) {
      await r.releaseLocks();
      throw e;
    }
    return r;
  }

  private takeLock(): void {
    this.lock = ReleaseLock.acquire(lockFile(this.o.workspace), { user: this.c.user, holder: this.o.holder ?? 'release-pilot', runId: this.runId });
  }

  /** After the local lock: the shared store's lock for the environment, when the plan has a store. */
  private async takeStoreLock(): Promise<void> {
    if (this.o.store) this.c.store = this.shared = await StoreSync.acquire(this.c, this.o.store, this.o.holder ?? 'release-pilot');
  }

  /**
   * Once the journal is open: the store's renewals start; a lost lease stops the release (paused,
   * journaled), and a rollback asked for through the store is asked of this release as a person would.
   */
  private beginStore(): void {
    this.shared?.begin(
      (e) => this.stop(`the loss of the store lock ${e.key}`),
      (reason, by) => this.requestRollback(reason, by),
    );
    void this.shared?.publish();
  }

  private async releaseLocks(): Promise<void> {
    await this.shared?.close();
    this.lock?.release();
  }

  /** Settles once the store has the run's last events and its lock is given up (at once without a store). */
  settled(): Promise<void> {
    return this.storeClosed ?? Promise.resolve();
  }
  private storeClosed?: Promise<void>;
  /** The run's hold on the plan's shared store, when it has one. */
  private shared?: StoreSync;

  /** Said only once the lock is really used: a start refused over the dead holder's run took nothing over. */
  private warnTakeover(): void {
    if (this.lock?.tookOver)
      this.c.log.warn(`took over a stale release lock of pid ${this.lock.tookOver.pid} (${this.lock.tookOver.holder}), which is no longer running`);
  }

  /** Ends the run's hold on the lock and the journal. */
  close(): void {
    this.closed = true;
    if (this.c.state?.runId) {
      try {
        writeReport(this.runDir, this.c.state);
      } catch (e) {
        this.c.log.error(`could not write the report: ${(e as Error).message}`);
      }
    }
    void this.c.monitor?.close();
    this.storeClosed ??= this.shared?.close();
    this.c.journal?.close();
    this.lock?.release();
    this.lock = undefined;
  }

  /** Asks the running release to roll back: the current step is ended and the rollback starts. */
  requestRollback(reason: string, by: string): void {
    if (!this.c.requestRollback({ reason, by, at: this.c.clock.now(), trigger: 'user' })) return;
    for (const r of this.c.running) r.cancel();
  }

  /** Cancels the running step (every one of a batch; each then fails and the usual choices are offered). */
  cancelStep(): void {
    for (const r of this.c.running) r.cancel();
  }

  /**
   * Stops the release (a signal, a closing window): the running step's whole process group is
   * ended (SIGTERM, then SIGKILL after the grace; at once when asked again), its end and the stop
   * are journaled, and the run pauses, to be resumed or abandoned. A rollback under way finishes
   * first, so production is not left half switched back; asked again, its step is killed and the
   * rollback recorded as failed.
   */
  stop(by: string): void {
    if (this.closed) return;
    const c = this.c;
    const n = c.stopLatch.request(by);
    if (c.state?.status === 'rolling-back') {
      if (n === 1)
        c.append({
          type: 'warning',
          message: `${by} arrived during the rollback: the rollback finishes first; a second one ends its step at once and leaves the rollback failed`,
        });
      else for (const r of c.running) r.cancel(true);
      return;
    }
    for (const r of c.running) r.cancel(n > 1);
  }

  /** Journals why the release stopped: paused (resumable) once a step ran, otherwise aborted. */
  private recordStop(by: string): void {
    const c = this.c;
    const interrupted = Object.values(c.state.steps).find((st) => st.state === 'interrupted');
    if (!c.events.some((e) => e.type === 'step.started')) {
      transition(c, 'release.finished', { outcome: 'aborted', message: `stopped by ${by} before any step ran` });
      return;
    }
    transition(c, 'release.paused', {
      step: interrupted?.key,
      stoppedBy: by,
      message: `stopped by ${by}${interrupted ? ` while "${interrupted.name}" ran` : ''}`,
    });
  }

  /** Ends a run nobody will finish: orphans were ended by reopen; who abandons it and why is journaled. */
  abandon(reason: string): ReleaseState {
    const c = this.c;
    try {
      // What the table lets end as aborted: a finished run, or one a rollback holds, is refused here rather than mid-way.
      // A rollback waiting before its restore is not abandoned half way: the person answers the restore.
      if (restoreHeld(c.state))
        throw new GateError(
          'abandon',
          `release ${c.state.version} (run ${this.runId}) rolled its code back and waits before the database restore; a rollback is not abandoned half way: answer it with \`release-pilot rollback ${this.runId} --restore\` (restore the backup) or \`release-pilot rollback ${this.runId} --no-restore\` (keep the database as it is)`,
        );
      if (!allows(c.state.lifecycle, 'release.finished:aborted'))
        throw new GateError('abandon', `nothing to abandon: release ${c.state.version} (run ${this.runId}) is ${c.state.status}`);
      if (!writtenReason(reason)) throw new GateError('abandon', `abandoning a release needs a written reason: ${REASON_RULE}`);
      c.append({ type: 'decision', action: 'abandon', by: c.user, reason });
      transition(c, 'release.finished', { outcome: 'aborted', message: `abandoned by ${c.user}: ${reason}` });
      return c.state;
    } finally {
      this.close();
    }
  }

  writeInput(data: string): void {
    this.c.current?.write(data);
  }

  /** Runs the release from wherever its journal says it is, to an outcome or a pause. */
  async run(): Promise<ReleaseState> {
    try {
      return await this.runToStop();
    } catch (e) {
      if (!(e instanceof ReleaseStopped)) throw e;
      this.recordStop(e.by);
      return this.c.state;
    } finally {
      this.close();
      await this.settled();
    }
  }

  private async runToStop(): Promise<ReleaseState> {
    const c = this.c;
    if (isFinal(c.state.status)) return c.state;
    if (restoreHeld(c.state))
      throw new GateError(
        'rollback-restore',
        `run ${this.runId} rolled its code back and waits before the restore: ${c.state.pausedAt?.message ?? ''}`.replace(/: $/, ''),
      );
    refuseDamagedJournal(c.state, this.o.plan, this.runId, this.runDir);
    c.stopLatch.throwIfStopped();
    await runPreflight(c);
    // A run that paused, or whose phases had started when its process ended, goes on as resumed.
    if (allows(c.state.lifecycle, 'release.resumed')) transition(c, 'release.resumed', { by: c.user, pid: process.pid });
    if (!(await releaseCommitUnchanged(c))) return c.state;
    if (!(await gates(c))) return c.state;
    for (const phase of PHASES) {
      const before = c.state.phases.find((p) => p.id === phase)!.state;
      const outcome = await runPhase(c, phase);
      if (outcome === 'stop') return c.state;
      if (this.o.stopAfter === phase && before !== 'passed' && before !== 'skipped' && phase !== PHASES[PHASES.length - 1]) {
        transition(c, 'release.paused', { message: `paused after ${PHASE_TITLES[phase]}, as asked` });
        return c.state;
      }
    }
    const failedAnnouncements = Object.values(c.state.steps).filter((s) => s.phase === 'announcement' && s.state === 'failed').length;
    transition(c, 'release.finished', {
      outcome: 'released',
      message: failedAnnouncements ? `every phase passed; ${failedAnnouncements} announcement(s) failed` : 'every phase passed',
    });
    return c.state;
  }

  /** Runs the plan's rollback steps; a failure among them ends in `rollback-failed`, never in success. */
  rollback(
    trigger: RollbackTrigger,
    reason: string,
    by: string,
    requestedAt = this.c.clock.now(),
    q: Pick<RollbackQuestion, 'lateByMs' | 'forcedOver'> = {},
  ): Promise<ReleaseState> {
    return runRollback(this.c, trigger, reason, by, requestedAt, q);
  }

  /**
   * Rolls back a release this process reopened (CLI `rollback`, or a click after a reload). Refuses
   * a run a newer one superseded unless forced; after the window it asks, naming how late, and never refuses.
   */
  async rollbackFinished(reason: string, opts: { force?: boolean; restore?: boolean } = {}): Promise<ReleaseState> {
    const c = this.c;
    try {
      refuseDamagedJournal(c.state, this.o.plan, this.runId, this.runDir);
      if (restoreHeld(c.state)) return await this.heldRestore(opts.restore);
      if (opts.restore !== undefined)
        throw new GateError(
          'rollback-restore',
          `no restore waits for a decision in run ${this.runId}: --restore and --no-restore answer a rollback that waits before its restore`,
        );
      const admission = rollbackAdmission(c.state, this.o.plan, c.clock.now(), supersedingRuns(this.o.workspace, c.state), Boolean(opts.force));
      if (!admission.ok) throw new GateError(admission.supersededBy ? 'rollback-superseded' : 'rollback', admission.refusal);
      await refuseLiveMismatch(c);
      const q = admission.question;
      const requestedAt = c.clock.now();
      const yes = c.o.prompter.confirmRollback ? await c.o.prompter.confirmRollback(q) : await c.o.prompter.confirm(q.message);
      if (!yes)
        throw new GateError(
          'rollback-unconfirmed',
          `the rollback was not confirmed; nothing was started${q.lateByMs !== undefined ? ' (a late rollback needs an explicit confirmation that it is late)' : ''}`,
        );
      if (q.forcedOver) c.append({ type: 'decision', action: 'rollback', by: c.user, reason: `forced over the newer run ${q.forcedOver}: ${reason}` });
      return await runRollback(c, 'user', reason, c.user, requestedAt, q);
    } finally {
      this.close();
      await this.settled();
    }
  }

  /**
   * The answer to a rollback that waits before its restore: declined (`false`), the database stays as
   * it is; otherwise the writes it would discard are counted again and the person confirms them.
   */
  private async heldRestore(restore: boolean | undefined): Promise<ReleaseState> {
    const c = this.c;
    if (restore === false) {
      c.append({ type: 'decision', action: 'rollback', by: c.user, reason: 'the restore was declined: the database stays as it is' });
      return finishHeldRestore(c, false, undefined);
    }
    const q = await restoreQuestion(c);
    const p = c.o.prompter;
    const answer = restore === undefined && p.decideRestore ? await p.decideRestore(q.message) : (await p.confirm(q.message)) ? 'restore' : undefined;
    if (answer === 'decline') return this.heldRestore(false);
    if (answer !== 'restore')
      throw new GateError(
        'rollback-unconfirmed',
        `the restore was not confirmed; nothing was done (to decline it: release-pilot rollback ${this.runId} --no-restore)`,
      );
    c.append({
      type: 'decision',
      action: 'rollback',
      by: c.user,
      reason: `the restore was confirmed${q.writes ? ` over ${q.writes.total} write(s) since the backup` : ''}`,
    });
    return finishHeldRestore(c, true, q.writes);
  }
}
