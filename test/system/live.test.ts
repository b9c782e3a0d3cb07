import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ROOT, gitRepo, write } from '../support/helpers';
import { smallPlan, workspace, type Workspace } from '../support/fixtures';
import { waitFor } from '../support/waitFor';
import { releaseHistory } from '../../src/core/engine/history';

const CLI = path.join(ROOT, 'dist', 'cli.js');
const TOKEN = 'tok-9f8e7d6c5b4a-secret';
const ENV = { ...process.env, TINY_TOKEN: TOKEN };

/**
 * The small plan at `version`: verification reads the version deployed, the rollback writes the version it
 * restores (`${release.previousVersion}`) and the monitoring window lasts `window`.
 */
function planAt(version: string, o: { window?: string; rollback?: string; extra?: string; prepare?: string } = {}): string {
  return smallPlan({
    rollback:
      o.rollback ??
      `    - name: restore
      run: echo "\${release.previousVersion}" > restored.txt`,
    monitoring: `  window: ${o.window ?? '1s'}
  interval: 200ms
  baseline:
    fixed: { health: 1 }
  metrics:
    - id: health
      command: cat health.txt
      guard: { min: 1 }`,
    extra: o.extra,
  })
    .replace('version: 1.2.3', `version: ${version}`)
    .replace('grep -q 1.2.3 deployed.txt', 'grep -qx "version ${release.version}" deployed.txt')
    .replace('run: echo preparing > prepared.txt', `run: ${o.prepare ?? 'echo preparing > prepared.txt'}`);
}

/** A git repository whose plan is committed at each version before it is released. */
function repo(first: string) {
  const ws = workspace(first);
  write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
  const git = gitRepo(ws.dir);
  git('add', '-A');
  git('commit', '-qm', 'feat: first');
  // What served before the first release here: ${release.previousVersion} has a value from the start.
  git('tag', 'v0.9.0');
  const commit = (text: string, msg: string) => {
    fs.writeFileSync(ws.planFile, text);
    git('commit', '-qam', msg);
  };
  return { ws, git, commit };
}

const cli = (ws: Workspace, ...args: string[]) =>
  spawnSync('node', [CLI, ...args, '--plan', ws.planFile], { encoding: 'utf8', cwd: ws.dir, env: ENV, timeout: 100_000 });
const release = (ws: Workspace, ...more: string[]) => cli(ws, 'run', '--yes', '--tick', 'sign-off', ...more);

