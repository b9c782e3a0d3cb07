import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PHASES, PHASE_TITLES, type ChecklistItem, type PhaseId, type Plan, type Step } from '../plan/schema';
import { runShort } from '../exec/short';
import { SecretMasker } from '../exec/mask';
import { describeResult, StepRunner, type RunningStep, type StepResult } from '../exec/runner';
import { Journal, ReleaseLock, readJournal, repairTornTail } from '../journal/journal';
import { freshRunId, loadRun, lockFile, runIds, runsDir } from './runs';
export { latestRunId, loadRun, lockFile, runsDir } from './runs';
import { Monitor, type Breach, type BreachDecision } from '../monitor/monitor';
import { realClock, type Clock } from '../base/clock';
import type { NewEvent, ReleaseEvent, RollbackTrigger } from '../base/events';
import { applyEvent, foldJournal, isFinal, type ReleaseState, type StepView } from '../base/fold';
import { interpolate, type Scope } from './interpolate';
import { runScope } from '../plan/scope';
import { previousVersionOf, previousVersionRefusal, resolveVersion } from './releaseFacts';
import { secretSources, unmaskableSecrets } from './secrets';
import { maskedLogger, maskedPrompter } from './maskedFrontEnd';
import { checkAcceptance, httpCheck, runCheck, scanLog } from './checks';
import { isBaselineStep, retireUnits, unitsFor, type Unit } from './units';
import { coreApiCheck } from './coreApi';
import { rollbackAdmission, rollbackAnnouncementText, rollbackStepTimeout, supersedingRuns, type RollbackQuestion } from './rollback';
import { userName } from '../git/git';
import { headCommit, releaseCommitMoved } from '../git/gate';
import { postWebhook } from '../report/announce';
import { writeReport } from '../report/report';
import { formatNumber } from '../format';
import { findUnresolvedRun, ReleaseStopped, StopLatch, UnresolvedRunError } from './stop';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export interface FailureInfo {
  step: StepView;
  unit: Unit;
  message: string;
  /** Whether production was already touched: rolling back makes sense. */
  rollbackAvailable: boolean;
}
export type FailureDecision = { action: 'retry' } | { action: 'rollback' } | { action: 'pause' } | { action: 'waive'; reason: string };
export type ChecklistDecision = { action: 'retry' } | { action: 'abort' } | { action: 'waive'; reason: string };

/** How a front end (CLI, VS Code) answers the questions a release asks. */
export interface Prompter {
  /** The go/no-go confirmation naming version and environment, and production steps (`about.step`: its key). */
  confirm(message: string, about?: { step?: string }): Promise<boolean>;
  onFailure(f: FailureInfo): Promise<FailureDecision>;
  onChecklistFailed(item: ChecklistItem, detail: string): Promise<ChecklistDecision>;
  /** A person ticks a manual item; returns the name of who ticked it, or undefined. */
  tickManual(item: ChecklistItem): Promise<string | undefined>;
  onBreach(b: Breach): Promise<BreachDecision>;
  notify(message: string): Promise<void>;
  /**
   * Before a rollback of a reopened release starts. A late or forced rollback has to be confirmed
   * as such; without this method, `confirm` is asked with the question's message.
   */
  confirmRollback?(q: RollbackQuestion): Promise<boolean>;
}

export interface EngineOptions {
  planFile: string;
  plan: Plan;
  planText: string;
  /** The folder steps run in: the workspace that holds `.release/`. */
  workspace: string;
  prompter: Prompter;
  logger?: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  vars?: Record<string, string>;
  user?: string;
  /** Who holds the lock, as shown to a second window or CLI: "CLI", "VS Code window"... */
  holder?: string;
  /** Masked output of the running step, for a terminal. */
  onOutput?(stepKey: string, chunk: string): void;
  onStepStarted?(stepKey: string, running: RunningStep): void;
  onEvent?(e: ReleaseEvent, state: ReleaseState): void;
  color?: boolean;
  /** Pause after this phase finished (run one phase at a time). */
  stopAfter?: PhaseId;
  /** Answers decided before the run for failed or interrupted steps (Retry Step, Waive from the tree). */
  decided?: Record<string, FailureDecision>;
  /** The id of a new run (default: time and version). */
  runId?: string;
  /** Grace period between SIGTERM and SIGKILL when a step is ended. */
  killGraceMs?: number;
}

export class GateError extends Error {
  override name = 'GateError';
  constructor(
    readonly gate: string,
    message: string,
  ) {
    super(message);
  }
}

export const DEFAULT_STEP_TIMEOUT_MS = 15 * 60_000;

export async function currentUser(cwd: string): Promise<string> {
  return (await userName(cwd)) ?? os.userInfo().username;
}

/**
 * One release run. It owns the lock and the journal while it runs; everything it does is an
 * event in the journal first.
 */
export class Release {
  readonly runId: string;
  readonly runDir: string;
  private journal!: Journal;
  private lock?: ReleaseLock;
  private events: ReleaseEvent[] = [];
  private state!: ReleaseState;
  private readonly masker: SecretMasker;
  private readonly runner: StepRunner;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly env: NodeJS.ProcessEnv;
  private current?: RunningStep;
  private monitorAbort?: AbortController;
  private rollbackRequest?: { reason: string; by: string; at: number; trigger: RollbackTrigger };
  private readonly stopLatch = new StopLatch();
  private closed = false;
  private user = '';
  /** Opened again after a pause, a crash or a reload: only then can its commit have moved since it started. */
  private reopened = false;

