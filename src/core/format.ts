// How numbers and times read in every output (CLI, report, tree, terminals, status bar, panel).
// Plain functions of their arguments: the webview bundles this module too.

/** A metric value as every output shows it: 3 significant digits, whole numbers from 100, `—` for none. */
export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (!Number.isFinite(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

/** A step's or phase's time as a terminal line shows it: `1.2 s`. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A duration to read: `850 ms`, `1.2 s`, `2 min 5 s` from two minutes on; empty when unknown. */
export function formatDuration(ms?: number): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return formatSeconds(ms);
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A configured window or budget: `90 s`, `5 min`, `2.5 min`. */
export function formatWindow(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${(ms / 60_000).toFixed(1)} min`;
}

/** Time left until `untilMs` (epoch ms) as `m:ss`; `0:00` once it passed. */
export function formatCountdown(untilMs: number, nowMs: number = Date.now()): string {
  const left = Math.max(0, Math.round((untilMs - nowMs) / 1000));
  return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
}

/** The clip mark: the secret masker also hides the beginning of a secret a clip left right before it. */
export const CLIP_MARK = '…';

/**
 * At most `max` characters of a quote, marked with `…` when cut. Quote with this, never a bare slice: the
 * masker runs later, on the whole message, and finds a secret the clip cut short only by this mark.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never half a character: a surrogate pair cut in two is no character (and JSON escapes the half).
  const end = max > 0 && /[\uD800-\uDBFF]/.test(text[max - 1]) ? max - 1 : max;
  return `${text.slice(0, end)}${CLIP_MARK}`;
}

/** A monitoring window taken longer to confirm or clear what was open at its end, said the same in the CLI, the terminal and the report. */
export const extendedText = (extraMs: number, reason: string): string => `extended by up to ${extraMs / 1000} s: ${reason}`;
