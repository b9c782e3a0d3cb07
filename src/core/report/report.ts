import { carriedText, compatText } from '../model/dbStrategyText';
import { editedJournalLines } from '../model/editedJournal';
import type { RollbackDatabaseView } from '../model/stateViews';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { statusName, type ReleaseState } from '../model/releaseState';
import { type MetricView, type RollbackView, type StepView } from '../model/stateViews';
import { PHASE_TITLES, PHASES } from '../model/schema';
import { plainText } from '../base/text';
import { inputsLine } from '../base/inputs';
import { extendedText, formatNumber } from '../format';
import type { ReleaseReport, RollbackAttempt } from './reportShape';
import { dur, specSections, specTime, type ReportField, type Span } from './report-sections';
import { breachText, failedMetric, metricVerdict, previousVersionText, rollbackCause, rollbackClause } from './incident-wording';

export { rollbackDurationText, specTime } from './report-sections';

function phaseSteps(s: ReleaseState, phase: string): StepView[] {
  return Object.values(s.steps).filter((x) => x.phase === phase);
}

function phaseResult(s: ReleaseState, id: (typeof PHASES)[number]): string {
  const p = s.phases.find((x) => x.id === id)!;
  const rolledBack = rollbackClause(s);
  switch (p.state) {
    case 'passed':
      if (!rolledBack) return 'Success';
      // The deployed service is what the rollback replaced: say with what, and why.
      if (id === 'deploy' && s.rollback?.outcome === 'rolled-back')
        return `Rolled back to ${previousVersionText(s)}: v${s.version.replace(/^v/, '')} was deployed, then ${rollbackCause(s)}`;
      return `Success, then ${rolledBack}`;
    case 'skipped':
      return 'Not in plan';
    case 'pending':
      return 'Not run';
    case 'waived':
      return 'Waived';
    default: {
      const failed = phaseSteps(s, id).find((x) => x.state === 'failed' || x.state === 'interrupted');
      return `${cap(p.state)}${failed ? ` (${failed.name}: ${failed.message ?? failed.state})` : ''}${rolledBack ? `; ${rolledBack}` : ''}`;
    }
  }
}

const cap = (t: string) => t.charAt(0).toUpperCase() + t.slice(1);

/** The report is a projection of the journal's state: nothing in it is typed in by hand. */
/** A redeploy brings back a version's code; its changes were listed in the run that first released it. */
function redeployLine(s: ReleaseState, runId: string): string {
  return `Redeploy of v${s.version.replace(/^v/, '')}, released before in run ${runId} (its changes are in that run's report)`;
}

/** The commit the release shipped: a redeploy ships its version's tag, whatever HEAD was at the start. */
function deployedCommit(s: ReleaseState): string | undefined {
  const tagged = s.redeployOf?.tagCommit;
  if (!tagged) return s.commit;
  return s.commit && s.commit !== tagged ? `${tagged} (the version's tag; HEAD at the start was ${s.commit})` : tagged;
}

export function buildReport(s: ReleaseState): ReleaseReport {
  const changelog = changelogOf(s);
  const content = [...changelog.new, ...changelog.fixed, ...Object.values(changelog.other).flat()];
  const failedChecks = failedChecksLine(s);
  return {
    releaseLog: {
      version: `v${s.version.replace(/^v/, '')}`,
      time: specTime(s.startedAt),
      content: s.redeployOf ? [redeployLine(s, s.redeployOf.runId)] : content.length ? content : [s.name],
      ...(deployedCommit(s) ? { commit: deployedCommit(s) } : {}),
      ...(environmentGateLines(s).length ? { gates: environmentGateLines(s) } : {}),
      ...(inputsLine(s.inputs) ? { inputs: inputsLine(s.inputs) } : {}),
    },
    changelog,
    verification: {
      dbMigration: phaseResult(s, 'migration'),
      serviceStatus: phaseResult(s, 'deploy'),
      coreApi: coreApiLine(s),
      monitoring: monitoringLine(s),
      ...(failedChecks ? { failedChecks } : {}),
    },
    incidentResponse: incidentResponse(s),
    outcome: statusName(s),
    outcomeMessage: s.outcomeMessage,
    release: { runId: s.runId, name: s.name, environment: s.environment, user: s.user, startedAt: s.startedAt, finishedAt: s.finishedAt, status: s.status },
    acceptance: s.acceptance,
    timeline: timelineOf(s),
    checklist: s.checklist.map((c) => ({ id: c.id, title: c.title, state: c.state, by: c.by, reason: c.reason, detail: c.detail })),
    monitoring: Object.values(s.metrics).map((m) => monitoringRow(s, m)),
    announcements: s.announcements,
    // A status change the engine never makes was left out of this report: the journal says so first.
    warnings: [...editedJournalLines(s), ...s.warnings],
  };
}

