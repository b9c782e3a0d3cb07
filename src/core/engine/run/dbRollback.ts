import type { DbAction } from '../../model/events';
import type { ReleaseState } from '../../model/releaseState';
import type { RollbackDatabase } from '../../model/schema-database';
import type { Step } from '../../model/schema';
import type { RunContext } from './context';
import { countWrites, provenNone, takeMarks, writesText, type DbEnv, type WritesCount } from './dbWrites';
import { carriedText, writesSource } from '../../model/dbStrategyText';
import { CARRY_FILE, KEPT_FILE as KEPT_NAME, carries, copyOut, putBack, type Carried, type Copied } from './dbCarry';
import { runRollbackSteps } from './rollbackTimeout';

/** What the database part of a rollback came to: done (with what to say), failed, or waiting for a person before the restore. */
export type DbPart = { done: string } | { failed: string } | { held: string };

const dbEnv = (c: RunContext): DbEnv => ({ cwd: c.o.workspace, resolve: (t) => c.resolve(t), env: c.stepEnv({}), signal: c.stopLatch.signal });

/** Whether this run's rollback has a database part: the plan says one, and the migration started in this run. */
export function databaseTouched(c: RunContext): RollbackDatabase | undefined {
  const d = c.o.plan.rollback.database;
  return d && c.state.phases.find((p) => p.id === 'migration')?.startedAt ? d : undefined;
}

/** The marks writes are measured from, taken as the backup passes; a failed read is warned about (a restore then waits for a person). */
export async function markDatabase(c: RunContext): Promise<void> {
  const w = c.o.plan.rollback.database?.writes;
  if (!w) return;
  try {
    c.append({ type: 'database.marked', source: writesSource(w), tables: await takeMarks(w, dbEnv(c)) });
  } catch (e) {
    c.append({
      type: 'warning',
      message: `the database marks could not be taken after the backup (a restore will wait for a person): ${(e as Error).message}`,
    });
  }
}

/** The writes since the backup, measured now and journaled; undefined when they cannot be known. */
async function measureWrites(c: RunContext): Promise<WritesCount | undefined> {
  const w = c.o.plan.rollback.database?.writes;
  const marks = c.state.database?.marks;
  if (!w || !marks) return undefined;
  try {
    const n = await countWrites(w, marks, dbEnv(c));
    c.append({ type: 'database.writes', source: writesSource(w), ...n });
    return n;
  } catch (e) {
    c.append({ type: 'warning', message: `the writes since the backup could not be counted: ${(e as Error).message}` });
    return undefined;
  }
}

const note = (c: RunContext, d: RollbackDatabase, action: DbAction, ok: boolean, message: string, writes?: WritesCount, carried?: Carried) =>
  c.append({
    type: 'rollback.database',
    strategy: d.strategy,
    action,
    ok,
    message,
    ...(writes ? { writes: writes.total } : {}),
    ...(carried
      ? { carry: { writes: carried.writes, carried: carried.carried, kept: carried.kept, keptFile: carried.keptFile ?? KEPT_NAME, windowMs: carried.windowMs } }
      : {}),
  });

/** Runs database steps in order (`down` or `restore`), each with what is left of the rollback's budget; returns where one failed. */
const runDbSteps = (c: RunContext, kind: 'down' | 'restore', steps: Step[], requestedAt: number) =>
  runRollbackSteps(c, steps, { id: (i) => `rollback/${kind}/${i}`, what: `${kind} step`, requestedAt });

const keptText = (w?: WritesCount) => (w ? `; writes since the backup: ${w.atLeast ? 'at least ' : ''}${w.total}, kept` : '');

/** Whether this rollback's restore carries the writes since the backup forward. */
const carrying = (d: RollbackDatabase) => carries(d.writes, d.carryForward);

/** The restore, its count in the words a person decides on. */
function heldText(d: RollbackDatabase, w: WritesCount | undefined, before = ''): string {
  const what = w
    ? carrying(d)
      ? `restore would replace ${writesText(w)} made since the backup; they are copied to ${CARRY_FILE} first and carried forward where the restored schema holds them`
      : `restore would discard ${writesText(w)} made since the backup`
    : 'the writes since the backup could not be counted: a restore may discard them';
  return `${before}${what}; the rollback waits for a person: confirm the restore (release-pilot rollback --restore) or decline it (release-pilot rollback --no-restore)`;
}

/**
 * The database after the code rollback: `code-only` keeps the schema; `down` runs the migration's
 * undo (when it fails, a restore waits for a person); `restore` counts the writes since the backup
 * and restores by itself only when every table is proven unchanged, or with `allowDataLoss`; otherwise it waits for a person.
 */
