import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NewEvent, ReleaseEvent } from '../model/events';
import { ErrorCodes } from '../base/errors';
import { isProcessId, processStart, recordedProcess, type ProcessStart } from '../exec/identity';

/** The disk refused a journal line: the engine stops before acting on a fact it could not record. */
export class JournalWriteError extends Error {
  override name = 'JournalWriteError';
  readonly code = ErrorCodes.JournalWrite;
  constructor(
    readonly file: string,
    readonly cause: NodeJS.ErrnoException,
  ) {
    super(`cannot write the release journal ${file}: ${cause.code ?? cause.message}; the release stopped before acting on what it could not record`);
  }
}

/**
 * Append-only JSONL store of a release's events. Each append is written and fsync'd before it
 * returns, so the engine never acts on a fact the disk does not hold.
 */
export class Journal {
  private fd: number;
  private readonly listeners = new Set<(e: ReleaseEvent) => void>();

  constructor(
    readonly file: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      this.fd = fs.openSync(file, 'a');
    } catch (e) {
      throw new JournalWriteError(file, e as NodeJS.ErrnoException);
    }
    const dirFd = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  }

  append(event: NewEvent): ReleaseEvent {
    const full = { at: this.now().toISOString(), ...event };
    const line = Buffer.from(JSON.stringify(full) + '\n');
    try {
      let off = 0;
      while (off < line.length) off += fs.writeSync(this.fd, line, off);
      fs.fsyncSync(this.fd);
    } catch (e) {
      throw new JournalWriteError(this.file, e as NodeJS.ErrnoException);
    }
    for (const l of this.listeners) l(full);
    return full;
  }

  onEvent(listener: (e: ReleaseEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

export interface JournalRead {
  events: ReleaseEvent[];
  /** Set when the last line was cut short (a crash mid-write); that line is ignored. */
  tornLine?: { line: number; text: string };
  /** Lines that are not JSON before the last one: the file was damaged, not just torn. */
  corruptLines: number[];
}

export function readJournal(file: string): JournalRead {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const events: ReleaseEvent[] = [];
  const corruptLines: number[] = [];
  let tornLine: JournalRead['tornLine'];
  const last = text.endsWith('\n') ? lines.length - 2 : lines.length - 1;
  for (let i = 0; i <= last; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    try {
      const e = JSON.parse(line) as ReleaseEvent;
      if (typeof e?.type !== 'string') throw new Error('no type');
      events.push(e);
    } catch {
      if (i === last && !text.endsWith('\n')) tornLine = { line: i + 1, text: line.slice(0, 200) };
      else corruptLines.push(i + 1);
    }
  }
  return { events, tornLine, corruptLines };
}

/** Cuts a torn last line off so appends continue on a clean line boundary. */
export function repairTornTail(file: string): boolean {
  const text = fs.readFileSync(file, 'utf8');
  if (text === '' || text.endsWith('\n')) return false;
  const cut = text.lastIndexOf('\n') + 1;
  fs.truncateSync(file, Buffer.byteLength(text.slice(0, cut)));
  return true;
}

export interface LockInfo {
  pid: number;
  host: string;
  user: string;
  holder: string;
  runId: string;
  since: string;
  /** When the holder started (absent in older locks): a live process with the holder's pid but another start is not the holder. */
  start?: ProcessStart;
}

export class LockHeldError extends Error {
  override name = 'LockHeldError';
  readonly code = ErrorCodes.LockHeld;
  constructor(readonly info: LockInfo) {
    super(lockHeldText(info));
  }
}

/**
 * Who holds the release now and how to stop it, for a person who wanted to run, resume or roll back: a VS Code
 * window rolls back from its status bar; another process stops on SIGINT (its step ended, the release paused),
 * after which the run rolls back from anywhere. Every refusal of the lock says it (CLI and VS Code alike).
 */
export function lockHeldText(info: LockInfo): string {
  const who = `the release is already being run by ${info.holder} (pid ${info.pid}, ${info.user}@${info.host}, run ${info.runId}, since ${info.since})`;
  const then = `then \`release-pilot rollback ${info.runId}\` rolls it back`;
  const stop = info.holder.startsWith('VS Code')
    ? `roll it back in that window (the status bar's rollback, or Deploy: Roll Back); or close that window, which stops it and pauses the release, and ${then}`
    : `stop it with \`kill -INT ${info.pid}\` on ${info.host} (it ends the running step and pauses the release, resumable), ${then}`;
  return `${who}; to roll it back: ${stop}`;
}

/** How long an acquire waits for another process's takeover of the same stale lock to finish. */
const TAKEOVER_WAIT_MS = 5000;
/** How many times an acquire looks at the lock before it gives up: each look either ends or waits, none spins for ever. */
const MAX_ATTEMPTS = 1000;

/**
 * One release of a plan at a time, across windows and the CLI. A lock file is only ever created whole and
 * exclusively (written aside, then linked into place), and a dead holder's lock is replaced only by the one
 * process that created the takeover file named after that lock's exact content (see replaceStale): of any
 * number of processes that find the same dead holder, exactly one takes the lock over; the others then
 * find it held by that one.
 */
export class ReleaseLock {
  private constructor(
    readonly file: string,
    readonly info: LockInfo,
    readonly tookOver?: LockInfo,
  ) {}

  static acquire(file: string, info: Omit<LockInfo, 'pid' | 'host' | 'since' | 'start'>): ReleaseLock {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const start = processStart(process.pid);
    const mine: LockInfo = { ...info, pid: process.pid, host: os.hostname(), since: new Date().toISOString(), ...(start ? { start } : {}) };
    const text = JSON.stringify(mine);
    const deadline = Date.now() + TAKEOVER_WAIT_MS;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (createWhole(file, text)) return new ReleaseLock(file, mine);
      const seen = readText(file);
      if (seen === undefined) continue; // released meanwhile: try to create it again
      const held = parseLock(seen);
      if (held && isAlive(held)) throw new LockHeldError(held);
      const taken = replaceStale(file, seen, text);
      if (taken === 'replaced') return new ReleaseLock(file, mine, held ?? undefined);
      if (Date.now() > deadline) {
        const taker = parseLock(readText(takeoverFile(file, seen)) ?? '');
        if (taker) throw new LockHeldError(taker);
        throw new Error(`could not take the release lock ${file}`);
      }
      if (taken === 'busy') pause(5);
    }
    throw new Error(`could not take the release lock ${file}: it kept changing under ${MAX_ATTEMPTS} attempts; try again`);
  }

  release(): void {
    const held = readLock(this.file);
    if (held?.pid === this.info.pid && held.since === this.info.since) fs.rmSync(this.file, { force: true });
  }
}

const takeoverFile = (file: string, seen: string) => `${file}.takeover-${crypto.createHash('sha256').update(seen).digest('hex').slice(0, 16)}`;

/**
 * Replaces `file`, seen holding the stale `seen`, with `text` (or removes it when `text` is undefined):
 * only the process that creates the takeover file named after `seen` may, and only while the file still
 * holds `seen`. While it holds that takeover file nobody else can change `file`: its dead holder will not
 * release it, a new lock cannot be created over it, and every other takeover of `seen` waits. A late
 * process that read `seen` before a takeover finished finds the file changed and looks again. A takeover
 * file whose taker died is stale in turn and removed the same way, under a takeover file of its own.
 */
function replaceStale(file: string, seen: string, text: string | undefined, depth = 0): 'replaced' | 'changed' | 'busy' {
  const guard = takeoverFile(file, seen);
  if (!createWhole(guard, JSON.stringify({ ...parseLock(text ?? ''), pid: process.pid, host: os.hostname(), start: processStart(process.pid) }))) {
    const guardText = readText(guard);
    if (guardText === undefined) return 'changed';
    const taker = parseLock(guardText);
    if ((taker && isAlive(taker)) || depth >= 3) return 'busy';
    replaceStale(guard, guardText, undefined, depth + 1);
    return 'changed';
  }
  try {
    if (readText(file) !== seen) return 'changed';
    if (text === undefined) fs.rmSync(file, { force: true });
    else {
      const tmp = uniqueTemp(file);
      try {
        writeSynced(tmp, text);
        fs.renameSync(tmp, file);
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    }
    return 'replaced';
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

const uniqueTemp = (file: string) => `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;

function writeSynced(file: string, text: string): void {
  const fd = fs.openSync(file, 'wx');
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates `file` holding all of `text`, or returns false when it exists: nobody ever reads it half written. */
function createWhole(file: string, text: string): boolean {
  const tmp = uniqueTemp(file);
  writeSynced(tmp, text);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * The text of a lock or takeover file; undefined when there is none. Opened without blocking and read only
 * when it is a regular file: a directory, fifo, socket or device in its place is an error naming what it is
 * (a fifo would block the read for ever, a directory would never read or be replaced).
 */
function readText(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EISDIR' || code === 'ENXIO') throw notALockFile(file);
    throw e;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw notALockFile(file);
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** A lock path that holds something else than a lock file, said as what it is. */
export function notALockFile(file: string): Error {
  const kind = (st: fs.Stats | undefined) =>
    !st
      ? 'missing'
      : st.isDirectory()
        ? 'a directory'
        : st.isFIFO()
          ? 'a fifo'
          : st.isSocket()
            ? 'a socket'
            : st.isBlockDevice() || st.isCharacterDevice()
              ? 'a device'
              : st.isSymbolicLink()
                ? 'a symbolic link'
                : 'not a regular file';
  const stat = (f: (p: string) => fs.Stats) => {
    try {
      return f(file);
    } catch {
      return undefined;
    }
  };
  const own = stat(fs.lstatSync);
  const what = own?.isSymbolicLink() ? `a symbolic link to ${kind(stat(fs.statSync)).replace('missing', 'nothing')}` : kind(own);
  return new Error(`the release lock ${file} is ${what}, not a lock file: remove it if no release is running`);
}

/** Blocks this thread for `ms` (acquire is synchronous). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function parseLock(text: string): LockInfo | null {
  try {
    const info = JSON.parse(text) as LockInfo;
    return info && typeof info === 'object' && typeof info.pid === 'number' ? info : null;
  } catch {
    return null;
  }
}

export function readLock(file: string): LockInfo | null {
  try {
    return parseLock(readText(file) ?? '');
  } catch {
    return null;
  }
}

/**
 * Whether the lock's holder still runs: another machine's lock on a shared disk is respected; here, the
 * holder is the process with its pid only while that process started when the holder did (the one
 * pid-identity test, shared with the signals to a step's processes). An older lock without a start is
 * judged by its pid alone.
 */
export function isAlive(info: LockInfo): boolean {
  if (info.host !== os.hostname()) return true;
  if (!isProcessId(info.pid)) return false;
  if (info.start) {
    const now = recordedProcess(info.pid, info.start);
    return now.is === 'same' && now.stat.state !== 'Z';
  }
  if (info.pid === process.pid) return true;
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
