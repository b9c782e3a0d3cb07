import type { TableMark } from '../../model/events';
import type { DbWrites } from '../../model/schema-database';
import { runProgram, runShort, type ShortOptions, type ShortResult } from '../../exec/short';

/** One table as the catalog says now: its name, the integer key it is counted by ('' when none), its columns in order. */
export interface Table {
  name: string;
  key: string;
  columns: string[];
}

/** How one database is read: its tables, one query over all of them, and each table's content fingerprint. */
export interface Reader {
  tables(): Promise<Table[]>;
  /** Rows of tab- or unit-separated fields for one SQL text. */
  query(sql: string): Promise<string[][]>;
  quote(name: string): string;
  /** A scalar SQL expression: a hash over every row of the table (or those `where` keeps), read in the given columns (text, '' for no rows). */
  fingerprint(t: Table, columns: string[], where?: string): string;
  /** One SQL text printing the fingerprint of the rows `where` keeps, comparable with the marked one: the same when those rows are as marked. */
  partialSum(t: Table, columns: string[], where: string): string;
  /** A scalar SQL expression: one row of the table as a JSON object of its columns (a bigint exact, control characters escaped: one line). */
  json(columns: string[]): string;
}

/** A `database.writes` measure: in all and per table (tables with none left out). */
export interface WritesCount {
  total: number;
  tables: Record<string, number>;
  /**
   * True when some changed table's writes were estimated (from keys and rows): the total is then a
   * lower bound ("at least"). A count of 0 is never estimated: every table was proven unchanged.
   */
  atLeast?: boolean;
}

/** Whether the count proves that a restore discards nothing: every table's content is what it was at the marks. */
export const provenNone = (w: WritesCount | undefined): boolean => w !== undefined && w.total === 0 && !w.atLeast;

export interface DbEnv {
  cwd: string;
  /** Resolves plan references (`${env:…}`, `${backup.path}`). */
  resolve: (text: string) => string;
  /** The environment steps get. */
  env: Record<string, string | undefined>;
  signal?: AbortSignal;
}

const TIMEOUT_MS = 60_000;
const SEP = '\x1f';

function ok(r: ShortResult, what: string): string {
  if (r.exitCode === 0) return r.stdout;
  const why =
    r.spawnError ??
    (r.timedOut ? `timed out after ${TIMEOUT_MS / 1000} s` : r.stderr.trim().split('\n').slice(-3).join(' ') || `exit ${r.exitCode ?? r.signal}`);
  throw new Error(`${what}: ${why}`);
}

const rows = (out: string, sep: string) =>
  out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(sep));

