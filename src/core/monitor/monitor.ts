import type { Monitoring } from '../model/schema-monitoring';
import type { AnalysisWatch, Breach, BreachDecision, MonitorDeps, WatchOutcome } from './monitorPorts';
import { createSource, type MetricSource, type Sample } from './sources';
import { evaluateGuard, guardRules } from './guard';
import { mean, stdev } from './stats';
import { decideVerdict } from './metricVerdict';
import { untilAborted } from '../base/clock';
import { classify } from './evidence';

interface Track {
  id: string;
  source: MetricSource;
  baseline?: number;
  baselineSamples: number[];
  /** A value from the plan rather than captured samples: no distribution to compare against. */
  fixedBaseline: boolean;
  window: number[];
  /** Samples taken in the window, usable or not. */
  taken: number;
  lastProblem?: string;
  consecutiveBreaches: number;
  consecutiveErrors: number;
}

export class Monitor {
  private readonly tracks: Track[];
  /** The sources the baseline is sampled from (the window's, unless `resolveForBaseline` says otherwise). */
  private readonly baselineSources: MetricSource[];
  /** The canary's weight during its analysis (the share its evidence is weighed against); none in the window. */
  private weight?: number;

  constructor(
    private readonly cfg: Monitoring,
    resolve: (s: string) => string,
    cwd: string,
    private readonly deps: MonitorDeps,
  ) {
    this.tracks = cfg.metrics.map((m) => ({
      id: m.id,
      source: createSource(m, resolve, cwd, deps.env, deps.data),
      baselineSamples: [],
      fixedBaseline: false,
      window: [],
      taken: 0,
      consecutiveBreaches: 0,
      consecutiveErrors: 0,
    }));
    const rb = deps.resolveForBaseline;
    this.baselineSources = rb ? cfg.metrics.map((m) => createSource(m, rb, cwd, deps.env, deps.data)) : this.tracks.map((t) => t.source);
  }

  /** Closes what the sources hold open between samples; the monitor is not used after it. */
  async close(): Promise<void> {
    await Promise.all([...new Set([...this.tracks.map((t) => t.source), ...this.baselineSources])].map((src) => src.close?.() ?? Promise.resolve()));
  }

  describe(id: string): string {
    return this.tracks.find((t) => t.id === id)?.source.describe ?? id;
  }

  /** Baselines already in the journal (a resumed release) are reused, not captured again. */
  restoreBaseline(id: string, samples: number[], value: number, fixed = false): void {
    const t = this.tracks.find((x) => x.id === id);
    if (t) Object.assign(t, { baseline: value, baselineSamples: samples, fixedBaseline: fixed });
  }

  get needsBaseline(): boolean {
    return this.tracks.some((t) => t.baseline === undefined);
  }

  /** One round of samples; undefined when the run was interrupted first (a slow source is not waited out). */
  private sampleAll(sources = this.tracks.map((t) => t.source)): Promise<Sample[] | undefined> {
    const round = Promise.all(
      sources.map((src) => src.sample(this.deps.signal).catch((e: Error): Sample => ({ value: null, status: 'error', message: e.message }))),
    );
    return untilAborted(round, this.deps.signal);
  }

  /** The round of samples due at `at` (clock ms): the one wait of the monitor; undefined once the run is interrupted. */
  private async sampleAt(at: number, sources?: MetricSource[]): Promise<Sample[] | undefined> {
    const { clock, signal } = this.deps;
    await clock.sleep(at - clock.now(), signal);
    return signal.aborted ? undefined : this.sampleAll(sources);
  }

  /** Sources that derive rates need one scrape before their first value. */
  async prime(sources?: MetricSource[]): Promise<void> {
    await this.sampleAll(sources);
  }

  async captureBaseline(): Promise<void> {
    const { clock, signal, append } = this.deps;
    const fixed = this.cfg.baseline.fixed;
    if (fixed) {
      for (const t of this.tracks.filter((x) => x.baseline === undefined)) {
        const v = fixed[t.id];
        if (v === undefined) continue;
        t.baseline = v;
        t.fixedBaseline = true;
        append({ type: 'baseline.captured', metric: t.id, samples: [v], mean: v, stdev: 0, fixed: true });
      }
      await this.readProductionOnce();
      return;
    }
    const duration = this.cfg.baseline.capture ?? 0;
    await this.prime(this.baselineSources);
    const start = clock.now();
    for (let k = 1; !signal.aborted; k++) {
      const samples = await this.sampleAt(start + k * this.cfg.interval, this.baselineSources);
      if (!samples) return;
      samples.forEach((_, i) => {
        const c = classify(this.cfg.metrics, samples, i);
        if ('value' in c) this.tracks[i].baselineSamples.push(c.value);
      });
      if (clock.now() - start >= duration) break;
    }
    for (const t of this.tracks) {
      if (t.baseline !== undefined) continue;
      t.baseline = t.baselineSamples.length ? mean(t.baselineSamples) : undefined;
      append({ type: 'baseline.captured', metric: t.id, samples: t.baselineSamples, mean: t.baseline ?? NaN, stdev: stdev(t.baselineSamples), fixed: false });
      if (t.baseline === undefined)
        append({ type: 'warning', message: `no usable baseline sample for ${t.id} (${t.source.describe}); percentage guards on it cannot be judged` });
    }
  }

