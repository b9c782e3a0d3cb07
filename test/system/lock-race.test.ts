import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { LockHeldError, ReleaseLock } from '../../src/core/journal/journal';
import { tempDir } from '../support/helpers';

/**
 * The release lock's takeover of a dead holder, raced by real processes: this bundle is also the racer
 * (run with LOCK_RACER=1, it takes the lock named on each line of its input at the time given there).
 */
interface Round {
  round: number;
  file: string;
  at: number;
}
interface Outcome {
  round: number;
  worker: number;
  pid: number;
  won?: boolean;
  heldBy?: number;
  error?: string;
}

function racer(): void {
  const worker = Number(process.env.LOCK_RACER);
  const kept: ReleaseLock[] = [];
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const r = JSON.parse(line) as Round;
    // Spin to the agreed moment, so the ten start their takeovers within the same millisecond or so.
    while (Date.now() < r.at);
    const out: Outcome = { round: r.round, worker, pid: process.pid };
    try {
      // Kept, never released: a winner that let go at once would let a slow racer create the lock afresh.
      kept.push(ReleaseLock.acquire(r.file, { user: 'racer', holder: `racer ${worker}`, runId: `run-${r.round}` }));
      out.won = true;
    } catch (e) {
      if (e instanceof LockHeldError) out.heldBy = e.info.pid;
      else out.error = (e as Error).message;
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  });
}

/** This boot's id and the start (clock ticks after boot) of a live process, as /proc gives them. */
const boot = () => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
function ticksOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}
const lockOf = (pid: number, extra: object = {}) =>
  JSON.stringify({ pid, host: os.hostname(), user: 'ghost', holder: 'CLI', runId: 'r0', since: '2026-01-01T00:00:00Z', ...extra });

if (process.env.LOCK_RACER) racer();
else
  describe('release lock: a stale lock is taken over by exactly one process', function () {
    this.timeout(240_000);

    it('10 processes race on a stale lock, 50 times: one wins each time, the others are told who holds it', async () => {
      const WORKERS = 10;
      const ROUNDS = 50;
      const workers: ChildProcessWithoutNullStreams[] = [];
      const outcomes: Outcome[] = [];
      const waiting: (() => void)[] = [];
      for (let i = 0; i < WORKERS; i++) {
        const w = spawn(process.execPath, [__filename], { env: { ...process.env, LOCK_RACER: String(i) } });
        w.stderr.on('data', (d) => process.stderr.write(d));
        readline.createInterface({ input: w.stdout }).on('line', (line) => {
          outcomes.push(JSON.parse(line) as Outcome);
          waiting.splice(0).forEach((f) => f());
        });
        workers.push(w);
      }
      const dir = tempDir();
      const dead = spawnSync('true').pid;
      const failures: string[] = [];
      try {
        for (let round = 0; round < ROUNDS; round++) {
          const file = path.join(dir, `lock-${round}`);
          fs.writeFileSync(file, lockOf(dead));
          // Far enough ahead for every racer, on a loaded machine, to have read its line before it.
          const at = Date.now() + 150;
          for (const w of workers) w.stdin.write(JSON.stringify({ round, file, at } satisfies Round) + '\n');
          const deadline = Date.now() + 30_000;
          while (outcomes.filter((o) => o.round === round).length < WORKERS && Date.now() < deadline)
            await new Promise<void>((r) => {
              waiting.push(r);
              // Waits for the worker processes: each answer wakes this at once; the timer only looks at the deadline again.
              setTimeout(r, 1000);
            });
          const mine = outcomes.filter((o) => o.round === round);
          const winners = mine.filter((o) => o.won);
          const holder = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number };
          if (mine.length !== WORKERS) failures.push(`round ${round}: ${mine.length} answers`);
          else if (winners.length !== 1) failures.push(`round ${round}: ${winners.length} winners (${winners.map((w) => w.pid).join(', ')})`);
          else if (holder.pid !== winners[0].pid) failures.push(`round ${round}: the lock names ${holder.pid}, the winner is ${winners[0].pid}`);
          else {
            const wrong = mine.filter((o) => !o.won && o.heldBy !== winners[0].pid);
            if (wrong.length) failures.push(`round ${round}: losers not told the winner: ${JSON.stringify(wrong)}`);
          }
        }
      } finally {
        for (const w of workers) w.kill('SIGKILL');
      }
      assert.deepEqual(failures, []);
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => !/^lock-\d+$/.test(f)),
        [],
        'no takeover or temporary file is left behind',
      );
    });

    it('a lock whose pid is alive but started at another time (the pid was handed out again) is taken over', () => {
      const dir = tempDir();
      const file = path.join(dir, 'lock');
      const other = spawn('sleep', ['60'], { stdio: 'ignore' });
      try {
        fs.writeFileSync(file, lockOf(other.pid!, { start: { ticks: ticksOf(other.pid!) - 1, boot: boot() } }));
        const lock = ReleaseLock.acquire(file, { user: 'me', holder: 'test', runId: 'r1' });
        assert.equal(lock.tookOver?.pid, other.pid);
        assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).pid, process.pid);
        lock.release();
      } finally {
        other.kill('SIGKILL');
      }
    });

    it("a lock recorded in another boot by a process with this very pid is taken over (a reboot handed this process the holder's pid)", () => {
      const dir = tempDir();
      const file = path.join(dir, 'lock');
      fs.writeFileSync(file, lockOf(process.pid, { start: { ticks: ticksOf(process.pid), boot: '00000000-0000-0000-0000-000000000000' } }));
      const lock = ReleaseLock.acquire(file, { user: 'me', holder: 'test', runId: 'r1' });
      assert.equal(lock.tookOver?.pid, process.pid);
      lock.release();
      assert.ok(!fs.existsSync(file));
    });

    it('a live holder with its own start keeps its lock (the control)', () => {
      const dir = tempDir();
      const file = path.join(dir, 'lock');
      const other = spawn('sleep', ['60'], { stdio: 'ignore' });
      try {
        fs.writeFileSync(file, lockOf(other.pid!, { start: { ticks: ticksOf(other.pid!), boot: boot() } }));
        assert.throws(
          () => ReleaseLock.acquire(file, { user: 'me', holder: 'test', runId: 'r1' }),
          (e: unknown) => e instanceof LockHeldError && e.info.pid === other.pid,
        );
      } finally {
        other.kill('SIGKILL');
      }
    });

    it('a takeover left unfinished by a process that died is itself stale: the lock is still taken', () => {
      const dir = tempDir();
      const file = path.join(dir, 'lock');
      const dead = spawnSync('true').pid;
      fs.writeFileSync(file, lockOf(dead));
      // The first taker created its takeover file (named after the stale lock's content) and died before replacing the lock.
      const hash = crypto.createHash('sha256').update(fs.readFileSync(file, 'utf8')).digest('hex').slice(0, 16);
      fs.writeFileSync(`${file}.takeover-${hash}`, lockOf(spawnSync('true').pid, { holder: 'dead taker' }));
      const lock = ReleaseLock.acquire(file, { user: 'me', holder: 'test', runId: 'r1' });
      assert.equal(lock.tookOver?.pid, dead);
      lock.release();
      assert.deepEqual(fs.readdirSync(dir), []);
    });
  });
