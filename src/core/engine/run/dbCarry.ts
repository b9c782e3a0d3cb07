import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TableMark } from '../../model/events';
import type { DbWrites } from '../../model/schema-database';
import { runProgram, type ShortOptions } from '../../exec/short';
import { bq, dq, keyExpr, mysqlClient, pgEnv, reader, sq, type DbEnv, type Reader, type Table, type WritesCount } from './dbWrites';

/** Every row copied out before a restore, one JSON line each: `{"table": …, "row": {column: value}}`. */
export const CARRY_FILE = 'carried-writes.jsonl';
/** The rows the restored schema could not take back, each with why: `{"table": …, "why": …, "row": …}`. */
export const KEPT_FILE = 'carried-writes.kept.jsonl';

/** One copied row: its table, its columns (the JSON's keys), and the JSON text exactly as the database wrote it. */
interface CopiedRow {
  table: string;
  columns: string[];
  json: string;
  /**
   * A row at or below the marked key may update the restored row with its key; a row above it (or of
   * an unmarked table) was inserted since, and is only inserted: a row the service wrote after the
   * restore under the same key is never overwritten, the copied one is kept in the file instead.
   */
  update: boolean;
  /** Above the marked key: inserted since the backup, so inserted again as it is, even in a table without a key of its own (a SQLite rowid). */
  since?: boolean;
}

/** What was copied before the restore: the rows, and the marked tables gone since (the restore brings their marked rows back). */
export interface Copied {
  file: string;
  rows: CopiedRow[];
  dropped: string[];
  /** When the copy was read (ms since the epoch): what the service writes after it is not carried. */
  at: number;
}

/** What came back after the restore: the rows put back (inserted or updated), those kept in the file, and copied rows the restore already held as they were. */
export interface Carried {
  writes: number;
  carried: number;
  kept: number;
  unchanged: number;
  /** The kept file's name in the run folder, when any row was kept. */
  keptFile?: string;
  /** From the copy's read to the put-back's end: the window in which a write the service makes is not carried. */
  windowMs: number;
  dropped: string[];
}

type Kind = 'sqlite' | 'postgres' | 'mysql';
const kindOf = (w: DbWrites): Kind | undefined => (w.sqlite !== undefined ? 'sqlite' : w.postgres ? 'postgres' : w.mysql ? 'mysql' : undefined);

/** Whether the plan's rollback carries the writes since the backup across a restore: on by default for a database it can read. */
export const carries = (w: DbWrites | undefined, carryForward: boolean | undefined): boolean => !!w && kindOf(w) !== undefined && carryForward === true;

/**
 * Which rows of a changed table to copy, each part with whether its rows may update: above the marked
 * key (inserted since); at or below it too unless those rows are proven as marked. A table without
 * a marked key: every row, inserted only.
 */
async function rowsToCopy(r: Reader, t: Table, m: TableMark | undefined): Promise<{ where: string; update: boolean; since?: boolean }[]> {
  const k = keyExpr(r, t);
  if (!m || !k || m.maxId === undefined || !/^-?\d{1,20}$/.test(m.maxId)) return [{ where: '', update: false }];
  const above = { where: `${k} > ${m.maxId}`, update: false, since: true };
  const below = { where: `${k} <= ${m.maxId}`, update: true };
  if (m.sum === undefined || !m.columns?.every((c) => t.columns.includes(c))) return [above, below];
  const [[sum]] = await r.query(r.partialSum(t, m.columns, below.where));
  return (sum ?? '') === m.sum ? [above] : [above, below];
}