  /** Each metric as production read once beside a fixed baseline (readProductionOnce), by metric id. */
  readonly readNow = new Map<string, Sample>();

  /**
   * A fixed baseline is the plan's figure, not a measurement: production is still read once (one
   * interval after a first scrape, as rate sources need) so that a service already failing is seen
   * before the release touches it. A reading that fails is kept as such: a first release has nothing live.
   */
  private async readProductionOnce(): Promise<void> {
    const { clock } = this.deps;
    await this.prime(this.baselineSources);
    const samples = await this.sampleAt(clock.now() + this.cfg.interval, this.baselineSources);
    if (!samples) return;
    samples.forEach((s, i) => this.readNow.set(this.tracks[i].id, s));
  }

  /** Watches every metric for the window; returns at the first confirmed breach that is not waved on. */
  async watch(analysis?: AnalysisWatch): Promise<WatchOutcome> {
    const { clock, append } = this.deps;
    const windowMs = analysis?.windowMs ?? this.cfg.window;
    this.weight = analysis?.weight;
    // Each watch judges its own samples: a canary's analyses are not the window's.
    for (const t of this.tracks) Object.assign(t, { window: [], taken: 0, consecutiveBreaches: 0, consecutiveErrors: 0, lastProblem: undefined });
    if (!analysis)
      append({
        type: 'monitoring.window',
        windowMs,
        intervalMs: this.cfg.interval,
        metrics: this.tracks.map((t) => t.id),
        guards: this.cfg.metrics.map((m) => ({ metric: m.id, title: m.title ?? m.id, unit: m.unit ?? '', rules: guardRules(m.guard) })),
      });
    // The schedule counts from the switch (the window's start, the weight set), not from the end of the
    // first scrape: a slow first read does not push every sample, and the breach's confirmation, later.
    const start = clock.now();
    await this.prime();
    const warmupMs = this.cfg.warmup ?? this.cfg.interval;
    for (let k = 1; ; k++) {
      const samples = await this.sampleAt(start + k * this.cfg.interval);
      if (!samples) return { ok: false, aborted: true };
      const elapsed = clock.now() - start;
      this.deps.onTick?.(elapsed, windowMs);
      // By schedule, not by the clock: a warm-up of one interval leaves exactly the first sample out.
      // The window ends by schedule: a slow sample (a source near its timeout, a loaded machine) does not cut
      // it short of the samples its length and interval promise; slow sources still end it one interval late at most.
      const last = k * this.cfg.interval >= windowMs || elapsed >= windowMs + this.cfg.interval;
      if (k * this.cfg.interval <= warmupMs) {
        this.journalWarmup(samples, k * this.cfg.interval, warmupMs);
        if (last) break;
        continue;
      }
      const acted = await this.judgeAll(samples);
      if (acted) return acted;
      if (last) break;
    }
    if (analysis) return this.analysisEnd();
    // A breach or a run of errors still open when the time ran out is confirmed or cleared by the
    // samples it still needs (failureLimit or consecutiveErrorLimit), never released unjudged.
    const extra = this.stillOpen();
    if (extra.samples > 0) {
      const from = clock.now();
      append({ type: 'monitoring.extended', extraMs: extra.samples * this.cfg.interval, reason: extra.reason });
      for (let j = 1; j <= extra.samples && this.stillOpen().samples > 0; j++) {
        const samples = await this.sampleAt(from + j * this.cfg.interval);
        if (!samples) return { ok: false, aborted: true };
        this.deps.onTick?.(clock.now() - start, windowMs);
        const acted = await this.judgeAll(samples);
        if (acted) return acted;
      }
    }
    const unjudged = await this.windowEnd();
    if (unjudged) return unjudged;
    // The window passed: a verdict per metric (see metricVerdict.ts for how it is decided).
    for (const t of this.tracks) {
      const m = this.cfg.metrics.find((x) => x.id === t.id)!;
      const other = m.compareTo === undefined ? undefined : this.tracks.find((x) => x.id === m.compareTo);
      const v = decideVerdict({
        guard: m.guard,
        baseline: other
          ? { samples: other.window, value: other.window.length ? mean(other.window) : undefined, fixed: false, label: `${other.id} window mean` }
          : { samples: t.baselineSamples, value: t.baseline, fixed: t.fixedBaseline },
        window: t.window,
        taken: t.taken,
        lastProblem: t.lastProblem,
      });
      append({ type: 'monitoring.verdict', metric: t.id, verdict: v.verdict, explanation: v.explanation });
      if (v.verdict === 'fail') {
        const breach: Breach = { metric: t.id, reason: `${t.id}: ${v.explanation}`, confirmedAt: clock.now(), kind: 'statistical' };
        return { ok: false, breach, action: this.cfg.onBreach === 'pause' ? 'pause' : 'rollback' };
      }
    }
    return { ok: true };
  }

