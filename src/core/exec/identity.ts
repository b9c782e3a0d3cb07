import * as fs from 'node:fs';
import type { ProcessStart } from '../model/events';

export type { ProcessStart };

/** What /proc says of a live (or not yet reaped) process. */
export interface ProcessStat {
  pid: number;
  /** `R`, `S`, `Z` (ended, not yet reaped)… */
  state: string;
  ppid: number;
  pgid: number;
  start: ProcessStart;
}

let bootCache: string | undefined;

/** This boot's id: a start recorded in another boot names a process that no longer exists, whatever its ticks. */
export function bootId(): string {
  if (bootCache === undefined) {
    try {
      bootCache = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootCache = '';
    }
  }
  return bootCache;
}

/** A pid that names one process: a positive integer other than init (kill(0) and kill(-1) mean "my group" and "everyone"). */
export const isProcessId = (pid: unknown): pid is number => typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 1 && pid < 2 ** 22;

/** Reads /proc/<pid>/stat; undefined when no process has this pid. */
export function processStat(pid: number): ProcessStat | undefined {
  if (!isProcessId(pid)) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields after it follow its last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[19]);
  if (!Number.isSafeInteger(ticks)) return undefined;
  return { pid, state: f[0], ppid: Number(f[1]), pgid: Number(f[2]), start: { ticks, boot: bootId() } };
}

/** When the process with this pid started; undefined when there is none. Read right after a spawn, it is the child's. */
export const processStart = (pid: number): ProcessStart | undefined => processStat(pid)?.start;

export const sameStart = (a: ProcessStart, b: ProcessStart): boolean => a.ticks === b.ticks && a.boot === b.boot;

export type Recorded =
  /** The pid still names the process recorded (possibly ended and not yet reaped: see `stat.state`). */
  | { is: 'same'; stat: ProcessStat }
  /** No process has this pid. */
  | { is: 'gone' }
  /** Another process has this pid now. */
  | { is: 'other'; stat: ProcessStat };

/**
 * The one answer to "is this pid still the process we recorded": the pid names the same process only
 * while it started at the recorded tick of the recorded boot. After the process ends, a reboot or a
 * wrap-around of the pid counter (32768 by default), the same number names another process.
 */
export function recordedProcess(pid: number, start: ProcessStart): Recorded {
  const stat = processStat(pid);
  if (!stat) return { is: 'gone' };
  return sameStart(stat.start, start) ? { is: 'same', stat } : { is: 'other', stat };
}

/** Clock ticks per second as /proc counts them: USER_HZ, 100 on every architecture Node runs on. */
const USER_HZ = 100;

let btimeCache: number | undefined;
function bootTimeSeconds(): number | undefined {
  if (btimeCache === undefined) {
    try {
      btimeCache = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1] ?? NaN);
    } catch {
      btimeCache = NaN;
    }
  }
  return Number.isFinite(btimeCache) ? btimeCache : undefined;
}

/** A start as a person reads it: the time of day in this boot, or the ticks and boot it was recorded in. */
export function describeStart(s: ProcessStart): string {
  const btime = bootTimeSeconds();
  if (s.boot === bootId() && btime !== undefined) return new Date(btime * 1000 + (s.ticks * 1000) / USER_HZ).toISOString();
  return `${s.ticks} ticks after boot ${s.boot.slice(0, 8) || 'unknown'}`;
}

/** The live processes of a process group (a scan of /proc). */
export function groupMembers(pgid: number): ProcessStat[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcessStat[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const stat = processStat(Number(e));
    if (stat && stat.pgid === pgid && stat.state !== 'Z') out.push(stat);
  }
  return out;
}
