import { statusName, type ReleaseState } from '../../model/releaseState';
import { commitOf, contains } from '../../git/gate';
import { guardRules } from '../../monitor/guard';
import type { Plan } from '../../model/schema';
import { generateChangelog, omittedSummary, SECTIONS } from '../../report/changelog';
import { metricVerdict } from '../../report/incident-wording';
import type { ComparedChangelog, ComparedMetric, ComparedRun, Comparison } from './comparisonText';
import { loadRun, runIds } from './runs';
import { servingNow, workspaceRuns } from './liveState';

export type { Comparison } from './comparisonText';

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
    if (s.runId && s.plan === plan) out.push({ runId: id, version: s.version, status: statusName(s), startedAt: s.startedAt });
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
  const serving = servingNow(workspaceRuns(workspace));
  const [earlier, later] = Date.parse(a.startedAt) <= Date.parse(b.startedAt) ? [a, b] : [b, a];
  const ids = [...new Set([...Object.keys(later.metrics), ...Object.keys(earlier.metrics), ...(o.plan?.monitoring.metrics.map((m) => m.id) ?? [])])];
  return {
    plan: a.plan,
    earlier: { ...comparedRun(earlier, ids, o.plan), ...servingOf(serving, earlier) },
    later: { ...comparedRun(later, ids, o.plan), ...servingOf(serving, later) },
    changelog: await changelogBetween(workspace, earlier, later, o.plan),
  };
}

const servingOf = (serving: ReturnType<typeof servingNow>, s: ReleaseState) => {
  const now = serving(s);
  return now ? { serving: now } : {};
};

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
      // The window's samples only: a canary's analyses sample the same metrics before the window starts.
      samples: (mv?.samples ?? [])
        .filter((x) => start !== undefined && Date.parse(x.at) >= start)
        .map((x) => ({ offsetMs: Date.parse(x.at) - start!, value: x.value, status: x.status })),
      breaches: mv?.breaches ?? 0,
      verdict: metricVerdict(s, mv),
    };
  });
  return {
    runId: s.runId,
    name: s.name,
    version: s.version,
    environment: s.environment,
    status: statusName(s),
    ...(s.outcomeMessage ? { outcomeMessage: s.outcomeMessage } : {}),
    user: s.user,
    startedAt: s.startedAt,
    ...(s.finishedAt ? { durationMs: Date.parse(s.finishedAt) - Date.parse(s.startedAt) } : {}),
    ...(s.commit ? { commit: s.commit } : {}),
    ...(s.redeployOf ? { redeployOf: s.redeployOf.runId } : {}),
    ...(s.rollback
      ? { rollback: { trigger: s.rollback.trigger, reason: s.rollback.reason, ...(s.rollback.outcome ? { outcome: s.rollback.outcome } : {}) } }
      : {}),
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
