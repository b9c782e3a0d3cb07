import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { FromWebview, ToWebview, type ComparisonView, type MetricSnapshot, type Snapshot } from './protocol';
import { formatCountdown, formatNumber } from '../core/format';
import { MAX_POINTS } from '../core/monitor/series';

interface VsCodeApi {
  postMessage(m: unknown): void;
  setState(s: unknown): void;
  getState(): unknown;
}
declare function acquireVsCodeApi(): VsCodeApi;
const vscode = acquireVsCodeApi();

function send(m: FromWebview): void {
  vscode.postMessage(FromWebview.parse(m));
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let snap: Snapshot | undefined;
const charts = new Map<string, { plot: uPlot; el: HTMLElement }>();

function css(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

/** Text only: nothing from a release (commit messages, step output, titles) is ever parsed as HTML. */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

const fmt = formatNumber;
const TABS = ['monitor', 'report', 'compare'] as const;

function renderHeader(s: Snapshot): void {
  $('release-title').textContent = s.title;
  const status = $('status');
  const canary = s.canary ? ` · canary ${s.canary.weight} % (step ${s.canary.index}/${s.canary.of})` : '';
  status.textContent = s.status + canary + (s.outcomeMessage ? ` — ${s.outcomeMessage}` : '');
  status.className = ['failed', 'rollback-failed', 'aborted'].includes(s.status) ? 'bad' : s.status === 'released' ? 'good' : '';
  $('rollback').hidden = s.rollbackUntil === null || s.rollbackUntil < Date.now();
  for (const t of TABS) {
    $(`tab-${t}`).classList.toggle('active', s.tab === t);
    $(t).hidden = s.tab !== t;
  }
  $('tab-compare').hidden = !s.comparison;
  tickCountdown();
}

function tickCountdown(): void {
  const s = snap;
  const c = $('countdown');
  if (!s?.monitoring.endsAt || s.monitoring.finishedAt) {
    c.textContent = s?.monitoring.finishedAt ? 'monitoring window closed' : '';
    return;
  }
  c.textContent = `monitoring: ${formatCountdown(s.monitoring.endsAt)} left`;
}

function renderTable(s: Snapshot): void {
  const body = $('metrics-table').querySelector('tbody')!;
  body.replaceChildren(
    ...s.metrics.map((m) => {
      const tr = el('tr');
      tr.dataset.metric = m.id;
      tr.append(el('td', m.title + (m.unit ? ` (${m.unit})` : '')));
      // The last sample's status in words beside its value: its colour alone says nothing to everyone.
      const current = el('td', fmt(m.last?.value), m.last?.status ?? '');
      if (m.last?.status) current.append(el('span', m.last.status, 'state-word'));
      tr.append(current);
      tr.append(el('td', m.baseline ? `${fmt(m.baseline.mean)} ± ${fmt(m.baseline.stdev)}` : '—'));
      tr.append(el('td', m.guard));
      const verdict = el('td', m.verdict ? m.verdict.verdict : (m.last?.status ?? 'waiting'), m.verdict?.verdict ?? m.last?.status ?? '');
      const why = m.verdict?.explanation ?? m.last?.message;
      if (why) verdict.append(el('div', why, 'explain'));
      tr.append(verdict);
      return tr;
    }),
  );
}

/** Whole seconds and up: a monitoring window is read in wall-clock time, never as `:11.500`. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
const clock = (secs: number) => new Date(secs * 1000).toTimeString().slice(0, 8);

function seriesData(m: MetricSnapshot): uPlot.AlignedData {
  const xs = m.points.map((p) => p[0]);
  const ys = m.points.map((p) => p[1]);
  const base = m.baseline;
  const lo = xs.map(() => (base ? base.mean - 2 * base.stdev : null));
  const hi = xs.map(() => (base ? base.mean + 2 * base.stdev : null));
  const th = m.thresholds.map((t) => xs.map(() => t.value));
  return [xs, ys, lo, hi, ...th] as uPlot.AlignedData;
}

function markerPlugin(): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u) => {
          if (!snap) return;
          const ctx = u.ctx;
          ctx.save();
          ctx.font = `${10 * devicePixelRatio}px sans-serif`;
          for (const mk of snap.markers) {
            const x = u.valToPos(mk.t, 'x', true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.strokeStyle = mk.kind === 'rollback' ? css('--vscode-errorForeground', '#f44') : css('--vscode-descriptionForeground', '#888');
            ctx.setLineDash([4, 4]);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            // The marker's line in its colour; its word in the theme's text colour, readable in every theme.
            ctx.fillStyle = css('--vscode-foreground', '#ccc');
            ctx.fillText(mk.label, x + 3, u.bbox.top + 12 * devicePixelRatio);
          }
          const m = snap.metrics.find((x) => x.id === (u as uPlot & { metricId?: string }).metricId);
          ctx.fillStyle = css('--vscode-errorForeground', '#f44');
          for (const t of m?.breaches ?? []) {
            const x = u.valToPos(t, 'x', true);
            ctx.beginPath();
            ctx.arc(x, u.bbox.top + u.bbox.height - 4, 3 * devicePixelRatio, 0, 2 * Math.PI);
            ctx.fill();
          }
          ctx.restore();
        },
      ],
    },
  };
}

function renderCharts(s: Snapshot): void {
  const host = $('charts');
  const fg = css('--vscode-foreground', '#ccc');
  const grid = css('--vscode-panel-border', '#444');
  for (const id of [...charts.keys()])
    if (!s.metrics.some((m) => m.id === id)) {
      charts.get(id)!.plot.destroy();
      charts.get(id)!.el.remove();
      charts.delete(id);
    }
  for (const m of s.metrics) {
    const data = seriesData(m);
    let c = charts.get(m.id);
    if (!c || c.plot.series.length !== data.length) {
      c?.plot.destroy();
      c?.el.remove();
      const box = el('div', undefined, 'chart');
      box.dataset.metric = m.id;
      box.append(el('h3', m.title + (m.unit ? ` (${m.unit})` : '')));
      host.append(box);
      const band = css('--vscode-charts-blue', '#3794ff');
      const opts: uPlot.Options = {
        width: Math.max(380, box.clientWidth - 12),
        height: 180,
        plugins: [markerPlugin()],
        scales: { x: { time: true } },
        axes: [
          { stroke: fg, grid: { stroke: grid }, incrs: TIME_STEPS, values: (_u, splits) => splits.map(clock) },
          { stroke: fg, grid: { stroke: grid } },
        ],
        series: [
          { value: (_u, v) => (v == null ? '' : clock(v)) },
          { label: m.title, stroke: css('--vscode-charts-green', '#89d185'), width: 2, spanGaps: false },
          { label: 'baseline −2σ', stroke: band, dash: [2, 4], width: 1 },
          { label: 'baseline +2σ', stroke: band, dash: [2, 4], width: 1 },
          ...m.thresholds.map((t) => ({ label: t.label, stroke: css('--vscode-charts-red', '#f14c4c'), dash: [6, 4], width: 1 })),
        ],
        bands: [{ series: [3, 2], fill: 'rgba(55,148,255,0.12)' }],
        legend: { show: true },
      };
      const plot = new uPlot(opts, data, box) as uPlot & { metricId?: string };
      plot.metricId = m.id;
      c = { plot, el: box };
      charts.set(m.id, c);
    } else c.plot.setData(data);
  }
}

function renderReport(s: Snapshot): void {
  const body = $('report-body');
  if (!s.report) {
    body.replaceChildren(el('p', 'No release has run yet: the report appears once one starts.'));
    return;
  }
  const parts: HTMLElement[] = [];
  for (const sec of s.report.sections) {
    parts.push(el('h2', sec.title));
    const table = el('table');
    for (const [k, v] of sec.rows) {
      const tr = el('tr');
      tr.append(el('td', k), el('td', v));
      table.append(tr);
    }
    parts.push(table);
  }
  body.replaceChildren(...parts);
}

let shownComparison = '';
const compareCharts: uPlot[] = [];

/** One run's metric in the Compare tab: its window's samples by seconds from the window's start, the baseline band, breaches in red. */
type ComparedMetric = ComparisonView['runs'][number]['metrics'][number];

/** Seconds into the window as a person reads them: `1 s`, `1.5 s`, never `0.600 s`. */
const secs = (v: number) => `${Number(v.toFixed(1))} s`;

/** The x and y ranges both runs' charts of a metric share, so that the two windows read on the same scales. */
function sharedRanges(c: ComparisonView, id: string): { x: [number, number]; y: [number, number] } {
  const ms = c.runs.flatMap((r) => r.metrics.filter((m) => m.id === id));
  const xs = ms.flatMap((m) => m.points.map((p) => p[0]));
  const ys = ms.flatMap((m) => [
    ...m.points.map((p) => p[1]).filter((v): v is number => v !== null),
    ...(m.baseline ? [m.baseline.mean - 2 * m.baseline.stdev, m.baseline.mean + 2 * m.baseline.stdev] : []),
  ]);
  const [ylo, yhi] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const pad = (yhi - ylo) * 0.1 || Math.abs(yhi) * 0.1 || 1;
  return { x: [0, Math.max(1, ...xs)], y: [ylo - pad, yhi + pad] };
}

function compareChart(box: HTMLElement, m: ComparedMetric, ranges: { x: [number, number]; y: [number, number] }): uPlot {
  const fg = css('--vscode-foreground', '#ccc');
  const grid = css('--vscode-panel-border', '#444');
  const band = css('--vscode-charts-blue', '#3794ff');
  const red = css('--vscode-charts-red', '#f14c4c');
  const xs = m.points.map((p) => p[0]);
  const breach = new Set(m.breaches);
  const b = m.baseline;
  const data = [
    xs,
    m.points.map((p) => p[1]),
    xs.map(() => (b ? b.mean - 2 * b.stdev : null)),
    xs.map(() => (b ? b.mean + 2 * b.stdev : null)),
    m.points.map((p) => (breach.has(p[0]) ? p[1] : null)),
  ] as uPlot.AlignedData;
  return new uPlot(
    {
      width: Math.max(260, box.clientWidth - 12),
      height: 160,
      scales: { x: { time: false, range: ranges.x }, y: { range: ranges.y } },
      axes: [
        { stroke: fg, grid: { stroke: grid }, values: (_u, splits) => splits.map(secs) },
        { stroke: fg, grid: { stroke: grid } },
      ],
      series: [
        { value: (_u, v) => (v == null ? '' : secs(v)) },
        { label: m.title, stroke: css('--vscode-charts-green', '#89d185'), width: 2, spanGaps: false },
        { label: b?.fixed ? 'baseline' : 'baseline −2σ', stroke: band, dash: [2, 4], width: 1 },
        { label: b?.fixed ? 'baseline' : 'baseline +2σ', stroke: band, dash: [2, 4], width: 1 },
        { label: 'breach', stroke: red, width: 0, points: { show: true, size: 8, fill: red, stroke: red } },
      ],
      bands: [{ series: [3, 2], fill: 'rgba(55,148,255,0.12)' }],
      legend: { show: true },
    },
    data,
    box,
  );
}

/** The Compare tab: the two runs side by side, each metric's window under its run, then the changelog between them. */
function renderCompare(s: Snapshot): void {
  const c = s.comparison;
  const key = c ? JSON.stringify(c) : '';
  if (key === shownComparison) return;
  shownComparison = key;
  for (const p of compareCharts.splice(0)) p.destroy();
  $('compare-title').textContent = c?.title ?? '';
  const runs = $('compare-runs');
  const log = $('compare-changelog');
  if (!c) {
    runs.replaceChildren();
    log.replaceChildren();
    return;
  }
  const boxes: [HTMLElement, ComparedMetric][] = [];
  runs.replaceChildren(
    ...c.runs.map((r) => {
      const col = el('div', undefined, 'compare-run');
      col.dataset.run = r.runId;
      col.append(
        el(
          'h2',
          r.title,
          `compare-run-title ${['released'].includes(r.status) ? 'good' : ['rolled-back', 'rollback-failed', 'aborted', 'abandoned', 'failed'].includes(r.status) ? 'bad' : ''}`,
        ),
      );
      const facts = el('table', undefined, 'facts');
      for (const [k, v] of r.facts) {
        const tr = el('tr');
        tr.append(el('td', k), el('td', v));
        facts.append(tr);
      }
      col.append(facts);
      for (const m of r.metrics) {
        const box = el('div', undefined, 'chart compare-metric');
        box.dataset.metric = m.id;
        box.append(el('h3', m.title));
        const base = m.baseline
          ? m.baseline.fixed
            ? `${fmt(m.baseline.mean)} (fixed)`
            : `${fmt(m.baseline.mean)} ± ${fmt(m.baseline.stdev)} from ${m.baseline.samples} sample(s)`
          : 'none';
        for (const line of [`Guard: ${m.guard}`, `Baseline: ${base}`, `Window: ${m.summary}`, `Verdict: ${m.verdict}`]) box.append(el('div', line, 'explain'));
        col.append(box);
        boxes.push([box, m]);
      }
      return col;
    }),
  );
  // Charts are sized from their column, so they are drawn once the columns are in the page.
  for (const [box, m] of boxes) compareCharts.push(compareChart(box, m, sharedRanges(c, m.id)));
  const parts: HTMLElement[] = [el('h2', c.changelog.heading, 'changelog-heading')];
  let list: HTMLUListElement | undefined;
  for (const line of c.changelog.lines) {
    if (line.startsWith('- ')) {
      if (!list) parts.push((list = el('ul')));
      list.append(el('li', line.slice(2)));
      continue;
    }
    list = undefined;
    parts.push(line.startsWith('### ') ? el('h3', line.slice(4)) : el('p', line));
  }
  log.replaceChildren(...parts);
}

function apply(m: ToWebview): void {
  const t0 = performance.now();
  if (m.type === 'snapshot') {
    snap = m.snapshot;
    vscode.setState({ tab: snap.tab });
    renderHeader(snap);
    renderTable(snap);
    renderCharts(snap);
    renderReport(snap);
    renderCompare(snap);
  } else if (snap) {
    for (const [id, v] of Object.entries(m.values)) {
      const metric = snap.metrics.find((x) => x.id === id);
      if (!metric) continue;
      metric.points.push([m.at, v.value]);
      if (metric.points.length > MAX_POINTS * 1.5) metric.points.splice(0, metric.points.length - MAX_POINTS);
      if (v.status === 'breach') metric.breaches.push(m.at);
      metric.last = v;
    }
    renderTable(snap);
    renderCharts(snap);
  }
  send({ type: 'applied', ms: performance.now() - t0 });
}

window.addEventListener('message', (ev) => {
  const parsed = ToWebview.safeParse(ev.data);
  if (parsed.success) apply(parsed.data);
});
$('rollback').addEventListener('click', () => send({ type: 'rollback' }));
$('open-md').addEventListener('click', () => send({ type: 'openMarkdown' }));
$('copy').addEventListener('click', () => send({ type: 'copyReport' }));
for (const t of TABS) {
  $(`tab-${t}`).addEventListener('click', () => {
    if (!snap) return;
    snap.tab = t;
    send({ type: 'tab', tab: t });
    renderHeader(snap);
  });
}
setInterval(tickCountdown, 1000);
send({ type: 'ready' });
