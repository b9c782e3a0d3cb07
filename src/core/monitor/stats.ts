/** A running mean: a plain sum of values near Number.MAX_VALUE overflows to Infinity. */
export function mean(xs: readonly number[]): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m += (xs[i] - m) / (i + 1);
  return xs.length ? m : NaN;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function stdev(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export interface MannWhitneyResult {
  u: number;
  z: number;
  /** The p-value of the `alternative` asked: experiment greater than control, less, or either (two-sided). */
  p: number;
}

/**
 * Mann-Whitney U test with the normal approximation and tie correction (the method Kayenta uses
 * to compare canary and baseline). `alternative` is the direction that counts as a regression.
 */
export function mannWhitney(control: readonly number[], experiment: readonly number[], alternative: 'greater' | 'less' | 'two-sided'): MannWhitneyResult {
  const n1 = experiment.length;
  const n2 = control.length;
  const all = [...experiment.map((v) => ({ v, g: 1 })), ...control.map((v) => ({ v, g: 2 }))].sort((a, b) => a.v - b.v);
  const ranks = new Array<number>(all.length);
  let tieTerm = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1].v === all[i].v) j++;
    const r = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) ranks[k] = r;
    const t = j - i + 1;
    tieTerm += t ** 3 - t;
    i = j + 1;
  }
  const r1 = all.reduce((acc, x, i) => acc + (x.g === 1 ? ranks[i] : 0), 0);
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const mu = (n1 * n2) / 2;
  const n = n1 + n2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  if (sigma === 0) return { u, z: 0, p: 1 };
  const z = (u - mu) / sigma;
  const upper = 1 - normalCdf(z);
  const p = alternative === 'greater' ? upper : alternative === 'less' ? normalCdf(z) : Math.min(1, 2 * Math.min(upper, normalCdf(z)));
  return { u, z, p };
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 through erf). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
