import * as vscode from 'vscode';
import type { StoreOptions } from '../core/engine/run/storeSync';
import type { Plan } from '../core/model/schema';
import { engine } from './lazyEngine';

/**
 * The plan's shared store as a window's releases use it: opened for one release (its lock, its journal published)
 * and closed after it; every decision (who holds a run, whether to ask or take over) is the core's.
 */
export class WindowStore {
  /** Set by a rollback that takes over a stale holder: the next release this window opens does. */
  takeOver = false;
  private open?: StoreOptions;

  /** What the engine takes of it: the store of the release this window opens now, if the plan has one. */
  engineOptions(): { store?: StoreOptions } {
    return this.open ? { store: this.open } : {};
  }

  /** Opens (and syncs) the plan's store for the release about to start or reopen; nothing when the plan has none. */
  async forRelease(plan: Plan, workspace: string): Promise<StoreOptions | undefined> {
    await this.close();
    const store = await engine().openPlanStore(plan, workspace);
    if (!store) return undefined;
    await engine().syncSharedRuns(store, workspace);
    const settings = plan.store && ('git' in plan.store ? plan.store.git : plan.store.postgres);
    this.open = { store, leaseMs: settings?.lease, ...(this.takeOver ? { takeOverStale: true } : {}) };
    this.takeOver = false;
    return this.open;
  }

  /** Closes the store a release used; undefined, for the window's field. */
  async close(): Promise<undefined> {
    const o = this.open;
    this.open = undefined;
    await o?.store.close();
    return undefined;
  }

  /** A release that did not open: the store is closed and the error goes on. */
  async closeAfter(e: unknown): Promise<never> {
    await this.close();
    throw e;
  }

  /**
   * Before the status bar's rollback of a run this window does not hold: a live holder elsewhere is asked
   * through the store (its process journals who asked and why, and rolls back); a stale one is taken over.
   * True when it was asked (and said so), false when this window rolls back itself.
   */
  async rollbackElsewhere(plan: Plan, workspace: string, runId: string, reason: string): Promise<boolean> {
    const store = await engine().openPlanStore(plan, workspace);
    if (!store) return false;
    try {
      await engine().syncSharedRuns(store, workspace);
      const route = await engine().rollbackRoute(store, workspace, runId);
      if (route.kind === 'take-over') this.takeOver = true;
      if (route.kind !== 'ask') return false;
      await engine().askRollback(store, runId, await engine().currentUser(workspace), reason);
      const h = route.holder;
      void vscode.window.showInformationMessage(
        `Asked ${h.holder} on ${h.user}@${h.host} through the store to roll back run ${runId}; its rollback shows here as it reaches the store.`,
      );
      return true;
    } finally {
      await store.close();
    }
  }

  /** The Releases view's refresh: the store's runs copied into the workspace; false when the plan has no store. */
  async sync(plan: Plan | undefined, workspace: string | undefined): Promise<boolean> {
    // Without a store in the plan, nothing is loaded (the engine bundle stays unloaded).
    if (!plan?.store || !workspace) return false;
    const store = await engine().openPlanStore(plan, workspace);
    if (!store) return false;
    try {
      await engine().syncSharedRuns(store, workspace);
      return true;
    } finally {
      await store.close();
    }
  }
}
