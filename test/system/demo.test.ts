import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../support/helpers';
import { processesIn } from '../support/processes';
import { countTraffic } from '../support/traffic';
import { waitFor } from '../support/waitFor';

function demo(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'examples', 'demo', 'run-demo.mjs'), '--keep', ...args], { encoding: 'utf8', timeout: 170_000 });
  const dir = /\[demo\]\S* workspace (\S+)/.exec(r.stdout)?.[1];
  assert.ok(dir, `the demo printed its workspace:\n${r.stdout}\n${r.stderr}`);
  return { ...r, dir };
}

/** The demo's count of its writes ("acknowledged writes: N, present[ after rollback]: P, lost: L"), parsed from its output. */
function writesOf(out: string) {
  const m = /acknowledged writes: (\d+), present( after rollback)?: (\d+), lost: (\d+)/.exec(out);
  assert.ok(m, `the demo counted its writes:\n${out.slice(-3000)}`);
  return { acknowledged: Number(m[1]), afterRollback: Boolean(m[2]), present: Number(m[3]), lost: Number(m[4]) };
}

describe('the demo release through the CLI (a real service, database and traffic)', function () {
  this.timeout(180_000);

  it('releases v1.1.0: exit 0, green serves, the database is migrated, every acknowledged order is there, nothing left running', () => {
    const r = demo();
    try {
      assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr);
      assert.match(r.stdout, /■ released: every phase passed/);
      assert.match(r.stdout, /- \*\*Core API\*\*: 200 OK\n- \*\*Monitoring\*\*: Normal/);
      assert.match(r.stdout, /- \*\*New\*\*: db: orders carry a delivery note/);
      assert.match(
        r.stdout,
        /traffic is on green; database schema version 2 \(orders columns: id, customer, total_cents, note\); 40\/40 requests answer 200 now/,
      );
      const writes = writesOf(r.stdout);
      assert.ok(writes.acknowledged > 0, `the traffic wrote orders: ${JSON.stringify(writes)}`);
      assert.deepEqual(writes, { acknowledged: writes.acknowledged, afterRollback: false, present: writes.acknowledged, lost: 0 });
      const runs = path.join(r.dir, '.release', 'runs');
      const report = fs.readFileSync(path.join(runs, fs.readdirSync(runs)[0], 'report.md'), 'utf8');
      assert.match(report, /- \*\*Rollback Triggered\*\*: No/);
      assert.deepEqual(processesIn(r.dir), []);
    } finally {
      fs.rmSync(r.dir, { recursive: true, force: true });
    }
  });

  it('--bad: the monitor catches the error spike, rolls the code back and keeps every acknowledged order, exit 3, nothing left running', () => {
    const r = demo('--bad');
    try {
      // Every order the service acknowledged is still there after the rollback (the demo read each one back).
      const writes = writesOf(r.stdout);
      assert.ok(writes.acknowledged > 0, `the traffic wrote orders: ${JSON.stringify(writes)}`);
      assert.deepEqual(writes, { acknowledged: writes.acknowledged, afterRollback: true, present: writes.acknowledged, lost: 0 });
      assert.equal(r.status, 3, r.stdout.slice(-3000) + r.stderr);
      assert.match(r.stdout, /⟲ Rollback \(guard\): error_rate: [\d.]+ is above the maximum 0\.0200 for 3 sample\(s\) in a row/);
      assert.match(r.stdout, /- \*\*Rollback Triggered\*\*: Yes\n- \*\*Reason \(if Yes\)\*\*: error\\_rate: /);
      assert.match(r.stdout, /- \*\*Trigger → Rollback Start\*\*: \d+ ms \(trigger: guard\)/);
      // A code-only rollback: the additive migration stays (1.0.0 runs on it), and with it every order written since the release.
      assert.match(
        r.stdout,
        /traffic is on blue; database schema version 2 \(orders columns: id, customer, total_cents, note\); 40\/40 requests answer 200 now/,
      );
      assert.match(r.stdout, /baseline error_rate: 0\.00 ± 0\.00 from \d+ sample/, 'production was healthy before the release');
      assert.deepEqual(processesIn(r.dir), []);
    } finally {
      fs.rmSync(r.dir, { recursive: true, force: true });
    }
  });
});

