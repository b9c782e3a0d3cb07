import type { Client, ClientBase } from 'pg';
import type { ReleaseEvent } from '../model/events';
import { PgTarget, checkName } from './postgresConnect';
import { PgLocks } from './postgresLock';
import { Chains, EVENTS_CHANNEL, EVENTS_SQL, REQUESTS_CHANNEL, chainProblem, ensureSchema, type EventRow } from './postgresSchema';
import { StoreDataError } from './storeRecords';
import type { AcquireResult, HolderInfo, ReleaseStore, RollbackRequest, RunMeta, StoreHolder, StoredRun } from './storeTypes';

interface RunRow {
  run_id: string;
  name: string;
  environment: string;
  version: string;
  user: string;
  host: string;
  workspace: string;
  events: number;
  updated_at: Date;
}

/**
 * The release store in one PostgreSQL database (`postgres://user:password@host:port/database`), in its own
 * schema `release_pilot`, created on first use. Runs and their events are rows appended in transactions;
 * an environment's lock is an advisory lock held by the releasing session (see `PgLocks`); a publish
 * notifies `release_pilot_events` with `<runId>:<count>`, which `watch` listens to.
 */
export class PostgresStore implements ReleaseStore {
  readonly kind = 'postgres' as const;
  readonly where: string;
  private readonly target: PgTarget;
  private readonly locks: PgLocks;
  private schema: Promise<void> | undefined;
  private readonly watchers = new Set<() => Promise<void>>();
  private readonly chains = new Chains();

  constructor(url: string, opts: { leaseMs: number }) {
    this.target = new PgTarget(url);
    this.where = this.target.where;
    this.locks = new PgLocks(this.target, opts.leaseMs);
  }

  /** Creates the schema once per store (again after a failed try). */
  private ready(): Promise<void> {
    this.schema ??= this.target
      .session((c) => ensureSchema(c))
      .catch((e: unknown) => {
        this.schema = undefined;
        throw e;
      });
    return this.schema;
  }

  /** A statement on a pooled connection, once the schema is there. */
  private async run<T>(work: (c: ClientBase) => Promise<T>): Promise<T> {
    await this.ready();
    return this.target.session(work);
  }

  async acquire(key: string, me: HolderInfo, opts?: { takeOverStale?: boolean }): Promise<AcquireResult> {
    await this.ready();
    return this.locks.acquire(key, me, opts);
  }

  async holder(key: string): Promise<StoreHolder | undefined> {
    await this.ready();
    return this.locks.holder(key);
  }

  async publish(meta: RunMeta, events: readonly ReleaseEvent[]): Promise<void> {
    const runId = meta.runId;
    checkName('run id', runId);
    const { chains, texts } = this.chains.of(runId, events);
    await this.run((c) =>
      transaction(c, async () => {
        await c.query(
          `INSERT INTO release_pilot.runs (run_id, name, environment, version, "user", host, workspace) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (run_id) DO NOTHING`,
          [runId, meta.name, meta.environment, meta.version, meta.user, meta.host, meta.workspace].map(plainText),
        );
        // The run's row lock puts concurrent publishers of one run in a line.
        const stored = (await c.query<{ events: number }>(`SELECT events FROM release_pilot.runs WHERE run_id = $1 FOR UPDATE`, [runId])).rows[0].events;
        const common = Math.min(stored, events.length);
        if (common > 0) {
          const last = await c.query<{ chain: string }>(`SELECT chain FROM release_pilot.events WHERE run_id = $1 AND seq = $2`, [runId, common - 1]);
          if (last.rows[0]?.chain !== chains[common - 1]) {
            const all = await c.query<{ chain: string }>(`SELECT chain FROM release_pilot.events WHERE run_id = $1 AND seq < $2 ORDER BY seq`, [runId, common]);
            const first = all.rows.findIndex((r, i) => r.chain !== chains[i]);
            throw new Error(
              `the release store ${this.where} holds ${stored} events of run ${runId}, and its event ${first + 1} differs from this journal's: a stored journal only grows, it is never rewritten`,
            );
          }
        }
        if (events.length <= stored) return;
        const seqs = Array.from({ length: events.length - stored }, (_, i) => stored + i);
        await c.query(
          `INSERT INTO release_pilot.events (run_id, seq, event, chain)
           SELECT $1, t.seq, t.event::json, t.chain FROM unnest($2::integer[], $3::text[], $4::text[]) AS t(seq, event, chain)`,
          [runId, seqs, texts.slice(stored), chains.slice(stored)],
        );
        await c.query(`UPDATE release_pilot.runs SET events = $2, updated_at = now() WHERE run_id = $1`, [runId, events.length]);
        await c.query(`SELECT pg_notify($1, $2)`, [EVENTS_CHANNEL, `${runId}:${events.length}`]);
      }),
    );
  }

