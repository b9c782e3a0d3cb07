import { execa } from 'execa';

export interface ShortResult {
  exitCode: number | undefined;
  /** stdout and stderr interleaved. */
  all: string;
  stdout: string;
  timedOut: boolean;
  stopped: boolean;
}

/**
 * A short command a gate or check runs (the verdict command, a checklist or health command, the
 * active colour): in its own process group, ended whole on timeout or when the release is stopped,
 * so a child it left behind can neither outlive it nor hold its output open for ever.
 */
export async function runShort(command: string, o: { cwd: string; timeoutMs: number; signal?: AbortSignal }): Promise<ShortResult> {
  const child = execa('bash', ['-c', command], { cwd: o.cwd, reject: false, all: true, detached: true, stdin: 'ignore' });
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
    return { exitCode: r.exitCode, all: String(r.all ?? ''), stdout: String(r.stdout ?? ''), timedOut, stopped };
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onStop);
    // What the command started and left running goes with it: a check is over when its answer is.
    endGroup();
  }
}
