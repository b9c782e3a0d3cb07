import * as fs from 'node:fs';
import * as path from 'node:path';
import { FROM_FD3 } from './short';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as delay } from 'node:timers/promises';
import { execa, type Result } from 'execa';
import { SecretMasker } from './mask';
import { plainText } from '../base/text';
import { sleep } from '../base/clock';
import type { StepEnd } from '../model/events';
import { newStepMark, processesWithMark, STEP_MARK } from './cookie';
import { processStart, type ProcessStart } from './identity';
import { signalRecorded } from './signal';
import { contain, enterCommand, populated, releaseLifeline, removeContainer, type Container } from './contain';
import { trackUnlessContained, type Descendants } from './tracker';

export interface StepSpec {
  command: string;
  cwd: string;
  /** The whole environment of the step (nothing is inherited implicitly). */
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Masked output is appended here. */
  logFile: string;
  /** Ask tools for colour: the output is shown in a terminal. */
  color?: boolean;
  /** Input is written to the step while it runs (a terminal); otherwise its standard input ends at once, as `< /dev/null`. */
  input?: boolean;
  /** The most bytes of output kept (log and terminal); the rest is counted and let go. Default: DEFAULT_OUTPUT_CAP. */
  outputCap?: number;
}

/** A step's output kept at most (16 MiB): beyond it, the log says how many bytes were not kept. */
export const DEFAULT_OUTPUT_CAP = 16 * 1024 * 1024;
/** After the step's shell exits, output still coming (from a child that inherited the pipe) is read this long, then let go. */
export const DRAIN_AFTER_EXIT_MS = 500;

export interface StepResult extends StepEnd {
  /** Set when the process could not be started, or its output could not be kept. */
  error?: string;
}

export interface RunningStep {
  readonly pid: number | undefined;
  /** The value of \`RELEASE_PILOT_STEP\` in every process of this step (see cookie.ts). */
  readonly mark: string;
  /** When the step's shell started, read as it was spawned: with the pid and the mark, what proves a process is the step's. */
  readonly start: ProcessStart | undefined;
  readonly result: Promise<StepResult>;
  /** Sends input to the step's standard input. */
  write(data: string): void;
  /** Ends the whole process tree: SIGTERM, then SIGKILL after the grace period (`now`: SIGKILL at once). */
  cancel(now?: boolean): void;
}

const TAIL_LINES = 20;

/**
 * Node gives a child Unix sockets for stdout and stderr, and `/dev/stdout` or `/dev/stderr` cannot be
 * opened on a socket ("No such device or address"): `tee /dev/stderr` fails. So the step's shell
 * first puts one real pipe behind both, drained by a `cat` into Node's socket, then replaces itself
 * with the step's own shell: the step keeps its process id (exit code, signal and process group as
 * before) and the `cat` belongs to its group, so a timeout or cancel ends it too. One pipe for both
 * streams keeps their order: the log and the terminal show them as one stream anyway, and two relays
 * could deliver a stderr line before the stdout line written ahead of it.
 * `BASH_ENV` is handed on only to the step's shell, so a startup file runs once; no shell of the step reads ~/.bashrc.
 * The command itself comes on file descriptor 3, never in an argument: a command line is readable by
 * every user of the machine (`ps`), and a resolved command carries the plan's `${env:…}` secrets.
 * The step's shell reads it, closes the descriptor and runs it (eval); its $0 is still `bash`.
 */
const REAL_PIPES = `exec > >(exec "$1" 3<&-) 2>&1
if [ -n "\${RELEASE_PILOT_BASH_ENV+x}" ]; then export BASH_ENV="$RELEASE_PILOT_BASH_ENV"; unset RELEASE_PILOT_BASH_ENV; fi
exec "$BASH" --norc -c '${FROM_FD3}' bash`;
// An absolute path, so a step's own PATH cannot take its output away.
const CAT = ['/bin/cat', '/usr/bin/cat'].find((p) => fs.existsSync(p)) ?? 'cat';

function stepEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.BASH_ENV === undefined) return env;
  const { BASH_ENV, ...rest } = env;
  return { ...rest, RELEASE_PILOT_BASH_ENV: BASH_ENV };
}

/** How a run is going: what ended it and what it printed last, for its result. */
interface RunState {
  timedOut: boolean;
  cancelled: boolean;
  /** Aborted when the step is to be killed at once (a second stop): the grace is not waited out. */
  killNow: AbortController;
  killTimer?: NodeJS.Timeout;
  logError?: string;
  tail: string;
  /** Bytes of output kept so far, and not kept past the cap. */
  kept: number;
  dropped: number;
}

