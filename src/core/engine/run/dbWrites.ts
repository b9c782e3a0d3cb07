import type { TableMark } from '../../model/events';
import type { DbWrites } from '../../model/schema-database';
import { runProgram, runShort, type ShortOptions, type ShortResult } from '../../exec/short';

/** How one database is read: its tables with their integer key, and one query over all of them. */
interface Reader {
  /** Each table's name and its single integer key column ('' when it has none). */
  tables(): Promise<[string, string][]>;
  /** Rows of tab- or unit-separated fields for one SQL text. */
  query(sql: string): Promise<string[][]>;
  quote(name: string): string;
  /** The key a table is counted by when it has no integer key of its own ('' when none: rows only). */
  implicitKey: string;
}

/** A `database.writes` measure: in all and per table (tables with none left out). */
export interface WritesCount {
  total: number;
  tables: Record<string, number>;
}

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

const dq = (n: string) => `"${n.replace(/"/g, '""')}"`;

function sqliteReader(file: string, e: DbEnv): Reader {
  const opts: ShortOptions = { cwd: e.cwd, timeoutMs: TIMEOUT_MS, signal: e.signal, env: e.env };
  const query = async (sql: string) =>
    rows(ok(await runProgram('sqlite3', ['-readonly', '-batch', '-noheader', '-separator', SEP, file, sql], opts), `sqlite3 ${file}`), SEP);
  return {
    query,
    quote: dq,
    implicitKey: 'rowid',
    tables: async () => {
      const t = await query(
        "SELECT name, (SELECT count(*) FROM pragma_table_info(name) WHERE pk > 0), COALESCE((SELECT 1 FROM sqlite_master s WHERE s.name = m.name AND lower(s.sql) LIKE '%without rowid%'), 0) FROM sqlite_master m WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      );
      // A table without rowid is counted by its rows alone.
      return t.map(([name, , noRowid]) => [name, noRowid === '1' ? '' : 'rowid']);
    },
  };
}

/** The URL taken apart into libpq's variables: a password in it never reaches a command line. */
function pgEnv(url: string): Record<string, string> {
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
    implicitKey: '',
    tables: async () => {
      const t = await query(
        `SELECT CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END,
                COALESCE((SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
                          WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1 AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)), '')
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND NOT c.relispartition
         ORDER BY 1`,
      );
      return t.map(([name, key]) => [name, key ?? '']);
    },
  };
}

function mysqlReader(m: NonNullable<DbWrites['mysql']>, e: DbEnv): Reader {
  const args = ['--batch', '--skip-column-names', '--connect-timeout=10'];
  if (m.socket) args.push(`--socket=${e.resolve(m.socket)}`, '--protocol=SOCKET');
  if (m.host) args.push(`--host=${e.resolve(m.host)}`, '--protocol=TCP');
  if (m.port) args.push(`--port=${m.port}`);
  if (m.user) args.push(`--user=${e.resolve(m.user)}`);
  args.push(`--database=${e.resolve(m.database)}`);
  const env = { ...e.env, ...(m.password ? { MYSQL_PWD: e.resolve(m.password) } : {}) };
  const opts: ShortOptions = { cwd: e.cwd, timeoutMs: TIMEOUT_MS, signal: e.signal, env };
  // MariaDB's client, or MySQL's where only it is installed.
  const query = async (sql: string) => {
    let r = await runProgram('mariadb', [...args, '-e', sql], opts);
    if (r.spawnError && /ENOENT/.test(r.spawnError)) r = await runProgram('mysql', [...args, '-e', sql], opts);
    return rows(ok(r, 'the mariadb client'), '\t');
  };
  return {
    query,
    quote: (n) => `\`${n.replace(/`/g, '``')}\``,
    implicitKey: '',
    tables: async () => {
      const t = await query(
        `SELECT t.TABLE_NAME, IF(COUNT(c.COLUMN_NAME) = 1 AND MAX(c.DATA_TYPE) IN ('tinyint','smallint','mediumint','int','bigint'), MAX(c.COLUMN_NAME), '')
         FROM information_schema.TABLES t LEFT JOIN information_schema.COLUMNS c
           ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.COLUMN_KEY = 'PRI'
         WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' GROUP BY t.TABLE_NAME ORDER BY t.TABLE_NAME`,
      );
      return t.map(([name, key]) => [name, key ?? '']);
    },
  };
}

function reader(w: DbWrites, e: DbEnv): Reader | undefined {
  if (w.sqlite !== undefined) return sqliteReader(e.resolve(w.sqlite), e);
  if (w.postgres) return postgresReader(e.resolve(w.postgres.url), e);
  if (w.mysql) return mysqlReader(w.mysql, e);
  return undefined;
}

const int = (v: string | undefined) => (v === undefined || v === '' || v === '\\N' ? undefined : Number(v));

/** Each table's rows and highest integer key, now: the marks a later count compares with. A command takes its own marks. */
export async function takeMarks(w: DbWrites, e: DbEnv): Promise<Record<string, TableMark>> {
  const r = reader(w, e);
  if (!r) return {};
  const tables = await r.tables();
  if (tables.length === 0) return {};
  const sql = tables
    .map(([name, key], i) => `SELECT ${i}, count(*), ${key ? `max(${key === 'rowid' ? key : r.quote(key)})` : 'NULL'} FROM ${r.quote(name)}`)
    .join(' UNION ALL ');
  const out: Record<string, TableMark> = {};
  for (const [i, n, max] of await r.query(sql)) {
    // Kept as text, exactly: only an integer is ever put back into a query.
    const maxId = max !== undefined && /^-?\d{1,20}$/.test(max) ? max : undefined;
    out[tables[Number(i)][0]] = { rows: Number(n), ...(maxId !== undefined ? { maxId } : {}) };
  }
  return out;
}

/**
 * The writes since the marks: per table, the rows added (a key above the marked highest) and the
 * marked rows gone; a table without an integer key, by how far its row count moved; a table made
 * since, every row. A row updated in place is not counted. A command prints the total itself.
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
  if (tables.length === 0) return { total: 0, tables: {} };
  const sql = tables
    .map(([name, key], i) => {
      const m = marks[name];
      const k = key === 'rowid' ? key : key ? r.quote(key) : '';
      const above = m?.maxId !== undefined && /^-?\d{1,20}$/.test(m.maxId) && k ? `(SELECT count(*) FROM ${r.quote(name)} WHERE ${k} > ${m.maxId})` : 'NULL';
      return `SELECT ${i}, count(*), ${above} FROM ${r.quote(name)}`;
    })
    .join(' UNION ALL ');
  const out: Record<string, number> = {};
  let total = 0;
  for (const [i, n, aboveText] of await r.query(sql)) {
    const name = tables[Number(i)][0];
    const m = marks[name];
    const now = Number(n);
    const above = int(aboveText);
    let writes: number;
    if (!m) writes = now;
    else if (above !== undefined) writes = above + Math.max(0, m.rows - (now - above));
    else writes = Math.abs(now - m.rows);
    if (writes > 0) out[name] = writes;
    total += writes;
  }
  return { total, tables: out };
}

/** "3 writes (orders: 2, users: 1)": the count a person decides a restore on. */
export function writesText(n: number, tables: Record<string, number> = {}): string {
  const per = Object.entries(tables)
    .sort((a, b) => b[1] - a[1])
    .map(([t, k]) => `${t}: ${k}`);
  return `${n} write${n === 1 ? '' : 's'}${per.length ? ` (${per.join(', ')})` : ''}`;
}
