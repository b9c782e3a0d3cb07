import { execa } from 'execa';

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
}

export interface ShortOptions {
  cwd: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

/**
 * A short command a gate, check or metric runs (the verdict command, a checklist or health
 * command, the active colour, a metric command): in its own process group, ended whole on timeout
 * or when the release is stopped, so a child it left behind can neither outlive it nor hold its
 * output open for ever.
 */
export function runShort(command: string, o: ShortOptions): Promise<ShortResult> {
  return runProgram('bash', ['-c', command], o);
}

/** A program with arguments (no shell), run as `runShort` runs a command: the core's git queries. */
export async function runProgram(file: string, args: string[], o: ShortOptions): Promise<ShortResult> {
  const child = execa(file, args, { cwd: o.cwd, env: o.env, reject: false, all: true, detached: true, stdin: 'ignore' });
  let timedOut = false;
  let stopped = false;
  const endGroup = () => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
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
    };
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onStop);
    // What the command started and left running goes with it: a check is over when its answer is.
    endGroup();
  }
}