interface DemoEnv {
  dir: string;
  ports: { ROUTER_PORT: number; BLUE_PORT: number; GREEN_PORT: number };
  start(): Promise<DemoEnv>;
  stop(): Promise<void>;
  remove(): void;
  git(...args: string[]): void;
  summary(): { active: string; schema: number; columns: string[] };
  stopTraffic(): Promise<{ acknowledged: number; present: number; lost: number; afterRollback: boolean; line: string }>;
}

/** Runs the CLI without blocking the event loop (the traffic counter runs meanwhile). */
function cliAsync(cwd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('the demo: a rollback started after the release finished (real service, router, traffic)', function () {
  this.timeout(240_000);

  it('leaves every request answering 200, during the rollback and after it (each request counted), and every acknowledged order', async () => {
    const { DemoEnvironment } = (await import(pathToFileURL(path.join(ROOT, 'examples', 'demo', 'environment.mjs')).href)) as {
      DemoEnvironment: new (o?: object) => DemoEnv;
    };
    const env = await new DemoEnvironment().start();
    try {
      // The demo's 45 s monitoring window, shortened for the test; the release is otherwise the demo's.
      const planFile = path.join(env.dir, '.release', 'plan.yaml');
      fs.writeFileSync(planFile, fs.readFileSync(planFile, 'utf8').replace('window: 45s', 'window: 12s').replace('capture: 8s', 'capture: 4s'));
      env.git('commit', '-qam', 'chore: a shorter monitoring window for the test');
      env.git('tag', '-f', 'v1.1.0');
      const vars = ['--var', `ROUTER_PORT=${env.ports.ROUTER_PORT}`, '--plan', planFile];
      const released = await cliAsync(env.dir, ['run', '--yes', '--tick', 'on-call', ...vars]);
      assert.equal(released.code, 0, released.out.slice(-3000));
      assert.equal(env.summary().active, 'green');

      const traffic = countTraffic(env.ports.ROUTER_PORT);
      const counted = () => Object.values(traffic.codes).reduce((a, b) => a + b, 0);
      // Requests answered through the router before the rollback starts, and again after it ended.
      assert.ok(await waitFor(() => counted() >= 50, 20_000), `requests before the rollback: ${JSON.stringify(traffic.codes)}`);
      const rolled = await cliAsync(env.dir, ['rollback', '--yes', '--reason', 'customers report wrong totals', ...vars]);
      const atEnd = counted();
      assert.ok(await waitFor(() => counted() >= atEnd + 50, 20_000), `requests after the rollback: ${JSON.stringify(traffic.codes)}`);
      await traffic.stop();
      assert.equal(rolled.code, 3, rolled.out.slice(-3000));
      const total = counted();
      const non200 = total - (traffic.codes[200] ?? 0);
      assert.ok(total >= 100, `enough requests counted: ${JSON.stringify(traffic.codes)}`);
      assert.equal(non200, 0, `every request answered 200: ${JSON.stringify(traffic.codes)}`);
      const runs = path.join(env.dir, '.release', 'runs');
      const journal = fs
        .readFileSync(path.join(runs, fs.readdirSync(runs)[0], 'journal.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const ensured = journal.find((e) => e.type === 'step.finished' && e.step === 'rollback/0');
      assert.match(ensured?.tail ?? '', /^blue is up \(1\.0\.0\)$/m, 'the old colour was still running: the rollback was a switch, not a restart');
      const after = env.summary();
      assert.equal(after.active, 'blue');
      assert.equal(after.schema, 2, 'a code-only rollback: the additive migration stays');
      const writes = await env.stopTraffic();
      assert.ok(writes.acknowledged > 0, writes.line);
      assert.match(writes.line, /^acknowledged writes: \d+, present after rollback: \d+, lost: 0$/);
      assert.equal(writes.present, writes.acknowledged, writes.line);
      assert.match(rolled.out, /- \*\*Rollback Duration\*\*: \d+(\.\d)? m?s \(budget 5 min\)/);
    } finally {
      await env.stop();
      const dir = env.dir;
      env.remove();
      assert.deepEqual(processesIn(dir), []);
    }
  });
});
