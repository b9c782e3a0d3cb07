import { SIGNAL_NUMBERS } from '../core/engine/run/stopLatch';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

interface Stoppable {
  stop(by: string): void;
}

/**
 * Turns SIGINT, SIGTERM and SIGHUP (and an output that went away) into a journaled stop of the
 * release instead of Node's default exit, which would leave the running step's processes behind.
 * Installed before the release exists: a signal that comes first is passed on when it does.
 */
export class SignalStop {
  by: string | undefined;
  private count = 0;
  private release: Stoppable | undefined;
  private readonly onSignal = (sig: NodeJS.Signals) => this.receive(sig);
  private readonly onOutputError = (e: NodeJS.ErrnoException) => {
    // The reader of our output is gone (a closed pipe, a hung-up terminal): nobody can answer or
    // watch any more, so the release stops as on a hangup. Writing on would only fail again.
    this.outputGone = true;
    if (e.code === 'EPIPE' || e.code === 'EIO') this.receive('SIGPIPE');
  };
  outputGone = false;

  constructor(private readonly say: (text: string) => void) {
    for (const sig of STOP_SIGNALS) process.on(sig, this.onSignal);
    process.stdout.on('error', this.onOutputError);
    process.stderr.on('error', this.onOutputError);
  }

  attach(release: Stoppable): void {
    this.release = release;
    if (this.by) release.stop(this.by);
  }

  private receive(sig: string): void {
    this.by ??= sig;
    this.count++;
    if (!this.outputGone) {
      this.say(
        this.count === 1
          ? `\n${sig}: stopping the release: the running step's process tree gets SIGTERM, then SIGKILL after the grace period; the run stays resumable. Send the signal again to kill the step at once.`
          : `\n${sig} again: killing the running step's process tree now`,
      );
    }
    this.release?.stop(sig);
  }

  /** 128 + the signal's number once a signal stopped the release, as a shell reports it. */
  exitCode(): number | undefined {
    return this.by ? 128 + SIGNAL_NUMBERS[this.by] : undefined;
  }

  dispose(): void {
    for (const sig of STOP_SIGNALS) process.off(sig, this.onSignal);
    process.stdout.off('error', this.onOutputError);
    process.stderr.off('error', this.onOutputError);
  }
}
