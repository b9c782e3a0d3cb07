import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { tempDir, write } from '../support/helpers';
import { killedMachineReadsTheTakeover, seedOrigin, teamMachine, teamPlan, type Machine } from '../support/teamMachines';
import { waitFor } from '../support/waitFor';
import { alive } from '../support/processes';
import { startGitRemote, type GitRemote } from '../support/gitRemote';
import { openStore } from '../../src/core/store/openStore';
import type { ReleaseEvent } from '../../src/core/model/events';

const LEASE_MS = 5_000;

describe('team releases: two machines share one git store behind a real sshd', function () {
  this.timeout(90_000);
  let remote: GitRemote;
  let origin: string;
  let serving: string;
  const machines: Machine[] = [];
  const spawned: ChildProcess[] = [];

  async function machine(name: string): Promise<Machine> {
    const m = await teamMachine(name, origin, { GIT_SSH_COMMAND: remote.sshCommand }, spawned);
    machines.push(m);
    return m;
  }

  before(async function () {
    remote = await startGitRemote('127.0.0.22');
    serving = path.join(tempDir('rp-serving-'), 'current');
    fs.writeFileSync(`${serving}.production`, '0.9.0\n');
    // The application's repository, which both machines clone: its plan names the store.
    origin = await seedOrigin(teamPlan(`git: { remote: "${remote.url}", lease: 5s }`, '1.0.0', serving, '1s'));
  });

  after(async function () {
    for (const c of spawned) if (c.pid && alive(c.pid)) c.kill('SIGKILL');
    await remote?.stop();
  });

  it('two machines racing run of one environment: exactly one runs, the other is refused naming the holder (5 races)', async function () {
    const a = await machine('alice');
    const b = await machine('bob');
    for (let i = 0; i < 5; i++) {
      await a.setVersion(`2.0.${i}`);
      await b.setVersion(`2.0.${i}`);
      // Waits for both real CLI processes, which race for the lock in the store.
      // The window holds the winner long enough for the loser's acquire to meet it.
      const [ra, rb] = await Promise.all([a.cli('run', '--env', 'race', '--yes'), b.cli('run', '--env', 'race', '--yes')]);
      const won = [ra, rb].filter((r) => r.code === 0);
      const lost = [ra, rb].filter((r) => r.code !== 0);
      assert.equal(won.length, 1, `race ${i}: ${ra.code} ${ra.err}\n---\n${rb.code} ${rb.err}`);
      assert.match(lost[0].err, /already being run by release-pilot CLI \(pid \d+, (alice|bob)@[^,]+, workspace [^,]+, run [^,]+, since /);
      assert.match(lost[0].err, /status --follow/);
    }
  });

  /** What the store holds of a run, read by a client of its own (a third workspace). */
  let reader = '';
  async function storeEvents(runId: string): Promise<ReleaseEvent[]> {
    const ws = (reader ||= tempDir('rp-reader-'));
    const store = await openStore({ git: { remote: remote.url, lease: LEASE_MS } }, ws, { ...process.env, GIT_SSH_COMMAND: remote.sshCommand });
    try {
      return await store.events(runId, 0);
    } finally {
      await store.close();
    }
  }

  it('a staging run published by a headless CI clone opens the promotion gate of production on another clone; without the store it is refused', async function () {
    const ci = await machine('ci');
    const bob = await machine('bob2');
    await ci.setVersion('3.0.0', { push: true });
    const staged = await ci.cli('run', '--env', 'staging', '--yes');
    assert.equal(staged.code, 0, staged.err);
    await bob.git('pull', '-q', 'origin', 'main');
    const prod = await bob.cli('run', '--env', 'production', '--yes');
    assert.equal(prod.code, 0, prod.err);
    const stagingRun = ci.runs().at(-1)!;
    assert.match(prod.out, new RegExp(`Promotion \\(open\\): 3\\.0\\.0 at \\w+ was released to staging in run ${stagingRun}`));
    assert.equal(fs.readFileSync(`${serving}.production`, 'utf8').trim(), '3.0.0');
    // The same clone state, without the store in the plan: the CI run is not here, the gate refuses as before.
    const alone = await machine('alone');
    await alone.setVersion('3.0.0', { store: false });
    const refused = await alone.cli('run', '--env', 'production', '--yes');
    assert.equal(refused.code, 1, refused.err);
    assert.match(refused.out + refused.err, /promotion gate: no released staging run of team 3\.0\.0/);
  });

  it('kill -9 of the holder mid-monitoring: the other machine sees it interrupted within lease + margin, takes over and rolls back to the real previous version; the store keeps every event', async function () {
    const alice = await machine('alice3');
    const bob = await machine('bob3');
    await alice.setVersion('3.1.0', { push: true, productionWindow: '30s' });
    const staged = await alice.cli('run', '--env', 'staging', '--yes');
    assert.equal(staged.code, 0, staged.err);
    const servedBefore = fs.readFileSync(`${serving}.production`, 'utf8').trim();
    const holder = alice.spawnCli('run', '--env', 'production', '--yes');
    // Waits for the real release to reach its monitoring window, publish a sample (a renewal publishes) and journal more since.
    let runId = '';
    const published = await waitFor(
      async () => {
        runId = alice.runs().at(-1) ?? '';
        const events = runId.endsWith('3.1.0') && holder.out().includes('Monitoring') ? await storeEvents(runId) : [];
        return events.some((e) => e.type === 'metric.sample') && alice.journal(runId).split('\n').length - 1 > events.length && events;
      },
      30_000,
      200,
    );
    assert.ok(published, holder.err());
    assert.equal(fs.readFileSync(`${serving}.production`, 'utf8').trim(), '3.1.0');
    holder.kill('SIGKILL');
    const killedAt = Date.now();
    const atKill = await storeEvents(runId);
    await bob.git('pull', '-q', 'origin', 'main');
    // Waits for the lease to run out, as another machine's status sees it.
    let status = '';
    const seen = await waitFor(
      async () => {
        status = (await bob.cli('status', runId)).out;
        return /interrupted: held by release-pilot CLI \(pid \d+\) on alice3@/.test(status);
      },
      LEASE_MS + 10_000,
      250,
    );
    const sawAfterMs = Date.now() - killedAt;
    assert.ok(seen, status);
    assert.match(status, /workspace .*alice3/);
    const back = await bob.cli('rollback', runId, '--yes', '--reason', 'the holder died mid-monitoring');
    assert.equal(back.code, 3, back.err + back.out);
    assert.match(back.err, /took over the store lock team@production from release-pilot CLI/);
    assert.equal(fs.readFileSync(`${serving}.production`, 'utf8').trim(), servedBefore);
    const after = await storeEvents(runId);
    assert.deepEqual(after.slice(0, atKill.length), atKill);
    const types = after.slice(atKill.length).map((e) => e.type);
    assert.ok(types.includes('rollback.started') && types.includes('rollback.finished'), types.join(', '));
    assert.equal(after.at(-1)!.type, 'release.finished');
    console.log(`      interrupted seen ${sawAfterMs} ms after the kill (lease ${LEASE_MS} ms)`);
    // Its journal holds what it wrote after its last publish (renewals every 1.7 s, samples every 0.2 s).
    assert.equal(await killedMachineReadsTheTakeover(alice, runId, after), true);
  });

  it('sshd stopped: production refuses to start (unless --offline, journaled); mid-release the run pauses before its production step and resume syncs', async function () {
    const carol = await machine('carol');
    await carol.setVersion('4.0.0');
    await remote.stop();
    try {
      const refused = await carol.cli('run', '--env', 'production', '--yes');
      assert.equal(refused.code, 1, refused.err);
      assert.match(
        refused.err,
        /the release store ssh:\/\/\S+ cannot be reached: .*production is production, so the release does not start without the store's lock .*--offline "<reason>"/s,
      );
      const offline = await carol.cli('run', '--env', 'production', '--yes', '--offline', 'the git server is down for maintenance');
      const offRun = carol.runs().at(-1)!;
      const journal = fs.readFileSync(path.join(carol.dir, '.release', 'runs', offRun, 'journal.jsonl'), 'utf8');
      assert.match(journal, /released offline, without the store's lock .*: the git server is down for maintenance/, offline.err);
      assert.match(offline.out, /released offline/);
      // Another environment goes on with a warning, and pauses before its production step, which the store cannot record.
      const race = await carol.cli('run', '--env', 'race', '--yes');
      assert.equal(race.code, 1, race.err);
      assert.match(race.err, /warning: .*cannot be reached.*goes on without the store's lock/s);
      assert.match(race.out, /paused: the release store cannot record that the production step "deploy" starts/);
      const gone = await carol.cli('abandon', carol.runs().at(-1)!, '--reason', 'the store is down; released later');
      assert.equal(gone.code, 0, gone.err);
    } finally {
      await remote.start();
    }
    // Mid-release: the run holds in its first step while the store goes away.
    await carol.setVersion('4.0.1');
    write(carol.dir, 'hold', '');
    const run = carol.spawnCli('run', '--env', 'race', '--yes');
    let runId = '';
    const started = await waitFor(
      async () => {
        runId = carol.runs().at(-1) ?? '';
        return runId.endsWith('4.0.1') && (await storeEvents(runId)).length > 0;
      },
      20_000,
      100,
    );
    assert.ok(started, run.err());
    await remote.stop();
    fs.rmSync(path.join(carol.dir, 'hold'));
    // Waits for the real CLI process to pause and exit.
    const code = await new Promise<number | null>((resolve) => run.on('close', resolve));
    assert.equal(code, 1, run.err());
    assert.match(run.out(), /paused: the release store cannot record that the production step "deploy" starts/);
    assert.equal(fs.existsSync(`${serving}.race`) && fs.readFileSync(`${serving}.race`, 'utf8').trim() === '4.0.1', false);
    await remote.start();
    const resumed = await carol.cli('resume', runId, '--yes');
    assert.equal(resumed.code, 0, resumed.err + resumed.out);
    assert.equal(fs.readFileSync(`${serving}.race`, 'utf8').trim(), '4.0.1');
    const local = fs
      .readFileSync(path.join(carol.dir, '.release', 'runs', runId, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ReleaseEvent);
    assert.deepEqual(await storeEvents(runId), local);
    assert.ok(local.some((e) => e.type === 'warning' && /cannot be reached/.test(e.message)));
  });
});
