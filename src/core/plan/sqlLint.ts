import { lineColumns, sqlStatements, type SqlDialect, type SqlToken } from './sqlStatements';

/** What a statement does that the version before the migration may not survive. */
export type SqlRule = 'drop-table' | 'drop-column' | 'rename' | 'change-type' | 'not-null' | 'truncate' | 'unfiltered-write';

export interface SqlFinding {
  rule: SqlRule;
  /** 1-based, at the statement's word that does it. */
  line: number;
  column: number;
  /** What the statement does, in words: "drops column users.email". */
  message: string;
}

type Hit = { rule: SqlRule; at: SqlToken; message: string };

const isWord = (t: SqlToken | undefined, ...words: string[]) => t?.kind === 'word' && words.includes(t.text);
const nameText = (t: SqlToken | undefined) => (t ? (t.kind === 'word' ? t.text.toLowerCase() : t.text) : '?');

/** A possibly qualified name starting at `i` (`a`, `"A"."b"`, `` `a`.`b` ``): its text and the index after it. */
function qualifiedName(ts: SqlToken[], i: number): { name: string; next: number } {
  const parts = [nameText(ts[i])];
  let j = i + 1;
  while (ts[j]?.text === '.' && ts[j + 1]) {
    parts.push(nameText(ts[j + 1]));
    j += 2;
  }
  return { name: parts.join('.'), next: j };
}

/** `i` past an `IF EXISTS` / `IF NOT EXISTS` / `ONLY` when one is there. */
function skipQualifiers(ts: SqlToken[], i: number): number {
  if (isWord(ts[i], 'IF') && isWord(ts[i + 1], 'EXISTS')) return skipQualifiers(ts, i + 2);
  if (isWord(ts[i], 'IF') && isWord(ts[i + 1], 'NOT') && isWord(ts[i + 2], 'EXISTS')) return skipQualifiers(ts, i + 3);
  if (isWord(ts[i], 'ONLY')) return skipQualifiers(ts, i + 1);
  return i;
}

/** Tokens cut at commas outside parentheses: the clauses of an ALTER TABLE. */
function clauses(ts: SqlToken[]): SqlToken[][] {
  const out: SqlToken[][] = [[]];
  let depth = 0;
  for (const t of ts) {
    if (t.text === '(' && t.kind === 'symbol') depth++;
    if (t.text === ')' && t.kind === 'symbol') depth--;
    if (depth === 0 && t.kind === 'symbol' && t.text === ',') out.push([]);
    else out.at(-1)!.push(t);
  }
  return out.filter((c) => c.length);
}

const NOT_A_COLUMN = ['CONSTRAINT', 'INDEX', 'KEY', 'PRIMARY', 'FOREIGN', 'CHECK', 'PARTITION', 'UNIQUE', 'FULLTEXT', 'SPATIAL', 'TRIGGER', 'SYSTEM'];

/** What one clause of `ALTER TABLE table …` does that the previous version may not survive. */
function alterClause(table: string, c: SqlToken[]): Hit[] {
  const hits: Hit[] = [];
  const first = c[0];
  if (isWord(first, 'DROP') && !isWord(c[1], ...NOT_A_COLUMN)) {
    const at = skipQualifiers(c, isWord(c[1], 'COLUMN') ? 2 : 1);
    hits.push({ rule: 'drop-column', at: first, message: `drops column ${table}.${nameText(c[at])}: the previous version may still read it` });
  }
  if (isWord(first, 'RENAME')) {
    if (isWord(c[1], 'TO', 'AS'))
      hits.push({ rule: 'rename', at: first, message: `renames table ${table} to ${nameText(c[2])}: the previous version reads it by its old name` });
    else if (!isWord(c[1], ...NOT_A_COLUMN)) {
      const from = isWord(c[1], 'COLUMN') ? 2 : 1;
      hits.push({ rule: 'rename', at: first, message: `renames column ${table}.${nameText(c[from])}: the previous version reads it by its old name` });
    }
  }
  if (isWord(first, 'CHANGE')) {
    const from = isWord(c[1], 'COLUMN') ? 2 : 1;
    hits.push({
      rule: 'change-type',
      at: first,
      message: `redefines column ${table}.${nameText(c[from])} (CHANGE: a new name or type the previous version may not read or write)`,
    });
  }
  if (isWord(first, 'MODIFY')) {
    const col = isWord(c[1], 'COLUMN') ? 2 : 1;
    hits.push({
      rule: 'change-type',
      at: first,
      message: `redefines column ${table}.${nameText(c[col])} (MODIFY: its type or nullability may no longer suit the previous version)`,
    });
  }
  if (isWord(first, 'ALTER')) {
    const colAt = isWord(c[1], 'COLUMN') ? 2 : 1;
    const col = nameText(c[colAt]);
    const type = c.findIndex((t, k) => k > colAt && isWord(t, 'TYPE'));
    if (type !== -1)
      hits.push({ rule: 'change-type', at: c[type], message: `changes the type of ${table}.${col}: the previous version may not read or write it` });
    const nn = c.findIndex((t, k) => isWord(t, 'SET') && isWord(c[k + 1], 'NOT') && isWord(c[k + 2], 'NULL'));
    if (nn !== -1) hits.push({ rule: 'not-null', at: c[nn], message: `sets ${table}.${col} NOT NULL: an insert from the previous version without it fails` });
  }
  if (isWord(first, 'ADD') && !isWord(c[1], ...NOT_A_COLUMN)) {
    const notNull = c.findIndex((t, k) => isWord(t, 'NOT') && isWord(c[k + 1], 'NULL'));
    const hasDefault = c.some((t) => isWord(t, 'DEFAULT', 'GENERATED', 'AUTO_INCREMENT', 'SERIAL', 'BIGSERIAL', 'SMALLSERIAL'));
    if (notNull !== -1 && !hasDefault) {
      const col = nameText(c[skipQualifiers(c, isWord(c[1], 'COLUMN') ? 2 : 1)]);
      hits.push({ rule: 'not-null', at: c[notNull], message: `adds ${table}.${col} NOT NULL without a DEFAULT: an insert from the previous version fails` });
    }
  }
  return hits;
}

