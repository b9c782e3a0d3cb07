import * as path from 'node:path';
import { statusName } from '../../model/releaseState';
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
  commit?: string;
  previousVersion?: string;
  /** Why it was rolled back and how that ended, when it was. */
  rollback?: { reason: string; outcome?: string; trigger: string };
  outcomeMessage?: string;
  /** This run's version serves its environment now (`yes`), or may (`maybe`: a rollback failed or a switch was stopped), as `liveState` says. */
  serving?: 'yes' | 'maybe';
  /** A process is running this release now. */
  live: boolean;
  report: string;
  journal: string;
}

/**
 * Every run of the workspace, newest first; `plan` keeps only the runs of that plan file. A journal
 * that cannot be read as a release (empty, or not one) is left out rather than failing the list.
 */
export function releaseHistory(workspace: string, o: { plan?: string; limit?: number } = {}): HistoryRow[] {
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
      ...(s.commit ? { commit: s.commit } : {}),
      ...(s.previousVersion ? { previousVersion: s.previousVersion } : {}),
      ...(s.rollback
        ? { rollback: { reason: s.rollback.reason, trigger: s.rollback.trigger, ...(s.rollback.outcome ? { outcome: s.rollback.outcome } : {}) } }
        : {}),
      ...(s.outcomeMessage ? { outcomeMessage: s.outcomeMessage } : {}),
      ...(serving(s) ? { serving: serving(s) } : {}),
      live: run.live,
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

/** The history as a table for a terminal: newest first, one release per line. */
export function renderHistory(rows: readonly HistoryRow[], duration: (ms: number) => string): string {
  if (!rows.length) return 'No releases yet in this workspace.';
  const table = [
    ['RUN', 'VERSION', 'ENVIRONMENT', 'OUTCOME', 'STARTED', 'DURATION', 'BY'],
    ...rows.map((r) => [
      r.runId,
      r.version,
      r.environment,
      r.status + (r.serving === 'yes' ? ' (serving)' : r.serving === 'maybe' ? ' (may serve)' : '') + (r.live ? ' (live)' : ''),
      shortTime(r.startedAt),
      r.durationMs !== undefined ? duration(r.durationMs) : '—',
      r.user,
    ]),
  ];
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  return table.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n');
}
