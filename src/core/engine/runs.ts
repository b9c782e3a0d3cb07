import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive, readJournal, readLock } from '../journal/journal';
import type { ReleaseEvent } from './events';
import { foldJournal, type ReleaseState } from './fold';

// Reading runs needs no process runner: the extension shows them without loading the engine.

export function runsDir(workspace: string): string {
  return path.join(workspace, '.release', 'runs');
}
export function lockFile(workspace: string): string {
  return path.join(workspace, '.release', 'lock');
}

/** The newest run of the workspace, or undefined. */
export function latestRunId(workspace: string): string | undefined {
  const dir = runsDir(workspace);
  if (!fs.existsSync(dir)) return undefined;
  return fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, 'journal.jsonl')))
    .sort()
    .at(-1);
}

/** Reads a run's journal and folds it; `closed` when no live process holds its lock. */
export function loadRun(workspace: string, runId: string): { state: ReleaseState; events: ReleaseEvent[]; torn?: string; corrupt: number[]; live: boolean } {
  const file = path.join(runsDir(workspace), runId, 'journal.jsonl');
  const read = readJournal(file);
  const lock = readLock(lockFile(workspace));
  const live = !!lock && lock.runId === runId && isAlive(lock);
  const state = foldJournal(read.events, { closed: !live });
  return { state, events: read.events, torn: read.tornLine?.text, corrupt: read.corruptLines, live };
}

