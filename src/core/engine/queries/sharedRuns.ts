import * as os from 'node:os';
import type { Plan } from '../../model/schema';
import { lockKey } from '../../model/schema-store';
import type { ReleaseState } from '../../model/releaseState';
import { openStore } from '../../store/openStore';
import { syncMirror } from '../../store/mirror';
import { StoreUnreachableError, type ReleaseStore, type StoreHolder } from '../../store/storeTypes';
import { loadRun } from './runs';

/** How long a reader waits for the store before it shows the local record. */
export const SYNC_TIMEOUT_MS = 15_000;

/** `p`, or a `StoreUnreachableError` once `ms` passed without an answer. */
export function bounded<T>(p: Promise<T>, ms: number, where: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new StoreUnreachableError(where, `no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

/** The plan's store, opened; undefined when the plan has none (the record is then the workspace's alone). */
export async function openPlanStore(plan: Plan, workspace: string, env: NodeJS.ProcessEnv = process.env): Promise<ReleaseStore | undefined> {
  return plan.store ? openStore(plan.store, workspace, env) : undefined;
}

/**
 * The store's runs and holders copied into the workspace (`.release/runs`, `.release/store`), bounded: what
 * every reader (history, status, compare, the promotion gate, rollback, the Releases view) reads afterwards.
 * Returns what a person should be told: why it could not sync, a local journal moved aside after a teammate
 * took its run over (said once: the journals agree afterwards), a local journal that diverges (said until mended).
 */
export async function syncSharedRuns(store: ReleaseStore, workspace: string, ms = SYNC_TIMEOUT_MS): Promise<string[]> {
  try {
    const r = await bounded(syncMirror(workspace, store), ms, store.where);
    return [...r.replaced.map((x) => x.why), ...r.diverged.map((d) => `run ${d.runId}: ${d.why}`)];
  } catch (e) {
    return [`${(e as Error).message}; the local record is shown, which may miss runs made elsewhere`];
  }
}

/** The store's holder of the environment a run went to, when it holds that very run. */
export async function runHolder(store: ReleaseStore, s: Pick<ReleaseState, 'name' | 'environment' | 'runId'>): Promise<StoreHolder | undefined> {
  const h = await bounded(store.holder(lockKey(s.name, s.environment)), SYNC_TIMEOUT_MS, store.where);
  return h?.runId === s.runId ? h : undefined;
}

/** Who holds a run now, said the one way `status` and the Releases view say it. */
export function holderText(h: StoreHolder): string {
  const who = `${h.holder} (pid ${h.pid}) on ${h.user}@${h.host}, workspace ${h.workspace}, since ${h.since}`;
  return h.stale ? `interrupted: held by ${who}; its lease ran out (last renewed ${h.renewedAt})` : `live: held by ${who}, renewed ${h.renewedAt}`;
}

/**
 * How a rollback of a run goes from this machine: `ask` its live holder elsewhere through the store, `take-over`
 * from a stale holder (reopen from the synced journal, lock taken over), or `here` (no other holder).
 */
export type RollbackRoute = { kind: 'ask'; holder: StoreHolder } | { kind: 'take-over'; holder: StoreHolder } | { kind: 'here' };

export async function rollbackRoute(store: ReleaseStore, workspace: string, runId: string): Promise<RollbackRoute> {
  let state: ReleaseState;
  try {
    state = loadRun(workspace, runId).state;
  } catch {
    return { kind: 'here' };
  }
  const h = await runHolder(store, state);
  if (!h || (h.pid === process.pid && h.host === os.hostname())) return { kind: 'here' };
  return h.stale ? { kind: 'take-over', holder: h } : { kind: 'ask', holder: h };
}

/** Asks a run's live holder, through the store, to roll back: it sees the request at its next renewal and journals it. */
export async function askRollback(store: ReleaseStore, runId: string, by: string, reason: string): Promise<void> {
  await bounded(store.requestRollback(runId, { by, reason, at: new Date().toISOString(), host: os.hostname() }), SYNC_TIMEOUT_MS, store.where);
}