  private constructor(
    private readonly o: EngineOptions,
    runId: string,
  ) {
    this.runId = runId;
    this.runDir = path.join(runsDir(o.workspace), runId);
    this.env = o.env ?? process.env;
    this.masker = new SecretMasker(secretSources(o.planText, o.plan.secrets, this.env).map((x) => x.value));
    // Front ends only ever see masked text, whatever the engine hands them.
    this.o = { ...o, prompter: maskedPrompter(o.prompter, this.masker) };
    this.runner = new StepRunner(this.masker, o.killGraceMs);
    this.log = maskedLogger(o.logger ?? silentLogger, this.masker);
    this.clock = o.clock ?? realClock;
  }

  get snapshot(): ReleaseState {
    return this.state;
  }

  /** Starts a new release: takes the lock, opens a journal, and runs it. */
  static async start(o: EngineOptions): Promise<Release> {
    // Only a new release is refused: a rollback of a running one must always be able to start.
    const unmaskable = unmaskableSecrets(secretSources(o.planText, o.plan.secrets, o.env ?? process.env));
    if (unmaskable) throw new GateError('secrets', unmaskable);
    const v = await resolveVersion(o.workspace, o.plan);
    if (!v.ok) throw new GateError('version', v.message);
    const { version, changelog } = v;
    const planRel = path.relative(o.workspace, o.planFile) || o.planFile;
    const previous = await previousVersionOf(o.workspace, o.plan, planRel, version);
    const refused = previousVersionRefusal(planRel, o.planText, o.plan, previous);
    if (refused) throw new GateError('previous-version', refused);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const runId = o.runId ?? freshRunId(o.workspace, `${stamp}-${version.replace(/[^0-9A-Za-z.-]/g, '_')}`);
    const r = new Release(o, runId);
    r.user = o.user ?? (await currentUser(o.workspace));
    const commit = await headCommit(o.workspace);
    r.takeLock();
    try {
      const unresolved = findUnresolvedRun(o.workspace, path.relative(o.workspace, o.planFile) || o.planFile, runId);
      if (unresolved) throw new UnresolvedRunError(unresolved.runId, unresolved.state);
      r.warnTakeover();
      const kept = oldColourKept(o);
      r.openJournal();
      r.append({
        type: 'release.started',
        runId,
        plan: planRel,
        name: o.plan.release.name,
        version,
        environment: o.plan.release.environment,
        user: r.user,
        host: os.hostname(),
        pid: process.pid,
        planHash: crypto.createHash('sha256').update(o.planText).digest('hex'),
        ...(previous ? { previousVersion: previous.version, previousVersionFrom: previous.source } : {}),
        ...(commit ? { commit } : {}),
      });
      if (changelog) r.append({ type: 'changelog.generated', previousTag: changelog.previousTag, version, sections: changelog.sections });
      r.append({ type: 'verification.planned', coreApi: coreApiCheck(o.plan) });
      if (kept) r.append({ type: 'retire.inherited', ...kept });
    } catch (e) {
      r.lock?.release();
      throw e;
    }
    return r;
  }

  /** Opens an existing run again (after a pause, a crash or a reload) and takes its lock. */
  static async reopen(o: EngineOptions, runId: string): Promise<Release> {
    const r = new Release(o, runId);
    r.reopened = true;
    const file = path.join(r.runDir, 'journal.jsonl');
    if (!fs.existsSync(file)) throw new Error(`no release run ${runId} in ${runsDir(o.workspace)}`);
    r.user = o.user ?? (await currentUser(o.workspace));
    r.takeLock();
    r.warnTakeover();
    try {
      const torn = repairTornTail(file);
      const read = readJournal(file);
      r.events = read.events;
      // What the journal says with nobody running it: the steps that were running are interrupted.
      const closed = foldJournal(r.events, { closed: true });
      r.state = foldJournal(r.events);
      r.openJournal();
      if (torn) r.append({ type: 'warning', message: 'the journal ended in a torn line (a crash mid-write); that line was dropped' });
      // What the closed fold calls interrupted becomes a fact in the journal.
      for (const st of Object.values(closed.steps)) {
        if (st.state !== 'interrupted') continue;
        r.append({ type: 'step.interrupted', step: st.key, message: st.message ?? 'interrupted' });
        if (st.pid && endOrphanGroup(st.pid))
          r.append({ type: 'warning', message: `ended the processes left running by the interrupted step "${st.name}" (process group ${st.pid})` });
      }
      if (r.state.rollback && !r.state.rollback.outcome) {
        r.append({ type: 'rollback.finished', outcome: 'rollback-failed', message: 'the rollback was interrupted before it finished' });
        r.append({ type: 'release.finished', outcome: 'rollback-failed', message: 'the rollback was interrupted before it finished; roll back again' });
      }
      const hash = crypto.createHash('sha256').update(o.planText).digest('hex');
      const started = r.events.find((e) => e.type === 'release.started');
      if (started && started.type === 'release.started' && started.planHash !== hash)
        r.append({ type: 'warning', message: 'the plan changed since this release started; the current plan is used' });
    } catch (e) {
      r.lock?.release();
      throw e;
    }
    return r;
  }

  private takeLock(): void {
    this.lock = ReleaseLock.acquire(lockFile(this.o.workspace), { user: this.user, holder: this.o.holder ?? 'release-pilot', runId: this.runId });
  }

  /** Said only once the lock is really used: a start refused over the dead holder's run took nothing over. */
  private warnTakeover(): void {
    if (this.lock?.tookOver)
      this.log.warn(`took over a stale release lock of pid ${this.lock.tookOver.pid} (${this.lock.tookOver.holder}), which is no longer running`);
  }

  private openJournal(): void {
    this.journal = new Journal(path.join(this.runDir, 'journal.jsonl'));
    this.state ??= foldJournal(this.events);
  }