function changelogOf(s: ReleaseState): ReleaseReport['changelog'] {
  const cl = s.changelog?.sections ?? {};
  const other = Object.fromEntries(Object.entries(cl).filter(([k, v]) => k !== 'Added' && k !== 'Fixed' && v.length));
  return { new: cl.Added ?? [], fixed: cl.Fixed ?? [], other, previousTag: s.changelog?.previousTag ?? null };
}

function incidentResponse(s: ReleaseState): ReleaseReport['incidentResponse'] {
  const rb = s.rollback;
  const compat = s.compat ? { compat: compatText(s.compat) } : {};
  if (!rb) return { rollbackTriggered: 'No', reason: 'N/A', ...compat };
  return {
    ...compat,
    rollbackTriggered: 'Yes',
    reason: rb.reason,
    trigger: rb.trigger,
    latencyMs: rb.latencyMs,
    outcome: rb.outcome ?? 'in progress',
    durationMs: rb.durationMs,
    budgetMs: rb.budgetMs,
    overBudget: overBudget(rb),
    attempts: s.rollbacks.map(attemptRow),
    ...(rb.database ? { database: databaseText(rb.database) } : {}),
  };
}

/** The database part of a rollback in one line: the strategy, what it did, and the writes since the backup it kept or discarded. */
export function databaseText(d: RollbackDatabaseView): string {
  const did: Record<RollbackDatabaseView['action'], string> = {
    kept: 'schema kept',
    down: d.ok ? 'down steps passed' : 'down steps FAILED',
    restore: d.ok ? 'restored from the backup' : 'restore FAILED',
    held: 'waits for a person before the restore',
    declined: 'restore declined, database not restored',
  };
  const writes = d.carry
    ? carriedText(d.carry)
    : d.writes === undefined
      ? 'writes since the backup: not counted'
      : `writes since the backup: ${d.atLeast ? 'at least ' : ''}${d.writes}; kept: ${d.kept} / discarded: ${d.discarded}`;
  const per =
    d.tables && Object.keys(d.tables).length
      ? ` (${Object.entries(d.tables)
          .map(([t, n]) => `${t}: ${n}`)
          .join(', ')})`
      : '';
  return `strategy ${d.strategy}: ${did[d.action]}; ${writes}${per}`;
}

/** The plan's phases in order, then the rollback when one was triggered. */
function timelineOf(s: ReleaseState): ReleaseReport['timeline'] {
  const phases = s.phases.map((p) => ({
    phase: PHASE_TITLES[p.id],
    state: p.state,
    durationMs: p.durationMs,
    steps: p.steps.map((k) => s.steps[k]).map(stepRow),
  }));
  const rb = s.rollback;
  if (!rb) return phases;
  const durationMs = rb.finishedAt ? Date.parse(rb.finishedAt) - Date.parse(rb.startedAt) : undefined;
  return [...phases, { phase: 'Rollback', state: rb.outcome ?? 'running', durationMs, steps: phaseSteps(s, 'rollback').map(stepRow) }];
}

function monitoringRow(s: ReleaseState, m: MetricView): ReleaseReport['monitoring'][number] {
  const ok = m.samples.filter((x) => x.value !== null).map((x) => x.value as number);
  return {
    metric: m.id,
    baseline: m.baseline?.mean,
    observedMean: ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : undefined,
    samples: m.samples.length,
    breaches: m.breaches,
    ...metricVerdict(s, m),
  };
}

/** The Core API line speaks for the check the plan marks as the core API, never for whichever ran. */
function coreApiLine(s: ReleaseState): string {
  const httpSteps = phaseSteps(s, 'verification').filter((x) => x.key.startsWith('verification/http.'));
  const verification = s.phases.find((p) => p.id === 'verification')!;
  const choice = s.coreApi;
  if (!choice) {
    // A journal from before the choice was recorded: the first HTTP check that ran.
    if (httpSteps.length === 0) return verification.state === 'pending' ? 'Not run' : 'No HTTP check in plan';
    return httpResult(httpSteps[0]);
  }
  if (choice.basis === 'none') return 'No HTTP check in plan';
  if (choice.basis === 'not-marked') return 'Not marked (no verification HTTP check has core: true or says "api" in its name or URL)';
  const step = s.steps[choice.step!];
  if (!step) {
    const where = verification.state === 'pending' ? 'Verification' : mdName(choice.name);
    return `Not run (release stopped before ${where})`;
  }
  return httpResult(step);
}

