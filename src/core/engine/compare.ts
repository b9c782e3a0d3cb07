import type { ReleaseState } from '../base/fold';
import { formatDuration, formatNumber } from '../format';
import { commitOf, contains } from '../git/gate';
import { guardRules } from '../monitor/guard';
import type { Plan } from '../plan/schema';
import { generateChangelog, omittedSummary, SECTIONS } from '../report/changelog';
import { shortTime } from './history';
import { loadRun, runIds } from './runs';

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
  verdict: { verdict: string; explanation: string } | null;
}

/** One run's side of a comparison: what it released, how it ended, and its monitoring window. */
export interface ComparedRun {
  runId: string;
  name: string;
  version: string;
  environment: string;
  status: string;
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

/** The runs of the workspace that can be compared with `runId`: the other runs of its plan, newest first. */
export function comparableRuns(workspace: string, runId: string): { runId: string; version: string; status: string; startedAt: string }[] {
  const plan = readRun(workspace, runId).plan;
  const out: { runId: string; version: string; status: string; startedAt: string }[] = [];
  for (const id of runIds(workspace)) {
    if (id === runId) continue;
    let s: ReleaseState;
    try {
      s = loadRun(workspace, id).state;
    } catch {
      continue;
    }
    if (s.runId && s.plan === plan) out.push({ runId: id, version: s.version, status: s.status, startedAt: s.startedAt });
  }
  return out;
}

function readRun(workspace: string, runId: string): ReleaseState {
  if (!runIds(workspace).includes(runId)) throw new Error(`no run "${runId}" in ${workspace}`);
  const s = loadRun(workspace, runId).state;
  if (!s.runId) throw new Error(`run ${runId} has no release in its journal`);
  return s;
}

/**
 * Two runs of the same plan side by side: each one's monitoring window (baseline, samples, guards,
 * verdicts, outcome) from its journal, and the changelog between the two commits they released.
 * `plan` supplies metric names and guards for journals written before they were recorded, and the
 * tag prefix and commit types of the changelog.
 */
export async function compareRuns(workspace: string, runA: string, runB: string, o: { plan?: Plan } = {}): Promise<Comparison> {
  if (runA === runB) throw new Error(`compare needs two different runs, got ${runA} twice`);
  const a = readRun(workspace, runA);
  const b = readRun(workspace, runB);
  if (a.plan !== b.plan) throw new Error(`runs ${runA} (${a.plan}) and ${runB} (${b.plan}) are of different plans`);
  const [earlier, later] = Date.parse(a.startedAt) <= Date.parse(b.startedAt) ? [a, b] : [b, a];
  const ids = [...new Set([...Object.keys(later.metrics), ...Object.keys(earlier.metrics), ...(o.plan?.monitoring.metrics.map((m) => m.id) ?? [])])];
  return {
    plan: a.plan,
    earlier: comparedRun(earlier, ids, o.plan),
    later: comparedRun(later, ids, o.plan),
    changelog: await changelogBetween(workspace, earlier, later, o.plan),
  };
}

function comparedRun(s: ReleaseState, ids: string[], plan: Plan | undefined): ComparedRun {
  const start = s.monitoring?.startedAt ? Date.parse(s.monitoring.startedAt) : undefined;
  const end = s.monitoring?.finishedAt ? Date.parse(s.monitoring.finishedAt) : undefined;
  const metrics = ids.map((id): ComparedMetric => {
    const mv = s.metrics[id];
    const def = plan?.monitoring.metrics.find((m) => m.id === id);
    const base = mv?.baseline;
    return {
      id,
      title: mv?.title ?? def?.title ?? id,
      unit: mv?.unit ?? def?.unit ?? '',
      guard: mv?.guard ?? (def ? guardRules(def.guard) : ''),
      baseline: base ? { mean: base.mean, stdev: base.stdev, samples: base.samples, fixed: base.fixed } : null,
      samples: (mv?.samples ?? []).map((x) => ({ offsetMs: Date.parse(x.at) - (start ?? Date.parse(x.at)), value: x.value, status: x.status })),
      breaches: mv?.breaches ?? 0,
      verdict: mv?.verdict ?? null,
    };
  });
  return {
    runId: s.runId,
    name: s.name,
    version: s.version,
    environment: s.environment,
    status: s.status,
    ...(s.outcomeMessage ? { outcomeMessage: s.outcomeMessage } : {}),
    user: s.user,
    startedAt: s.startedAt,
    ...(s.finishedAt ? { durationMs: Date.parse(s.finishedAt) - Date.parse(s.startedAt) } : {}),
    ...(s.commit ? { commit: s.commit } : {}),
    ...(s.redeployOf ? { redeployOf: s.redeployOf.runId } : {}),
    ...(s.rollback ? { rollback: { trigger: s.rollback.trigger, reason: s.rollback.reason, ...(s.rollback.outcome ? { outcome: s.rollback.outcome } : {}) } } : {}),
    window: {
      ...(s.monitoring?.startedAt ? { startedAt: s.monitoring.startedAt } : {}),
      ...(start !== undefined && end !== undefined ? { durationMs: end - start } : {}),
      samples: Math.max(0, ...metrics.map((m) => m.samples.length)),
    },
    metrics,
  };
}

/** The changelog of the commits between the two runs' commits, in the direction the later run went. */
async function changelogBetween(workspace: string, earlier: ReleaseState, later: ReleaseState, plan: Plan | undefined): Promise<ComparedChangelog> {
  if (!earlier.commit || !later.commit)
    return { unavailable: `run ${(earlier.commit ? later : earlier).runId} recorded no commit (the workspace was not a git repository)` };
  const from = { version: earlier.version, commit: earlier.commit };
  const to = { version: later.version, commit: later.commit };
  const settings = { tagPrefix: plan?.release.tagPrefix ?? 'v', ...(plan?.changelog ?? {}) };
  try {
    for (const c of [earlier.commit, later.commit])
      if (!(await commitOf(workspace, c))) return { unavailable: `commit ${c.slice(0, 12)} is not in this repository` };
    if (earlier.commit === later.commit) return { direction: 'same', from, to, sections: emptySections(), omitted: '' };
    let direction: 'forward' | 'back' | 'diverged' = 'forward';
    let range = { from: earlier.commit, to: later.commit };
    if (!(await contains(workspace, later.commit, earlier.commit))) {
      // The later run released an older commit (a redeploy of a known-good version): what it took out.
      if (await contains(workspace, earlier.commit, later.commit)) {
        direction = 'back';
        range = { from: later.commit, to: earlier.commit };
      } else direction = 'diverged';
    }
    const cl = await generateChangelog(workspace, { ...settings, ...range });
    return { direction, from, to, sections: cl.sections, omitted: omittedSummary(cl.omitted) };
  } catch (e) {
    return { unavailable: (e as Error).message };
  }
}

const emptySections = () => Object.fromEntries(SECTIONS.map((s) => [s, [] as string[]]));

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

const baselineLine = (m: ComparedMetric) =>
  m.baseline
    ? m.baseline.fixed
      ? `${formatNumber(m.baseline.mean)} (fixed)`
      : `${formatNumber(m.baseline.mean)} ± ${formatNumber(m.baseline.stdev)} from ${m.baseline.samples.length} sample(s)`
    : 'none';

/** The comparison as text for a terminal: the two runs in columns, each metric's window, then the changelog. */
export function renderComparison(c: Comparison): string {
  const [e, l] = [c.earlier, c.later];
  const rows: [string, string, string][] = [
    ['', `${e.version} · run ${e.runId}`, `${l.version} · run ${l.runId}`],
    ['outcome', e.status, l.status],
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
      ['  verdict', m.verdict ? `${m.verdict.verdict}: ${m.verdict.explanation}` : '—', n.verdict ? `${n.verdict.verdict}: ${n.verdict.explanation}` : '—'],
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
  r.window.startedAt ? `${r.window.durationMs !== undefined ? formatDuration(r.window.durationMs) : 'not closed'}, ${r.window.samples} sample(s)` : 'not reached';
