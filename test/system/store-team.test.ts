import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT, tempDir, write } from '../support/helpers';
import { waitFor } from '../support/waitFor';
import { alive } from '../support/processes';
import { startGitRemote, type GitRemote } from '../support/gitRemote';
import { openStore } from '../../src/core/store/openStore';
import type { ReleaseEvent } from '../../src/core/model/events';

const CLI = path.join(ROOT, 'dist', 'cli.js');
const LEASE_MS = 5_000;

/**
 * The plan every machine releases: production behind promotion from staging, a deploy that writes the
 * version into one "serving" file both machines see (what production serves), and a rollback that writes
 * the previous version back. The monitoring window is the test's own (MONITOR env).
 */
function teamPlan(remote: string, version: string, serving: string, window = '1s'): string {
  return `release:
  name: team
  version: ${version}
  environment: production
store:
  git: { remote: "${remote}", lease: 5s }
acceptance:
  file: verdict.txt
phases:
  preparation:
    steps:
      - name: wait while held
        run: while [ -f hold ]; do sleep 0.05; done
  deploy:
    steps:
      - name: deploy
        production: true
        run: echo "\${release.version}" > ${serving}.\${release.environment}
rollback:
  steps:
    - name: back
      run: echo "\${release.previousVersion}" > ${serving}.\${release.environment}
monitoring:
  window: ${window}
  interval: 200ms
  shortWindowReason: a test
  baseline:
    fixed: { health: 1 }
  metrics:
    - id: health
      command: cat health.txt
      guard: { min: 1 }
environments:
  staging: {}
  production:
    requires: { released: staging }
    monitoring: { window: 1s }
  race: {}
`;
}

interface Machine {
  name: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  git(...args: string[]): Promise<string>;
  cli(...args: string[]): Promise<{ code: number | null; out: string; err: string }>;
  spawnCli(...args: string[]): ChildProcess & { out: () => string; err: () => string };
  setVersion(v: string, o?: { push?: boolean; productionWindow?: string; store?: boolean }): Promise<void>;
  runs(): string[];
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('team releases: two machines share one git store behind a real sshd', function () {
  this.timeout(90_000);
  let remote: GitRemote;
  let origin: string;
  let serving: string;
  const machines: Machine[] = [];
  const spawned: ChildProcess[] = [];

  async function machine(name: string): Promise<Machine> {
    const home = tempDir(`rp-home-${name}-`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GIT_SSH_COMMAND: remote.sshCommand,
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: home,
      GIT_AUTHOR_NAME: name,
      GIT_AUTHOR_EMAIL: `${name}@example.com`,
      GIT_COMMITTER_NAME: name,
      GIT_COMMITTER_EMAIL: `${name}@example.com`,
    };
    fs.writeFileSync(path.join(home, '.gitconfig'), `[user]\n\tname = ${name}\n\temail = ${name}@example.com\n[commit]\n\tgpgsign = false\n`);
    const dir = path.join(tempDir(`rp-${name}-`), 'app');
    const cloned = await run('git', ['clone', '-q', origin, dir], path.dirname(dir), env);
    assert.equal(cloned.code, 0, cloned.err);
    const m: Machine = {
      name,
      dir,
      env,
      git: async (...args) => {
        const r = await run('git', args, dir, env);
        assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.err}`);
        return r.out.trim();
      },
      cli: (...args) => run(process.execPath, [CLI, ...args], dir, env),
      spawnCli: (...args) => {
        const c = spawn(process.execPath, [CLI, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
        spawned.push(c);
        let out = '';
        let err = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        return Object.assign(c, { out: () => out, err: () => err });
      },
      setVersion: async (v, o = {}) => {
        const file = path.join(dir, '.release', 'plan.yaml');
        let text = fs.readFileSync(file, 'utf8').replace(/^( {2}version: ).*$/m, `$1${v}`);
        if (o.productionWindow) text = text.replace(/monitoring: \{ window: 1s \}/, `monitoring: { window: ${o.productionWindow} }`);
        if (o.store === false) text = text.replace(/^store:\n.*\n/m, '');
        fs.writeFileSync(file, text);
        // Environments with gates read the plan as committed.
        await m.git('commit', '-qam', `release ${v}`);
        if (o.push) await m.git('push', '-q', '-f', 'origin', 'HEAD:main');
      },
      runs: () => fs.readdirSync(path.join(dir, '.release', 'runs')).sort(),
    };
    machines.push(m);
    return m;
  }

  before(async function () {
    remote = await startGitRemote('127.0.0.22');
    serving = path.join(tempDir('rp-serving-'), 'current');
    fs.writeFileSync(`${serving}.production`, '0.9.0\n');
    // The application's repository, which both machines clone: its plan names the store.
    const seed = tempDir('rp-seed-');
    origin = path.join(tempDir('rp-origin-'), 'app.git');
    const env = { ...process.env, GIT_AUTHOR_NAME: 'seed', GIT_AUTHOR_EMAIL: 's@e', GIT_COMMITTER_NAME: 'seed', GIT_COMMITTER_EMAIL: 's@e' };
    await run('git', ['init', '-q', '--bare', '-b', 'main', origin], seed, env);
    await run('git', ['init', '-q', '-b', 'main'], seed, env);
    write(seed, '.release/plan.yaml', teamPlan(remote.url, '1.0.0', serving, '1s'));
    write(seed, 'verdict.txt', 'QA verdict: Ready for Launch\n');
    write(seed, 'health.txt', '1\n');
    write(seed, '.gitignore', '.release/runs/\n.release/lock\n.release/store/\n');
    const steps = [
      ['add', '-A'],
      ['commit', '-qm', 'app'],
      ['tag', '-a', 'v0.9.0', '-m', '0.9.0'],
      ['remote', 'add', 'origin', origin],
      ['push', '-q', 'origin', 'main', 'v0.9.0'],
    ];
    for (const args of steps) {
      const r = await run('git', args, seed, env);
      assert.equal(r.code, 0, r.err);
    }
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
    // Waits for the real release to reach its monitoring window and publish it (a renewal publishes).
    let runId = '';
    const published = await waitFor(
      async () => {
        runId = alice.runs().at(-1) ?? '';
        const events = runId.endsWith('3.1.0') && holder.out().includes('Monitoring') ? await storeEvents(runId) : [];
        return events.some((e) => e.type === 'metric.sample') && events;
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
