import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { lockKey } from '../../src/core/model/schema-store';
import { GitStore, gitCacheDir } from '../../src/core/store/gitStore';
import { holdersFile, syncMirror } from '../../src/core/store/mirror';
import { openStore } from '../../src/core/store/openStore';
import { loadRun } from '../../src/core/engine/queries/runs';
import { StoreDataError } from '../../src/core/store/storeRecords';
import { LeaseLostError, StoreUnreachableError, type HolderInfo, type RunMeta } from '../../src/core/store/storeTypes';
import type { ReleaseEvent } from '../../src/core/model/events';
import { machine, startGitRemote, storeMachine, STORE_ADDR, type GitRemote, type Machine } from '../support/gitRemote';

/** The git release store against a bare repository served by a real sshd, from separate "machines". */

const holderOf = (m: Machine, runId: string, leaseMs = 30_000): HolderInfo => ({
  runId,
  user: m.name,
  host: m.host,
  workspace: m.workspace,
  pid: process.pid,
  holder: 'CLI',
  leaseMs,
});
const metaOf = (m: Machine, runId: string): RunMeta => ({
  runId,
  name: 'orders',
  environment: 'production',
  version: '1.4.0',
  user: m.name,
  host: m.host,
  workspace: m.workspace,
});
const ev = (type: string, i: number) => ({ type, at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), n: i }) as unknown as ReleaseEvent;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs this bundle as machine `m` racing for `key` at `startAt`; resolves with its one line of JSON. */
function race(
  remote: GitRemote,
  m: Machine,
  key: string,
  runId: string,
  startAt: number,
): Promise<{ ok?: boolean; info?: HolderInfo; holder?: HolderInfo; error?: string; ms: number }> {
  const order = { url: remote.url, workspace: m.workspace, key, me: holderOf(m, runId), startAt };
  const child = spawn(process.execPath, [__filename], { env: { ...m.env, STORE_MACHINE: JSON.stringify(order) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? ''));
      } catch {
        reject(new Error(`machine ${m.name} printed no result: ${out}`));
      }
    });
  });
}

