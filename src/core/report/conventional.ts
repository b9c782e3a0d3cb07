/** One commit message read as a Conventional Commit (https://www.conventionalcommits.org/en/v1.0.0/). */
export interface ParsedMessage {
  /** First line, without a carriage return. */
  header: string;
  type?: string;
  scope?: string;
  subject?: string;
  /** `!` before or after the scope, or at least one BREAKING CHANGE footer. */
  breaking: boolean;
  /** Every BREAKING CHANGE note in full (paragraphs kept), each once. */
  notes: string[];
  /** Set when the commit undoes another one. */
  revert?: { header: string; hash?: string; suffix: string };
  body: string;
}

// `feat!(api):` is a common slip for `feat(api)!:`; both mean breaking.
const HEADER = /^(\w+)(!)?(?:\(([^()]*)\))?(!)?: *(\S.*)$/;
const NOTE = /^BREAKING[ -]CHANGES?:[ \t]*/;
// A footer starts with `Token: ` or `Token #`; it ends the note before it (spec, point 10).
const FOOTER = /^(?:[A-Za-z][\w-]*(?:: | #)|BREAKING[ -]CHANGES?:)/;
const GIT_REVERT = /^Revert "(.*)"(.*)$/;
const ANGULAR_REVERT = /^revert:\s*"?(.*?)"?(\s*\(#\d+\))?$/i;
const REVERTS_HASH = /This reverts commit ([0-9a-f]{7,40})/i;

export function parseMessage(raw: string): ParsedMessage {
  const text = raw.replace(/\r\n?/g, '\n').replace(/\s+$/, '');
  const nl = text.indexOf('\n');
  const header = (nl < 0 ? text : text.slice(0, nl)).trim();
  const body = nl < 0 ? '' : text.slice(nl + 1).replace(/^\n+/, '');
  const notes = breakingNotes(body);
  const m = HEADER.exec(header);
  const revert = revertOf(header, body);
  const base = { header, notes, body, revert };
  if (!m) return { ...base, breaking: notes.length > 0 };
  return { ...base, type: m[1].toLowerCase(), scope: m[3]?.trim() || undefined, subject: m[5].trim(), breaking: Boolean(m[2] || m[4]) || notes.length > 0 };
}

function revertOf(header: string, body: string): ParsedMessage['revert'] {
  const m = GIT_REVERT.exec(header) ?? ANGULAR_REVERT.exec(header);
  if (!m) return undefined;
  return { header: m[1].trim(), hash: REVERTS_HASH.exec(body)?.[1]?.toLowerCase(), suffix: (m[2] ?? '').trim() };
}

function breakingNotes(body: string): string[] {
  const notes: string[] = [];
  let current: string[] | undefined;
  let fenced = false;
  const close = () => {
    if (current) notes.push(current.join('\n').replace(/\s+$/, ''));
    current = undefined;
  };
  for (const line of body.split('\n')) {
    if (!fenced && NOTE.test(line)) {
      close();
      current = [line.replace(NOTE, '')];
      continue;
    }
    if (current && !fenced && FOOTER.test(line)) close();
    if (current) {
      if (/^\s*```/.test(line)) fenced = !fenced;
      current.push(line.replace(/\s+$/, ''));
    }
  }
  close();
  const seen = new Set<string>();
  return notes
    .map((n) => n.replace(/\n{3,}/g, '\n\n').trim())
    .filter((n) => {
      // Whitespace-insensitive for notes of ordinary size; a huge note is compared as is (collapsing costs seconds).
      const key = n.length > 10_000 ? n : n.replace(/\s+/g, ' ').toLowerCase();
      if (!n || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}
