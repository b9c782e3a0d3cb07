import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive, readJournal, readLock } from '../../journal/journal';
import type { ReleaseEvent } from '../../model/events';
import { foldJournal, type ReleaseState } from '../../model/releaseState';
import { runIdProblem } from '../../model/runIdRule';
export { runIdProblem } from '../../model/runIdRule';
import { holdersFile } from '../../store/mirror';
import { isStale } from '../../store/storeRecords';

// Reading runs needs no process runner: the extension shows them without loading the engine.

export function runsDir(workspace: string): string {
  return path.join(workspace, '.release', 'runs');
}

/** The run id a command was given, or an error saying what a run id is. */
export function parseRunId(text: string): string {
  const problem = runIdProblem(text);
  if (problem) throw new RunIdError(problem);
  return text;
}

export class RunIdError extends Error {
  override name = 'RunIdError';
}

/**
 * The folder of a run: the one way a run id becomes a path. It refuses a text that is not a run id,
 * and a run folder (or `.release`, or `runs`) that is a symbolic link: what it names could be anywhere.
 */
export function runDir(workspace: string, runId: string): string {
  const id = parseRunId(runId);
  const release = path.join(workspace, '.release');
  const dir = path.join(runsDir(workspace), id);
  for (const p of [release, runsDir(workspace), dir]) {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) throw new RunIdError(`${p} is a symbolic link: a run's folder must be a folder of .release/runs, not a link to elsewhere`);
    if (st && !st.isDirectory()) throw new RunIdError(`${p} is not a folder`);
  }
  return dir;
}

export function lockFile(workspace: string): string {
  return path.join(workspace, '.release', 'lock');
}

// Run ids start with a timestamp; numeric order keeps `…-1.2.10` after `…-1.2.9` and `…-10` after `…-9`.
const byName = new Intl.Collator('en', { numeric: true }).compare;

/**
 * The ids of the workspace's runs, newest first: folders whose journal is a regular file. A stray file
 * in the runs folder (`.DS_Store`) is no run, a journal that is a device or a pipe is no record
 * (reading it may never end), and a name that is no run id or a link to a folder elsewhere is none.
 */
export function runIds(workspace: string): string[] {
  const dir = runsDir(workspace);
  if (!fs.existsSync(dir)) return [];
  const isJournal = (d: string) => {
    try {
      return fs.statSync(path.join(runDir(workspace, d), 'journal.jsonl'), { throwIfNoEntry: false })?.isFile() === true;
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
  let id = parseRunId(base);
  for (let n = 2; fs.lstatSync(path.join(runsDir(workspace), id), { throwIfNoEntry: false }); n++) id = `${base}-${n}`;
  return id;
}

/**
 * What changes when a run of the workspace changes, read without reading a journal: each run's
 * journal size and time, and the run a live process holds the lock for (its journal is folded open).
 * `own` is the run being started, whose lock is no other run's.
 */
export function runsStamp(workspace: string, own?: string): string {
  const lock = readLock(lockFile(workspace));
  const live = lock && lock.runId !== own && isAlive(lock) ? lock.runId : '';
  const journals = runIds(workspace).map((id) => {
    const st = fs.statSync(path.join(runDir(workspace, id), 'journal.jsonl'), { throwIfNoEntry: false });
    return `${id}:${st?.size}:${st?.mtimeMs}`;
  });
  const holders = fs.statSync(holdersFile(workspace), { throwIfNoEntry: false });
  return JSON.stringify([live, journals, holders?.mtimeMs ?? 0]);
}

/** The newest run of the workspace, or undefined. */
export function latestRunId(workspace: string): string | undefined {
  return runIds(workspace)[0];
}

/** Reads a run's journal and folds it; `closed` when no live process holds its lock. */
export function loadRun(workspace: string, runId: string): { state: ReleaseState; events: ReleaseEvent[]; torn?: string; corrupt: number[]; live: boolean } {
  const file = path.join(runDir(workspace, runId), 'journal.jsonl');
  if (!fs.existsSync(file))
    throw new Error(
      `no release run ${runId} in ${runsDir(workspace)}: no journal of it was written here or published to a release store ` +
        `(a run whose process ended before it published its journal left nothing to show; \`release-pilot history\` lists the runs)`,
    );
  const read = readJournal(file);
  const lock = readLock(lockFile(workspace));
  const live = (!!lock && lock.runId === runId && isAlive(lock)) || heldElsewhere(workspace, runId);
  const state = foldJournal(read.events, { closed: !live });
  return { state, events: read.events, torn: read.tornLine?.text, corrupt: read.corruptLines, live };
}

/**
 * Whether a live holder on another machine holds `runId`, as the last sync of the shared store saw the
 * holders (`.release/store/holders.json`): live when it was not stale then and its lease has not run out
 * since, judged by this machine's clock. A damaged or missing file says nobody.
 */
function heldElsewhere(workspace: string, runId: string): boolean {
  let holders: unknown;
  try {
    holders = JSON.parse(fs.readFileSync(holdersFile(workspace), 'utf8'));
  } catch {
    return false;
  }
  if (!holders || typeof holders !== 'object') return false;
  return Object.values(holders).some((h: unknown) => {
    const o = h as { runId?: unknown; renewedAt?: unknown; leaseMs?: unknown; stale?: unknown; host?: unknown; pid?: unknown } | null;
    if (!o || o.runId !== runId || o.stale !== false || typeof o.renewedAt !== 'string' || typeof o.leaseMs !== 'number') return false;
    const where = typeof o.host === 'string' && typeof o.pid === 'number' ? { host: o.host, pid: o.pid } : {};
    return !Number.isNaN(Date.parse(o.renewedAt)) && !isStale({ renewedAt: o.renewedAt, leaseMs: o.leaseMs, ...where }, Date.now());
  });
}
