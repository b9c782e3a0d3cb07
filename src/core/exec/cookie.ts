import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';

/**
 * Every process a step starts carries this variable, with a value of its own for each step run: the
 * step's mark. A process group is not the whole tree: a child may call `setsid` or `setpgid`, or a
 * subshell may leave a child to init, and the group's end no longer reaches it. The environment is
 * inherited across all of those, so a step cut short (timeout, cancel, a signal to the release, an
 * abandon after a crash) also ends every process that still carries its mark, as Jenkins'
 * ProcessTreeKiller does with its BUILD_ID cookie. A process that empties its environment (`env -i`,
 * `sudo` without `-E`) is out of reach; so is one of another user.
 */
export const STEP_MARK = 'RELEASE_PILOT_STEP';

export const newStepMark = (): string => randomBytes(12).toString('hex');

/** The processes, other than this one, whose environment carries `mark` (Linux's /proc; none where it does not exist). */
export function processesWithMark(mark: string): number[] {
  const needle = Buffer.from(`${STEP_MARK}=${mark}\0`);
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${e}/environ`);
      // The first variable has no NUL before it; the others do.
      if (env.subarray(0, needle.length).equals(needle) || env.includes(Buffer.concat([Buffer.from([0]), needle]))) out.push(Number(e));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return out;
}

/** Sends `signal` to every process carrying `mark`; how many there were. */
export function signalMarked(mark: string | undefined, signal: NodeJS.Signals): number {
  if (!mark) return 0;
  const pids = processesWithMark(mark);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
  return pids.length;
}
