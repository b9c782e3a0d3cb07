import * as os from 'node:os';
import { ErrorCodes } from '../../base/errors';
import type { EventOf, ReleaseEvent } from '../../model/events';
import { foldJournal, isFinal } from '../../model/releaseState';
import { lockKey } from '../../model/schema-store';
import { isProduction } from '../../plan/warnings';
import {
  LeaseLostError,
  StoreUnreachableError,
  type HolderInfo,
  type ReleaseStore,
  type RunMeta,
  type StoreHolder,
  type StoreLease,
} from '../../store/storeTypes';
import { GateError } from '../gates/gateError';
import type { RunContext } from './context';
import type { RunStore, StoreOptions } from './ports';

export type { StoreOptions } from './ports';
import { bounded, syncSharedRuns } from '../queries/sharedRuns';

export const DEFAULT_LEASE_MS = 30_000;

/** The store lock held by another machine: who, where, since when, and how to act from here. */
export class StoreLockHeldError extends Error {
  override name = 'StoreLockHeldError';
  readonly code = ErrorCodes.LockHeld;
  constructor(
    readonly holder: StoreHolder,
    readonly where: string,
  ) {
    super(storeHeldText(holder, where));
  }
}

/** The one sentence every refusal of the store lock says (CLI and VS Code alike). */
export function storeHeldText(h: StoreHolder, where: string): string {
  const who = `${h.holder} (pid ${h.pid}, ${h.user}@${h.host}, workspace ${h.workspace}, run ${h.runId}, since ${h.since})`;
  if (h.stale)
    return (
      `the release is held by ${who} in the store ${where}, which has not renewed its lease since ${h.renewedAt} (interrupted): ` +
      `\`release-pilot status ${h.runId}\` shows its journal, \`release-pilot rollback ${h.runId}\` takes it over and rolls it back from here`
    );
  return (
    `the release is already being run by ${who}, held in the store ${where}: follow it with \`release-pilot status --follow ${h.runId}\`; ` +
    `\`release-pilot rollback ${h.runId}\` from here asks it to roll back through the store; or wait for it with \`run --wait\``
  );
}

/**
 * Whether a holder is this run's own earlier process: the run reopened (resume, rollback, abandon) while the
 * lock still names it. A holder on another host counts once stale; on this host, when its pid is gone.
 */
function ownRun(h: StoreHolder, c: RunContext, host: string): boolean {
  if (!c.reopened || h.runId !== c.runId) return false;
  if (h.host !== host) return h.stale;
  return h.pid !== process.pid && !pidAlive(h.pid);
}

/**
 * What a stale holder left that needs no rollback, or undefined: a run whose journal in the store ended (it only
 * lost its release), or a run the store holds nothing of (its process ended before it published: a production
 * step waits until the store holds the journal, so nothing of it ran in production).
 */
