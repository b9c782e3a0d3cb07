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
/** A MySQL/MariaDB executable comment's opening: `/*!`, `/*M!`, with an optional version. */
const EXEC_COMMENT = /\/\*M?![0-9]*/y;

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

/** Whose rules a script's strings follow: a backslash escapes in every MySQL/MariaDB string, and only in E'…' in PostgreSQL. */
export type SqlDialect = 'postgres' | 'mysql';

/**
 * The statements of a PostgreSQL or MySQL/MariaDB script, split at semicolons outside strings
 * ('…', E'…', "…", `…`), dollar-quoted bodies ($$…$$, $tag$…$tag$) and comments (--, nested block
 * comments) by PostgreSQL's rules, or by MySQL/MariaDB's (a backslash escapes in strings, "…" is a
 * string, `#` and `-- ` are comments, block comments do not nest, and an executable comment, slash-star-bang, is read as code). A byte-order mark is skipped; offsets stay those of the text given.
 */
export function sqlStatements(text: string, dialect: SqlDialect = 'postgres'): SqlStatement[] {
  const mysql = dialect === 'mysql';
  let execOpen = 0;
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
    } else if ((ch === '-' && next === '-' && (!mysql || i + 2 >= text.length || text.charCodeAt(i + 2) <= 0x20)) || (mysql && ch === '#')) {
      // MySQL/MariaDB: `--` starts a comment only before a blank or a control character (`1--1` is arithmetic),
      // and `#` is a comment; in PostgreSQL `#` is an operator.
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl + 1;
    } else if (mysql && ch === '/' && next === '*' && (EXEC_COMMENT.lastIndex = i) >= 0 && EXEC_COMMENT.test(text)) {
      // Executable comments (slash-star-bang, slash-star-M-bang) are run by MySQL/MariaDB: their text is read as statements, the closing `*/` skipped.
      i = EXEC_COMMENT.lastIndex;
      execOpen++;
    } else if (execOpen > 0 && ch === '*' && next === '/') {
      execOpen--;
      i += 2;
    } else if (ch === '/' && next === '*') {
      // PostgreSQL nests block comments; MySQL/MariaDB end one at the first `*/`.
      let depth = 1;
      i += 2;
      while (i < text.length && depth > 0) {
        if (!mysql && text[i] === '/' && text[i + 1] === '*') {
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
      // A backslash escapes in E'' strings; in a plain PostgreSQL string (standard_conforming_strings) it is a
      // character, and in a MySQL/MariaDB string it escapes (unless NO_BACKSLASH_ESCAPES, which we do not assume).
      i = pastQuote(text, open + 1, "'", mysql || open !== i);
      tokens.push({ kind: 'string', text: text.slice(start, i), offset: start });
    } else if (mysql && ch === '"') {
      // MySQL/MariaDB (without ANSI_QUOTES): a double-quoted text is a string, and a backslash escapes in it.
      const start = i;
      i = pastQuote(text, i + 1, ch, true);
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
    } else if (!mysql && ch === '$' && (DOLLAR_TAG.lastIndex = i) >= 0 && DOLLAR_TAG.test(text)) {
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
