/** One token of SQL: a word (keyword or bare identifier), a quoted identifier, a literal, or a symbol. */
export interface SqlToken {
  kind: 'word' | 'ident' | 'string' | 'number' | 'symbol';
  /** Words upper-cased; identifiers unquoted; strings and numbers as written. */
  text: string;
  /** 0-based offset of its first character in the text. */
  offset: number;
}

/** One statement: its tokens (comments dropped), where it starts. */
export interface SqlStatement {
  tokens: SqlToken[];
  offset: number;
}

const WORD = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/y;
const NUMBER = /[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?/y;
const DOLLAR_TAG = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;

/** The offset just past a quoted run that ends with `quote` (a doubled quote stays inside; backslashes escape when `backslash`). */
function pastQuote(text: string, from: number, quote: string, backslash: boolean): number {
  let i = from;
  while (i < text.length) {
    const ch = text[i];
    if (backslash && ch === '\\') i += 2;
    else if (ch === quote) {
      if (text[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return text.length;
}

/**
 * The statements of a PostgreSQL or MySQL/MariaDB script, split at semicolons outside strings
 * ('…', E'…', "…", `…`), dollar-quoted bodies ($$…$$, $tag$…$tag$) and comments (--, #, nested
 * block comments). A byte-order mark is skipped; offsets stay those of the text given.
 */
export function sqlStatements(text: string): SqlStatement[] {
  const out: SqlStatement[] = [];
  let tokens: SqlToken[] = [];
  const flush = () => {
    if (tokens.length) out.push({ tokens, offset: tokens[0].offset });
    tokens = [];
  };
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    const ch = text[i];
    const next = text[i + 1];
    if (/\s/.test(ch)) {
      i++;
    } else if ((ch === '-' && next === '-') || ch === '#') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl + 1;
    } else if (ch === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < text.length && depth > 0) {
        if (text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (ch === ';') {
      flush();
      i++;
    } else if (ch === "'" || ((ch === 'E' || ch === 'e') && next === "'")) {
      const start = i;
      const open = ch === "'" ? i : i + 1;
      // A backslash escapes in E'' strings; in a plain string (standard_conforming_strings) it is a character.
      i = pastQuote(text, open + 1, "'", open !== i);
      tokens.push({ kind: 'string', text: text.slice(start, i), offset: start });
    } else if (ch === '"' || ch === '`') {
      const start = i;
      i = pastQuote(text, i + 1, ch, false);
      tokens.push({
        kind: 'ident',
        text: text
          .slice(start + 1, i - 1)
          .split(ch + ch)
          .join(ch),
        offset: start,
      });
    } else if (ch === '$' && (DOLLAR_TAG.lastIndex = i) >= 0 && DOLLAR_TAG.test(text)) {
      const tag = text.slice(i, DOLLAR_TAG.lastIndex);
      const end = text.indexOf(tag, DOLLAR_TAG.lastIndex);
      const stop = end === -1 ? text.length : end + tag.length;
      tokens.push({ kind: 'string', text: text.slice(i, stop), offset: i });
      i = stop;
    } else if ((WORD.lastIndex = i) >= 0 && WORD.test(text)) {
      tokens.push({ kind: 'word', text: text.slice(i, WORD.lastIndex).toUpperCase(), offset: i });
      i = WORD.lastIndex;
    } else if ((NUMBER.lastIndex = i) >= 0 && NUMBER.test(text)) {
      tokens.push({ kind: 'number', text: text.slice(i, NUMBER.lastIndex), offset: i });
      i = NUMBER.lastIndex;
    } else {
      tokens.push({ kind: 'symbol', text: ch, offset: i });
      i++;
    }
  }
  flush();
  return out;
}

/** The 1-based line and column of offsets in one text (a CRLF counts as one line end; a byte-order mark takes no column). */
export function lineColumns(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo] + 1 - (lo === 0 ? bom : 0) };
  };
}
