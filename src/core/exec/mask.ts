import { CLIP_MARK } from '../format';
import type { NewEvent } from '../model/events';
import type { Rendered } from './rendered';
import { maskEventText } from '../model/eventText';
import { earliestFrom, originalRange, rendered, sequenceStart } from './rendered';
import { renderingsOf } from './renderings';

/**
 * Shortest secret a release accepts, blanks not counted. A shorter value turns up in ordinary
 * output all the time, so masking it would mangle every log, and the pattern of masks would itself
 * point at the value (`exit code ***` tells the reader the secret is a number).
 */
export const MIN_SECRET_LENGTH = 4;

const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a value cannot be masked safely, or undefined when it can (an empty value has nothing to hide). */
export function unmaskableReason(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.trim() === '') return 'it is only blanks (spaces, tabs or newlines), which cannot be masked without masking every blank of every output';
  const shown = value.trim().length;
  if (shown < MIN_SECRET_LENGTH)
    return `it is ${shown} character${shown === 1 ? '' : 's'} long without blanks; a secret needs at least ${MIN_SECRET_LENGTH}, as a shorter one turns up in ordinary output and every mask would point at it`;
  if (value.includes('\0') || LONE_SURROGATE_RE.test(value))
    return 'it holds a NUL or a lone UTF-16 surrogate, which a process receives as other bytes than the ones masked';
  return undefined;
}

/** The knuth-morris-pratt failure table of a pattern: the longest proper border of each prefix. */
function borders(p: string): Int32Array {
  const b = new Int32Array(p.length);
  for (let i = 1, k = 0; i < p.length; i++) {
    while (k > 0 && p.charCodeAt(i) !== p.charCodeAt(k)) k = b[k - 1];
    if (p.charCodeAt(i) === p.charCodeAt(k)) k++;
    b[i] = k;
  }
  return b;
}

interface Form {
  text: string;
  borders: Int32Array;
}

/** Fields whose values are the engine's own vocabulary (event types, outcomes, states, phases, gates) or the plan's environment name. */
const ENGINE_WORDS = new Set(['type', 'action', 'basis', 'outcome', 'phase', 'state', 'status', 'verdict', 'gate', 'environment']);

/**
 * Replaces every known secret with a mask in text headed for a log, journal, report, terminal or
 * dialog. Every occurrence of every secret, overlapping ones included, is covered; each stretch of
 * covered text becomes one mask. The mask is made of a character that no secret contains, so masked
 * text can never spell a secret together with what surrounds it.
 */
export class SecretMasker {
  /** The renderings of every secret, matched in the text as written. */
  private readonly forms: Form[];
  /** Those renderings as a terminal shows them, matched in the text as a terminal shows it (control sequences left out). */
  private readonly shownForms: Form[];
  /** Both: a text without a control sequence shows as it is written. */
  private readonly allForms: Form[];
  /** The shown renderings of one line, matched in the text read without its line breaks. */
  private readonly lineForms: Form[];
  readonly token: string;

  constructor(values: Iterable<string>) {
    const texts = new Set<string>();
    for (const v of values) for (const f of renderingsOf(v)) texts.add(f);
    const shown = new Set<string>();
    for (const t of texts) {
      const r = rendered(t, true).text;
      // A rendering that shows as a few characters would mask them everywhere; the written form still masks it.
      if (r === t || r.trim().length >= MIN_SECRET_LENGTH) shown.add(r);
    }
    const form = (text: string): Form => ({ text, borders: borders(text) });
    this.forms = [...texts].map(form);
    this.shownForms = [...shown].map(form);
    this.allForms = [...new Set([...texts, ...shown])].map(form);
    this.lineForms = this.shownForms.filter((f) => !f.text.includes('\n'));
    this.token = maskCharFor([...texts]).repeat(3);
  }

  get longest(): number {
    return Math.max(0, ...this.forms.map((f) => f.text.length));
  }

  mask(text: string): string {
    if (this.forms.length === 0 || text === '') return text;
    return this.render(text, this.scan(text, 0, true).ranges, false).text;
  }

  /**
   * Masks every string in a value (object keys too) before it is serialised: never its JSON, where
   * escaping changes the secret's bytes. The engine's own words (an event's type, an outcome, a state,
   * the environment's name) are left as they are: they never come from a secret, and a masked one
   * would change what the release decides (`DEPLOY_ENV=production`, `STATUS=released`).
   */
  maskDeep<T>(value: T): T {
    if (this.forms.length === 0) return value;
    return this.walk(value) as T;
  }

  /**
   * An event for the journal: its free-text fields masked (model/eventText.ts), its own record
   * (version, commit, run id, names, ids) written as it is; a secret that equals one of those is
   * refused before a release starts instead.
   */
  maskEvent<E extends NewEvent>(e: E): E {
    if (this.forms.length === 0) return e;
    return maskEventText(e, (v) => this.walk(v));
  }