async function nothingToRollBack(store: ReleaseStore, runId: string): Promise<'ended' | 'unpublished' | undefined> {
  const events = await store.events(runId);
  if (events.length === 0) return 'unpublished';
  return isFinal(foldJournal(events).status) ? 'ended' : undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Events after which the store gets the journal: phase boundaries, every rollback event, pauses and the end. */
const BOUNDARY = /^(phase\.|rollback\.|release\.(started|paused|resumed|finished))/;

/** The run's meta as the store keeps it: from its state. */
function metaOf(c: RunContext, host: string): RunMeta {
  const s = c.state;
  return {
    runId: c.runId,
    name: s.name || c.o.plan.release.name,
    environment: s.environment || c.o.plan.release.environment,
    version: s.version,
    user: c.user,
    host,
    workspace: c.o.workspace,
  };
}

/**
 * A run's hold on the store: the environment's lock (renewed every lease / 3), the journal published at
 * every boundary and at each renewal, and a rollback asked for from another machine, read at each renewal.
 * The local journal stays the record written first; the store gets a copy that only grows.
 */
export class StoreSync implements RunStore {
  readonly key: string;
  private lease?: StoreLease;
  private timer?: NodeJS.Timeout;
  private published = 0;
  private chain: Promise<boolean> = Promise.resolve(true);
  /** The store could not be reached at the last try: said once in the journal, and again when it returns. */
  private unreachable = false;
  private readonly host = os.hostname();
  private readonly notes: Omit<EventOf<'warning'>, 'at'>[] = [];
  private stopped = false;
  /** Started with `offline` and a reason while the store could not be reached. */
  private offlineChosen = false;
  private onLeaseLost?: (e: LeaseLostError) => void;
  private onRollback?: (reason: string, by: string) => void;

  private constructor(
    private readonly c: RunContext,
    private readonly so: StoreOptions,
  ) {
    this.key = lockKey(c.o.plan.release.name, c.o.plan.release.environment);
  }

  get leaseMs(): number {
    return this.so.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /**
   * Takes the store's lock for the run, after the local lock. Held elsewhere: refused naming the holder, or
   * polled until free with `waitMs`. Unreachable: a production environment refuses unless `offline` says why;
   * any other goes on with a warning.
   */
  static async acquire(c: RunContext, so: StoreOptions, holder: string): Promise<StoreSync> {
    const s = new StoreSync(c, so);
    const me: HolderInfo = { runId: c.runId, user: c.user, host: s.host, workspace: c.o.workspace, pid: process.pid, holder, leaseMs: s.leaseMs };
    const deadline = Date.now() + (so.waitMs ?? 0);
    let said = false;
    let left: 'ended' | 'unpublished' | undefined;
    for (;;) {
      let r;
      try {
        r = await bounded(so.store.acquire(s.key, me, { takeOverStale: so.takeOverStale }), s.timeoutMs, so.store.where);
      } catch (e) {
        if (!(e instanceof StoreUnreachableError)) throw e;
        return s.offline(e);
      }
      if (r.ok) {
        s.lease = r.lease;
        // Waited for another machine's release: its end reached the store meanwhile, and the start's refusals read the runs next.
        if (said) for (const why of await syncSharedRuns(so.store, c.o.workspace)) s.notes.push({ type: 'warning', message: why });
        if (r.tookOver)
          s.notes.push({
            type: 'warning',
            message:
              `took over the store lock ${s.key} from ${r.tookOver.holder} (pid ${r.tookOver.pid}, ${r.tookOver.user}@${r.tookOver.host}, run ${r.tookOver.runId}), whose lease ran out at ${r.tookOver.renewedAt}` +
              (left === 'unpublished'
                ? `: the store holds nothing of run ${r.tookOver.runId} (its process ended before it published), so nothing of it ran in production`
                : ''),
            tookOver: { pid: r.tookOver.pid, user: r.tookOver.user, host: r.tookOver.host, runId: r.tookOver.runId },
          });
        return s;
      }
      left = r.holder.stale ? await nothingToRollBack(so.store, r.holder.runId) : undefined;
      const own = ownRun(r.holder, c, s.host) || left !== undefined;
      // This very run, held by a process that is gone, or a run that ended: taken over once the lease ran out.
      if (own && r.holder.stale) {
        so = { ...so, takeOverStale: true };
        continue;
      }
      if (!own && (Date.now() >= deadline || (r.holder.stale && so.waitMs === undefined))) throw new StoreLockHeldError(r.holder, so.store.where);
      if (own && Date.now() >= deadline + r.holder.leaseMs) throw new StoreLockHeldError(r.holder, so.store.where);
      if (!said) c.log.info(`waiting for ${r.holder.holder} (${r.holder.user}@${r.holder.host}, run ${r.holder.runId}) to release ${s.key}`);
      said = true;
      // Waits for the other machine's release to end: polled at a third of its lease.
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, Math.max(200, r.holder.leaseMs / 3))));
    }
  }

  private get timeoutMs(): number {
    return this.so.publishTimeoutMs ?? 10_000;
  }

  private offline(e: StoreUnreachableError): StoreSync {
    const reason = this.so.offline?.trim();
    if (isProduction(this.c.o.plan) && !reason)
      throw new GateError(
        'store',
        `${e.message}; ${this.c.o.plan.release.environment} is production, so the release does not start without the store's lock ` +
          `(another machine could be releasing it): retry when the store is back, or start with --offline "<reason>" to release without it`,
      );
    this.unreachable = true;
    this.offlineChosen = Boolean(reason);
    this.notes.push({
      type: 'warning',
      message: reason
        ? `released offline, without the store's lock (${e.message}): ${reason}`
        : `${e.message}: this release goes on without the store's lock and syncs its journal when the store returns`,
    });
    return this;
  }

  /** Once the journal is open: journals what the acquire found, then starts the renewals. */
  begin(onLeaseLost: (e: LeaseLostError) => void, onRollback: (reason: string, by: string) => void): void {
    for (const n of this.notes.splice(0)) this.c.append(n);
    this.onLeaseLost = onLeaseLost;
    this.onRollback = onRollback;
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  /** After each event: a boundary publishes (in order, in the background; `recorded` waits for it). */
  onEvent(e: ReleaseEvent): void {
    if (BOUNDARY.test(e.type)) void this.publish();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const store = this.so.store;
    try {
      if (this.lease) await bounded(this.lease.renew(), this.timeoutMs, store.where);
    } catch (e) {
      if (e instanceof LeaseLostError) {
        this.lost(e);
        return;
      }
      this.down(e);
    }
    await this.publish();
    try {
      const asked = await bounded(store.rollbackRequest(this.c.runId), this.timeoutMs, store.where);
      if (asked && !this.stopped && !this.c.rollbackRequest)
        this.onRollback?.(`${asked.reason} (asked through the store by ${asked.by} on ${asked.host} at ${asked.at})`, `${asked.by}@${asked.host}`);
    } catch (e) {
      this.down(e);
    }
  }

  private lost(e: LeaseLostError): void {
    if (this.stopped) return;
    this.lease = undefined;
    clearInterval(this.timer);
    this.c.append({ type: 'warning', message: `${e.message}: this process stops acting on the release` });
    this.onLeaseLost?.(e);
  }

  private down(e: unknown): void {
    if (!(e instanceof StoreUnreachableError)) {
      this.c.log.warn(`the release store: ${(e as Error).message}`);
      return;
    }
    if (this.unreachable) return;
    this.unreachable = true;
    if (this.stopped) {
      this.c.log.warn(`${e.message}: the store gets the journal's last events at the next command that syncs it`);
      return;
    }
    this.c.append({ type: 'warning', message: `${e.message}: the release goes on with its local journal and syncs when the store returns` });
  }

  /**
   * Publishes the journal as it is now; true once the store holds it. One push at a time: the calls made while
   * one runs share the next, which takes every event written by then (a release's boundaries cost few pushes).
   */
  publish(): Promise<boolean> {
    this.queued ??= this.chain.then(() => {
      this.queued = undefined;
      return this.push();
    });
    this.chain = this.queued;
    return this.queued;
  }
  private queued?: Promise<boolean>;

  private async push(): Promise<boolean> {
    const events = this.c.events.slice();
    if (events.length === 0 || events.length === this.published) return events.length === this.published;
    try {
      await bounded(this.so.store.publish(metaOf(this.c, this.host), events), this.timeoutMs, this.so.store.where);
      this.published = events.length;
      this.pushes++;
      if (this.unreachable) {
        this.unreachable = false;
        if (!this.stopped) this.c.append({ type: 'warning', message: `the release store ${this.so.store.where} is reachable again: the journal is synced` });
      }
      return true;
    } catch (e) {
      this.down(e);
      return false;
    }
  }
  /** How many pushes reached the store (the figures of a release's cost). */
  pushes = 0;

  /**
   * Before a production step: the store must hold the run's journal, so another machine sees what runs.
   * False when it cannot be published (the run then pauses, resumable; a resume publishes first), unless the
   * run was started `--offline`.
   */
  async recorded(): Promise<boolean> {
    // Released offline by a person's choice (--offline, journaled): its production steps do not wait for the store.
    if (this.offlineChosen) return (await this.publish()) || true;
    return (await this.publish()) || (await this.publish());
  }

  /** Stops the renewals, publishes the end (bounded) and gives the lock up. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.publish();
    try {
      if (this.lease) await bounded(this.lease.release(), this.timeoutMs, this.so.store.where);
    } catch (e) {
      this.c.log.warn(`the store lock ${this.key} was not released: ${(e as Error).message} (its lease runs out)`);
    }
    this.lease = undefined;
  }
}
