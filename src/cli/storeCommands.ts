import { loadPlanFile } from '../core/plan/load';
import type { Plan } from '../core/model/schema';
import { applyEvent, initialState, isFinal, type ReleaseState } from '../core/model/releaseState';
import type { ReleaseEvent } from '../core/model/events';
import type { ReleaseStore, StoreHolder } from '../core/store/storeTypes';
import { durationMs } from '../core/model/schema-values';
import type { StoreOptions } from '../core/engine/run/storeSync';
import { askRollback, openPlanStore, syncSharedRuns } from '../core/engine/queries/sharedRuns';
import { EXIT, type CliOptions } from './args';
import type { Io } from './io';
import { progressPrinter } from './progress';

/**
 * Before a command reads runs: the store's runs and holders copied into the workspace (bounded); unreachable,
 * a warning, and the local record is what is shown. Returns the open store (the caller closes it).
 */
export async function syncFirst(planFile: string, workspace: string, io: Io, plan?: Plan): Promise<ReleaseStore | undefined> {
  let store;
  try {
    const p =
      plan ??
      (() => {
        const loaded = loadPlanFile(planFile);
        return loaded.ok ? loaded.plan : undefined;
      })();
    store = p && (await openPlanStore(p, workspace));
  } catch (e) {
    io.err(`warning: ${(e as Error).message}; showing the local record`);
    return undefined;
  }
  if (!store) return undefined;
  for (const why of await syncSharedRuns(store, workspace)) io.err(`warning: ${why}`);
  return store;
}

/** The engine's store options from the plan and `--wait` / `--offline`. */
export function storeOptions(store: ReleaseStore, plan: Plan, o: CliOptions): StoreOptions {
  const settings = plan.store && ('git' in plan.store ? plan.store.git : plan.store.postgres);
  return {
    store,
    leaseMs: settings?.lease,
    ...(o.wait !== undefined ? { waitMs: durationMs(o.wait) } : {}),
    ...(o.offline !== undefined ? { offline: o.offline } : {}),
  };
}

/**
 * Prints a run's events as they reach the store (its `watch`), in the lines `run` prints, until the run ends
 * or `until` says so; false when `timeoutMs` passed first.
 */
export async function followRun(
  store: ReleaseStore,
  runId: string,
  plan: Plan,
  io: Io,
  o: { timeoutMs?: number; until?: (s: ReleaseState) => boolean; pollMs?: number } = {},
): Promise<{ state: ReleaseState; ended: boolean }> {
  const state = initialState();
  const print = progressPrinter(io, plan, false);
  let seen = 0;
  const take = (events: ReleaseEvent[]) => {
    for (const e of events) {
      applyEvent(state, e);
      print(e, state);
    }
    seen += events.length;
  };
  take(await store.events(runId, 0));
  const done = () => isFinal(state.status) || Boolean(o.until?.(state));
  if (done()) return { state, ended: true };
  let wake: () => void = () => {};
  const stop = await store.watch(runId, () => wake(), o.pollMs ?? 1000);
  const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
  try {
    while (!done() && Date.now() < deadline) {
      // Waits for the store to report new events (or a poll of its own, in case a notification was missed).
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.min(2000, Math.max(0, deadline - Date.now())));
      });
      take(await store.events(runId, seen));
    }
  } finally {
    stop();
  }
  return { state, ended: done() };
}

/** `status --follow [RUN]`: a run's events as they arrive, until it ends. */
export async function followCommand(store: ReleaseStore, runId: string, plan: Plan, io: Io): Promise<number> {
  const { state } = await followRun(store, runId, plan, io);
  io.out(`\n${state.name} ${state.version} → ${state.environment}: ${state.status}${state.outcomeMessage ? ` (${state.outcomeMessage})` : ''}`);
  return state.status === 'released' ? EXIT.released : state.status === 'rolled-back' ? EXIT.rolledBack : EXIT.failed;
}

/** How long a rollback asked of a live holder waits for its rollback to start and end. */
export const ASKED_ROLLBACK_TIMEOUT_MS = 120_000;

/**
 * `rollback RUN` of a run held live on another machine: the request goes through the store (who, from
 * where, why), and its rollback events are followed here until the run ends, or the holder did not answer.
 */
export async function askedRollback(
  store: ReleaseStore,
  h: StoreHolder,
  plan: Plan,
  by: string,
  reason: string,
  io: Io,
  timeoutMs = ASKED_ROLLBACK_TIMEOUT_MS,
): Promise<number> {
  await askRollback(store, h.runId, by, reason);
  io.err(`asked ${h.holder} (pid ${h.pid}, ${h.user}@${h.host}) through the store ${store.where} to roll back run ${h.runId}; following it`);
  const { state, ended } = await followRun(store, h.runId, plan, io, { timeoutMs });
  if (!ended) {
    const started = state.rollback !== undefined;
    io.err(
      `release-pilot: ${started ? 'the rollback started but did not end' : 'the holder did not answer'} within ${Math.round(timeoutMs / 1000)} s: ` +
        `\`release-pilot status --follow ${h.runId}\` keeps following; once its lease runs out, \`release-pilot rollback ${h.runId}\` takes it over`,
    );
    return EXIT.failed;
  }
  return state.status === 'rolled-back' ? EXIT.rolledBack : EXIT.failed;
}
