import type { PhaseId } from './schema';
import type { RunInputs } from '../base/inputs';
import type { DbStrategy } from './schema-database';

export type ItemState = 'pending' | 'checking' | 'passed' | 'failed' | 'waived';
export type StepState = 'pending' | 'running' | 'passed' | 'failed' | 'waived' | 'interrupted' | 'skipped';
export type PhaseState = 'pending' | 'running' | 'passed' | 'failed' | 'waived' | 'blocked' | 'interrupted' | 'skipped';
export type ReleaseOutcome = 'released' | 'failed' | 'rolled-back' | 'rollback-failed' | 'aborted';
export type RollbackTrigger = 'user' | 'guard' | 'step';
/**
 * One table's mark: its rows, and its highest integer key (rowid, primary key) when it has one, as
 * the database printed it: a bigint beyond 2^53 stays exact.
 */
export interface TableMark {
  rows: number;
  maxId?: string;
  /** The table's columns at the marks, in order: the fingerprint is read over these. */
  columns?: string[];
  /** A hash over every row's content at the marks: unchanged, the table is proven to hold no writes. */
  sum?: string;
}
/**
 * The writes a restore carried forward: the rows written since the backup (`writes`), put back after it
 * (`carried`) or kept in `keptFile` in the run's folder (`kept`); `windowMs` from the copy's read to the
 * put-back's end, in which a write the service makes is not carried.
 */
export interface CarrySeen {
  writes: number;
  carried: number;
  kept: number;
  keptFile: string;
  windowMs: number;
}
/** The writes since the backup as last measured; `atLeast` when a changed table's count was estimated. */
export interface WritesSeen {
  at: string;
  total: number;
  tables: Record<string, number>;
  atLeast?: boolean;
}
/** What a rollback did to the database: kept the schema, ran the down steps, restored, waits for a person, or was told not to restore. */
export type DbAction = 'kept' | 'down' | 'restore' | 'held' | 'declined';
export type SampleStatus = 'ok' | 'breach' | 'error' | 'nan' | 'empty' | 'no-traffic';

/** How a step's process ended: what the runner reports and the journal's `step.finished` keeps. */
export interface StepEnd {
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  timedOut: boolean;
  cancelled: boolean;
  /** Last lines of output, masked and without control sequences, for the journal and the report. */
  tail: string;
}

interface At {
  /** ISO time the event was written. */
  at: string;
}

/** An approval tag that counted: its name, who tagged it, and the key git verified its signature with. */
/**
 * When a process started, which with its pid names it and no other: clock ticks after boot (field 22 of
 * /proc/<pid>/stat) and the boot (/proc/sys/kernel/random/boot_id). A pid alone is handed out again after
 * the process ends, after a reboot or a wrap-around of the pid counter.
 */
export interface ProcessStart {
  ticks: number;
  boot: string;
}

export interface ApprovalCounted {
  tag: string;
  approver: string;
  /** The signing key's fingerprint (SSH `SHA256:…`, or the OpenPGP fingerprint), when the tag is signed. */
  key?: string;
}