export async function rollbackDatabase(c: RunContext, d: RollbackDatabase, requestedAt: number): Promise<DbPart> {
  const w = await measureWrites(c);
  if (d.strategy === 'code-only') {
    const done = `database: code-only, schema kept${keptText(w)}`;
    note(c, d, 'kept', true, done, w);
    return { done };
  }
  if (d.strategy === 'down') {
    const failed = await runDbSteps(c, 'down', d.down ?? [], requestedAt);
    if (!failed) {
      const done = `database: down steps passed, data kept${keptText(w)}`;
      note(c, d, 'down', true, done, w);
      return { done };
    }
    note(c, d, 'down', false, `the down steps failed at ${failed}`, w);
    if (!d.restore) return { failed: `database down steps: ${failed}` };
    const held = heldText(d, w, `the down steps failed at ${failed}; the rollback does not restore by itself: `);
    note(c, d, 'held', true, held, w);
    return { held };
  }
  if (provenNone(w) || d.allowDataLoss !== undefined) return restore(c, d, w, requestedAt);
  const held = heldText(d, w);
  note(c, d, 'held', true, held, w);
  return { held };
}

async function restore(c: RunContext, d: RollbackDatabase, w: WritesCount | undefined, requestedAt: number): Promise<DbPart> {
  let copied: Copied | undefined;
  const marks = c.state.database?.marks;
  if (carrying(d) && d.writes && marks && w && !provenNone(w)) {
    try {
      copied = await copyOut(d.writes, marks, w, dbEnv(c), c.runDir);
    } catch (e) {
      // Nothing may be lost silently: without the copy on disk, the backup is not restored.
      const failed = `the writes since the backup could not be copied to ${CARRY_FILE} (${(e as Error).message}): the restore did not start`;
      note(c, d, 'restore', false, failed, w);
      return { failed: `database restore: ${failed}` };
    }
  }
  const failed = await runDbSteps(c, 'restore', d.restore ?? [], requestedAt);
  if (failed) {
    note(c, d, 'restore', false, `the restore failed at ${failed}${copied?.rows.length ? `; the writes since the backup are in ${CARRY_FILE}` : ''}`, w);
    return { failed: `database restore: ${failed}` };
  }
  if (copied) return carryBack(c, d, w, copied);
  const lost = w ? `writes since the backup: ${w.atLeast ? 'at least ' : ''}${w.total}, discarded` : 'writes since the backup: not counted';
  const done = `database: restored from the backup; ${lost}${w && w.total > 0 && d.allowDataLoss ? ` (allowed: ${d.allowDataLoss})` : ''}`;
  note(c, d, 'restore', true, done, w);
  return { done };
}

/** After the restore: the copied rows put back, the rest kept in the run's folder, each counted and journaled. */
async function carryBack(c: RunContext, d: RollbackDatabase, w: WritesCount | undefined, copied: Copied): Promise<DbPart> {
  let carried: Carried;
  try {
    carried = await putBack(d.writes!, copied, dbEnv(c), c.runDir);
  } catch (e) {
    const failed = `restored from the backup, but the writes since it could not be put back (${(e as Error).message}); all ${copied.rows.length} are in ${CARRY_FILE}`;
    note(c, d, 'restore', false, failed, w);
    return { failed: `database: ${failed}` };
  }
  const gone = carried.dropped.length ? `; table(s) dropped since the backup, back as the backup held them: ${carried.dropped.join(', ')}` : '';
  const window = `; a write made in the ${carried.windowMs} ms between the copy and the put-back is not carried`;
  const done = `database: restored from the backup; ${carriedText({ ...carried, keptFile: carried.keptFile ?? KEPT_NAME })}${gone}${window}`;
  note(c, d, 'restore', true, done, w, carried);
  return { done };
}

/** Whether the run's rollback waits for a person to confirm or decline the restore. */
export const restoreHeld = (s: ReleaseState): boolean => s.status === 'paused' && s.rollback?.database?.action === 'held' && !s.rollback.outcome;

/** The question a person answers before a held restore: the writes it discards, counted now. */
export async function restoreQuestion(c: RunContext): Promise<{ message: string; writes?: WritesCount }> {
  const w = await measureWrites(c);
  const d = c.o.plan.rollback.database;
  const what = w
    ? d && carrying(d)
      ? `Restoring replaces ${writesText(w)} made since the backup: they are copied to ${CARRY_FILE} first and carried forward where the restored schema holds them.`
      : `Restoring discards ${writesText(w)} made since the backup.`
    : 'The writes since the backup could not be counted: restoring may discard them.';
  return { message: `Restore the database of ${c.state.name} ${c.state.version} on ${c.state.environment} from the backup?\n${what}`, writes: w };
}

/** A person's answer to a held restore: the restore runs (its count journaled), or the database stays as it is. */
export async function decideRestore(c: RunContext, yes: boolean, w: WritesCount | undefined, requestedAt: number): Promise<DbPart> {
  const d = c.o.plan.rollback.database!;
  if (yes) return restore(c, d, w, requestedAt);
  const done = `rolled back (code only), database not restored${keptText(w ?? lastWrites(c.state))}`;
  note(c, d, 'declined', true, done, w ?? lastWrites(c.state));
  return { done };
}

const lastWrites = (s: ReleaseState): WritesCount | undefined =>
  s.database?.writes ? { total: s.database.writes.total, tables: s.database.writes.tables, atLeast: s.database.writes.atLeast } : undefined;
