// What a shared store holds, read back: a teammate's client may be older, newer or broken, so every record is
// checked before it is believed, and a damaged one is refused with where it is and what was expected.
import * as os from 'node:os';
import { processStat } from '../exec/identity';
import type { ReleaseEvent } from '../model/events';
import { runIdProblem } from '../model/runIdRule';
import type { HolderInfo, RollbackRequest, RunMeta, StoreHolder } from './storeTypes';

/** The largest holder.json, meta.json or request.json believed: they are a few hundred bytes. */
export const RECORD_MAX_BYTES = 64 * 1024;
/** The largest journal read from a store: far above any real release's. */
export const JOURNAL_MAX_BYTES = 64 * 1024 * 1024;

/** A record in the store that is not what this product writes: named with where it is and what is wrong. */
export class StoreDataError extends Error {
  override name = 'StoreDataError';
}

type Json = Record<string, unknown>;

function parseObject(text: string, where: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new StoreDataError(`${where} is not JSON (${(e as Error).message.slice(0, 120)}): it was not written by Release Pilot, or was damaged`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new StoreDataError(`${where} is not a JSON object`);
  return v as Json;
}

const isText = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length <= max;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Text shown to a person as it is: no control characters (terminal escapes, line breaks). */
const isPrintable = (v: unknown): v is string => isText(v, 1000) && v !== '' && !CONTROL.test(v);
const isTime = (v: unknown): v is string => isText(v, 64) && !Number.isNaN(Date.parse(v));

function need(o: Json, where: string, checks: Record<string, [(v: unknown) => boolean, string]>): void {
  for (const [key, [ok, expected]] of Object.entries(checks))
    if (!ok(o[key])) throw new StoreDataError(`${where}: "${key}" is ${JSON.stringify(o[key])?.slice(0, 60) ?? 'missing'}, expected ${expected}`);
}

const runIdCheck: [(v: unknown) => boolean, string] = [(v) => typeof v === 'string' && runIdProblem(v) === undefined, 'a run id'];

const HOLDER_CHECKS: Record<string, [(v: unknown) => boolean, string]> = {
  runId: runIdCheck,
  user: [isPrintable, 'a user name without control characters'],
  host: [isPrintable, 'a host name without control characters'],
  workspace: [isPrintable, 'a folder without control characters'],
  pid: [(v) => Number.isSafeInteger(v) && (v as number) > 0, 'a process id'],
  holder: [isPrintable, 'what holds the lock (CLI, VS Code window), without control characters'],
  leaseMs: [(v) => Number.isSafeInteger(v) && (v as number) > 0 && (v as number) <= 86_400_000, 'a lease in milliseconds'],
  since: [isTime, 'an ISO time'],
  renewedAt: [isTime, 'an ISO time'],
};

/** A holder as the lock records it. */
export type HolderRecord = HolderInfo & { since: string; renewedAt: string };

/** The holder a lock's holder.json names, with `stale` judged by the reader's clock at `now`. */
export function readHolder(text: string, where: string, now: number, clear: string): StoreHolder {
  let o: unknown;
  try {
    o = parseObject(text, where);
  } catch (e) {
    throw e instanceof StoreDataError ? new StoreDataError(`${e.message}; ${clear}`) : e;
  }
  return checkHolder(o, where, now, clear);
}

/**
 * The one check of a stored lock holder, whichever store keeps it: a holder that is not what this product
 * writes (a forged or damaged record) is refused, never shown or pasted into advice. A renewal further in the
 * future than its own lease is refused too: a clock that far ahead, or a forged record, would hold the key.
 */
export function checkHolder(value: unknown, where: string, now: number, clear: string): StoreHolder {
  try {
    return holderOf(value, where, now);
  } catch (e) {
    if (e instanceof StoreDataError) throw new StoreDataError(`${e.message}; ${clear}`);
    throw e;
  }
}

function holderOf(value: unknown, where: string, now: number): StoreHolder {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new StoreDataError(`${where} is not a JSON object`);
  const o = value as Json;
  need(o, where, HOLDER_CHECKS);
  const ahead = Date.parse(o.renewedAt as string) - now;
  if (ahead > (o.leaseMs as number))
    throw new StoreDataError(
      `${where}: "renewedAt" is ${o.renewedAt as string}, ${Math.round(ahead / 1000)} s ahead of this machine's clock: the holder's clock is wrong or the record was forged`,
    );
  const h = o as unknown as HolderRecord;
  const info: HolderRecord = {
    runId: h.runId,
    user: h.user,
    host: h.host,
    workspace: h.workspace,
    pid: h.pid,
    holder: h.holder,
    leaseMs: h.leaseMs,
    since: h.since,
    renewedAt: h.renewedAt,
  };
  return { ...info, stale: isStale(info, now) };
}

/**
 * Stale: a holder on this host when its process is gone, whatever the clocks say (its clock may differ from
 * the reader's); on another host, no renewal within the holder's own lease, judged by the reader's clock
 * (`renewedAt` is the holder's clock): machines whose clocks differ by a good part of a lease judge it early or late.
 */
export function isStale(h: Pick<StoreHolder, 'renewedAt' | 'leaseMs'> & Partial<Pick<StoreHolder, 'host' | 'pid'>>, now: number): boolean {
  if (h.host === os.hostname() && h.pid !== undefined) {
    const p = processStat(h.pid);
    return !p || p.state === 'Z';
  }
  return Date.parse(h.renewedAt) + h.leaseMs < now;
}

const META_CHECKS: Record<string, [(v: unknown) => boolean, string]> = {
  runId: runIdCheck,
  name: [isText, 'a service name'],
  environment: [isText, 'an environment name'],
  version: [isText, 'a version'],
  user: [isText, 'a user name'],
  host: [isText, 'a host name'],
  workspace: [isText, 'a folder'],
  events: [(v) => Number.isSafeInteger(v) && (v as number) >= 0, 'a count of events'],
  updatedAt: [isTime, 'an ISO time'],
};

export type MetaRecord = RunMeta & { events: number; updatedAt: string };

export function readMeta(text: string, where: string): MetaRecord {
  const o = parseObject(text, where);
  need(o, where, META_CHECKS);
  const m = o as unknown as MetaRecord;
  return {
    runId: m.runId,
    name: m.name,
    environment: m.environment,
    version: m.version,
    user: m.user,
    host: m.host,
    workspace: m.workspace,
    events: m.events,
    updatedAt: m.updatedAt,
  };
}

export function checkMeta(meta: RunMeta): void {
  const problem = runIdProblem(meta.runId);
  if (problem) throw new StoreDataError(problem);
  for (const k of ['name', 'environment', 'version', 'user', 'host', 'workspace'] as const)
    if (!isText(meta[k]))
      throw new StoreDataError(`run ${meta.runId}: "${k}" is ${JSON.stringify(meta[k])?.slice(0, 60)}, expected a text of at most 4096 characters`);
}

export function readRequest(text: string, where: string): RollbackRequest {
  const o = parseObject(text, where);
  need(o, where, { by: [isText, 'who asked'], reason: [isText, 'a reason'], at: [isTime, 'an ISO time'], host: [isText, 'a host name'] });
  return { by: o.by as string, reason: o.reason as string, at: o.at as string, host: o.host as string };
}

/** A journal's text as the store keeps it: one JSON event a line, each line ending with a line break. */
export function journalText(events: readonly ReleaseEvent[]): string {
  return events.map((e) => `${JSON.stringify(e)}\n`).join('');
}

/** The events of a journal read from a store; a line that is not an event is refused naming its number. */
export function readEvents(text: string, where: string): ReleaseEvent[] {
  if (text !== '' && !text.endsWith('\n')) throw new StoreDataError(`${where} does not end with a line break: its last line was cut short`);
  const lines = text === '' ? [] : text.slice(0, -1).split('\n');
  return lines.map((line, i) => {
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch {
      throw new StoreDataError(`${where}, line ${i + 1}: not JSON (${JSON.stringify(line.slice(0, 60))}): expected one journal event a line`);
    }
    if (!e || typeof e !== 'object' || typeof (e as { type?: unknown }).type !== 'string')
      throw new StoreDataError(`${where}, line ${i + 1}: expected a journal event (an object with a "type")`);
    return e as ReleaseEvent;
  });
}

/** The holder's own fields, nothing a caller added. */
export function pickHolder(h: HolderInfo): HolderInfo {
  return { runId: h.runId, user: h.user, host: h.host, workspace: h.workspace, pid: h.pid, holder: h.holder, leaseMs: h.leaseMs };
}
/** The run's own fields, nothing a caller added. */
export function pickMeta(m: RunMeta): RunMeta {
  return { runId: m.runId, name: m.name, environment: m.environment, version: m.version, user: m.user, host: m.host, workspace: m.workspace };
}
