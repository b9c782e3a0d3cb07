import { formatDuration, formatNumber } from '../../format';
import { shortTime } from './releaseHistory';

// Two runs compared, as data and as text: what both front ends show. Building one reads git
// (src/core/engine/queries/compareRuns.ts, in the engine bundle); showing one does not.

/** Keep a Changelog's sections, in its order (as src/core/report/changelog.ts lists them). */
const SECTIONS = ['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security'] as const;

/** One sample of a monitoring window, placed by its time from the window's start (so two windows line up). */
export interface ComparedSample {
  offsetMs: number;
  value: number | null;
  status: string;
}

export interface ComparedMetric {
  id: string;
  title: string;
  unit: string;
  /** The guard's rules as the run's journal recorded them (the plan's for journals that did not). */
  guard: string;
  baseline: { mean: number; stdev: number; samples: number[]; fixed: boolean } | null;
  samples: ComparedSample[];
  breaches: number;
  /** As the report says it (src/core/report/incident-wording.ts, metricVerdict). */
  verdict: { verdict: string; explanation?: string };
}

/** One run's side of a comparison: what it released, how it ended, and its monitoring window. */
export interface ComparedRun {
  runId: string;
  name: string;
  version: string;
  environment: string;
  status: string;
  /** Its version serves its environment now (`yes`) or may (`maybe`), as `liveState` says; absent when it does not. */
  serving?: 'yes' | 'maybe';
  outcomeMessage?: string;
  user: string;
  startedAt: string;
  durationMs?: number;
  commit?: string;
  redeployOf?: string;
  rollback?: { trigger: string; reason: string; outcome?: string };
  window: { startedAt?: string; durationMs?: number; samples: number };
  metrics: ComparedMetric[];
}

export type ComparedChangelog =
  | {
      /** forward: the later run has the earlier one's commits and more; back: the later run went back to an older commit. */
      direction: 'forward' | 'back' | 'same' | 'diverged';
      from: { version: string; commit: string };
      to: { version: string; commit: string };
      sections: Record<string, string[]>;
      /** What the changelog leaves out, as one line ('' when nothing). */
      omitted: string;
    }
  | { unavailable: string };

/** Two runs of one plan: the earlier one first. */
export interface Comparison {
  plan: string;
  earlier: ComparedRun;
  later: ComparedRun;
  changelog: ComparedChangelog;
}

/** The heading of the changelog part, in words: which way the later run went. */
export function changelogHeading(c: Comparison): string {
  const cl = c.changelog;
  const names = `${c.earlier.version} (run ${c.earlier.runId}) → ${c.later.version} (run ${c.later.runId})`;
  if ('unavailable' in cl) return `Changes ${names}: not available — ${cl.unavailable}`;
  const range = `${cl.from.commit.slice(0, 12)}..${cl.to.commit.slice(0, 12)}`;
  switch (cl.direction) {
    case 'same':
      return `Changes ${names}: none, both released commit ${cl.from.commit.slice(0, 12)}`;
    case 'back':
      return `Changes ${names}: the later run went back; these changes were taken out (${range.split('..').reverse().join('..')})`;
    case 'diverged':
      return `Changes ${names}: the commits differ on both sides; in the later run only (${range})`;
    default:
      return `Changes ${names} (${range})`;
  }
}

/** The changelog's entries as Markdown lines under Keep a Changelog headings; a line when there are none. */
export function changelogLines(cl: ComparedChangelog): string[] {
  if ('unavailable' in cl) return [];
  const lines: string[] = [];
  for (const s of SECTIONS) {
    const items = cl.sections[s] ?? [];
    if (items.length) lines.push(`### ${s}`, ...items.map((i) => `- ${i}`));
  }
  if (!lines.length) lines.push('No user-facing changes.');
  if (cl.omitted) lines.push(cl.omitted);
  return lines;
}

function windowLine(m: ComparedMetric): string {
  const values = m.samples.map((x) => x.value).filter((v): v is number => v !== null && Number.isFinite(v));
  if (!m.samples.length) return 'no samples';
  const bad = m.samples.length - values.length;
  const stats = values.length ? `min ${formatNumber(Math.min(...values))}, max ${formatNumber(Math.max(...values))}` : 'no usable value';
  return `${m.samples.length} sample(s): ${stats}${bad ? `, ${bad} unusable` : ''}`;
}

/** `breached: 0.00 against its guard min 1, …`; the word alone when there is nothing to explain. */
export const verdictText = (m: ComparedMetric) => `${m.verdict.verdict}${m.verdict.explanation ? `: ${m.verdict.explanation}` : ''}`;

const baselineLine = (m: ComparedMetric) =>
  m.baseline
    ? m.baseline.fixed
      ? `${formatNumber(m.baseline.mean)} (fixed)`
      : `${formatNumber(m.baseline.mean)} ± ${formatNumber(m.baseline.stdev)} from ${m.baseline.samples.length} sample(s)`
    : 'none';

const servingText = (r: ComparedRun) => (r.serving === 'yes' ? 'yes' : r.serving === 'maybe' ? 'maybe (what serves is uncertain)' : 'no');

/** The comparison as text for a terminal: the two runs in columns, each metric's window, then the changelog. */
export function renderComparison(c: Comparison): string {
  const [e, l] = [c.earlier, c.later];
  const rows: [string, string, string][] = [
    ['', `${e.version} · run ${e.runId}`, `${l.version} · run ${l.runId}`],
    ['outcome', e.status, l.status],
    ['serving now', servingText(e), servingText(l)],
    ['started', `${shortTime(e.startedAt)} by ${e.user}`, `${shortTime(l.startedAt)} by ${l.user}`],
    ['duration', e.durationMs !== undefined ? formatDuration(e.durationMs) : '—', l.durationMs !== undefined ? formatDuration(l.durationMs) : '—'],
    ['commit', e.commit?.slice(0, 12) ?? '—', l.commit?.slice(0, 12) ?? '—'],
    ['rolled back', e.rollback ? `${e.rollback.trigger}: ${e.rollback.reason}` : 'no', l.rollback ? `${l.rollback.trigger}: ${l.rollback.reason}` : 'no'],
    ['window', windowSummary(e), windowSummary(l)],
  ];
  e.metrics.forEach((m, i) => {
    const n = l.metrics[i];
    rows.push(
      [`${m.title}${m.unit ? ` (${m.unit})` : ''}`, `guard ${m.guard || '—'}`, `guard ${n.guard || '—'}`],
      ['  baseline', baselineLine(m), baselineLine(n)],
      ['  window', windowLine(m), windowLine(n)],
      ['  breaches', String(m.breaches), String(n.breaches)],
      ['  verdict', verdictText(m), verdictText(n)],
    );
  });
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const table = rows.map(([k, x, y]) => `${k.padEnd(w0)}  ${x.padEnd(w1)}  ${y}`.trimEnd());
  return [
    `Compare ${e.name} → ${e.environment}: ${e.version} with ${l.version} (${c.plan})`,
    '',
    ...table,
    '',
    changelogHeading(c),
    ...changelogLines(c.changelog),
  ].join('\n');
}

const windowSummary = (r: ComparedRun) =>
  r.window.startedAt
    ? `${r.window.durationMs !== undefined ? formatDuration(r.window.durationMs) : 'not closed'}, ${r.window.samples} sample(s)`
    : 'not reached';
