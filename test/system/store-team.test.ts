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
  deploy:
    steps:
      - name: deploy
        run: echo "\${release.version}" > ${serving}
rollback:
  steps:
    - name: back
      run: echo "\${release.previousVersion}" > ${serving}
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
  setVersion(v: string, commit?: boolean): Promise<void>;
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
      ...remote.clientEnv(home),
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
      setVersion: async (v, commit = false) => {
        const file = path.join(dir, '.release', 'plan.yaml');
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^( {2}version: ).*$/m, `$1${v}`));
        if (commit) {
          await m.git('commit', '-qam', `release ${v}`);
          await m.git('push', '-q', 'origin', 'HEAD:main');
        }
      },
    };
    machines.push(m);
    return m;
  }

  before(async function () {
    remote = await startGitRemote({ address: '127.0.0.22' });
    serving = path.join(tempDir('rp-serving-'), 'current');
    fs.writeFileSync(serving, '0.9.0\n');
    // The application's repository, which both machines clone: its plan names the store.
    const seed = tempDir('rp-seed-');
    origin = path.join(tempDir('rp-origin-'), 'app.git');
    const env = { ...process.env, GIT_AUTHOR_NAME: 'seed', GIT_AUTHOR_EMAIL: 's@e', GIT_COMMITTER_NAME: 'seed', GIT_COMMITTER_EMAIL: 's@e' };
    await run('git', ['init', '-q', '--bare', '-b', 'main', origin], seed, env);
    await run('git', ['init', '-q', '-b', 'main'], seed, env);
    write(seed, '.release/plan.yaml', teamPlan(remote.url, '1.0.0', serving));
    write(seed, 'verdict.txt', 'QA verdict: Ready for Launch\n');
    write(seed, 'health.txt', '1\n');
    write(seed, '.gitignore', '.release/runs/\n.release/lock\n.release/store/\n');
    for (const args of [['add', '-A'], ['commit', '-qm', 'app'], ['remote', 'add', 'origin', origin], ['push', '-q', 'origin', 'main']]) {
      const r = await run('git', args, seed, env);
      assert.equal(r.code, 0, r.err);
    }
  });

  after(async function () {
    for (const c of spawned) if (c.pid && alive(c.pid)) c.kill('SIGKILL');
    await remote?.close();
  });

  it('two machines racing run of one environment: exactly one runs, the other is refused naming the holder (5 races)', async function () {
    const a = await machine('alice');
    const b = await machine('bob');
    for (let i = 0; i < 5; i++) {
      await a.setVersion(`2.0.${i}`);
      await b.setVersion(`2.0.${i}`);
      // The window holds the winner long enough for the loser's acquire to meet it.
      const [ra, rb] = await Promise.all([a.cli('run', '--env', 'race', '--yes'), b.cli('run', '--env', 'race', '--yes')]);
      const won = [ra, rb].filter((r) => r.code === 0);
      const lost = [ra, rb].filter((r) => r.code !== 0);
      assert.equal(won.length, 1, `race ${i}: ${ra.code} ${ra.err}\n---\n${rb.code} ${rb.err}`);
      assert.match(lost[0].err, /already being run by release-pilot CLI \(pid \d+, (alice|bob)@[^,]+, workspace [^,]+, run [^,]+, since /);
      assert.match(lost[0].err, /status --follow/);
    }
  });
});

export type { ReleaseEvent };
export { openStore, waitFor, LEASE_MS };
