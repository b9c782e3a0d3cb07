import type { ReleaseEvent } from './events';
import type { RollbackDatabaseView } from './stateViews';

/** The database part of a rollback as its last event says: a restore that passed discarded the writes, anything else kept them. */
export function dbView(
  e: Extract<ReleaseEvent, { type: 'rollback.database' }>,
  seen?: { tables?: Record<string, number>; atLeast?: boolean },
): RollbackDatabaseView {
  const v: RollbackDatabaseView = { strategy: e.strategy, action: e.action, ok: e.ok, message: e.message };
  if (e.writes === undefined) return v;
  // A restore that carried the writes forward discarded none: each row is back in the database or in the kept file.
  if (e.carry) return { ...v, writes: e.carry.writes, tables: seen?.tables, kept: e.carry.writes, discarded: 0, carry: e.carry };
  const discarded = e.action === 'restore' && e.ok ? e.writes : 0;
  return { ...v, writes: e.writes, tables: seen?.tables, kept: e.writes - discarded, discarded, ...(seen?.atLeast ? { atLeast: true } : {}) };
}
