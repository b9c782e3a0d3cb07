// The release store on a git remote: runs, locks and rollback requests are refs under refs/release-pilot/
// of the team's remote, read through a bare cache repository of our own (never the user's working repo).
import { checkKey, checkRunId, verifyRunHistory } from './gitHistory';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReleaseEvent } from '../model/events';
import { GitCli } from './gitCli';
import {
  JOURNAL_MAX_BYTES,
  RECORD_MAX_BYTES,
  StoreDataError,
  checkMeta,
  pickHolder,
  pickMeta,
  journalText,
  readEvents,
  readHolder,
  readMeta,
  readRequest,
  type HolderRecord,
  type MetaRecord,
} from './storeRecords';
import {
  LeaseLostError,
  type AcquireResult,
  type HolderInfo,
  type ReleaseStore,
  type RollbackRequest,
  type RunMeta,
  type StoreHolder,
  type StoredRun,
  type StoreLease,
} from './storeTypes';

const NS = 'refs/release-pilot';
const lockRef = (key: string) => `${NS}/locks/${key}`;
/** How a person clears a damaged lock of the git store. */
const clearLock = (where: string, ref: string) =>
  `the lock is damaged: once nobody releases with it, remove it with \`git push <remote of ${where}> --delete ${ref}\``;
const runRef = (runId: string) => `${NS}/runs/${runId}`;
const requestRef = (runId: string) => `${NS}/requests/${runId}`;
/** Attempts of an acquire or a publish that lost a race to a ref that changed again meanwhile. */
const CAS_ATTEMPTS = 8;

export interface GitStoreOptions {
  /** The workspace whose `.release/store/git/` holds the cache repository. */
  workspace: string;
  leaseMs: number;
  /** The environment git runs with (GIT_SSH_COMMAND, HOME…); the process's own by default. */
  env?: Record<string, string | undefined>;
  /** The clock stale holders are judged by, in ms. */
  now?: () => number;
  /** The longest one fetch or push may take. */
  timeoutMs?: number;
}

/** The cache repository of a workspace's git store. */
export const gitCacheDir = (workspace: string) => path.join(workspace, '.release', 'store', 'git', 'cache.git');

/** The collation run ids sort by: numeric runs, so `…-10` comes after `…-9`. */
const byName = new Intl.Collator('en', { numeric: true }).compare;

export class GitStore implements ReleaseStore {
  readonly kind = 'git' as const;
  readonly where: string;
  /** What the last `runs()` could not read (a teammate's broken record): one text each, with where it is. */
  problems: string[] = [];
  private readonly git: GitCli;
  private readonly now: () => number;
  private ready: Promise<void> | undefined;
  private fetching: Promise<unknown> = Promise.resolve();
  private readonly watches = new Set<() => void>();
  /** Run pushes whose journals were checked to grow one from the other (see verifyRunHistory). */
  private readonly verified = new Set<string>();
  /** The last journal this store pushed for each run: the expected value of its next push. */
  private readonly pushed = new Map<string, { oid: string; text: string; meta: MetaRecord }>();

  constructor(
    readonly url: string,
    opts: GitStoreOptions,
  ) {
    this.git = new GitCli(gitCacheDir(opts.workspace), url, opts.env ?? process.env, opts.timeoutMs);
    this.where = this.git.where;
    this.now = opts.now ?? Date.now;
  }

  /** Creates the cache repository on first use. */
  private init(): Promise<void> {
    this.ready ??= (async () => {
      const dir = this.git.cache;
      if (fs.existsSync(path.join(dir, 'HEAD'))) return;
      fs.mkdirSync(dir, { recursive: true });
      await this.git.local(['init', '--quiet', '--bare', dir]);
    })();
    return this.ready;
  }

  /** One fetch at a time into this store's cache. */
  private async fetch(pattern: string): Promise<void> {
    await this.init();
    const run = this.fetching.then(() => this.git.fetch(pattern));
    this.fetching = run.catch(() => undefined);
    await run;
  }

  /** The oid and type of each ref under `prefix` in the cache. */
  private async refs(prefix: string): Promise<Map<string, { oid: string; type: string }>> {
    const out = await this.git.text(['for-each-ref', '--format=%(objectname) %(objecttype) %(refname)', prefix]);
    const map = new Map<string, { oid: string; type: string }>();
    for (const line of out.split('\n').filter(Boolean)) {
      const [oid, type, ref] = line.split(' ');
      map.set(ref, { oid, type });
    }
    return map;
  }

