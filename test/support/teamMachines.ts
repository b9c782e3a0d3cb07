// Machines that release one plan through a shared store: each a clone of one application repository with a
// HOME of its own, running the real CLI (dist/cli.js). Shared by the git and the PostgreSQL team tests.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT, tempDir, write } from './helpers';
import type { ReleaseEvent } from '../../src/core/model/events';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/**
 * The plan every machine releases: production behind promotion from staging, a deploy that writes the
 * version into one "serving" file both machines see (what production serves), and a rollback that writes
 * the previous version back. `store` is the plan's store section (one line, indented by two).
 */
export function teamPlan(store: string, version: string, serving: string, window = '1s'): string {
  return `release:
  name: team
  version: ${version}
  environment: production
store:
  ${store}
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

export interface Machine {
  name: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  git(...args: string[]): Promise<string>;
  cli: (...args: string[]) => Promise<{ code: number | null; out: string; err: string }>;
  spawnCli(...args: string[]): ChildProcess & { out: () => string; err: () => string };
  setVersion(v: string, o?: { push?: boolean; productionWindow?: string; store?: boolean }): Promise<void>;
  runs(): string[];
  journal(runId: string): string;
}

export function runProcess(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

/** The application's bare repository, seeded with `plan`, which every machine clones. */
export async function seedOrigin(plan: string): Promise<string> {
  const seed = tempDir('rp-seed-');
  const origin = path.join(tempDir('rp-origin-'), 'app.git');
  const env = { ...process.env, GIT_AUTHOR_NAME: 'seed', GIT_AUTHOR_EMAIL: 's@e', GIT_COMMITTER_NAME: 'seed', GIT_COMMITTER_EMAIL: 's@e' };
  await runProcess('git', ['init', '-q', '--bare', '-b', 'main', origin], seed, env);
  await runProcess('git', ['init', '-q', '-b', 'main'], seed, env);
  write(seed, '.release/plan.yaml', plan);
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
    const r = await runProcess('git', args, seed, env);
    assert.equal(r.code, 0, r.err);
  }
  return origin;
}

/** A machine named `name`: a clone of `origin`; its CLI processes go to `spawned` (for the test to end). */
export async function teamMachine(name: string, origin: string, extraEnv: NodeJS.ProcessEnv, spawned: ChildProcess[]): Promise<Machine> {
  const home = tempDir(`rp-home-${name}-`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...extraEnv,
    GIT_CONFIG_NOSYSTEM: '1',
    HOME: home,
    GIT_AUTHOR_NAME: name,
    GIT_AUTHOR_EMAIL: `${name}@example.com`,
    GIT_COMMITTER_NAME: name,
    GIT_COMMITTER_EMAIL: `${name}@example.com`,
  };
  fs.writeFileSync(path.join(home, '.gitconfig'), `[user]\n\tname = ${name}\n\temail = ${name}@example.com\n[commit]\n\tgpgsign = false\n`);
  const dir = path.join(tempDir(`rp-${name}-`), 'app');
  const cloned = await runProcess('git', ['clone', '-q', origin, dir], path.dirname(dir), env);
  assert.equal(cloned.code, 0, cloned.err);
  const m: Machine = {
    name,
    dir,
    env,
    git: async (...args) => {
      const r = await runProcess('git', args, dir, env);
      assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.err}`);
      return r.out.trim();
    },
    cli: (...args) => runProcess(process.execPath, [CLI, ...args], dir, env),
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
    runs: () => (fs.existsSync(path.join(dir, '.release', 'runs')) ? fs.readdirSync(path.join(dir, '.release', 'runs')).sort() : []),
    journal: (runId) => fs.readFileSync(path.join(dir, '.release', 'runs', runId, 'journal.jsonl'), 'utf8'),
  };
  return m;
}

/**
 * The killed machine's own journal after a teammate's takeover: when it holds events it never published (it
 * diverges from the store's), its next reader moves it aside (said once) and writes the store's; when it
 * published all it wrote, the store's simply extends it. Either way the run reads rolled back there.
 * Returns whether the local journal had diverged.
 */
export async function killedMachineReadsTheTakeover(alice: Machine, runId: string, stored: ReleaseEvent[]): Promise<boolean> {
  const before = alice.journal(runId);
  const status = await alice.cli('status', runId);
  assert.equal(status.code, 0, status.err);
  const diverged = !stored
    .map((e) => `${JSON.stringify(e)}\n`)
    .join('')
    .startsWith(before);
  if (diverged) assert.match(status.err, new RegExp(`warning: run ${runId} was taken over by .* kept in .*journal\\.local-`));
  else assert.doesNotMatch(status.err, /taken over|differs/);
  assert.match(status.out, /: ROLLED-BACK \(rolled back: /);
  assert.doesNotMatch(status.out, /interrupted: held by/);
  assert.deepEqual(
    alice
      .journal(runId)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ReleaseEvent),
    stored,
  );
  const folder = path.join(alice.dir, '.release', 'runs', runId);
  const aside = fs.readdirSync(folder).filter((f) => /^journal\.local-.*\.jsonl$/.test(f));
  assert.equal(aside.length, diverged ? 1 : 0);
  if (diverged) assert.equal(fs.readFileSync(path.join(folder, aside[0]), 'utf8'), before, 'the aside file is the whole local journal');
  const history = await alice.cli('history');
  assert.doesNotMatch(history.err, /taken over/, 'said once');
  assert.match(history.out.split('\n').find((l) => l.includes(runId)) ?? '', /rolled.back/i);
  return diverged;
}