function statementHits(ts: SqlToken[]): Hit[] {
  const [a, b] = ts;
  if (isWord(a, 'DROP') && isWord(b, 'TABLE', 'SCHEMA', 'DATABASE', 'VIEW')) {
    const at = skipQualifiers(ts, 2);
    const names: string[] = [];
    for (let i = at; i < ts.length;) {
      const n = qualifiedName(ts, i);
      names.push(n.name);
      if (ts[n.next]?.text !== ',') break;
      i = n.next + 1;
    }
    return [{ rule: 'drop-table', at: a, message: `drops ${b.text.toLowerCase()} ${names.join(', ')}: the previous version may still read it` }];
  }
  if (isWord(a, 'DROP') && isWord(b, 'MATERIALIZED'))
    return [
      {
        rule: 'drop-table',
        at: a,
        message: `drops materialized view ${qualifiedName(ts, skipQualifiers(ts, 3)).name}: the previous version may still read it`,
      },
    ];
  if (isWord(a, 'TRUNCATE')) {
    const at = skipQualifiers(ts, isWord(b, 'TABLE') ? 2 : 1);
    return [{ rule: 'truncate', at: a, message: `truncates ${qualifiedName(ts, at).name}: its rows are gone, for this version and the previous one` }];
  }
  if (isWord(a, 'RENAME') && isWord(b, 'TABLE'))
    return [{ rule: 'rename', at: a, message: `renames table ${qualifiedName(ts, 2).name}: the previous version reads it by its old name` }];
  if (isWord(a, 'ALTER') && isWord(b, 'TABLE')) {
    const t = qualifiedName(ts, skipQualifiers(ts, 2));
    const rest = ts.slice(t.next + (ts[t.next]?.text === '*' ? 1 : 0));
    return clauses(rest).flatMap((c) => alterClause(t.name, c));
  }
  const withWhere = () => {
    let depth = 0;
    return ts.some((t) => {
      if (t.kind === 'symbol') depth += t.text === '(' ? 1 : t.text === ')' ? -1 : 0;
      return depth === 0 && isWord(t, 'WHERE');
    });
  };
  if (isWord(a, 'DELETE') && !withWhere()) {
    const from = isWord(b, 'FROM') ? 2 : 1;
    return [{ rule: 'unfiltered-write', at: a, message: `deletes every row of ${qualifiedName(ts, skipQualifiers(ts, from)).name} (no WHERE)` }];
  }
  if (isWord(a, 'UPDATE') && !withWhere())
    return [{ rule: 'unfiltered-write', at: a, message: `updates every row of ${qualifiedName(ts, skipQualifiers(ts, 1)).name} (no WHERE)` }];
  return [];
}

/**
 * The statements of a migration script that the version before it may not run on, or that lose
 * data: DROP TABLE/COLUMN, renames, type changes, NOT NULL without a default, TRUNCATE, and
 * DELETE/UPDATE without WHERE. Words inside strings, dollar-quoted bodies and comments are not read.
 */
export function lintSql(text: string, dialect: SqlDialect = 'postgres'): SqlFinding[] {
  const at = lineColumns(text);
  return sqlStatements(text, dialect).flatMap((s) => statementHits(s.tokens).map((h) => ({ rule: h.rule, ...at(h.at.offset), message: h.message })));
}
