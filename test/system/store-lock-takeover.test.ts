import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { tempDir } from '../support/helpers';
import { seedOrigin, teamMachine, teamPlan, type Machine } from '../support/teamMachines';
import { alive } from '../support/processes';
import { waitFor } from '../support/waitFor';
import { startGitRemote, type GitRemote } from '../support/gitRemote';
import { GitStore } from '../../src/core/store/gitStore';
import type { HolderInfo } from '../../src/core/store/storeTypes';

const LEASE_MS = 2_000;

/** The store lock of a git store behind a real sshd, taken after another machine held it. */
describe('team releases: taking the store lock after another machine held it', function () {
  this.timeout(90_000);
  let remote: GitRemote;
  let origin: string;
  let serving: string;
  const spawned: ChildProcess[] = [];

  before(async function () {
    remote = await startGitRemote('127.0.0.23');
    serving = path.join(tempDir('rp-serving-'), 'current');
    fs.writeFileSync(`${serving}.production`, '0.9.0\n');
    origin = await seedOrigin(teamPlan(`git: { remote: "${remote.url}", lease: 5s }`, '1.0.0', serving, '1s'));
  });

  after(async function () {
    for (const c of spawned) if (c.pid && alive(c.pid)) c.kill('SIGKILL');
    await remote?.stop();
  });

  /** Takes the staging lock as a CLI on another machine that ended right after (it never renews, never publishes). */
  async function deadHolder(m: Machine, runId: string): Promise<void> {
    const store = new GitStore(remote.url, { workspace: tempDir('rp-dead-'), leaseMs: LEASE_MS, env: m.env });
    const me: HolderInfo = {
      runId,
      user: 'alice',
      host: 'gone-machine',
      workspace: '/home/alice/shop',
      pid: 4_000_000,
      holder: 'release-pilot CLI',
      leaseMs: LEASE_MS,
    };
    const r = await store.acquire('team@staging', me);
    assert.equal(r.ok, true);
    await store.close();
  }

  it('the next run takes the lock over with a warning naming the holder, and status of the unpublished run says it is unknown, never ENOENT', async function () {
    const bob = await machine('bob');
    const runId = '20261208-031500-1.1.0';
    await deadHolder(bob, runId);
    // Waits for the dead holder's lease to run out (2 s), with a margin.
    await new Promise((r) => setTimeout(r, LEASE_MS + 1_000));
    await bob.setVersion('1.1.0');
    const run = await bob.cli('run', '--env', 'staging', '--yes');
    assert.equal(run.code, 0, run.err + run.out);
    assert.match(
      run.out + run.err,
      new RegExp(
        `took over the store lock team@staging from release-pilot CLI \\(pid 4000000, alice@gone-machine, run ${runId}\\).*the store holds nothing of run ${runId}`,
      ),
    );
    assert.equal(fs.readFileSync(`${serving}.staging`, 'utf8').trim(), '1.1.0');
    const status = await bob.cli('status', runId);
    assert.notEqual(status.code, 0);
    assert.doesNotMatch(status.out + status.err, /ENOENT/);
    assert.match(status.err, new RegExp(`no release run ${runId} in .*\\.release.*runs: no journal of it was written here or published to a release store`));
  });

  it("a run that waited with --wait for a teammate's release starts once it ends, reading the runs as the store holds them after the wait", async function () {
    const alice = await machine('alice2');
    const bob = await machine('bob2');
    await alice.setVersion('1.2.0');
    await bob.setVersion('1.2.0');
    const hold = path.join(alice.dir, 'hold');
    fs.writeFileSync(hold, '');
    const holder = alice.spawnCli('run', '--env', 'staging', '--yes');
    // Waits for alice's real release to hold the lock and publish its start, so bob's sync before the wait copies it unfinished.
    const started = await waitFor(async () => (await storeHas(alice)) && holder.out().length > 0, 30_000, 200);
    assert.ok(started, holder.err());
    const waiting = bob.cli('run', '--env', 'staging', '--yes', '--wait', '1m');
    // Waits for bob's real CLI to sync and start waiting for the lock.
    await waitFor(async () => fs.existsSync(path.join(bob.dir, '.release', 'runs', alice.runs().at(-1)!, 'journal.jsonl')), 30_000, 200);
    fs.rmSync(hold);
    const r = await waiting;
    assert.equal(r.code, 0, r.err + r.out);
    assert.doesNotMatch(r.err, /unresolved/);
    assert.equal(fs.readFileSync(`${serving}.staging`, 'utf8').trim(), '1.2.0');
  });

  it('a holder on this host is judged by its process, not by clocks: alive with its clock a minute behind it stays live; gone it is stale at once', async function () {
    const ws = tempDir('rp-skew-');
    const me = (runId: string, pid: number): HolderInfo => ({
      runId,
      user: 'alice',
      host: os.hostname(),
      workspace: ws,
      pid,
      holder: 'release-pilot CLI',
      leaseMs: 5_000,
    });
    // The holder's clock runs 60 s behind the reader's.
    const behind = new GitStore(remote.url, { workspace: ws, leaseMs: 5_000, env: sshEnv(), now: () => Date.now() - 60_000 });
    const reader = new GitStore(remote.url, { workspace: tempDir('rp-skew-reader-'), leaseMs: 5_000, env: sshEnv() });
    const live = await behind.acquire('skew@live', me('20261208-030000-1.0.0', process.pid));
    assert.equal(live.ok, true);
    const seen = await reader.holder('skew@live');
    assert.equal(seen?.stale, false, JSON.stringify(seen));
    const taken = await reader.acquire('skew@live', me('20261208-030001-1.0.0', process.pid), { takeOverStale: true });
    assert.equal(taken.ok, false);
    // A process that ended: its pid names nothing now, though it renewed a moment ago by every clock.
    const ended = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const dead = await new GitStore(remote.url, { workspace: ws, leaseMs: 5_000, env: sshEnv() }).acquire(
      'skew@dead',
      me('20261208-030002-1.0.0', Number(ended.stdout)),
    );
    assert.equal(dead.ok, true);
    assert.equal((await reader.holder('skew@dead'))?.stale, true);
    await behind.close();
    await reader.close();
  });

  const sshEnv = () => ({ ...process.env, GIT_SSH_COMMAND: remote.sshCommand });

  /** Whether the store holds the started run of machine `m`. */
  async function storeHas(m: Machine): Promise<boolean> {
    const runId = m.runs().at(-1);
    if (!runId) return false;
    const store = new GitStore(remote.url, { workspace: tempDir('rp-reader-'), leaseMs: 30_000, env: m.env });
    try {
      return (await store.events(runId)).some((e) => e.type === 'release.started');
    } finally {
      await store.close();
    }
  }

  async function machine(name: string): Promise<Machine> {
    return teamMachine(name, origin, { GIT_SSH_COMMAND: remote.sshCommand }, spawned);
  }
});
