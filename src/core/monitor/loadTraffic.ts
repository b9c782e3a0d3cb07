/**
 * Traffic for a service under release: reads (GET the URL) and writes at a steady rate, open loop (a
 * request leaves when it is due, whether or not the service kept up), each on a connection of its own,
 * at most `concurrency` under way (a request due beyond that is counted as a failure, not delayed),
 * each bounded by `timeoutMs`. Every request is counted once (loadTally.ts). With `write`, each write
 * carries an id of its own (`{id}` in its path or body); those the service acknowledged (2xx) are read
 * back at the end through `checkWrites` (`{id}` in the URL) and the ones not found are reported lost.
 * The CLI's `load`, the demos and the tests all run this one generator.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { LoadTally, type LoadSummary, type Outcome, type WritesCheck } from './loadTally';
import { journalPhase } from './loadPhase';

export interface WriteSpec {
  method: string;
  /** A path on the URL's origin or a full URL; `{id}` becomes the write's id. */
  target: string;
  /** The body sent (JSON when it parses as JSON once `{id}` is a number); `{id}` becomes the write's id. */
  body?: string;
  /** The share of requests that are writes, above 0 and at most 1. */
  ratio: number;
}

export interface LoadOptions {
  url: string;
  /** Requests per second. */
  rate: number;
  /** How long to send; without it, until stop(). */
  durationMs?: number;
  write?: WriteSpec;
  /** Where an acknowledged write is read back: a URL (or a path on the URL's origin) with `{id}`. */
  checkWrites?: string;
  timeoutMs?: number;
  concurrency?: number;
  /** A workspace whose newest run's phase labels each request (`before` until a run starts). */
  workspace?: string;
  /** A response header that names who answered (a load balancer's `X-Served-By`). */
  labelHeader?: string;
}

export const LOAD_LIMITS = { maxRate: 10_000, maxConcurrency: 10_000, defaultConcurrency: 512, defaultTimeoutMs: 10_000 } as const;

export interface LoadRun {
  /** The counts so far. */
  summary(): LoadSummary;
  /** Stops sending; the requests under way end (each within its timeout), then the writes are read back. */
  stop(): void;
  /** The final summary, once sending ended (duration or stop) and the writes were checked. */
  readonly done: Promise<LoadSummary>;
}

/** Why options cannot run, in words that name the option; undefined when they can. */
export function loadOptionsProblem(o: LoadOptions): string | undefined {
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    return `not a URL: ${JSON.stringify(o.url)} (expected http://HOST:PORT/PATH)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${o.url}: only http:// and https:// URLs are loaded`;
  if (!Number.isFinite(o.rate) || o.rate <= 0) return `--rate must be a number of requests per second above 0, got ${o.rate}`;
  if (o.rate > LOAD_LIMITS.maxRate) return `--rate ${o.rate} is above ${LOAD_LIMITS.maxRate} requests per second`;
  if (o.durationMs !== undefined && (!Number.isFinite(o.durationMs) || o.durationMs <= 0)) return `--duration must be above 0 (e.g. 30s, 2m)`;
  const timeout = o.timeoutMs ?? LOAD_LIMITS.defaultTimeoutMs;
  if (!Number.isFinite(timeout) || timeout <= 0) return `--timeout must be above 0 (e.g. 2s)`;
  const c = o.concurrency ?? LOAD_LIMITS.defaultConcurrency;
  if (!Number.isInteger(c) || c < 1 || c > LOAD_LIMITS.maxConcurrency)
    return `--concurrency must be a whole number from 1 to ${LOAD_LIMITS.maxConcurrency}, got ${c}`;
  if (o.write && !(o.write.ratio > 0 && o.write.ratio <= 1)) return `--write-ratio must be above 0 and at most 1, got ${o.write.ratio}`;
  if (o.checkWrites !== undefined) {
    if (!o.write) return '--check-writes reads back the writes of --write: give --write too';
    if (!`${o.write.target}${o.write.body ?? ''}`.includes('{id}'))
      return '--check-writes needs {id} in --write (its path or body), so each write can be found again';
    if (!o.checkWrites.includes('{id}')) return `--check-writes needs {id} where the write's id goes, e.g. ${url.origin}/orders/{id}`;
  }
  return undefined;
}