  async runs(): Promise<StoredRun[]> {
    const r = await this.run((c) =>
      c.query<RunRow>(
        `SELECT run_id, name, environment, version, "user", host, workspace, events, updated_at FROM release_pilot.runs ORDER BY created_at DESC, run_id DESC`,
      ),
    );
    return r.rows.map((row) => ({
      runId: row.run_id,
      name: row.name,
      environment: row.environment,
      version: row.version,
      user: row.user,
      host: row.host,
      workspace: row.workspace,
      events: row.events,
      updatedAt: row.updated_at.toISOString(),
    }));
  }

  async events(runId: string, from = 0): Promise<ReleaseEvent[]> {
    checkName('run id', runId);
    if (!Number.isSafeInteger(from) || from < 0) throw new Error(`the release store reads events from index ${from}: expected a whole number from 0`);
    const r = await this.run((c) => c.query<EventRow>(EVENTS_SQL, [runId, Math.max(from - 1, 0)]));
    const problem = chainProblem(r.rows, from);
    if (problem)
      throw new StoreDataError(
        `run ${runId} in the release store ${this.where} is damaged: ${problem}; a stored journal only grows, so this run is not read (its own machine's journal still has it)`,
      );
    return r.rows.filter((row) => row.seq !== null && row.seq >= from).map((row) => row.event as ReleaseEvent);
  }

  async requestRollback(runId: string, request: RollbackRequest): Promise<void> {
    checkName('run id', runId);
    const { by, reason, at, host } = request;
    await this.run((c) =>
      transaction(c, async () => {
        await c.query(
          `INSERT INTO release_pilot.requests (run_id, request, at) VALUES ($1, $2::json, now())
           ON CONFLICT (run_id) DO UPDATE SET request = EXCLUDED.request, at = now()`,
          [runId, JSON.stringify({ by, reason, at, host })],
        );
        await c.query(`SELECT pg_notify($1, $2)`, [REQUESTS_CHANNEL, runId]);
      }),
    );
  }

  async rollbackRequest(runId: string): Promise<RollbackRequest | undefined> {
    checkName('run id', runId);
    const r = await this.run((c) => c.query<{ request: unknown }>(`SELECT request FROM release_pilot.requests WHERE run_id = $1`, [runId]));
    const raw = r.rows[0]?.request;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
    const q = raw as Record<string, unknown>;
    const text = (k: string) => (typeof q[k] === 'string' ? q[k] : 'unknown');
    return { by: text('by'), reason: text('reason'), at: text('at'), host: text('host') };
  }

  /**
   * LISTEN on a connection of its own. When that connection breaks, it connects again every `pollMs` and,
   * once back, calls `onChange` (events may have been stored meanwhile).
   */
  async watch(runId: string, onChange: () => void, pollMs = 2_000): Promise<() => void> {
    checkName('run id', runId);
    await this.ready();
    let stopped = false;
    let client: Client | undefined;
    let timer: NodeJS.Timeout | undefined;
    let pending: Promise<void> | undefined;
    const listen = async (): Promise<Client> => {
      const c = await this.target.connect();
      c.on('notification', (n) => {
        const payload = n.payload ?? '';
        if (n.channel === EVENTS_CHANNEL && payload.slice(0, payload.lastIndexOf(':')) === runId) onChange();
      });
      const broke = () => {
        if (stopped || c !== client) return;
        client = undefined;
        timer = setTimeout(again, pollMs);
      };
      c.on('error', broke);
      c.on('end', broke);
      try {
        await c.query(`LISTEN ${EVENTS_CHANNEL}`);
      } catch (e) {
        await c.end().catch(() => undefined);
        throw this.target.fail(e);
      }
      return c;
    };
    const again = () => {
      timer = undefined;
      if (stopped) return;
      pending = listen().then(
        (c) => {
          if (stopped) return void c.end().catch(() => undefined);
          client = c;
          onChange();
        },
        () => {
          if (!stopped) timer = setTimeout(again, pollMs);
        },
      );
    };
    client = await listen();
    const stop = async () => {
      stopped = true;
      this.watchers.delete(stop);
      if (timer) clearTimeout(timer);
      await pending;
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    };
    this.watchers.add(stop);
    return () => void stop();
  }

  async close(): Promise<void> {
    await Promise.all([...this.watchers].map((stop) => stop()));
    await this.locks.closeAll();
    await this.target.end();
  }
}

async function transaction(c: ClientBase, work: () => Promise<void>): Promise<void> {
  await c.query('BEGIN');
  try {
    await work();
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** PostgreSQL text cannot hold NUL: a run's description keeps the rest of its text. */
function plainText(s: string): string {
  return String(s).replace(/\0/g, '\uFFFD');
}
