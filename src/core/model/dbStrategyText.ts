import type { DbWrites, RollbackDatabase } from './schema-database';

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
  return `database: restore from the backup, ${auto}${counted}`;
}
