import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive, readJournal, readLock } from '../journal/journal';
import type { ReleaseEvent } from '../base/events';
import { foldJournal, type ReleaseState } from '../base/fold';

// Reading runs needs no process runner: the extension shows them without loading the engine.

export function runsDir(workspace: string): string {
  return path.join(workspace, '.release', 'runs');
}
export function lockFile(workspace: string): string {
  return path.join(workspace, '.release', 'lock');
}

// Run ids start with a timestamp; numeric order keeps `…-1.2.10` after `…-1.2.9` and `…-10` after `…-9`.
const byName = new Intl.Collator('en', { numeric: true }).compare;

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
  return fs.readdirSync(dir).filter(isJournal).sort(byName).reverse();
}

/**
 * `base` (a second's timestamp and the version), or `base-2`, `base-3`… when a run of that name exists:
 * a release started in the same second as the one before it must not reopen that one's journal.
 */
export function freshRunId(workspace: string, base: string): string {
  const dir = runsDir(workspace);
  let id = base;
  for (let n = 2; fs.existsSync(path.join(dir, id)); n++) id = `${base}-${n}`;
  return id;
}

/** The newest run of the workspace, or undefined. */
export function latestRunId(workspace: string): string | undefined {
  return runIds(workspace)[0];
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
