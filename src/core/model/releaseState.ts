import { PHASES, type PhaseId } from './schema';
import type { RunInputs } from '../base/inputs';
import type { ApprovalCounted, ReleaseEvent, ReleaseOutcome, TableMark, WritesSeen } from './events';
import { rollbackEnd, type ChecklistView, type MetricView, type PhaseView, type RollbackView, type StepView } from './stateViews';
import { dbView } from './dbView';
import { afterPhaseStarted, afterRollbackDatabase, isStatusEvent, moveOf, statusOfLifecycle, step, type Lifecycle } from './statusTransitions';

export type ReleaseStatus = 'running' | 'paused' | 'rolling-back' | 'interrupted' | ReleaseOutcome;

export interface ReleaseState {
  runId: string;
  name: string;
  version: string;
  environment: string;
  plan: string;
  user: string;
  /** Full SHA of the commit the release started from (HEAD at start), when the workspace is a git repository. */
  commit?: string;
  /** The working tree matched `commit` when the run started (journaled since environments); undefined when unknown. */
  clean?: boolean;
  startedAt: string;
  updatedAt: string;
  status: ReleaseStatus;
  /** Where the release stands in the table of status changes (statusTransitions.ts); `status` is what it shows. */
  lifecycle: Lifecycle;
  /** The journal's status events the table refuses (a journal edited, replayed or spliced): each was not folded. */
  transitionFlags?: string[];
  acceptance?: { ok: boolean; expected: string; said: string; source: string };
  checklist: ChecklistView[];
  phases: PhaseView[];
  steps: Record<string, StepView>;
  colors?: { active: string; idle: string };
  /** A canary deploy's current step: the share of the traffic it was given, the n-th of `of` weights. */
  canary?: { weight: number; index: number; of: number; since: string; steps: { weight: number; at: string }[] };
  /** What `${release.previousVersion}` resolves to in this run, fixed at its start. */
  previousVersion?: string;
  /** Set when what served before this run was uncertain at its start: why (the rollback target may not be what runs). */
  previousVersionUncertain?: string;
  /** The overrides, ticks, waivers and variable values the run started with (journals before inputs were kept lack it). */
  inputs?: RunInputs;
  /** This run deploys again a version released before, in the run named. */
  redeployOf?: { runId: string; tagCommit?: string };
  gates: Record<string, { state: 'open' | 'blocked'; message: string; approvals?: ApprovalCounted[] }>;
  metrics: Record<string, MetricView>;
  monitoring?: { startedAt?: string; finishedAt?: string; windowMs?: number; metrics?: number; extendedMs?: number; extendedReason?: string };
  /** The check the report's Core API line speaks for, as the plan said when the release started. */
  coreApi?: { step?: string; name?: string; basis: 'marked' | 'named' | 'not-marked' | 'none' };
  deployStartedAt?: string;
  /** The newest rollback attempt; `rollbacks` holds every attempt, oldest first. */
  rollback?: RollbackView;
  rollbacks: RollbackView[];
  /** The database's marks taken when the backup passed, and the writes since, as last measured. */
  database?: { source: string; markedAt: string; marks: Record<string, TableMark>; writes?: WritesSeen };
  compat?: Omit<Extract<ReleaseEvent, { type: 'database.compat' }>, 'type' | 'at'>;
  /** The old colour of an earlier release, kept up for its rollback, which this release retires before it deploys. */
  retireInherited?: { from: string; active: string; idle: string };
  pausedAt?: { step?: string; message: string; since?: string };
  announcements: { channel: string; ok: boolean; message: string }[];
  changelog?: { previousTag: string | null; version: string; sections: Record<string, string[]> };
  notes: { at: string; author: string; text: string }[];
  warnings: string[];
  finishedAt?: string;
  outcome?: ReleaseOutcome;
  outcomeMessage?: string;
  /** Who abandoned the run (ended it without finishing or rolling back), when someone did. */
  abandonedBy?: string;
  events: number;
}

export interface FoldOptions {
  /** No live process owns the release: whatever was running was interrupted. */
  closed?: boolean;
}

