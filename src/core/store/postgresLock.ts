import type { Client, ClientBase } from 'pg';
import { advisoryKey, checkName, type PgTarget } from './postgresConnect';
import { runIdProblem } from '../model/runIdRule';
import { checkHolder } from './storeRecords';
import { LeaseLostError, type AcquireResult, type HolderInfo, type StoreHolder, type StoreLease } from './storeTypes';

/**
 * The lock of a key, read in one statement: the `locks` row (who said they hold it) and the session that
 * holds the advisory lock now. `lease_expired` is judged by the server's clock, the one clock every machine shares.
 */
const STATE_SQL = `
SELECT lk.pid AS lock_pid, (extract(epoch FROM now()) * 1000)::float8 AS server_now, l.holder, l.since, l.renewed_at, l.lease_ms, l.backend_pid,
       l.renewed_at + make_interval(secs => l.lease_ms / 1000.0) < now() AS lease_expired
FROM (SELECT 1) AS one
LEFT JOIN release_pilot.locks l ON l.key = $1
LEFT JOIN LATERAL (
  SELECT k.pid FROM pg_locks k
  WHERE k.locktype = 'advisory' AND k.granted AND k.objsubid = 1
    AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND ((k.classid::bigint << 32) | k.objid::bigint) = $2::bigint
  LIMIT 1
) lk ON true`;

interface StateRow {
  lock_pid: number | null;
  server_now?: number;
  holder: unknown;
  since: Date | null;
  renewed_at: Date | null;
  lease_ms: number | null;
  backend_pid: number | null;
  lease_expired: boolean | null;
}

/** What a key's lock is now. `settling`: a session holds the lock and has not written its row yet. */
type LockState = { kind: 'free' } | { kind: 'held'; holder: StoreHolder } | { kind: 'gone'; holder: StoreHolder } | { kind: 'settling'; lockPid: number };

/** How long a reader waits for a winner to write who it is (it does so right after winning). */
const SETTLE_MS = 3_000;
const SETTLE_STEP_MS = 15;

/** `mine`: the reading session holds the lock itself, so a row naming another session is one that is gone. */
async function readState(c: ClientBase, key: string, mine = false): Promise<LockState> {
  const row = (await c.query<StateRow>(STATE_SQL, [key, advisoryKey(key)])).rows[0];
  if (mine) return row && row.backend_pid !== null ? { kind: 'gone', holder: holderFrom(key, row, true) } : { kind: 'free' };
  const lockPid = row?.lock_pid ?? undefined;
  if (!row || row.backend_pid === null) return lockPid === undefined ? { kind: 'free' } : { kind: 'settling', lockPid };
  if (lockPid === undefined) return { kind: 'gone', holder: holderFrom(key, row, true) };
  if (lockPid !== row.backend_pid) return { kind: 'settling', lockPid };
  return { kind: 'held', holder: holderFrom(key, row, Boolean(row.lease_expired)) };
}

/**
 * A holder from its row, checked as every store checks a holder (`checkHolder`): a row another client
 * filled with something else is refused as damaged, with the statement a person clears it with.
 */
function holderFrom(key: string, row: StateRow, stale: boolean): StoreHolder {
  const clear = `the lock is damaged: once nobody releases with it, a person removes it with \`DELETE FROM release_pilot.locks WHERE key = '${key.replace(/'/g, "''")}'\``;
  const h = row.holder;
  const record =
    h && typeof h === 'object' && !Array.isArray(h)
      ? { ...h, leaseMs: row.lease_ms, since: row.since?.toISOString(), renewedAt: row.renewed_at?.toISOString() }
      : h;
  return { ...checkHolder(record, `the release lock ${JSON.stringify(key)} (release_pilot.locks)`, row.server_now ?? Date.now(), clear), stale };
}

/** A session that holds the advisory lock but has not said who it is (within SETTLE_MS). */
function unknownHolder(stale: boolean): StoreHolder {
  const at = new Date(0).toISOString();
  return { runId: 'unknown', user: 'unknown', host: 'unknown', workspace: 'unknown', pid: 0, holder: 'unknown', leaseMs: 0, since: at, renewedAt: at, stale };
}