/** `METHOD PATH [BODY]`, e.g. `POST /orders {"id":{id},"item":"x"}`. */
export function parseWriteSpec(text: string, ratio: number): WriteSpec | string {
  const m = /^\s*([A-Za-z]+)\s+(\S+)(?:\s+([\s\S]*\S))?\s*$/.exec(text);
  if (!m) return `--write expects 'METHOD PATH [BODY]', e.g. 'POST /orders {"id":{id}}'; got ${JSON.stringify(text)}`;
  return { method: m[1].toUpperCase(), target: m[2], body: m[3], ratio };
}

const errorOutcome = (e: NodeJS.ErrnoException): string =>
  e.message === 'timeout'
    ? 'timeout'
    : e.code === 'ECONNREFUSED'
      ? 'refused'
      : e.code === 'ECONNRESET' || e.message === 'socket hang up'
        ? 'reset'
        : (e.code ?? e.message);

interface Answer {
  outcome: Outcome;
  headers?: http.IncomingHttpHeaders;
  body?: string;
  error?: string;
}

const BODY_KEPT = 64 * 1024;

/** One request on a connection of its own, ended by its answer, an error, or `timeoutMs` in all. */
export function request(target: URL, o: { method?: string; body?: string; timeoutMs: number }): Promise<Answer> {
  return new Promise((resolve) => {
    const lib = target.protocol === 'https:' ? https : http;
    const headers: http.OutgoingHttpHeaders = { connection: 'close' };
    if (o.body !== undefined) {
      headers['content-type'] = isJson(o.body) ? 'application/json' : 'text/plain';
      headers['content-length'] = Buffer.byteLength(o.body);
    }
    let settled = false;
    const end = (a: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(a);
    };
    const req = lib.request(target, { method: o.method ?? 'GET', agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < BODY_KEPT) body += c;
      });
      res.on('end', () => end({ outcome: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', (e) => end({ outcome: errorOutcome(e), error: e.message }));
    });
    const timer = setTimeout(() => req.destroy(new Error('timeout')), o.timeoutMs);
    req.on('error', (e) => end({ outcome: errorOutcome(e), error: e.message }));
    req.end(o.body);
  });
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

function versionOf(body: string | undefined): string | undefined {
  if (!body || body[0] !== '{') return undefined;
  try {
    const v = (JSON.parse(body) as { version?: unknown }).version;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the n-th request (from 0) is a write: spread evenly, `ratio` of them. */
const isWrite = (n: number, ratio: number) => Math.floor((n + 1) * ratio) > Math.floor(n * ratio);

export function startLoad(o: LoadOptions): LoadRun {
  const problem = loadOptionsProblem(o);
  if (problem) throw new Error(problem);
  const base = new URL(o.url);
  const timeoutMs = o.timeoutMs ?? LOAD_LIMITS.defaultTimeoutMs;
  const concurrency = o.concurrency ?? LOAD_LIMITS.defaultConcurrency;
  const started = Date.now();
  const tally = new LoadTally(started);
  // Ids of this run's writes: far above small seeded ids, and distinct from another run's.
  let nextId = 1_000_000 * (1 + Math.floor(Math.random() * 1_000_000));
  const acknowledged: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let due = 0;
  let reads = 0;
  let writes = 0;
  let stopped = false;
  let stoppedEarly = false;
  let writesCheck: WritesCheck | undefined;
  let phase = 'before';
  const watchPhase = () => {
    const j = o.workspace ? journalPhase(o.workspace) : undefined;
    const p = j?.phase;
    if (p && p !== phase) {
      phase = p;
      tally.phases.push({ phase, at: new Date().toISOString() });
    }
  };
  watchPhase();

  const send = (n: number) => {
    const sentAt = Date.now();
    const sentIn = phase;
    if (inFlight.size >= concurrency) return tally.record({ phase: sentIn, outcome: 'over concurrency', sentAt, at: sentAt });
    const write = o.write && isWrite(n, o.write.ratio) ? o.write : undefined;
    const id = write ? nextId++ : 0;
    const fill = (s: string) => s.replaceAll('{id}', String(id));
    if (write) writes++;
    else reads++;
    const p = request(write ? new URL(fill(write.target), base) : base, {
      method: write?.method,
      body: write?.body === undefined ? undefined : fill(write.body),
      timeoutMs,
    }).then((a) => {
      const header = o.labelHeader ? a.headers?.[o.labelHeader.toLowerCase()] : undefined;
      tally.record({
        phase: sentIn,
        outcome: a.outcome,
        sentAt,
        at: Date.now(),
        server: header === undefined ? undefined : String(header),
        version: versionOf(a.body),
        error: a.error,
      });
      if (write && typeof a.outcome === 'number' && a.outcome >= 200 && a.outcome < 300) acknowledged.push(id);
      inFlight.delete(p);
    });
    inFlight.add(p);
  };

  const total = o.durationMs === undefined ? Infinity : Math.max(1, Math.round((o.durationMs / 1000) * o.rate));
  let finish!: () => void;
  const ended = new Promise<void>((r) => (finish = r));
  // Every 10 ms, send what brings the total to rate × elapsed: the rate holds when a timer is late.
  const sender = setInterval(() => {
    const now = Date.now();
    const target = Math.min(total, Math.floor(((now - started) / 1000) * o.rate) + 1);
    for (; due < target; due++) send(due);
    if (due >= total) stop(false);
  }, 10);
  const phases = o.workspace ? setInterval(watchPhase, 100) : undefined;

  function stop(early: boolean): void {
    if (stopped) return;
    stopped = true;
    stoppedEarly = early;
    clearInterval(sender);
    finish();
  }

  const summary = (): LoadSummary => {
    const now = Date.now();
    const seconds = tally.elapsed(now);
    const s = tally.stretches(now);
    return {
      url: o.url,
      rate: o.rate,
      seconds,
      due,
      sent: reads + writes,
      answered: tally.answered,
      achievedRps: seconds > 0 ? tally.answered / seconds : 0,
      byStatus: { ...tally.byStatus },
      failures: tally.failures,
      reads,
      writes,
      latencyMs: tally.latency(),
      longestWithoutSuccess: s.withoutSuccess,
      longestSilence: s.silence,
      counts: structuredClone(tally.counts),
      phases: [...tally.phases],
      writesCheck: writesCheck ?? (o.write ? pendingWrites(acknowledged.length) : undefined),
      stoppedEarly,
    };
  };

  const done = (async () => {
    await ended;
    // Every request under way ends within its timeout.
    await Promise.all([...inFlight]);
    watchPhase();
    if (phases) clearInterval(phases);
    if (o.checkWrites !== undefined)
      writesCheck = await checkWrites(acknowledged, new URL(o.url), o.checkWrites, timeoutMs, Boolean(o.workspace && journalPhase(o.workspace)?.rolledBack));
    return summary();
  })();
  return { summary, stop: () => stop(true), done };
}

function pendingWrites(n: number): WritesCheck {
  return { acknowledged: n, lostIds: [], afterRollback: false, line: `acknowledged writes: ${n}` };
}

/** Reads each acknowledged write back (8 at a time): present when the service answers 2xx for its id. */
async function checkWrites(ids: number[], base: URL, template: string, timeoutMs: number, afterRollback: boolean): Promise<WritesCheck> {
  const queue = [...ids];
  const lost: number[] = [];
  const errors = new Map<string, number>();
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const a = await request(new URL(template.replaceAll('{id}', String(id)), base), { timeoutMs });
      if (typeof a.outcome === 'number' && a.outcome >= 200 && a.outcome < 300) continue;
      lost.push(id);
      errors.set(String(a.outcome), (errors.get(String(a.outcome)) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const n = ids.length;
  const present = n - lost.length;
  return {
    acknowledged: n,
    present,
    lost: lost.length,
    lostIds: lost.sort((a, b) => a - b).slice(0, 100),
    afterRollback,
    line: `acknowledged writes: ${n}, present${afterRollback ? ' after rollback' : ''}: ${present}, lost: ${lost.length}`,
    error: errors.size ? `read back: ${[...errors].map(([k, v]) => `${k} ×${v}`).join(', ')}` : undefined,
  };
}

/** Writes the summary to `file` whole (a reader never sees half of it). */
export function writeSummaryFile(file: string, s: LoadSummary): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(s, null, 1));
  fs.renameSync(`${file}.tmp`, file);
}
