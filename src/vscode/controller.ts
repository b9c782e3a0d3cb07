import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { EngineOptions, FailureDecision, Release } from '../core/engine/run/engine';
import { latestRunId, loadRun, runDir } from '../core/engine/queries/runs';
import { engine } from './lazyEngine';
import { ErrorCodes, errorCode } from '../core/base/errors';
import { rollbackOpenUntil, isFinal, type ReleaseState } from '../core/model/releaseState';
import { parsePlan, type LoadResult } from '../core/plan/load';
import { planForRun } from '../core/plan/environments';
import type { PhaseId } from '../core/model/schema';
import type { ReleaseEvent } from '../core/model/events';
import type { GatesNow } from '../core/engine/gates/gatesNow';
import { PhaseTerminals } from './terminals';
import { askCancelStep, VscodePrompter, type Answerers, type ReleasePrompts } from './vscodePrompter';
import { Disposable } from './dispose';
import { UNTRUSTED_MESSAGE, UserError } from './userError';
import { WindowStore } from './sharedStore';
import { checkNow, planFileOf, workspaceOf, type Precheck } from './checklistCheck';

/**
 * The one place the extension holds release state: the plan, the newest run folded from its
 * journal, and the release this window is running. Views only read it and listen for changes.
 */
export class ReleaseController extends Disposable {
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;
  private readonly eventEmitter = this.register(new vscode.EventEmitter<ReleaseEvent>());
  readonly onDidAppend = this.eventEmitter.event;
  readonly terminals: PhaseTerminals;

