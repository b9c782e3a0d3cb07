import * as z from 'zod/mini';
import { ENV_REF_RE, Steps, doc, exactlyOne, int, str } from './schema-parts';
import { REASON_RULE, writtenReason } from '../base/reasonText';

/** What a rollback does to the database once the code went back. */
export const DB_STRATEGIES = ['code-only', 'down', 'restore'] as const;
export type DbStrategy = (typeof DB_STRATEGIES)[number];

const Postgres = z.strictObject({
  url: doc(
    z.string().check(z.regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// URL')),
    'The connection URL psql is given (`postgres://user@127.0.0.1:5432/app`). A password belongs in `${env:NAME}` or in PGPASSWORD.',
  ),
});

const Mysql = z
  .strictObject({
    host: doc(z.optional(str()), 'The server host (`127.0.0.1`); or `socket`.'),
    port: doc(z.optional(int(1, 65_535)), 'The server port (3306 by default).'),
    socket: doc(z.optional(str()), "The server's Unix socket, instead of host and port."),
    user: doc(z.optional(str()), 'The user the counts are read as.'),
    password: doc(
      z.optional(z.string().check(z.regex(ENV_REF_RE, 'expected ${env:NAME}: a password is a secret and stays out of the plan'))),
      'The password, written as `${env:NAME}`; it reaches the client through MYSQL_PWD, never its command line.',
    ),
    database: doc(str(), 'The database (schema) whose tables are counted.'),
  })
  .check(z.refine((m) => !(m.socket !== undefined && m.host !== undefined), 'expected either socket or host, not both'));

export const DbWrites = z
  .strictObject({
    sqlite: doc(z.optional(str()), 'The SQLite database file: per table, its rows, highest rowid and a SHA3 of every row.'),
    postgres: doc(
      z.optional(Postgres),
      'A PostgreSQL database, read with psql: per table, its rows, highest integer primary key and a fingerprint of every row.',
    ),
    mysql: doc(
      z.optional(Mysql),
      'A MySQL or MariaDB database, read with the mariadb (or mysql) client: per table, its rows, highest integer primary key and a fingerprint of every row.',
    ),
    command: doc(z.optional(str()), 'A command that prints one integer: the writes made since the backup (`${backup.path}` names it). Run before a restore.'),
  })
  .check(exactlyOne(['sqlite', 'postgres', 'mysql', 'command'], 'expected exactly one source of the writes since the backup'));
export type DbWrites = z.infer<typeof DbWrites>;

export const RollbackDatabase = z
  .strictObject({
    strategy: doc(
      z.enum(DB_STRATEGIES),
      '`code-only`: the schema stays as migrated (an expand migration the old version runs on); nothing touches the database. `down`: the `down` steps undo the migration and keep the data. `restore`: the backup is restored, discarding what was written since, which needs `allowDataLoss` or a person.',
    ),
    down: doc(
      z.optional(Steps.check(z.minLength(1, 'expected at least one down step'))),
      "The migration tool's undo (`knex migrate:rollback`, `node-pg-migrate down`, a `down.sql`), run after the code rollback. Only with `strategy: down`. When one fails the rollback does not restore by itself: it waits for a person.",
    ),
    restore: doc(
      z.optional(Steps.check(z.minLength(1, 'expected at least one restore step'))),
      'The backup restore, the last resort: run by `strategy: restore`, or confirmed by a person after a failed `down`. Before it runs, the writes since the backup are counted; more than none wait for a person unless `allowDataLoss` says why they may be discarded.',
    ),
    allowDataLoss: doc(
      z.optional(z.string().check(z.refine((v) => writtenReason(v) !== undefined, `expected why writes since the backup may be discarded: ${REASON_RULE}`))),
      'Why an automatic rollback may restore over the writes made since the backup (the count is still journaled and reported). Without it, a restore over writes waits for a person.',
    ),
    carryForward: doc(
      z.optional(z.boolean()),
      "Whether a restore carries the writes since the backup forward (default false; needs `writes` from `sqlite`, `postgres` or `mysql`). It carries every row changed since the backup, the migration's own data changes included (its bookkeeping table, such as `schema_migrations` or `knex_migrations`, never): set it when your migrations change the schema only. Before the restore, the rows written since the marks (above each table's marked key, or every row of a table changed below it) are copied to `carried-writes.jsonl` in the run's folder and fsynced; when that file cannot be written the restore does not start. After it, each row is put back in the columns the restored table has (matched by its integer key: updated when it differs, inserted when new); a row the restored schema refuses stays in `carried-writes.kept.jsonl` with why. Unset or `false`, the restore puts back the backup alone.",
    ),
    migrations: doc(
      z.optional(z.array(str()).check(z.minLength(1, 'expected at least one glob pattern of migration files'))),
      'The migration SQL files, as glob patterns relative to the workspace (`db/migrations/*.sql`). `validate` reads every statement that drops, renames, retypes, adds NOT NULL without a default, truncates, or deletes or updates every row. With `code-only` such a statement is an error (the previous version cannot run on that schema); with `down` or `restore` a warning (a rollback will need them).',
    ),
    compatCheck: doc(
      z.optional(Steps.check(z.minLength(1, 'expected at least one compat check step'))),
      "The previous version's smoke test on the migrated staging schema. It runs at the end of the staging phase (`${release.previousVersion}` names that version). Passed: `code-only` is proven for this release. Failed: with `code-only` the release stops before production; with `down` or `restore` a person confirms going on, knowing a rollback will need them.",
    ),
    writes: doc(
      z.optional(DbWrites),
      'How the writes since the backup are measured: exactly one of `sqlite`, `postgres`, `mysql` or `command`. Marks (per table: columns, rows, highest key and a content fingerprint) are taken when the backup phase passes, and measured again before a restore. A table whose fingerprint is unchanged holds no writes; a changed one (rows added, removed or updated in place) counts at least 1, a table gone every marked row. The restore runs by itself only when every table is proven unchanged.',
    ),
  })
  .check(
    z.superRefine((d, ctx) => {
      const issue = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, input: d, message });
      if (d.strategy === 'down' && !d.down) issue(['down'], 'strategy down needs `down`: the steps that undo the migration');
      if (d.strategy !== 'down' && d.down) issue(['down'], `\`down\` steps run only with strategy down (this plan says ${d.strategy})`);
      if (d.strategy === 'restore' && !d.restore) issue(['restore'], 'strategy restore needs `restore`: the steps that restore the backup');
      if (d.restore && !d.writes && d.allowDataLoss === undefined)
        issue(['writes'], 'a restore needs `writes` (how the writes since the backup are counted), or `allowDataLoss` with why they may be discarded');
      if (d.carryForward === true && (!d.writes || d.writes.command !== undefined))
        issue(['carryForward'], 'carryForward needs `writes` from `sqlite`, `postgres` or `mysql`: a command cannot say which rows to carry');
      if (d.allowDataLoss !== undefined && !d.restore) issue(['allowDataLoss'], '`allowDataLoss` allows a restore: it needs `restore` steps');
    }),
  );
export type RollbackDatabase = z.infer<typeof RollbackDatabase>;
