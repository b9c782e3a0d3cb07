import type { RunContext } from './context';
import type { Unit } from './phaseUnits';
import { runStepUnit } from './stepUnit';
import { runLogUnit } from './checkUnits';
import { runHealthUnit, runHttpUnit } from './checkUnits';
import { runAnalysisUnit, runBaselineUnit, runMonitorUnit } from './monitorUnits';
import { runNotifyUnit, runWebhookUnit } from './announceUnits';

export type UnitOutcome = 'ok' | 'failed' | 'stop';
type Handler<K extends Unit['kind']> = (c: RunContext, unit: Extract<Unit, { kind: K }>, name: string, extra: Record<string, string>) => Promise<UnitOutcome>;

/** One handler per kind of unit. */
const HANDLERS: { [K in Unit['kind']]: Handler<K> } = {
  run: runStepUnit,
  log: runLogUnit,
  health: runHealthUnit,
  http: runHttpUnit,
  baseline: runBaselineUnit,
  monitor: runMonitorUnit,
  analysis: runAnalysisUnit,
  webhook: runWebhookUnit,
  notify: runNotifyUnit,
};

/** Runs one unit once, journaled as a step; what to do about a failure is the caller's. */
export async function runUnit(c: RunContext, unit: Unit): Promise<UnitOutcome> {
  const extra = 'vars' in unit ? (unit.vars ?? {}) : {};
  const name = c.resolve(unit.name, extra);
  return (HANDLERS[unit.kind] as Handler<Unit['kind']>)(c, unit, name, extra);
}
