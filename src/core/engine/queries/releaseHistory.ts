import * as fs from 'node:fs';
import * as path from 'node:path';
import { statusName, type ReleaseState } from '../../model/releaseState';
import { loadRun, runDir, runIds } from './runs';
import { servingNow, workspaceRuns } from './liveState';

/** One release of the workspace, as its journal tells it. */
export interface HistoryRow {
  runId: string;
  name: string;
  version: string;
  environment: string;
  /** The plan file the run released, relative to the workspace. */
  plan: string;
  /** released, rolled-back, rollback-failed, aborted, abandoned; or running, paused, interrupted. */
  status: string;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  user: string;
  /** `user@host` of a run made on another machine or in another workspace (one the store shared). */
  madeElsewhere?: string;
  commit?: string;
  previousVersion?: string;
  /** Why it was rolled back and how that ended, when it was. */
  rollback?: { reason: string; outcome?: string; trigger: string };
  outcomeMessage?: string;
  /** This run's version serves its environment now (`yes`), or may (`maybe`: a rollback failed or a switch was stopped), as `liveState` says. */
  serving?: 'yes' | 'maybe';
  /** A process is running this release now. */
  live: boolean;
  /** Its journal holds a status change the transition table refuses (edited or damaged): its outcome cannot be trusted. */
  edited?: true;
  /** An attempt that changed nothing: it ended before any step ran (a gate, a question, a refusal). */
  refused?: true;
  report: string;
  journal: string;
}

/**
 * An attempt, not a release: it ended (aborted, not abandoned by a person) before any step of the plan ran, so
 * it changed nothing: a refused gate, an unanswered go/no-go question, a stop before the first step.
 */
export function isRefusedAttempt(s: ReleaseState): boolean {
  return s.status === 'aborted' && s.abandonedBy === undefined && !s.deployStartedAt && Object.keys(s.steps).length === 0 && s.rollbacks.length === 0;
}

/** The rows a list of releases shows, and the refused attempts it folds into a count (`history --all` lists them). */
export function foldRefused(rows: readonly HistoryRow[]): { releases: HistoryRow[]; refused: HistoryRow[] } {
  return { releases: rows.filter((r) => !r.refused), refused: rows.filter((r) => r.refused) };
}

/** "3 refused attempts (history --all to list them)": the line a list of releases shows for what it folds. */
export function refusedLine(n: number): string {
  return `${n} refused attempt${n === 1 ? '' : 's'} (history --all to list them)`;
}

/**
 * Every run of the workspace, newest first; `plan` keeps only the runs of that plan file. A journal
 * that cannot be read as a release (empty, or not one) is left out rather than failing the list.
 */
export function releaseHistory(workspace: string, o: { plan?: string; limit?: number; refused?: boolean } = {}): HistoryRow[] {
  const rows: HistoryRow[] = [];
  const serving = servingNow(workspaceRuns(workspace));
  for (const id of runIds(workspace)) {
    if (o.limit !== undefined && rows.length >= o.limit) break;
    let run: ReturnType<typeof loadRun>;
    try {
      run = loadRun(workspace, id);
    } catch {
      continue;
    }
    const s = run.state;
    if (!s.runId || (o.plan !== undefined && s.plan !== o.plan)) continue;
    const refused = isRefusedAttempt(s);
    if (refused && o.refused === false) continue;
    const end = s.finishedAt ? Date.parse(s.finishedAt) : undefined;
    const dir = runDir(workspace, id);
    rows.push({
      runId: id,
      name: s.name,
      version: s.version,
      environment: s.environment,
      plan: s.plan,
      status: statusName(s),
      startedAt: s.startedAt,
      ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
      ...(end !== undefined ? { durationMs: end - Date.parse(s.startedAt) } : {}),
      user: s.user,
      ...madeElsewhere(dir),
      ...(s.commit ? { commit: s.commit } : {}),
      ...(s.previousVersion ? { previousVersion: s.previousVersion } : {}),
      ...(s.rollback
        ? { rollback: { reason: s.rollback.reason, trigger: s.rollback.trigger, ...(s.rollback.outcome ? { outcome: s.rollback.outcome } : {}) } }
        : {}),
      ...(s.outcomeMessage ? { outcomeMessage: s.outcomeMessage } : {}),
      ...(serving(s) ? { serving: serving(s) } : {}),
      live: run.live,
      ...(s.transitionFlags?.length ? { edited: true as const } : {}),
      ...(refused ? { refused: true as const } : {}),
      report: path.join(dir, 'report.md'),
      journal: path.join(dir, 'journal.jsonl'),
    });
  }
  return rows;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026-11-27 21:03` in local time: what a person reads in a list of releases. */
export function shortTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * The history as a table for a terminal: newest first, one release per line. Refused attempts are folded into
 * one line that counts them; `all` lists them too, marked.
 */
export function renderHistory(rows: readonly HistoryRow[], duration: (ms: number) => string, o: { all?: boolean; limit?: number } = {}): string {
  const { releases, refused } = foldRefused(rows);
  const shown = (o.all ? [...rows] : releases).slice(0, o.limit);
  const folded = o.all || !refused.length ? [] : [refusedLine(refused.length)];
  if (!shown.length) return ['No releases yet in this workspace.', ...folded].join('\n');
  const table = [
    ['RUN', 'VERSION', 'ENVIRONMENT', 'OUTCOME', 'STARTED', 'DURATION', 'BY'],
    ...shown.map((r) => [
      r.runId,
      r.version,
      r.environment,
      r.status +
        (r.serving === 'yes' ? ' (serving)' : r.serving === 'maybe' ? ' (may serve)' : '') +
        (r.live ? ' (live)' : '') +
        (r.edited ? ' (journal edited)' : '') +
        (r.refused ? ' (refused)' : ''),
      shortTime(r.startedAt),
      r.durationMs !== undefined ? duration(r.durationMs) : '—',
      r.madeElsewhere ?? r.user,
    ]),
  ];
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  return [...table.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')), ...folded].join('\n');
}

/** A run made on another machine or in another workspace: the store's copy of it says who made it where (`origin.json`). */
function madeElsewhere(dir: string): { madeElsewhere?: string } {
  try {
    const o = JSON.parse(fs.readFileSync(path.join(dir, 'origin.json'), 'utf8')) as { user?: unknown; host?: unknown };
    return typeof o.user === 'string' && typeof o.host === 'string' ? { madeElsewhere: `${o.user}@${o.host}` } : {};
  } catch {
    return {};
  }
}