  /** The texts of `paths` (`<commit>:<file>`), each refused when missing or above `max` bytes, read by one cat-file --batch. */
  private async files(paths: string[], max: number): Promise<Map<string, string | Error>> {
    const result = new Map<string, string | Error>();
    if (paths.length === 0) return result;
    const check = (await this.git.text(['cat-file', '--batch-check'], paths.join('\n') + '\n')).split('\n');
    const small: string[] = [];
    paths.forEach((p, i) => {
      const [, type, size] = (check[i] ?? '').split(' ');
      if (type !== 'blob') result.set(p, new StoreDataError(`is ${type === undefined || type === 'missing' ? 'missing' : `a ${type}`}, expected a file`));
      else if (Number(size) > max) result.set(p, new StoreDataError(`is ${size} bytes, more than the ${max} a record of Release Pilot can be`));
      else small.push(p);
    });
    if (small.length === 0) return result;
    const out = await this.git.local(['cat-file', '--batch'], small.join('\n') + '\n');
    let at = 0;
    for (const p of small) {
      const nl = out.indexOf(10, at);
      const size = Number(out.subarray(at, nl).toString('latin1').split(' ')[2]);
      result.set(p, out.subarray(nl + 1, nl + 1 + size).toString('utf8'));
      at = nl + 1 + size + 1;
    }
    return result;
  }

  private async file(
    ref: string,
    name: string,
    max: number,
    kinds: Map<string, { oid: string; type: string }>,
  ): Promise<{ oid: string; text: string } | undefined> {
    const found = kinds.get(ref);
    if (!found) return undefined;
    if (found.type !== 'commit') throw new StoreDataError(`${this.where}: ${ref} points to a ${found.type}, expected a commit written by Release Pilot`);
    const text = (await this.files([`${found.oid}:${name}`], max)).get(`${found.oid}:${name}`)!;
    if (text instanceof Error) throw new StoreDataError(`${this.where} ${ref} ${name} ${text.message}`);
    return { oid: found.oid, text };
  }

