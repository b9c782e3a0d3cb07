import { ErrorCodes } from '../base/errors';
import type { EventOf, NewEvent, ReleaseEvent, ReleaseOutcome } from './events';

/**
 * Where a release stands between its status events: the fold's `status` with what it alone cannot
 * tell apart (a run nothing has happened in yet; a rollback that ended but whose release has no
 * outcome yet). A run is `started` until its first phase starts or it first pauses.
 */
export type Lifecycle =
  | 'new'
  | 'started'
  | 'running'
  | 'paused'
  | 'rolling-back'
  | 'restore-held'
  | 'rollback-held'
  | 'rollback-ended:rolled-back'
  | 'rollback-ended:rollback-failed'
  | ReleaseOutcome;

/** The events that change a release's status: written only through `transition`. */
export const STATUS_EVENT_TYPES = [
  'release.started',
  'release.paused',
  'release.resumed',
  'rollback.started',
  'rollback.finished',
  'release.finished',
] as const;
export type StatusEventType = (typeof STATUS_EVENT_TYPES)[number];
export type StatusEvent = EventOf<StatusEventType>;
/** Every other event: what the engine appends directly. */
export type PlainNewEvent = Exclude<NewEvent, { type: StatusEventType }>;

/** A status event with what decides where it goes: the outcome of a rollback's or a release's end. */
export type StatusMove =
  | 'release.started'
  | 'release.paused'
  | 'release.resumed'
  | 'rollback.started'
  | `rollback.finished:${'rolled-back' | 'rollback-failed'}`
  | `release.finished:${ReleaseOutcome}`;

interface Row {
  from: readonly Lifecycle[];
  on: StatusMove;
  to: Lifecycle;
}

const UNDER_WAY: readonly Lifecycle[] = ['started', 'running', 'paused'];

/**
 * Every status change a release may make. A move not in this table is refused when the engine makes
 * it and flagged when a journal holds it. `started → release.resumed` is not here: a run resumes
 * once it paused or a phase started (after a pause, or after the process that ran it ended).
 */
export const TRANSITIONS: readonly Row[] = [
  { from: ['new'], on: 'release.started', to: 'started' },
  // Paused again before the resume (a gate still closed, a second stop): the first pause's time is kept.
  { from: UNDER_WAY, on: 'release.paused', to: 'paused' },
  { from: ['running', 'paused'], on: 'release.resumed', to: 'running' },
  // A run rolled back while under way, after it was released, or again after a failed rollback.
  { from: [...UNDER_WAY, 'released', 'rollback-failed'], on: 'rollback.started', to: 'rolling-back' },
  // The code went back and the restore waits for a person: the run pauses there, and goes on as a rollback.
  { from: ['restore-held', 'rollback-held'], on: 'release.paused', to: 'rollback-held' },
  { from: ['restore-held', 'rollback-held'], on: 'release.resumed', to: 'rolling-back' },
  { from: ['rolling-back', 'restore-held'], on: 'rollback.finished:rolled-back', to: 'rollback-ended:rolled-back' },
  { from: ['rolling-back', 'restore-held'], on: 'rollback.finished:rollback-failed', to: 'rollback-ended:rollback-failed' },
  { from: ['rollback-ended:rolled-back'], on: 'release.finished:rolled-back', to: 'rolled-back' },
  { from: ['rollback-ended:rollback-failed'], on: 'release.finished:rollback-failed', to: 'rollback-failed' },
  // Every phase passed (or was skipped); a run a gate, a stop or a person ended; a failed run.
  { from: ['started', 'running'], on: 'release.finished:released', to: 'released' },
  { from: UNDER_WAY, on: 'release.finished:aborted', to: 'aborted' },
  { from: UNDER_WAY, on: 'release.finished:failed', to: 'failed' },
];

/** A run's first phase started: it is under way (a resume after its process ended goes on from there). */
export const afterPhaseStarted = (l: Lifecycle): Lifecycle => (l === 'started' ? 'running' : l);

/** A rollback's database part held its restore for a person: the one pause a rollback makes comes next. */
export const afterRollbackDatabase = (l: Lifecycle, action: string): Lifecycle => (l === 'rolling-back' && action === 'held' ? 'restore-held' : l);

/** The status the fold shows for a place in the table. */
export function statusOfLifecycle(l: Lifecycle): 'running' | 'paused' | 'rolling-back' | ReleaseOutcome {
  if (l === 'new' || l === 'started') return 'running';
  if (l.startsWith('rollback-ended:') || l === 'restore-held') return 'rolling-back';
  if (l === 'rollback-held') return 'paused';
  return l as 'running' | 'paused' | 'rolling-back' | ReleaseOutcome;
}

export function isStatusEvent(e: { type: string }): e is StatusEvent {
  return (STATUS_EVENT_TYPES as readonly string[]).includes(e.type);
}

