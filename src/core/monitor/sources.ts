import type { Metric } from '../model/schema-monitoring';
import { runShort } from '../exec/short';
import { fetchText } from '../base/fetchText';
import { decimal, error, failure, ok, type MetricSource, type Sample } from './sample';
import { histogramQuantile, matches, parsePromText, type PromSample } from './promtext';
import { AccessLogSource } from './accesslog-source';
import { StubStatusSource } from './stubstatus';
import { HttpJsonSource } from './httpjson';
export { HttpJsonSource } from './httpjson';
import * as path from 'node:path';
import { clip } from '../format';

export type { MetricSource, Sample } from './sample';

/** `env`: the plan's `env` as written; a command metric gets it resolved as its command is, over `data` as it is. */
export function createSource(
  m: Metric,
  resolve: (s: string) => string,
  cwd: string,
  env: Record<string, string> = {},
  data: Record<string, string> = {},
): MetricSource {
  if (m.prometheus) return new PrometheusQuerySource(resolve(m.prometheus.url), resolve(m.prometheus.query), m.timeout);
  if (m.scrape) return new ScrapeSource(resolve(m.scrape.url), m.scrape.metric, m.scrape.labels, m.scrape.kind, m.scrape.quantile, m.timeout);
  if (m.http) return new HttpJsonSource(resolve(m.http.url), m.http.field, m.timeout);
  if (m.accessLog) return new AccessLogSource(path.resolve(cwd, resolve(m.accessLog.path)), m.accessLog);
  if (m.stubStatus) return new StubStatusSource(resolve(m.stubStatus.url), m.stubStatus.field, m.timeout);
  return new CommandSource(resolve(m.command!), m.timeout, cwd, { ...data, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, resolve(v)])) });
}

/** Prometheus HTTP API instant query. */
export class PrometheusQuerySource implements MetricSource {
  readonly describe: string;
  constructor(
    private readonly base: string,
    private readonly query: string,
    private readonly timeoutMs: number,
  ) {
    this.describe = `PromQL ${query} @ ${base}`;
  }

  async sample(signal?: AbortSignal): Promise<Sample> {
    const url = `${this.base.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(this.query)}`;
    let body: { status?: string; errorType?: string; error?: string; warnings?: string[]; data?: { resultType: string; result: unknown } };
    try {
      const res = await fetchText(url, this.timeoutMs, { signal });
      const text = res.text;
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        return error(`Prometheus answered HTTP ${res.status} with a body that is not JSON: ${clip(text, 120)}`);
      }
      if (body.status !== 'success') return error(`Prometheus ${body.errorType ?? `HTTP ${res.status}`}: ${body.error ?? 'no error message'}`);
    } catch (e) {
      return failure(e, this.timeoutMs);
    }
    const warn = body.warnings?.length ? ` (warnings: ${body.warnings.join('; ')})` : '';
    const data = body.data!;
    if (data.resultType === 'scalar') return withWarn(ok(Number((data.result as [number, string])[1])), warn);
    if (data.resultType === 'vector') {
      const result = data.result as { metric: Record<string, string>; value: [number, string] }[];
      if (result.length === 0) return { value: null, status: 'empty', message: `the query returned no series${warn}` };
      if (result.length > 1) return error(`the query returned ${result.length} series; aggregate it (for example with sum()) to one`);
      return withWarn(ok(Number(result[0].value[1])), warn);
    }
    return error(`unsupported result type ${data.resultType}: use an instant vector or scalar query`);
  }
}

function withWarn(s: Sample, warn: string): Sample {
  return warn ? { ...s, message: (s.message ?? '') + warn } : s;
}

/** A Prometheus text-format endpoint scraped directly; counters become rates between scrapes. */
export class ScrapeSource implements MetricSource {
  readonly describe: string;
  private prev?: { t: number; samples: PromSample[] };

  constructor(
    private readonly url: string,
    private readonly metric: string,
    private readonly labels: Record<string, string>,
    private readonly kind: 'gauge' | 'rate' | 'ratio' | 'quantile',
    private readonly q: number,
    private readonly timeoutMs: number,
  ) {
    const sel = Object.entries(labels)
      .map(([k, v]) => `${k}=~"${v}"`)
      .join(',');
    this.describe = `${kind}${kind === 'quantile' ? `(${q})` : ''} of ${metric}${sel ? `{${sel}}` : ''} @ ${url}`;
  }