/** What failed in Verification besides the core API check: a log scan, a script, another HTTP check. */
function failedChecksLine(s: ReleaseState): string | undefined {
  const bad = phaseSteps(s, 'verification').filter((x) => (x.state === 'failed' || x.state === 'interrupted') && x.key !== s.coreApi?.step);
  return bad.length ? bad.map((x) => `${x.name}: ${x.message ?? x.state}`).join('; ') : undefined;
}

const mdName = (n?: string) => (n ? `"${n}"` : 'the check');

function httpResult(st: StepView): string {
  if (st.state === 'running') return `Running (${st.name})`;
  if (st.state === 'waived') return `Waived (${st.name}: ${st.waiveReason ?? ''})`;
  if (st.state !== 'passed') return `Failed (${st.name}: ${st.message ?? st.state})`;
  const code = /HTTP (\d{3})/.exec(st.message ?? '')?.[1];
  return code === '200' ? '200 OK' : code ? `${code} (as expected)` : 'Passed';
}

/**
 * Normal only when every metric passed; Inconclusive (never Normal) when any metric could not be
 * judged and none failed; Abnormal when one failed. The window used is always stated.
 */
function monitoringLine(s: ReleaseState): string {
  const metrics = Object.values(s.metrics);
  const monPhase = s.phases.find((p) => p.id === 'monitoring')!;
  const win = s.monitoring?.windowMs;
  const count = s.monitoring?.metrics ?? metrics.length;
  const ext = s.monitoring?.extendedMs ? ` (${extendedText(s.monitoring.extendedMs, s.monitoring.extendedReason ?? '')})` : '';
  const scope = `${win !== undefined ? `${windowText(win)} window${ext}, ` : ''}${count} metric${count === 1 ? '' : 's'}`;
  const failed = failedMetric(s);
  if (failed) {
    const what =
      s.rollback?.trigger === 'guard' ? rollbackCause(s) : failed.breach ? breachText({ ...failed, breach: failed.breach }) : failed.verdict!.explanation;
    return `Abnormal: ${what}${s.rollback?.trigger === 'guard' ? `; ${rollbackClause(s)}` : ''}`;
  }
  if (monPhase.state === 'pending') return 'Not run';
  if (monPhase.state !== 'passed') return cap(monPhase.state);
  const unsure = metrics.filter((m) => m.verdict?.verdict !== 'pass');
  if (unsure.length) {
    const why = unsure.map((m) => `${m.id}: ${m.verdict ? m.verdict.explanation.replace(/^.*?inconclusive: /, '') : 'no verdict'}`).join('; ');
    return `Inconclusive (${why}; ${scope})`;
  }
  return `Normal (${scope})`;
}

