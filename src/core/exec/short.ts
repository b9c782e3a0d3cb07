import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { newStepMark, STEP_MARK } from './cookie';
import { processStart } from './identity';
import { signalRecorded } from './signal';
import { contain, enterCommand, populated, removeContainer, signalContainer } from './contain';
import { trackUnlessContained } from './tracker';

export interface ShortResult {
  exitCode: number | undefined;
  /** The signal that ended the process, if one did. */
  signal?: string;
  /** stdout and stderr interleaved. */
  all: string;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  stopped: boolean;
  /** Why the program did not run at all (not found, not executable), as the system said it. */
  spawnError?: string;
}

export interface ShortOptions {
  cwd: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Added to this process's environment; a key set to undefined is removed from the child's. */
  env?: Record<string, string | undefined>;
}

/**
 * A short command a gate, check or metric runs (the verdict command, a checklist or health
 * command, the active colour, a metric command): in its own process group, ended whole on timeout
 * or when the release is stopped, so a child it left behind can neither outlive it nor hold its
 * output open for ever.
 */
export function runShort(command: string, o: ShortOptions): Promise<ShortResult> {
  return runProgram('bash', ['--norc', '-c', FROM_FD3, 'bash'], o, command);
}

/**
 * The command comes on file descriptor 3, not as an argument: every user of the machine can read a
 * command line (`ps`), and a resolved command carries the plan's secrets (see runner.ts).
 */
export const FROM_FD3 = 'IFS= read -r -d "" __release_pilot_step <&3; exec 3<&-; eval -- "$__release_pilot_step"';

/** A program with arguments (no shell), run as `runShort` runs a command: the core's git queries. */
export async function runProgram(file: string, args: string[], o: ShortOptions, fd3?: string): Promise<ShortResult> {
  const stdio = fd3 === undefined ? (['ignore', 'pipe', 'pipe'] as const) : (['ignore', 'pipe', 'pipe', new TextEncoder().encode(fd3)] as const);
  // Entered through a shell into its cgroup, a program that is not there would be the shell's "not found":
  // it is looked up first, so the caller sees the system's own spawn error, as without a cgroup.
  const missing = notRunnable(file, o.env?.PATH ?? process.env.PATH ?? '', o.cwd);
  if (missing) return { exitCode: undefined, all: '', stdout: '', stderr: '', timedOut: false, stopped: false, spawnError: missing };
  // Marked as a step is: once the command itself has ended, its group is proven by the marks of what is left in it.
  const mark = newStepMark();
  // In a cgroup of its own where the system has them: what it started goes with it, even out of its group.
  const container = contain(mark);
  const run = enterCommand(container, file, args);
  const child = execa(run.file, run.args, { cwd: o.cwd, env: { ...o.env, [STEP_MARK]: mark }, reject: false, all: true, detached: true, stdio: [...stdio] });
  const recorded = { pid: child.pid, mark, start: child.pid === undefined ? undefined : processStart(child.pid) };
  const tracked = trackUnlessContained(container, child.pid, mark);
  let timedOut = false;
  let stopped = false;
  const endGroup = () => {
    if (child.pid !== undefined) signalRecorded(recorded, 'SIGKILL', { groupOnly: true });
    if (container) signalContainer(container, 'SIGKILL');
    tracked?.signal('SIGKILL');
  };
  const timer = setTimeout(() => {
    timedOut = true;
    endGroup();
  }, o.timeoutMs);
  const onStop = () => {
    stopped = true;
    endGroup();
  };
  if (o.signal?.aborted) onStop();
  o.signal?.addEventListener('abort', onStop);
  try {
    const r = await child;
    return {
      exitCode: r.exitCode,
      signal: r.signal,
      all: String(r.all ?? ''),
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      timedOut,
      stopped,
      ...(r.failed && r.exitCode === undefined && !r.signal && !timedOut && !stopped ? { spawnError: r.originalMessage || r.shortMessage } : {}),
    };
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onStop);
    // What the command started and left running goes with it: a check is over when its answer is.
    endGroup();
    tracked?.stop();
    if (container) void removeWhenEmpty(container);
  }
}

/** Removes a command's cgroup once the kill has emptied it (a second at most; contain.ts prunes one left behind). */
async function removeWhenEmpty(c: Parameters<typeof removeContainer>[0]): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (!populated(c) && removeContainer(c)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Why `file` cannot be run as a program from `cwd` with `PATH`, in the words of spawn's errors, or undefined. */
export function notRunnable(file: string, pathEnv: string, cwd?: string): string | undefined {
  const runnable = (f: string) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return fs.statSync(f).isFile();
    } catch {
      return false;
    }
  };
  if (file.includes('/')) return runnable(path.resolve(cwd ?? '.', file)) ? undefined : `spawn ${file} ENOENT`;
  for (const dir of pathEnv.split(path.delimiter)) if (dir && runnable(path.join(path.resolve(cwd ?? '.', dir), file))) return undefined;
  return `spawn ${file} ENOENT`;
}
