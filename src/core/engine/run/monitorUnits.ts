import { Monitor } from '../../monitor/monitor';
import { formatNumber } from '../../format';
import { evaluateGuard } from '../../monitor/guard';
import { median } from '../../monitor/stats';
import type { RunContext } from './context';
import { rollbackNow } from './rollbackRun';
import { pseudoStep } from './stepExec';
import type { Unit } from './phaseUnits';
import { transition } from '../../model/statusTransitions';

type Outcome = 'ok' | 'failed' | 'stop';

/** The run's one monitor, holding the baselines the journal already has (a resume never captures twice). */
function monitorOf(c: RunContext): Monitor {
  if (c.monitor) return c.monitor;
  const m = new Monitor(c.o.plan.monitoring, (t) => c.resolve(t), c.o.workspace, {
    append: (e) => c.append(e),
    clock: c.clock,
    signal: c.stopLatch.signal,
    env: c.o.plan.env,
    data: c.commandEnv(),
    decide: (b) => c.stopLatch.race(c.o.prompter.onBreach(b), () => 'rollback'),
    // Before the switch the new colour serves nothing: the baseline of a metric of `${deploy.color}` is the live colour's.
    resolveForBaseline: c.state.colors ? (t) => c.resolve(t, { 'deploy.color': c.state.colors!.active }) : undefined,
  });
  for (const mv of Object.values(c.state.metrics)) if (mv.baseline) m.restoreBaseline(mv.id, mv.baseline.samples, mv.baseline.mean, mv.baseline.fixed);
  c.monitor = m;
  return m;
}

export async function runBaselineUnit(c: RunContext, unit: Unit, name: string): Promise<Outcome> {
  const monitor = monitorOf(c);
  // The journal holds the baseline already (a resume after a crash): it is never captured twice.
  if (!monitor.needsBaseline)
    return (await pseudoStep(c, unit.key, unit.phase, name, 'baseline: from the journal', async () => ({
      ok: true,
      message: 'baseline already in the journal; not captured again',
    })))
      ? 'ok'
      : 'failed';
  const cfg = c.o.plan.monitoring;
  const how = cfg.baseline.fixed
    ? 'fixed values from the plan'
    : `captured for ${Math.round((cfg.baseline.capture ?? 0) / 1000)} s every ${cfg.interval / 1000} s`;
  const ok = await pseudoStep(c, unit.key, unit.phase, name, `baseline: ${how}`, async (write) => {
    await monitor.captureBaseline();
    for (const m of Object.values(c.state.metrics))
      if (m.baseline) write(`${m.id}: ${formatNumber(m.baseline.mean)} ± ${formatNumber(m.baseline.stdev)} (${m.baseline.samples.length} samples)`);
    // Beside a fixed baseline a failing reading is said, not stopped on: a first release has nothing live to read.
    const failingNow = unhealthyNow(c, monitor, write);
    if (failingNow.length)
      c.append({
        type: 'warning',
        message: `production already breaks its guards before this release touched it: ${failingNow.join('; ')}. The baseline is fixed, so the release goes on (a first release has nothing live); with baseline.capture it would stop here`,
      });
    const unhealthy = unhealthyBaseline(c);
    if (unhealthy.length === 0) return { ok: true, message: 'baseline recorded' };
    for (const u of unhealthy) write(u);
    return {
      ok: false,
      message: `production already breaks its guards, before anything of this release touched it: ${unhealthy.join('; ')}. A release on top of it could not be judged (the window would blame it, or miss its harm). Fix production first, or waive this step with a reason`,
    };
  });
  return ok ? 'ok' : 'failed';
}

/**
 * The metrics whose captured baseline already breaks an absolute rule of their guard (max, min), as
 * sentences with the numbers. A fixed baseline is the plan's own figure, not a measurement.
 */
function unhealthyBaseline(c: RunContext): string[] {
  const out: string[] = [];
  for (const metric of c.o.plan.monitoring.metrics) {
    const b = c.state.metrics[metric.id]?.baseline;
    // The median: production failing is most samples breaching, not one spike the mean would carry.
    const mid = b && !b.fixed ? median(b.samples) : NaN;
    if (!Number.isFinite(mid)) continue;
    const { breaches } = evaluateGuard({ max: metric.guard.max, min: metric.guard.min }, mid, undefined);
    for (const r of breaches) out.push(`${metric.id}: the median of its ${b!.samples.length} baseline samples, ${r.explanation}`);
  }
  return out;
}

