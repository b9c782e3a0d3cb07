import type { ReleaseEvent } from '../model/events';

/**
 * A release store: where a team shares its record of releases. The local journal (`.release/runs`) stays
 * the record the releasing process writes first (fsync'd, append-only); a shared store holds a copy that
 * every teammate reads, and decides who may release an environment now. Two backends implement it on
 * infrastructure a team already runs: a git remote (refs under `refs/release-pilot/`) and one PostgreSQL
 * database. Nothing here imports `vscode`; the engine, the CLI and the extension all go through this one type.
 *
 * Every method may throw `StoreUnreachableError` when the store cannot be reached; any other error is a
 * defect or a refusal with its own message.
 */
export interface ReleaseStore {
  /** `git` or `postgres`. */
  readonly kind: StoreKind;
  /** Where the store is, for messages: a URL with any password removed. */
  readonly where: string;

  /**
   * Takes the environment's lock (`key`, see `lockKey`) for `me`. The server decides between racing
   * machines: exactly one of any number of concurrent acquires of a free (or stale) key gets it.
   * - free: taken; `tookOver` unset.
   * - held by a live holder: `{ ok: false, holder }`.
   * - held by a stale holder (lease expired / its connection gone): taken only when `takeOverStale`,
   *   and then `tookOver` names the stale holder; otherwise `{ ok: false, holder }` with `holder.stale`.
   */
  acquire(key: string, me: HolderInfo, opts?: { takeOverStale?: boolean }): Promise<AcquireResult>;

  /** Who holds the key now (with `stale` judged now), or undefined when nobody does. */
  holder(key: string): Promise<StoreHolder | undefined>;

  /** Every key's holder (with `stale` judged now), read at once; a backend without it is asked key by key. */
  holders?(): Promise<Record<string, StoreHolder>>;

  /**
   * Stores a run's journal up to `events` (all of it, from the first event): idempotent, and only ever
   * extends what the store holds (a journal in the store is never shortened or rewritten; a journal that
   * is not an extension of the stored one is refused with an error naming the run).
   */
  publish(meta: RunMeta, events: readonly ReleaseEvent[]): Promise<void>;

  /** The runs the store holds, newest first, with how many events each has. */
  runs(): Promise<StoredRun[]>;

  /** A run's events from index `from` (0-based) on; empty when none are newer. */
  events(runId: string, from?: number): Promise<ReleaseEvent[]>;

  /** Asks the holder of a run to roll back (from another machine): the holder sees it at its next renewal. */
  requestRollback(runId: string, request: RollbackRequest): Promise<void>;

  /** The rollback request for a run, if one was made. */
  rollbackRequest(runId: string): Promise<RollbackRequest | undefined>;

  /**
   * Calls `onChange` when a run's events grow (the postgres backend with LISTEN/NOTIFY, the git backend by
   * fetching every `pollMs`); returns a function that stops watching.
   */
  watch(runId: string, onChange: () => void, pollMs?: number): Promise<() => void>;

  /** Ends connections and background work. */
  close(): Promise<void>;
}

export type StoreKind = 'git' | 'postgres';

/** Who releases: written into the lock, shown to whoever is refused. */
export interface HolderInfo {
  runId: string;
  user: string;
  host: string;
  /** The releasing workspace's absolute path on `host`. */
  workspace: string;
  pid: number;
  /** "CLI", "VS Code window", … */
  holder: string;
  /** The lease: without a renewal for this long, the holder is stale. */
  leaseMs: number;
}

export interface StoreHolder extends HolderInfo {
  /** ISO time the lock was taken. */
  since: string;
  /** ISO time of the last renewal. */
  renewedAt: string;
  /** No renewal within the lease (git) or the holding session is gone (postgres). */
  stale: boolean;
}

export type AcquireResult = { ok: true; lease: StoreLease; tookOver?: StoreHolder } | { ok: false; holder: StoreHolder };

/** A held lock. The engine renews it (every `leaseMs / 3`), and releases it when the run ends. */
export interface StoreLease {
  readonly key: string;
  readonly info: StoreHolder;
  /** Renews the lease; throws `LeaseLostError` when another machine took the key meanwhile. */
  renew(): Promise<void>;
  /** Gives the key up (only if still held by this lease). */
  release(): Promise<void>;
}

/** What the store keeps about a run besides its events (from its `release.started`). */
export interface RunMeta {
  runId: string;
  name: string;
  environment: string;
  version: string;
  user: string;
  host: string;
  workspace: string;
}

export interface StoredRun extends RunMeta {
  events: number;
  /** ISO time of its last stored event. */
  updatedAt: string;
}

export interface RollbackRequest {
  by: string;
  reason: string;
  /** ISO time asked. */
  at: string;
  host: string;
}

/** The store could not be reached: said with where and why, never with a password. */
export class StoreUnreachableError extends Error {
  override name = 'StoreUnreachableError';
  constructor(
    readonly where: string,
    readonly why: string,
  ) {
    super(`the release store ${where} cannot be reached: ${why}`);
  }
}

/** The lease was taken by another machine while this one held it: the releasing process must stop acting. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
  constructor(
    readonly key: string,
    readonly now?: StoreHolder,
  ) {
    super(
      `the release lock ${key} is no longer held by this process${now ? `: ${now.holder} (pid ${now.pid}, ${now.user}@${now.host}, run ${now.runId}) took it at ${now.since}` : ''}`,
    );
  }
}