/** The state before any event. */
export function initialState(): ReleaseState {
  return {
    runId: '',
    name: '',
    version: '',
    environment: '',
    plan: '',
    user: '',
    startedAt: '',
    updatedAt: '',
    status: 'running',
    lifecycle: 'new',
    checklist: [],
    phases: PHASES.map((id) => ({ id, state: 'pending', steps: [] })),
    steps: {},
    gates: {},
    metrics: {},
    announcements: [],
    rollbacks: [],
    notes: [],
    warnings: [],
    events: 0,
  };
}

/** The state of a release: a pure fold over its journal. */
export function foldJournal(events: readonly ReleaseEvent[], opts: FoldOptions = {}): ReleaseState {
  const s = initialState();
  for (const e of events) applyEvent(s, e);
  if (opts.closed) closeState(s);
  return s;
}

/**
 * One step of the fold, applied in place: the engine keeps its state current with it, one event
 * at a time, instead of folding the whole journal again for each event.
 */
export function applyEvent(s: ReleaseState, e: ReleaseEvent): ReleaseState {
  const phase = (id: PhaseId) => s.phases.find((p) => p.id === id)!;
  const metric = (id: string) => (s.metrics[id] ??= { id, samples: [], breaches: 0 });
  {
    s.events++;
    s.updatedAt = e.at;
    if (!changeStatus(s, e)) return s;
    switch (e.type) {
      case 'release.started':
        Object.assign(s, {
          runId: e.runId,
          name: e.name,
          version: e.version,
          environment: e.environment,
          plan: e.plan,
          user: e.user,
          startedAt: e.at,
          previousVersion: e.previousVersion,
          ...(e.commit ? { commit: e.commit } : {}),
          ...(e.clean !== undefined ? { clean: e.clean } : {}),
          ...(e.redeployOf ? { redeployOf: e.redeployOf } : {}),
          ...(e.previousVersionUncertain ? { previousVersionUncertain: e.previousVersionUncertain } : {}),
          ...(e.inputs ? { inputs: e.inputs } : {}),
        });
        break;
      case 'release.resumed': {
        // The phases a pause stopped mid-way do not count the pause as their time.
        const since = s.pausedAt?.since;
        const gap = since ? Date.parse(e.at) - Date.parse(since) : 0;
        if (gap > 0) for (const p of s.phases) if (p.startedAt && !p.finishedAt) p.pausedMs = (p.pausedMs ?? 0) + gap;
        s.pausedAt = undefined;
        break;
      }
      case 'acceptance.checked':
        s.acceptance = { ok: e.ok, expected: e.expected, said: e.said, source: e.source };
        break;
      case 'checklist.item.changed': {
        const item = s.checklist.find((i) => i.id === e.id);
        const next: ChecklistView = { id: e.id, title: e.title, state: e.state, by: e.by, reason: e.reason, detail: e.detail, at: e.at };
        if (item) Object.assign(item, next);
        else s.checklist.push(next);
        break;
      }
      case 'deploy.colors':
        s.colors = { active: e.active, idle: e.idle };
        break;
      case 'canary.weight':
        s.canary = { weight: e.weight, index: e.index, of: e.of, since: e.at, steps: [...(s.canary?.steps ?? []), { weight: e.weight, at: e.at }] };
        break;
      case 'phase.started': {
        const p = phase(e.phase);
        p.state = 'running';
        p.startedAt ??= e.at;
        p.finishedAt = undefined;
        s.lifecycle = afterPhaseStarted(s.lifecycle);
        if (e.phase === 'deploy') s.deployStartedAt ??= e.at;
        if (e.phase === 'monitoring') s.monitoring = { startedAt: e.at };
        break;
      }
      case 'phase.finished': {
        const p = phase(e.phase);
        p.state = e.outcome;
        p.finishedAt = e.at;
        if (p.startedAt) p.durationMs = activeMs(p, e.at);
        if (e.phase === 'monitoring' && s.monitoring) s.monitoring.finishedAt = e.at;
        break;
      }
      case 'step.started': {
        const prev = s.steps[e.step];
        s.steps[e.step] = {
          key: e.step,
          phase: e.phase,
          name: e.name,
          command: e.command,
          state: 'running',
          log: e.log,
          startedAt: e.at,
          attempts: (prev?.attempts ?? 0) + 1,
        };
        if (e.phase !== 'rollback') {
          const p = phase(e.phase);
          if (!p.steps.includes(e.step)) p.steps.push(e.step);
        }
        break;
      }
      case 'step.running': {
        const st = s.steps[e.step];
        if (st) Object.assign(st, { pid: e.pid, ...(e.mark ? { mark: e.mark } : {}), ...(e.start ? { start: e.start } : {}) });
        break;
      }
      case 'step.interrupted': {
        const st = s.steps[e.step];
        if (st) Object.assign(st, { state: 'interrupted', message: e.message });
        break;
      }
      case 'step.finished': {
        const st = s.steps[e.step];
        if (!st) break;
        Object.assign(st, {
          state: e.ok ? 'passed' : 'failed',
          exitCode: e.exitCode,
          signal: e.signal,
          durationMs: e.durationMs,
          message: e.message,
          tail: e.tail,
        });
        break;
      }
      case 'step.waived': {
        const st = s.steps[e.step];
        if (st) Object.assign(st, { state: 'waived', waivedBy: e.by, waiveReason: e.reason });
        break;
      }
      case 'gate.changed':
        s.gates[e.gate] = { state: e.state, message: e.message, ...(e.approvals ? { approvals: e.approvals } : {}) };
        break;
      case 'release.paused': {
        s.pausedAt = { step: e.step, message: e.message, since: s.pausedAt?.since ?? e.at };
        // The phase of a failed step stops there: failed until a resume starts it again.
        const st = e.step ? s.steps[e.step] : undefined;
        if (st && st.phase !== 'rollback' && (st.state === 'failed' || st.state === 'interrupted'))
          phase(st.phase).state = st.state === 'failed' ? 'failed' : 'interrupted';
        break;
      }
      case 'decision':
        if (e.action === 'abandon') s.abandonedBy = e.by;
        break;
      case 'baseline.captured':
        metric(e.metric).baseline = { mean: e.mean, stdev: e.stdev, samples: e.samples, fixed: e.fixed };
        break;
      case 'metric.sample': {
        const m = metric(e.metric);
        // Not judged: kept apart, so the window's samples, statistics and chart are the judged ones.
        if (e.warmup) {
          m.warmupSamples = (m.warmupSamples ?? 0) + 1;
          break;
        }
        m.samples.push({ at: e.at, value: e.value, status: e.status, message: e.message });
        m.last = { value: e.value, status: e.status, message: e.message };
        break;
      }
      case 'guard.breached':
        if (e.confirmed) {
          const m = metric(e.metric);
          m.breaches++;
          m.breach = { rule: e.rule, value: e.value, threshold: e.threshold, consecutive: e.consecutive, at: e.at };
        }
        break;
      case 'monitoring.verdict':
        metric(e.metric).verdict = { verdict: e.verdict, explanation: e.explanation };
        break;
      case 'monitoring.window':
        s.monitoring = { ...s.monitoring, windowMs: e.windowMs, metrics: e.metrics.length };
        for (const g of e.guards ?? []) Object.assign(metric(g.metric), { title: g.title, unit: g.unit, guard: g.rules });
        break;
      case 'monitoring.extended':
        s.monitoring = { ...s.monitoring, extendedMs: (s.monitoring?.extendedMs ?? 0) + e.extraMs, extendedReason: e.reason };
        break;
      case 'verification.planned':
        s.coreApi = e.coreApi;
        break;
      case 'rollback.started':
        // The rollback ends whatever phase was under way: it did not pass.
        for (const p of s.phases) {
          if (p.state !== 'running') continue;
          p.state = 'failed';
          p.finishedAt = e.at;
          if (p.startedAt) p.durationMs = activeMs(p, e.at);
          if (p.id === 'monitoring' && s.monitoring) s.monitoring.finishedAt = e.at;
        }
        s.rollback = {
          trigger: e.trigger,
          reason: e.reason,
          by: e.by,
          requestedAt: e.requestedAt,
          startedAt: e.at,
          latencyMs: e.latencyMs,
          lateByMs: e.lateByMs,
          forcedOver: e.forcedOver,
        };
        s.rollbacks.push(s.rollback);
        break;
      case 'rollback.finished':
        if (s.rollback) Object.assign(s.rollback, rollbackEnd(e));
        break;
      case 'database.marked':
        s.database = { source: e.source, markedAt: e.at, marks: e.tables };
        break;
      case 'database.writes':
        if (s.database) s.database.writes = { at: e.at, total: e.total, tables: e.tables, ...(e.atLeast ? { atLeast: true } : {}) };
        break;
      case 'database.compat':
        s.compat = { strategy: e.strategy, ok: e.ok, previousVersion: e.previousVersion, message: e.message };
        break;
      case 'rollback.database':
        s.lifecycle = afterRollbackDatabase(s.lifecycle, e.action);
        if (s.rollback) s.rollback.database = dbView(e, s.database?.writes);
        break;
      case 'retire.inherited':
        s.retireInherited = { from: e.from, active: e.active, idle: e.idle };
        break;
      case 'announcement.sent':
        s.announcements.push({ channel: e.channel, ok: e.ok, message: e.message });
        break;
      case 'changelog.generated':
        s.changelog = { previousTag: e.previousTag, version: e.version, sections: e.sections };
        break;
      case 'release.finished':
        s.outcome = e.outcome;
        s.outcomeMessage = e.message;
        s.finishedAt = e.at;
        break;
      case 'note.added':
        s.notes.push({ at: e.at, author: e.author, text: e.text });
        break;
      case 'warning':
        s.warnings.push(e.message);
        break;
    }
  }
  return s;
}

