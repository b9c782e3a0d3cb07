import { fetchText } from '../base/fetchText';
import { error, failure, ok, type MetricSource, type Sample } from './sample';
import { clip } from '../format';

export type StubStatusField = 'active' | 'accepts' | 'handled' | 'requests' | 'reading' | 'writing' | 'waiting';

export interface StubStatus {
  active: number;
  accepts: number;
  handled: number;
  requests: number;
  reading: number;
  writing: number;
  waiting: number;
}

const STUB_RE =
  /^Active connections:\s*(\d+)\s*\r?\nserver accepts handled requests\s*\r?\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\r?\nReading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)\s*$/;

/** nginx's stub_status page, or why the text is not one. */
export function parseStubStatus(text: string): StubStatus | { problem: string } {
  const m = STUB_RE.exec(text.trim());
  if (!m) return { problem: `not an nginx stub_status page: ${JSON.stringify(clip(text, 60))}` };
  const [active, accepts, handled, requests, reading, writing, waiting] = m.slice(1).map(Number);
  if (![active, accepts, handled, requests, reading, writing, waiting].every(Number.isSafeInteger))
    return { problem: 'a stub_status number is too large to be exact' };
  return { active, accepts, handled, requests, reading, writing, waiting };
}

const COUNTERS = new Set<StubStatusField>(['accepts', 'handled', 'requests']);

/** nginx's `stub_status`: connections now, or a counter's increase per second between two samples. */
export class StubStatusSource implements MetricSource {
  readonly describe: string;
  private prev?: { t: number; value: number };

  constructor(
    private readonly url: string,
    private readonly field: StubStatusField,
    private readonly timeoutMs: number,
  ) {
    this.describe = `${field}${COUNTERS.has(field) ? ' per second' : ''} of nginx stub_status @ ${url}`;
  }

  async sample(signal?: AbortSignal): Promise<Sample> {
    let text: string;
    const t = performance.now();
    try {
      const res = await fetchText(this.url, this.timeoutMs, { signal });
      if (!res.ok) return error(`${this.url} answered HTTP ${res.status}`);
      text = res.text;
    } catch (e) {
      return failure(e, this.timeoutMs);
    }
    const s = parseStubStatus(text);
    if ('problem' in s) return error(s.problem);
    const value = s[this.field];
    if (!COUNTERS.has(this.field)) return ok(value);
    const prev = this.prev;
    this.prev = { t, value };
    if (!prev) return { value: null, status: 'empty', message: 'first read: a rate needs two' };
    const dt = (t - prev.t) / 1000;
    if (dt <= 0) return error('two reads at the same instant');
    // A counter that went down: nginx restarted, counting from zero (as Prometheus' rate() does).
    const inc = value >= prev.value ? value - prev.value : value;
    return { value: inc / dt, status: 'ok', message: `${this.field} +${inc} in ${dt.toFixed(2)} s` };
  }
}
