/**
 * A terminal control sequence: CSI (colours, cursor moves, erase-line), OSC (a title, a link) ended
 * by BEL or ST, or a two-character escape (`[` and `]` begin the first two). Bounded, so an endless one is plain text, not held forever.
 */
// eslint-disable-next-line no-control-regex -- control sequences are what it finds
const COMPLETE = /\x1b(?:\[[0-?]{0,64}[ -/]{0,16}[@-~]|\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)|[ -/]{0,16}[0-Z\\^-~])/y;
/** The beginning of one that the text ends in: more of it may come in the next chunk. */
// eslint-disable-next-line no-control-regex -- control sequences are what it finds
const PARTIAL = /\x1b(?:\[[0-?]{0,64}[ -/]{0,16}|\][^\x07\x1b]{0,4096}\x1b?|[ -/]{0,16})$/y;

/** Text as a terminal renders it, control sequences left out and each backspace applied, with where each of its characters is in the text. */
export interface Rendered {
  text: string;
  /** For each character of `text`, its index in the original text. */
  at: number[];
  /** Where a control sequence the text ends in the middle of starts (the text's length when none). */
  unfinished: number;
  /** The control sequences left out, as `[start, end)` in the text. */
  sequences: [number, number][];
}

/** `final`: nothing follows the text, so a control sequence it ends in the middle of is plain text. */
export function rendered(text: string, final: boolean): Rendered {
  let out = '';
  const at: number[] = [];
  const sequences: [number, number][] = [];
  let unfinished = text.length;
  for (let i = 0; i < text.length;) {
    if (text.charCodeAt(i) === 0x1b) {
      COMPLETE.lastIndex = i;
      if (COMPLETE.test(text)) {
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
    // A backspace takes back the character before it on its line: the next one is written over it.
    if (text.charCodeAt(i) === 0x08 && out !== '' && !out.endsWith('\n')) {
      out = out.slice(0, -1);
      at.pop();
      i++;
      continue;
    }
    out += text[i];
    at.push(i);
    i++;
  }
  return { text: out, at, unfinished, sequences };
}

/** The text's index where a range `[s, e)` of its rendering starts and ends: control sequences inside the range are part of it. */
export function originalRange(r: Rendered, s: number, e: number): [number, number] {
  return [r.at[s], r.at[e - 1] + 1];
}

/** `i`, or the start of the control sequence `i` falls inside of: a text cut there renders as it does whole. */
export function sequenceStart(r: Rendered, i: number): number {
  for (const [s, e] of r.sequences) if (s < i && i < e) return s;
  return i;
}
