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
 * Creates the schema when it is missing; two first users wait on one transaction-scoped advisory lock, so
 * they do not race. A store whose tables exist already is not touched (a role without CREATE can use it).
 */
export async function ensureSchema(c: Client): Promise<void> {
  const exists = await c.query<{ ok: boolean }>(`SELECT to_regclass('release_pilot.requests') IS NOT NULL AS ok`);
  if (exists.rows[0]?.ok) return;
  await c.query('BEGIN');
  try {
    await c.query('SELECT pg_advisory_xact_lock($1)', [advisoryKey('schema')]);
    await c.query(DDL);
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
      chains.push(same ? before!.chains[i] : createHash('sha256').update(prev).update('\n').update(canonicalJson(events[i])).digest('hex'));
      texts.push(text);
    }
    this.kept.delete(runId);
    this.kept.set(runId, { texts, chains });
    for (const old of this.kept.keys()) if (this.kept.size > 8) this.kept.delete(old);
    return { chains, texts };
  }
}
