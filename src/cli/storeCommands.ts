import { loadPlanFile } from '../core/plan/load';
import type { Plan } from '../core/model/schema';
import { lockKey } from '../core/model/schema-store';
import { applyEvent, initialState, isFinal, type ReleaseState } from '../core/model/releaseState';
import type { ReleaseEvent } from '../core/model/events';
import { openStore } from '../core/store/openStore';
import { syncMirror } from '../core/store/mirror';
import { StoreUnreachableError, type ReleaseStore, type StoreHolder } from '../core/store/storeTypes';
import { durationMs } from '../core/model/schema-values';
import type { StoreOptions } from '../core/engine/run/storeSync';
import { EXIT, type CliOptions } from './args';
import type { Io } from './io';
import { progressPrinter } from './progress';
import * as os from 'node:os';

/** How long a reader waits for the store before it shows the local record. */
const SYNC_TIMEOUT_MS = 15_000;

const bounded = <T>(p: Promise<T>, ms: number, where: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new StoreUnreachableError(where, `no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });

/** The plan's store, opened, or undefined when the plan has none (or cannot be read: the command says why later). */
export async function planStore(planFile: string, workspace: string, plan?: Plan): Promise<{ store: ReleaseStore; plan: Plan } | undefined> {
  let p = plan;
  if (!p) {
    const loaded = loadPlanFile(planFile);
    if (!loaded.ok) return undefined;
    p = loaded.plan;
  }
  if (!p.store) return undefined;
  return { store: await openStore(p.store, { workspace, env: process.env }), plan: p };
}

/**
 * Before a command reads runs: the store's runs and holders copied into the workspace (bounded); unreachable,
 * a warning, and the local record is what is shown. Returns the open store (the caller closes it).
 */
export async function syncFirst(planFile: string, workspace: string, io: Io, plan?: Plan): Promise<ReleaseStore | undefined> {
  let opened;
  try {
    opened = await planStore(planFile, workspace, plan);
  } catch (e) {
    io.err(`warning: ${(e as Error).message}; showing the local record`);
    return undefined;
  }
  if (!opened) return undefined;
  try {
    await bounded(syncMirror(opened.store, workspace), SYNC_TIMEOUT_MS, opened.store.where);
  } catch (e) {
    io.err(`warning: ${(e as Error).message}; showing the local record, which may miss runs made elsewhere`);
  }
  return opened.store;
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

/** Who holds a run's environment in the store, said as `status` says it. */
export function holderLine(h: StoreHolder): string {
  const who = `${h.holder} (pid ${h.pid}) on ${h.user}@${h.host}, workspace ${h.workspace}, since ${h.since}`;
  return h.stale ? `interrupted: held by ${who}; its lease ran out (last renewed ${h.renewedAt})` : `live: held by ${who}, renewed ${h.renewedAt}`;
}

/** The holder of the environment a run went to, when it holds that very run. */
export async function runHolder(store: ReleaseStore, s: ReleaseState): Promise<StoreHolder | undefined> {
  const h = await bounded(store.holder(lockKey(s.name, s.environment)), SYNC_TIMEOUT_MS, store.where);
  return h?.runId === s.runId ? h : undefined;
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
  await store.requestRollback(h.runId, { by, reason, at: new Date().toISOString(), host: os.hostname() });
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