  async sample(signal?: AbortSignal): Promise<Sample> {
    let text: string;
    const t = performance.now();
    try {
      const res = await fetchText(this.url, this.timeoutMs, { signal });
      text = res.text;
      if (!res.ok) return error(`${this.url} answered HTTP ${res.status}`);
    } catch (e) {
      return failure(e, this.timeoutMs);
    }
    const { samples, errors } = parsePromText(text);
    if (samples.length === 0) return error(errors.length ? `not Prometheus text format: ${errors[0]}` : 'the endpoint exposes no samples');
    const prev = this.prev;
    this.prev = { t, samples };
    const sum = (ss: PromSample[], name: string, sel: Record<string, string>) =>
      ss.filter((s) => s.name === name && matches(s.labels, sel)).reduce((a, s) => a + s.value, 0);
    const has = (ss: PromSample[], name: string) => ss.some((s) => s.name === name);
    if (this.kind === 'gauge') {
      if (!has(samples, this.metric)) return { value: null, status: 'empty', message: `no series named ${this.metric}` };
      return ok(sum(samples, this.metric, this.labels));
    }
    if (!prev) return { value: null, status: 'empty', message: 'first scrape: a rate needs two' };
    const dt = (t - prev.t) / 1000;
    if (dt <= 0) return error('two scrapes at the same instant');
    // A counter that went down was reset (process restart): count from zero, as Prometheus' rate() does.
    const inc = (name: string, sel: Record<string, string>) => {
      const now = sum(samples, name, sel);
      const before = sum(prev.samples, name, sel);
      return now >= before ? now - before : now;
    };
    if (this.kind === 'rate' || this.kind === 'ratio') {
      if (!has(samples, this.metric)) return { value: null, status: 'empty', message: `no series named ${this.metric}` };
      const num = inc(this.metric, this.labels);
      if (this.kind === 'rate') return ok(num / dt);
      const all = inc(this.metric, {});
      if (all === 0) return { value: null, status: 'no-traffic', message: `no ${this.metric} between two scrapes ${dt.toFixed(1)} s apart` };
      return ok(num / all);
    }
    const bucketName = `${this.metric}_bucket`;
    if (!has(samples, bucketName)) return { value: null, status: 'empty', message: `no histogram named ${this.metric}` };
    const les = [...new Set(samples.filter((s) => s.name === bucketName).map((s) => s.labels.le))];
    const buckets = les.map((le) => ({ le: le === '+Inf' ? Infinity : Number(le), count: inc(bucketName, { ...this.labels, le: escapeRe(le) }) }));
    const total = buckets.find((b) => b.le === Infinity)?.count ?? 0;
    if (total === 0) return { value: null, status: 'no-traffic', message: `no observations of ${this.metric} between two scrapes` };
    return ok(histogramQuantile(this.q, buckets));
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A command that prints a number: the last word of its output, which must be a number (or NaN). */
export class CommandSource implements MetricSource {
  readonly describe: string;
  constructor(
    private readonly command: string,
    private readonly timeoutMs: number,
    private readonly cwd: string,
    private readonly env: Record<string, string> = {},
  ) {
    this.describe = `command ${command}`;
  }

  async sample(signal?: AbortSignal): Promise<Sample> {
    const r = await runShort(this.command, { cwd: this.cwd, timeoutMs: this.timeoutMs, env: this.env, signal });
    if (r.timedOut) return error(`no answer within ${this.timeoutMs} ms`);
    if (r.exitCode !== 0) return error(`exit code ${r.exitCode ?? r.signal}: ${clip(String(r.stderr), 120)}`);
    const out = String(r.stdout).trim();
    if (out === '') return { value: null, status: 'empty', message: 'the command printed nothing' };
    const tokens = out.split(/\s+/);
    const last = tokens[tokens.length - 1];
    if (/^nan$/i.test(last)) return ok(NaN);
    const n = decimal(last);
    return Number.isFinite(n) ? ok(n) : error(`the command printed "${clip(last, 40)}", not a number`);
  }
}
