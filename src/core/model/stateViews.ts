// The parts of a ReleaseState (releaseState.ts): a step, a checklist item, a phase, a metric, a rollback, as the fold keeps them.
import type { PhaseId } from './schema';
import type { CarrySeen, DbAction, ItemState, PhaseState, ProcessStart, RollbackTrigger, SampleStatus, StepState } from './events';
import type { DbStrategy } from './schema-database';

export interface StepView {
  key: string;
  phase: PhaseId | 'rollback';
  name: string;
  command: string;
  state: StepState;
  log?: string;
  exitCode?: number | null;
  signal?: string | null;
  durationMs?: number;
  message?: string;
  tail?: string;
  startedAt?: string;
  attempts: number;
  waivedBy?: string;
  waiveReason?: string;
  /** Process group of the running step, to end it if its owner died. */
  pid?: number;
  /** The step's mark (RELEASE_PILOT_STEP), carried by every process it started. */
  mark?: string;
  /** When the step's shell started (absent in older journals): a live process with its pid is the step's only if it started then. */
  start?: ProcessStart;
}

export interface ChecklistView {
  id: string;
  title: string;
  state: ItemState;
  by?: string;
  reason?: string;
  detail?: string;
  at?: string;
}

export interface PhaseView {
  id: PhaseId;
  state: PhaseState;
  startedAt?: string;
  finishedAt?: string;
  /** Time spent running: from start to finish without the time the release stood paused. */
  durationMs?: number;
  /** Time the release stood paused while this phase was under way. */
  pausedMs?: number;
  steps: string[];
}

export interface MetricView {
  id: string;
  baseline?: { mean: number; stdev: number; samples: number[]; fixed: boolean };
  samples: { at: string; value: number | null; status: SampleStatus; message?: string }[];
  /** Samples taken in warm-ups (`monitoring.warmup`), journaled but not judged. */
  warmupSamples?: number;
  breaches: number;
  /** The last confirmed guard breach: the rule, the value that broke it and the limit it broke. */
  breach?: { rule: string; value: number; threshold: number; consecutive: number; at: string };
  verdict?: { verdict: 'pass' | 'fail' | 'inconclusive'; explanation: string };
  last?: { value: number | null; status: SampleStatus; message?: string };
  /** Name, unit and guard rules as the plan said when the monitoring window started. */
  title?: string;
  unit?: string;
  guard?: string;
}

export interface RollbackView {
  trigger: RollbackTrigger;
  reason: string;
  by: string;
  requestedAt: string;
  startedAt: string;
  latencyMs: number;
  finishedAt?: string;
  outcome?: 'rolled-back' | 'rollback-failed';
  message?: string;
  /** Rolled back except these hosts, each "HOST: WHY": they need a person (see needsAttention.ts). */
  needsAttention?: string[];
  /** From the trigger to the end of the last rollback step. */
  durationMs?: number;
  budgetMs?: number;
  /** How long after the rollback window closed it was started, when it was late. */
  lateByMs?: number;
  /** The newer run this rollback was forced over. */
  forcedOver?: string;
  /** What the rollback did to the database, when the plan says (`rollback.database`) and the migration started. */
  database?: RollbackDatabaseView;
}

/** The database part of a rollback: its strategy, what it did last, and the writes since the backup it counted. */
export interface RollbackDatabaseView {
  strategy: DbStrategy;
  action: DbAction;
  ok: boolean;
  message: string;
  /** Writes made since the backup, as last measured before a restore. */
  writes?: number;
  /** The count is a lower bound: a table changed in a way its keys and rows cannot tell exactly. */
  atLeast?: boolean;
  /** Per table, as last measured. */
  tables?: Record<string, number>;
  /** Of the writes counted, how many the rollback kept and how many a restore discarded. */
  kept?: number;
  discarded?: number;
  /** What a restore carried forward: the rows put back, and those kept in a file of the run's folder. */
  carry?: CarrySeen;
}

/** What a `rollback.finished` event sets on the rollback's view. */
export function rollbackEnd(
  e: Pick<RollbackView, 'outcome' | 'message' | 'durationMs' | 'budgetMs' | 'needsAttention'> & { at: string },
): Partial<RollbackView> {
  const { at, outcome, message, durationMs, budgetMs, needsAttention } = e;
  return { finishedAt: at, outcome, message, durationMs, budgetMs, ...(needsAttention?.length ? { needsAttention } : {}) };
}