  private walk(v: unknown): unknown {
    if (typeof v === 'string') return this.mask(v);
    if (Array.isArray(v)) return v.map((x) => this.walk(x));
    if (v && typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [this.mask(k), ENGINE_WORDS.has(k) && typeof x === 'string' ? x : this.walk(x)]));
    }
    return v;
  }

  /**
   * Covered ranges of `text` (merged, in order) and where the earliest possible start of a secret
   * the text ends in the middle of lies. `coveredHead` leading characters count as covered already.
   * A secret is found as written and as a terminal shows the text: colours, cursor moves or a title
   * inside it do not hide it, and its mask covers them. `final`: nothing follows the text;
   * `atLineStart`: the text begins a line (nothing before it, or a line break).
   */
  private scan(text: string, coveredHead: number, final: boolean, atLineStart = true): { ranges: [number, number][]; pending: number } {
    const found: [number, number][] = coveredHead > 0 ? [[0, coveredHead]] : [];
    let pending: number;
    let r: Rendered | undefined;
    // eslint-disable-next-line no-control-regex -- what a terminal renders differently from the text
    if (!/[\x1b\b\r]/.test(text)) {
      pending = findForms(text, this.allForms, found);
      if (text.includes('\n'))
        pending = Math.min(
          pending,
          findAcrossLines(text, (s, e) => [s, e], this.lineForms, found, atLineStart),
        );
    } else {
      pending = findForms(text, this.forms, found);
      const shown = rendered(text, final);
      r = shown;
      const inShown: [number, number][] = [];
      const shownPending = findForms(shown.text, this.shownForms, inShown);
      for (const [s, e] of inShown) found.push(originalRange(shown, s, e));
      const acrossPending = findAcrossLines(shown.text, (s, e) => originalRange(shown, s, e), this.lineForms, found, atLineStart);
      pending = Math.min(pending, earliestFrom(shown, Math.min(shownPending, acrossPending), text.length), shown.unfinished);
    }
    // A cursor move yet to come can write over any character of the line the text ends in, and a line
    // renders only whole: what is held back starts at the start of its line.
    if (!final && pending > 0) pending = Math.max(text.lastIndexOf('\n', pending - 1) + 1, pending - LINE_HOLD);
    // Held back from the start of a control sequence, never its middle: the rest then renders as in the whole text.
    if (r) pending = sequenceStart(r, pending);
    found.sort((a, b) => a[0] - b[0]);
    const ranges: [number, number][] = [];
    for (const r of found) {
      const last = ranges.at(-1);
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else ranges.push([r[0], r[1]]);
    }
    return { ranges, pending };
  }

  /** The masked form of `text[0, end)`; `continued`: the text before it ended in a mask that this one may extend. */
  private render(text: string, ranges: [number, number][], continued: boolean, end = text.length): { text: string; endsMasked: boolean } {
    let out = '';
    let at = 0;
    let endsMasked = continued;
    for (const [s, e] of ranges) {
      if (s >= end) break;
      if (s > at) {
        out += text.slice(at, s);
        endsMasked = false;
      }
      if (!(endsMasked && s === at)) out += this.token;
      endsMasked = true;
      at = Math.min(e, end);
    }
    if (at < end) {
      out += text.slice(at, end);
      endsMasked = false;
    }
    return { text: out, endsMasked };
  }

  /**
   * A stream masker: what it emits is exactly what `mask` makes of the whole stream, however the
   * stream is cut. Only a tail that could be the beginning of a secret is held back, so a line that
   * cannot hold one is shown at once.
   */
  stream(emit: (text: string) => void): { write(chunk: string): void; end(): void } {
    let held = '';
    let coveredHead = 0;
    let endsMasked = false;
    let atLineStart = true;
    const flush = (final: boolean) => {
      if (held === '') return;
      const { ranges, pending } = this.scan(held, coveredHead, final, atLineStart);
      const cut = final ? held.length : pending;
      if (cut === 0) return;
      const straddling = ranges.find(([s, e]) => s < cut && e > cut);
      // A secret that covers the cut is masked now; the part of it past the cut stays covered.
      coveredHead = straddling ? straddling[1] - cut : 0;
      const r = this.render(held, ranges, endsMasked, cut);
      endsMasked = r.endsMasked;
      atLineStart = held[cut - 1] === '\n';
      held = held.slice(cut);
      if (r.text) emit(r.text);
    };
    return {
      write: (chunk: string) => {
        if (this.forms.length === 0) {
          if (chunk) emit(chunk);
          return;
        }
        held += chunk;
        flush(false);
      },
      end: () => {
        flush(true);
        held = '';
        coveredHead = 0;
        atLineStart = true;
      },
    };
  }
}

/** `*`, or the first of a few other characters that no secret contains. */
function maskCharFor(texts: string[]): string {
  const candidates = ['*', '#', '•', '×', '░'];
  for (const c of candidates) if (!texts.some((t) => t.includes(c))) return c;
  for (let cp = 0xe000; ; cp++) {
    const c = String.fromCodePoint(cp);
    if (!texts.some((t) => t.includes(c))) return c;
  }
}

/**
 * Pushes onto `found` every occurrence of every form in `text` (overlapping ones too) and the
 * beginning of one that a clip mark cut; returns where the longest beginning of a form that the text
 * ends with starts (the text's length when none).
 */
