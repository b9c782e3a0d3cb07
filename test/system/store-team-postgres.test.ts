import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { tempDir, write } from '../support/helpers';
import { startPostgres } from '../support/databases';
import { killedMachineReadsTheTakeover, seedOrigin, teamMachine, teamPlan, type Machine } from '../support/teamMachines';
import { waitFor } from '../support/waitFor';
import { alive } from '../support/processes';
import { openStore } from '../../src/core/store/openStore';
import type { ReleaseEvent } from '../../src/core/model/events';

/** The store role's password: a real scram-sha-256 secret the server checks, which no output may show. */
const SECRET = 'Tr0ub4dor-pg-s3cret';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('team releases: two machines share one PostgreSQL 15 store (a role with a scram password)', function () {
  this.timeout(120_000);
  let pg: Awaited<ReturnType<typeof startPostgres>>;
  let url: string;
  let origin: string;
  let serving: string;
  const spawned: ChildProcess[] = [];
  const machines: Machine[] = [];
  /** Every line any CLI printed, checked for the password at the end. */
  const printed: string[] = [];

  async function machine(name: string): Promise<Machine> {
    const m = await teamMachine(name, origin, { TEAM_STORE_URL: url }, spawned);
    const cli = m.cli;
    m.cli = async (...args) => {
      const r = await cli(...args);
      printed.push(r.out, r.err);
      return r;
    };
    machines.push(m);
    return m;
  }

  async function storeEvents(runId: string): Promise<ReleaseEvent[]> {
    const store = await openStore({ postgres: { url: '${env:TEAM_STORE_URL}' } } as never, tempDir('rp-reader-'), { ...process.env, TEAM_STORE_URL: url });
    try {
      return await store.events(runId, 0);
    } finally {
      await store.close();
    }
  }

  before(async function () {
    const dir = tempDir('rp-pgteam-');
    pg = await startPostgres(dir);
    // A role that must give its password (scram-sha-256), and the database it owns.
    const hba = path.join(dir, 'pg', 'data', 'pg_hba.conf');
    fs.writeFileSync(hba, `host all rp_team 127.0.0.1/32 scram-sha-256\n${fs.readFileSync(hba, 'utf8')}`);
    const psql = (sql: string) =>
      execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', 'postgres', '-c', sql]);
    psql(`create role rp_team login password '${SECRET}'`);
    psql('create database team owner rp_team');
    psql('select pg_reload_conf()');
    const wrong = spawnSync('psql', ['-X', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'rp_team', '-d', 'team', '-c', 'select 1'], {
      env: { ...process.env, PGPASSWORD: 'not-it' },
      encoding: 'utf8',
    });
    assert.match(wrong.stderr, /password authentication failed/, 'the server checks the password');
    url = `postgres://rp_team:${SECRET}@127.0.0.1:${pg.port}/team`;
    serving = path.join(tempDir('rp-serving-'), 'current');
    fs.writeFileSync(`${serving}.production`, '0.9.0\n');
    origin = await seedOrigin(teamPlan('postgres: { url: "${env:TEAM_STORE_URL}", lease: 5s }', '1.0.0', serving, '1s'));
  });

  after(async function () {
    for (const c of spawned) if (c.pid && alive(c.pid)) c.kill('SIGKILL');
    await pg?.stop();
  });

  it('two machines racing run of one environment: exactly one runs, the other is refused naming the holder (5 races)', async function () {
    const a = await machine('alice');
    const b = await machine('bob');
    for (let i = 0; i < 5; i++) {
      await a.setVersion(`2.0.${i}`);
      await b.setVersion(`2.0.${i}`);
      // Waits for both real CLI processes, which race for the lock in the store.
      const [ra, rb] = await Promise.all([a.cli('run', '--env', 'race', '--yes'), b.cli('run', '--env', 'race', '--yes')]);
      const won = [ra, rb].filter((r) => r.code === 0);
      const lost = [ra, rb].filter((r) => r.code !== 0);
      assert.equal(won.length, 1, `race ${i}: ${ra.code} ${ra.err}\n---\n${rb.code} ${rb.err}`);
      assert.match(lost[0].err, /already being run by release-pilot CLI \(pid \d+, (alice|bob)@[^,]+, workspace [^,]+, run [^,]+, since /);
    }
  });

  it('kill -9 of the holder mid-monitoring: the other machine reads it interrupted at once, takes over and rolls back; the killed machine reads the rollback', async function () {
    const alice = await machine('alice3');
    const bob = await machine('bob3');
    await alice.setVersion('3.1.0', { push: true, productionWindow: '30s' });
    const staged = await alice.cli('run', '--env', 'staging', '--yes');
    assert.equal(staged.code, 0, staged.err);
    const servedBefore = fs.readFileSync(`${serving}.production`, 'utf8').trim();
    const holder = alice.spawnCli('run', '--env', 'production', '--yes');
    let runId = '';
    // Waits for the real release to reach its monitoring window, publish a sample (a renewal publishes) and journal more since.
    const published = await waitFor(
      async () => {
        runId = alice.runs().at(-1) ?? '';
        const events = runId.endsWith('3.1.0') && holder.out().includes('Monitoring') ? await storeEvents(runId) : [];
        return events.some((e) => e.type === 'metric.sample') && alice.journal(runId).split('\n').length - 1 > events.length;
      },
      30_000,
      200,
    );
    assert.ok(published, holder.err());
    holder.kill('SIGKILL');
    const killedAt = Date.now();
    // Waits for the killed process to be gone.
    await waitFor(() => !alive(holder.pid!), 5_000, 20);
    const atKill = await storeEvents(runId);
    await bob.git('pull', '-q', 'origin', 'main');
    const status = await bob.cli('status', runId);
    const sawAfterMs = Date.now() - killedAt;
    assert.match(status.out, /interrupted: held by release-pilot CLI \(pid \d+\) on alice3@/, status.err);
    const back = await bob.cli('rollback', runId, '--yes', '--reason', 'the holder died mid-monitoring');
    assert.equal(back.code, 3, back.err + back.out);
    assert.match(back.err, /took over the store lock team@production from release-pilot CLI/);
    assert.equal(fs.readFileSync(`${serving}.production`, 'utf8').trim(), servedBefore);
    const after = await storeEvents(runId);
    assert.deepEqual(after.slice(0, atKill.length), atKill);
    const types = after.slice(atKill.length).map((e) => e.type);
    assert.ok(types.includes('rollback.started') && types.includes('rollback.finished'), types.join(', '));
    assert.equal(after.at(-1)!.type, 'release.finished');
    console.log(`      interrupted read ${sawAfterMs} ms after the kill (one status command, lease 5 s)`);
    // Its journal holds what it wrote after its last publish (renewals every 1.7 s, samples every 0.2 s).
    assert.equal(await killedMachineReadsTheTakeover(alice, runId, after), true);
  });

  it('a rollback asked from another machine while the holder monitors: the holder journals who asked from which host and rolls back; the asker follows it to its outcome', async function () {
    const alice = await machine('alice4');
    const bob = await machine('bob4');
    await alice.setVersion('3.2.0', { push: true, productionWindow: '30s' });
    const staged = await alice.cli('run', '--env', 'staging', '--yes');
    assert.equal(staged.code, 0, staged.err);
    const servedBefore = fs.readFileSync(`${serving}.production`, 'utf8').trim();
    const holder = alice.spawnCli('run', '--env', 'production', '--yes');
    let runId = '';
    // Waits for the real release to reach its monitoring window.
    const monitoring = await waitFor(
      async () => {
        runId = alice.runs().at(-1) ?? '';
        return runId.endsWith('3.2.0') && holder.out().includes('Monitoring') && (await storeEvents(runId)).some((e) => e.type === 'metric.sample');
      },
      30_000,
      200,
    );
    assert.ok(monitoring, holder.err());
    await bob.git('pull', '-q', 'origin', 'main');
    const asked = await bob.cli('rollback', runId, '--yes', '--reason', 'error rate seen from the support desk');
    // Waits for the holder's process to end after its rollback.
    const code = await new Promise<number | null>((resolve) => (holder.exitCode !== null ? resolve(holder.exitCode) : holder.on('close', resolve)));
    printed.push(holder.out(), holder.err());
    assert.equal(asked.code, 3, asked.err + asked.out);
    assert.match(asked.err, /asked release-pilot CLI \(pid \d+, alice4@[^)]+\) through the store .* to roll back run /);
    assert.match(asked.out, /■ rolled-back: rolled back: error rate seen from the support desk \(asked through the store by bob4 on /);
    assert.equal(code, 3, holder.err());
    assert.equal(fs.readFileSync(`${serving}.production`, 'utf8').trim(), servedBefore);
    const journal = alice.journal(runId);
    assert.match(journal, new RegExp(`error rate seen from the support desk \\(asked through the store by bob4 on ${os.hostname()} at `));
    assert.deepEqual(
      await storeEvents(runId),
      journal
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ReleaseEvent),
    );
  });

  it('PostgreSQL stopped mid-release: the run pauses before its production step; once back, resume finishes and the store journal equals the local one', async function () {
    const carol = await machine('carol');
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
    await pg.stop();
    try {
      fs.rmSync(path.join(carol.dir, 'hold'));
      // Waits for the real CLI process to pause and exit.
      const code = await new Promise<number | null>((resolve) => run.on('close', resolve));
      printed.push(run.out(), run.err());
      assert.equal(code, 1, run.err());
      assert.match(run.out(), /paused: the release store cannot record that the production step "deploy" starts/);
      assert.equal(fs.existsSync(`${serving}.race`) && fs.readFileSync(`${serving}.race`, 'utf8').trim() === '4.0.1', false);
    } finally {
      await pg.start();
    }
    const resumed = await carol.cli('resume', runId, '--yes');
    assert.equal(resumed.code, 0, resumed.err + resumed.out);
    assert.equal(fs.readFileSync(`${serving}.race`, 'utf8').trim(), '4.0.1');
    const local = carol
      .journal(runId)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ReleaseEvent);
    assert.deepEqual(await storeEvents(runId), local);
    assert.ok(local.some((e) => e.type === 'warning' && /cannot be reached/.test(e.message)));
  });

  it('status --follow on another machine prints the end of a release within about a second of it (NOTIFY; lag measured over three releases)', async function () {
    const dora = await machine('dora');
    const eve = await machine('eve');
    const lags: number[] = [];
    for (let i = 0; i < 3; i++) {
      await dora.setVersion(`5.0.${i}`);
      write(dora.dir, 'hold', '');
      const run = dora.spawnCli('run', '--env', 'race', '--yes');
      let runId = '';
      // Waits for the release to publish its start.
      const started = await waitFor(
        async () => {
          runId = dora.runs().at(-1) ?? '';
          return runId.endsWith(`5.0.${i}`) && (await storeEvents(runId)).length > 0;
        },
        20_000,
        100,
      );
      assert.ok(started, run.err());
      const follow = eve.spawnCli('status', '--follow', runId);
      let endedAt = 0;
      follow.stdout!.on('data', (d: Buffer) => {
        if (!endedAt && /→ race: released/.test(d.toString())) endedAt = Date.now();
      });
      // Waits for the follower to have connected and printed the run so far.
      await waitFor(() => follow.out().length > 0, 10_000, 50);
      fs.rmSync(path.join(dora.dir, 'hold'));
      // Waits for both real processes to end.
      const [code, fcode] = await Promise.all([
        new Promise<number | null>((resolve) => run.on('close', resolve)),
        new Promise<number | null>((resolve) => follow.on('close', resolve)),
      ]);
      printed.push(run.out(), run.err(), follow.out(), follow.err());
      assert.equal(code, 0, run.err());
      assert.equal(fcode, 0, follow.err());
      const finished = (await storeEvents(runId)).find((e) => e.type === 'release.finished')!;
      lags.push(endedAt - Date.parse(finished.at));
    }
    console.log(`      follower lag after release.finished: median ${median(lags)} ms, max ${Math.max(...lags)} ms (${lags.join(', ')})`);
    assert.ok(Math.max(...lags) < 3_000, lags.join(', '));
  });

  it('the password is in no output, journal, report or file of any machine', function () {
    assert.ok(printed.length > 0);
    for (const text of printed) assert.ok(!text.includes(SECRET), text);
    const walk = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    let files = 0;
    for (const m of machines)
      for (const file of walk(path.join(m.dir, '.release'))) {
        files++;
        assert.ok(!fs.readFileSync(file).includes(SECRET), file);
      }
    assert.ok(files > 10, `${files} files read`);
  });
});