/** The table's name for a status event. */
export function moveOf(e: { type: StatusEventType; outcome?: unknown }): StatusMove {
  if (e.type === 'rollback.finished' || e.type === 'release.finished') return `${e.type}:${String(e.outcome)}` as StatusMove;
  return e.type;
}

const SAID: Record<Lifecycle, string> = {
  new: 'has not started',
  started: 'has started and nothing ran yet',
  running: 'is running',
  paused: 'is paused',
  'rolling-back': 'is rolling back',
  'restore-held': 'holds its restore for a person',
  'rollback-held': 'is paused before its restore',
  'rollback-ended:rolled-back': 'has rolled back and has no outcome yet',
  'rollback-ended:rollback-failed': 'has failed to roll back and has no outcome yet',
  released: 'was released',
  failed: 'failed',
  'rolled-back': 'was rolled back',
  'rollback-failed': 'failed to roll back',
  aborted: 'was aborted',
};

/** What a run did, as far as the table asks: its phases and steps. */
export interface RunWork {
  readonly phases: readonly { readonly id: string; readonly state: string }[];
  readonly steps: Readonly<Record<string, { readonly state: string }>>;
}

/** Phase states a released run cannot hold: work begun and not finished well. A phase never started (pending) says nothing against it: a journal records what a run did, and an older or hand-written one may record less. */
const PHASE_AGAINST: readonly string[] = ['running', 'failed', 'interrupted', 'blocked'];

/**
 * Why a run cannot end released: a phase begun that did not pass (running, failed, interrupted,
 * blocked), or a step still running. A failed announcement does not fail a release: its phase may
 * have finished failed.
 */
export function unfinishedWork(run: RunWork): string | undefined {
  const phase = run.phases.find((p) => PHASE_AGAINST.includes(p.state) && !(p.id === 'announcement' && p.state === 'failed'));
  if (phase) return `phase ${phase.id} is ${phase.state}`;
  const running = Object.entries(run.steps).find(([, st]) => st.state === 'running');
  return running ? `step ${running[0]} is running` : undefined;
}

/**
 * Where a move goes from a place, or why the table refuses it. With the run's work given, a run ends
 * released only when no phase it began is unfinished or failed, and no step runs.
 */
export function step(from: Lifecycle, move: StatusMove, run?: RunWork): { ok: true; to: Lifecycle } | { ok: false; why: string } {
  const row = TRANSITIONS.find((r) => r.on === move && r.from.includes(from));
  const unfinished = row && run && move === 'release.finished:released' ? unfinishedWork(run) : undefined;
  if (unfinished) return { ok: false, why: `release.finished (released) where the release's ${unfinished}` };
  if (row) return { ok: true, to: row.to };
  const outcome = move.includes(':') ? ` (${move.split(':')[1]})` : '';
  return { ok: false, why: `${move.split(':')[0]}${outcome} where the release ${SAID[from] ?? `is ${JSON.stringify(from)}`}` };
}

/** Whether the table allows a move from where a release stands. */
export const allows = (from: Lifecycle, move: StatusMove, run?: RunWork) => step(from, move, run).ok;

/** What the engine writes status events through: its run's state and its journal. */
export interface StatusWriter {
  readonly state: { lifecycle: Lifecycle } & Partial<RunWork>;
  /** Appends one event to the journal (and the state); `transition` is the only caller with a status event. */
  write(e: NewEvent): ReleaseEvent;
}

/** A status change the table does not allow, refused before it reached the journal. */
export class TransitionRefused extends Error {
  override name = 'TransitionRefused';
  readonly code = ErrorCodes.TransitionRefused;
  constructor(
    readonly from: Lifecycle,
    readonly move: StatusMove,
    why: string,
  ) {
    super(`internal error: refused ${why}; the journal was left as it was`);
  }
}

type Detail<T extends StatusEventType> = Omit<EventOf<T>, 'type' | 'at'>;

/**
 * The one way the engine changes a release's status: the move is checked against the table from
 * where the run stands, then journaled. A move the table refuses is not written: a warning says so
 * in the journal, and `TransitionRefused` is thrown.
 */
export function transition<T extends StatusEventType>(w: StatusWriter, type: T, detail: Detail<T>): ReleaseEvent {
  const e = { type, ...detail } as { type: StatusEventType; outcome?: unknown };
  const from = w.state.lifecycle;
  const move = moveOf(e);
  const { phases, steps } = w.state;
  const r = step(from, move, phases && steps ? { phases, steps } : undefined);
  if (!r.ok) {
    const refused = new TransitionRefused(from, move, r.why);
    w.write({ type: 'warning', message: refused.message });
    throw refused;
  }
  return w.write(e as NewEvent);
}
