import type { CarrySeen } from './events';
import type { DbStrategy, DbWrites, RollbackDatabase } from './schema-database';

/** What a restore that carried the writes forward did with them, in the words the journal and the report use. */
export const carriedText = (c: CarrySeen): string =>
  `writes since the backup: ${c.writes}; carried forward: ${c.carried}; kept in ${c.keptFile}: ${c.kept}; discarded: 0`;

/** Which source the plan counts writes with: the journal's name for it. */
export const writesSource = (w: DbWrites): string => (w.sqlite !== undefined ? 'sqlite' : w.postgres ? 'postgres' : w.mysql ? 'mysql' : 'command');

/**
 * What a rollback of this plan does to the database, in one line: the dry runs, the go/no-go
 * question, the rollback-plan gate and the editor's tree say it with these words.
 */
export function databaseStrategyText(d: RollbackDatabase | undefined): string {
  if (!d) return 'database: not said (the migrated schema stays as it is)';
  const counted = d.writes ? `; writes since the backup counted with ${writesSource(d.writes)}` : '';
  if (d.strategy === 'code-only') return `database: code-only (the migrated schema and every write stay)${counted}`;
  if (d.strategy === 'down')
    return `database: down (${d.down?.length ?? 0} step(s) undo the migration, keeping the data${d.restore ? '; when they fail, the restore waits for a person' : ''})${counted}`;
  const auto = d.allowDataLoss
    ? `by itself, even over writes since the backup (allowed: ${d.allowDataLoss})`
    : 'by itself only over no writes since the backup, otherwise after a person confirms';
  const carry = d.writes && d.writes.command === undefined && d.carryForward !== false ? ', carrying the writes since the backup forward' : '';
  return `database: restore from the backup${carry}, ${auto}${counted}`;
}

/**
 * What the previous version's smoke test on the migrated schema proved, in one line: the question
 * before production, the gate's refusal and the report say it with these words.
 */
export function compatText(c: { ok: boolean; strategy: DbStrategy; previousVersion: string; message: string }): string {
  const prev = `the previous version${c.previousVersion ? ` (${c.previousVersion})` : ''}`;
  if (c.ok) return `code-only proven: ${prev} passed its smoke test on the new schema`;
  const needs =
    c.strategy === 'down'
      ? 'a rollback will need the down steps'
      : c.strategy === 'restore'
        ? 'a rollback will need the restore, which loses the writes since the backup'
        : 'a rollback will need down steps or lose data with a restore; strategy code-only cannot roll this release back';
  return `${prev} failed its smoke test on the new schema (${c.message}): ${needs}`;
}
