/**
 * A terminal control sequence: CSI (colours, cursor moves, erase-line), OSC (a title, a link) ended
 * by BEL or ST, or a two-character escape (`[` and `]` begin the first two). Bounded, so an endless one is plain text, not held forever.
 */
// eslint-disable-next-line no-control-regex -- control sequences are what it finds
const COMPLETE = /\x1b(?:\[[0-?]{0,64}[ -/]{0,16}[@-~]|\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)|[ -/]{0,16}[0-Z\\^-~])/y;
/** The beginning of one that the text ends in: more of it may come in the next chunk. */
// eslint-disable-next-line no-control-regex -- control sequences are what it finds
const PARTIAL = /\x1b(?:\[[0-?]{0,64}[ -/]{0,16}|\][^\x07\x1b]{0,4096}\x1b?|[ -/]{0,16})$/y;

/**
 * Text as a terminal renders it, with where each of its characters is in the text. Control sequences
 * are left out; the cursor moves a terminal applies on one line are applied (a backspace, `\r` to the
 * line's start, CSI n D / C / G), so what is written after one overwrites what was there.
 */
export interface Rendered {
  text: string;
  /** For each character of `text`, its index in the original text (the last write to that cell). */
  at: number[];
  /** Where a control sequence the text ends in the middle of starts (the text's length when none). */
  unfinished: number;
  /** The control sequences left out, as `[start, end)` in the text. */
  sequences: [number, number][];
}

/** A cursor move on the current line: left (D), right (C, never past the line's end) or to a column (G, 1-based). */
// eslint-disable-next-line no-control-regex -- control sequences are what it reads
const MOVE = /^\x1b\[(\d{0,9})([DCG])$/;

/** `final`: nothing follows the text, so a control sequence it ends in the middle of is plain text. */
export function rendered(text: string, final: boolean): Rendered {
  const cells: string[] = [];
  const at: number[] = [];
  const sequences: [number, number][] = [];
  let unfinished = text.length;
  let lineStart = 0;
  let col = 0;
  const lineLength = () => cells.length - lineStart;
  for (let i = 0; i < text.length;) {
    const c = text.charCodeAt(i);
    if (c === 0x1b) {
      COMPLETE.lastIndex = i;
      if (COMPLETE.test(text)) {
        const move = MOVE.exec(text.slice(i, COMPLETE.lastIndex));
        if (move) {
          const n = Math.max(1, Number(move[1] || '1'));
          if (move[2] === 'D') col = Math.max(0, col - n);
          else if (move[2] === 'C') col = Math.min(lineLength(), col + n);
          else col = Math.min(lineLength(), n - 1);
        }
        sequences.push([i, COMPLETE.lastIndex]);
        i = COMPLETE.lastIndex;
        continue;
      }
      PARTIAL.lastIndex = i;
      if (!final && PARTIAL.test(text)) {
        unfinished = i;
        break;
      }
    }
    if (c === 0x0a) {
      // A new line: output reaches a terminal through a tty that starts it at column 0.
      cells.push('\n');
      at.push(i);
      lineStart = cells.length;
      col = 0;
    } else if (c === 0x0d) col = 0;
    else if (c === 0x08) col = Math.max(0, col - 1);
    else {
      const cell = lineStart + col;
      if (cell < cells.length) {
        cells[cell] = text[i];
        at[cell] = i;
      } else {
        cells.push(text[i]);
        at.push(i);
      }
      col++;
    }
    i++;
  }
  return { text: cells.join(''), at, unfinished, sequences };
}

/** The text's index where a range `[s, e)` of its rendering starts and ends: what lies between its characters (control sequences, overwritten text) is part of it. */
export function originalRange(r: Rendered, s: number, e: number): [number, number] {
  let lo = Infinity;
  let hi = -1;
  for (let k = s; k < e; k++) {
    lo = Math.min(lo, r.at[k]);
    hi = Math.max(hi, r.at[k]);
  }
  return [lo, hi + 1];
}

/** The earliest index in the text of a character the rendering shows from `k` on (the text's length when none). */
export function earliestFrom(r: Rendered, k: number, length: number): number {
  let lo = length;
  for (let j = k; j < r.at.length; j++) lo = Math.min(lo, r.at[j]);
  return lo;
}

/** `i`, or the start of the control sequence `i` falls inside of: a text cut there renders as it does whole. */
export function sequenceStart(r: Rendered, i: number): number {
  for (const [s, e] of r.sequences) if (s < i && i < e) return s;
  return i;
}
