// A workspace's copy of a shared store: the runs made elsewhere become local journals the existing readers
// (history, live state, promotion evidence) read as they read any run, and the lock holders a file beside them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lockKey } from '../model/schema-store';
import { runIdProblem } from '../model/runIdRule';
import { StoreDataError, journalText } from './storeRecords';
import { isAlive, readLock } from '../journal/journal';
import type { ReleaseStore, StoreHolder } from './storeTypes';

export interface MirrorResult {
  /** Runs whose local journal was created or grew. */
  copied: { runId: string; events: number }[];
  /** Runs whose local journal is longer than the store's or differs from it: never overwritten. */
  diverged: { runId: string; why: string }[];
  /** Runs a teammate took over after this workspace's process died: the local journal moved aside, the store's written. */
  replaced: { runId: string; aside: string; why: string }[];
}

/** Where the workspace keeps the holders the last sync saw, by lock key. */
export const holdersFile = (workspace: string) => path.join(workspace, '.release', 'store', 'holders.json');

/** Appends `text` to `file` and makes it durable, as the journal does. */
function appendDurably(file: string, text: string): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  try {
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a small file whole: a reader sees the old one or the new one. */
function replaceFile(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/**
 * Copies the store's runs into `.release/runs/<id>/journal.jsonl`, only ever extending a local journal:
 * one that is longer or differs is left as it is and reported (a local journal with exactly as many lines
 * as the store's is not read again, so a difference of the same length is not seen). A run made on another machine or in
 * another workspace gets `origin.json` (`{user, host, workspace}`); the holders of every lock go to
 * `.release/store/holders.json` so that a run held by a live holder elsewhere reads as live.
 */
export async function syncMirror(workspace: string, store: ReleaseStore): Promise<MirrorResult> {
  const result: MirrorResult = { copied: [], diverged: [], replaced: [] };
  const runs = await store.runs();
  const runsRoot = path.join(workspace, '.release', 'runs');
  for (const run of runs) {
    if (runIdProblem(run.runId)) continue;
    const dir = path.join(runsRoot, run.runId);
    const file = path.join(dir, 'journal.jsonl');
    const st = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) {
      result.diverged.push({ runId: run.runId, why: `${dir} is not a folder` });
      continue;
    }
    const local = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    // A local journal with as many whole lines as the store's is read as the same: only a run that grew costs a read of its journal.
    if (local.endsWith('\n') && local.split('\n').length - 1 === run.events) continue;
    let stored: string;
    try {
      stored = journalText(await store.events(run.runId));
    } catch (e) {
      // A damaged run in the store neither creates nor extends a local journal.
      if (!(e instanceof StoreDataError)) throw e;
      result.diverged.push({ runId: run.runId, why: e.message });
      continue;
    }
    if (local === stored) continue;
    if (!stored.startsWith(local)) {
      const taken = takenOverElsewhere(workspace, run.runId, local, stored);
      if (taken) {
        const aside = path.join(dir, `journal.local-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
        fs.linkSync(file, aside);
        replaceFile(file, stored);
        result.replaced.push({
          runId: run.runId,
          aside,
          why: `run ${run.runId} was taken over by ${taken} after this workspace's process stopped: its journal here now holds the one in ${store.where}; what this workspace journaled past the shared part is kept in ${aside}`,
        });
        result.copied.push({ runId: run.runId, events: run.events });
        continue;
      }
      const why = local.startsWith(stored)
        ? `the local journal holds ${local.split('\n').length - 1 - (stored.split('\n').length - 1)} more lines than ${store.where}: it is not overwritten (publish it from the machine that ran it)`
        : `the local journal differs from the one in ${store.where}: it is not overwritten; compare the two before trusting either`;
      result.diverged.push({ runId: run.runId, why });
      continue;
    }
    fs.mkdirSync(dir, { recursive: true });
    appendDurably(file, stored.slice(local.length));
    const elsewhere = run.host !== os.hostname() || path.resolve(run.workspace) !== path.resolve(workspace);
    if (elsewhere && !fs.existsSync(path.join(dir, 'origin.json')))
      replaceFile(path.join(dir, 'origin.json'), `${JSON.stringify({ user: run.user, host: run.host, workspace: run.workspace })}\n`);
    result.copied.push({ runId: run.runId, events: run.events });
  }
  replaceFile(holdersFile(workspace), `${JSON.stringify(await holdersOf(store, runs), null, 1)}\n`);
  return result;
}

/** The whole lines of `text`, and what follows its last newline (a torn line, or ''). */
function wholeLines(text: string): string[] {
  const lines = text.split('\n');
  lines.pop();
  return lines;
}

interface Seen {
  type?: string;
  pid?: number;
  host?: string;
  tookOver?: { pid?: number; host?: string; user?: string };
}

function parsed(line: string): Seen {
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

/**
 * Who took a run over in the store after this workspace's process of it stopped, or undefined: the two journals
 * share whole lines up to and including the run's `release.started`, no live process here holds the run, and the
 * store's journal goes on past the shared lines with a takeover of the store's lock (the warning a takeover
 * journals names the holder it took over) from a process that wrote this workspace's journal, on this journal's
 * host. Anything else is a divergence a person must read.
 */
function takenOverElsewhere(workspace: string, runId: string, local: string, stored: string): string | undefined {
  const mine = wholeLines(local);
  const theirs = wholeLines(stored);
  let common = 0;
  while (common < mine.length && common < theirs.length && mine[common] === theirs[common]) common++;
  const shared = mine.slice(0, common).map(parsed);
  const started = shared.find((e) => e.type === 'release.started');
  if (!started) return undefined;
  const held = readLock(path.join(workspace, '.release', 'lock'));
  if (held && held.runId === runId && isAlive(held)) return undefined;
  const writers = new Set(
    [...shared, ...mine.slice(common).map(parsed)].filter((e) => e.type === 'release.started' || e.type === 'release.resumed').map((e) => e.pid),
  );
  const takeover = theirs
    .slice(common)
    .map(parsed)
    .find((e) => e.type === 'warning' && e.tookOver && writers.has(e.tookOver.pid) && e.tookOver.host === started.host);
  return takeover && `the holder that took the store's lock over from pid ${takeover.tookOver!.pid} on ${takeover.tookOver!.host}`;
}

/** Every lock's holder: from one read where the backend has it, else a read per key the runs name. */
async function holdersOf(store: ReleaseStore, runs: { name: string; environment: string }[]): Promise<Record<string, StoreHolder>> {
  if (store.holders) return store.holders();
  const out: Record<string, StoreHolder> = {};
  for (const key of new Set(runs.map((r) => lockKey(r.name, r.environment)))) {
    const h = await store.holder(key);
    if (h) out[key] = h;
  }
  return out;
}