function writeSynced(file: string, lines: string[]): void {
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    fs.writeSync(fd, lines.map((l) => `${l}\n`).join(''));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const dir = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

/**
 * Copies the rows written since the marks out of every table the count found changed, into
 * `carried-writes.jsonl` in the run folder, written and fsynced before anything is restored. When
 * the file cannot be written this throws: the restore must not start. No rows, no file.
 */
export async function copyOut(w: DbWrites, marks: Record<string, TableMark>, count: WritesCount, e: DbEnv, dir: string): Promise<Copied> {
  const r = reader(w, e)!;
  const at = Date.now();
  const tables = await r.tables();
  const now = new Set(tables.map((t) => t.name));
  const rows: CopiedRow[] = [];
  for (const t of tables) {
    if (!count.tables[t.name] || t.columns.length === 0) continue;
    for (const part of await rowsToCopy(r, t, marks[t.name])) {
      const out = await r.query(`SELECT ${r.json(t.columns)} FROM ${r.quote(t.name)}${part.where ? ` WHERE ${part.where}` : ''}`);
      for (const [json] of out)
        if (json?.startsWith('{')) rows.push({ table: t.name, columns: t.columns, json, update: part.update, ...(part.since ? { since: true } : {}) });
    }
  }
  const file = path.join(dir, CARRY_FILE);
  if (rows.length > 0)
    writeSynced(
      file,
      rows.map((x) => `{"table":${JSON.stringify(x.table)},"row":${x.json}}`),
    );
  return { file, rows, dropped: Object.keys(marks).filter((n) => !now.has(n)), at };
}

/** One engine's put-back: a statement line per row (line n is row n-1), how a script runs, and where its errors name a line. */
interface Engine {
  /**
   * Row n's statements on one line. With a key that may update: inserted when its key is free, else the
   * row with that key updated when it differs. With a key that may not: inserted, a taken key refused. No
   * key: a multiset, the copy's `nth` identical row inserted unless `nth` identical rows are there.
   */
  line(n: number, t: Table, cols: string[], key: { key: string; update: boolean } | undefined, json: string, nth: number): string;
  /** What ends the script: sequences moved past the keys put back. */
  tail(tables: Map<Table, string>): string[];
  run(file: string): Promise<{ stdout: string; stderr: string }>;
  error: RegExp;
  /** Why a row cannot be put back exactly by this engine, if it cannot. */
  refuses?: (json: string) => string | undefined;
}

const TIMEOUT_MS = 300_000;
const opts = (e: DbEnv, env: Record<string, string | undefined> = e.env): ShortOptions => ({ cwd: e.cwd, timeoutMs: TIMEOUT_MS, signal: e.signal, env });

function spawned(r: { spawnError?: string; timedOut: boolean; stdout: string; stderr: string }, what: string) {
  if (r.spawnError || r.timedOut) throw new Error(`${what}: ${r.spawnError ?? 'timed out'}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

const path$ = (c: string) => sq(`$."${c}"`);

function sqliteEngine(file: string, e: DbEnv): Engine {
  const v = (c: string) => `json_extract(j.d, ${path$(c)})`;
  return {
    line: (n, t, cols, k, json, nth) => {
      const T = dq(t.name);
      const list = cols.map(dq).join(', ');
      const vals = cols.map(v).join(', ');
      const j = `(SELECT ${sq(json)} AS d) AS j`;
      if (k && !k.update) return `INSERT INTO ${T} (${list}) SELECT ${vals} FROM ${j} RETURNING '${n}:i'; SELECT '${n}:=';`;
      const key = k?.key;
      if (!key) {
        const same = cols.map((c) => `x.${dq(c)} IS ${v(c)}`).join(' AND ');
        return `INSERT INTO ${T} (${list}) SELECT ${vals} FROM ${j} WHERE (SELECT count(*) FROM ${T} x WHERE ${same}) < ${nth} RETURNING '${n}:i'; SELECT '${n}:=';`;
      }
      const same = cols.map((c) => `${T}.${dq(c)} IS ${v(c)}`).join(' AND ');
      const set = cols.map((c) => `${dq(c)} = ${v(c)}`).join(', ');
      return (
        `INSERT INTO ${T} (${list}) SELECT ${vals} FROM ${j} WHERE NOT EXISTS (SELECT 1 FROM ${T} x WHERE x.${dq(key)} = ${v(key)}) RETURNING '${n}:i'; ` +
        `UPDATE ${T} SET ${set} FROM ${j} WHERE ${T}.${dq(key)} = ${v(key)} AND NOT (${same}) RETURNING '${n}:u'; SELECT '${n}:=';`
      );
    },
    tail: () => [],
    // An escaped NUL not itself escaped: json_extract would end the text there.
    refuses: (json) => (/(?<!\\)(?:\\\\)*\\u0000/.test(json) ? "a text holds a NUL, which SQLite's JSON functions would cut it at" : undefined),
    run: async (script) => spawned(await runProgram('sqlite3', ['-batch', '-noheader', file, `.read ${script}`], opts(e)), `sqlite3 ${file}`),
    error: /^(?:Runtime|Parse) error near line (\d+): (.*)$/,
  };
}

function postgresEngine(url: string, e: DbEnv): Engine {
  const q = (n: string) => n.split('.').map(dq).join('.');
  return {
    line: (n, t, cols, k, json, nth) => {
      const key = k?.key;
      const T = q(t.name);
      const list = cols.map(dq).join(', ');
      const row = (a: string) => `ROW(${cols.map((c) => `${a}.${dq(c)}`).join(', ')})`;
      const j = `j AS (SELECT * FROM json_populate_record(NULL::${T}, ${sq(json)}::json))`;
      const free = !k
        ? ` WHERE (SELECT count(*) FROM ${T} x WHERE ${row('x')} IS NOT DISTINCT FROM ${row('j')}) < ${nth}`
        : k.update
          ? ` WHERE NOT EXISTS (SELECT 1 FROM ${T} x WHERE x.${dq(k.key)} = j.${dq(k.key)})`
          : '';
      const ins = `i AS (INSERT INTO ${T} (${list}) SELECT ${list} FROM j${free} RETURNING 1)`;
      const upd =
        key && k.update
          ? `, u AS (UPDATE ${T} x SET ${cols.map((c) => `${dq(c)} = j.${dq(c)}`).join(', ')} FROM j WHERE x.${dq(key)} = j.${dq(key)} AND ${row('x')} IS DISTINCT FROM ${row('j')} RETURNING 1)`
          : ', u AS (SELECT 1 WHERE false)';
      return `WITH ${j}, ${ins}${upd} SELECT '${n}:' || CASE WHEN EXISTS (SELECT 1 FROM i) THEN 'i' WHEN EXISTS (SELECT 1 FROM u) THEN 'u' ELSE '=' END;`;
    },
    // A serial key's sequence, left where the backup had it, would hand out the carried ids again.
    tail: (tables) =>
      [...tables].map(
        ([t, key]) =>
          `SELECT setval(s, m) FROM (SELECT pg_get_serial_sequence(${sq(q(t.name))}, ${sq(key)}) AS s, (SELECT max(${dq(key)}) FROM ${q(t.name)}) AS m) x WHERE s IS NOT NULL AND m IS NOT NULL;`,
      ),
    run: async (script) =>
      spawned(
        await runProgram(
          'psql',
          ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_ROLLBACK=on', '-f', script],
          opts(e, { ...e.env, ...pgEnv(url), PGCONNECT_TIMEOUT: '10' }),
        ),
        'psql',
      ),
    error: /^psql:.*?:(\d+): ERROR:\s+(.*)$/,
  };
}

function mysqlEngine(m: NonNullable<DbWrites['mysql']>, e: DbEnv): Engine {
  const v = (c: string) => `IF(JSON_TYPE(JSON_EXTRACT(@j, ${path$(c)})) = 'NULL', NULL, JSON_UNQUOTE(JSON_EXTRACT(@j, ${path$(c)})))`;
  const client = mysqlClient(m, e);
  return {
    line: (n, t, cols, k, json, nth) => {
      const T = bq(t.name);
      const list = cols.map(bq).join(', ');
      const vals = cols.map(v).join(', ');
      // The JSON as hex: no quoting or backslash rule of the server's SQL mode applies to it.
      const set = `SET @j = CONVERT(X'${Buffer.from(json, 'utf8').toString('hex')}' USING utf8mb4), @i = 0, @u = 0;`;
      if (!k)
        return `${set} INSERT INTO ${T} (${list}) SELECT ${vals} FROM DUAL WHERE (SELECT count(*) FROM ${T} x WHERE ${cols.map((c) => `x.${bq(c)} <=> ${v(c)}`).join(' AND ')}) < ${nth}; SET @i = ROW_COUNT(); SELECT CONCAT('${n}:', IF(@i > 0, 'i', '='));`;
      if (!k.update) return `${set} INSERT INTO ${T} (${list}) SELECT ${vals}; SET @i = ROW_COUNT(); SELECT CONCAT('${n}:', IF(@i > 0, 'i', '='));`;
      // The key compared as a DECIMAL: a bigint beyond 2^53 stays exact.
      const at = `${bq(k.key)} = CAST(${v(k.key)} AS DECIMAL(65))`;
      return (
        `${set} INSERT INTO ${T} (${list}) SELECT ${vals} FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM ${T} x WHERE x.${at}); SET @i = ROW_COUNT(); ` +
        `UPDATE ${T} SET ${cols.map((c) => `${bq(c)} = ${v(c)}`).join(', ')} WHERE ${at} AND NOT (${cols.map((c) => `${bq(c)} <=> ${v(c)}`).join(' AND ')}); SET @u = ROW_COUNT(); ` +
        `SELECT CONCAT('${n}:', IF(@i > 0, 'i', IF(@u > 0, 'u', '=')));`
      );
    },
    tail: () => [],
    run: async (script) => {
      const args = [...client.args, '--force', '-e', `source ${script}`];
      let r = await runProgram('mariadb', args, opts(e, client.env));
      if (r.spawnError && /ENOENT/.test(r.spawnError)) r = await runProgram('mysql', args, opts(e, client.env));
      return spawned(r, 'the mariadb client');
    },
    error: /^ERROR \d+ \([^)]*\) at line (\d+)[^:]*(?::[^:]*)?: (.*)$/,
  };
}

function engineOf(w: DbWrites, e: DbEnv): Engine {
  if (w.sqlite !== undefined) return sqliteEngine(e.resolve(w.sqlite), e);
  if (w.postgres) return postgresEngine(e.resolve(w.postgres.url), e);
  return mysqlEngine(w.mysql!, e);
}

/** The column a row is matched by when put back: the table's integer key as a column (a SQLite rowid alias), '' for none. */
async function putKeys(w: DbWrites, r: Reader, tables: Table[]): Promise<Map<string, string>> {
  const keys = new Map(tables.map((t) => [t.name, t.key === 'rowid' ? '' : t.key]));
  if (w.sqlite !== undefined) {
    const alias = await r.query(
      "SELECT m.name, (SELECT p.name FROM pragma_table_info(m.name) p WHERE p.pk = 1 AND upper(p.type) = 'INTEGER' AND (SELECT count(*) FROM pragma_table_info(m.name) WHERE pk > 0) = 1) FROM sqlite_master m WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
    );
    for (const [name, key] of alias) if (key) keys.set(name, key);
  }
  return keys;
}

/**
 * The tables migration tools keep their own record in (which migrations ran). Their rows since the backup
 * were written by the migration itself: put back over the restored schema, they would say a migration ran
 * whose schema the restore took away, and the next release would skip it. They are kept in the file, never
 * put back.
 */
const MIGRATION_TABLES = new Set([
  'schema_migrations',
  'knex_migrations',
  'knex_migrations_lock',
  'pgmigrations',
  'flyway_schema_history',
  'alembic_version',
  '__drizzle_migrations',
  'sequelizemeta',
  '_prisma_migrations',
  'goose_db_version',
  'migrations',
]);
const MIGRATION_RECORD_WHY = "the migration tool's own record of the migrations that ran: the restore brings back the record that matches the restored schema";
export const isMigrationRecord = (table: string): boolean => MIGRATION_TABLES.has((table.split('.').pop() ?? table).replace(/^["`]|["`]$/g, '').toLowerCase());

/**
 * After the restore: puts every copied row back where the restored table can hold it (the columns
 * it has; a row matched by its key is updated, a new one inserted, one a constraint refuses is caught
 * alone), and writes the rows it could not put back, with why, to `carried-writes.kept.jsonl`.
 */
export async function putBack(w: DbWrites, copied: Copied, e: DbEnv, dir: string): Promise<Carried> {
  const r = reader(w, e)!;
  const tables = await r.tables();
  const byName = new Map(tables.map((t) => [t.name, t]));
  const keys = await putKeys(w, r, tables);
  const engine = engineOf(w, e);
  const kept: { n: number; why: string }[] = [];
  const lines: string[] = [];
  const index: number[] = [];
  const keyed = new Map<Table, string>();
  // How many identical rows of a keyless table came before in the copy: the put-back is a multiset difference.
  const seen = new Map<string, number>();
  copied.rows.forEach((row, n) => {
    const t = byName.get(row.table);
    const cols = t?.columns.filter((c) => row.columns.includes(c)) ?? [];
    const refused = engine.refuses?.(row.json);
    if (isMigrationRecord(row.table)) {
      kept.push({ n, why: MIGRATION_RECORD_WHY });
      return;
    }
    if (!t || cols.length === 0 || refused) {
      kept.push({ n, why: refused ?? (t ? `no column of the row is in the restored table ${row.table}` : `table ${row.table} is not in the restored schema`) });
      return;
    }
    const key = keys.get(t.name) ?? '';
    const k = cols.includes(key) ? key : '';
    if (k) keyed.set(t, k);
    const same = `${row.table}\n${row.json}`;
    const nth = k ? 0 : (seen.get(same) ?? 0) + 1;
    if (!k) seen.set(same, nth);
    // A row inserted since the backup is inserted; one of a whole keyless table copied counts as its nth identical row.
    const match = k ? { key: k, update: row.update } : row.since ? { key: '', update: false } : undefined;
    lines.push(engine.line(n, t, cols, match, row.json, nth));
    index.push(n);
  });
  const done = new Map<number, string>();
  if (lines.length > 0) {
    const script = path.join(dir, `.carry-${process.pid}.sql`);
    // One transaction (a refused row undoes only its own statement): line 1 begins it, row i is on line i + 2, the last line commits.
    const tail = engine.tail(keyed);
    const commitLine = lines.length + tail.length + 2;
    fs.writeFileSync(script, ['BEGIN;', ...lines, ...tail, 'COMMIT;'].map((l) => `${l}\n`).join(''), { mode: 0o600 });
    try {
      const out = await engine.run(script);
      for (const l of out.stdout.split('\n')) {
        const m = /^(\d+):([iu=])$/.exec(l.trim());
        // A row's first word wins: 'i' or 'u' before the '=' every row ends with.
        if (m && !done.has(Number(m[1]))) done.set(Number(m[1]), m[2]);
      }
      for (const l of out.stderr.split('\n')) {
        const m = engine.error.exec(l.trim());
        if (!m) continue;
        // Not committed, or the whole transaction undone (a deadlock ends it on MariaDB): nothing before went back, every row is kept.
        if (Number(m[1]) >= commitLine || Number(m[1]) === 1 || /deadlock/i.test(m[2])) for (const n of index) done.delete(n);
        const n = index[Number(m[1]) - 2];
        if (n !== undefined && !kept.some((x) => x.n === n)) kept.push({ n, why: m[2] });
      }
      // Every row's line prints its outcome: a row without one (the script ended early, its server gone) is kept.
      const last = out.stderr.trim().split('\n').slice(-1)[0];
      for (const n of index)
        if (!done.has(n) && !kept.some((x) => x.n === n)) kept.push({ n, why: `the put-back did not confirm this row${last ? `: ${last}` : ''}` });
    } finally {
      fs.rmSync(script, { force: true });
    }
  }
  const keptSet = new Set(kept.map((x) => x.n));
  const carried = index.filter((n) => !keptSet.has(n) && (done.get(n) === 'i' || done.get(n) === 'u')).length;
  const unchanged = index.filter((n) => !keptSet.has(n) && !(done.get(n) === 'i' || done.get(n) === 'u')).length;
  let keptFile: string | undefined;
  if (kept.length > 0) {
    keptFile = KEPT_FILE;
    kept.sort((a, b) => a.n - b.n);
    writeSynced(
      path.join(dir, KEPT_FILE),
      kept.map((x) => `{"table":${JSON.stringify(copied.rows[x.n].table)},"why":${JSON.stringify(x.why)},"row":${copied.rows[x.n].json}}`),
    );
  }
  return {
    writes: carried + kept.length,
    carried,
    kept: kept.length,
    unchanged,
    ...(keptFile ? { keptFile } : {}),
    windowMs: Date.now() - copied.at,
    dropped: copied.dropped,
  };
}
