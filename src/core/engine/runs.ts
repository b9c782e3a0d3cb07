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

/**
 * The ids of the workspace's runs, newest first: folders whose journal is a regular file. A stray file
 * in the runs folder (`.DS_Store`) is no run, and a journal that is a device or a pipe is no record
 * (reading it may never end).
 */
export function runIds(workspace: string): string[] {
  const dir = runsDir(workspace);
  if (!fs.existsSync(dir)) return [];
  const isJournal = (d: string) => {
    try {
      return fs.statSync(path.join(dir, d, 'journal.jsonl'), { throwIfNoEntry: false })?.isFile() === true;
    } catch {
      return false;
    }
  };
  return fs.readdirSync(dir).filter(isJournal).sort().reverse();
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