/**
 * A status event moves the release as the table says; one the table refuses is flagged and not folded
 * (false), so a journal with an impossible status change never reads as a status it could not reach.
 */
function changeStatus(s: ReleaseState, e: ReleaseEvent): boolean {
  if (!isStatusEvent(e)) return true;
  const r = step(s.lifecycle, moveOf(e), s);
  if (!r.ok) {
    (s.transitionFlags ??= []).push(`event ${s.events} (${String(e.type)} at ${String(e.at)}): ${r.why}`);
    return false;
  }
  s.lifecycle = r.to;
  s.status = statusOfLifecycle(r.to);
  return true;
}

const activeMs = (p: PhaseView, end: string) => Date.parse(end) - Date.parse(p.startedAt!) - (p.pausedMs ?? 0);

/** No live process owns the release: whatever was running was interrupted, and never passed. */
function closeState(s: ReleaseState): void {
  if (s.status !== 'running' && s.status !== 'rolling-back') return;
  for (const st of Object.values(s.steps)) {
    if (st.state !== 'running') continue;
    st.state = 'interrupted';
    st.message = 'interrupted: the process that ran it ended before it finished';
  }
  for (const p of s.phases) if (p.state === 'running') p.state = 'interrupted';
  s.status = s.status === 'rolling-back' ? 'rollback-failed' : 'interrupted';
  if (s.rollback && !s.rollback.outcome) {
    s.rollback.outcome = 'rollback-failed';
    s.rollback.message = 'the rollback was interrupted before it finished';
  }
}

