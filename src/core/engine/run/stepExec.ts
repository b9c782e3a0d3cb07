import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PhaseId } from '../../model/schema';
import { describeResult, type StepResult } from '../../exec/runner';
import type { RunContext } from './context';
import { ReleaseStopped } from './stopLatch';

export const DEFAULT_STEP_TIMEOUT_MS = 15 * 60_000;

/** A step's `outputCapMiB` in bytes; undefined leaves the runner's default. */
export const outputCapBytes = (mib: number | undefined): number | undefined => (mib === undefined ? undefined : mib * 1024 * 1024);

type StepPhase = PhaseId | 'rollback';
export type Judge = (log: string) => { ok: boolean; detail: string };

function logPath(c: RunContext, key: string): string {
  const attempt = (c.state.steps[key]?.attempts ?? 0) + 1;
  return path.join(c.runDir, 'logs', `${key.replace(/[^A-Za-z0-9._-]+/g, '_')}.${attempt}.log`);
}

/** Output with a prefix at the start of each line (targets side by side share a terminal); chunks may cut lines anywhere. */
function prefixLines(prefix: string, out: (chunk: string) => void): (chunk: string) => void {
  let atStart = true;
  return (chunk) => {
    if (!chunk) return;
    const text = (atStart ? prefix : '') + chunk.replace(/\n(?=[^])/g, `\n${prefix}`);
    atStart = chunk.endsWith('\n');
    out(text);
  };
}

/** Runs a command as a journaled step; returns its result. */
export async function execStep(
  c: RunContext,
  key: string,
  phase: StepPhase,
  name: string,
  command: string,
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; judge?: Judge; linePrefix?: string; outputCap?: number } = {},
): Promise<{ ok: boolean; result: StepResult; log: string }> {
  const log = logPath(c, key);
  const cwd = opts.cwd ? path.resolve(c.o.workspace, opts.cwd) : c.o.workspace;
  // Journal the start before the process exists: a step the disk did not record never runs.
  c.append({ type: 'step.started', phase, step: key, name, command, log: path.relative(c.runDir, log) });
  const running = c.runner.run(
    {
      command,
      cwd,
      // The plan's env reaches every command, the ones that pass no env of their own too (log scans, announcements).
      env: { ...c.env, ...c.stepEnv({}), ...opts.env },
      timeoutMs: opts.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
      logFile: log,
      color: c.o.color,
      input: c.o.stepInput === true,
      ...(opts.outputCap !== undefined ? { outputCap: opts.outputCap } : {}),
    },
    opts.linePrefix === undefined ? (chunk) => c.o.onOutput?.(key, chunk) : prefixLines(opts.linePrefix, (chunk) => c.o.onOutput?.(key, chunk)),
  );
  c.current = running;
  c.running.add(running);
  if (running.pid !== undefined)
    c.append({ type: 'step.running', step: key, pid: running.pid, mark: running.mark, ...(running.start ? { start: running.start } : {}) });
  c.o.onStepStarted?.(key, running);
  const ended = await running.result;
  c.running.delete(running);
  if (c.current === running) c.current = undefined;
  const stoppedBy = ended.cancelled ? c.stopLatch.by : undefined;
  const result = stoppedBy ? { ...ended, error: `stopped by ${stoppedBy}: its process group was ended` } : ended;
  // Stopped outside a rollback: the step did not fail, it was cut short; resume asks what to do with it.
  if (stoppedBy && phase !== 'rollback') {
    c.append({ type: 'step.interrupted', step: key, message: result.error! });
    throw new ReleaseStopped(stoppedBy);
  }
  const ran = result.exitCode === 0 && !result.timedOut && !result.cancelled;
  // A judged step (a log scan) is judged before its one result is journaled.
  const judged = ran && opts.judge ? opts.judge(log) : undefined;
  const ok = ran && (judged?.ok ?? true);
  c.append({
    type: 'step.finished',
    step: key,
    exitCode: result.exitCode,
    signal: result.signal,
    durationMs: result.durationMs,
    timedOut: result.timedOut,
    cancelled: result.cancelled,
    tail: result.tail,
    ok,
    message: judged?.detail ?? describeResult(result),
  });
  return { ok, result, log };
}

export type PseudoBody = (write: (line: string) => void) => Promise<{ ok: boolean; message: string }>;

/** A check that is not a command (HTTP, baseline, notification), journaled like a step. */
export async function pseudoStep(c: RunContext, key: string, phase: StepPhase, name: string, describe: string, body: PseudoBody): Promise<boolean> {
  const log = logPath(c, key);
  fs.mkdirSync(path.dirname(log), { recursive: true });
  c.append({ type: 'step.started', phase, step: key, name, command: describe, log: path.relative(c.runDir, log) });
  const t0 = c.clock.now();
  const lines: string[] = [];
  const write = (line: string) => {
    const masked = c.masker.mask(line);
    lines.push(masked);
    fs.appendFileSync(log, masked + '\n');
    c.o.onOutput?.(key, masked + '\r\n');
  };
  let out: { ok: boolean; message: string };
  try {
    out = await c.stopLatch.race(body(write));
  } catch (e) {
    if (e instanceof ReleaseStopped) {
      c.append({ type: 'step.interrupted', step: key, message: e.message });
      throw e;
    }
    out = { ok: false, message: c.masker.mask((e as Error).message) };
    write(out.message);
  }
  c.append({
    type: 'step.finished',
    step: key,
    exitCode: out.ok ? 0 : 1,
    signal: null,
    durationMs: c.clock.now() - t0,
    timedOut: false,
    cancelled: false,
    tail: lines.slice(-20).join('\n'),
    ok: out.ok,
    message: out.message,
  });
  return out.ok;
}
