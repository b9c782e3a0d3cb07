import { clip } from '../../format';
import { FALSE_VALUES, GO_FIELDS, GO_MARKS, LABELS, NO_MARKS, NO_WORDS, NONE_COUNTED, skeleton, VERDICT_LABELS, WITHDRAWAL_WORDS } from './verdictWords';

/**
 * What counts as a "go" in an acceptance verdict. Pure: text in, decision out.
 *
 * A go is a line that says exactly the expected phrase, once Markdown decoration and one verdict
 * label are taken away. Any other mention of the phrase (negated, asked, qualified, struck out,
 * look-alike letters, hidden in a comment), any bare "no" in any language, and any labelled
 * verdict with another value refuses, even when another line says go: a conflicting verdict is
 * not a go. See `VERDICT_RULE` for the wording shown to users.
 */

export interface VerdictDecision {
  ok: boolean;
  /** Why, in one sentence that quotes what decided it. */
  reason: string;
  /** The line that decided (1-based number and its text, trimmed and shortened), if one did. */
  line?: { n: number; text: string };
}

export const VERDICT_RULE =
  'a go is a line whose whole text is the expected phrase (case, spacing and Markdown heading, bullet, [x], bold/italic and one label such as "Verdict:" or "Status:" aside, optionally ending in "." or "!"); ' +
  'any other line that mentions the phrase, a line that only says no (no, not yet, blocked, pending, ❌, nein, non, нет, 否, いいえ …), or a labelled verdict with another value refuses, even when another line says go';

/** Verdict texts beyond this are refused unread: a verdict is a few lines, not a data dump. */
export const MAX_VERDICT_CHARS = 16 * 1024 * 1024;

/** NFKC, no invisible format characters (zero-width, bidi controls, soft hyphen), one space between words, lower case. */
function normalise(s: string): string {
  // Printable ASCII needs no Unicode work; most of a long report is.
  if (/^[\x20-\x7e]*$/.test(s)) return s.replace(/ {2,}/g, ' ').trim().toLowerCase();
  return s
    .normalize('NFKC')
    .replace(/[\p{Cf}\p{Cc}]/gu, (c) => (c === '\t' ? ' ' : ''))
    .replace(/\s+/gu, ' ')
    .trim()
    .toLowerCase();
}

interface Line {
  n: number;
  raw: string;
  /** Inside a code fence, an HTML comment, a block quote or an indented code block. */
  quoted: boolean;
  /** The normalised line with its Markdown decoration and label taken away. */
  core: string;
  label?: string;
  /** The normalised line as written, decoration included. */
  full: string;
  /** A task-list box left unticked, or struck-out text: the author says this is not (yet) so. */
  crossed: boolean;
  /** A task-list box left unticked: an open item. */
  open: boolean;
}

const LABEL_RE = /^([\p{L}][\p{L}\p{N} /_-]{0,30}?)\s*:\s*(.*)$/u;

