import * as path from 'node:path';
import type { Step } from '../../model/schema';
import { runScope } from '../../plan/scope';
import { runtimeVarEnv, withRuntimeVars } from '../../plan/shellRefs';
import type { Plan } from '../../model/schema';
import { envReferences } from '../../plan/load';
import { SecretMasker } from '../../exec/mask';
import { StepRunner, type RunningStep } from '../../exec/runner';
import { Journal } from '../../journal/journal';
import type { Monitor } from '../../monitor/monitor';
import { realClock, type Clock } from '../../base/clock';
import type { NewEvent, ReleaseEvent, RollbackTrigger } from '../../model/events';
import { transition, type PlainNewEvent, type StatusWriter } from '../../model/statusTransitions';
import { applyEvent, foldJournal, type ReleaseState } from '../../model/releaseState';
import { interpolate, type Scope } from '../../plan/scope';
import { secretSources } from '../gates/secrets';
import { maskedLogger, maskedPrompter } from './maskedFrontEnd';
import { StopLatch } from './stopLatch';
import { runDir } from '../queries/runs';
import { silentLogger, type EngineOptions, type Logger, type RunStore } from './ports';

export interface RollbackRequest {
  reason: string;
  by: string;
  at: number;
  trigger: RollbackTrigger;
}

/**
 * What one run holds while it runs: its journal, its folded state, the masker and the stop latch.
 * The engine's parts (gates, unit handlers, monitoring, rollback) act on a release through it.
 */
export class RunContext implements StatusWriter {
  readonly o: EngineOptions;
  readonly runDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly masker: SecretMasker;
  readonly runner: StepRunner;
  readonly log: Logger;
  readonly clock: Clock;
  readonly stopLatch = new StopLatch();
  journal?: Journal;
  events: ReleaseEvent[] = [];
  state!: ReleaseState;
  /** The steps whose processes run now: one, or a rolling batch's targets side by side. */
  readonly running = new Set<RunningStep>();
  /** The step started last: the one the terminal's input goes to. */
  current?: RunningStep;
  monitor?: Monitor;
  /** The run's hold on the plan's shared store, when it has one. */
  store?: RunStore;
  private request?: RollbackRequest;
  user = '';
  /** The plan as loaded: `o.plan` is it with the commands reading the variables given at run time as data. */
  private readonly loadedPlan: Plan;
  private given: Record<string, string> | undefined;
  private givenEnv: Record<string, string> = {};
  /** Opened again after a pause, a crash or a reload: only then can its commit have moved since it started. */
  reopened = false;

  constructor(
    o: EngineOptions,
    readonly runId: string,
  ) {
    this.runDir = runDir(o.workspace, runId);
    this.env = o.env ?? process.env;
    this.loadedPlan = o.plan;
    this.masker = new SecretMasker(secretSources(o.planText, o.plan, this.env).map((x) => x.value));
    // Front ends only ever see masked text, whatever the engine hands them.
    this.o = { ...o, prompter: maskedPrompter(o.prompter, this.masker) };
    this.vars = o.vars;
    this.runner = new StepRunner(this.masker, o.killGraceMs);
    this.log = maskedLogger(o.logger ?? silentLogger, this.masker);
    this.clock = o.clock ?? realClock;
  }

  /** The `--var` overrides the steps see: a new run's as given; a reopened run's, those it started with. */
  get vars(): Record<string, string> | undefined {
    return this.given;
  }

  /**
   * The one place a value given at run time meets the plan: every command reads it as bash's
   * expansion of a reserved variable of its environment (commandEnv), never as pasted shell text.
   */
  set vars(v: Record<string, string> | undefined) {
    this.givenEnv = runtimeVarEnv(v);
    this.o.plan = withRuntimeVars(this.loadedPlan, Object.keys(v ?? {}));
    this.given = v;
  }

  /** The variables every command's environment holds for the plan: those it reads as `${env:NAME}`, and those given at run time. */
  commandEnv(): Record<string, string> {
    return { ...this.readEnv(), ...this.givenEnv };
  }

  /** Why and by whom the rollback was asked for, once it was. */
  get rollbackRequest(): RollbackRequest | undefined {
    return this.request;
  }

  /**
   * Asks for the rollback, from anywhere (a person, a failed check, a breach): the first request
   * is kept, and it interrupts the run, so whatever the release waits on ends now and the rollback
   * starts. False when one was asked for already.
   */
  requestRollback(r: RollbackRequest): boolean {
    if (this.request) return false;
    this.request = r;
    this.stopLatch.interrupt();
    return true;
  }

  /** Why the run's waits were interrupted (a stop, a rollback request), or undefined while it goes on. */
  interruption(): string | undefined {
    if (this.stopLatch.by) return `stopped by ${this.stopLatch.by}`;
    return this.request ? 'rollback requested' : undefined;
  }

  openJournal(): void {
    this.journal = new Journal(path.join(this.runDir, 'journal.jsonl'));
    this.state ??= foldJournal(this.events);
  }

  /** Appends an event that leaves the status as it is; a status change goes through `transition`. */
  append(e: PlainNewEvent): ReleaseEvent {
    return this.write(e);
  }

  /** Appends any event: `transition` alone calls it with a status event, once the table allowed it. */
  write(e: NewEvent): ReleaseEvent {
    const full = this.journal!.append(this.masker.maskEvent(e));
    this.events.push(full);
    applyEvent(this.state, full);
    this.store?.onEvent(full);
    this.o.onEvent?.(full, this.state);
    return full;
  }

  /** Whether a value holds a secret: such an input is journaled by its hash only. */
  readonly holdsSecret = (value: string) => this.masker.mask(value) !== value;

  scope(extra: Record<string, string> = {}): Scope {
    const s = this.state ?? { version: '', runId: '' };
    const scope = runScope(this.o.plan, { ...s, runId: this.runId }, this.runDir, this.env, this.vars);
    return { ...scope, builtins: { ...scope.builtins, ...extra } };
  }

  resolve = (text: string, extra?: Record<string, string>) => interpolate(text, this.scope(extra));

  /**
   * The plan's `env` with a step's own over it (the step's value wins), references resolved, over
   * the variables the plan reads as `${env:NAME}`: a command reads those as bash's `${NAME}`.
   */
  stepEnv(s: Pick<Step, 'env'>, extra?: Record<string, string>): Record<string, string> {
    return { ...this.commandEnv(), ...Object.fromEntries(Object.entries({ ...this.o.plan.env, ...s.env }).map(([k, v]) => [k, this.resolve(v, extra)])) };
  }

  /** The names the plan reads as `${env:NAME}`: read from its text once, as the text does not change during a run. */
  private readNames: string[] | undefined;

  /** The variables the plan reads as `${env:NAME}`, with their values (every step's environment gets them). */
  readEnv(): Record<string, string> {
    this.readNames ??= [...new Set(envReferences(this.o.planText).map((r) => r.name))];
    return Object.fromEntries(this.readNames.flatMap((n) => (typeof this.env[n] === 'string' ? [[n, this.env[n]]] : [])));
  }

  /** Ends the release at a gate: an outcome, journalled and shown as one. */
  abort(message: string): false {
    transition(this, 'release.finished', { outcome: 'aborted', message });
    // Not also a warning (the CLI printed it twice).
    this.log.info(message);
    return false;
  }
}