const windowText = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${(ms / 60_000).toFixed(1)} min`);

const overBudget = (rb: RollbackView) => (rb.durationMs !== undefined && rb.budgetMs !== undefined ? rb.durationMs > rb.budgetMs : undefined);

function attemptRow(rb: RollbackView): RollbackAttempt {
  return {
    startedAt: rb.startedAt,
    trigger: rb.trigger,
    reason: rb.reason,
    by: rb.by,
    outcome: rb.outcome ?? 'in progress',
    message: rb.message,
    latencyMs: rb.latencyMs,
    durationMs: rb.durationMs,
    budgetMs: rb.budgetMs,
    overBudget: overBudget(rb),
    lateByMs: rb.lateByMs,
    forcedOver: rb.forcedOver,
  };
}

function stepRow(x: StepView) {
  return { name: x.name, state: x.state, exitCode: x.exitCode, durationMs: x.durationMs, message: x.message, waivedBy: x.waivedBy, waiveReason: x.waiveReason };
}

/** Text from commits, plans and step output, made safe for Markdown (no raw HTML, no control characters). */
export function mdSafe(text: string): string {
  return plainText(text)
    .replace(/\r?\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|])/g, '\\$1');
}

const num = formatNumber;

/** One field of the spec's sections: `- **Label**: value`, strong runs in bold, items as a numbered list under it. */
function mdField(f: ReportField): string[] {
  const md = (spans: Span[]) => spans.map((x) => (x.strong ? `**${mdSafe(x.text)}**` : mdSafe(x.text))).join('');
  return [`- **${f.label}**: ${md(f.value)}`, ...(f.items ?? []).map((item, i) => `  ${i + 1}. ${md(item)}`)];
}

export function renderMarkdown(r: ReleaseReport): string {
  const L: string[] = [];
  L.push(`# Release report: ${mdSafe(r.release.name)} ${r.releaseLog.version} → ${mdSafe(r.release.environment)}`, '');
  L.push(`Outcome: **${r.outcome}**${r.outcomeMessage ? ` — ${mdSafe(r.outcomeMessage)}` : ''}`, '');
  specSections(r).forEach((sec, i) => {
    if (i) L.push('');
    L.push(`### ${sec.title}`, ...sec.fields.flatMap(mdField));
  });
  L.push('', '---', '', '## Appendix', '');
  L.push(
    `Run \`${r.release.runId}\`, started ${specTime(r.release.startedAt)} UTC by ${mdSafe(r.release.user)}${r.release.finishedAt ? `, finished ${specTime(r.release.finishedAt)} UTC` : ''}. Times are UTC.`,
    '',
  );
  if (r.acceptance)
    L.push(
      `Acceptance verdict: ${r.acceptance.ok ? 'accepted' : 'refused'} — expected "${mdSafe(r.acceptance.expected)}" from ${mdSafe(r.acceptance.source)}; it said: "${mdSafe(r.acceptance.said)}"`,
      '',
    );
  L.push('### Phase timeline', '', '| Phase | Step | State | Exit | Duration | Detail |', '|---|---|---|---|---|---|');
  for (const p of r.timeline) {
    L.push(`| **${p.phase}** | | ${p.state} | | ${dur(p.durationMs)} | |`);
    for (const st of p.steps) {
      const detail = st.state === 'waived' ? `waived by ${st.waivedBy}: ${st.waiveReason}` : (st.message ?? '');
      L.push(`| | ${mdSafe(st.name)} | ${st.state} | ${st.exitCode ?? ''} | ${dur(st.durationMs)} | ${mdSafe(detail)} |`);
    }
  }
  L.push('', '### Checklist', '', '| Item | State | By | Detail |', '|---|---|---|---|');
  for (const c of r.checklist)
    L.push(`| ${mdSafe(c.title)} | ${c.state} | ${mdSafe(c.by ?? '')} | ${mdSafe(c.reason ? `${c.reason} (${c.detail ?? ''})` : (c.detail ?? ''))} |`);
  if (r.monitoring.length) {
    L.push('', '### Monitoring', '', '| Metric | Baseline | Observed mean | Samples | Confirmed breaches | Verdict |', '|---|---|---|---|---|---|');
    for (const m of r.monitoring)
      L.push(
        `| ${mdSafe(m.metric)} | ${num(m.baseline)} | ${num(m.observedMean)} | ${m.samples} | ${m.breaches} | ${m.verdict}${m.explanation ? `: ${mdSafe(m.explanation)}` : ''} |`,
      );
  }
  if (r.announcements.length) {
    L.push('', '### Announcements', '');
    for (const a of r.announcements) L.push(`- ${a.channel}: ${a.ok ? 'sent' : '**failed**'} — ${mdSafe(a.message)}`);
  }
  if (r.warnings.length) {
    L.push('', '### Warnings', '');
    for (const w of r.warnings) L.push(`- ${mdSafe(w)}`);
  }
  L.push('');
  return L.join('\n');
}

/** Writes `report.md` and `report.json` beside the journal. */
export function writeReport(runDir: string, s: ReleaseState): { md: string; json: string } {
  const r = buildReport(s);
  const md = path.join(runDir, 'report.md');
  const json = path.join(runDir, 'report.json');
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(md, renderMarkdown(r));
  fs.writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  return { md, json };
}

const ENVIRONMENT_GATES = { tree: 'Working tree', freeze: 'Freeze', promotion: 'Promotion', approval: 'Approval' } as const;
/** `Promotion (open): 1.4.0 at … was released to staging in run …`: the gates an environment declared, in order. */
function environmentGateLines(s: ReleaseState): string[] {
  return Object.entries(ENVIRONMENT_GATES).flatMap(([k, title]) => {
    const g = s.gates[k];
    if (!g) return [];
    // Each approval that counted, by its tag and the key its signature was verified with: what an auditor checks with git.
    const tags = (g.approvals ?? []).map((a) => `Approval tag ${a.tag}: ${a.approver}, ${a.key ? `signed with key ${a.key}` : 'unsigned'}`);
    return [`${title} (${g.state}): ${g.message}`, ...tags];
  });
}