/** Reads the state until no winner is settling (or SETTLE_MS has passed). */
async function settledState(c: ClientBase, key: string): Promise<Exclude<LockState, { kind: 'settling' }>> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const s = await readState(c, key);
    if (s.kind !== 'settling') return s;
    if (Date.now() > deadline) return { kind: 'held', holder: unknownHolder(false) };
    await new Promise((r) => setTimeout(r, SETTLE_STEP_MS));
  }
}

const WRITE_ROW_SQL = `
INSERT INTO release_pilot.locks (key, holder, since, renewed_at, lease_ms, backend_pid)
VALUES ($1, $2::json, now(), now(), $3, pg_backend_pid())
ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder, since = now(), renewed_at = now(),
  lease_ms = EXCLUDED.lease_ms, backend_pid = EXCLUDED.backend_pid
RETURNING since, renewed_at, backend_pid`;

/**
 * The lock of every key: a session-level `pg_try_advisory_lock` held by a connection of the lease's own, so
 * the server decides between racers and the lock goes when the holder's connection does (a killed process,
 * and, through TCP keepalives set from the lease, a machine that vanished). The `locks` row says who holds
 * it; it is written by the winning session right after winning and removed before unlocking.
 *
 * A holder whose session is alive but who has not renewed within its lease is reported stale ("not renewing
 * since …") but is never taken over: ending another machine's session is a person's decision
 * (`SELECT pg_terminate_backend(pid)`), after which the key is taken over like any gone holder.
 */
export class PgLocks {
  readonly leases = new Set<PgLease>();

  constructor(
    private readonly target: PgTarget,
    private readonly leaseMs: number,
  ) {}

  async acquire(key: string, me: HolderInfo, opts: { takeOverStale?: boolean } = {}): Promise<AcquireResult> {
    checkName('lock key', key);
    const problem = runIdProblem(me.runId);
    if (problem) throw new Error(problem);
    const leaseMs = me.leaseMs > 0 ? me.leaseMs : this.leaseMs;
    const info: HolderInfo = { ...me, leaseMs };
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      if (Date.now() > deadline + SETTLE_MS) return { ok: false, holder: unknownHolder(false) };
      const c = await this.target.connect(keepalive(leaseMs));
      let kept = false;
      try {
        const won = (await c.query<{ won: boolean }>('SELECT pg_try_advisory_lock($1) AS won', [advisoryKey(key)])).rows[0]?.won;
        const state = won ? await readState(c, key, true) : await settledState(c, key);
        if (!won) {
          // The winner let go between our try and our read: try again.
          if (state.kind === 'free' || state.kind === 'settling' || (state.kind === 'gone' && Date.now() < deadline)) continue;
          return { ok: false, holder: state.holder };
        }
        const before = state.kind === 'gone' ? state.holder : undefined;
        if (before && !opts.takeOverStale) return { ok: false, holder: before };
        const row = (await c.query<{ since: Date; renewed_at: Date; backend_pid: number }>(WRITE_ROW_SQL, [key, holderJson(info), leaseMs])).rows[0];
        const lease = new PgLease(
          this,
          this.target,
          c,
          key,
          { ...info, since: row.since.toISOString(), renewedAt: row.renewed_at.toISOString(), stale: false },
          row.backend_pid,
        );
        kept = true;
        return before ? { ok: true, lease, tookOver: before } : { ok: true, lease };
      } catch (e) {
        throw this.target.fail(e);
      } finally {
        // A session that did not become a lease ends, and with it any advisory lock it took.
        if (!kept) await c.end().catch(() => undefined);
      }
    }
  }

  async holder(key: string): Promise<StoreHolder | undefined> {
    checkName('lock key', key);
    const s = await this.target.session((c) => settledState(c, key));
    return s.kind === 'free' ? undefined : s.holder;
  }

  /**
   * Ends every lease's session without giving its key up: the lock goes with the session and the row stays,
   * so other machines read the holder as stale (a run that did not end), not as a key nobody held.
   */
  async closeAll(): Promise<void> {
    await Promise.all([...this.leases].map((l) => l.end()));
  }
}