const runsOf = (ws: Workspace) => fs.readdirSync(path.join(ws.dir, '.release/runs')).sort();
const journalOf = (ws: Workspace, id: string) => path.join(ws.dir, '.release/runs', id, 'journal.jsonl');
const events = (ws: Workspace, id: string) =>
  fs
    .readFileSync(journalOf(ws, id), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const started = (ws: Workspace, id: string) => events(ws, id).find((e) => e.type === 'release.started')!;

/** Starts a CLI release and stops it with SIGINT once its newest journal shows `marker`; returns the run id. */
async function interruptedAt(ws: Workspace, marker: string, args: string[], ready: () => boolean = () => true): Promise<string> {
  const before = fs.existsSync(path.join(ws.dir, '.release/runs')) ? runsOf(ws) : [];
  const child = spawn('node', [CLI, ...args, '--plan', ws.planFile], { cwd: ws.dir, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.once('exit', r));
  const id = await waitFor(() => {
    const fresh = fs.existsSync(path.join(ws.dir, '.release/runs')) ? runsOf(ws).filter((r) => !before.includes(r)) : [];
    return (
      fresh.length === 1 && fs.existsSync(journalOf(ws, fresh[0])) && fs.readFileSync(journalOf(ws, fresh[0]), 'utf8').includes(marker) && ready() && fresh[0]
    );
  }, 30_000);
  assert.ok(id, `the journal shows ${marker}:\n${out}`);
  child.kill('SIGINT');
  await exited;
  assert.match(fs.readFileSync(journalOf(ws, id), 'utf8'), /"type":"release.paused"/, out);
  return id;
}

describe('what is live: one answer from every journal, for every ending (real CLI releases in git repositories)', function () {
  this.timeout(240_000);

  it('a release abandoned after its deploy stays live: the next rollback restores it, history shows it serving, its version is out', async () => {
    const { ws, commit } = repo(planAt('1.0.0'));
    const r1 = release(ws);
    assert.equal(r1.status, 0, r1.stdout + r1.stderr);
    commit(planAt('1.1.0', { window: '60s' }), 'feat: second');
    // Stopped while monitoring watched it: 1.1.0 was deployed and serves.
    const second = await interruptedAt(ws, '"type":"phase.started","phase":"monitoring"', ['run', '--yes', '--tick', 'sign-off']);
    const ab = cli(ws, 'abandon', second, '--reason', 'left as it is');
    assert.equal(ab.status, 0, ab.stdout + ab.stderr);
    assert.equal(fs.readFileSync(path.join(ws.dir, 'deployed.txt'), 'utf8'), 'version 1.1.0\n');

    commit(planAt('1.2.0'), 'feat: third');
    fs.writeFileSync(path.join(ws.dir, 'health.txt'), '0\n');
    const r3 = release(ws);
    assert.equal(r3.status, 3, `rolled back: ${r3.stdout}${r3.stderr}`);
    const third = runsOf(ws).at(-1)!;
    assert.equal(started(ws, third).previousVersion, '1.1.0', 'the version it replaces is the one that served');
    assert.equal(fs.readFileSync(path.join(ws.dir, 'restored.txt'), 'utf8'), '1.1.0\n', 'the rollback restores what was serving');
    assert.match(fs.readFileSync(path.join(ws.dir, '.release/runs', third, 'report.md'), 'utf8'), /Rolled back to v1\.1\.0/);

    const rows = releaseHistory(ws.dir);
    assert.deepEqual(
      rows.map((r) => [r.version, r.status, r.serving ?? '-']),
      [
        ['1.2.0', 'rolled-back', '-'],
        ['1.1.0', 'abandoned', 'yes'],
        ['1.0.0', 'released', '-'],
      ],
    );
    const cmp = cli(ws, 'compare', second, third);
    assert.equal(cmp.status, 0, cmp.stderr);
    assert.match(cmp.stdout, /^serving now\s+yes\s+no$/m, cmp.stdout);
    const h = cli(ws, 'history');
    assert.match(h.stdout, /1\.1\.0\s+production\s+abandoned \(serving\)/, h.stdout);
  });

  it('a version whose rollback failed may still serve: released again from another commit it is refused, as after released; the next rollback target says it is uncertain', async () => {
    const { ws, git, commit } = repo(planAt('1.2.2'));
    assert.equal(release(ws).status, 0);
    commit(planAt('1.2.3', { rollback: '    - name: restore\n      run: exit 7' }), 'feat: second');
    git('tag', 'v1.2.3');
    fs.writeFileSync(path.join(ws.dir, 'health.txt'), '0\n');
    const failed = release(ws);
    assert.equal(failed.status, 1, failed.stdout + failed.stderr);
    const failedRun = runsOf(ws).at(-1)!;
    assert.match(fs.readFileSync(journalOf(ws, failedRun), 'utf8'), /"outcome":"rollback-failed"/);

    // The tag moves to another commit, and the same version is asked for again.
    fs.writeFileSync(path.join(ws.dir, 'health.txt'), '1\n');
    commit(planAt('1.2.3'), 'fix: other code');
    git('tag', '-f', 'v1.2.3');
    const again = release(ws);
    assert.equal(again.status, 1, again.stdout + again.stderr);
    assert.match(again.stderr, /tiny 1\.2\.3 may still be deployed \(its rollback failed\) to production in run .*, so it does not start again/);
    assert.equal(runsOf(ws).length, 2, 'no run started');

    // The next version replaces what is known to serve (1.2.2), and says the rollback target is uncertain.
    commit(planAt('1.2.4'), 'feat: next');
    const next = release(ws);
    assert.equal(next.status, 0, next.stdout + next.stderr);
    const nextRun = runsOf(ws).at(-1)!;
    const s = started(ws, nextRun);
    assert.equal(s.previousVersion, '1.2.2');
    assert.match(String(s.previousVersionUncertain), new RegExp(`run ${failedRun} \\(1\\.2\\.3, its rollback failed\\) may still serve`));
    assert.match(fs.readFileSync(path.join(ws.dir, '.release/runs', nextRun, 'report.md'), 'utf8'), /what serves production now is uncertain/);

    // After released, the same is refused too (the rule both endings share).
    commit(planAt('1.2.4').replace('name: smoke', 'name: smoke again'), 'fix: more');
    const twice = release(ws);
    assert.equal(twice.status, 1);
    assert.match(twice.stderr, /tiny 1\.2\.4 was released to production in run/);
  });
});

describe('a run goes on with exactly the inputs it started with (real CLI, resume after an interruption)', function () {
  this.timeout(180_000);
  const gated = (extra = '') =>
    planAt('1.2.3', {
      rollback: '    - name: restore\n      run: rm -f deployed.txt',
      extra: `variables:\n  X: plan\n${extra}`,
      prepare: `echo preparing > prepared.txt && echo "\${var.X}" >> seen.txt && while [ ! -f go.txt ]; do sleep 0.1; done`,
    });

  async function interruptedWith(...vars: string[]) {
    const ws = workspace(gated());
    // Stopped once the step has written what it saw: its first attempt ran with the run's inputs.
    const id = await interruptedAt(ws, '"type":"step.running","step":"preparation/0"', ['run', '--yes', '--tick', 'sign-off', ...vars], () =>
      fs.existsSync(path.join(ws.dir, 'seen.txt')),
    );
    write(ws.dir, 'go.txt', 'go\n');
    return { ws, id };
  }

  it('resume without --var runs the interrupted step with the run\u2019s override, journaled at start and listed in the report', async () => {
    const { ws, id } = await interruptedWith('--var', 'X=cli');
    const inputs = started(ws, id).inputs as Record<string, unknown>;
    assert.deepEqual(inputs.overrides, { X: { value: 'cli' } });
    assert.deepEqual(inputs.variables, { X: { value: 'cli' } });
    assert.deepEqual(inputs.ticks, ['sign-off']);
    const r = cli(ws, 'resume', '--yes', '--retry');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual(fs.readFileSync(path.join(ws.dir, 'seen.txt'), 'utf8').trim().split('\n'), ['cli', 'cli']);
    assert.match(fs.readFileSync(path.join(ws.dir, '.release/runs', id, 'report.md'), 'utf8'), /Inputs\W+--var X=cli\n/);
  });

  it('resume with another --var is refused (exit 2) naming both values; nothing runs; the same value goes on', async () => {
    const { ws, id } = await interruptedWith('--var', 'X=cli');
    const before = fs.readFileSync(journalOf(ws, id), 'utf8');
    const r = cli(ws, 'resume', '--yes', '--retry', '--var', 'X=other');
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /X: run \S+ started with "cli", this resume gives "other"/);
    assert.equal(fs.readFileSync(journalOf(ws, id), 'utf8'), before, 'nothing journaled');
    assert.deepEqual(fs.readFileSync(path.join(ws.dir, 'seen.txt'), 'utf8').trim().split('\n'), ['cli']);
    const plain = cli(ws, 'resume', '--yes', '--retry', '--var', 'X=plan');
    assert.equal(plain.status, 2, 'the plan\u2019s own value is another value too');
    const same = cli(ws, 'resume', '--yes', '--retry', '--var', 'X=cli');
    assert.equal(same.status, 0, same.stdout + same.stderr);
  });

  it('a run started without --var refuses one on resume, and goes on with the plan\u2019s value', async () => {
    const { ws } = await interruptedWith();
    const r = cli(ws, 'resume', '--yes', '--retry', '--var', 'X=late');
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /X: run \S+ started with "plan", this resume gives "late"/);
    assert.equal(cli(ws, 'resume', '--yes', '--retry').status, 0);
    assert.deepEqual(fs.readFileSync(path.join(ws.dir, 'seen.txt'), 'utf8').trim().split('\n'), ['plan', 'plan']);
  });

  it('a secret override is journaled by name and hash only; a resume must give it again, and a different one is refused without either value', async () => {
    const { ws, id } = await interruptedWith('--var', `X=${TOKEN}`);
    const text = fs.readFileSync(journalOf(ws, id), 'utf8');
    assert.ok(!text.includes(TOKEN), 'the secret is not in the journal');
    const inputs = started(ws, id).inputs as { overrides: Record<string, { sha256?: string }> };
    assert.match(inputs.overrides.X.sha256 ?? '', /^[0-9a-f]{64}$/);
    const bare = cli(ws, 'resume', '--yes', '--retry');
    assert.equal(bare.status, 2, bare.stdout + bare.stderr);
    assert.match(bare.stderr, /X: run \S+ started with a secret \(sha256 [0-9a-f]{12}…\), which the journal does not hold; give it again/);
    const other = cli(ws, 'resume', '--yes', '--retry', '--var', `X=${TOKEN}-2`);
    assert.equal(other.status, 2);
    assert.ok(!other.stderr.includes(TOKEN) && !other.stdout.includes(TOKEN), other.stderr);
    const same = cli(ws, 'resume', '--yes', '--retry', '--var', `X=${TOKEN}`);
    assert.equal(same.status, 0, same.stdout + same.stderr);
    const report = fs.readFileSync(path.join(ws.dir, '.release/runs', id, 'report.md'), 'utf8');
    assert.ok(!report.includes(TOKEN));
    assert.match(report, /Inputs\W+--var X=a secret \(sha256 [0-9a-f]{12}…\)/);
  });
});