  private append(e: NewEvent): ReleaseEvent {
    const full = this.journal.append(this.masker.maskDeep(e));
    this.events.push(full);
    applyEvent(this.state, full);
    this.o.onEvent?.(full, this.state);
    return full;
  }

  /** Ends the run's hold on the lock and the journal. */
  close(): void {
    this.closed = true;
    if (this.state?.runId) {
      try {
        writeReport(this.runDir, this.state);
      } catch (e) {
        this.log.error(`could not write the report: ${(e as Error).message}`);
      }
    }
    this.journal?.close();
    this.lock?.release();
    this.lock = undefined;
  }

  private scope(extra: Record<string, string> = {}): Scope {
    const s = this.state ?? { version: '', runId: '' };
    const scope = runScope(this.o.plan, { ...s, runId: this.runId }, this.runDir, this.env, this.o.vars);
    return { ...scope, builtins: { ...scope.builtins, ...extra } };
  }

  private resolve = (text: string, extra?: Record<string, string>) => interpolate(text, this.scope(extra));

  /** A step's own environment with the plan's references resolved. */
  private stepEnv(s: Step, extra?: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(s.env ?? {}).map(([k, v]) => [k, this.resolve(v, extra)]));
  }

  /** Asks the running release to roll back: the current step is ended and the rollback starts. */
  requestRollback(reason: string, by: string): void {
    if (this.rollbackRequest) return;
    this.rollbackRequest = { reason, by, at: this.clock.now(), trigger: 'user' };
    this.monitorAbort?.abort();
    this.current?.cancel();
  }

  /** Cancels the running step (it then fails and the usual choices are offered). */
  cancelStep(): void {
    this.current?.cancel();
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
    const n = this.stopLatch.request(by);
    if (this.state?.status === 'rolling-back') {
      if (n === 1)
        this.append({
          type: 'warning',
          message: `${by} arrived during the rollback: the rollback finishes first; a second one ends its step at once and leaves the rollback failed`,
        });
      else this.current?.cancel(true);
      return;
    }
    this.monitorAbort?.abort();
    this.current?.cancel(n > 1);
  }

  /** Journals why the release stopped: paused (resumable) once a step ran, otherwise aborted. */
  private recordStop(by: string): void {
    const interrupted = Object.values(this.state.steps).find((st) => st.state === 'interrupted');
    if (!this.events.some((e) => e.type === 'step.started')) {
      this.append({ type: 'release.finished', outcome: 'aborted', message: `stopped by ${by} before any step ran` });
      return;
    }
    this.append({
      type: 'release.paused',
      step: interrupted?.key,
      stoppedBy: by,
      message: `stopped by ${by}${interrupted ? ` while "${interrupted.name}" ran` : ''}`,
    });
  }

  /** Ends a run nobody will finish: orphans were ended by reopen; who abandons it and why is journaled. */
  abandon(reason: string): ReleaseState {
    try {
      if (isFinal(this.state.status))
        throw new GateError('abandon', `nothing to abandon: release ${this.state.version} (run ${this.runId}) is ${this.state.status}`);
      if (!reason.trim()) throw new GateError('abandon', 'abandoning a release needs a written reason');
      this.append({ type: 'decision', action: 'abandon', by: this.user, reason });
      this.append({ type: 'release.finished', outcome: 'aborted', message: `abandoned by ${this.user}: ${reason}` });
      return this.state;
    } finally {
      this.close();
    }
  }

  writeInput(data: string): void {
    this.current?.write(data);
  }

  /** Runs the release from wherever its journal says it is, to an outcome or a pause. */
  async run(): Promise<ReleaseState> {
    try {
      return await this.runToStop();
    } catch (e) {
      if (!(e instanceof ReleaseStopped)) throw e;
      this.recordStop(e.by);
      return this.state;
    } finally {
      this.close();
    }
  }

  private async runToStop(): Promise<ReleaseState> {
    {
      if (isFinal(this.state.status)) return this.state;
      this.stopLatch.throwIfStopped();
      if (this.events.some((e) => e.type === 'release.paused' || e.type === 'phase.started')) {
        this.append({ type: 'release.resumed', by: this.user, pid: process.pid });
      }
      if (!(await this.releaseCommitUnchanged())) return this.state;
      if (!(await this.gates())) return this.state;
      for (const phase of PHASES) {
        const before = this.state.phases.find((p) => p.id === phase)!.state;
        const outcome = await this.runPhase(phase);
        if (outcome === 'stop') return this.state;
        if (this.o.stopAfter === phase && before !== 'passed' && before !== 'skipped' && phase !== PHASES[PHASES.length - 1]) {
          this.append({ type: 'release.paused', message: `paused after ${PHASE_TITLES[phase]}, as asked` });
          return this.state;
        }
      }
      const failedAnnouncements = Object.values(this.state.steps).filter((s) => s.phase === 'announcement' && s.state === 'failed').length;
      this.append({
        type: 'release.finished',
        outcome: 'released',
        message: failedAnnouncements ? `every phase passed; ${failedAnnouncements} announcement(s) failed` : 'every phase passed',
      });
      return this.state;
    }
  }

  /** A release goes on only from the commit it started from: a moved HEAD or tag pauses it, naming both SHAs. */
  private async releaseCommitUnchanged(): Promise<boolean> {
    // A new run starts at HEAD by definition; whether HEAD is the tagged release commit is the checklist's git gate.
    if (!this.reopened) return true;
    const started = this.events.find((e) => e.type === 'release.started');
    if (!started || started.type !== 'release.started' || !started.commit) return true;
    const moved = await releaseCommitMoved(this.o.workspace, started.commit, `${this.o.plan.release.tagPrefix}${this.state.version}`);
    if (!moved) {
      if (this.state.gates.git?.state === 'blocked')
        this.append({ type: 'gate.changed', gate: 'git', state: 'open', message: `HEAD and the release tag are back at ${started.commit}` });
      return true;
    }
    this.append({ type: 'gate.changed', gate: 'git', state: 'blocked', message: moved });
    this.append({ type: 'release.paused', message: `git gate: ${moved}; put it back to resume, or start a new release` });
    return false;
  }

  /** Acceptance verdict, rollback plan, checklist, then the go/no-go confirmation. */
  private async gates(): Promise<boolean> {
    const plan = this.o.plan;
    if (!this.state.acceptance?.ok) {
      const a = await checkAcceptance(plan.acceptance, this.o.workspace, this.masker, (t) => this.resolve(t), this.stopLatch.signal);
      this.stopLatch.throwIfStopped();
      this.append({ type: 'acceptance.checked', ok: a.ok, expected: plan.acceptance.expect, said: a.said, source: a.source });
      this.append({ type: 'gate.changed', gate: 'acceptance', state: a.ok ? 'open' : 'blocked', message: a.detail });
      if (!a.ok) return this.abort(`acceptance gate: ${a.detail}`);
    }
    if (plan.rollback.steps.length === 0) return this.abort('no rollback plan: a release never starts without one');
    this.append({
      type: 'gate.changed',
      gate: 'rollback-plan',
      state: 'open',
      message: `${plan.rollback.steps.length} rollback step(s), to start within ${Math.round(plan.rollback.deadline / 1000)} s`,
    });

    for (const item of plan.checklist) {
      this.stopLatch.throwIfStopped();
      const prev = this.state.checklist.find((c) => c.id === item.id);
      if (prev && (prev.state === 'passed' || prev.state === 'waived')) continue;
      for (;;) {
        this.append({ type: 'checklist.item.changed', id: item.id, title: item.title, state: 'checking' });
        let ok: boolean;
        let detail: string;
        let by: string | undefined;
        if (item.manual) {
          by = await this.stopLatch.race(this.o.prompter.tickManual(item));
          ok = by !== undefined;
          detail = ok ? `ticked by ${by}` : 'not ticked';
        } else {
          ({ ok, detail } = await runCheck(
            item,
            this.o.workspace,
            this.state.version,
            plan.release.tagPrefix,
            this.masker,
            (t) => this.resolve(t),
            this.stopLatch.signal,
          ));
          this.stopLatch.throwIfStopped();
        }
        this.append({ type: 'checklist.item.changed', id: item.id, title: item.title, state: ok ? 'passed' : 'failed', detail, by });
        if (ok) break;
        const d = await this.stopLatch.race(this.o.prompter.onChecklistFailed(item, detail));
        if (d.action === 'retry') continue;
        if (d.action === 'waive') {
          if (!d.reason.trim()) return this.abort(`checklist item ${item.id} cannot be waived without a reason`);
          this.append({ type: 'checklist.item.changed', id: item.id, title: item.title, state: 'waived', by: this.user, reason: d.reason, detail });
          break;
        }
        return this.abort(`checklist item "${item.title}" failed: ${detail}`);
      }
    }
    this.append({ type: 'gate.changed', gate: 'checklist', state: 'open', message: 'every checklist item passed or was waived' });

    if (!this.state.colors && plan.phases.deploy.strategy === 'blue-green' && plan.phases.deploy.blueGreen) {
      const bg = plan.phases.deploy.blueGreen;
      const r = await runShort(this.resolve(bg.active), { cwd: this.o.workspace, timeoutMs: 30_000, signal: this.stopLatch.signal });
      this.stopLatch.throwIfStopped();
      const active = r.stdout.trim();
      if (r.exitCode !== 0 || !bg.colors.includes(active)) {
        return this.abort(
          `cannot tell the active colour: "${bg.active}" ${r.exitCode !== 0 ? `failed (exit code ${r.exitCode})` : `printed "${active.slice(0, 40)}", expected ${bg.colors.join(' or ')}`}`,
        );
      }
      this.append({ type: 'deploy.colors', active, idle: bg.colors.find((c) => c !== active)! });
    }

    if (!this.events.some((e) => e.type === 'decision' && e.reason === 'go')) {
      const go = await this.stopLatch.race(this.o.prompter.confirm(`Release ${plan.release.name} ${this.state.version} to ${plan.release.environment}?`));
      if (!go) return this.abort('the release was not confirmed');
      this.append({ type: 'decision', action: 'continue', by: this.user, reason: 'go' });
    }
    return true;
  }

  private abort(message: string): false {
    this.append({ type: 'release.finished', outcome: 'aborted', message });
    // An outcome, journalled and shown as one; not also a warning (the CLI printed it twice).
    this.log.info(message);
    return false;
  }

  private async runPhase(phase: PhaseId): Promise<'ok' | 'stop'> {
    const view = this.state.phases.find((p) => p.id === phase)!;
    if (view.state === 'passed' || view.state === 'skipped' || view.state === 'waived') return 'ok';
    const units = [
      ...(phase === 'deploy' && this.state.retireInherited ? retireUnits(this.o.plan, this.state.retireInherited) : []),
      ...unitsFor(this.o.plan, phase),
    ];
    if (units.length === 0) {
      this.append({ type: 'phase.finished', phase, outcome: 'skipped' });
      return 'ok';
    }
    const blocked = this.phaseGate(phase);
    if (blocked) {
      this.append({ type: 'gate.changed', gate: phase, state: 'blocked', message: blocked });
      this.append({ type: 'release.paused', message: blocked });
      return 'stop';
    }
    this.stopLatch.throwIfStopped();
    this.append({ type: 'phase.started', phase });
    this.log.info(`${PHASE_TITLES[phase]}`);
    let anyFailed = false;
    for (const unit of units) {
      const prev = this.state.steps[unit.key];
      if (prev && (prev.state === 'passed' || prev.state === 'waived')) continue;
      const r = await this.runUnitWithDecisions(unit);
      if (r === 'stop') return 'stop';
      if (r === 'failed-continue') anyFailed = true;
    }
    this.append({ type: 'phase.finished', phase, outcome: anyFailed ? 'failed' : 'passed' });
    return 'ok';
  }

  /** The ordering rules a careful engineer keeps. */
  private phaseGate(phase: PhaseId): string | undefined {
    const s = this.state;
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

  private productionTouched(): boolean {
    return this.state.phases.some(
      (p) => ['migration', 'deploy', 'config', 'verification', 'monitoring'].includes(p.id) && p.state !== 'pending' && p.state !== 'skipped',
    );
  }

  private async runUnitWithDecisions(unit: Unit): Promise<'ok' | 'stop' | 'failed-continue'> {
    // A step that was running when its release died is not run again blindly: a person decides.
    let decided = this.o.decided?.[unit.key];
    const prevState = this.state.steps[unit.key]?.state;
    let interrupted = prevState === 'interrupted' || (prevState === 'failed' && decided !== undefined);
    for (;;) {
      if (this.rollbackRequest) return this.rollbackNow();
      this.stopLatch.throwIfStopped();
      if (!interrupted) {
        const res = await this.runUnit(unit);
        if (res === 'ok') return 'ok';
        if (res === 'stop') return 'stop';
      }
      interrupted = false;
      this.stopLatch.throwIfStopped();
      if (this.rollbackRequest) return this.rollbackNow();
      if (unit.kind !== 'monitor' && 'announce' in unit && unit.announce) return 'failed-continue';
      const step = this.state.steps[unit.key];
      if (unit.kind === 'health' && unit.rollbackOnFail) {
        this.rollbackRequest = { reason: `${step.name} failed: ${step.message}`, by: 'engine', at: this.clock.now(), trigger: 'step' };
        return this.rollbackNow();
      }
      const d =
        decided ??
        (await this.stopLatch.race(this.o.prompter.onFailure({ step, unit, message: step.message ?? 'failed', rollbackAvailable: this.productionTouched() })));
      decided = undefined;
      this.append({ type: 'decision', action: d.action, by: this.user, reason: d.action === 'waive' ? d.reason : undefined, step: unit.key });
      if (d.action === 'retry') continue;
      if (d.action === 'waive') {
        if (!d.reason.trim()) {
          this.append({ type: 'release.paused', step: unit.key, message: `${step.name} failed and a waiver needs a written reason` });
          return 'stop';
        }
        this.append({ type: 'step.waived', step: unit.key, by: this.user, reason: d.reason });
        return 'ok';
      }
      if (d.action === 'rollback') {
        this.rollbackRequest = { reason: `${step.name} failed: ${step.message}`, by: this.user, at: this.clock.now(), trigger: 'step' };
        return this.rollbackNow();
      }
      this.append({ type: 'release.paused', step: unit.key, message: `${step.name} failed: ${step.message}` });
      return 'stop';
    }
  }

  private async rollbackNow(): Promise<'stop'> {
    const r = this.rollbackRequest!;
    await this.rollback(r.trigger, r.reason, r.by, r.at);
    return 'stop';
  }

  private logPath(key: string): string {
    const attempt = (this.state.steps[key]?.attempts ?? 0) + 1;
    return path.join(this.runDir, 'logs', `${key.replace(/[^A-Za-z0-9._-]+/g, '_')}.${attempt}.log`);
  }

  /** Runs a command as a journaled step; returns its result. */
  private async exec(
    key: string,
    phase: PhaseId | 'rollback',
    name: string,
    command: string,
    opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; judge?: (log: string) => { ok: boolean; detail: string } } = {},
  ): Promise<{ ok: boolean; result: StepResult; log: string }> {
    const log = this.logPath(key);
    const cwd = opts.cwd ? path.resolve(this.o.workspace, opts.cwd) : this.o.workspace;
    const running = (() => {
      // Journal the start before the process exists: a step the disk did not record never runs.
      this.append({ type: 'step.started', phase, step: key, name, command, log: path.relative(this.runDir, log) });
      return this.runner.run(
        { command, cwd, env: { ...this.env, ...opts.env }, timeoutMs: opts.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS, logFile: log, color: this.o.color },
        (chunk) => this.o.onOutput?.(key, chunk),
      );
    })();
    this.current = running;
    if (running.pid !== undefined) this.append({ type: 'step.running', step: key, pid: running.pid });
    this.o.onStepStarted?.(key, running);
    const ended = await running.result;
    this.current = undefined;
    const stoppedBy = ended.cancelled ? this.stopLatch.by : undefined;
    const result = stoppedBy ? { ...ended, error: `stopped by ${stoppedBy}: its process group was ended` } : ended;
    // Stopped outside a rollback: the step did not fail, it was cut short; resume asks what to do with it.
    if (stoppedBy && phase !== 'rollback') {
      this.append({ type: 'step.interrupted', step: key, message: result.error! });
      throw new ReleaseStopped(stoppedBy);
    }
    const ran = result.exitCode === 0 && !result.timedOut && !result.cancelled;
    // A judged step (a log scan) is judged before its one result is journaled.
    const judged = ran && opts.judge ? opts.judge(log) : undefined;
    const ok = ran && (judged?.ok ?? true);
    this.append({
      type: 'step.finished',
      step: key,
      exitCode: result.exitCode,
      signal: result.signal,
      durationMs: result.durationMs,
      timedOut: result.timedOut,
      cancelled: result.cancelled,
      tail: result.tail,
      ok,
      message: judged?.detail ?? describeResult(result),
    });
    return { ok, result, log };
  }

  /** A check that is not a command (HTTP, baseline, notification), journaled like a step. */
  private async pseudoStep(
    key: string,
    phase: PhaseId | 'rollback',
    name: string,
    describe: string,
    body: (write: (line: string) => void) => Promise<{ ok: boolean; message: string }>,
  ): Promise<boolean> {
    const log = this.logPath(key);
    fs.mkdirSync(path.dirname(log), { recursive: true });
    this.append({ type: 'step.started', phase, step: key, name, command: describe, log: path.relative(this.runDir, log) });
    const t0 = this.clock.now();
    const lines: string[] = [];
    const write = (line: string) => {
      const masked = this.masker.mask(line);
      lines.push(masked);
      fs.appendFileSync(log, masked + '\n');
      this.o.onOutput?.(key, masked + '\r\n');
    };
    let out: { ok: boolean; message: string };
    try {
      out = await this.stopLatch.race(body(write));
    } catch (e) {
      if (e instanceof ReleaseStopped) {
        this.append({ type: 'step.interrupted', step: key, message: e.message });
        throw e;
      }
      out = { ok: false, message: this.masker.mask((e as Error).message) };
      write(out.message);
    }
    this.append({
      type: 'step.finished',
      step: key,
      exitCode: out.ok ? 0 : 1,
      signal: null,
      durationMs: this.clock.now() - t0,
      timedOut: false,
      cancelled: false,
      tail: lines.slice(-20).join('\n'),
      ok: out.ok,
      message: out.message,
    });
    return out.ok;
  }

  private async runUnit(unit: Unit): Promise<'ok' | 'failed' | 'stop'> {
    const extra = 'vars' in unit ? (unit.vars ?? {}) : {};
    const name = this.resolve(unit.name, extra);
    switch (unit.kind) {
      case 'run': {
        const s = unit.step;
        const command = this.resolve(s.run, extra);
        const env = this.stepEnv(s, extra);
        if (
          s.production &&
          !(await this.stopLatch.race(
            this.o.prompter.confirm(`Run the production step "${name}" on ${this.o.plan.release.environment}?\n${this.masker.mask(command)}`, {
              step: unit.key,
            }),
          ))
        ) {
          this.append({ type: 'release.paused', step: unit.key, message: `production step "${name}" was not confirmed` });
          return 'stop';
        }
        // The step runs the command as resolved; the journal and every front end see it masked (append masks).
        const r = await this.exec(unit.key, unit.phase, name, command, { cwd: s.cwd, env, timeoutMs: s.timeout });
        return r.ok ? 'ok' : 'failed';
      }
      case 'health': {
        const hc = unit.check;
        const target = hc.http ? this.resolve(hc.http.url, extra) : this.resolve(hc.run!, extra);
        const ok = await this.pseudoStep(unit.key, unit.phase, name, hc.http ? `GET ${target}` : target, async (write) => {
          let last = '';
          for (let attempt = 0; attempt <= hc.retries; attempt++) {
            if (this.rollbackRequest || this.stopLatch.by)
              return { ok: false, message: this.stopLatch.by ? `stopped by ${this.stopLatch.by}` : 'rollback requested' };
            if (hc.http) {
              const r = await httpCheck(hc.http, target);
              last = r.detail;
              if (r.ok) {
                write(`attempt ${attempt + 1}: ${last}`);
                return { ok: true, message: `healthy after ${attempt + 1} attempt(s): ${last}` };
              }
            } else {
              const r = await runShort(target, { cwd: this.o.workspace, timeoutMs: 30_000, signal: this.stopLatch.signal });
              last =
                r.exitCode === 0
                  ? 'exit code 0'
                  : `exit code ${r.exitCode}: ${this.masker.mask(
                      String(r.all ?? '')
                        .trim()
                        .slice(0, 200),
                    )}`;
              if (r.exitCode === 0) {
                write(`attempt ${attempt + 1}: healthy`);
                return { ok: true, message: `healthy after ${attempt + 1} attempt(s)` };
              }
            }
            write(`attempt ${attempt + 1}: ${last}`);
            if (attempt < hc.retries) await this.clock.sleep(hc.interval);
          }
          return { ok: false, message: `unhealthy after ${hc.retries + 1} attempt(s): ${last}` };
        });
        return ok ? 'ok' : 'failed';
      }
      case 'http': {
        const url = this.resolve(unit.check.url);
        const ok = await this.pseudoStep(unit.key, unit.phase, name, `${unit.check.method} ${url} expect ${unit.check.status}`, async (write) => {
          const r = await httpCheck(unit.check, url);
          write(r.detail);
          return { ok: r.ok, message: r.detail };
        });
        return ok ? 'ok' : 'failed';
      }
      case 'log': {
        const command = this.resolve(unit.check.run);
        const r = await this.exec(unit.key, unit.phase, name, command, { judge: (log) => scanOutput(log, unit.check) });
        return r.ok ? 'ok' : 'failed';
      }
      case 'baseline': {
        const monitor = this.monitor();
        // The journal holds the baseline already (a resume after a crash): it is never captured twice.
        if (!monitor.needsBaseline)
          return (await this.pseudoStep(unit.key, unit.phase, name, 'baseline: from the journal', async () => ({
            ok: true,
            message: 'baseline already in the journal; not captured again',
          })))
            ? 'ok'
            : 'failed';
        const cfg = this.o.plan.monitoring;
        const how = cfg.baseline.fixed
          ? 'fixed values from the plan'
          : `captured for ${Math.round((cfg.baseline.capture ?? 0) / 1000)} s every ${cfg.interval / 1000} s`;
        const ok = await this.pseudoStep(unit.key, unit.phase, name, `baseline: ${how}`, async (write) => {
          await monitor.captureBaseline();
          for (const m of Object.values(this.state.metrics))
            if (m.baseline) write(`${m.id}: ${formatNumber(m.baseline.mean)} ± ${formatNumber(m.baseline.stdev)} (${m.baseline.samples.length} samples)`);
          return { ok: true, message: 'baseline recorded' };
        });
        return ok ? 'ok' : 'failed';
      }
      case 'monitor':
        return this.runMonitoring(unit, name);
      case 'webhook': {
        const wh = this.o.plan.announce.webhook!;
        const url = this.resolve(wh.url);
        const text = announcementText(this.state);
        await this.pseudoStep(unit.key, unit.phase, name, 'POST webhook (URL from the environment)', async (write) => {
          const r = await postWebhook(url, { text }, wh.timeout, wh.retries, this.clock);
          write(r.detail);
          this.append({ type: 'announcement.sent', channel: 'webhook', ok: r.ok, message: r.detail });
          return { ok: r.ok, message: r.detail };
        });
        return 'ok';
      }
      case 'notify': {
        const text = announcementText(this.state);
        await this.pseudoStep(unit.key, unit.phase, name, 'notification', async (write) => {
          await this.o.prompter.notify(text);
          write(text);
          this.append({ type: 'announcement.sent', channel: 'notification', ok: true, message: text });
          return { ok: true, message: 'notified' };
        });
        return 'ok';
      }
    }
  }

  private monitorInstance?: Monitor;
  private monitor(): Monitor {
    if (this.monitorInstance) return this.monitorInstance;
    this.monitorAbort = new AbortController();
    const m = new Monitor(this.o.plan.monitoring, (t) => this.resolve(t), this.o.workspace, {
      append: (e) => this.append(e),
      clock: this.clock,
      signal: this.monitorAbort.signal,
      decide: (b) => this.stopLatch.race(this.o.prompter.onBreach(b)),
    });
    for (const mv of Object.values(this.state.metrics)) if (mv.baseline) m.restoreBaseline(mv.id, mv.baseline.samples, mv.baseline.mean, mv.baseline.fixed);
    this.monitorInstance = m;
    return m;
  }

  private async runMonitoring(unit: Unit, name: string): Promise<'ok' | 'failed' | 'stop'> {
    const monitor = this.monitor();
    const cfg = this.o.plan.monitoring;
    let outcome: Awaited<ReturnType<Monitor['watch']>> | undefined;
    await this.pseudoStep(
      unit.key,
      unit.phase,
      name,
      `${cfg.metrics.length} metric(s) for ${Math.round(cfg.window / 1000)} s every ${cfg.interval / 1000} s`,
      async (write) => {
        outcome = await monitor.watch();
        if (outcome.ok) return { ok: true, message: 'every metric stayed within its guard for the whole window' };
        if ('aborted' in outcome) return { ok: false, message: 'stopped: rollback requested' };
        write(outcome.breach.reason);
        return { ok: false, message: outcome.breach.reason };
      },
    );
    if (!outcome || outcome.ok) return 'ok';
    if ('aborted' in outcome) {
      if (this.rollbackRequest) return this.rollbackNow();
      this.stopLatch.throwIfStopped();
      return 'stop';
    }
    if (outcome.action === 'pause') {
      this.append({ type: 'release.paused', step: unit.key, message: outcome.breach.reason });
      return 'stop';
    }
    this.rollbackRequest = { reason: outcome.breach.reason, by: 'monitor', at: outcome.breach.confirmedAt, trigger: 'guard' };
    return this.rollbackNow();
  }

  /** Runs the plan's rollback steps; a failure among them ends in `rollback-failed`, never in success. */
  async rollback(
    trigger: RollbackTrigger,
    reason: string,
    by: string,
    requestedAt = this.clock.now(),
    q: Pick<RollbackQuestion, 'lateByMs' | 'forcedOver'> = {},
  ): Promise<ReleaseState> {
    this.monitorAbort?.abort();
    const { steps, budget } = this.o.plan.rollback;
    let failed: string | undefined;
    // Journaled just before the first rollback command starts: the latency ends there.
    const started = () =>
      this.append({
        type: 'rollback.started',
        trigger,
        reason,
        by,
        requestedAt: new Date(requestedAt).toISOString(),
        latencyMs: this.clock.now() - requestedAt,
        lateByMs: q.lateByMs,
        forcedOver: q.forcedOver,
      });
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i];
      let command: string;
      let name: string;
      try {
        command = this.resolve(s.run);
        name = this.resolve(s.name ?? s.run);
      } catch (e) {
        failed = `rollback step ${i + 1}: ${(e as Error).message}`;
        if (i === 0) started();
        break;
      }
      if (i === 0) started();
      const timeoutMs = rollbackStepTimeout(s.timeout, budget, this.clock.now() - requestedAt);
      const r = await this.exec(`rollback/${i}`, 'rollback', name, command, { cwd: s.cwd, env: this.stepEnv(s), timeoutMs });
      if (!r.ok) {
        failed = `${name}: ${describeResult(r.result)}`;
        break;
      }
    }
    const outcome = failed ? 'rollback-failed' : 'rolled-back';
    const durationMs = this.clock.now() - requestedAt;
    const over = durationMs > budget ? ` (over the ${Math.round(budget / 1000)} s budget)` : '';
    this.append({
      type: 'rollback.finished',
      outcome,
      message: failed ? `ROLLBACK FAILED at ${failed}` : `every rollback step passed${over}`,
      durationMs,
      budgetMs: budget,
    });
    // Announced after the outcome is a fact in the journal: a failed announcement cannot hide it,
    // and a stop during the announcement cannot leave a finished rollback looking paused.
    try {
      await this.announceRollback();
    } catch (e) {
      if (!(e instanceof ReleaseStopped)) throw e;
      this.append({ type: 'warning', message: `the rollback announcement was cut short: ${e.message}` });
    }
    this.append({
      type: 'release.finished',
      outcome,
      message: failed ? `rollback failed at ${failed}; production needs a person now` : `rolled back: ${reason}`,
    });
    return this.state;
  }

  /** The plan's announcement channels, told of the rollback, its reason and its outcome. */
  private async announceRollback(): Promise<void> {
    const a = this.o.plan.announce;
    const text = rollbackAnnouncementText(this.state);
    const n = this.state.rollbacks.length;
    const key = (ch: string) => `rollback/announce.${ch}${n > 1 ? `.${n}` : ''}`;
    if (a.command) {
      try {
        const s = { run: a.command };
        const r = await this.exec(key('command'), 'rollback', 'Announce the rollback (command)', this.resolve(s.run), {
          env: { RELEASE_PILOT_ANNOUNCEMENT: text, RELEASE_PILOT_OUTCOME: this.state.rollback?.outcome ?? '' },
          timeoutMs: 60_000,
        });
        this.append({
          type: 'announcement.sent',
          channel: 'command',
          ok: r.ok,
          message: r.ok ? text : `announcement command failed: ${describeResult(r.result)}`,
        });
      } catch (e) {
        this.append({
          type: 'announcement.sent',
          channel: 'command',
          ok: false,
          message: `announcement command failed: ${this.masker.mask((e as Error).message)}`,
        });
      }
    }
    if (a.webhook) {
      const wh = a.webhook;
      await this.pseudoStep(key('webhook'), 'rollback', 'Announce the rollback (webhook)', 'POST webhook (URL from the environment)', async (write) => {
        const r = await postWebhook(this.resolve(wh.url), { text }, wh.timeout, wh.retries, this.clock);
        write(r.detail);
        this.append({ type: 'announcement.sent', channel: 'webhook', ok: r.ok, message: r.ok ? text : r.detail });
        return { ok: r.ok, message: r.detail };
      });
    }
    if (a.notify) {
      await this.pseudoStep(key('notify'), 'rollback', 'Announce the rollback (notification)', 'notification', async (write) => {
        await this.o.prompter.notify(text);
        write(text);
        this.append({ type: 'announcement.sent', channel: 'notification', ok: true, message: text });
        return { ok: true, message: 'notified' };
      });
    }
  }

  /**
   * Rolls back a release this process reopened (CLI `rollback`, or a click after a reload). Refuses
   * a run a newer one superseded unless forced; after the window it asks, naming how late, and never refuses.
   */
  async rollbackFinished(reason: string, opts: { force?: boolean } = {}): Promise<ReleaseState> {
    try {
      const admission = rollbackAdmission(this.state, this.o.plan, this.clock.now(), supersedingRuns(this.o.workspace, this.state), Boolean(opts.force));
      if (!admission.ok) throw new GateError(admission.supersededBy ? 'rollback-superseded' : 'rollback', admission.refusal);
      const q = admission.question;
      const requestedAt = this.clock.now();
      const yes = this.o.prompter.confirmRollback ? await this.o.prompter.confirmRollback(q) : await this.o.prompter.confirm(q.message);
      if (!yes)
        throw new GateError(
          'rollback-unconfirmed',
          `the rollback was not confirmed; nothing was started${q.lateByMs !== undefined ? ' (a late rollback needs an explicit confirmation that it is late)' : ''}`,
        );
      if (q.forcedOver) this.append({ type: 'decision', action: 'rollback', by: this.user, reason: `forced over the newer run ${q.forcedOver}: ${reason}` });
      return await this.rollback('user', reason, this.user, requestedAt, q);
    } finally {
      this.close();
    }
  }
}

