import { ErrorCodes } from '../../base/errors';

/** Thrown through the engine when the release was asked to stop (a signal, a closing window). */
export class ReleaseStopped extends Error {
  override name = 'ReleaseStopped';
  readonly code = ErrorCodes.Stopped;
  constructor(readonly by: string) {
    super(`stopped by ${by}`);
  }
}

/**
 * The one stop request of a release, and its one interrupt. Every wait that is not a step (a
 * prompt, a health check's interval, an HTTP check's backoff, the monitoring samples, a canary's
 * analysis) takes `signal` or races the stop, so neither a stop nor a rollback request sits a wait out.
 */
export class StopLatch {
  by: string | undefined;
  /** How many times a stop was asked: from the second on, the step's group is killed at once. */
  count = 0;
  private fire!: (e: ReleaseStopped) => void;
  /** The release's own waits: ended by the first stop or a rollback request. */
  private readonly forward = new AbortController();
  /** The rollback's waits: a rollback under way finishes first, so only a second stop ends them. */
  private readonly rollback = new AbortController();
  private rollingBack = false;
  private readonly rollbackAsked = new Promise<void>((resolve) => this.forward.signal.addEventListener('abort', () => resolve(), { once: true }));
  private readonly stopped = new Promise<never>((_resolve, reject) => {
    this.fire = reject;
  });

  constructor() {
    // Nobody may be racing when the stop comes: that is not an unhandled rejection.
    this.stopped.catch(() => {});
  }

  /**
   * The signal every wait of the run takes now, and every check's command (in its own group) ends
   * with: before the rollback, aborted by a stop or a rollback request; during it, by a second stop.
   */
  get signal(): AbortSignal {
    return this.rollingBack ? this.rollback.signal : this.forward.signal;
  }

  request(by: string): number {
    this.by ??= by;
    this.count++;
    if (this.count === 1) {
      this.fire(new ReleaseStopped(this.by));
      this.forward.abort();
    } else this.rollback.abort();
    return this.count;
  }

  /** A rollback was asked for: every wait of the release ends now, and the rollback's own begin. */
  interrupt(): void {
    this.rollingBack = true;
    this.forward.abort();
  }

  /**
   * `p` (a person's answer), or the stop. With `ifRollback`, a rollback asked for meanwhile (the
   * status bar, a failed check elsewhere) is the answer: nobody is left waiting on a moot question.
   */
  race<T>(p: Promise<T>, ifRollback?: () => T): Promise<T> {
    if (this.by) return Promise.reject(new ReleaseStopped(this.by));
    if (!ifRollback) return Promise.race([p, this.stopped]);
    // A stop aborts the same signal: the stop wins, as its rejection is already settled when this runs.
    return Promise.race([p, this.stopped, this.rollbackAsked.then(() => (this.by ? this.stopped : ifRollback()))]);
  }

  throwIfStopped(): void {
    if (this.by) throw new ReleaseStopped(this.by);
  }
}

/** Signal numbers for the exit status a shell expects of a process a signal stopped (128 + n). */
export const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGPIPE: 13, SIGTERM: 15 };
