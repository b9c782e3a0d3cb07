import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempDir } from '../support/helpers';
import { startPostgres } from '../support/databases';
import { syncMirror } from '../../src/core/store/mirror';
import { PostgresStore } from '../../src/core/store/postgresStore';
import { journalText } from '../../src/core/store/storeRecords';
import { ReleaseLock } from '../../src/core/journal/journal';
import type { ReleaseEvent } from '../../src/core/model/events';
import type { RunMeta } from '../../src/core/store/storeTypes';

/**
 * The mirror of a workspace whose process of a run was killed, against a real PostgreSQL store: its local
 * journal is replaced by the store's (and kept aside) only when a teammate took that very process's run
 * over; every other difference is reported and the local journal left as it is.
 */
const KILLED_PID = 4242;
const HOST = os.hostname();
let at = 0;
const ev = (e: Record<string, unknown>) => ({ at: new Date(Date.UTC(2026, 0, 1) + at++ * 1000).toISOString(), ...e }) as unknown as ReleaseEvent;
const started = (pid = KILLED_PID, version = '1.0.0') =>
  ev({ type: 'release.started', runId: 'r', plan: 'p', name: 'shop', version, environment: 'production', user: 'ana', host: HOST, pid, planHash: 'h' });
const step = (name: string) => ev({ type: 'step.finished', step: name, ok: true, message: 'exit code 0' });
const tookOver = (pid = KILLED_PID, host = HOST) =>
  ev({ type: 'warning', message: `took over the store lock shop@production from pid ${pid}`, tookOver: { pid, user: 'ana', host, runId: 'r' } });
const rolledBack = ev({ type: 'release.finished', outcome: 'rolled-back', message: 'rolled back: it died' });

