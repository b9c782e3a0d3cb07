// The plan schema's values: counts, durations, lists whose items differ, descriptions and written defaults.
// Every duration of the plan is built by `duration`, every count bounded by COUNT_MAX.
import * as z from 'zod/mini';
import { TIMER_MAX_MS } from '../base/clock';
/** The most a count of the plan may be (attempts, batch size, approvals, samples in a row): beyond it, a count only hides a typo. */
export const COUNT_MAX = 1000;
export const int = (min: number, max?: number) => z.int().check(...(max === undefined ? [z.gte(min)] : [z.gte(min), z.lte(max)]));

/**
 * Documents a key of the plan in the JSON Schema (dist/plan.schema.json): editor hovers show the
 * first sentence, docs/plan-reference.md the whole text. Metadata only: validation is unchanged.
 */
export function doc<T extends z.ZodMiniType>(schema: T, description: string): T {
  z.globalRegistry.add(schema, { description });
  return schema;
}

/** Durations are written as `90s`, `5m`, `1h`, `7d`, `250ms`, or a number of seconds; they load as milliseconds (defaults are given in milliseconds: zod applies them after the transform). */
export const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** What a duration field accepts, in milliseconds; `zero` says what 0 means where 0 is allowed. */
export interface DurationBounds {
  max: number;
  /** The shortest allowed, where a shorter one cannot work (a lease); 1 ms otherwise. */
  min?: number;
  zero?: string;
}
/** How a duration field departs from a timer's: what 0 means there, a longer bound, what it is called. */
export interface DurationOptions {
  zero?: string;
  max?: number;
  /** The shortest allowed, and why a shorter one cannot work. */
  min?: { ms: number; why: string };
  /** The value, with examples, as a message names it: `an age such as 12h or 7d`. */
  noun?: string;
}
/** Every duration field's bounds, by its schema: what a test walks to try each one. */
export const DURATION_BOUNDS = new Map<unknown, DurationBounds>();

/**
 * The one duration type of the plan: every duration field is built here. A duration waited on by a
 * timer is at most TIMER_MAX_MS (Node fires a longer timer after 1 ms); 0 is refused unless `zero`
 * says what it means, so a timeout, an interval or a budget of 0 never validates.
 */
export function duration(o: DurationOptions = {}) {
  const bounds: DurationBounds = { max: o.max ?? TIMER_MAX_MS, ...(o.zero ? { zero: o.zero } : {}), ...(o.min ? { min: o.min.ms } : {}) };
  const schema = z.pipe(
    z.pipe(
      z.union([z.number().check(z.gte(0)), z.string().check(z.regex(DURATION_RE, `expected ${o.noun ?? 'a duration such as 30s, 5m or 1h'}`))]),
      z.transform((v: number | string) => durationMs(v)),
    ),
    z.number().check(
      z.refine((ms) => ms > 0 || (ms === 0 && bounds.zero !== undefined), {
        error: (i) => `expected a duration above 0${i.input === 0 ? '' : ` (${String(i.input)} ms rounds to 0)`}: a wait of 0 would end at once`,
      }),
      z.refine((ms) => ms === 0 || o.min === undefined || ms >= o.min.ms, {
        error: (i) => `expected a duration of at least ${durationText(o.min!.ms)}, got ${durationText(Number(i.input))}: ${o.min!.why}`,
      }),
      z.refine((ms) => ms <= bounds.max, {
        error: (i) =>
          `expected a duration of at most ${durationText(bounds.max)}${bounds.max === TIMER_MAX_MS ? ' (about 24.8 days: the longest wait a timer can hold)' : ''}, got ${durationText(Number(i.input))}`,
      }),
    ),
  );
  DURATION_BOUNDS.set(schema, bounds);
  return schema;
}

/**
 * Defaults as a plan writes them, for keys whose value transforms (a duration, or a list or object
 * that holds one): zod leaves such a default out of an input JSON Schema.
 */
export const WRITTEN_DEFAULTS = new Map<unknown, unknown>();
export function writtenDefault<T>(schema: T, written: unknown): T {
  WRITTEN_DEFAULTS.set(schema, written);
  return schema;
}

/**
 * A list whose items must differ: each item whose `same` form an earlier item already has is refused
 * at its own line, saying which item it repeats and why the two must differ.
 */
export function distinct<T>(why: string, o: { same?: (item: T) => string; key?: keyof T & string } = {}) {
  const name = (item: T) => (o.key ? item[o.key] : item);
  const same = o.same ?? ((item: T) => String(name(item)));
  return z.superRefine<T[]>((items, ctx) => {
    const first = new Map<string, number>();
    items.forEach((item, i) => {
      const k = same(item);
      const j = first.get(k);
      if (j === undefined) first.set(k, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: o.key ? [i, o.key] : [i],
          input: name(item),
          message: `${JSON.stringify(name(item))} repeats item ${j + 1} of the list (${JSON.stringify(name(items[j]))}): ${why}`,
        });
    });
  });
}

export function durationDefault(ms: number, description: string, o: DurationOptions = {}) {
  return writtenDefault(doc(z._default(duration(o), ms), description), durationText(ms));
}

/** Milliseconds as a plan writes them: `250ms`, `10s`, `5m`, `1h`. */
export function durationText(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

export function durationMs(v: number | string): number {
  if (typeof v === 'number') return Math.round(v * 1000);
  const m = DURATION_RE.exec(v.trim());
  if (!m) throw new Error(`not a duration: ${v}`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2] as keyof typeof DURATION_UNITS]);
}
