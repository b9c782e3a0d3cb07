import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { advisoryKey } from './postgresConnect';

/** The channel a publish notifies, with `<runId>:<event count>`. */
export const EVENTS_CHANNEL = 'release_pilot_events';
/** The channel a rollback request notifies, with the run id. */
export const REQUESTS_CHANNEL = 'release_pilot_requests';

/**
 * The store's tables, in their own schema. Events, holders and requests are `json`, not `jsonb`: the store
 * keeps the exact text it was given (a step's output may hold `\u0000`, which `jsonb` refuses) and never
 * queries inside it. `chain` is sha256 over the previous event's chain and this event's canonical JSON, so
 * whether a journal extends the stored one is one comparison of the last stored event's chain.
 */
const DDL = `
CREATE SCHEMA IF NOT EXISTS release_pilot;
CREATE TABLE IF NOT EXISTS release_pilot.runs (
  run_id text PRIMARY KEY,
  name text NOT NULL,
  environment text NOT NULL,
  version text NOT NULL,
  "user" text NOT NULL,
  host text NOT NULL,
  workspace text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  events integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS release_pilot.events (
  run_id text NOT NULL REFERENCES release_pilot.runs (run_id),
  seq integer NOT NULL CHECK (seq >= 0),
  event json NOT NULL,
  chain text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS release_pilot.locks (
  key text PRIMARY KEY,
  holder json NOT NULL,
  since timestamptz NOT NULL DEFAULT now(),
  renewed_at timestamptz NOT NULL DEFAULT now(),
  lease_ms integer NOT NULL,
  backend_pid integer NOT NULL
);
CREATE TABLE IF NOT EXISTS release_pilot.requests (
  run_id text PRIMARY KEY,
  request json NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
`;

/**
 * The events table is append-only in the database itself: an UPDATE, DELETE or TRUNCATE of a stored event
 * fails, whichever client sends it. Added to a store created before, idempotently, by whoever opens it
 * with the right to (its owner); a role that cannot is left as it is.
 */
const APPEND_ONLY = `
CREATE OR REPLACE FUNCTION release_pilot.events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'release_pilot.events is append-only: a stored journal event is never changed or removed';
END $$;
DROP TRIGGER IF EXISTS events_append_only ON release_pilot.events;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON release_pilot.events
  FOR EACH ROW EXECUTE FUNCTION release_pilot.events_append_only();
DROP TRIGGER IF EXISTS events_no_truncate ON release_pilot.events;
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON release_pilot.events
  FOR EACH STATEMENT EXECUTE FUNCTION release_pilot.events_append_only();
`;

/**
 * Creates the schema when it is missing; two first users wait on one transaction-scoped advisory lock, so
 * they do not race. A store whose tables exist already is not touched (a role without CREATE can use it).
 */
export async function ensureSchema(c: Client): Promise<void> {
  const exists = await c.query<{ ok: boolean; guarded: boolean }>(
    `SELECT to_regclass('release_pilot.requests') IS NOT NULL AS ok,
            EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'events_no_truncate' AND tgrelid = to_regclass('release_pilot.events')) AS guarded`,
  );
  if (exists.rows[0]?.ok && exists.rows[0].guarded) return;
  const owner = exists.rows[0]?.ok
    ? (await c.query<{ mine: boolean }>(`SELECT pg_has_role(relowner, 'USAGE') AS mine FROM pg_class WHERE oid = 'release_pilot.events'::regclass`)).rows[0]
        ?.mine
    : true;
  if (!owner) return;
  await c.query('BEGIN');
  try {
    await c.query('SELECT pg_advisory_xact_lock($1)', [advisoryKey('schema')]);
    await c.query(DDL);
    await c.query(APPEND_ONLY);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** JSON with object keys sorted: the same event gives the same text whatever order its keys were written in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * Each event's chain: sha256 of the previous chain and the event's canonical JSON. A publisher sends a
 * growing journal again and again; the chains of what it sent last time are kept (for a few runs) and
 * reused for as long as each event serialises to the same text, so a publish hashes only what is new.
 */
export class Chains {
  private readonly kept = new Map<string, { texts: string[]; chains: string[] }>();

  /** The chains of `events`, and each event's JSON text (what the store writes). */
  of(runId: string, events: readonly unknown[]): { chains: string[]; texts: string[] } {
    const before = this.kept.get(runId);
    const chains: string[] = [];
    const texts: string[] = [];
    let same = before !== undefined;
    for (let i = 0; i < events.length; i++) {
      const text = JSON.stringify(events[i]);
      same &&= i < before!.chains.length && text === before!.texts[i];
      const prev = i > 0 ? chains[i - 1] : '';
      chains.push(same ? before!.chains[i] : chainAfter(prev, events[i]));
      texts.push(text);
    }
    this.kept.delete(runId);
    this.kept.set(runId, { texts, chains });
    for (const old of this.kept.keys()) if (this.kept.size > 8) this.kept.delete(old);
    return { chains, texts };
  }
}

/** One event's chain after `prev` (the empty text before the first event). */
export function chainAfter(prev: string, event: unknown): string {
  return createHash('sha256').update(prev).update('\n').update(canonicalJson(event)).digest('hex');
}

/** A run's stored events from `from`, read with the chain of the event before them and the count its run row declares. */
export const EVENTS_SQL = `
SELECT e.seq, e.event, e.chain, r.events AS declared,
       (SELECT count(*)::int FROM release_pilot.events x WHERE x.run_id = $1) AS held
FROM release_pilot.runs r LEFT JOIN release_pilot.events e ON e.run_id = r.run_id AND e.seq >= $2
WHERE r.run_id = $1 ORDER BY e.seq`;

export interface EventRow {
  seq: number | null;
  event: unknown;
  chain: string | null;
  declared: number;
  held: number;
}

/**
 * The events of rows read with EVENTS_SQL from `from - 1` (or 0): what is wrong if the stored journal is not
 * one unbroken chain (an event changed, removed or inserted) or its run row declares another count.
 */
export function chainProblem(rows: readonly EventRow[], from: number): string | undefined {
  const head = rows[0];
  if (!head) return undefined;
  if (head.declared !== head.held) return `its run row declares ${head.declared} events and the store holds ${head.held}`;
  const start = Math.max(from - 1, 0);
  let prev = start === 0 ? '' : undefined;
  let seq = start;
  for (const row of rows) {
    if (row.seq === null) return head.held > start ? `events from ${start + 1} are missing` : undefined;
    if (row.seq !== seq) return `event ${seq + 1} is missing`;
    if (prev !== undefined && chainAfter(prev, row.event) !== row.chain) return `event ${seq + 1} was changed after it was stored`;
    prev = row.chain ?? '';
    seq++;
  }
  if (seq !== head.held) return `it holds ${head.held} events numbered up to ${seq}`;
  return undefined;
}