  plan: LoadResult | undefined;
  readonly windowStore = new WindowStore();
  state: ReleaseState | undefined;
  runId: string | undefined;
  /** The release this window runs now, if any. */
  live: Release | undefined;
  /** The environment gates judged between runs (vscodeEnvironments.ts checkGatesNow); a change of the plan or of the newest run voids it. */
  gatesNow: GatesNow | undefined;
  private running: Promise<ReleaseState> | undefined;
  readonly prechecks = new Map<string, Precheck>();
  private readonly ticks = new Map<string, string>();
  private readonly waivers = new Map<string, string>();

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly answerers: Answerers,
  ) {
    super();
    this.terminals = this.register(
      new PhaseTerminals({
        writeInput: (d) => this.live?.writeInput(d),
        interrupt: () => askCancelStep(() => this.live),
      }),
    );
    const watcher = this.register(
      vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(this.folder?.uri ?? vscode.Uri.file('/'), '.release/**')),
    );
    const external = () => {
      if (!this.live) this.reload();
    };
    this.register(watcher.onDidChange(external));
    this.register(watcher.onDidCreate(external));
    this.register(watcher.onDidDelete(external));
    this.register({ dispose: () => clearTimeout(this.changeTimer) });
  }

  get folder(): vscode.WorkspaceFolder | undefined {
    return vscode.workspace.workspaceFolders?.[0];
  }

  get planFile(): string | undefined {
    return planFileOf(this.folder);
  }

  /** The folder steps run in: the one that holds `.release/`. */
  get workspaceDir(): string | undefined {
    return workspaceOf(this.planFile);
  }

  get runDir(): string | undefined {
    return this.workspaceDir && this.runId ? runDir(this.workspaceDir, this.runId) : undefined;
  }

  get isRunning(): boolean {
    return this.live !== undefined;
  }

  get hasPlan(): boolean {
    return !!this.planFile && fs.existsSync(this.planFile);
  }

  /** Until when the status bar offers a rollback, or undefined. */
  rollbackUntil(): string | undefined {
    if (!this.state || !this.plan?.ok) return undefined;
    if (this.state.status === 'rollback-failed') return new Date(Date.now() + 3_600_000).toISOString();
    return rollbackOpenUntil(this.state, this.plan.plan.rollback.deadline, this.plan.plan.monitoring.window);
  }

  /** Reads the plan and the newest run from disk. */
  private loaded = false;

  /**
   * Reads the plan and the newest run just after activate() returns, so the extension host is not held
   * by YAML, the schema and a journal's fold (a view or a command that needs them first reads them then).
   * After a window reload mid-release, the phases that ran get their terminals back from the journal.
   */
  loadSoon(): Promise<{ loadMs: number }> {
    return new Promise((resolve) =>
      setImmediate(() => {
        const t1 = performance.now();
        try {
          this.ensureLoaded();
          if (this.state && this.runDir && !['released', 'aborted'].includes(this.state.status)) this.terminals.restore(this.state, this.runDir);
        } catch (e) {
          this.log.error(`reading the plan and the newest run: ${(e as Error).message}`);
        }
        const loadMs = performance.now() - t1;
        this.log.info(`plan and newest run read in ${loadMs.toFixed(1)} ms`);
        resolve({ loadMs });
      }),
    );
  }

  /** Reads the plan and the newest run once, if nothing did yet (activation leaves it to just after). */
  ensureLoaded(): void {
    if (!this.loaded) this.reload();
  }

  /** What a gate check here depends on: the plan's text and the newest run as far as it went. */
  gatesStamp(): string {
    return `${this.plan?.ok ? this.plan.text : ''}\0${this.runId ?? ''}\0${this.state?.updatedAt ?? ''}`;
  }

  /** Reads the plan and the newest run again. A gate check shown stays while neither changed (a report written late, say). */
  reload(gatesNow?: GatesNow): void {
    this.loaded = true;
    const stamp = this.gatesStamp();
    const file = this.planFile;
    this.plan = file && fs.existsSync(file) ? parsePlan(fs.readFileSync(file), file) : undefined;
    const ws = this.workspaceDir;
    if (ws && !this.live) {
      const id = latestRunId(ws);
      if (id) {
        try {
          const run = loadRun(ws, id);
          this.runId = id;
          this.state = run.state;
        } catch (e) {
          this.log.error(`cannot read run ${id}: ${(e as Error).message}`);
        }
      } else {
        this.runId = undefined;
        this.state = undefined;
      }
    }
    this.gatesNow = gatesNow ?? (this.gatesStamp() === stamp ? this.gatesNow : undefined);
    this.fireChanged();
  }

  private readonly contextKeys = new Map<string, boolean>();
  private changeTimer: NodeJS.Timeout | undefined;

  private setContext(key: string, value: boolean): void {
    if (this.contextKeys.get(key) === value) return;
    this.contextKeys.set(key, value);
    void vscode.commands.executeCommand('setContext', `releasePilot.${key}`, value);
  }

  private fireChanged(): void {
    clearTimeout(this.changeTimer);
    this.changeTimer = undefined;
    this.setContext('hasPlan', this.hasPlan);
    this.setContext('running', this.isRunning);
    this.setContext('canRollback', !!this.rollbackUntil());
    this.changed.fire();
  }

  /** Metric samples arrive many a second while monitoring: the views redraw at most every 250 ms for them. */
  private fireChangedSoon(): void {
    this.changeTimer ??= setTimeout(() => this.fireChanged(), 250);
  }

  requirePlan(): { file: string; result: Extract<LoadResult, { ok: true }> } {
    const file = this.planFile;
    if (!file) throw new UserError('Open a folder first: a release plan lives in the workspace (.release/plan.yaml).');
    if (!fs.existsSync(file))
      throw new UserError(`No release plan at ${vscode.workspace.asRelativePath(file)}. Create one with "Deploy: Create Release Plan".`);
    const result = parsePlan(fs.readFileSync(file), file);
    this.plan = result;
    if (!result.ok) {
      const first = result.problems[0];
      throw new UserError(
        `The release plan has ${result.problems.length} problem(s); the first, at line ${first.line}: ${first.message}. See the Problems panel.`,
        ['Open Plan'],
      );
    }
    return { file, result };
  }

  private requireTrust(): void {
    if (!vscode.workspace.isTrusted) throw new UserError(UNTRUSTED_MESSAGE);
  }

  /** The questions of the release about to run, answered by a person unless an API answerer took them. */
  private prompts(): ReleasePrompts {
    const person = new VscodePrompter({
      user: () => engine().currentUser(this.workspaceDir ?? process.cwd()),
      ticked: (id) => this.ticks.get(id),
      waived: (id) => this.waivers.get(id),
      state: () => this.state,
    });
    return this.answerers.over(person);
  }

  private engineOptions(extra: Partial<EngineOptions> = {}): EngineOptions {
    const { file, result } = this.requirePlan();
    const grace = vscode.workspace.getConfiguration('releasePilot').get<number>('killGracePeriod', 3);
    return {
      planFile: file,
      // A run reopened goes on in the environment it started for; a new one names it in `extra`.
      plan: planForRun(result.plan, this.state?.environment),
      planText: result.text,
      workspace: this.workspaceDir!,
      prompter: this.prompts(),
      holder: `VS Code window (${vscode.env.appName})`,
      color: true,
      stepInput: true,
      killGraceMs: Math.max(0, grace) * 1000,
      logger: { info: (m) => this.log.info(m), warn: (m) => this.log.warn(m), error: (m) => this.log.error(m) },
      onEvent: (e, s) => {
        this.state = s;
        this.terminals.onEvent(e, s);
        this.eventEmitter.fire(e);
        if (e.type === 'metric.sample') this.fireChangedSoon();
        else this.fireChanged();
      },
      onOutput: (key, chunk) => this.terminals.output(key, chunk),
      ...this.windowStore.engineOptions(),
      ...extra,
    };
  }

  private async drive(make: () => Promise<Release>, act: (r: Release) => Promise<ReleaseState> = (r) => r.run()): Promise<ReleaseState> {
    this.requireTrust();
    if (this.live) throw new UserError(`A release is already running in this window (${this.state?.name} ${this.state?.version}).`, ['Show Log']);
    await this.windowStore.forRelease(this.requirePlan().result.plan, this.workspaceDir!);
    const release = await make().catch(async (e: unknown) => this.windowStore.closeAfter(e));
    // The release runs the checklist again and journals it: that result replaces the tree's own checks.
    this.prechecks.clear();
    this.gatesNow = undefined;
    this.live = release;
    this.runId = release.runId;
    this.state = release.snapshot;
    this.fireChanged();
    this.running = act(release);
    try {
      const s = await this.running;
      this.log.info(`release ${s.name} ${s.version}: ${s.status}${s.outcomeMessage ? ` — ${s.outcomeMessage}` : ''}`);
      return s;
    } finally {
      // Ticks and waivers given in the tree belong to the release that used them.
      this.ticks.clear();
      this.waivers.clear();
      this.live = undefined;
      this.running = undefined;
      await release.settled().then(() => this.windowStore.close());
      this.reload();
    }
  }

  /** Deploy: Start Release (or Redeploy This Version from the Releases view). Refuses while a paused or interrupted run exists, offering to resume or abandon it. */
  /** `o.plan`: the plan as the chosen environment runs it (commandCenter asks which). */
  async start(o: Partial<Pick<EngineOptions, 'redeploy' | 'plan' | 'overrideFreeze'>> = {}): Promise<ReleaseState | undefined> {
    try {
      return await this.drive(() => engine().Release.start(this.engineOptions(o)));
    } catch (e) {
      // The engine bundle is loaded apart: its error is known by its code.
      if (errorCode(e) !== ErrorCodes.UnresolvedRun) throw e;
      return this.offerUnresolved(e as Error & { runId: string; state: ReleaseState });
    }
  }

  private async offerUnresolved(e: { runId: string; state: ReleaseState }): Promise<ReleaseState | undefined> {
    const s = e.state;
    const running = Object.values(s.steps).find((st) => st.state === 'interrupted' || st.state === 'running');
    const detail = [
      `Run ${e.runId} is ${s.status}${s.pausedAt ? `: ${s.pausedAt.message}` : ''}.`,
      running ? `"${running.name}" was running when it stopped; resuming or abandoning ends whatever it left running.` : '',
      'A new release does not start over an unresolved one. Resume it, or abandon it with a reason (nothing is rolled back).',
    ]
      .filter(Boolean)
      .join('\n');
    const prompts = this.prompts();
    const pick = await prompts.unresolved(`Release ${s.name} ${s.version} was not finished.`, detail);
    if (pick === 'Resume') {
      this.runId = e.runId;
      this.state = s;
      return this.resume();
    }
    if (pick !== 'Abandon…') return undefined;
    const reason = await prompts.abandonReason(s.version);
    return reason ? this.abandon(reason, e.runId) : undefined;
  }

  /** Deploy: Abandon Release: ends what the run left running and journals who gave it up, and why. */
  async abandon(reason: string, runId = this.runId): Promise<ReleaseState> {
    if (!runId) throw new UserError('There is no release to abandon here.');
    return this.drive(
      () => engine().Release.reopen(this.engineOptions(), runId),
      async (r) => r.abandon(reason),
    );
  }

  /**
   * The window is closing (extension deactivation): the running step's whole process group is
   * ended and journaled before the host goes. VS Code waits about 5 s for this.
   */
  async shutdown(): Promise<void> {
    const live = this.live;
    const running = this.running;
    if (!live || !running) return;
    const by = 'the closing VS Code window';
    live.stop(by);
    // The grace setting may be longer than the host waits: the second stop kills the group at once.
    const hurry = setTimeout(() => live.stop(by), 2000);
    try {
      await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, 4000))]);
    } finally {
      clearTimeout(hurry);
    }
  }

  /** Run Next Phase before any run: a new release that pauses after `phase`. */
  async startUntil(phase: PhaseId): Promise<ReleaseState> {
    return this.drive(() => engine().Release.start(this.engineOptions({ stopAfter: phase })));
  }

  /** Resume, Run Next Phase, Retry Step and Waive Step all continue the newest run. */
  async resume(extra: { stopAfter?: PhaseId; decided?: Record<string, FailureDecision> } = {}): Promise<ReleaseState> {
    const id = this.runId;
    if (!id || !this.state) throw new UserError('There is no release to resume here. Start one with "Deploy: Start Release".');
    if (isFinal(this.state.status)) throw new UserError(`The release ${this.state.version} is ${this.state.status}; start a new one.`);
    return this.drive(() => engine().Release.reopen(this.engineOptions(extra), id));
  }

  async rollback(reason: string): Promise<ReleaseState> {
    if (this.live) {
      this.live.requestRollback(reason, await engine().currentUser(this.workspaceDir ?? process.cwd()));
      return this.running!;
    }
    const id = this.runId;
    if (!id) throw new UserError('There is no release to roll back.');
    if (await this.windowStore.rollbackElsewhere(this.requirePlan().result.plan, this.workspaceDir!, id, reason)) return this.state!;
    return this.drive(
      () => engine().Release.reopen(this.engineOptions(), id),
      (r) => r.rollbackFinished(reason),
    );
  }

  /** The Releases view's refresh from the plan's shared store; false (loading nothing) when the plan has none. */
  syncStore = () => this.windowStore.sync(this.plan?.ok ? this.plan.plan : undefined, this.workspaceDir);

  cancelStep(): void {
    this.live?.cancelStep();
  }

  /** Clicking a checklist item before a release: runs its check now (the release runs it again, journaled). */
  async checkItem(id: string): Promise<Precheck> {
    this.requireTrust();
    const { result } = this.requirePlan();
    const item = result.plan.checklist.find((c) => c.id === id);
    if (!item) throw new UserError(`No checklist item "${id}" in the plan.`, ['Open Plan']);
    const user = await engine().currentUser(this.workspaceDir!);
    if (item.manual) {
      const pre: Precheck = { state: 'passed', detail: `ticked by ${user}`, by: user };
      this.ticks.set(id, user);
      this.prechecks.set(id, pre);
      this.fireChanged();
      return pre;
    }
    this.prechecks.set(id, { state: 'checking', detail: 'checking…' });
    this.fireChanged();
    const pre = await checkNow(item, this.workspaceDir!, this.planFile!, result);
    this.prechecks.set(id, pre);
    this.fireChanged();
    return pre;
  }

  async waiveChecklistItem(id: string, reason: string): Promise<void> {
    const user = await engine().currentUser(this.workspaceDir ?? process.cwd());
    this.waivers.set(id, reason);
    this.prechecks.set(id, { state: 'waived', detail: this.prechecks.get(id)?.detail ?? '', by: user, reason });
    this.fireChanged();
  }

  // Disposing (the base class) releases the views' listeners only: a window closing mid-release was stopped by
  // shutdown() (deactivate), its step's processes ended and the run paused; nothing is rolled back behind a person's back.
}