/** Server-side TCP keepalives from the lease: a holder whose machine vanished loses its session (and lock) within about two thirds of it. */
function keepalive(leaseMs: number): Record<string, number> {
  return {
    tcp_keepalives_idle: Math.max(1, Math.round(leaseMs / 3000)),
    tcp_keepalives_interval: Math.max(1, Math.round(leaseMs / 9000)),
    tcp_keepalives_count: 3,
  };
}

function holderJson(h: HolderInfo): string {
  const { runId, user, host, workspace, pid, holder, leaseMs } = h;
  return JSON.stringify({ runId, user, host, workspace, pid, holder, leaseMs });
}

/** A held key: its own session holds the advisory lock; renewing stamps the row the session wrote. */
class PgLease implements StoreLease {
  private released = false;
  private broken = false;

  constructor(
    private readonly locks: PgLocks,
    private readonly target: PgTarget,
    private client: Client,
    readonly key: string,
    public info: StoreHolder,
    private backendPid: number,
  ) {
    locks.leases.add(this);
    this.watchSession(client);
  }

  private watchSession(c: Client): void {
    const lost = () => {
      if (c === this.client) this.broken = true;
    };
    c.on('error', lost);
    c.on('end', lost);
  }

  async renew(): Promise<void> {
    if (this.released) throw new LeaseLostError(this.key);
    if (!this.broken) {
      try {
        const r = await this.client.query<{ renewed_at: Date }>(
          `UPDATE release_pilot.locks SET renewed_at = now() WHERE key = $1 AND backend_pid = pg_backend_pid() RETURNING renewed_at`,
          [this.key],
        );
        if (r.rows[0]) {
          this.info = { ...this.info, renewedAt: r.rows[0].renewed_at.toISOString() };
          return;
        }
        throw new LeaseLostError(this.key, await this.locks.holder(this.key));
      } catch (e) {
        if (e instanceof LeaseLostError) throw e;
        const err = this.target.fail(e);
        if (err.name !== 'StoreUnreachableError') throw err;
        this.broken = true;
      }
    }
    await this.reattach();
  }

  /**
   * The lease's session broke (the server restarted, the network dropped): a new session takes the lock
   * again only if nobody took the key meanwhile, i.e. the row still names this lease's last session.
   */
  private async reattach(): Promise<void> {
    const c = await this.target.connect(keepalive(this.info.leaseMs));
    try {
      const won = (await c.query<{ won: boolean }>('SELECT pg_try_advisory_lock($1) AS won', [advisoryKey(this.key)])).rows[0]?.won;
      const r = won
        ? await c.query<{ renewed_at: Date; backend_pid: number }>(
            `UPDATE release_pilot.locks SET renewed_at = now(), backend_pid = pg_backend_pid() WHERE key = $1 AND backend_pid = $2 RETURNING renewed_at, backend_pid`,
            [this.key, this.backendPid],
          )
        : undefined;
      const row = r?.rows[0];
      if (!row) {
        await c.end().catch(() => undefined);
        throw new LeaseLostError(this.key, await this.locks.holder(this.key));
      }
      const old = this.client;
      this.client = c;
      this.backendPid = row.backend_pid;
      this.broken = false;
      this.watchSession(c);
      this.info = { ...this.info, renewedAt: row.renewed_at.toISOString() };
      await old.end().catch(() => undefined);
    } catch (e) {
      if (e instanceof LeaseLostError) throw e;
      await c.end().catch(() => undefined);
      throw this.target.fail(e);
    }
  }

  /** Removes the row and unlocks; ending the session frees the lock whatever happens to those statements. */
  async release(): Promise<void> {
    await this.end(true);
  }

  /** Ends the lease's session; `giveUp` first removes the row and unlocks. */
  async end(giveUp = false): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.locks.leases.delete(this);
    if (giveUp && !this.broken) {
      await this.client
        .query(`DELETE FROM release_pilot.locks WHERE key = $1 AND backend_pid = pg_backend_pid()`, [this.key])
        .then(() => this.client.query('SELECT pg_advisory_unlock($1)', [advisoryKey(this.key)]))
        .catch(() => undefined);
    }
    await this.client.end().catch(() => undefined);
  }
}
