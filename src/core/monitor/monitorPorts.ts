// What a Monitor is given and what it answers: its dependencies, a breach and the outcome of a watch.
import type { PlainNewEvent } from '../model/statusTransitions';
import type { Clock } from '../base/clock';

export interface Breach {
  metric: string;
  reason: string;
  /** When the breach was confirmed (clock ms): the start of the rollback latency. */
  confirmedAt: number;
  kind: 'guard' | 'errors' | 'statistical';
}

export type BreachDecision = 'rollback' | 'pause' | 'continue';

export interface MonitorDeps {
  /** The monitor journals samples, baselines and verdicts; never a status change. */
  append: (e: PlainNewEvent) => void;
  clock: Clock;
  signal: AbortSignal;
  /** Called for `onBreach: prompt`. */
  decide?(b: Breach): Promise<BreachDecision>;
  onTick?(elapsedMs: number, windowMs: number): void;
  /**
   * How the metrics' texts resolve while the baseline is captured, when that differs from the
   * window: a blue-green metric of `${deploy.color}` measures the live (active) colour then.
   */
  resolveForBaseline?: (s: string) => string;
  /** The plan's `env` as written: `command` metrics run with it. */
  env?: Record<string, string>;
  /** Variables a `command` metric's environment holds as they are, under the plan's `env`: the values its command reads as data. */
  data?: Record<string, string>;
}

export type WatchOutcome = { ok: true } | { ok: false; breach: Breach; action: 'rollback' | 'pause' } | { ok: false; aborted: true };

/**
 * A canary's analysis: a watch of its own length, judged sample by sample against the guards, its
 * samples kept apart from the monitoring window's; the window's statistical verdict is not given.
 */
export interface AnalysisWatch {
  windowMs: number;
  /** The canary's weight in percent: a metric's `evidence.total` share is weighed against it. */
  weight?: number;
}
