import { clip } from '../format';
/** A parsed sample of the Prometheus text exposition format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/g;

/**
 * A label value's escapes (`\\`, `\"`, `\n`) decoded in one left-to-right pass: decoding them one
 * kind after another read the `\\n` of `C:\\new` as a newline. Any other escape is kept as written.
 */
function unescapeLabel(v: string): string {
  return v.replace(/\\([\\"n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

export function parsePromText(text: string): { samples: PromSample[]; errors: string[] } {
  const samples: PromSample[] = [];
  const errors: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line || line.startsWith('#')) continue;
    const m = LINE_RE.exec(line);
    if (!m) {
      errors.push(`line ${i + 1}: cannot parse "${clip(line, 80)}"`);
      continue;
    }
    const labels: Record<string, string> = {};
    if (m[2]) for (const l of m[2].matchAll(LABEL_RE)) labels[l[1]] = unescapeLabel(l[2]);
    const raw = m[3];
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') {
      errors.push(`line ${i + 1}: "${raw}" is not a number`);
      continue;
    }
    samples.push({ name: m[1], labels, value });
  }
  return { samples, errors };
}

export function matches(labels: Record<string, string>, matchers: Record<string, string>): boolean {
  return Object.entries(matchers).every(([k, re]) => new RegExp(`^(?:${re})$`).test(labels[k] ?? ''));
}

/** Quantile from cumulative histogram buckets (upper bound -> count), as Prometheus' histogram_quantile does. */
export function histogramQuantile(q: number, buckets: { le: number; count: number }[]): number {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length === 0) return NaN;
  const total = sorted[sorted.length - 1].count;
  if (total <= 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket <= 0 ? b.le : prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
