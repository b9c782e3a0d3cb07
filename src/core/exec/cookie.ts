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

/** A value a step's mark can have: a hand-edited journal must not turn "every process with the variable set" into a target. */
const isMark = (mark: string | undefined): mark is string => !!mark && /^[0-9a-zA-Z_-]{8,128}$/.test(mark);

/** Whether the environment of process `pid` carries `mark` (false when it does not, or cannot be read: another user's, or gone). */
export function carriesMark(pid: number, mark: string | undefined): boolean {
  if (!isMark(mark)) return false;
  const needle = Buffer.from(`${STEP_MARK}=${mark}\0`);
  try {
    const env = fs.readFileSync(`/proc/${pid}/environ`);
    // The first variable has no NUL before it; the others do.
    return env.subarray(0, needle.length).equals(needle) || env.includes(Buffer.concat([Buffer.from([0]), needle]));
  } catch {
    return false;
  }
}

/** The processes, other than this one, whose environment carries `mark` (Linux's /proc; none where it does not exist). */
export function processesWithMark(mark: string | undefined): number[] {
  if (!isMark(mark)) return [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  return entries.filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid && carriesMark(Number(e), mark)).map(Number);
}