function findForms(text: string, forms: Form[], found: [number, number][]): number {
  let pending = text.length;
  for (const f of forms) {
    const p = f.text;
    // Cheap exit: a text without the first character holds neither the secret nor its beginning.
    if (text.indexOf(p[0]) < 0) continue;
    // After an occurrence, the next overlapping one can only be a period further; checking the
    // period's worth of new characters keeps a repetitive secret in repetitive output linear.
    const period = p.length - f.borders[p.length - 1];
    const periodTail = p.slice(p.length - period);
    for (let i = text.indexOf(p); i >= 0;) {
      found.push([i, i + p.length]);
      i = period < p.length && text.startsWith(periodTail, i + p.length) ? i + period : text.indexOf(p, i + 1);
    }
    // A quote clipped in the middle of the secret (format.ts clip): its beginning, right before the mark.
    for (let j = text.indexOf(CLIP_MARK); j > 0; j = text.indexOf(CLIP_MARK, j + 1)) {
      const k = beginningEndingAt(text, j, f);
      if (k > 0) found.push([j - k, j]);
    }
    // The longest beginning of the secret the text ends with.
    const k = beginningEndingAt(text, text.length, f);
    if (k > 0) pending = Math.min(pending, text.length - k);
    pending = Math.min(pending, erasableBeginning(text, f));
  }
  return pending;
}

/** Longest end of an unfinished line a stream holds back: a cursor move reaching further back over what was shown is not seen. */
const LINE_HOLD = 4096;

/** Shortest piece of a secret a line may end with for the secret to count as continued on the next line (unless the piece is the whole line). */
const MIN_LINE_PIECE = 4;

/**
 * Pushes onto `found` each piece of a form that the rendering shows cut across lines (wrapped by
 * `fold`, split by a CRLF): the form read with the line breaks left out, where each line it leaves
 * ends with at least MIN_LINE_PIECE characters of it or is wholly part of it, so a line that merely
 * ends with the first characters of a secret is not masked. Each piece is masked on its own line,
 * the line breaks kept. Returns, in the rendering, where the beginning of a form that the text ends
 * with starts across lines (its length when none): the next line may continue it.
 */
function findAcrossLines(
  shown: string,
  range: (s: number, e: number) => [number, number],
  forms: Form[],
  found: [number, number][],
  atLineStart: boolean,
): number {
  // Where each line starts in the text read without its line breaks, and in the text.
  const starts: number[] = [0];
  const shownStarts: number[] = [0];
  for (let k = shown.indexOf('\n'); k >= 0; k = shown.indexOf('\n', k + 1)) {
    shownStarts.push(k + 1);
    starts.push(k + 1 - shownStarts.length + 1);
  }
  if (starts.length === 1) return shown.length;
  const joined = shown.replace(/\n/g, '');
  const lineOf = (j: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= j) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const inJoined: [number, number][] = [];
  const pending = findForms(joined, forms, inJoined);
  for (const [s, e] of inJoined) {
    const first = lineOf(s);
    const last = lineOf(e - 1);
    if (first === last) continue;
    // Each piece but the last ends a line: long enough to be specific, or the whole line (a text that starts in the middle of a line has no whole first line).
    const wholeFirst = s === starts[first] && (first > 0 || atLineStart);
    if (starts[first + 1] - s < MIN_LINE_PIECE && !wholeFirst) continue;
    for (let q = first; q <= last; q++) {
      const from = Math.max(s, starts[q]);
      const to = q < last ? starts[q + 1] : e;
      // An empty line inside the secret has no piece.
      if (to > from) found.push(range(from + q, to + q));
    }
  }
  return pending < joined.length ? pending + lineOf(pending) : shown.length;
}

/**
 * Where the earliest beginning of a form that ends in the last stretch of the text's current line
 * starts (the text's length when none): a backspace that follows can take back what comes after it,
 * so the form may yet be completed there. The stretch is twice the form long.
 */
function erasableBeginning(text: string, f: Form): number {
  const p = f.text;
  let start = text.length;
  let k = 0;
  for (let i = Math.max(text.lastIndexOf('\n') + 1, text.length - 2 * p.length); i < text.length; i++) {
    const c = text.charCodeAt(i);
    while (k > 0 && c !== p.charCodeAt(k)) k = f.borders[k - 1];
    if (c === p.charCodeAt(k)) k++;
    if (k === p.length) k = f.borders[k - 1];
    if (k > 0) start = Math.min(start, i + 1 - k);
  }
  return start;
}

/** The length of the longest beginning of a form (never all of it) that `text` has right before `end`: only the |form|-1 characters before it can hold one. */
function beginningEndingAt(text: string, end: number, f: Form): number {
  const p = f.text;
  let k = 0;
  for (let i = Math.max(0, end - p.length + 1); i < end; i++) {
    const c = text.charCodeAt(i);
    while (k > 0 && c !== p.charCodeAt(k)) k = f.borders[k - 1];
    if (c === p.charCodeAt(k)) k++;
  }
  return k;
}
