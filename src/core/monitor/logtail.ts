import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';

/** A line longer than this is not kept whole: it is counted as unreadable and skipped to its newline. */
export const MAX_LINE_BYTES = 64 * 1024;
const CHUNK_BYTES = 1024 * 1024;

export interface TailRead {
  /** The first read: the offset was set at the end of the file, no line was read. */
  first: boolean;
  bytes: number;
  /** What happened to the file since the last read. */
  rotation?: 'renamed' | 'truncated' | 'renamed and truncated';
  /** Lines over MAX_LINE_BYTES, and lines cut by a truncation: not handed over. */
  unreadable: string[];
  /**
   * Bytes appended since the last read and left unread because of the read's cap: the oldest ones.
   * When it is not 0, the lines handed over are those of the last `maxBytes` only (the first of them,
   * cut by the jump, is not handed over either).
   */
  skipped: number;
}

/**
 * Follows a log file as `tail -F` does, from one read to the next: each read hands over the complete
 * lines appended since the last one. The first read only sets the offset at the current end (the
 * history is not counted). A partial last line (no newline yet) waits for the next read. Rotation:
 * when the path names another file (renamed, a new one created: logrotate's default, nginx's
 * `reopen`), the old file, still open, is read to its end first, then the new one from 0; when the
 * file shrank (copytruncate), reading starts again at 0. Memory is bounded by the chunk size and
 * MAX_LINE_BYTES, whatever the file's size. A read reads at most `maxBytes` (the newest ones); what was
 * appended before them is skipped, and said (`skipped`), so that a burst of gigabytes costs one read of
 * a bounded size rather than seconds of reading.
 */
export class LogTail {
  private fh?: FileHandle;
  private ino = -1;
  private dev = -1;
  private offset = 0;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Inside a line over the limit: bytes are dropped up to its newline. */
  private skipping = false;

  constructor(readonly path: string) {}

  async close(): Promise<void> {
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
  }

  async read(onLine: (line: string) => void, maxBytes = Infinity): Promise<TailRead> {
    const unreadable: string[] = [];
    let st: Stats | undefined;
    try {
      st = await fsp.stat(this.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Renamed and not yet replaced (nginx writes to the old file until it reopens): keep reading it.
      if (!this.fh || code !== 'ENOENT')
        throw new Error(`cannot read the log ${this.path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
    }
    if (st && !st.isFile()) throw new Error(`the log ${this.path} is not a regular file${st.isDirectory() ? ' (a directory)' : ''}`);
    if (!this.fh) {
      await this.open(st!.size);
      return { first: true, bytes: 0, unreadable, skipped: 0 };
    }
    let bytes = 0;
    let skipped = 0;
    let rotation: TailRead['rotation'];
    if (st && (st.ino !== this.ino || st.dev !== this.dev)) {
      // The new file's lines are the newest: the cap is spent on them first, the rest on the old file's end.
      const forOld = Math.max(0, maxBytes - st.size);
      skipped += await this.skipTo(forOld);
      bytes += await this.drain(onLine, unreadable);
      this.flushPartial(onLine);
      await this.close();
      await this.open(0);
      rotation = 'renamed';
    }
    const size = (await this.fh.stat()).size;
    if (size < this.offset) {
      // copytruncate: what was written between the last read and the copy is in the copy, not here.
      if (this.partialBytes > 0 || this.skipping) unreadable.push('a line cut by the truncation of the log (copytruncate)');
      this.dropPartial();
      this.offset = 0;
      rotation = rotation ? 'renamed and truncated' : 'truncated';
    }
    skipped += await this.skipTo(maxBytes - bytes);
    // What a writer appends while this read runs waits for the next one: the read stays within its cap.
    bytes += await this.drain(onLine, unreadable, maxBytes - bytes);
    return { first: false, bytes, rotation, unreadable, skipped };
  }

  /**
   * Moves the offset so that at most `budget` bytes are left to read, and returns how many were
   * skipped. A jump into a line drops that line (its start was skipped): it is not handed over, nor
   * counted as unreadable; a jump to the start of a line keeps it.
   */
  private async skipTo(budget: number): Promise<number> {
    const end = (await this.fh!.stat()).size;
    const from = end - Math.max(0, budget);
    if (from <= this.offset) return 0;
    const skipped = from - this.offset;
    this.dropPartial();
    const before = Buffer.alloc(1);
    await this.fh!.read(before, 0, 1, from - 1);
    this.skipping = before[0] !== 0x0a;
    this.offset = from;
    return skipped;
  }

  private async open(offset: number): Promise<void> {
    const fh = await fsp.open(this.path, 'r');
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new Error(`the log ${this.path} is not a regular file`);
    }
    Object.assign(this, { fh, ino: st.ino, dev: st.dev, offset: Math.min(offset, st.size) });
    this.dropPartial();
  }

  /** Reads up to the size the file has now, `limit` bytes at most (a writer faster than the reader does not keep it here). */
  private async drain(onLine: (line: string) => void, unreadable: string[], limit = Infinity): Promise<number> {
    const fh = this.fh!;
    const end = Math.min((await fh.stat()).size, this.offset + Math.max(0, limit));
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let total = 0;
    while (this.offset < end) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK_BYTES, end - this.offset), this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      total += bytesRead;
      let from = 0;
      for (;;) {
        const nl = buf.indexOf(0x0a, from);
        if (nl < 0 || nl >= bytesRead) break;
        if (this.skipping) this.skipping = false;
        else {
          this.keep(buf.subarray(from, nl), unreadable);
          if (!this.skipping) onLine(this.takePartial());
          else this.skipping = false;
        }
        from = nl + 1;
      }
      if (from < bytesRead && !this.skipping) this.keep(buf.subarray(from, bytesRead), unreadable);
    }
    return total;
  }

  private keep(piece: Buffer, unreadable: string[]): void {
    if (this.partialBytes + piece.length > MAX_LINE_BYTES) {
      unreadable.push(`a line over ${MAX_LINE_BYTES / 1024} KiB, skipped`);
      this.dropPartial();
      this.skipping = true;
      return;
    }
    // A piece of the chunk buffer is copied when it must outlive the chunk.
    this.partial.push(Buffer.from(piece));
    this.partialBytes += piece.length;
  }

  private takePartial(): string {
    const line = Buffer.concat(this.partial, this.partialBytes).toString('utf8');
    this.dropPartial();
    return line;
  }

  /** The last line of a rotated file that never got its newline: read as it is. */
  private flushPartial(onLine: (line: string) => void): void {
    if (this.partialBytes > 0) onLine(this.takePartial());
    this.skipping = false;
  }

  private dropPartial(): void {
    this.partial = [];
    this.partialBytes = 0;
  }
}