/**
 * Beside a fixed baseline, the metrics whose one reading of production now breaks an absolute rule of
 * their guard (max, min), as sentences with the numbers; each reading is written to the step's log.
 * A reading that fails (nothing live yet) is written, not counted.
 */
function unhealthyNow(c: RunContext, monitor: Monitor, write: (line: string) => void): string[] {
  const out: string[] = [];
  for (const metric of c.o.plan.monitoring.metrics) {
    const s = monitor.readNow.get(metric.id);
    if (!s) continue;
    const fixed = c.state.metrics[metric.id]?.baseline;
    const beside = fixed?.fixed ? `the plan's fixed baseline is ${formatNumber(fixed.mean)}` : 'no baseline';
    if (s.status !== 'ok' || s.value === null || !Number.isFinite(s.value)) {
      write(`${metric.id}: production could not be read now (${s.message ?? 'no value'}); ${beside}, unchecked against production`);
      continue;
    }
    write(`${metric.id}: production reads ${formatNumber(s.value)} now; ${beside}`);
    const { breaches } = evaluateGuard({ max: metric.guard.max, min: metric.guard.min }, s.value, undefined);
    for (const r of breaches) out.push(`${metric.id}: read once now (${beside}), ${r.explanation}`);
  }
  return out;
}

/** The monitoring window: a confirmed breach rolls back (or pauses, by plan setting), a stop stops. */
export async function runMonitorUnit(c: RunContext, unit: Unit, name: string): Promise<Outcome> {
  const monitor = monitorOf(c);
  const cfg = c.o.plan.monitoring;
  let outcome: Awaited<ReturnType<Monitor['watch']>> | undefined;
  await pseudoStep(
    c,
    unit.key,
    unit.phase,
    name,
    `${cfg.metrics.length} metric(s) for ${Math.round(cfg.window / 1000)} s every ${cfg.interval / 1000} s`,
    async (write) => {
      outcome = await monitor.watch();
      if (outcome.ok) return { ok: true, message: 'every metric stayed within its guard for the whole window' };
      if ('aborted' in outcome) return { ok: false, message: 'stopped: rollback requested' };
      write(outcome.breach.reason);
      return { ok: false, message: outcome.breach.reason };
    },
  );
  return afterWatch(c, unit, outcome);
}

/**
 * A canary weight held for its analysis: every metric sampled and judged per sample against its
 * guard, as in the window. A confirmed breach acts as `onBreach` says (by default the rollback,
 * whose steps take the canary's traffic away); the next weight is set only after a clean analysis.
 */
export async function runAnalysisUnit(c: RunContext, unit: Extract<Unit, { kind: 'analysis' }>, name: string): Promise<Outcome> {
  const monitor = monitorOf(c);
  const cfg = c.o.plan.monitoring;
  c.append({ type: 'canary.weight', weight: unit.weight, index: unit.index, of: unit.of });
  let outcome: Awaited<ReturnType<Monitor['watch']>> | undefined;
  await pseudoStep(
    c,
    unit.key,
    unit.phase,
    name,
    `canary at ${unit.weight} %: ${cfg.metrics.length} metric(s) for ${Math.round(unit.durationMs / 1000)} s every ${cfg.interval / 1000} s`,
    async (write) => {
      outcome = await monitor.watch({ windowMs: unit.durationMs, weight: unit.weight });
      if (outcome.ok) return { ok: true, message: `every metric stayed within its guard at ${unit.weight} %` };
      if ('aborted' in outcome) return { ok: false, message: 'stopped: rollback requested' };
      write(outcome.breach.reason);
      return { ok: false, message: `at ${unit.weight} %: ${outcome.breach.reason}` };
    },
  );
  return afterWatch(c, unit, outcome, `canary at ${unit.weight} % (step ${unit.index}/${unit.of}): `);
}

/** What a watch's outcome does to the release: nothing, a pause, or the rollback. */
async function afterWatch(c: RunContext, unit: Unit, outcome: Awaited<ReturnType<Monitor['watch']>> | undefined, where = ''): Promise<Outcome> {
  if (!outcome || outcome.ok) return 'ok';
  if ('aborted' in outcome) {
    if (c.rollbackRequest) return rollbackNow(c);
    c.stopLatch.throwIfStopped();
    return 'stop';
  }
  if (outcome.action === 'pause') {
    transition(c, 'release.paused', { step: unit.key, message: where + outcome.breach.reason });
    return 'stop';
  }
  c.requestRollback({ reason: where + outcome.breach.reason, by: 'monitor', at: outcome.breach.confirmedAt, trigger: 'guard' });
  return rollbackNow(c);
}
