import type { ChecklistItem, PhaseId, Plan } from '../../model/schema';
import type { RunningStep } from '../../exec/runner';
import type { Clock } from '../../base/clock';
import type { ReleaseEvent } from '../../model/events';
import type { ReleaseState } from '../../model/releaseState';
import type { RunsReader } from '../queries/liveState';
import type { StepView } from '../../model/stateViews';
import type { Breach, BreachDecision } from '../../monitor/monitorPorts';
import type { Unit } from './phaseUnits';
import type { RollbackQuestion } from '../gates/rollbackAdmission';
import type { ReleaseStore } from '../../store/storeTypes';

/** Where the engine says what it does: an output channel, the CLI's stderr, or nowhere. */
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
  /**
   * A rollback waits before its restore (`message` counts the writes it discards): restore, decline
   * (the database stays as it is), or undefined to leave it waiting. Without this method, `confirm`
   * is asked, and only a restore can be answered.
   */
  decideRestore?(message: string): Promise<'restore' | 'decline' | undefined>;
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
  /** What the front end answers with, given before the run (`--tick`, `--waive`): journaled with the run's inputs. */
  given?: { ticks?: readonly string[]; waivers?: Readonly<Record<string, string>> };
  user?: string;
  /** Who holds the lock, as shown to a second window or CLI: "CLI", "VS Code window"... */
  holder?: string;
  /** Masked output of the running step, for a terminal. */
  onOutput?(stepKey: string, chunk: string): void;
  onStepStarted?(stepKey: string, running: RunningStep): void;
  onEvent?(e: ReleaseEvent, state: ReleaseState): void;
  color?: boolean;
  /** A front end writes what a person types to the running step (VS Code's terminals); otherwise a step's standard input is empty. */
  stepInput?: boolean;
  /** Pause after this phase finished (run one phase at a time). */
  stopAfter?: PhaseId;
  /** Answers decided before the run for failed or interrupted steps (Retry Step, Waive from the tree). */
  decided?: Record<string, FailureDecision>;
  /** Deploy again this version, released before by this plan (`release.redeploy` must allow it). */
  redeploy?: string;
  /** The id of a new run (default: time and version). */
  runId?: string;
  /** Release during a freeze window of the environment, for this reason (journaled). Blank is no override. */
  overrideFreeze?: string;
  /** Grace period between SIGTERM and SIGKILL when a step is ended. */
  killGraceMs?: number;
  /** How a start reads the workspace's runs, once for all its refusals (default: every journal of `.release/runs`). */
  readRuns?: RunsReader;
  /** The plan's shared release store: its lock is taken after the local one, and the journal is published to it. */
  store?: StoreOptions;
}

/** How a run shares its record through a release store (the plan's `store:`), as a front end asks. */
export interface StoreOptions {
  store: ReleaseStore;
  /** Wait this long for a lock another machine holds (polling), then run; unset: refuse at once. */
  waitMs?: number;
  /** Start although the store cannot be reached, for this written reason (journaled as a warning). */
  offline?: string;
  /** Default 30 s: without a renewal for this long, the holder is stale. */
  leaseMs?: number;
  /** How long one publish may take before the run goes on without it (default 10 s). */
  publishTimeoutMs?: number;
  /** Take the lock over from a stale holder of this same run (a rollback from another machine). */
  takeOverStale?: boolean;
}

/** What a run's parts see of its hold on the store: each event told, and whether the store holds the journal now. */
export interface RunStore {
  onEvent(e: ReleaseEvent): void;
  /** Before a production step: false when the store cannot record that it starts. */
  recorded(): Promise<boolean>;
}