  /** A commit of `files` (name → text) with `parent`, by `who`: the store's only way to write. */
  private async commit(files: Record<string, string>, message: string, who: { user: string; host: string }, parent?: string): Promise<string> {
    await this.init();
    const entries: string[] = [];
    for (const [name, text] of Object.entries(files)) {
      const oid = (await this.git.text(['hash-object', '-w', '--stdin'], text)).trim();
      entries.push(`100644 blob ${oid}\t${name}`);
    }
    const tree = (await this.git.text(['mktree'], entries.join('\n') + '\n')).trim();
    const ident = [
      '-c',
      `user.name=${who.user.replace(/[<>\n]/g, '') || 'release-pilot'}`,
      '-c',
      `user.email=release-pilot@${who.host.replace(/[<>\s]/g, '') || 'localhost'}`,
    ];
    return (await this.git.text([...ident, 'commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message])).trim();
  }

  /** The holder of `key` as the cache holds it after a fetch of the lock: its lock commit too. */
  private async readLock(key: string): Promise<{ oid: string; holder: StoreHolder } | undefined> {
    await this.fetch(`${lockRef(key)}`.replace(/$/, '*'));
    const refs = await this.refs(lockRef(key));
    const f = await this.file(lockRef(key), 'holder.json', RECORD_MAX_BYTES, refs);
    return f && { oid: f.oid, holder: readHolder(f.text, `${this.where} ${lockRef(key)} holder.json`, this.now(), clearLock(this.where, lockRef(key))) };
  }

  async acquire(key: string, me: HolderInfo, opts: { takeOverStale?: boolean } = {}): Promise<AcquireResult> {
    checkKey(key);
    checkRunId(me.runId);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      // The first attempt takes a free key with one push (the server refuses it if the key exists); a refused one reads who holds it.
      const current = attempt === 0 ? undefined : await this.readLock(key);
      if (current && (!current.holder.stale || !opts.takeOverStale)) return { ok: false, holder: current.holder };
      const at = new Date(this.now()).toISOString();
      const record: HolderRecord = { ...pickHolder(me), since: at, renewedAt: at };
      const oid = await this.commit({ 'holder.json': JSON.stringify(record, null, 1) }, `lock ${key} for run ${me.runId}`, me);
      if ((await this.git.push(lockRef(key), oid, current?.oid)) === 'ok') {
        const lease = new GitLease(this, key, { ...record, stale: false }, oid);
        return current ? { ok: true, lease, tookOver: current.holder } : { ok: true, lease };
      }
      // Another machine changed the lock between our read and our push: read who holds it now.
    }
    const now = await this.readLock(key);
    if (now) return { ok: false, holder: now.holder };
    throw new Error(`the release lock ${key} in ${this.where} kept changing under ${CAS_ATTEMPTS} attempts to take it; try again`);
  }

  /** Renews a lease held as `last`: the new lock commit, or LeaseLostError naming who holds it now. */
  async renewLock(key: string, info: HolderRecord, last: string): Promise<{ oid: string; record: HolderRecord }> {
    const record: HolderRecord = { ...pickHolder(info), since: info.since, renewedAt: new Date(this.now()).toISOString() };
    const oid = await this.commit({ 'holder.json': JSON.stringify(record, null, 1) }, `renew ${key} for run ${info.runId}`, info);
    if ((await this.git.push(lockRef(key), oid, last)) === 'ok') return { oid, record };
    throw new LeaseLostError(key, (await this.readLock(key))?.holder);
  }

  async releaseLock(key: string, last: string): Promise<void> {
    await this.git.push(lockRef(key), undefined, last);
  }

  async holder(key: string): Promise<StoreHolder | undefined> {
    checkKey(key);
    return (await this.readLock(key))?.holder;
  }

  /** Every lock's holder, by key, from one fetch: what the mirror writes for readers of this workspace. A broken record goes to `problems`. */
  async holders(): Promise<Record<string, StoreHolder>> {
    await this.fetch(`${NS}/locks/*`);
    const refs = await this.refs(`${NS}/locks/`);
    const out: Record<string, StoreHolder> = {};
    const problems: string[] = [];
    for (const ref of refs.keys()) {
      try {
        const f = await this.file(ref, 'holder.json', RECORD_MAX_BYTES, refs);
        if (f) out[ref.slice(`${NS}/locks/`.length)] = readHolder(f.text, `${this.where} ${ref} holder.json`, this.now(), clearLock(this.where, ref));
      } catch (e) {
        if (!(e instanceof StoreDataError)) throw e;
        problems.push(e.message);
      }
    }
    this.problems = problems;
    return out;
  }

  /** The stored journal of a run (after a fetch of its ref): its commit and text, or undefined. */
  private async stored(runId: string, fetched = false): Promise<{ oid: string; text: string; meta: MetaRecord } | undefined> {
    if (!fetched) await this.fetch(`${runRef(runId)}*`);
    const refs = await this.refs(runRef(runId));
    const journal = await this.file(runRef(runId), 'journal.jsonl', JOURNAL_MAX_BYTES, refs);
    if (!journal) return undefined;
    await verifyRunHistory(this.git, (p) => this.files(p, JOURNAL_MAX_BYTES), journal.oid, this.verified, `${this.where} ${runRef(runId)}`);
    const meta = await this.file(runRef(runId), 'meta.json', RECORD_MAX_BYTES, refs);
    if (!meta) throw new StoreDataError(`${this.where} ${runRef(runId)} has no meta.json`);
    return { oid: journal.oid, text: journal.text, meta: readMeta(meta.text, `${this.where} ${runRef(runId)} meta.json`) };
  }

  async publish(meta: RunMeta, events: readonly ReleaseEvent[]): Promise<void> {
    checkMeta(meta);
    const text = journalText(events);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      // What this store pushed last for the run is tried first without a fetch: the push's lease checks it is still what the remote holds.
      const pushed = this.pushed.get(meta.runId);
      const stored = attempt === 0 && pushed && text.startsWith(pushed.text) ? pushed : await this.stored(meta.runId);
      if (stored && stored.text.startsWith(text)) return; // nothing the store does not hold already
      if (stored && !text.startsWith(stored.text))
        throw new StoreDataError(
          `run ${meta.runId}: the journal published is not an extension of the one ${this.where} holds (${stored.meta.events} events, from ${stored.meta.host}): a journal in the store is never rewritten`,
        );
      const updatedAt = (events.at(-1) as { at?: string } | undefined)?.at ?? new Date(this.now()).toISOString();
      const record: MetaRecord = { ...pickMeta(meta), events: events.length, updatedAt };
      const oid = await this.commit(
        { 'meta.json': JSON.stringify(record, null, 1), 'journal.jsonl': text },
        `run ${meta.runId}: ${events.length} events`,
        meta,
        stored?.oid,
      );
      if ((await this.git.push(runRef(meta.runId), oid, stored?.oid)) === 'ok') {
        this.pushed.set(meta.runId, { oid, text, meta: record });
        return;
      }
      // Another publisher of this run pushed first: read what it stored and compare again.
    }
    throw new Error(`run ${meta.runId}: its journal in ${this.where} kept changing under ${CAS_ATTEMPTS} attempts to publish; try again`);
  }

  async runs(): Promise<StoredRun[]> {
    await this.fetch(`${NS}/*`);
    const refs = await this.refs(`${NS}/runs/`);
    const problems: string[] = [];
    const paths: string[] = [];
    for (const [ref, { oid, type }] of refs)
      if (type === 'commit') paths.push(`${oid}:meta.json`);
      else problems.push(`${this.where}: ${ref} points to a ${type}, expected a commit written by Release Pilot`);
    const texts = await this.files(paths, RECORD_MAX_BYTES);
    const out: StoredRun[] = [];
    for (const [ref, { oid }] of refs) {
      const t = texts.get(`${oid}:meta.json`);
      if (t === undefined) continue;
      try {
        if (t instanceof Error) throw new StoreDataError(`${this.where} ${ref} meta.json ${t.message}`);
        const m = readMeta(t, `${this.where} ${ref} meta.json`);
        if (m.runId !== ref.slice(`${NS}/runs/`.length)) throw new StoreDataError(`${this.where} ${ref} meta.json names run ${m.runId}, not its own`);
        out.push(m);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    this.problems = problems;
    return out.sort((a, b) => byName(b.runId, a.runId));
  }

  async events(runId: string, from = 0): Promise<ReleaseEvent[]> {
    checkRunId(runId);
    await this.fetch(`${NS}/*`);
    const stored = await this.stored(runId, true);
    if (!stored) return [];
    return readEvents(stored.text, `${this.where} ${runRef(runId)} journal.jsonl`).slice(Math.max(0, from));
  }

  async requestRollback(runId: string, request: RollbackRequest): Promise<void> {
    checkRunId(runId);
    const oid = await this.commit({ 'request.json': JSON.stringify(request, null, 1) }, `rollback of run ${runId} asked by ${request.by}`, {
      user: request.by,
      host: request.host,
    });
    // The first request stands: another one for the same run asks for what is asked already.
    if ((await this.git.push(requestRef(runId), oid, undefined)) === 'rejected' && !(await this.rollbackRequest(runId)))
      throw new Error(`the rollback request for run ${runId} could not be stored in ${this.where}; try again`);
  }

  async rollbackRequest(runId: string): Promise<RollbackRequest | undefined> {
    checkRunId(runId);
    await this.fetch(`${requestRef(runId)}*`);
    const f = await this.file(requestRef(runId), 'request.json', RECORD_MAX_BYTES, await this.refs(requestRef(runId)));
    return f && readRequest(f.text, `${this.where} ${requestRef(runId)} request.json`);
  }

  async watch(runId: string, onChange: () => void, pollMs = 1000): Promise<() => void> {
    checkRunId(runId);
    const oidNow = async () => {
      await this.fetch(`${runRef(runId)}*`);
      return (await this.refs(runRef(runId))).get(runRef(runId))?.oid;
    };
    let last = await oidNow();
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const tick = async () => {
      try {
        const oid = await oidNow();
        if (!stopped && oid !== last) {
          last = oid;
          onChange();
        }
      } catch {
        // An unreachable store is tried again at the next poll; the follower sees no change meanwhile.
      }
      if (!stopped) timer = setTimeout(() => void tick(), pollMs);
    };
    timer = setTimeout(() => void tick(), pollMs);
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      this.watches.delete(stop);
    };
    this.watches.add(stop);
    return stop;
  }

  async close(): Promise<void> {
    for (const stop of [...this.watches]) stop();
    await this.fetching;
  }
}

class GitLease implements StoreLease {
  private lost: LeaseLostError | undefined;
  constructor(
    private readonly store: GitStore,
    readonly key: string,
    public info: StoreHolder,
    private last: string,
  ) {}

  async renew(): Promise<void> {
    if (this.lost) throw this.lost;
    try {
      const { oid, record } = await this.store.renewLock(this.key, this.info, this.last);
      this.last = oid;
      this.info = { ...record, stale: false };
    } catch (e) {
      if (e instanceof LeaseLostError) this.lost = e;
      throw e;
    }
  }

  async release(): Promise<void> {
    if (!this.lost) await this.store.releaseLock(this.key, this.last);
  }
}
