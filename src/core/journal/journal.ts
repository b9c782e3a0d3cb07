import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NewEvent, ReleaseEvent } from '../base/events';
import { ErrorCodes } from '../base/errors';

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
}

export class LockHeldError extends Error {
  override name = 'LockHeldError';
  readonly code = ErrorCodes.LockHeld;
  constructor(readonly info: LockInfo) {
    super(`the release is already being run by ${info.holder} (pid ${info.pid}, ${info.user}@${info.host}, run ${info.runId}, since ${info.since})`);
  }
}

/** One release of a plan at a time, across windows and the CLI. A dead holder's lock is taken over. */
export class ReleaseLock {
  private constructor(
    readonly file: string,
    readonly info: LockInfo,
    readonly tookOver?: LockInfo,
  ) {}

  static acquire(file: string, info: Omit<LockInfo, 'pid' | 'host' | 'since'>): ReleaseLock {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const mine: LockInfo = { ...info, pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = fs.openSync(file, 'wx');
        fs.writeSync(fd, JSON.stringify(mine));
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        return new ReleaseLock(file, mine);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const held = readLock(file);
      if (held && isAlive(held)) throw new LockHeldError(held);
      // Stale: the holder died. Take over atomically by renaming ours into place.
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(mine));
      const again = readLock(file);
      if (again && isAlive(again)) {
        fs.rmSync(tmp, { force: true });
        throw new LockHeldError(again);
      }
      fs.renameSync(tmp, file);
      if (readLock(file)?.pid === process.pid) return new ReleaseLock(file, mine, held ?? undefined);
    }
    throw new Error(`could not take the release lock ${file}`);
  }

  release(): void {
    const held = readLock(this.file);
    if (held?.pid === this.info.pid && held.since === this.info.since) fs.rmSync(this.file, { force: true });
  }
}

export function readLock(file: string): LockInfo | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return null;
  }
}

export function isAlive(info: LockInfo): boolean {
  if (info.host !== os.hostname()) return true; // another machine's lock on a shared disk: respect it
  if (info.pid === process.pid) return true;
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