/**
 * The old colour a released earlier run kept up for its rollback, which the new run retires before
 * it deploys. Runs that never reached their deploy (aborted at a gate) are passed over.
 */
function oldColourKept(o: EngineOptions): { from: string; active: string; idle: string } | undefined {
  if (!o.plan.phases.deploy.blueGreen?.retire.length) return undefined;
  for (const id of runIds(o.workspace)) {
    let s: ReleaseState;
    try {
      s = loadRun(o.workspace, id).state;
    } catch {
      continue;
    }
    if (!s.deployStartedAt) continue;
    return s.status === 'released' && s.colors ? { from: id, active: s.colors.active, idle: s.colors.idle } : undefined;
  }
  return undefined;
}

/**
 * Ends a process group an interrupted step left behind; true when there was one. A group id is not
 * handed out again while any member of the group lives, so a live group with this id is the step's.
 */
function endOrphanGroup(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** A log scan of a step's output file; an unreadable file fails the scan, it never passes it. */
function scanOutput(log: string, check: Parameters<typeof scanLog>[1]): { ok: boolean; detail: string } {
  try {
    return scanLog(fs.readFileSync(log, 'utf8'), check);
  } catch (e) {
    return { ok: false, detail: `cannot read the output to scan it: ${(e as Error).message}` };
  }
}

export function announcementText(s: ReleaseState): string {
  const metrics = Object.values(s.metrics)
    .map((m) => `${m.id} ${m.verdict?.verdict ?? 'n/a'}`)
    .join(', ');
  return `${s.name} ${s.version} released to ${s.environment}${metrics ? ` — monitoring: ${metrics}` : ''}`;
}