describe('the mirror after a teammate took over a run this workspace was running (real PostgreSQL 15)', function () {
  this.timeout(60_000);
  let pg: Awaited<ReturnType<typeof startPostgres>>;
  let store: PostgresStore;
  let n = 0;

  before(async () => {
    pg = await startPostgres(tempDir('rp-pgmirror-'));
    store = new PostgresStore(`postgres://app@127.0.0.1:${pg.port}/app`, { leaseMs: 5_000 });
  });
  after(async () => {
    await store?.close();
    await pg?.stop();
  });

  /** A run in the store with `stored` and in a fresh workspace with the local `text`; the mirror synced once. */
  async function case_(stored: ReleaseEvent[], text: string, o: { liveLock?: boolean; otherLock?: boolean } = {}) {
    const runId = `run-${++n}`;
    const meta: RunMeta = { runId, name: 'shop', environment: 'production', version: '1.0.0', user: 'ana', host: HOST, workspace: '/ws/elsewhere' };
    await store.publish(meta, stored);
    const ws = tempDir('rp-mirror-ws-');
    const dir = path.join(ws, '.release', 'runs', runId);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'journal.jsonl'), text);
    const lock =
      o.liveLock || o.otherLock
        ? ReleaseLock.acquire(path.join(ws, '.release', 'lock'), { user: 'ana', holder: 'CLI', runId: o.liveLock ? runId : 'another-run' })
        : undefined;
    try {
      const r = await syncMirror(ws, store);
      return {
        r,
        runId,
        dir,
        journal: () => fs.readFileSync(path.join(dir, 'journal.jsonl'), 'utf8'),
        aside: () => fs.readdirSync(dir).filter((f) => f.startsWith('journal.local-')),
        ws,
      };
    } finally {
      lock?.release();
    }
  }

  const prefix = () => [started(), step('build')];

  it('a takeover of the killed process: the local journal moves aside whole, the store one is written, said once', async () => {
    const p = prefix();
    const local = journalText([...p, step('deploy'), step('monitor-1')]);
    const stored = [...p, step('deploy'), tookOver(), rolledBack];
    const c = await case_(stored, local);
    assert.equal(c.r.replaced.length, 1, JSON.stringify(c.r));
    assert.match(c.r.replaced[0].why, new RegExp(`run ${c.runId} was taken over by .*pid ${KILLED_PID} on ${HOST}.* kept in .*journal\\.local-`));
    assert.equal(c.journal(), journalText(stored));
    assert.equal(c.aside().length, 1);
    assert.equal(fs.readFileSync(path.join(c.dir, c.aside()[0]), 'utf8'), local);
    const again = await syncMirror(c.ws, store);
    assert.deepEqual([again.replaced.length, again.diverged.length], [0, 0], 'said once');
    assert.equal(c.aside().length, 1);
  });

  it('a torn last line in the local journal: replaced as well, and the aside file keeps the torn line', async () => {
    const p = prefix();
    const local = `${journalText([...p, step('deploy')])}{"type":"step.fin`;
    const stored = [...p, tookOver(), rolledBack];
    const c = await case_(stored, local);
    assert.equal(c.r.replaced.length, 1);
    assert.equal(c.journal(), journalText(stored));
    assert.equal(fs.readFileSync(path.join(c.dir, c.aside()[0]), 'utf8'), local);
  });

  it('a live process here holding the run: never replaced, reported', async () => {
    const p = prefix();
    const local = journalText([...p, step('deploy')]);
    const c = await case_([...p, tookOver(), rolledBack], local, { liveLock: true });
    assert.equal(c.r.replaced.length, 0);
    assert.match(c.r.diverged[0]?.why ?? '', /differs .* not overwritten/);
    assert.equal(c.journal(), local);
    assert.deepEqual(c.aside(), []);
  });

  it('a live process here holding another run does not keep this one from being replaced', async () => {
    const p = prefix();
    const c = await case_([...p, tookOver(), rolledBack], journalText([...p, step('deploy')]), { otherLock: true });
    assert.equal(c.r.replaced.length, 1);
  });

  const refused: [string, () => { stored: ReleaseEvent[]; local: string }][] = [
    [
      'a store journal that shares no line with the local one',
      () => ({ stored: [started(7, '2.0.0'), tookOver(), rolledBack], local: journalText([step('x'), step('deploy')]) }),
    ],
    [
      'a store journal that rewrites the release.started',
      () => {
        const p = prefix();
        return { stored: [started(KILLED_PID, '9.9.9'), p[1], tookOver(), rolledBack], local: journalText([...p, step('deploy')]) };
      },
    ],
    [
      'a store journal shorter than the local one',
      () => {
        const p = prefix();
        return { stored: p, local: journalText([...p, step('deploy')]) };
      },
    ],
    [
      'a store journal that goes on without a takeover',
      () => {
        const p = prefix();
        return { stored: [...p, step('other'), rolledBack], local: journalText([...p, step('deploy')]) };
      },
    ],
    [
      'a takeover of another process than the one that wrote the local journal',
      () => {
        const p = prefix();
        return { stored: [...p, tookOver(999), rolledBack], local: journalText([...p, step('deploy')]) };
      },
    ],
    [
      'a takeover of the same pid on another host',
      () => {
        const p = prefix();
        return { stored: [...p, tookOver(KILLED_PID, 'elsewhere.example'), rolledBack], local: journalText([...p, step('deploy')]) };
      },
    ],
    [
      'a takeover journaled in the local journal as well (the shared part holds no release.started)',
      () => {
        const s = step('first');
        return { stored: [s, started(), tookOver(), rolledBack], local: journalText([s, step('deploy')]) };
      },
    ],
  ];
  for (const [what, make] of refused)
    it(`${what}: never replaced, reported as a divergence`, async () => {
      const { stored, local } = make();
      const c = await case_(stored, local);
      assert.equal(c.r.replaced.length, 0);
      assert.equal(c.r.diverged.length, 1, JSON.stringify(c.r));
      assert.equal(c.journal(), local);
      assert.deepEqual(c.aside(), []);
    });
});