export const dq = (n: string) => `"${n.replace(/"/g, '""')}"`;
export const sq = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** A JSON array of names from the catalog (a table's columns); anything else is an empty list. */
function names(text: string | undefined): string[] {
  try {
    const v = JSON.parse(text ?? '[]') as unknown;
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

function sqliteReader(file: string, e: DbEnv): Reader {
  const opts: ShortOptions = { cwd: e.cwd, timeoutMs: TIMEOUT_MS, signal: e.signal, env: e.env };
  const query = async (sql: string) =>
    rows(ok(await runProgram('sqlite3', ['-readonly', '-batch', '-noheader', '-separator', SEP, file, sql], opts), `sqlite3 ${file}`), SEP);
  return {
    query,
    quote: dq,
    // SHA3 hashes the query's text too: the same text is read from a temporary table of the kept rows, which the name finds first.
    partialSum: (t, cols, where) =>
      `CREATE TEMP TABLE ${dq(t.name)} (${cols.map(dq).join(', ')}); INSERT INTO temp.${dq(t.name)} (rowid, ${cols.map(dq).join(', ')}) SELECT rowid, ${cols.map(dq).join(', ')} FROM main.${dq(t.name)} WHERE ${where} ORDER BY rowid; SELECT COALESCE(hex(sha3_query(${sq(`SELECT ${cols.map(dq).join(', ')} FROM ${dq(t.name)} ORDER BY rowid`)})), '')`,
    // The shell's sha3_query: SHA3 over every row's values and their types, in rowid order.
    json: (cols) => `json_object(${cols.map((c) => `${sq(c)}, ${dq(c)}`).join(', ')})`,
    fingerprint: (t, cols, where) =>
      `COALESCE(hex(sha3_query(${sq(`SELECT ${cols.map(dq).join(', ')} FROM ${dq(t.name)}${where ? ` WHERE ${where}` : ''} ORDER BY ${t.key === 'rowid' ? 'rowid' : cols.map((_, i) => i + 1).join(', ')}`)})), '')`,
    tables: async () => {
      const t = await query(
        "SELECT name, COALESCE((SELECT 1 FROM sqlite_master s WHERE s.name = m.name AND lower(s.sql) LIKE '%without rowid%'), 0), (SELECT json_group_array(c.name) FROM (SELECT name FROM pragma_table_info(m.name) ORDER BY cid) c) FROM sqlite_master m WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      );
      // A table without rowid is counted by its rows alone.
      return t.map(([name, noRowid, cols]) => ({ name, key: noRowid === '1' ? '' : 'rowid', columns: names(cols) }));
    },
  };
}

/** The URL taken apart into libpq's variables: a password in it never reaches a command line. */
export function pgEnv(url: string): Record<string, string> {
  const u = new URL(url);
  const env: Record<string, string> = {};
  if (u.hostname) env.PGHOST = decodeURIComponent(u.hostname.replace(/^\[|\]$/g, ''));
  if (u.port) env.PGPORT = u.port;
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (db) env.PGDATABASE = db;
  for (const [k, v] of u.searchParams) if (k === 'sslmode') env.PGSSLMODE = v;
  return env;
}

function postgresReader(url: string, e: DbEnv): Reader {
  const opts: ShortOptions = { cwd: e.cwd, timeoutMs: TIMEOUT_MS, signal: e.signal, env: { ...e.env, ...pgEnv(url), PGCONNECT_TIMEOUT: '10' } };
  const query = async (sql: string) =>
    rows(ok(await runProgram('psql', ['-X', '-q', '-A', '-t', '-F', SEP, '-v', 'ON_ERROR_STOP=1', '-c', sql], opts), 'psql'), SEP);
  return {
    query,
    quote: (n) => n.split('.').map(dq).join('.'),
    partialSum(t, cols, where) {
      return `SELECT ${this.fingerprint(t, cols, where)}`;
    },
    json: (cols) => `(SELECT row_to_json(x)::text FROM (SELECT ${cols.map(dq).join(', ')}) x)`,
    // Every row's MD5, its two 64-bit halves summed apart: the same rows give the same sums whatever their order, with no sort.
    fingerprint: (t, cols, where) => {
      const half = (from: number) => `sum(('x' || substr(h, ${from}, 16))::bit(64)::bigint::numeric)::text`;
      return `(SELECT COALESCE(${half(1)} || '.' || ${half(17)}, '') FROM (SELECT md5(ROW(${cols.map(dq).join(', ')})::text) AS h FROM ${t.name.split('.').map(dq).join('.')}${where ? ` WHERE ${where}` : ''}) d)`;
    },
    tables: async () => {
      const t = await query(
        `SELECT CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END,
                COALESCE((SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
                          WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1 AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)), ''),
                (SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND NOT c.relispartition
         ORDER BY 1`,
      );
      return t.map(([name, key, cols]) => ({ name, key: key ?? '', columns: names(cols) }));
    },
  };
}

export const bq = (n: string) => `\`${n.replace(/`/g, '``')}\``;

/** The client's arguments and environment for one MySQL or MariaDB database: the password only in MYSQL_PWD. */
export function mysqlClient(m: NonNullable<DbWrites['mysql']>, e: DbEnv): { args: string[]; env: Record<string, string | undefined> } {
  // Raw: a JSON text keeps its own escapes, one row a line.
  const args = ['--batch', '--raw', '--skip-column-names', '--connect-timeout=10', '--default-character-set=utf8mb4'];
  if (m.socket) args.push(`--socket=${e.resolve(m.socket)}`, '--protocol=SOCKET');
  if (m.host) args.push(`--host=${e.resolve(m.host)}`, '--protocol=TCP');
  if (m.port) args.push(`--port=${m.port}`);
  if (m.user) args.push(`--user=${e.resolve(m.user)}`);
  args.push(`--database=${e.resolve(m.database)}`);
  return { args, env: { ...e.env, ...(m.password ? { MYSQL_PWD: e.resolve(m.password) } : {}) } };
}

function mysqlReader(m: NonNullable<DbWrites['mysql']>, e: DbEnv): Reader {
  const { args, env } = mysqlClient(m, e);
  const opts: ShortOptions = { cwd: e.cwd, timeoutMs: TIMEOUT_MS, signal: e.signal, env };
  // MariaDB's client, or MySQL's where only it is installed.
  const query = async (sql: string) => {
    let r = await runProgram('mariadb', [...args, '-e', sql], opts);
    if (r.spawnError && /ENOENT/.test(r.spawnError)) r = await runProgram('mysql', [...args, '-e', sql], opts);
    return rows(ok(r, 'the mariadb client'), '\t');
  };
  return {
    query,
    quote: bq,
    partialSum(t, cols, where) {
      return `SELECT ${this.fingerprint(t, cols, where)}`;
    },
    // Every row's MD5 over its values as JSON, its two 64-bit halves summed apart (no sort, no length limit).
    json: (cols) => `JSON_OBJECT(${cols.map((c) => `${sq(c)}, ${bq(c)}`).join(', ')})`,
    fingerprint: (t, cols, where) => {
      const half = (from: number) => `SUM(CAST(CONV(SUBSTR(h, ${from}, 16), 16, 10) AS DECIMAL(65)))`;
      return `(SELECT COALESCE(CONCAT(${half(1)}, '.', ${half(17)}), '') FROM (SELECT MD5(JSON_ARRAY(${cols.map(bq).join(', ')})) AS h FROM ${bq(t.name)}${where ? ` WHERE ${where}` : ''}) d)`;
    },
    tables: async () => {
      const t = await query(
        `SELECT t.TABLE_NAME, IF(COUNT(c.COLUMN_NAME) = 1 AND MAX(c.DATA_TYPE) IN ('tinyint','smallint','mediumint','int','bigint'), MAX(c.COLUMN_NAME), ''),
                (SELECT JSON_ARRAYAGG(a.COLUMN_NAME ORDER BY a.ORDINAL_POSITION) FROM information_schema.COLUMNS a WHERE a.TABLE_SCHEMA = t.TABLE_SCHEMA AND a.TABLE_NAME = t.TABLE_NAME)
         FROM information_schema.TABLES t LEFT JOIN information_schema.COLUMNS c
           ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.COLUMN_KEY = 'PRI'
         WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' GROUP BY t.TABLE_NAME ORDER BY t.TABLE_NAME`,
      );
      return t.map(([name, key, cols]) => ({ name, key: key ?? '', columns: names(cols) }));
    },
  };
}

export function reader(w: DbWrites, e: DbEnv): Reader | undefined {
  if (w.sqlite !== undefined) return sqliteReader(e.resolve(w.sqlite), e);
  if (w.postgres) return postgresReader(e.resolve(w.postgres.url), e);
  if (w.mysql) return mysqlReader(w.mysql, e);
  return undefined;
}

/** A count read back, or undefined for NULL however the client prints it (empty, \N or NULL). */
const int = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
export const keyExpr = (r: Reader, t: Table) => (t.key === 'rowid' ? 'rowid' : t.key ? r.quote(t.key) : '');

/**
 * Each table's rows, highest integer key, columns and content fingerprint, now, in one query: the
 * marks a later count compares with. A command takes its own marks.
 */
export async function takeMarks(w: DbWrites, e: DbEnv): Promise<Record<string, TableMark>> {
  const r = reader(w, e);
  if (!r) return {};
  const tables = await r.tables();
  if (tables.length === 0) return {};
  const sql = tables
    .map((t, i) => `SELECT ${i}, count(*), ${t.key ? `max(${keyExpr(r, t)})` : 'NULL'}, ${r.fingerprint(t, t.columns)} FROM ${r.quote(t.name)}`)
    .join(' UNION ALL ');
  const out: Record<string, TableMark> = {};
  for (const [i, n, max, sum] of await r.query(sql)) {
    const t = tables[Number(i)];
    // Kept as text, exactly: only an integer is ever put back into a query.
    const maxId = max !== undefined && /^-?\d{1,20}$/.test(max) ? max : undefined;
    out[t.name] = { rows: Number(n), ...(maxId !== undefined ? { maxId } : {}), columns: t.columns, sum: sum ?? '' };
  }
  return out;
}

/** A column made since the marks: it is the schema's own fill while it holds one value in every row (its default). */
const newColumnWritten = (r: Reader, t: Table, c: string) =>
  `CASE WHEN (SELECT count(*) FROM (SELECT DISTINCT ${r.quote(c)} FROM ${r.quote(t.name)}) v) > 1 THEN 1 ELSE 0 END`;

/**
 * The writes since the marks. A table is proven unchanged when its marked columns' fingerprint is the
 * marked one and every column made since holds one value: 0 writes. A changed table counts at least
 * 1: the rows added above the marked highest key plus the marked rows gone, or how far its row count
 * moved, when larger; the total is then "at least". A table made since counts every row; a marked
 * table gone, every marked row (at least 1). A command prints the total itself.
 */
export async function countWrites(w: DbWrites, marks: Record<string, TableMark>, e: DbEnv): Promise<WritesCount> {
  if (w.command !== undefined) {
    const r = await runShort(e.resolve(w.command), { cwd: e.cwd, timeoutMs: TIMEOUT_MS, signal: e.signal, env: e.env });
    const out = ok(r, 'the writes command').trim();
    if (!/^\d+$/.test(out) || !Number.isSafeInteger(Number(out)))
      throw new Error(`the writes command printed "${out.slice(0, 80)}", expected one integer (the writes since the backup)`);
    return { total: Number(out), tables: {} };
  }
  const r = reader(w, e)!;
  const tables = await r.tables();
  const out: Record<string, number> = {};
  let total = 0;
  let atLeast = false;
  const add = (name: string, n: number, estimated: boolean) => {
    if (n > 0) out[name] = n;
    total += n;
    atLeast ||= estimated && n > 0;
  };
  const now = new Set(tables.map((t) => t.name));
  for (const [name, m] of Object.entries(marks)) if (!now.has(name)) add(name, Math.max(1, m.rows), true);
  if (tables.length === 0) return { total, tables: out, ...(atLeast ? { atLeast } : {}) };
  const sql = tables
    .map((t, i) => {
      const m = marks[t.name];
      const k = keyExpr(r, t);
      const above = m?.maxId !== undefined && /^-?\d{1,20}$/.test(m.maxId) && k ? `(SELECT count(*) FROM ${r.quote(t.name)} WHERE ${k} > ${m.maxId})` : 'NULL';
      // The fingerprint over the marked columns, when every one is still there; else the table changed.
      const marked = m?.columns ?? [];
      const kept = marked.length > 0 && marked.every((c) => t.columns.includes(c));
      const sum = m?.sum !== undefined && kept ? r.fingerprint(t, marked) : 'NULL';
      const added = kept ? t.columns.filter((c) => !marked.includes(c)).map((c) => newColumnWritten(r, t, c)) : [];
      return `SELECT ${i}, count(*), ${above}, ${sum}, ${added.length ? added.join(' + ') : '0'} FROM ${r.quote(t.name)}`;
    })
    .join(' UNION ALL ');
  for (const [i, n, aboveText, sum, addedText] of await r.query(sql)) {
    const name = tables[Number(i)].name;
    const m = marks[name];
    const rows = Number(n);
    if (!m) {
      // Made since the marks: every row is a write; an empty table holds none.
      add(name, rows, false);
      continue;
    }
    if (m.sum !== undefined && sum === m.sum && Number(addedText) === 0) continue;
    const above = int(aboveText);
    const estimate = above !== undefined ? above + Math.max(0, m.rows - (rows - above)) : Math.abs(rows - m.rows);
    // Marks without a fingerprint prove nothing: their estimate stands, as a lower bound.
    add(name, m.sum === undefined ? estimate : Math.max(1, estimate), true);
    if (m.sum === undefined) atLeast = true;
  }
  return { total, tables: out, ...(atLeast ? { atLeast } : {}) };
}

/** "at least 3 writes (orders: 2, users: 1)": the count a person decides a restore on. */
export function writesText(w: WritesCount): string {
  const n = w.total;
  const per = Object.entries(w.tables)
    .sort((a, b) => b[1] - a[1])
    .map(([t, k]) => `${t}: ${k}`);
  return `${w.atLeast ? 'at least ' : ''}${n} write${n === 1 ? '' : 's'}${per.length ? ` (${per.join(', ')})` : ''}`;
}