function undecorate(s: string): { core: string; label?: string; crossed: boolean; open: boolean } {
  let t = s;
  let crossed = false;
  let open = false;
  for (let changed = true; changed;) {
    const before = t;
    t = t.replace(/^#{1,6}\s+/, '').replace(/^(?:[-*+•·]|\d{1,3}[.)])\s+/u, '');
    const box = /^\[( |x|✓|✔)\]\s*/iu.exec(t);
    if (box) {
      if (box[1] === ' ') crossed = open = true;
      t = t.slice(box[0].length);
    }
    t = t
      .replace(GO_MARKS, '')
      .replace(/\s+#+$/, '')
      .trim();
    changed = t !== before;
  }
  if (/~~/.test(t) || /<\/?(?:del|s|strike)>/i.test(t)) crossed = true;
  t = t.replace(/[*_]+/g, '').replace(/\s+/g, ' ').trim();
  let label: string | undefined;
  const m = LABEL_RE.exec(t);
  if (m && LABELS.has(m[1].trim())) {
    label = m[1].trim();
    t = m[2].trim();
    const q = /^(["'“‘«`])(.*)(["'”’»`])$/u.exec(t);
    if (q) t = q[2].trim();
  }
  return { core: t, label, crossed, open };
}

function splitLines(text: string): Line[] {
  const out: Line[] = [];
  // A fence closes only on the same character, at least as long, with nothing after it (CommonMark).
  let fence: { char: string; len: number } | null = null;
  let inComment = false;
  let inPre = false;
  let inQuote = false;
  const raws = text.split(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/);
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i];
    let quoted = fence !== null || inComment || inPre;
    const lead = /^[ \t]*/.exec(raw)![0];
    const fenceMark = /^[ \t]{0,3}(`{3,}|~{3,})(.*)$/.exec(raw);
    if (fenceMark) {
      const [mark, rest] = [fenceMark[1], fenceMark[2]];
      if (fence === null) fence = { char: mark[0], len: mark.length };
      else if (mark[0] === fence.char && mark.length >= fence.len && !rest.trim()) fence = null;
      quoted = true;
    }
    // An HTML comment hides what it holds from the rendered page: never a go, always counted as a mention.
    const opens = raw.lastIndexOf('<!--');
    const closes = raw.lastIndexOf('-->');
    if (raw.includes('<!--') || raw.includes('-->')) quoted = true;
    if (opens >= 0 && opens > closes) inComment = true;
    else if (closes >= 0 && closes > opens) inComment = false;
    // Preformatted HTML is a code block too.
    if (/<pre[\s>]/i.test(raw) || /<\/pre>/i.test(raw)) quoted = true;
    if (/<pre[\s>]/i.test(raw) && !/<\/pre>/i.test(raw.slice(raw.search(/<pre[\s>]/i)))) inPre = true;
    else if (/<\/pre>/i.test(raw)) inPre = false;
    let body = normalise(raw);
    if (/^>/.test(body)) {
      quoted = true;
      inQuote = true;
      body = body.replace(/^(?:>\s?)+/, '');
    } else if (!body) inQuote = false;
    // A line right under a quote, with no blank line between, continues the quote (Markdown's lazy continuation).
    else if (inQuote) quoted = true;
    if (lead.replace(/\t/g, '    ').length >= 4 && !LABEL_RE.test(body.replace(/^[-*+]\s+/, ''))) quoted = true;
    const d = undecorate(body);
    out.push({ n: i + 1, raw, quoted, core: d.core, label: d.label, full: body, crossed: d.crossed, open: d.open });
  }
  return out;
}

/** A JSON verdict ({"verdict": "Ready for Launch"}) is read as the `key: value` lines of its string values. */
function jsonAsLines(text: string): string | null {
  const t = text.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return null;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return null;
  }
  const lines: string[] = [];
  const walk = (x: unknown, key: string) => {
    if (typeof x === 'string') lines.push(key ? `${key}: ${x.replace(/[\r\n]+/g, ' ')}` : x);
    else if (typeof x === 'boolean' || typeof x === 'number' || x === null) lines.push(`${key}: ${String(x)}`);
    else if (Array.isArray(x)) for (const y of x) walk(y, key);
    else if (x && typeof x === 'object') for (const [k, y] of Object.entries(x)) walk(y, k);
  };
  walk(v, '');
  return lines.join('\n');
}

const shorten = (s: string) => {
  const t = s.trim().replace(/\s+/g, ' ');
  return clip(t, 160);
};

const quote = (l: Line) => `line ${l.n}: "${shorten(l.raw)}"`;

/** Whether the text accepts the release, by the rule in `VERDICT_RULE`. */
/**
 * A no in any dress: HTML tags, inline code, a link, a table cell, a leading colon, and any
 * `label: value` whose value is a no ("Launch: NO", "approved: false", "Update: not ready anymore").
 */
function saysNo(core: string): boolean {
  const plain = core
    .replace(/<[^>]*>/g, ' ')
    .replace(/`+/g, ' ')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\|/g, ' ')
    .replace(/^\s*:\s*/, '')
    .replace(/\s+/g, ' ')
    .trim();
  const clean = (t: string) =>
    skeleton(t)
      .replace(/[\s.!?,;…]+$/u, '')
      .replace(/^[\s,;…]+/u, '');
  if (NO_WORDS.has(clean(plain))) return true;
  const m = LABEL_RE.exec(plain);
  if (!m) return false;
  const value = clean(m[2]);
  return NO_WORDS.has(value) || [...NO_WORDS].some((w) => w.includes(' ') && value.startsWith(`${w} `));
}

/**
 * A line that takes a go back, whatever else it says: a word of withdrawal, revocation, failure or
 * postponement anywhere in it (unless it counts none of them: "0 failed"), a no spelled out letter by
 * letter ("N O"), or a yes/no field of the go set to a no ("ready: 0").
 */
function withdraws(full: string): boolean {
  const t = skeleton(full)
    .replace(/<[^>]*>/g, ' ')
    .replace(/[`*_~|]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const re = new RegExp(WITHDRAWAL_WORDS.source, 'g');
  for (let m = re.exec(t); m; m = re.exec(t)) {
    if (!NONE_COUNTED.test(t.slice(0, m.index)) && !NONE_COUNTED.test(t.slice(m.index + m[0].length).replace(/^[a-z ]{0,20}?(?=[:=])/, ''))) return true;
  }
  const letters = /^(?:[^\s.!?]\s)+[^\s.!?][.!]?$/u.exec(t);
  if (letters) {
    const word = t.replace(/[\s.!]+/g, '');
    if (NO_WORDS.has(word) || WITHDRAWAL_WORDS.test(word)) return true;
  }
  const field = LABEL_RE.exec(t);
  return !!field && GO_FIELDS.test(field[1].trim()) && FALSE_VALUES.has(field[2].replace(/[\s.!]+$/, '').trim());
}

export function decideVerdict(text: string, expected: string): VerdictDecision {
  const want = normalise(expected).replace(/[.!]$/, '');
  if (!want) return { ok: false, reason: 'the plan expects an empty verdict phrase' };
  if (text.length > MAX_VERDICT_CHARS) return { ok: false, reason: `the verdict is ${text.length} characters long, more than the ${MAX_VERDICT_CHARS} read` };
  const lines = splitLines(jsonAsLines(text) ?? text);
  if (!lines.some((l) => l.full)) return { ok: false, reason: 'the verdict is empty' };
  const wantSkeleton = skeleton(want);
  const wantLoose = wantSkeleton.replace(/[^a-z0-9\p{L}]+/gu, '');
  let go: Line | undefined;
  let quotedGo: Line | undefined;
  for (const l of lines) {
    if (!l.full) continue;
    const core = l.core.replace(/\s*[.!]$/, '');
    const exact = core === want;
    if (exact && !l.quoted && !l.crossed) {
      go ??= l;
      continue;
    }
    if (exact && l.crossed) return { ok: false, reason: `the verdict is struck out or left unticked, ${quote(l)}`, line: view(l) };
    if (exact) {
      quotedGo ??= l;
      continue;
    }
    // Letters, digits only, look-alikes folded: catches "Ready-for-Launch?", "NotReady for Launch", "Rеady" (Cyrillic е).
    const sk = skeleton(l.full);
    const loose = /^\p{ASCII}*$/u.test(sk) ? sk.replace(/[^a-z0-9]+/g, '') : sk.replace(/[^a-z0-9\p{L}]+/gu, '');
    if (loose.includes(wantLoose)) {
      const why =
        core !== skeleton(core) && skeleton(core) === wantSkeleton
          ? 'spells the phrase with look-alike letters'
          : 'says more than the phrase (a negation, question or qualifier)';
      return { ok: false, reason: `the verdict ${why}, ${quote(l)}`, line: view(l) };
    }
    const bare = skeleton(core)
      .replace(/[\s.!?,;…]+$/u, '')
      .replace(/^[\s,;…]+/u, '');
    if (!l.quoted && withdraws(l.full)) return { ok: false, reason: `the verdict is taken back or reports a failure, ${quote(l)}`, line: view(l) };
    if (NO_WORDS.has(bare) || NO_WORDS.has(core.replace(/[\s.!?,;…]+$/u, '')) || NO_MARKS.test(l.full) || saysNo(core)) {
      return { ok: false, reason: `the verdict says no, ${quote(l)}`, line: view(l) };
    }
    if (l.open && !l.quoted) return { ok: false, reason: `the verdict leaves an item open, ${quote(l)}`, line: view(l) };
    if (l.label && VERDICT_LABELS.has(l.label) && !l.quoted) return { ok: false, reason: `the verdict gives another ${l.label}, ${quote(l)}`, line: view(l) };
  }
  if (go) return { ok: true, reason: `${quote(go)} says "${expected}"`, line: view(go) };
  if (quotedGo)
    return { ok: false, reason: `"${expected}" appears only quoted (code block, block quote or HTML comment), ${quote(quotedGo)}`, line: view(quotedGo) };
  const first = lines.find((l) => l.full);
  return { ok: false, reason: `no line says "${expected}"; it starts with ${first ? quote(first) : '(nothing)'}`, line: first && view(first) };
}

const view = (l: Line) => ({ n: l.n, text: shorten(l.raw) });