export type ReleaseEvent = At &
  (
    | {
        type: 'release.started';
        runId: string;
        plan: string;
        name: string;
        version: string;
        environment: string;
        user: string;
        host: string;
        pid: number;
        planHash: string;
        previousVersion?: string;
        previousVersionFrom?: string;
        commit?: string;
        /** Whether the working tree had no change against `commit` at the start (tool files aside); absent outside git. */
        clean?: boolean;
        /** A redeploy: the released run of this version it deploys again, and the commit of that version's tag at start. */
        redeployOf?: { runId: string; tagCommit?: string };
        /** The overrides, ticks, waivers and variable values the run started with: a resume runs with exactly these. */
        inputs?: RunInputs;
        /** Set when what served before this run is uncertain (a rollback failed, a switch was interrupted): why. */
        previousVersionUncertain?: string;
      }
    | { type: 'acceptance.checked'; ok: boolean; expected: string; said: string; source: string }
    | { type: 'checklist.item.changed'; id: string; title: string; state: ItemState; by?: string; reason?: string; detail?: string }
    | { type: 'deploy.colors'; active: string; idle: string }
    /** The canary took this share of the traffic (its setWeight steps passed) and its analysis starts. */
    | { type: 'canary.weight'; weight: number; index: number; of: number }
    | { type: 'phase.started'; phase: PhaseId }
    | { type: 'phase.finished'; phase: PhaseId; outcome: 'passed' | 'failed' | 'skipped' | 'waived' }
    | { type: 'step.started'; phase: PhaseId | 'rollback'; step: string; name: string; command: string; log: string; pid?: number }
    | {
        type: 'step.running';
        step: string;
        pid: number;
        mark?: string;
        /** The step's shell's start: what proves a live pid is still the step's. */ start?: ProcessStart;
      }
    | { type: 'step.interrupted'; step: string; message: string }
    | ({ type: 'step.finished'; step: string; ok: boolean; message: string } & StepEnd)
    | { type: 'step.waived'; step: string; by: string; reason: string }
    | {
        type: 'gate.changed';
        gate: string;
        state: 'open' | 'blocked';
        message: string;
        /** The approval gate: the tags that counted, for the audit. */
        approvals?: ApprovalCounted[];
        /** The freeze gate: who overrode the freeze, and why (a resume of the run keeps it). */
        override?: { by: string; reason: string };
      }
    | { type: 'release.paused'; step?: string; message: string; /** A signal or a closing window stopped the release. */ stoppedBy?: string }
    | { type: 'release.resumed'; by: string; pid: number }
    | { type: 'decision'; action: 'retry' | 'rollback' | 'waive' | 'pause' | 'continue' | 'abandon'; by: string; reason?: string; step?: string }
    | { type: 'baseline.captured'; metric: string; samples: number[]; mean: number; stdev: number; fixed: boolean }
    | {
        type: 'metric.sample';
        metric: string;
        value: number | null;
        status: SampleStatus;
        message?: string;
        /** Taken in the warm-up after a switch (`monitoring.warmup`): journaled, not judged. */
        warmup?: boolean;
      }
    | { type: 'guard.breached'; metric: string; rule: string; value: number; threshold: number; consecutive: number; confirmed: boolean }
    | { type: 'monitoring.verdict'; metric: string; verdict: 'pass' | 'fail' | 'inconclusive'; explanation: string }
    | {
        type: 'monitoring.window';
        windowMs: number;
        intervalMs: number;
        metrics: string[];
        /** Each metric's name, unit and guard rules as the plan said at the window's start (journals before 0.x lack it). */
        guards?: { metric: string; title: string; unit: string; rules: string }[];
      }
    /** The window taken longer to confirm or clear a breach (or a run of unusable samples) open at its end. */
    | { type: 'monitoring.extended'; extraMs: number; reason: string }
    | { type: 'verification.planned'; coreApi: { step?: string; name?: string; basis: 'marked' | 'named' | 'not-marked' | 'none' } }
    | {
        type: 'rollback.started';
        trigger: RollbackTrigger;
        reason: string;
        by: string;
        requestedAt: string;
        latencyMs: number;
        lateByMs?: number;
        forcedOver?: string;
      }
    | {
        type: 'rollback.finished';
        outcome: 'rolled-back' | 'rollback-failed';
        message: string;
        durationMs?: number;
        budgetMs?: number;
        /** Hosts a rollback step could not roll back, each "HOST: WHY" (its `release-pilot: needs-attention` lines). */
        needsAttention?: string[];
      }
    /** The database's marks, taken when the backup phase passed: what "writes since the backup" is measured from. */
    | { type: 'database.marked'; source: string; tables: Record<string, TableMark> }
    /** The writes since the backup, measured before a restore: in all and per table. */
    | { type: 'database.writes'; source: string; total: number; tables: Record<string, number>; atLeast?: boolean }
    /**
     * A step of the rollback's database part: `ok` false when its steps failed. `held` waits for a person
     * to confirm or decline the restore; `writes` is the count the decision was made on.
     */
    | { type: 'rollback.database'; strategy: DbStrategy; action: DbAction; ok: boolean; message: string; writes?: number; carry?: CarrySeen }
    /** The previous version's smoke test on the migrated staging schema: passed proves `code-only` for this release. */
    | { type: 'database.compat'; strategy: DbStrategy; ok: boolean; previousVersion: string; message: string }
    | { type: 'retire.inherited'; from: string; active: string; idle: string }
    | { type: 'announcement.sent'; channel: string; ok: boolean; message: string }
    | { type: 'changelog.generated'; previousTag: string | null; version: string; sections: Record<string, string[]> }
    | { type: 'release.finished'; outcome: ReleaseOutcome; message: string }
    | { type: 'note.added'; author: string; text: string }
    | {
        type: 'warning';
        message: string;
        /** The store's lock taken over from a holder whose lease ran out: that holder (its journal here may be longer). */
        tookOver?: { pid: number; user: string; host: string; runId: string };
      }
  );

export type EventOf<T extends ReleaseEvent['type']> = Extract<ReleaseEvent, { type: T }>;
/** An event as the engine produces it, before the journal stamps the time. */
export type NewEvent = ReleaseEvent extends infer E ? (E extends ReleaseEvent ? Omit<E, 'at'> : never) : never;