  /** Judges one round of samples; a confirmed breach acts as `onBreach` says. */
  private async judgeAll(samples: Sample[]): Promise<WatchOutcome | undefined> {
    for (let i = 0; i < this.tracks.length; i++) {
      const breach = this.judge(this.tracks[i], i, samples);
      if (!breach) continue;
      const action = await this.act(breach);
      if (action === 'continue') {
        this.tracks[i].consecutiveBreaches = 0;
        this.tracks[i].consecutiveErrors = 0;
        continue;
      }
      return { ok: false, breach, action };
    }
    return undefined;
  }

  private async act(breach: Breach): Promise<BreachDecision> {
    const decision: BreachDecision =
      this.cfg.onBreach === 'rollback' ? 'rollback' : this.cfg.onBreach === 'pause' ? 'pause' : ((await this.deps.decide?.(breach)) ?? 'pause');
    this.deps.append({
      type: 'decision',
      action: decision === 'continue' ? 'continue' : decision,
      by: this.cfg.onBreach === 'prompt' ? 'user' : `plan (onBreach: ${this.cfg.onBreach})`,
      reason: breach.reason,
    });
    return decision;
  }

  /**
   * The samples still needed to confirm or clear what is open at the window's end: a breach not
   * yet at `failureLimit`, or a run of unusable samples not yet at `consecutiveErrorLimit` (after
   * at least one usable sample: a metric with none fails at once, see `windowEnd`).
   */
  private stillOpen(): { samples: number; reason: string } {
    let samples = 0;
    const why: string[] = [];
    for (const t of this.tracks) {
      if (t.window.length === 0) continue;
      if (t.consecutiveBreaches > 0 && t.consecutiveBreaches < this.cfg.failureLimit) {
        samples = Math.max(samples, this.cfg.failureLimit - t.consecutiveBreaches);
        why.push(`${t.id} breached its guard in its last ${t.consecutiveBreaches} sample(s), ${this.cfg.failureLimit} confirm a breach`);
      } else if (t.consecutiveErrors > 0 && t.consecutiveErrors < this.cfg.consecutiveErrorLimit) {
        samples = Math.max(samples, this.cfg.consecutiveErrorLimit - t.consecutiveErrors);
        why.push(`${t.id}'s last ${t.consecutiveErrors} sample(s) were unusable, ${this.cfg.consecutiveErrorLimit} in a row fail it`);
      }
    }
    return { samples, reason: `${why.join('; ')}: ${samples} more sample(s) confirm or clear it` };
  }

  /**
   * After the window (and its extension): a guarded metric with no usable sample, or with a breach
   * or a run of errors still open, measured nothing the release can stand on; it fails the
   * monitoring as a run of errors does (onBreach: rollback, pause, or the person decides).
   */
  private async windowEnd(): Promise<WatchOutcome | undefined> {
    const { clock, append } = this.deps;
    for (const t of this.tracks) {
      const why =
        t.window.length === 0
          ? `no usable sample of ${t.id} in the window (${t.taken} taken): ${t.lastProblem ?? 'no sample was judged'}`
          : t.consecutiveBreaches > 0
            ? `${t.id}'s last ${t.consecutiveBreaches} sample(s) still breached its guard when the window and its extension ended`
            : t.consecutiveErrors > 0
              ? `${t.id}'s last ${t.consecutiveErrors} sample(s) were still unusable when the window and its extension ended (last: ${t.lastProblem})`
              : undefined;
      if (!why) continue;
      const reason = `${t.id}: ${why}; unusable samples do not pass`;
      append({ type: 'monitoring.verdict', metric: t.id, verdict: 'fail', explanation: reason });
      const breach: Breach = { metric: t.id, reason, confirmedAt: clock.now(), kind: 'errors' };
      const action = await this.act(breach);
      if (action !== 'continue') return { ok: false, breach, action };
    }
    return undefined;
  }

