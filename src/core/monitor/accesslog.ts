import { clip } from '../format';
// Access-log lines (nginx/Apache "combined", or JSON lines) and the statistics a metric reads from
// them. Pure: the file is followed by logtail.ts.

export type AccessLogFormat = 'combined' | 'json';
export type AccessLogStatistic = 'rate' | 'errorRatio' | 'p50' | 'p90' | 'p95' | 'p99';

/** One request, or why the line is not one. `requestTime` is absent when the log has none for it. */
export type LogLine = { status: number; requestTime?: number; badRequestTime?: string } | { unparseable: string };

export interface LineFormat {
  format: AccessLogFormat;
  /** JSON lines: the field (a dotted path for nested objects) holding the status. */
  statusField: string;
  /** JSON lines: the field holding the request time. */
  requestTimeField: string;
}

// `"…"` as nginx (`\x22`) and Apache (`\"`) write a quoted field: any character but a bare quote.
const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`;
// host ident user [time] "request" status bytes ["referer" "user agent"] [anything appended: $request_time first]
const COMBINED = new RegExp(String.raw`^\S+ \S+ \S+ \[[^\]]*\] ${QUOTED} (\S+) (?:\d+|-)(?: ${QUOTED} ${QUOTED})?(?:$| (.*)$)`);

const status = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{3}$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 100 && n <= 599 ? n : undefined;
};

/** A request time as written: a finite number ≥ 0; `-` or nothing is no time; anything else is a bad one. */
function requestTime(v: unknown): { requestTime?: number; badRequestTime?: string } {
  if (v === undefined || v === null || v === '' || v === '-') return {};
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v) ? Number(v) : NaN;
  if (Number.isFinite(n) && n >= 0) return { requestTime: n };
  return { badRequestTime: typeof v === 'string' ? clip(v, 40) : clip(JSON.stringify(v) ?? typeof v, 40) };
}

export function parseCombinedLine(line: string): LogLine {
  const m = COMBINED.exec(line);
  if (!m) return { unparseable: 'not in combined format (host ident user [time] "request" status bytes "referer" "user agent")' };
  const s = status(m[2]);
  if (s === undefined) return { unparseable: `status ${JSON.stringify(clip(m[2], 12))} is not an HTTP status (100 to 599)` };
  const rest = m[5]?.trim();
  return { status: s, ...requestTime(rest ? rest.split(/\s+/)[0] : undefined) };
}

function field(doc: Record<string, unknown>, path: string): unknown {
  if (Object.prototype.hasOwnProperty.call(doc, path)) return doc[path];
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function parseJsonLine(line: string, statusField: string, requestTimeField: string): LogLine {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return { unparseable: 'not JSON' };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { unparseable: 'not a JSON object' };
  const raw = field(doc as Record<string, unknown>, statusField);
  if (raw === undefined) return { unparseable: `no field ${statusField}` };
  const s = status(raw);
  if (s === undefined)
    return {
      unparseable: `${statusField} ${clip(JSON.stringify(raw) ?? 'undefined', 20)} is not an HTTP status (100 to 599)`,
    };
  return { status: s, ...requestTime(field(doc as Record<string, unknown>, requestTimeField)) };
}

export function parseLogLine(line: string, f: LineFormat): LogLine {
  // A CRLF log (written on Windows, or by a proxy) ends its lines with \r.
  const l = line.endsWith('\r') ? line.slice(0, -1) : line;
  return f.format === 'json' ? parseJsonLine(l, f.statusField, f.requestTimeField) : parseCombinedLine(l);
}

/**
 * Which statuses count as errors: classes such as `5xx`, `4xx`, or exact codes such as `429`.
 * Throws on anything else (the schema refuses it before).
 */
export function errorStatusMatcher(spec: readonly string[]): (status: number) => boolean {
  const classes = new Set<number>();
  const codes = new Set<number>();
  for (const s of spec) {
    if (/^[1-5]xx$/i.test(s)) classes.add(Number(s[0]));
    else if (/^[1-5]\d\d$/.test(s)) codes.add(Number(s));
    else throw new Error(`not a status class or code: ${s}`);
  }
  return (st) => classes.has(Math.floor(st / 100)) || codes.has(st);
}

/** Nearest-rank percentile: the smallest value with at least q of the values at or below it. */
export function percentile(values: Float64Array | number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

export const QUANTILES: Record<string, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

/** What one read of the log counted. */
export class LogTally {
  requests = 0;
  errors = 0;
  unparseable = 0;
  firstProblem?: string;
  badTimes = 0;
  withoutTime = 0;
  private times = new Float64Array(1024);
  private nTimes = 0;

  constructor(
    private readonly isError: (status: number) => boolean,
    private readonly keepTimes: boolean,
  ) {}

  add(l: LogLine, lineNo?: string): void {
    if ('unparseable' in l) {
      this.unparseable++;
      this.firstProblem ??= `${lineNo ? `${lineNo}: ` : ''}${l.unparseable}`;
      return;
    }
    this.requests++;
    if (this.isError(l.status)) this.errors++;
    if (l.badRequestTime !== undefined) this.badTimes++;
    else if (l.requestTime === undefined) this.withoutTime++;
    else if (this.keepTimes) {
      if (this.nTimes === this.times.length) {
        const bigger = new Float64Array(this.times.length * 2);
        bigger.set(this.times);
        this.times = bigger;
      }
      this.times[this.nTimes++] = l.requestTime;
    }
  }

  /** A line that could not be read at all (over the length limit, or cut by a truncation). */
  addUnreadable(why: string): void {
    this.unparseable++;
    this.firstProblem ??= why;
  }

  get requestTimes(): Float64Array {
    return this.times.subarray(0, this.nTimes);
  }
}
