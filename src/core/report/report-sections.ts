import type { ReleaseReport } from './reportShape';
import { formatNumber } from '../format';

// The report's sections as one model: report.md renders it as Markdown, the panel shows the same
// fields as rows. The wording lives here once, so the two never say different things.

/** A run of text in a field; a strong run is one a reader must not miss (bold in Markdown). */
export interface Span {
  text: string;
  strong?: boolean;
}

export interface ReportField {
  label: string;
  value: Span[];
  /** A numbered list under the field (the rollback attempts). */
  items?: Span[][];
}

export interface ReportSection {
  title: string;
  fields: ReportField[];
  /** Detail after the spec's four sections; report.md shows it as tables. */
  appendix?: boolean;
}

/** `YYYY-MM-DD HH:MM` in UTC, the spec's time format. */
export function specTime(iso: string): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') : '';
}

export const dur = (ms?: number) =>
  ms === undefined
    ? ''
    : ms < 1000
      ? `${ms} ms`
      : ms < 120_000
        ? `${(ms / 1000).toFixed(1)} s`
        : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;

/** "1.2 s (budget 5 min)", with "over budget" when it took longer. */
export function rollbackDurationText(a: { durationMs?: number; budgetMs?: number }): string {
  if (a.durationMs === undefined) return 'not measured';
  const budget = a.budgetMs === undefined ? '' : ` (budget ${a.budgetMs % 60_000 === 0 ? `${a.budgetMs / 60_000} min` : dur(a.budgetMs)})`;
  return `${dur(a.durationMs)}${budget}${a.budgetMs !== undefined && a.durationMs > a.budgetMs ? ' — over budget' : ''}`;
}

/** The plain text of a field's value or item. */
export const plain = (spans: Span[]) => spans.map((x) => x.text).join('');

const text = (t: string): Span[] => [{ text: t }];
const field = (label: string, value: string): ReportField => ({ label, value: text(value) });
/** A list field as the spec writes one: `Feature A, Fix B`. */
const listField = (label: string, xs: string[]): ReportField => field(label, xs.length ? xs.join(', ') : 'None');
const outcomeSpan = (outcome: string): Span => (outcome === 'rollback-failed' ? { text: 'ROLLBACK FAILED', strong: true } : { text: outcome });

export function reportSections(r: ReleaseReport): ReportSection[] {
  return [...specSections(r), ...appendixSections(r)];
}

/** The spec's four sections (Release Log, Changelog, Verification, Incident Response), field by field. */
export function specSections(r: ReleaseReport): ReportSection[] {
  const v = r.verification;
  return [
    {
      title: '1. Release Log',
      fields: [
        field('Version', r.releaseLog.version),
        field('Time', r.releaseLog.time),
        ...(r.releaseLog.commit ? [field('Commit', r.releaseLog.commit)] : []),
        listField('Content', r.releaseLog.content),
        ...(r.releaseLog.gates ? [listField('Gates', r.releaseLog.gates)] : []),
        ...(r.releaseLog.inputs ? [field('Inputs', r.releaseLog.inputs)] : []),
      ],
    },
    {
      title: '2. Changelog',
      fields: [
        listField('New', r.changelog.new),
        listField('Fixed', r.changelog.fixed),
        ...Object.entries(r.changelog.other).map(([k, xs]) => listField(k, xs)),
      ],
    },
    {
      title: '3. Verification',
      fields: [
        field('DB Migration', v.dbMigration),
        field('Service Status', v.serviceStatus),
        field('Core API', v.coreApi),
        ...(v.failedChecks ? [field('Failed Checks', v.failedChecks)] : []),
        field('Monitoring', v.monitoring),
      ],
    },
    { title: '4. Incident Response', fields: incidentFields(r.incidentResponse) },
  ];
}

function incidentFields(ir: ReleaseReport['incidentResponse']): ReportField[] {
  const fields = [field('Rollback Triggered', ir.rollbackTriggered), field('Reason (if Yes)', ir.rollbackTriggered === 'Yes' ? ir.reason : 'N/A')];
  if (ir.rollbackTriggered !== 'Yes') return fields;
  const attempts = ir.attempts ?? [];
  return [
    ...fields,
    { label: 'Rollback Outcome', value: [outcomeSpan(ir.outcome ?? 'in progress')] },
    field('Trigger → Rollback Start', `${ir.latencyMs} ms (trigger: ${ir.trigger})`),
    { label: 'Rollback Duration', value: [{ text: rollbackDurationText(ir), ...(ir.overBudget ? { strong: true } : {}) }] },
    ...(ir.database ? [field('Database', ir.database)] : []),
    {
      label: 'Rollback Attempts',
      value: text(String(attempts.length)),
      items: attempts.map((a) => {
        const extra = [a.lateByMs !== undefined ? `late by ${dur(a.lateByMs)}` : '', a.forcedOver ? `forced over run ${a.forcedOver}` : '']
          .filter(Boolean)
          .join(', ');
        return [
          { text: `${specTime(a.startedAt)} UTC — trigger: ${a.trigger}; by: ${a.by}; reason: ${a.reason}; outcome: ` },
          outcomeSpan(a.outcome),
          { text: `${a.message ? ` (${a.message})` : ''}; duration: ${rollbackDurationText(a)}${extra ? `; ${extra}` : ''}` },
        ];
      }),
    },
  ];
}

const fmt = formatNumber;

/** The timeline, checklist and metrics in a line each (report.md shows the same facts as tables). */
function appendixSections(r: ReleaseReport): ReportSection[] {
  return [
    {
      title: 'Phase timeline',
      appendix: true,
      fields: r.timeline.map((p) =>
        field(
          p.phase,
          `${p.state}${p.durationMs !== undefined ? ` · ${(p.durationMs / 1000).toFixed(1)} s` : ''}${p.steps.length ? ` — ${p.steps.map((x) => `${x.name}: ${x.state}${x.state === 'waived' ? ` (by ${x.waivedBy}: ${x.waiveReason})` : ''}`).join('; ')}` : ''}`,
        ),
      ),
    },
    {
      title: 'Checklist',
      appendix: true,
      fields: r.checklist.map((c) =>
        field(c.title, `${c.state}${c.by ? ` by ${c.by}` : ''}${c.reason ? `: ${c.reason}` : ''}${c.detail ? ` — ${c.detail}` : ''}`),
      ),
    },
    {
      title: 'Monitoring',
      appendix: true,
      fields: r.monitoring.map((m) =>
        field(
          m.metric,
          `baseline ${fmt(m.baseline)}, observed ${fmt(m.observedMean)}, ${m.samples} samples, ${m.breaches} breach(es): ${m.verdict}${m.explanation ? ` — ${m.explanation}` : ''}`,
        ),
      ),
    },
  ];
}
