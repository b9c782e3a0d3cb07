import type { ReleaseState } from '../core/model/releaseState';
import type { Plan } from '../core/model/schema';
import { buildReport, renderMarkdown } from '../core/report/report';
import { plain, reportSections } from '../core/report/report-sections';
import type { ComparisonView, Marker, MetricSnapshot, ReportView, Snapshot } from '../webview/protocol';
import { changelogHeading, changelogLines, verdictText, type ComparedRun, type Comparison } from '../core/engine/queries/comparisonText';
import { shortTime } from '../core/engine/queries/releaseHistory';
import { formatDuration, formatNumber } from '../core/format';
import { downsample, MAX_POINTS } from '../core/monitor/series';
import { guardRules } from '../core/monitor/guard';

/** What the panel shows, derived from the release state: the panel holds nothing else. */
export function panelSnapshot(
  s: ReleaseState | undefined,
  plan: Plan | undefined,
  tab: Snapshot['tab'],
  rollbackUntil: string | undefined,
  comparison: ComparisonView | null = null,
): Snapshot {
  const metrics: MetricSnapshot[] = (plan?.monitoring.metrics ?? []).map((m) => {
    const mv = s?.metrics[m.id];
    const base = mv?.baseline && Number.isFinite(mv.baseline.mean) ? { mean: mv.baseline.mean, stdev: mv.baseline.stdev } : null;
    const thresholds: { label: string; value: number }[] = [];
    if (m.guard.max !== undefined) thresholds.push({ label: `max ${m.guard.max}`, value: m.guard.max });
    if (m.guard.min !== undefined) thresholds.push({ label: `min ${m.guard.min}`, value: m.guard.min });
    if (base && m.guard.dropPercent !== undefined) thresholds.push({ label: `-${m.guard.dropPercent}%`, value: base.mean * (1 - m.guard.dropPercent / 100) });
    if (base && m.guard.risePercent !== undefined) thresholds.push({ label: `+${m.guard.risePercent}%`, value: base.mean * (1 + m.guard.risePercent / 100) });
    const points = (mv?.samples ?? []).map((x): [number, number | null] => [Date.parse(x.at) / 1000, x.value]);
    const rules = guardRules(m.guard);
    return {
      id: m.id,
      title: m.title ?? m.id,
      unit: m.unit ?? '',
      baseline: base,
      thresholds,
      guard: rules,
      points: downsample(points, MAX_POINTS),
      breaches: (mv?.samples ?? []).filter((x) => x.status === 'breach').map((x) => Date.parse(x.at) / 1000),
      last: mv?.last ? { value: mv.last.value, status: mv.last.status, message: mv.last.message } : null,
      verdict: mv?.verdict ?? null,
    };
  });
  const markers: Marker[] = [];
  if (s) {
    const deploy = s.phases.find((p) => p.id === 'deploy');
    if (deploy?.startedAt) markers.push({ t: Date.parse(deploy.startedAt) / 1000, label: 'deploy', kind: 'deploy' });
    const sw = Object.values(s.steps).find((x) => x.key.startsWith('deploy/switch') && x.startedAt);
    if (sw?.startedAt) markers.push({ t: Date.parse(sw.startedAt) / 1000, label: 'switch', kind: 'switch' });
    for (const k of s.canary?.steps ?? []) markers.push({ t: Date.parse(k.at) / 1000, label: `canary ${k.weight} %`, kind: 'canary' });
    if (s.monitoring?.startedAt) markers.push({ t: Date.parse(s.monitoring.startedAt) / 1000, label: 'monitoring', kind: 'monitoring' });
    if (s.rollback) markers.push({ t: Date.parse(s.rollback.startedAt) / 1000, label: 'rollback', kind: 'rollback' });
  }
  const started = s?.monitoring?.startedAt ? Date.parse(s.monitoring.startedAt) : null;
  return {
    title: s
      ? `${s.name} ${s.version} → ${s.environment}`
      : plan
        ? `${plan.release.name} ${plan.release.version} → ${plan.release.environment} (not started)`
        : 'No release plan',
    status: s?.status ?? 'not started',
    outcomeMessage: s?.outcomeMessage,
    monitoring: {
      startedAt: started,
      endsAt: started !== null && plan ? started + plan.monitoring.window : null,
      finishedAt: s?.monitoring?.finishedAt ? Date.parse(s.monitoring.finishedAt) : null,
    },
    rollbackUntil: rollbackUntil ? Date.parse(rollbackUntil) : null,
    ...(s?.canary && s.status === 'running' ? { canary: { weight: s.canary.weight, index: s.canary.index, of: s.canary.of } } : {}),
    metrics,
    markers,
    report: s ? reportView(s) : null,
    tab: tab === 'compare' && !comparison ? 'monitor' : tab,
    comparison,
  };
}

export function reportView(s: ReleaseState): ReportView {
  const r = buildReport(s);
  return {
    markdown: renderMarkdown(r),
    sections: reportSections(r).map((sec) => ({
      title: sec.title,
      rows: sec.fields.flatMap((f): [string, string][] => [
        [f.label, plain(f.value)],
        ...(f.items ?? []).map((item, i): [string, string] => [`${i + 1}.`, plain(item)]),
      ]),
    })),
  };
}

/** A comparison as the panel's Compare tab shows it: the earlier run on the left. */
export function comparisonView(c: Comparison): ComparisonView {
  const run = (r: ComparedRun): ComparisonView['runs'][number] => ({
    runId: r.runId,
    title: `${r.version} · ${r.status}`,
    status: r.status,
    facts: [
      ['Run', `${r.runId}, started ${shortTime(r.startedAt)} by ${r.user}${r.durationMs !== undefined ? `, took ${formatDuration(r.durationMs)}` : ''}`],
      ['Commit', r.commit?.slice(0, 12) ?? '—'],
      ['Outcome', r.outcomeMessage ?? r.status],
      ['Rolled back', r.rollback ? `${r.rollback.trigger}: ${r.rollback.reason}` : 'no'],
      [
        'Monitoring window',
        r.window.startedAt
          ? `${r.window.durationMs !== undefined ? formatDuration(r.window.durationMs) : 'not closed'}, ${r.window.samples} sample(s)`
          : 'not reached',
      ],
    ],
    metrics: r.metrics.map((m) => {
      const values = m.samples.map((x) => x.value).filter((v): v is number => v !== null && Number.isFinite(v));
      return {
        id: m.id,
        title: m.title + (m.unit ? ` (${m.unit})` : ''),
        guard: m.guard || '—',
        baseline:
          m.baseline && Number.isFinite(m.baseline.mean)
            ? { mean: m.baseline.mean, stdev: m.baseline.stdev, samples: m.baseline.samples.length, fixed: m.baseline.fixed }
            : null,
        points: m.samples.map((x): [number, number | null] => [x.offsetMs / 1000, x.value]),
        breaches: m.samples.filter((x) => x.status === 'breach').map((x) => x.offsetMs / 1000),
        summary: values.length
          ? `${m.samples.length} sample(s), min ${formatNumber(Math.min(...values))}, max ${formatNumber(Math.max(...values))}, ${m.breaches} confirmed breach(es)`
          : `${m.samples.length} sample(s), none usable`,
        verdict: verdictText(m),
      };
    }),
  });
  return {
    title: `Compare ${c.earlier.name} → ${c.earlier.environment}: ${c.earlier.version} with ${c.later.version}`,
    runs: [run(c.earlier), run(c.later)],
    changelog: { heading: changelogHeading(c), lines: changelogLines(c.changelog) },
  };
}
