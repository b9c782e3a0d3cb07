import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Client } from 'pg';
import { ROOT, tempDir } from '../support/helpers';
import { startPostgres, type DbServer } from '../support/databases';
import { alive } from '../support/processes';
import { waitFor } from '../support/waitFor';
import { PostgresStore } from '../../src/core/store/postgresStore';
import { openStore } from '../../src/core/store/openStore';
import { syncMirror } from '../../src/core/store/mirror';
import { advisoryKey } from '../../src/core/store/postgresConnect';
import { LeaseLostError, StoreUnreachableError, type HolderInfo, type RunMeta, type StoreHolder, type StoreLease } from '../../src/core/store/storeTypes';
import type { ReleaseEvent } from '../../src/core/model/events';

/**
 * The postgres release store against a real PostgreSQL 15 started in a temp folder. "Machines" are
 * separate Node processes (test/support/storeMachine.ts, bundled here), each with its own store and
 * connections; the server decides every race between them.
 */
const LEASE_MS = 1_500;

type Pg = DbServer & { port: number };
let pg: Pg;
let url: string;
let machineJs: string;
const machines: Machine[] = [];
const stores: PostgresStore[] = [];

/** psql as the superuser, for what a person or another client does to the database. */
function admin(sql: string, db = 'app'): string {
  return execFileSync(
    'psql',
    ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', db, '-c', sql],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  ).trim();
}

function store(u = url, leaseMs = LEASE_MS): PostgresStore {
  const s = new PostgresStore(u, { leaseMs });
  stores.push(s);
  return s;
}

function me(name: string, runId = `run-${name}`): HolderInfo {
  return { runId, user: name, host: `host-${name}`, workspace: `/ws/${name}`, pid: process.pid, holder: 'CLI', leaseMs: LEASE_MS };
}

function meta(runId: string): RunMeta {
  return { runId, name: 'shop', environment: 'production', version: '1.2.3', user: 'ana', host: 'laptop', workspace: '/ws/shop' };
}

function journal(n: number, tag = 'a'): ReleaseEvent[] {
  return Array.from(
    { length: n },
    (_, i) => ({ type: 'step.output', at: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`, i, tag }) as unknown as ReleaseEvent,
  );
}

/** What a machine answers: a refusal's or a win's fields, or (cast where read) runs and events. */
interface Reply {
  ok: boolean;
  holder: StoreHolder;
  info: StoreHolder;
  tookOver: StoreHolder;
}
interface Answer {
  value: Reply;
  error?: { name: string; message: string };
}

/** A machine: its own process and store; `ask` sends one command and resolves with its answer. */
class Machine {
  readonly child: ChildProcess;
  private next = 0;
  private readonly waiting = new Map<number, (v: Answer) => void>();
  readonly notes: unknown[] = [];
  readonly ready: Promise<void>;

  constructor(leaseMs = LEASE_MS) {
    this.child = spawn(process.execPath, [machineJs, url, String(leaseMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
    machines.push(this);
    let started: () => void;
    this.ready = new Promise((r) => (started = r));
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line);
      if (msg.ready) started();
      else if (msg.id !== undefined) this.waiting.get(msg.id)?.(msg);
      else this.notes.push(msg);
    });
  }

  ask(cmd: object): Promise<Answer> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ ...cmd, id })}\n`);
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = this.child.pid!;
    this.child.kill(signal);
    // Waits for the machine's process to end.
    await waitFor(() => !alive(pid), 10_000, 10);
  }
}

describe('postgres release store (real PostgreSQL 15)', function () {
  this.timeout(120_000);

  before(async () => {
    const dir = tempDir('rp-pgstore-');
    machineJs = path.join(dir, 'machine.js');
    const built = spawnSync(
      path.join(ROOT, 'node_modules', '.bin', 'esbuild'),
      [
        path.join(ROOT, 'test/support/storeMachine.ts'),
        '--bundle',
        '--platform=node',
        '--format=cjs',
        '--log-level=error',
        `--outfile=${machineJs}`,
        '--external:pg-native',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(built.status, 0, built.stderr);
    pg = await startPostgres(dir);
    url = `postgres://app@127.0.0.1:${pg.port}/app`;
  });

  afterEach(async () => {
    for (const m of machines.splice(0)) if (m.child.pid && alive(m.child.pid)) await m.kill();
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  after(async () => {
    await pg?.stop();
  });

  describe('the lock', () => {
    it('of twenty races of two processes for one key, exactly one wins each time and the other names the winner', async () => {
      const [a, b] = [new Machine(), new Machine()];
      await Promise.all([a.ready, b.ready]);
      for (let i = 0; i < 20; i++) {
        const key = `production-${i}`;
        const [ra, rb] = await Promise.all([
          a.ask({ op: 'acquire', key, runId: `a-${i}`, name: 'ana' }),
          b.ask({ op: 'acquire', key, runId: `b-${i}`, name: 'bo' }),
        ]);
        const winners = [ra, rb].filter((r) => r.value?.ok);
        assert.equal(winners.length, 1, `race ${i}: ${JSON.stringify([ra, rb])}`);
        const [winner, loser, winnerName] = ra.value.ok ? [a, rb, 'ana'] : [b, ra, 'bo'];
        assert.equal(loser.value.holder.user, winnerName, `race ${i}`);
        assert.equal(loser.value.holder.runId, `${winnerName === 'ana' ? 'a' : 'b'}-${i}`);
        assert.equal(loser.value.holder.stale, false);
        await winner.ask({ op: 'release' });
      }
    });

    it('frees the key of a holder killed with SIGKILL at once, and another process takes it over naming the holder', async () => {
      const [a, b] = [new Machine(), new Machine()];
      await Promise.all([a.ready, b.ready]);
      const key = 'production';
      assert.equal((await a.ask({ op: 'acquire', key, runId: 'run-a', name: 'ana' })).value.ok, true);
      const s = store();
      assert.equal((await s.holder(key))?.stale, false);
      const t0 = Date.now();
      await a.kill('SIGKILL');
      const stale = await waitFor(async () => (await s.holder(key))?.stale, 5_000, 10);
      const seen = Date.now() - t0;
      console.log(`      holder killed -> seen stale in ${seen} ms`);
      assert.ok(stale, 'the killed holder reads as stale');
      assert.ok(seen < LEASE_MS, `seen stale before the lease could expire (${seen} ms)`);
      const refused = await b.ask({ op: 'acquire', key, runId: 'run-b', name: 'bo' });
      assert.equal(refused.value.ok, false);
      assert.equal(refused.value.holder.runId, 'run-a');
      assert.equal(refused.value.holder.stale, true);
      const taken = await b.ask({ op: 'acquire', key, runId: 'run-b', name: 'bo', takeOver: true });
      assert.equal(taken.value.ok, true, JSON.stringify(taken));
      assert.equal(taken.value.tookOver.runId, 'run-a');
      assert.equal(taken.value.tookOver.user, 'ana');
      const now = await s.holder(key);
      assert.equal(now?.runId, 'run-b');
      assert.equal(now?.stale, false);
    });

    it('of five processes racing to take over a killed holder, exactly one takes it', async () => {
      const holder = new Machine();
      const racers = Array.from({ length: 5 }, () => new Machine());
      await Promise.all([holder.ready, ...racers.map((m) => m.ready)]);
      assert.equal((await holder.ask({ op: 'acquire', key: 'staging', runId: 'run-h', name: 'hal' })).value.ok, true);
      await holder.kill('SIGKILL');
      const results = await Promise.all(racers.map((m, i) => m.ask({ op: 'acquire', key: 'staging', runId: `run-${i}`, name: `r${i}`, takeOver: true })));
      const won = results.filter((r) => r.value?.ok);
      assert.equal(won.length, 1, JSON.stringify(results));
      assert.equal(won[0].value.tookOver.runId, 'run-h');
      for (const r of results.filter((x) => !x.value?.ok)) {
        assert.equal(r.value.holder.runId, won[0].value.info.runId);
        assert.equal(r.value.holder.stale, false);
      }
    });

    it('reports a holder that stops renewing but keeps its connection as stale, and does not take it over', async () => {
      const a = new Machine();
      await a.ready;
      assert.equal((await a.ask({ op: 'acquire', key: 'hung', runId: 'run-a', name: 'ana' })).value.ok, true);
      const s = store();
      process.kill(a.child.pid!, 'SIGSTOP');
      try {
        // Waits for the stopped holder's lease to run out on the server's clock.
        const stale = await waitFor(async () => (await s.holder('hung'))?.stale, LEASE_MS * 4, 50);
        assert.ok(stale, 'a holder past its lease reads as stale');
        const r = await s.acquire('hung', me('bo'), { takeOverStale: true });
        assert.equal(r.ok, false, 'a live session is not taken over');
        if (!r.ok) {
          assert.equal(r.holder.runId, 'run-a');
          assert.equal(r.holder.stale, true);
          assert.ok(Date.parse(r.holder.renewedAt) < Date.now() - LEASE_MS + 200, r.holder.renewedAt);
        }
      } finally {
        process.kill(a.child.pid!, 'SIGCONT');
      }
      const renewed = await waitFor(async () => (await s.holder('hung'))?.stale === false, LEASE_MS * 2, 50);
      assert.ok(renewed, 'the holder renews once it runs again, and is no longer stale');
      assert.deepEqual(a.notes, []);
    });

    it('gets its key back on renewal after its session was ended, unless another machine took the key meanwhile', async () => {
      const s1 = store();
      const s2 = store();
      const r = await s1.acquire('blip', me('ana'));
      assert.ok(r.ok);
      const lease = (r as { lease: StoreLease }).lease;
      const pidOf = () => admin(`SELECT backend_pid FROM release_pilot.locks WHERE key = 'blip'`);
      const first = pidOf();
      admin(`SELECT pg_terminate_backend(${first})`);
      await lease.renew();
      assert.notEqual(pidOf(), first, 'a new session holds the lock');
      assert.equal((await s2.holder('blip'))?.stale, false);
      assert.equal((await s2.acquire('blip', me('bo'))).ok, false);

      admin(`SELECT pg_terminate_backend(${pidOf()})`);
      await waitFor(async () => (await s2.holder('blip'))?.stale, 5_000, 10);
      const taken = await s2.acquire('blip', me('bo'), { takeOverStale: true });
      assert.ok(taken.ok);
      await assert.rejects(
        () => lease.renew(),
        (e: Error) => e instanceof LeaseLostError && /run-bo/.test(e.message) && /bo@host-bo/.test(e.message),
      );
    });

    it('releases a key only once, and a released key is free for the next holder', async () => {
      const s = store();
      const r = await s.acquire('rel', me('ana'));
      assert.ok(r.ok);
      const lease = (r as { lease: StoreLease }).lease;
      await lease.release();
      await lease.release();
      assert.equal(await s.holder('rel'), undefined);
      await assert.rejects(() => lease.renew(), LeaseLostError);
      const again = await store().acquire('rel', me('bo'));
      assert.ok(again.ok && !again.tookOver);
    });
  });

  describe('the journal', () => {
    it('publishes only what extends the stored journal, idempotently, and refuses a rewrite naming the run and the event', async () => {
      const s = store();
      const events = journal(5);
      await s.publish(meta('r-extend'), events.slice(0, 3));
      await s.publish(meta('r-extend'), events);
      await s.publish(meta('r-extend'), events.slice(0, 4));
      await s.publish(meta('r-extend'), events);
      assert.deepEqual(await s.events('r-extend'), events);
      assert.deepEqual(await s.events('r-extend', 3), events.slice(3));
      assert.deepEqual(await s.events('r-extend', 5), []);
      const rewritten = [...events.slice(0, 1), { ...events[1], tag: 'changed' } as unknown as ReleaseEvent, ...events.slice(2), ...journal(2, 'z')];
      await assert.rejects(
        () => s.publish(meta('r-extend'), rewritten),
        (e: Error) => /run r-extend/.test(e.message) && /event 2 differs/.test(e.message) && /never rewritten/.test(e.message),
      );
      await assert.rejects(() => s.publish(meta('r-extend'), rewritten.slice(0, 2)), /event 2 differs/);
      assert.deepEqual(await s.events('r-extend'), events, 'the stored journal is unchanged');
      const run = (await s.runs()).find((r) => r.runId === 'r-extend');
      assert.equal(run?.events, 5);
    });

    it('keeps two concurrent publishers of one run in line: the journal grows in order, a diverging one is refused', async () => {
      const [a, b] = [new Machine(), new Machine()];
      await Promise.all([a.ready, b.ready]);
      const events = journal(120);
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).ask({ op: 'publish', meta: meta('r-conc'), events: events.slice(0, (i + 1) * 10) })),
      );
      assert.deepEqual(
        answers.map((x) => x.error),
        answers.map(() => undefined),
      );
      assert.deepEqual(await store().events('r-conc'), events);
      const [x, y] = await Promise.all([
        a.ask({ op: 'publish', meta: meta('r-fork'), events: journal(10, 'x') }),
        b.ask({ op: 'publish', meta: meta('r-fork'), events: journal(10, 'y') }),
      ]);
      assert.equal([x, y].filter((r) => r.error).length, 1, JSON.stringify([x, y]));
      const kept = (await store().events('r-fork')) as unknown as { tag: string }[];
      assert.equal(kept.length, 10);
      assert.equal(new Set(kept.map((e) => e.tag)).size, 1);
    });

    it('serves runs, newest first, and events to another process', async () => {
      const s = store();
      await s.publish(meta('r-old'), journal(2));
      await s.publish(meta('r-new'), journal(3));
      const b = new Machine();
      await b.ready;
      const runs = (await b.ask({ op: 'runs' })).value as unknown as { runId: string; events: number; user: string }[];
      const order = runs.map((r) => r.runId).filter((id) => id === 'r-old' || id === 'r-new');
      assert.deepEqual(order, ['r-new', 'r-old']);
      assert.equal(runs.find((r) => r.runId === 'r-new')?.events, 3);
      assert.equal(runs.find((r) => r.runId === 'r-new')?.user, 'ana');
      assert.deepEqual((await b.ask({ op: 'events', runId: 'r-new', from: 1 })).value, journal(3).slice(1));
    });

    it('notifies a watcher of another store when the run grows (latency measured), and not for other runs', async () => {
      const writer = store();
      const reader = store();
      let calls = 0;
      let other = 0;
      const stop = await reader.watch('r-watch', () => calls++);
      const stopOther = await reader.watch('r-watch-other', () => other++);
      const latencies: number[] = [];
      const events = journal(20);
      for (let i = 1; i <= 20; i++) {
        const before = calls;
        const t0 = process.hrtime.bigint();
        await writer.publish(meta('r-watch'), events.slice(0, i));
        const seen = await waitFor(() => calls > before, 2_000, 1);
        assert.ok(seen, `publish ${i} was notified`);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      stop();
      stopOther();
      latencies.sort((p, q) => p - q);
      console.log(`      publish -> watcher notified: median ${latencies[10].toFixed(1)} ms, max ${latencies[19].toFixed(1)} ms`);
      assert.ok(latencies[19] < 1_000, `notified within 1 s (max ${latencies[19]} ms)`);
      assert.equal(other, 0);
    });

    it('keeps watching after its connection is ended: it listens again and says the run may have grown', async () => {
      const writer = store();
      const reader = store();
      let calls = 0;
      const stop = await reader.watch('r-relisten', () => calls++, 50);
      const listener = admin(`SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND application_name = 'release-pilot'`);
      assert.match(listener, /^\d+$/);
      admin(`SELECT pg_terminate_backend(${listener})`);
      assert.ok(await waitFor(() => calls > 0, 3_000, 10), 'called once listening again');
      const before = calls;
      await writer.publish(meta('r-relisten'), journal(1));
      assert.ok(await waitFor(() => calls > before, 2_000, 5), 'notified on the new connection');
      stop();
    });

    it('stores a 10,000-event journal and extends it by ten events, timed', async () => {
      const s = store();
      const events = journal(10_010);
      let t = Date.now();
      await s.publish(meta('r-huge'), events.slice(0, 10_000));
      const whole = Date.now() - t;
      t = Date.now();
      for (let i = 0; i < 10; i++) await s.publish(meta('r-huge'), events.slice(0, 10_000 + i + 1));
      const perEvent = (Date.now() - t) / 10;
      t = Date.now();
      const back = await s.events('r-huge');
      const read = Date.now() - t;
      console.log(`      10,000 events: publish ${whole} ms, then one more event ${perEvent.toFixed(1)} ms each, read all ${read} ms`);
      assert.equal(back.length, 10_010);
      assert.deepEqual(back[10_009], events[10_009]);
    });
  });

  it('takes, renews and publishes within a second each (figures printed: median of twenty)', async () => {
    const s = store();
    const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
    const time = async (work: () => Promise<unknown>) => {
      const t0 = process.hrtime.bigint();
      await work();
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    await s.runs();
    const acquire: number[] = [];
    const renew: number[] = [];
    const publish: number[] = [];
    const events = journal(200);
    for (let i = 0; i < 20; i++) {
      let lease: StoreLease | undefined;
      acquire.push(
        await time(async () => {
          const r = await s.acquire(`figures-${i}`, me('ana'));
          lease = r.ok ? r.lease : undefined;
        }),
      );
      renew.push(await time(() => lease!.renew()));
      await lease!.release();
      publish.push(await time(() => s.publish(meta('r-figures'), events.slice(0, (i + 1) * 10))));
    }
    console.log(
      `      median: acquire ${median(acquire).toFixed(1)} ms, renew ${median(renew).toFixed(1)} ms, publish of 10 events ${median(publish).toFixed(1)} ms`,
    );
    for (const xs of [acquire, renew, publish]) assert.ok(Math.max(...xs) < 1_000, xs.join(' '));
  });

  it("opens from a plan's store.postgres with the URL from the environment, named without its password", async () => {
    const secretUrl = `postgres://app:Plan-s3cret@127.0.0.1:${pg.port}/app`;
    const s = await openStore({ postgres: { url: '${env:RP_STORE_URL}', lease: 30_000 } }, '/nowhere', { RP_STORE_URL: secretUrl });
    try {
      assert.equal(s.kind, 'postgres');
      assert.equal(s.where, `postgres://app@127.0.0.1:${pg.port}/app`);
      const r = await s.acquire('from-plan', { ...me('ana'), leaseMs: 0 });
      assert.ok(r.ok && r.lease.info.leaseMs === 30_000, "the lease is the plan's");
    } finally {
      await s.close();
    }
  });

  describe('hostile input', () => {
    const names = [`it's "quoted"`, `'; DROP TABLE release_pilot.runs; --`, 'ünïcödé — 发布 🚀 עברית', 'back\\slash $HOME `x` %s', ' ', 'a'.repeat(1_000)];

    it('round-trips keys and run ids with quotes, SQL, unicode, spaces and the longest allowed length', async () => {
      const s = store();
      for (const name of names) {
        const r = await s.acquire(name, me('ana'));
        assert.ok(r.ok, name);
        assert.equal((await s.holder(name))?.runId, 'run-ana');
        await (r as { lease: StoreLease }).lease.release();
        await s.publish(meta(name), journal(2));
        assert.deepEqual(await s.events(name), journal(2));
        let seen = 0;
        const stop = await s.watch(name, () => seen++);
        await s.publish(meta(name), journal(3));
        assert.ok(await waitFor(() => seen > 0, 2_000, 5), `watch of ${name.slice(0, 20)}`);
        stop();
      }
      const ids = (await s.runs()).map((r) => r.runId);
      for (const name of names) assert.ok(ids.includes(name), name);
      assert.equal(admin(`SELECT count(*) FROM release_pilot.runs WHERE run_id = 'r-extend'`) !== undefined, true, 'the tables are still there');
    });

    it('refuses an empty, NUL-carrying or oversized key or run id with a message saying what was expected', async () => {
      const s = store();
      const bad: [string, RegExp][] = [
        ['', /needs a (lock key|run id): got an empty one/],
        ['pro\0d', /contains a NUL character: expected plain text/],
        ['x'.repeat(100_000), /is 100000 characters long: expected at most 1000/],
      ];
      for (const [name, message] of bad) {
        await assert.rejects(() => s.acquire(name, me('ana')), message);
        await assert.rejects(() => s.holder(name), message);
        await assert.rejects(() => s.publish(meta(name), journal(1)), message);
        await assert.rejects(() => s.events(name), message);
        await assert.rejects(() => s.watch(name, () => undefined), message);
        await assert.rejects(() => s.requestRollback(name, { by: 'a', reason: 'r', at: 'now', host: 'h' }), message);
      }
      await assert.rejects(() => s.events('r', -1), /from index -1: expected a whole number from 0/);
      await assert.rejects(() => s.acquire('k', me('ana', 'x; rm -rf /')), /x; rm -rf \//, 'a holder is written only with a run id it can be read back with');
    });

    it('keeps events byte for byte: NUL characters, unicode, a megabyte of output, nested values', async () => {
      const s = store();
      const odd = [
        { type: 'step.output', text: 'before\0after \u0001 \u001f', at: 'x' },
        { type: 'step.output', text: '🚀 — 发布 \u2028 \ud83d\ude00', nested: { b: [1, null, { z: true }], a: -0.5e-300 } },
        { type: 'step.output', text: 'y'.repeat(1024 * 1024) },
      ] as unknown as ReleaseEvent[];
      await s.publish(meta('r-odd'), odd);
      assert.deepEqual(await s.events('r-odd'), odd);
      const reordered = odd.map((e) => Object.fromEntries(Object.entries(e).reverse())) as unknown as ReleaseEvent[];
      await s.publish(meta('r-odd'), [...reordered, ...journal(1)]);
      assert.equal((await s.events('r-odd')).length, 4, 'the same events with their keys in another order extend the journal');
    });

    it('refuses a holder row another client filled with garbage or forged as damaged, naming the statement that clears it', async () => {
      const s = store();
      await s.runs();
      const other = new Client({ connectionString: url });
      await other.connect();
      const rows: [string, string, RegExp][] = [
        [`'{"pid":"nope","user":42}'`, 'now()', /"runId" is missing/],
        [`'[1,2]'`, 'now()', /is not a JSON object/],
        [`'"text"'`, 'now()', /is not a JSON object/],
        [`'null'`, 'now()', /is not a JSON object/],
        [`'{}'`, 'now()', /"runId" is missing/],
        [`'{"runId":"x; rm -rf /","user":"ana","host":"h","workspace":"/w","pid":7,"holder":"CLI"}'`, 'now()', /"runId" is "x; rm -rf \/", expected a run id/],
        [
          `'{"runId":"r-1","user":"\\u001b[2Jmallory","host":"h","workspace":"/w","pid":7,"holder":"CLI"}'`,
          'now()',
          /"user" is .*expected a user name without control characters/,
        ],
        [`'{"runId":"r-1","user":"ana","host":"h\\nx","workspace":"/w","pid":7,"holder":"CLI"}'`, 'now()', /"host" is .*without control characters/],
        [`'{"runId":"r-1","user":"ana","host":"h","workspace":"/w","pid":-1,"holder":"CLI"}'`, 'now()', /"pid" is -1, expected a process id/],
        [`'{"runId":"r-1","user":"ana","host":"h","workspace":"/w","pid":0,"holder":"CLI"}'`, 'now()', /"pid" is 0, expected a process id/],
        [`'{"runId":"r-1","user":"","host":"h","workspace":"/w","pid":7,"holder":"CLI"}'`, 'now()', /"user" is ""/],
        [
          `'{"runId":"r-1","user":"ana","host":"h","workspace":"/w","pid":7,"holder":"CLI"}'`,
          `now() + interval '1 day'`,
          /"renewedAt" is .* ahead of this machine's clock/,
        ],
      ];
      try {
        for (const [i, [holder, renewed, message]] of rows.entries()) {
          const key = `garbage-${i}`;
          await other.query('SELECT pg_advisory_lock($1)', [advisoryKey(key)]);
          await other.query(
            `INSERT INTO release_pilot.locks (key, holder, renewed_at, lease_ms, backend_pid) VALUES ($1, ${holder}::json, ${renewed}, 60000, pg_backend_pid())`,
            [key],
          );
          const clears = new RegExp(`DELETE FROM release_pilot\\.locks WHERE key = 'garbage-${i}'`);
          for (const read of [() => s.holder(key), () => s.acquire(key, me('ana')), () => s.acquire(key, me('ana'), { takeOverStale: true })]) {
            const err = await read().then(
              () => assert.fail(`${holder} was accepted`),
              (e: Error) => e,
            );
            assert.equal(err.name, 'StoreDataError', `${holder}: ${err.message}`);
            assert.match(err.message, message, holder);
            assert.match(err.message, /the lock is damaged/, holder);
            assert.match(err.message, clears, holder);
            // eslint-disable-next-line no-control-regex -- an escape character is exactly what must not get through
            assert.doesNotMatch(err.message, /\u001b|\n/, 'no control character reaches the message');
          }
          await other.query('SELECT pg_advisory_unlock($1)', [advisoryKey(key)]);
          await assert.rejects(() => s.holder(key), /the lock is damaged/, 'a damaged row whose session is gone is still refused');
          admin(`DELETE FROM release_pilot.locks WHERE key = '${key}'`);
          const taken = await s.acquire(key, me('ana'));
          assert.ok(taken.ok && !taken.tookOver, 'once a person cleared the row, the key is free');
        }
        await other.query(`INSERT INTO release_pilot.requests (run_id, request) VALUES ('r-garbage', '[3]'), ('r-garbage2', '{"by": 7}')`);
        assert.equal(await s.rollbackRequest('r-garbage'), undefined);
        assert.deepEqual(await s.rollbackRequest('r-garbage2'), { by: 'unknown', reason: 'unknown', at: 'unknown', host: 'unknown' });
      } finally {
        await other.end();
      }
    });

    describe('a stored journal is append-only', () => {
      let guarded: string;
      const adminG = (sql: string) => admin(sql, 'guarded');

      before(() => {
        admin('CREATE DATABASE guarded OWNER app', 'postgres');
        guarded = `postgres://app@127.0.0.1:${pg.port}/guarded`;
      });

      it('refuses to change, remove or truncate a stored event, whoever asks (the superuser too)', async () => {
        const s = store(guarded);
        await s.publish(meta('r-ao'), journal(31));
        for (const sql of [
          `DELETE FROM release_pilot.events WHERE run_id = 'r-ao' AND seq >= 20`,
          `UPDATE release_pilot.events SET event = '{"type":"x"}' WHERE run_id = 'r-ao' AND seq = 3`,
          `UPDATE release_pilot.events SET seq = seq + 100 WHERE run_id = 'r-ao' AND seq = 30`,
          `TRUNCATE release_pilot.events CASCADE`,
          `DELETE FROM release_pilot.runs WHERE run_id = 'r-ao'`,
        ])
          assert.throws(() => adminG(sql), /append-only|violates foreign key/, sql);
        assert.deepEqual(await store(guarded).events('r-ao'), journal(31));
        await s.publish(meta('r-ao'), journal(32));
        assert.equal((await store(guarded).events('r-ao')).length, 32, 'appending still works');
      });

      it('adds the append-only guard to a store created before it had one', async () => {
        adminG(`DROP TRIGGER events_append_only ON release_pilot.events; DROP TRIGGER events_no_truncate ON release_pilot.events`);
        assert.equal(adminG(`SELECT count(*) FROM pg_trigger WHERE tgrelid = 'release_pilot.events'::regclass AND NOT tgisinternal`), '0');
        await store(guarded).runs();
        assert.equal(adminG(`SELECT count(*) FROM pg_trigger WHERE tgrelid = 'release_pilot.events'::regclass AND NOT tgisinternal`), '2');
        assert.throws(() => adminG(`DELETE FROM release_pilot.events WHERE run_id = 'r-ao'`), /append-only/);
      });

      it('refuses as damaged a run whose events an owner cut, changed or renumbered past the guard, and the mirror does not copy it', async () => {
        const s = store(guarded);
        for (const id of ['r-cut', 'r-count', 'r-changed', 'r-gap', 'r-ok']) await s.publish(meta(id), journal(31));
        adminG(`ALTER TABLE release_pilot.events DISABLE TRIGGER USER`);
        try {
          adminG(`DELETE FROM release_pilot.events WHERE run_id = 'r-cut' AND seq >= 20`);
          adminG(`UPDATE release_pilot.runs SET events = 20 WHERE run_id = 'r-count'`);
          adminG(`UPDATE release_pilot.events SET event = '{"type":"run.finished","i":7}' WHERE run_id = 'r-changed' AND seq = 7`);
          adminG(`DELETE FROM release_pilot.events WHERE run_id = 'r-gap' AND seq = 10; UPDATE release_pilot.runs SET events = 30 WHERE run_id = 'r-gap'`);
        } finally {
          adminG(`ALTER TABLE release_pilot.events ENABLE TRIGGER USER`);
        }
        const reader = store(guarded);
        const expected: [string, RegExp][] = [
          ['r-cut', /declares 31 events and the store holds 20/],
          ['r-count', /declares 20 events and the store holds 31/],
          ['r-changed', /event 8 was changed after it was stored/],
          ['r-gap', /event 11 is missing|holds 30 events numbered up to 31/],
        ];
        for (const [id, message] of expected) {
          // A change before where a reader starts is seen by the reader that read it first (from 0).
          for (const from of id === 'r-changed' ? [0, 5] : [0, 5, 25]) {
            const err = await reader.events(id, from).then(
              () => assert.fail(`${id} from ${from} was read`),
              (e: Error) => e,
            );
            assert.equal(err.name, 'StoreDataError');
            assert.match(err.message, new RegExp(`run ${id} in the release store .* is damaged`));
            assert.match(err.message, message, `${id} from ${from}`);
          }
        }
        assert.deepEqual(await reader.events('r-ok', 25), journal(31).slice(25));
        const ws = tempDir('rp-pgmirror-');
        const result = await syncMirror(ws, reader);
        for (const [id] of expected) {
          assert.ok(!fs.existsSync(path.join(ws, '.release', 'runs', id, 'journal.jsonl')), `${id} got no local journal`);
          assert.ok(
            result.diverged.some((d) => d.runId === id && /is damaged/.test(d.why)),
            id,
          );
        }
        assert.equal(fs.readFileSync(path.join(ws, '.release', 'runs', 'r-ok', 'journal.jsonl'), 'utf8').split('\n').length - 1, 31);
      });
    });

    it('keeps the last rollback request of a run', async () => {
      const s = store();
      assert.equal(await s.rollbackRequest('r-req'), undefined);
      await s.requestRollback('r-req', { by: 'ana', reason: "error rate 5% 'high'", at: '2026-01-01T00:00:00Z', host: 'laptop' });
      await s.requestRollback('r-req', { by: 'bo', reason: 'again\0', at: '2026-01-01T00:01:00Z', host: 'pc' });
      assert.deepEqual(await store().rollbackRequest('r-req'), { by: 'bo', reason: 'again\0', at: '2026-01-01T00:01:00Z', host: 'pc' });
    });

    it('creates its schema once when several first users start together', async () => {
      admin('CREATE DATABASE fresh OWNER app', 'postgres');
      const fresh = `postgres://app@127.0.0.1:${pg.port}/fresh`;
      const all = Array.from({ length: 6 }, () => store(fresh));
      const results = await Promise.allSettled(all.map((s, i) => (i % 2 ? s.runs() : s.publish(meta(`first-${i}`), journal(1)))));
      assert.deepEqual(
        results.map((r) => r.status),
        results.map(() => 'fulfilled'),
      );
      assert.equal(admin(`SELECT count(*) FROM release_pilot.runs`, 'fresh'), '3');
    });

    it('never leaves a connection behind once closed, and leaves a key it held to be taken over', async () => {
      const s = store();
      const r = await s.acquire('conn', me('ana'));
      assert.ok(r.ok);
      await s.watch('r-conn', () => undefined);
      await s.publish(meta('r-conn'), journal(1));
      const count = () => Number(admin(`SELECT count(*) FROM pg_stat_activity WHERE application_name = 'release-pilot'`));
      assert.ok(count() >= 3);
      await Promise.all(stores.splice(0).map((x) => x.close()));
      assert.ok(await waitFor(() => count() === 0, 5_000, 20), `${count()} connections left`);
      const after = await store().holder('conn');
      assert.equal(after?.stale, true, 'a store closed while holding a key leaves its holder stale, not the key free');
      assert.equal(after?.runId, 'run-ana');
      const next = await store().acquire('conn', me('bo'), { takeOverStale: true });
      assert.ok(next.ok && next.tookOver?.runId === 'run-ana');
    });
  });

  describe('an unreachable store', () => {
    const SECRET = 'Wr0ng-h0rse_battery';

    it('is said with the URL without its password: refused port, missing database, unknown role, wrong password, not a URL', async () => {
      admin(`CREATE ROLE secretive LOGIN PASSWORD 'right-horse-battery'`);
      const dataDir = admin('SHOW data_directory');
      const file = path.join(dataDir, 'pg_hba.conf');
      fs.writeFileSync(file, `host all secretive 127.0.0.1/32 scram-sha-256\n${fs.readFileSync(file, 'utf8')}`);
      admin('SELECT pg_reload_conf()');
      const refused = `postgres://ana:${SECRET}@127.0.0.1:1/app`;
      const cases = [
        refused,
        `postgres://app:${SECRET}@127.0.0.1:${pg.port}/no_such_db`,
        `postgres://nobody:${SECRET}@127.0.0.1:${pg.port}/app`,
        `postgres://secretive:${SECRET}@127.0.0.1:${pg.port}/app`,
        `postgres://secretive@127.0.0.1:${pg.port}/app?password=${SECRET}`,
      ];
      for (const u of cases) {
        const s = store(u);
        assert.ok(!s.where.includes(SECRET), s.where);
        const t0 = Date.now();
        const e = await s.runs().then(
          () => assert.fail(`${u} answered`),
          (x: Error) => x,
        );
        assert.ok(e instanceof StoreUnreachableError, `${e.name}: ${e.message}`);
        assert.equal(e.where, s.where);
        assert.ok(!e.message.includes(SECRET) && !String(e.stack).includes(SECRET), e.message);
        assert.ok(Date.now() - t0 < 6_000);
      }
      assert.throws(
        () => new PostgresStore(`postgres://ana:${SECRET}@127.0.0.1:99999999/app`, { leaseMs: 1 }),
        (e: Error) => !e.message.includes(SECRET) && /not a URL/.test(e.message),
      );
      assert.throws(
        () => new PostgresStore(`mysql://ana:${SECRET}@h/app`, { leaseMs: 1 }),
        (e: Error) => !e.message.includes(SECRET) && /starts with mysql:/.test(e.message),
      );
    });

    it('says unreachable within six seconds when another client holds its tables locked, and answers again after', async () => {
      const s = store();
      await s.publish(meta('r-locked'), journal(1));
      const other = new Client({ connectionString: url });
      await other.connect();
      try {
        await other.query('BEGIN');
        await other.query('LOCK TABLE release_pilot.runs, release_pilot.events IN ACCESS EXCLUSIVE MODE');
        const t0 = Date.now();
        const e = await s.publish(meta('r-locked'), journal(2)).then(
          () => undefined,
          (x: Error) => x,
        );
        assert.ok(e instanceof StoreUnreachableError && /lock timeout/.test(e.why), String(e));
        assert.ok(Date.now() - t0 < 6_000, `${Date.now() - t0} ms`);
        await other.query('ROLLBACK');
        await s.publish(meta('r-locked'), journal(2));
        assert.equal((await s.events('r-locked')).length, 2);
      } finally {
        await other.end();
      }
    });

    it('fails within six seconds, with no hang and nothing left running, when the server stops answering or stops', async () => {
      const dir = tempDir('rp-pgstore-down-');
      const down = await startPostgres(dir);
      const u = `postgres://app:${SECRET}@127.0.0.1:${down.port}/app`;
      try {
        const s = store(u);
        const r = await s.acquire('prod', me('ana'));
        assert.ok(r.ok);
        const lease = (r as { lease: StoreLease }).lease;
        let watched = 0;
        await s.watch('r-down', () => watched++, 100);
        const postmaster = Number(fs.readFileSync(path.join(dir, 'pg', 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
        process.kill(postmaster, 'SIGSTOP');
        try {
          const t0 = Date.now();
          const e = await store(u)
            .holder('prod')
            .then(
              () => undefined,
              (x: Error) => x,
            );
          const took = Date.now() - t0;
          console.log(`      server not answering -> unreachable in ${took} ms`);
          assert.ok(e instanceof StoreUnreachableError, String(e));
          assert.ok(!e.message.includes(SECRET));
          assert.ok(took < 6_500, `${took} ms`);
        } finally {
          process.kill(postmaster, 'SIGCONT');
        }
        await down.stop();
        const t1 = Date.now();
        for (const call of [() => s.runs(), () => lease.renew(), () => s.publish(meta('r-down'), journal(1)), () => store(u).acquire('prod', me('bo'))]) {
          const e = await call().then(
            () => undefined,
            (x: Error) => x,
          );
          assert.ok(e instanceof StoreUnreachableError, String(e));
          assert.ok(!e.message.includes(SECRET), e.message);
        }
        const took = Date.now() - t1;
        console.log(`      server stopped -> four calls unreachable in ${took} ms`);
        assert.ok(took < 6_000, `${took} ms`);
        await Promise.all(stores.splice(0).map((x) => x.close()));
        const sockets = () => process.getActiveResourcesInfo().filter((k) => k === 'TCPSocketWrap' || k === 'ConnectWrap').length;
        assert.ok(await waitFor(() => sockets() === 0, 2_000, 20), `${sockets()} sockets left open`);
      } finally {
        await down.stop();
      }
    });
  });
});
