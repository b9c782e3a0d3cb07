import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { gitRepo, ROOT, write } from '../support/helpers';
import { copyWorkspace, smallPlan, workspace, type Workspace } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** A committed workspace the CLI can release from. */
function repo(planText = smallPlan()): Workspace {
  const ws = workspace(planText);
  write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n*.pid\n');
  const git = gitRepo(ws.dir);
  git('add', '-A');
  git('commit', '-qm', 'feat: orders');
  git('tag', 'v1.0.0');
  return ws;
}

/** The CLI run in the background; resolves with its exit code, signal, output and how long it took. */
function cliAsync(ws: Workspace, args: string[], onStart: (pid: number) => void = () => {}) {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args, '--plan', ws.planFile], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  onStart(child.pid!);
  // Waits for the CLI to end: one that spins is ended at 15 s, so the test fails rather than hangs.
  const stuck = setTimeout(() => child.kill('SIGKILL'), 15_000);
  child.on('close', () => clearTimeout(stuck));
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; ms: number }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, out, ms: Date.now() - started })),
  );
}

/** A committed workspace the CLI released from once: released once per file, each test takes a copy. */
function released(): Workspace {
  if (releasedOnce) return releasedOnce;
  const ws = repo();
  const first = spawnSync(process.execPath, [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], { cwd: ws.dir, encoding: 'utf8' });
  assert.equal(first.status, 0, first.stdout + first.stderr);
  return (releasedOnce = ws);
}
let releasedOnce: Workspace | undefined;

describe('resources: the CLI and its steps stay bounded', function () {
  this.timeout(60_000);

  describe('a lock path that is not a lock file', () => {
    const kinds: Array<[string, (lock: string, dir: string) => void, RegExp]> = [
      ['a directory', (lock) => fs.mkdirSync(lock), /is a directory, not a lock file/],
      ['a fifo', (lock) => spawnSync('mkfifo', [lock]), /is a fifo, not a lock file/],
      [
        'a symbolic link to a directory',
        (lock, dir) => {
          fs.mkdirSync(path.join(dir, 'elsewhere'));
          fs.symlinkSync(path.join(dir, 'elsewhere'), lock);
        },
        /is a symbolic link to a directory, not a lock file/,
      ],
    ];
    for (const [kind, make, said] of kinds) {
      for (const command of ['run', 'rollback']) {
        it(`${command} refuses a lock that is ${kind} within 2 s, naming it`, async () => {
          const ws = command === 'rollback' ? copyWorkspace(released()) : repo();
          const lock = path.join(ws.dir, '.release/lock');
          make(lock, ws.dir);
          const r = await cliAsync(ws, command === 'run' ? ['run', '--yes', '--tick', 'sign-off'] : ['rollback', '--yes']);
          assert.ok(r.ms < 2000 + 1500, `took ${r.ms} ms (node's own start counted): ${r.out}`);
          assert.notEqual(r.code, 0, r.out);
          assert.match(r.out, said);
          assert.match(r.out, /\.release\/lock/);
          assert.deepEqual(
            fs.readdirSync(path.join(ws.dir, '.release')).filter((f) => f.endsWith('.tmp')),
            [],
            'no temporary lock file is left behind',
          );
        });
      }
    }

    it('a run facing a directory lock obeys SIGTERM at once', async () => {
      const ws = repo();
      fs.mkdirSync(path.join(ws.dir, '.release/lock'));
      let pid = 0;
      const done = cliAsync(ws, ['run', '--yes', '--tick', 'sign-off'], (p) => (pid = p));
      // Waits for the real CLI's start (a few hundred ms on a busy machine), so the signal finds it at the lock or gone.
      await new Promise((r) => setTimeout(r, 1200));
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already refused and gone
      }
      const r = await done;
      assert.ok(r.ms < 4000, `took ${r.ms} ms`);
      assert.ok(r.code !== 0 || r.signal !== null, r.out);
    });
  });

  describe('output through a slow pipe', () => {
    it('schema, --help, history --json of 1,000 runs and report reach a reader that starts after 1 s whole', async () => {
      const ws = copyWorkspace(released());
      const runs = path.join(ws.dir, '.release/runs');
      const [id] = fs.readdirSync(runs);
      for (let i = 0; i < 999; i++) fs.cpSync(path.join(runs, id), path.join(runs, `20250101-${String(100000 + i)}-r${i}`), { recursive: true });
      const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
      const base = [process.execPath, CLI].map(q).join(' ');
      const commands = ['schema', '--help', `history --json --plan ${q(ws.planFile)}`, `report ${id} --plan ${q(ws.planFile)}`];
      for (const c of commands) {
        const direct = spawnSync('bash', ['-c', `${base} ${c} > direct.out; echo $?`], { cwd: ws.dir, encoding: 'utf8' });
        // The reader is a real process that waits 1 s before it reads: the CLI must not exit with output unwritten.
        const piped = spawnSync('bash', ['-c', `set -o pipefail; ${base} ${c} | (sleep 1; cat > piped.out); echo $?`], { cwd: ws.dir, encoding: 'utf8' });
        const want = fs.readFileSync(path.join(ws.dir, 'direct.out'));
        const got = fs.readFileSync(path.join(ws.dir, 'piped.out'));
        assert.ok(want.length > 65536 || c !== 'schema', `${c}: ${want.length} bytes`);
        assert.equal(got.length, want.length, `${c}: ${got.length} of ${want.length} bytes`);
        assert.ok(got.equals(want), c);
        assert.equal(piped.stdout.trim(), direct.stdout.trim(), c);
        if (c.startsWith('history')) assert.equal((JSON.parse(got.toString()) as unknown[]).length, 1000);
      }
    });
  });
});