export class StepRunner {
  constructor(
    private readonly masker: SecretMasker,
    private readonly graceMs = 3000,
  ) {}

  run(spec: StepSpec, onOutput: (maskedChunk: string) => void = () => {}): RunningStep {
    fs.mkdirSync(path.dirname(spec.logFile), { recursive: true });
    const log = fs.openSync(spec.logFile, 'a');
    const state: RunState = { timedOut: false, cancelled: false, killNow: new AbortController(), tail: '', kept: 0, dropped: 0 };
    const cap = spec.outputCap ?? DEFAULT_OUTPUT_CAP;
    const sink = this.masker.stream((masked) => {
      const text = keepWithin(masked, cap, state);
      if (!text) return;
      if (!state.logError) {
        state.logError = writeLog(log, spec.logFile, text);
        // The step's output can no longer be kept: the step is ended, as its record would be incomplete.
        if (state.logError) killTree();
      }
      state.tail = (state.tail + text).slice(-8192);
      onOutput(text);
    });
    const started = Date.now();
    const mark = newStepMark();
    const container = contain(mark);
    const child = spawnStep(spec, mark, container);
    const pid = child.pid;
    // Read before this turn of the event loop ends: the child cannot be reaped before, so the pid is still its.
    const step = { pid, mark, start: pid === undefined ? undefined : processStart(pid), container, tracked: trackUnlessContained(container, pid, mark) };
    const killTree = () => {
      if (pid === undefined || state.killTimer) return;
      signalRecorded(step, 'SIGTERM');
      state.killTimer = setTimeout(() => signalRecorded(step, 'SIGKILL'), this.graceMs);
    };
    const timeout = setTimeout(() => {
      state.timedOut = true;
      killTree();
    }, spec.timeoutMs);
    // Output past the cap is only counted: neither decoded nor masked, so a flood costs no more than reading it.
    const decoder = new StringDecoder('utf8');
    const take = (d: Buffer) => {
      if (state.kept >= cap) state.dropped += d.length;
      else sink.write(decoder.write(d));
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    child.stdin?.on('error', () => {});
    // Nobody will type into it: a step that reads its input gets end-of-file, not a wait until its timeout.
    if (!spec.input) child.stdin?.end();

    // The step is over when its shell is: its watcher goes without killing anything (a daemon it started on purpose stays).
    child.once('exit', () => releaseLifeline(child.stdio[LIFELINE_FD] as unknown as NodeJS.WritableStream | undefined));
    const exited = new Promise<Pick<Result, 'exitCode' | 'signal' | 'failed' | 'shortMessage'>>((resolve) =>
      child.once('exit', (code, signal) => resolve({ exitCode: code ?? undefined, signal: signal ?? undefined, failed: code !== 0, shortMessage: undefined })),
    );
    const result = (async (): Promise<StepResult> => {
      // The step ends when its shell does: output a daemon still sends down the inherited pipe is read a little longer, then let go.
      const first = await Promise.race([child.then((x) => ({ x, leaderOnly: false })), exited.then((x) => ({ x, leaderOnly: true }))]);
      const r = first.x;
      if (first.leaderOnly) {
        const drained = await Promise.race([child.then(() => true), delay(DRAIN_AFTER_EXIT_MS).then(() => false)]);
        if (!drained) {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }
      }
      clearTimeout(timeout);
      await this.endGroup(step, state);
      sink.write(decoder.end());
      sink.end();
      if (state.dropped > 0) {
        const marker = `\n… ${state.dropped} bytes not kept (the step's output cap of ${cap} bytes)\n`;
        state.logError ??= writeLog(log, spec.logFile, marker);
        state.tail += marker;
        onOutput(marker);
      }
      fs.closeSync(log);
      return this.stepResult(r, state, started);
    })();

    return {
      pid,
      mark,
      start: step.start,
      result,
      write: (data) => {
        if (child.stdin && !child.stdin.destroyed) child.stdin.write(data);
      },
      cancel: (now = false) => {
        state.cancelled = true;
        if (!now) return killTree();
        state.killNow.abort();
        if (pid !== undefined) signalRecorded(step, 'SIGKILL');
      },
    };
  }

  /**
   * Anything of the step still alive after the leader ended (a forked child holding no pipe, a child
   * that left the group) is ended only when the step was cut short; a step may start a daemon on purpose.
   */
  private async endGroup(
    step: { pid: number | undefined; mark: string; start: ProcessStart | undefined; container: Container | undefined; tracked: Descendants | undefined },
    state: RunState,
  ): Promise<void> {
    const { pid, mark, container, tracked } = step;
    if ((state.timedOut || state.cancelled) && pid !== undefined) {
      if (!state.killNow.signal.aborted) signalRecorded(step, 'SIGTERM');
      await waitTreeGone(pid, mark, container, tracked, this.graceMs, state.killNow.signal);
      signalRecorded(step, 'SIGKILL');
    }
    tracked?.stop();
    if (state.killTimer) clearTimeout(state.killTimer);
    // An emptied cgroup goes at once; one holding a daemon the step started on purpose stays until it is empty (contain.ts prunes it).
    if (container) await waitFor(() => !populated(container) && removeContainer(container), state.cancelled || state.timedOut ? 2000 : 0);
  }

  private stepResult(r: Pick<Result, 'exitCode' | 'signal' | 'failed' | 'shortMessage'>, state: RunState, started: number): StepResult {
    if (state.logError) state.cancelled = true;
    const lines = plainText(state.tail).split('\n');
    if (lines.at(-1) === '') lines.pop();
    const spawnError =
      r.exitCode === undefined && !r.signal && r.failed ? `could not start: ${this.masker.mask(r.shortMessage ?? 'failed to start')}` : undefined;
    return {
      exitCode: r.exitCode ?? null,
      signal: r.signal ?? null,
      durationMs: Date.now() - started,
      timedOut: state.timedOut,
      cancelled: state.cancelled,
      tail: lines.slice(-TAIL_LINES).join('\n'),
      ...(spawnError || state.logError ? { error: spawnError ?? state.logError } : {}),
    };
  }
}

const LIFELINE_FD = 4;

/** Starts the step's shell, its environment marked with the step's \`mark\`, inside its cgroup when it has one. */
function spawnStep(spec: StepSpec, mark: string, container: Container | undefined) {
  const colorEnv: Record<string, string> = spec.color ? { FORCE_COLOR: '1', CLICOLOR_FORCE: '1' } : {};
  // detached: the step leads its own process group, so a timeout or cancel ends its children too.
  // --norc: the step's stdin is a socket, and bash reads ~/.bashrc when its stdin is a socket and SHLVL
  // is unset (it guesses it was started by rshd), as in a VS Code started from a desktop.
  // fd 4: the step's lifeline (contain.ts): if this process dies with the step running, its cgroup is killed.
  const run = enterCommand(container, 'bash', ['--norc', '-c', REAL_PIPES, 'bash', CAT], LIFELINE_FD);
  return execa(run.file, run.args, {
    cwd: spec.cwd,
    env: stepEnv({ ...colorEnv, ...spec.env, [STEP_MARK]: mark }),
    extendEnv: false,
    detached: true,
    reject: false,
    buffer: false,
    stdio: ['pipe', 'pipe', 'pipe', new TextEncoder().encode(spec.command), container ? 'pipe' : 'ignore'],
    cleanup: true,
    encoding: 'utf8',
  });
}

/** The part of `text` that still fits under the cap; what does not is counted in `state.dropped`. */
function keepWithin(text: string, cap: number, state: RunState): string {
  const bytes = Buffer.byteLength(text);
  if (state.kept + bytes <= cap) {
    state.kept += bytes;
    return text;
  }
  const room = Math.max(0, cap - state.kept);
  // Cut on a character: a partial UTF-8 sequence at the cut is not kept.
  const kept = new StringDecoder('utf8').write(Buffer.from(text).subarray(0, room));
  const keptBytes = Buffer.byteLength(kept);
  state.kept = cap;
  state.dropped += bytes - keptBytes;
  return kept;
}

/** Appends masked output to the step log; the reason when it can no longer be written. */
function writeLog(fd: number, file: string, text: string): string | undefined {
  try {
    fs.writeSync(fd, text);
    return undefined;
  } catch (e) {
    return `cannot write the step log ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitTreeGone(
  pid: number,
  mark: string,
  container: Container | undefined,
  tracked: Descendants | undefined,
  ms: number,
  hurry: AbortSignal,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !hurry.aborted) {
    if (!groupAlive(pid) && processesWithMark(mark).length === 0 && !(container && populated(container)) && !tracked?.live().length) return;
    await sleep(50, hurry);
  }
}

/** Polls `done` every 20 ms for up to `ms` (once at least); whether it held. */
async function waitFor(done: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= end) return false;
    await delay(20);
  }
}

export function describeResult(r: StepResult): string {
  if (r.error) return r.error;
  if (r.cancelled) return 'cancelled';
  if (r.timedOut) return 'timed out';
  if (r.signal) return `killed by ${r.signal}`;
  return `exit code ${r.exitCode}`;
}