export const FINAL_STATUSES: readonly ReleaseStatus[] = ['released', 'failed', 'rolled-back', 'rollback-failed', 'aborted'];
export const isFinal = (s: ReleaseStatus) => FINAL_STATUSES.includes(s);

/**
 * A run's status in the word a person reads (status, history, report, compare, the editor's views): a
 * run someone abandoned ended `aborted` in its journal and reads `abandoned`.
 */
export function statusName(s: Pick<ReleaseState, 'status' | 'abandonedBy'>): string {
  return s.status === 'aborted' && s.abandonedBy !== undefined ? 'abandoned' : s.status;
}

/** Until when a rollback may still be started (ISO), or undefined when there is nothing to roll back. */
export function rollbackOpenUntil(s: ReleaseState, deadlineMs: number, windowMs: number): string | undefined {
  if (!s.deployStartedAt || s.rollback?.outcome === 'rolled-back' || s.status === 'rolling-back') return undefined;
  if (s.status === 'failed' || s.status === 'aborted') return undefined;
  if (!isFinal(s.status)) {
    // In progress: open for as long as the release runs, shown as the end of the planned window.
    const from = Date.parse(s.monitoring?.startedAt ?? s.updatedAt);
    return new Date(from + windowMs + deadlineMs).toISOString();
  }
  if (s.status === 'rollback-failed') return new Date(Date.parse(s.updatedAt) + deadlineMs).toISOString();
  const closed = s.monitoring?.finishedAt ?? s.finishedAt ?? s.updatedAt;
  return new Date(Date.parse(closed) + deadlineMs).toISOString();
}
