// The plan's characters before YAML reads them: bytes that are not UTF-8 and characters no one sees
// (a bare CR, a NUL, a control character, a line separator, a BOM inside the file, a tab or a
// no-break space that indents) are refused here, each with its line, column and what to do, rather
// than surfacing as a YAML error about something else.

/** Where a character of the text is, in the lines YAML and the problems count (LF ends a line). */
export interface TextSpot {
  /** 0-based offset in the text. */
  offset: number;
  message: string;
}

/** Spaces that look like a space but that YAML does not indent with. */
const LOOKALIKE_SPACES = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/;
// One pass finds the first of each kind: C0 controls but TAB, LF and CR; DEL and the C1 controls;
// the two Unicode line ends YAML does not break on; a BOM; a CR (bare or not, told apart below).
// eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
const SUSPECT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufeff\r]/g;

const hex = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * The invisible characters of a plan's text (its leading BOM already removed), first of each kind,
 * in the order they appear. `lineCol` turns an offset into the 1-based line and column YAML reports.
 * A tab before a line's first visible character is named only when YAML could not read the text
 * (`yamlFailed`): inside a block scalar it is the command's own text.
 */
export function invisibleCharacters(text: string, lineCol: (offset: number) => { line: number; col: number }, yamlFailed: boolean): TextSpot[] {
  const found = new Map<string, TextSpot>();
  const add = (kind: string, offset: number, message: (line: number, col: number) => string) => {
    if (found.has(kind)) return;
    const { line, col } = lineCol(offset);
    found.set(kind, { offset, message: message(line, col) });
  };
  for (const m of text.matchAll(SUSPECT)) {
    const c = m[0];
    const i = m.index;
    if (c === '\r') {
      if (text[i + 1] !== '\n') add('cr', i, (line) => `a bare carriage return (CR) ends line ${line}: save the file with LF or CRLF line endings`);
    } else if (c === '\u0000')
      add('nul', i, (line, col) => `a NUL character (U+0000) is at line ${line}, column ${col}: the file may be UTF-16 or binary; save it as UTF-8 text`);
    else if (c === '\u2028' || c === '\u2029') {
      const what = c === '\u2028' ? 'a line separator' : 'a paragraph separator';
      add(c, i, (line, col) => `${what} (${hex(c)}) is at line ${line}, column ${col}: YAML does not end a line there; use a line break (LF)`);
    } else if (c === '\ufeff')
      add('bom', i, (line, col) => `a byte order mark (U+FEFF) is at line ${line}, column ${col}: only the file's first character may be one; remove it`);
    else add('control', i, (line, col) => `an invisible control character (${hex(c)}) is at line ${line}, column ${col}: remove it`);
  }
  // Indentation: a space lookalike (or, in a text YAML could not read, a tab) before a line's first visible character.
  for (const m of text.matchAll(/^[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+(?=\S)/gm)) {
    const at = m[0].search(LOOKALIKE_SPACES);
    const tab = m[0].indexOf('\t');
    if (at >= 0) {
      const c = m[0][at];
      const name = c === '\u00a0' ? 'a no-break space' : 'a space lookalike';
      add('indent', m.index + at, (line) => `${name} (${hex(c)}) indents line ${line}: YAML indents with plain spaces only; replace it with spaces`);
    } else if (tab >= 0 && yamlFailed) add('indent', m.index + tab, tabIndentMessage);
  }
  return [...found.values()].sort((a, b) => a.offset - b.offset);
}

/** YAML's own error for a tab that indents, in the same words as the rest. */
export function tabIndentMessage(line: number): string {
  return `a tab indents line ${line}: YAML indents with spaces only; replace the tab with spaces`;
}

/** The first byte offset where `buf` is not well-formed UTF-8 (overlong forms and surrogates included), or -1. */
export function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    let n: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else return i;
    if (i + n >= buf.length) return i;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/** Where the first byte that is not UTF-8 is, as line, column and a message. */
export function notUtf8Spot(input: Uint8Array, bad: number): { line: number; column: number; message: string } {
  const before = input.subarray(0, bad);
  const line = before.filter((b) => b === 0x0a).length + 1;
  const column = bad - before.lastIndexOf(0x0a);
  return { line, column, message: `the plan is not valid UTF-8 (byte 0x${input[bad].toString(16).padStart(2, '0')} at offset ${bad})` };
}
