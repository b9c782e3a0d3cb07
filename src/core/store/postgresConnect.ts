import { createHash } from 'node:crypto';
import { Client, Pool, type ClientConfig, type PoolClient } from 'pg';
import { StoreUnreachableError } from './storeTypes';

/** How long a connection may take to open before the store counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** How long one statement may run on the server; the client gives up a little later. */
export const STATEMENT_TIMEOUT_MS = 10_000;
const QUERY_TIMEOUT_MS = STATEMENT_TIMEOUT_MS + 2_000;
/** The longest key or run id the store takes (NOTIFY payloads are at most 8000 bytes). */
export const MAX_NAME_LENGTH = 1_000;

/**
 * One PostgreSQL URL, read once: every connection the store opens is configured here, and every error a
 * connection or a query raises goes through `fail`, so no message carries the password.
 */
export class PgTarget {
  /** The URL without its password or query, for messages. */
  readonly where: string;
  private readonly secrets: string[];

  constructor(private readonly url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`the postgres release store's url is not a URL: expected postgres://user@host:port/database (${redactLoose(url)})`);
    }
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
      throw new Error(`the postgres release store's url starts with ${parsed.protocol}: expected postgres://user@host:port/database`);
    const password = decodeSafe(parsed.password);
    const queryPassword = parsed.searchParams.get('password') ?? '';
    this.secrets = [password, parsed.password, queryPassword, encodeURIComponent(queryPassword)].filter((s) => s.length >= 3);
    parsed.password = '';
    parsed.search = '';
    this.where = parsed.toString();
  }

  private shared: Pool | undefined;

  /** A new client (not connected) with the store's timeouts; `settings` are more server settings. */
  client(settings: Record<string, string | number> = {}): Client {
    const c = new Client(this.config(settings));
    // A connection that breaks while idle reports here; the next query on it fails and says why.
    c.on('error', () => undefined);
    return c;
  }

  private config(settings: Record<string, string | number>): ClientConfig {
    const all = {
      statement_timeout: STATEMENT_TIMEOUT_MS,
      lock_timeout: CONNECT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: 60_000,
      ...settings,
    };
    const config: ClientConfig = {
      connectionString: this.url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
      application_name: 'release-pilot',
      options: Object.entries(all)
        .map(([k, v]) => `-c ${k}=${v}`)
        .join(' '),
    };
    return config;
  }

  /** Connects a new client, or throws what `fail` makes of the failure. */
  async connect(settings?: Record<string, string | number>): Promise<Client> {
    const c = this.client(settings);
    try {
      await c.connect();
      return c;
    } catch (e) {
      await c.end().catch(() => undefined);
      throw this.fail(e);
    }
  }

  /** Runs `work` on one of a few pooled connections; a connection that failed is not reused. */
  async session<T>(work: (c: PoolClient) => Promise<T>): Promise<T> {
    if (!this.shared) {
      this.shared = new Pool({ ...this.config({}), max: 4, idleTimeoutMillis: 10_000 });
      this.shared.on('error', () => undefined);
    }
    let c: PoolClient;
    try {
      c = await this.shared.connect();
    } catch (e) {
      throw this.fail(e);
    }
    let broken: Error | undefined;
    try {
      return await work(c);
    } catch (e) {
      broken = e instanceof Error ? e : new Error(String(e));
      throw this.fail(e);
    } finally {
      c.release(broken);
    }
  }

  /** Ends the pooled connections. */
  async end(): Promise<void> {
    const pool = this.shared;
    this.shared = undefined;
    await pool?.end().catch(() => undefined);
  }

  /** The one way an error leaves the store: unreachable with where and why, or an error of its own; never a password. */
  fail(e: unknown): Error {
    if (e instanceof StoreUnreachableError) return e;
    const raw = e instanceof Error ? e.message : String(e);
    const why = this.scrub(raw || (e as { code?: string }).code || 'unknown error');
    if (isUnreachable(e)) return new StoreUnreachableError(this.where, why);
    if (e instanceof Error && e.message === why && !(e as { code?: string }).code) return e;
    return new Error(`the release store ${this.where}: ${why}`);
  }

  scrub(text: string): string {
    let out = text.split(this.url).join(this.where);
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }
}

/** Connection refused, a name that does not resolve, a timeout, a dropped connection, a refused login, a server going down. */
function isUnreachable(e: unknown): boolean {
  const raw = (e as { code?: unknown } | undefined)?.code;
  const code = typeof raw === 'string' ? raw : '';
  if (/^(ECONN|ENOTFOUND|EAI_|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ENOENT)/.test(code)) return true;
  // 08 connection exception, 28 authorization, 3D000 no such database, 57P0x shutdown/cannot connect now,
  // 53300 too many connections, 57014 statement timeout, 55P03 lock timeout: the store does not answer now.
  if (/^(08|28|57P0|3D000|53300|57014|55P03)/.test(code)) return true;
  const message = e instanceof Error ? e.message : '';
  return /Connection terminated|timeout expired|Query read timeout|Client was closed|Client has encountered a connection error|connection timeout/i.test(
    message,
  );
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Text that is not a URL, for a message: whatever sits between `:` and `@` is a password. */
function redactLoose(text: string): string {
  return text.replace(/:[^:@/]*@/, ':***@').slice(0, 200);
}

/**
 * The advisory lock number of a key: the first 8 bytes of sha256 of the key in the store's own namespace,
 * as a signed 64-bit integer (text, as `pg` sends a bigint).
 */
export function advisoryKey(name: string): string {
  const digest = createHash('sha256').update(`release-pilot\0${name}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/** Checks a key or run id before it reaches SQL: not empty, no NUL (PostgreSQL text cannot hold one), not huge. */
export function checkName(what: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) throw new Error(`the release store needs a ${what}: got an empty one`);
  if (value.includes('\0')) throw new Error(`the release store's ${what} "${printable(value)}" contains a NUL character: expected plain text`);
  if (value.length > MAX_NAME_LENGTH)
    throw new Error(`the release store's ${what} "${printable(value)}" is ${value.length} characters long: expected at most ${MAX_NAME_LENGTH}`);
}

function printable(value: string): string {
  const text = value.replace(/\0/g, '\\0');
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
