import * as fs from 'node:fs';
import * as path from 'node:path';
import { glob } from 'tinyglobby';
import type { RollbackDatabase } from '../model/schema-database';
import type { PlanProblem } from './load';
import { lintSql } from './sqlLint';

/** A migration file larger than this is not read (and said so). */
export const MAX_MIGRATION_BYTES = 64 * 1024 * 1024;

/** What a destructive statement means for this plan's rollback: an error with code-only, a warning naming what a rollback needs otherwise. */
function consequence(d: RollbackDatabase): { severity?: 'warning'; text: string } {
  if (d.strategy === 'code-only')
    return {
      text: 'the previous version cannot run on this schema, and rollback.database.strategy is code-only (use down or restore, or migrate in two releases: expand, then contract)',
    };
  if (d.strategy === 'down') return { severity: 'warning', text: 'a rollback will need the down steps to undo it' };
  return { severity: 'warning', text: 'a rollback will need the restore, which discards the writes since the backup' };
}

/** The findings of one migration script's text, as problems of that file; read as MySQL/MariaDB when the writes are counted there, otherwise as PostgreSQL. */
export function lintMigrationText(file: string, text: string, d: RollbackDatabase): PlanProblem[] {
  const c = consequence(d);
  return lintSql(text, d.writes?.mysql ? 'mysql' : 'postgres').map((f) => ({
    file,
    line: f.line,
    column: f.column,
    endLine: f.line,
    endColumn: f.column,
    path: '',
    message: `${f.message}; ${c.text} [${f.rule}]`,
    ...(c.severity ? { severity: c.severity } : {}),
  }));
}

/** The migration files the plan names (`rollback.database.migrations`), absolute and sorted; a pattern that matches none is a warning. */
export async function migrationFiles(workspace: string, d: RollbackDatabase | undefined): Promise<{ files: string[]; unmatched: string[] }> {
  const files = new Set<string>();
  const unmatched: string[] = [];
  for (const pattern of d?.migrations ?? []) {
    const hits = await glob(pattern, { cwd: workspace, dot: true, onlyFiles: true, absolute: true });
    if (hits.length === 0) unmatched.push(pattern);
    for (const h of hits) files.add(path.normalize(h));
  }
  return { files: [...files].sort(), unmatched };
}

/**
 * Every finding in the plan's migration files, each at its file, line and column. A file that
 * cannot be read, or is too large, is a problem of its own: a lint that skipped it silently would pass it.
 */
export async function lintMigrations(workspace: string, d: RollbackDatabase | undefined, planFile: string): Promise<PlanProblem[]> {
  if (!d?.migrations) return [];
  const { files, unmatched } = await migrationFiles(workspace, d);
  const whole = (file: string, message: string, severity?: 'warning'): PlanProblem => ({
    file,
    line: 1,
    column: 1,
    endLine: 1,
    endColumn: 1,
    path: '',
    message,
    ...(severity ? { severity } : {}),
  });
  const out = unmatched.map((p) => ({
    ...whole(planFile, `migration pattern "${p}" matches no file in ${workspace}`, 'warning'),
    path: 'rollback.database.migrations',
  }));
  for (const file of files) {
    let text: string;
    try {
      const size = fs.statSync(file).size;
      if (size > MAX_MIGRATION_BYTES) {
        out.push(whole(file, `not read: ${size} bytes, over the ${MAX_MIGRATION_BYTES} bytes a migration file is read up to`));
        continue;
      }
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      out.push(whole(file, `cannot read the migration file: ${(e as Error).message}`));
      continue;
    }
    out.push(...lintMigrationText(file, text, d));
  }
  return out;
}
