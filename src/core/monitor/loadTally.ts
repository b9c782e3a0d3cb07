/**
 * What a load run counts: every request once, by its answer (a status, or the error that ended it),
 * its latency, the release phase it was sent in, and the longest stretch without a successful answer.
 * The load generator (loadTraffic.ts) records into it; the summary and its text are read from it.
 */

/** How a request ended: an HTTP status, or `timeout`, `refused`, `reset` or another connection error's code. */
export type Outcome = number | string;

export interface PhaseCounts {
  requests: number;
  ok: number;
  /** Answers that were not 2xx (4xx and 5xx). */
  non2xx: number;
  /** No answer: a connection error or a timeout. */
  connErrors: number;
  /** Answers by the label of the one who answered (`--label-header`): ok and failed. */
  byServer: Record<string, { ok: number; failed: number }>;
  /** Answers by label and the `version` field of a JSON answer: `label@version` → count. */
  byVersion: Record<string, number>;
  /** The first failures, each with when, what and who. */
  errors: { at: string; status: number; error?: string; server?: string }[];
}

export interface Stretch {
  ms: number;
  from?: string;
  to?: string;
}

export interface WritesCheck {
  acknowledged: number;
  /** Undefined when the writes were not read back. */
  present?: number;
  lost?: number;
  lostIds: number[];
  /** True when the newest run of the workspace started a rollback before the writes were read back. */
  afterRollback: boolean;
  line: string;
  error?: string;
}

export interface LoadSummary {
  url: string;
  rate: number;
  seconds: number;
  /** Requests due by the rate; sent ones plus those the concurrency limit held back. */
  due: number;
  sent: number;
  answered: number;
  achievedRps: number;
  /** Answers by status, and requests without one by why (`timeout`, `refused`, `reset`, `over concurrency`). */
  byStatus: Record<string, number>;
  /** Failures: connection errors, timeouts, 5xx and requests the concurrency limit did not send. */
  failures: number;
  /** Reads and writes sent (writes: those with --write). */
  reads: number;
  writes: number;
  latencyMs: { count: number; p50: number; p95: number; p99: number; max: number };
  /** The longest stretch in which no request got a successful (2xx) answer. */
  longestWithoutSuccess: Stretch;
  /** The longest stretch in which no request got any answer at all. */
  longestSilence: Stretch;
  /** By release phase (`before` when no workspace is watched or no run started yet). */
  counts: Record<string, PhaseCounts>;
  /** When each phase began, as the journal said it (with a watched workspace). */
  phases: { phase: string; at: string }[];
  writesCheck?: WritesCheck;
  /** Whether the run ended by a signal or a stop before its duration. */
  stoppedEarly: boolean;
}

/** A failure for the summary and the exit code: no answer, a 5xx, or not sent for the concurrency limit. */
export function isFailure(o: Outcome): boolean {
  return typeof o === 'string' || o >= 500;
}

const isOk = (o: Outcome) => typeof o === 'number' && o >= 200 && o < 300;

export class LoadTally {
  readonly byStatus: Record<string, number> = {};
  readonly counts: Record<string, PhaseCounts> = {};
  readonly phases: { phase: string; at: string }[] = [];
  private readonly latencies: number[] = [];
  private lastAnswer: number;
  private lastSuccess: number;
  silence: Stretch = { ms: 0 };
  withoutSuccess: Stretch = { ms: 0 };
  failures = 0;
  answered = 0;

  constructor(private readonly startedAt: number) {
    this.lastAnswer = startedAt;
    this.lastSuccess = startedAt;
  }

  /** Counts one request: `phase` is the phase it was sent in, `sentAt`/`at` when it went and ended (ms). */
  record(r: { phase: string; outcome: Outcome; sentAt: number; at: number; server?: string; version?: string; error?: string }): void {
    const key = String(r.outcome);
    this.byStatus[key] = (this.byStatus[key] ?? 0) + 1;
    const b = (this.counts[r.phase] ??= { requests: 0, ok: 0, non2xx: 0, connErrors: 0, byServer: {}, byVersion: {}, errors: [] });
    b.requests++;
    const ok = isOk(r.outcome);
    if (ok) b.ok++;
    else if (typeof r.outcome === 'number') b.non2xx++;
    else b.connErrors++;
    if (isFailure(r.outcome)) this.failures++;
    if (r.outcome === 'over concurrency') return;
    this.latencies.push(r.at - r.sentAt);
    const server = r.server ?? (typeof r.outcome === 'number' ? 'answered' : 'none');
    const s = (b.byServer[server] ??= { ok: 0, failed: 0 });
    if (ok) s.ok++;
    else s.failed++;
    if (r.version !== undefined) b.byVersion[`${server}@${r.version}`] = (b.byVersion[`${server}@${r.version}`] ?? 0) + 1;
    if (!ok && b.errors.length < 20)
      b.errors.push({ at: new Date(r.at).toISOString(), status: typeof r.outcome === 'number' ? r.outcome : 0, error: r.error, server });
    if (typeof r.outcome === 'number') {
      this.answered++;
      this.silence = longer(this.silence, this.lastAnswer, r.at);
      this.lastAnswer = Math.max(this.lastAnswer, r.at);
    }
    if (ok) {
      this.withoutSuccess = longer(this.withoutSuccess, this.lastSuccess, r.at);
      this.lastSuccess = Math.max(this.lastSuccess, r.at);
    }
  }

  /** The stretches as they stand at `now`: a service silent since its last answer counts up to now. */
  stretches(now: number): { silence: Stretch; withoutSuccess: Stretch } {
    return { silence: longer(this.silence, this.lastAnswer, now), withoutSuccess: longer(this.withoutSuccess, this.lastSuccess, now) };
  }

  latency(): LoadSummary['latencyMs'] {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : 0);
    return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.length ? sorted[sorted.length - 1] : 0 };
  }

  elapsed(now: number): number {
    return (now - this.startedAt) / 1000;
  }
}

function longer(s: Stretch, from: number, to: number): Stretch {
  return to - from > s.ms ? { ms: Math.round(to - from), from: new Date(from).toISOString(), to: new Date(to).toISOString() } : s;
}

/** The summary as a person reads it, the same in the CLI and the demos. */
export function loadSummaryText(s: LoadSummary): string[] {
  const l = s.latencyMs;
  const statuses = Object.entries(s.byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  const lines = [
    `${s.sent} requests in ${s.seconds.toFixed(1)} s (${s.achievedRps.toFixed(1)}/s answered of ${s.rate}/s asked; ${s.reads} reads, ${s.writes} writes)${s.stoppedEarly ? ', stopped early' : ''}`,
    `answers: ${statuses || 'none'}`,
    `failures: ${s.failures} (connection errors, timeouts, 5xx${s.byStatus['over concurrency'] ? ', not sent for the concurrency limit' : ''})`,
    `latency of ${l.count} requests: p50 ${l.p50} ms, p95 ${l.p95} ms, max ${l.max} ms`,
    `longest stretch without a successful answer: ${s.longestWithoutSuccess.ms} ms` +
      (s.longestWithoutSuccess.from ? ` (${s.longestWithoutSuccess.from} → ${s.longestWithoutSuccess.to})` : ''),
  ];
  if (s.writesCheck) lines.push(s.writesCheck.line + (s.writesCheck.error ? ` (${s.writesCheck.error})` : ''));
  if (s.writesCheck?.lostIds.length) lines.push(`  lost writes: ${s.writesCheck.lostIds.slice(0, 10).join(', ')}`);
  return lines;
}