if (process.env.STORE_MACHINE) void storeMachine(JSON.parse(process.env.STORE_MACHINE));
else
  describe('git release store over ssh', function () {
    this.timeout(180_000);
    let remote: GitRemote;
    let a: Machine;
    let b: Machine;
    const open = (m: Machine, o: { leaseMs?: number; url?: string; timeoutMs?: number; now?: () => number } = {}) =>
      new GitStore(o.url ?? remote.url, { workspace: m.workspace, leaseMs: o.leaseMs ?? 30_000, env: m.env, timeoutMs: o.timeoutMs, now: o.now });

    before(async () => {
      remote = await startGitRemote();
      a = machine('ada', remote);
      b = machine('bob', remote);
    });
    after(async () => {
      await remote?.stop();
    });

    it('exactly one of two machines racing for the same lock gets it, 20 times; the other is told the winner', async function () {
      const times: number[] = [];
      for (let round = 0; round < 20; round++) {
        const key = lockKey('orders', `race-${round}`);
        // Both processes start node and fetch first; the agreed instant leaves them time to be ready.
        const startAt = Date.now() + 1500;
        const [ra, rb] = await Promise.all([race(remote, a, key, `run-a-${round}`, startAt), race(remote, b, key, `run-b-${round}`, startAt)]);
        assert.equal(ra.error ?? rb.error, undefined, `round ${round}: ${ra.error ?? rb.error}`);
        const winners = [ra, rb].filter((r) => r.ok);
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify([ra, rb])}`);
        const [won, lost] = ra.ok ? [ra, rb] : [rb, ra];
        assert.equal(lost.holder?.runId, won.info?.runId, `round ${round}`);
        assert.equal(lost.holder?.host, won.info?.host);
        assert.equal(lost.holder?.pid, won.info?.pid);
        assert.equal((await open(a).holder(key))?.runId, won.info?.runId, 'the store holds the winner');
        times.push(ra.ms, rb.ms);
      }
      console.log(`      contended acquire over ssh: median ${median(times).toFixed(0)} ms (40 acquires)`);
    });

    it('a holder that stops renewing goes stale after its lease; another machine takes over, and the old holder learns it lost the lease', async function () {
      const leaseMs = 5000;
      const sa = open(a, { leaseMs });
      const sb = open(b, { leaseMs });
      const key = lockKey('orders', 'lease');
      const got = await sa.acquire(key, holderOf(a, 'run-lease-a', leaseMs));
      assert.ok(got.ok);
      // Renewed every 1.5 s for 7 s (longer than the lease), the holder never reads as stale elsewhere.
      const until = Date.now() + 7000;
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, 1500)); // waits for the next renewal, a third of the lease
        await got.lease.renew();
        const seen = await sb.holder(key);
        assert.equal(seen?.stale, false);
        assert.equal((await sb.acquire(key, holderOf(b, 'run-lease-b', leaseMs), { takeOverStale: true })).ok, false);
      }
      // Now it stops renewing: stale once renewedAt + lease has passed by the reader's clock.
      const lastRenewal = Date.parse((await sb.holder(key))!.renewedAt);
      let stale: Awaited<ReturnType<GitStore['holder']>>;
      for (;;) {
        stale = await sb.holder(key);
        if (stale?.stale) break;
        assert.ok(Date.now() < lastRenewal + leaseMs + 5000, 'stale within the lease and a margin');
        await new Promise((r) => setTimeout(r, 250)); // waits for the real lease to run out
      }
      assert.ok(Date.now() >= lastRenewal + leaseMs, 'not stale before its lease ran out');
      const refused = await sb.acquire(key, holderOf(b, 'run-lease-b', leaseMs));
      assert.ok(!refused.ok && refused.holder.stale && refused.holder.runId === 'run-lease-a', 'without takeOverStale a stale holder is reported, not taken');
      const taken = await sb.acquire(key, holderOf(b, 'run-lease-b', leaseMs), { takeOverStale: true });
      assert.ok(taken.ok);
      assert.equal(taken.tookOver?.runId, 'run-lease-a');
      assert.equal(taken.tookOver?.host, a.host);
      await assert.rejects(got.lease.renew(), (e: Error) => e instanceof LeaseLostError && /run-lease-b/.test(e.message) && e.message.includes(b.host));
      await got.lease.release();
      assert.equal((await sa.holder(key))?.runId, 'run-lease-b', 'the old holder releasing does not free the new holder');
      await taken.lease.release();
      assert.equal(await sa.holder(key), undefined);
    });

    it('publishes a journal only by extension, reads it from another machine, and refuses a rewrite', async function () {
      const sa = open(a);
      const sb = open(b);
      const events = [ev('release.started', 0), ev('phase.started', 1), ev('step.finished', 2), ev('phase.finished', 3)];
      const meta = metaOf(a, 'run-publish');
      await sa.publish(meta, events.slice(0, 2));
      assert.deepEqual(await sb.events('run-publish'), events.slice(0, 2));
      await sa.publish(meta, events);
      await sa.publish(meta, events); // idempotent
      await sa.publish(meta, events.slice(0, 1)); // a shorter prefix is held already
      assert.deepEqual(await sb.events('run-publish', 2), events.slice(2));
      assert.deepEqual(await sb.events('run-publish', 4), []);
      const run = (await sb.runs()).find((r) => r.runId === 'run-publish');
      assert.equal(run?.events, 4);
      assert.equal(run?.host, a.host);
      assert.equal(run?.updatedAt, events[3].at);
      await assert.rejects(
        sb.publish(meta, [events[0], ev('release.finished', 9)]),
        (e: Error) => e instanceof StoreDataError && /run-publish.*not an extension/.test(e.message),
      );
      await sb.publish(meta, []); // nothing: the store holds more already
      assert.deepEqual(await sa.events('run-publish'), events, 'the stored journal is unchanged');
      // The run ref's history is the history of pushes.
      const log = remote.git('rev-list', '--count', 'refs/release-pilot/runs/run-publish');
      assert.equal(log, '2');
    });

    it('a journal pushed shorter by hand (a fast-forward of the run ref) is refused as damaged, and the mirror copies none of it', async function () {
      const sa = open(a);
      const events = Array.from({ length: 6 }, (_, i) => ev(i === 0 ? 'release.started' : 'step.finished', i));
      const meta = metaOf(a, 'run-cut');
      await sa.publish(meta, events.slice(0, 3));
      await sa.publish(meta, events);
      // A teammate commits the journal cut to 2 events on top of the run's ref and pushes it: a fast-forward.
      const ref = 'refs/release-pilot/runs/run-cut';
      const head = remote.git('rev-parse', ref);
      const cut = events
        .slice(0, 2)
        .map((e) => `${JSON.stringify(e)}\n`)
        .join('');
      const blob = execFileSync('git', ['--git-dir', remote.bare, 'hash-object', '-w', '--stdin'], { input: cut, encoding: 'utf8' }).trim();
      const metaBlob = remote.git('rev-parse', `${head}:meta.json`);
      const tree = execFileSync('git', ['--git-dir', remote.bare, 'mktree'], {
        input: `100644 blob ${blob}\tjournal.jsonl\n100644 blob ${metaBlob}\tmeta.json\n`,
        encoding: 'utf8',
      }).trim();
      remote.git('update-ref', ref, remote.git('-c', 'user.name=x', '-c', 'user.email=x@x', 'commit-tree', tree, '-p', head, '-m', 'cut'));
      const sc = open(b);
      await assert.rejects(
        sc.events('run-cut'),
        (e: Error) =>
          e instanceof StoreDataError &&
          /run-cut is damaged: push \w+ holds a journal that is not an extension of the push before it \(6 events then, 2 now\)/.test(e.message),
      );
      const r = await syncMirror(b.workspace, sc);
      assert.ok(!fs.existsSync(path.join(b.workspace, '.release', 'runs', 'run-cut', 'journal.jsonl')), 'no local journal from a damaged run');
      assert.ok(JSON.stringify(r).includes('run-cut'), `the damaged run is reported: ${JSON.stringify(r)}`);
      remote.git('update-ref', '-d', ref);
    });

    it('two machines publishing the same run at once both extend it, and neither rewrites the other', async function () {
      const sa = open(a);
      const sb = open(b);
      const events = Array.from({ length: 6 }, (_, i) => ev('step.finished', i));
      const meta = metaOf(a, 'run-concurrent');
      await Promise.all([sa.publish(meta, events.slice(0, 3)), sb.publish(meta, events.slice(0, 5)), sa.publish(meta, events)]);
      assert.deepEqual(await sb.events('run-concurrent'), events);
    });

    it('a rollback request made on one machine is read on another, and the first request stands', async function () {
      const sa = open(a);
      const sb = open(b);
      assert.equal(await sa.rollbackRequest('run-publish'), undefined);
      const request = { by: 'bob', reason: 'error rate up', at: new Date().toISOString(), host: b.host };
      await sb.requestRollback('run-publish', request);
      await sb.requestRollback('run-publish', { ...request, reason: 'again' });
      assert.deepEqual(await sa.rollbackRequest('run-publish'), request);
    });

    it('watch calls back when a run grows on another machine, and stops when told', async function () {
      const sa = open(a);
      const sb = open(b);
      const meta = metaOf(a, 'run-watch');
      await sa.publish(meta, [ev('release.started', 0)]);
      let calls = 0;
      const stop = await sb.watch('run-watch', () => calls++, 200);
      await sa.publish(meta, [ev('release.started', 0), ev('phase.started', 1)]);
      const end = Date.now() + 10_000;
      while (calls === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      assert.equal(calls, 1);
      stop();
      await sa.publish(meta, [ev('release.started', 0), ev('phase.started', 1), ev('phase.finished', 2)]);
      await new Promise((r) => setTimeout(r, 600)); // waits for three polls that must not come
      assert.equal(calls, 1);
      await sb.close();
    });

    it('an unreachable store is said within seconds, with where and why, and never with the password of its URL', async function () {
      const stopped = open(a);
      const withPassword = open(a, { url: remote.url.replace('ssh://root@', 'ssh://root:hunter2secret@') });
      await stopped.holder(lockKey('orders', 'production'));
      await remote.stop();
      try {
        for (const [store, call] of [
          [stopped, (s: GitStore) => s.holder(lockKey('orders', 'production'))],
          [stopped, (s: GitStore) => s.acquire(lockKey('orders', 'production'), holderOf(a, 'run-offline'))],
          [stopped, (s: GitStore) => s.publish(metaOf(a, 'run-offline'), [ev('release.started', 0)])],
          [stopped, (s: GitStore) => s.runs()],
          [withPassword, (s: GitStore) => s.runs()],
        ] as const) {
          const t = Date.now();
          const e = await call(store).then(
            () => assert.fail('an unreachable store answered'),
            (err: unknown) => err as StoreUnreachableError,
          );
          assert.ok(e instanceof StoreUnreachableError, String(e));
          assert.ok(Date.now() - t < 6000, `said within 6 s, took ${Date.now() - t} ms`);
          // ssh says why: refused by the stopped server (git hands ssh the user:password of a URL as a host name it cannot resolve).
          assert.match(e.message, store === stopped ? new RegExp(`${STORE_ADDR}.*Connection refused`) : /cannot be reached: ssh: /);
          assert.equal(e.where.includes('hunter2secret'), false);
          assert.equal(`${e.message} ${e.why} ${e.stack}`.includes('hunter2secret'), false, e.message);
        }
      } finally {
        await remote.start();
      }
      assert.equal(await stopped.holder(lockKey('orders', 'production')), undefined, 'reachable again once sshd is back');
    });

    it('a server that accepts the connection and never answers is unreachable after the store timeout, not a hang', async function () {
      const silent = net.createServer(() => undefined);
      await new Promise<void>((r) => silent.listen(0, STORE_ADDR, r));
      const port = (silent.address() as net.AddressInfo).port;
      try {
        const s = open(a, { url: `ssh://root@${STORE_ADDR}:${port}/store.git`, timeoutMs: 3000 });
        const t = Date.now();
        await assert.rejects(s.runs(), (e: Error) => e instanceof StoreUnreachableError && /no answer within 3 s/.test(e.message));
        assert.ok(Date.now() - t < 6000, `took ${Date.now() - t} ms`);
      } finally {
        silent.close();
      }
    });

    it('refuses a key or run id that is no ref name part before any git runs', async function () {
      const m = machine('carol', remote);
      const s = open(m);
      const badKeys = [
        '',
        '..',
        'a/../b@prod',
        'orders@prod/x',
        'orders api@prod',
        'orders@prod.lock',
        'ordérs@prod',
        'orders',
        '-x@prod',
        'a@b@c',
        `${'x'.repeat(300)}@prod`,
        'orders@prod\n',
        'refs/heads/main',
      ];
      for (const key of badKeys) {
        await assert.rejects(
          s.acquire(key, holderOf(m, 'run-x')),
          (e: Error) => e instanceof StoreDataError && /is not a lock key/.test(e.message),
          JSON.stringify(key),
        );
        await assert.rejects(s.holder(key), StoreDataError);
      }
      const badRuns = ['', '.', '..', 'a..b', '../x', 'a/b', 'run x', 'rün', 'run.lock', 'run.', '-run', 'x'.repeat(201), 'run\u0000'];
      for (const runId of badRuns) {
        await assert.rejects(s.events(runId), (e: Error) => e instanceof StoreDataError && /is not a run id/.test(e.message), JSON.stringify(runId));
        await assert.rejects(s.publish(metaOf(m, runId), []), StoreDataError);
        await assert.rejects(s.acquire(lockKey('orders', 'production'), holderOf(m, runId)), StoreDataError);
        await assert.rejects(s.requestRollback(runId, { by: 'x', reason: 'y', at: new Date().toISOString(), host: 'h' }), StoreDataError);
      }
      assert.equal(fs.existsSync(gitCacheDir(m.workspace)), false, 'no git command ran: the cache was never made');
      // What lockKey makes from hostile names is always a key.
      for (const [name, env] of [
        ['Orders API', 'production'],
        ['../../etc', 'prod..eu'],
        ['ünïcode', 'prod'],
        ['x'.repeat(5000), 'y'.repeat(5000)],
        ['a/b', 'c d'],
        ['-x', '-y'],
        ['@{u}', 'x.lock'],
      ])
        assert.equal((await s.holder(lockKey(name, env)).catch((e: Error) => e.message)) ?? 'none', 'none', `${name.slice(0, 20)}@${env.slice(0, 20)}`);
      assert.equal(lockKey('ORDERS', 'Production'), lockKey('orders', 'production'));
    });

    it("a teammate's broken records are refused with where they are, not a crash", async function () {
      const s = open(a);
      const put = (ref: string, files: Record<string, string>) => {
        const entries = Object.entries(files).map(([name, text]) => {
          const blob = execFileSync('git', ['--git-dir', remote.bare, 'hash-object', '-w', '--stdin'], { input: text, encoding: 'utf8' }).trim();
          return `100644 blob ${blob}\t${name}`;
        });
        const tree = execFileSync('git', ['--git-dir', remote.bare, 'mktree'], { input: entries.map((e) => `${e}\n`).join(''), encoding: 'utf8' }).trim();
        const commit = remote.git('-c', 'user.name=x', '-c', 'user.email=x@x', 'commit-tree', tree, '-m', 'broken');
        remote.git('update-ref', ref, commit);
      };
      const key = (k: string) => lockKey('orders', k);
      put(`refs/release-pilot/locks/${key('garbage')}`, { 'holder.json': '{not json' });
      await assert.rejects(
        s.holder(key('garbage')),
        (e: Error) => e instanceof StoreDataError && /locks\/orders@garbage holder\.json is not JSON/.test(e.message),
      );
      put(`refs/release-pilot/locks/${key('wrong')}`, { 'holder.json': JSON.stringify({ runId: '../x', pid: 'no' }) });
      await assert.rejects(s.holder(key('wrong')), /"runId" is "\.\.\/x", expected a run id/);
      put(`refs/release-pilot/locks/${key('huge')}`, { 'holder.json': `{"pad":"${'x'.repeat(2_000_000)}"}` });
      await assert.rejects(s.holder(key('huge')), /locks\/orders@huge holder\.json is 2000010 bytes, more than the 65536/);
      put(`refs/release-pilot/locks/${key('empty')}`, {});
      await assert.rejects(s.holder(key('empty')), /holder\.json is missing/);
      const blob = execFileSync('git', ['--git-dir', remote.bare, 'hash-object', '-w', '--stdin'], { input: 'hello', encoding: 'utf8' }).trim();
      remote.git('update-ref', `refs/release-pilot/locks/${key('blob')}`, blob);
      await assert.rejects(s.holder(key('blob')), /points to a blob, expected a commit/);
      await assert.rejects(s.acquire(key('blob'), holderOf(a, 'run-x')), /points to a blob/);
      put('refs/release-pilot/runs/run-broken', {
        'meta.json': JSON.stringify({ ...metaOf(a, 'run-broken'), events: 2, updatedAt: new Date().toISOString() }),
        'journal.jsonl': '{"type":"a"}\nnot json\n',
      });
      await assert.rejects(s.events('run-broken'), /run-broken journal\.jsonl, line 2: not JSON/);
      put('refs/release-pilot/runs/run-torn', {
        'meta.json': JSON.stringify({ ...metaOf(a, 'run-torn'), events: 1, updatedAt: new Date().toISOString() }),
        'journal.jsonl': '{"type":"a"}',
      });
      await assert.rejects(s.events('run-torn'), /does not end with a line break/);
      await assert.rejects(s.publish(metaOf(a, 'run-torn'), [ev('release.started', 0)]), /not an extension/);
      put('refs/release-pilot/runs/run-nometa', { 'meta.json': '[]', 'journal.jsonl': '' });
      remote.git('update-ref', 'refs/release-pilot/runs/run-blob', blob);
      const runs = await s.runs();
      assert.ok(
        runs.some((r) => r.runId === 'run-broken'),
        'the readable runs are listed',
      );
      assert.ok(!runs.some((r) => r.runId === 'run-nometa' || r.runId === 'run-blob'));
      assert.ok(
        s.problems.some((p) => /run-nometa meta\.json is not a JSON object/.test(p)),
        s.problems.join('\n'),
      );
      assert.ok(
        s.problems.some((p) => /runs\/run-blob points to a blob/.test(p)),
        s.problems.join('\n'),
      );
      for (const k of ['garbage', 'wrong', 'huge', 'empty', 'blob']) remote.git('update-ref', '-d', `refs/release-pilot/locks/${key(k)}`);
      for (const r of ['run-broken', 'run-torn', 'run-nometa', 'run-blob']) remote.git('update-ref', '-d', `refs/release-pilot/runs/${r}`);
    });

    it('the mirror copies runs made elsewhere only by extension, never over a longer or diverging local journal, and reads a remote holder as live', async function () {
      const sa = open(a);
      const sb = open(b);
      const events = Array.from({ length: 5 }, (_, i) => ev(i === 0 ? 'release.started' : 'step.finished', i));
      const journalOf = (id: string) => path.join(b.workspace, '.release', 'runs', id, 'journal.jsonl');
      await sa.publish(metaOf(a, 'run-mirror'), events.slice(0, 3));
      const lease = await sa.acquire(lockKey('orders', 'production'), holderOf(a, 'run-mirror'));
      assert.ok(lease.ok);
      let r = await syncMirror(b.workspace, sb);
      assert.ok(r.copied.some((c) => c.runId === 'run-mirror' && c.events === 3));
      assert.equal(
        fs.readFileSync(journalOf('run-mirror'), 'utf8'),
        events
          .slice(0, 3)
          .map((e) => `${JSON.stringify(e)}\n`)
          .join(''),
      );
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(b.workspace, '.release', 'runs', 'run-mirror', 'origin.json'), 'utf8')), {
        user: 'ada',
        host: a.host,
        workspace: a.workspace,
      });
      assert.equal(loadRun(b.workspace, 'run-mirror').live, true, 'held by a live holder elsewhere');
      const inode = fs.statSync(journalOf('run-mirror')).ino;
      await sa.publish(metaOf(a, 'run-mirror'), events);
      r = await syncMirror(b.workspace, sb);
      assert.deepEqual(r.copied, [{ runId: 'run-mirror', events: 5 }]);
      assert.equal(fs.statSync(journalOf('run-mirror')).ino, inode, 'appended to, not replaced');
      assert.equal(fs.readFileSync(journalOf('run-mirror'), 'utf8').split('\n').length - 1, 5);

      // A local journal longer than the store's, and one that differs: both stay as they are, and are reported.
      const longer = [...events.slice(0, 2), ev('step.finished', 7), ev('step.finished', 8)];
      await sa.publish(metaOf(a, 'run-longer'), events.slice(0, 2));
      fs.mkdirSync(path.dirname(journalOf('run-longer')), { recursive: true });
      fs.writeFileSync(journalOf('run-longer'), longer.map((e) => `${JSON.stringify(e)}\n`).join(''));
      await sa.publish(metaOf(a, 'run-differs'), events.slice(0, 3));
      fs.mkdirSync(path.dirname(journalOf('run-differs')), { recursive: true });
      const differs = `${JSON.stringify(events[0])}\n${JSON.stringify(ev('release.aborted', 1))}\n`;
      fs.writeFileSync(journalOf('run-differs'), differs);
      r = await syncMirror(b.workspace, sb);
      assert.match(r.diverged.find((d) => d.runId === 'run-longer')?.why ?? '', /holds 2 more lines .* not overwritten/);
      assert.match(r.diverged.find((d) => d.runId === 'run-differs')?.why ?? '', /differs from the one in .* not overwritten/);
      assert.equal(fs.readFileSync(journalOf('run-longer'), 'utf8'), longer.map((e) => `${JSON.stringify(e)}\n`).join(''));
      assert.equal(fs.readFileSync(journalOf('run-differs'), 'utf8'), differs);

      // A holder that stopped renewing reads as stale on the syncing machine's clock, and its run as not live.
      const later = open(b, { now: () => Date.now() + 60_000 });
      await syncMirror(b.workspace, later);
      assert.equal(JSON.parse(fs.readFileSync(holdersFile(b.workspace), 'utf8'))[lockKey('orders', 'production')].stale, true);
      assert.equal(loadRun(b.workspace, 'run-mirror').live, false);
      await syncMirror(b.workspace, sb);
      assert.equal(loadRun(b.workspace, 'run-mirror').live, true);
      await lease.lease.release();
      await syncMirror(b.workspace, sb);
      assert.equal(loadRun(b.workspace, 'run-mirror').live, false, 'released: no longer live');
    });

    it('latencies over ssh on loopback (median of 20)', async function () {
      const s = open(a);
      const timed = async (f: () => Promise<unknown>) => {
        const t = performance.now();
        await f();
        return performance.now() - t;
      };
      const acquire: number[] = [];
      const renew: number[] = [];
      const publish: number[] = [];
      const fetch: number[] = [];
      const events: ReleaseEvent[] = [];
      for (let i = 0; i < 20; i++) {
        let lease: Awaited<ReturnType<GitStore['acquire']>> | undefined;
        acquire.push(await timed(async () => (lease = await s.acquire(lockKey('orders', `bench-${i}`), holderOf(a, `run-bench-${i}`)))));
        assert.ok(lease?.ok);
        renew.push(
          await timed(async () => {
            if (lease?.ok) await lease.lease.renew();
          }),
        );
        events.push(ev('step.finished', i));
        publish.push(await timed(() => s.publish(metaOf(a, 'run-bench'), events)));
        fetch.push(await timed(() => s.runs()));
        await lease.lease.release();
      }
      console.log(
        `      medians: acquire ${median(acquire).toFixed(0)} ms, renew ${median(renew).toFixed(0)} ms, publish ${median(publish).toFixed(0)} ms, runs() fetch ${median(fetch).toFixed(0)} ms`,
      );
    });

    it("opens the plan's git store by URL or by a remote name of the workspace repository", async function () {
      execFileSync('git', ['init', '-q', a.workspace], { env: a.env });
      execFileSync('git', ['-C', a.workspace, 'remote', 'add', 'team', remote.url], { env: a.env });
      const byName = await openStore({ git: { remote: 'team', lease: 30_000 } }, a.workspace, a.env);
      assert.equal(byName.kind, 'git');
      assert.equal(byName.where, remote.url);
      assert.ok(Array.isArray(await byName.runs()));
      const byUrl = await openStore({ git: { remote: remote.url, lease: 30_000 } }, a.workspace, a.env);
      assert.equal(byUrl.where, remote.url);
      await assert.rejects(
        openStore({ git: { remote: 'nowhere', lease: 30_000 } }, a.workspace, a.env),
        /store\.git\.remote: "nowhere" is no remote of the workspace repository/,
      );
      await assert.rejects(
        openStore({ postgres: { url: '${env:RP_NO_SUCH_URL}', lease: 30_000 } }, a.workspace, {}),
        /store\.postgres\.url: \$\{env:RP_NO_SUCH_URL\} is not set/,
      );
    });
  });