  private journalWarmup(samples: Sample[], atMs: number, warmupMs: number): void {
    this.tracks.forEach((t, i) => {
      const s = samples[i];
      const value = s.status === 'ok' && s.value !== null && Number.isFinite(s.value) ? s.value : null;
      this.deps.append({
        type: 'metric.sample',
        metric: t.id,
        value,
        status: value === null && s.status === 'ok' ? 'nan' : s.status,
        message: `warm-up, not judged (${atMs / 1000} s of ${warmupMs / 1000} s after the switch)${s.message ? `: ${s.message}` : ''}`,
        warmup: true,
      });
    });
  }

  /**
   * What a sample's percentage rules compare with: the baseline, or, for a metric with `compareTo`,
   * the other metric's sample of the same moment (no usable sample there: nothing to compare with).
   */
  private reference(t: Track, samples: Sample[]): number | undefined {
    const other = this.cfg.metrics.find((x) => x.id === t.id)?.compareTo;
    if (other === undefined) return t.baseline;
    const s = samples[this.tracks.findIndex((x) => x.id === other)];
    return s && s.status === 'ok' && s.value !== null && Number.isFinite(s.value) ? s.value : undefined;
  }

  /**
   * A canary's analysis passes only on what it measured: a metric with no usable sample, fewer than
   * half usable, or still breaching at its last sample (a breach not yet confirmed) fails it, as
   * an error limit does: the next weight is never set on an analysis that saw nothing.
   */
  private analysisEnd(): WatchOutcome {
    const { clock, append } = this.deps;
    for (const t of this.tracks) {
      const usable = t.window.length;
      const why =
        usable === 0
          ? `no usable sample among ${t.taken} taken${t.lastProblem ? ` (last: ${t.lastProblem})` : ''}`
          : usable * 2 < t.taken
            ? `only ${usable} of ${t.taken} samples usable${t.lastProblem ? ` (last problem: ${t.lastProblem})` : ''}`
            : t.consecutiveBreaches > 0
              ? `its last ${t.consecutiveBreaches} sample(s) breached its guard when the analysis ended`
              : undefined;
      if (!why) continue;
      const reason = `${t.id}: ${why}; the analysis cannot pass`;
      append({ type: 'warning', message: reason });
      return {
        ok: false,
        breach: { metric: t.id, reason, confirmedAt: clock.now(), kind: 'errors' },
        action: this.cfg.onBreach === 'pause' ? 'pause' : 'rollback',
      };
    }
    return { ok: true };
  }

  private judge(t: Track, i: number, samples: Sample[]): Breach | undefined {
    const { append, clock } = this.deps;
    const m = this.cfg.metrics[i];
    t.taken++;
    // One decision for every path: an error, NaN, Infinity or a sample without its evidence is no measurement.
    const c = classify(this.cfg.metrics, samples, i, this.weight);
    if ('reason' in c) {
      t.lastProblem = c.reason;
      t.consecutiveErrors++;
      append({
        type: 'metric.sample',
        metric: t.id,
        value: null,
        status: c.status,
        message: `${c.reason} — inconclusive (${t.consecutiveErrors}/${this.cfg.consecutiveErrorLimit})`,
      });
      if (t.consecutiveErrors >= this.cfg.consecutiveErrorLimit) {
        const reason = `${t.id}: ${t.consecutiveErrors} inconclusive samples in a row (last: ${c.reason}); the analysis fails`;
        append({ type: 'monitoring.verdict', metric: t.id, verdict: 'fail', explanation: reason });
        return { metric: t.id, reason, confirmedAt: clock.now(), kind: 'errors' };
      }
      return undefined;
    }
    const s = { ...samples[i], value: c.value };
    const reference = this.reference(t, samples);
    t.consecutiveErrors = 0;
    t.window.push(s.value);
    const { breaches, notes } = evaluateGuard(m.guard, s.value, reference, m.compareTo === undefined ? 'the baseline' : `${m.compareTo} (same moment)`);
    if (breaches.length === 0) {
      // A rule that could not be judged (nothing to compare with) does not clear earlier breaches.
      if (notes.length === 0 || m.compareTo === undefined) t.consecutiveBreaches = 0;
      const message = [s.message, ...(m.compareTo === undefined ? [] : notes)].filter(Boolean).join('; ') || undefined;
      append({ type: 'metric.sample', metric: t.id, value: s.value, status: 'ok', message });
      return undefined;
    }
    t.consecutiveBreaches++;
    const b = breaches[0];
    const confirmed = t.consecutiveBreaches >= this.cfg.failureLimit;
    append({ type: 'metric.sample', metric: t.id, value: s.value, status: 'breach', message: b.explanation });
    append({ type: 'guard.breached', metric: t.id, rule: b.rule, value: s.value, threshold: b.threshold, consecutive: t.consecutiveBreaches, confirmed });
    if (!confirmed) return undefined;
    return { metric: t.id, reason: `${t.id}: ${b.explanation} for ${t.consecutiveBreaches} sample(s) in a row`, confirmedAt: clock.now(), kind: 'guard' };
  }
}
