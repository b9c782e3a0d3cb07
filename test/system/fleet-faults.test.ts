import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../support/helpers';
import { processesIn } from '../support/processes';
import { waitFor } from '../support/waitFor';

// The fleet of examples/fleet under faults, against the real programs (four sshd hosts, HAProxy,
// Ansible, Prometheus, the load generator): a host SSH cannot reach mid-rollout, a hung host, a
// release stopped in the middle of a host's switch.

interface LoadCounts {
  latencyMs: { count: number; p50: number; p99: number; max: number };
  longestSilence: { ms: number; from?: string; to?: string };
  counts: Record<string, { requests: number; non2xx: number; connErrors: number; byServer: Record<string, { ok: number; failed: number }> }>;
}
interface Fleet {
  dir: string;
  env: NodeJS.ProcessEnv;
  sock: string;
  ports: { HAPROXY_PORT: number };
  prometheusUrl: string;
  hosts: { name: string; addr: string; root: string; servicePort: number }[];
  start(): Promise<Fleet>;
  stop(): Promise<void>;
  remove(): void;
  stopLoad(): Promise<LoadCounts | undefined>;
  reset(): Promise<void>;
  loadCounts(): LoadCounts | undefined;
  versions(): Record<string, string>;
  haproxyServers(): Record<string, { status: string; weight: number }>;
}
type FleetModule = { FleetEnvironment: new (o?: object) => Fleet };
const fleetModule = (): Promise<FleetModule> => import(pathToFileURL(path.join(ROOT, 'examples', 'fleet', 'environment.mjs')).href) as Promise<FleetModule>;

function cli(fleet: Fleet, args: string[]): { done: Promise<{ code: number | null; out: string }>; pid: number } {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), ...args], { cwd: fleet.dir, env: fleet.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  return { pid: child.pid!, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, out }))) };
}

function release(fleet: Fleet) {
  const plan = path.join(fleet.dir, '.release', 'plan.yaml');
  const vars = ['--var', `HAPROXY_PORT=${fleet.ports.HAPROXY_PORT}`, '--var', `PROMETHEUS_URL=${fleet.prometheusUrl}`];
  return cli(fleet, ['run', '--plan', plan, '--yes', '--tick', 'on-call', ...vars]);
}

function newestRun(fleet: Fleet): string | undefined {
  const runs = path.join(fleet.dir, '.release', 'runs');
  const last = fs.existsSync(runs) ? fs.readdirSync(runs).sort().pop() : undefined;
  return last ? path.join(runs, last) : undefined;
}

function journal(fleet: Fleet): Record<string, unknown>[] {
  const run = newestRun(fleet);
  if (!run || !fs.existsSync(path.join(run, 'journal.jsonl'))) return [];
  return fs
    .readFileSync(path.join(run, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The pid and every descendant of it (read from /proc): an sshd and the sessions it serves. */
function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      parent.set(Number(p), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // ended meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parent) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

async function stopAndCheck(fleet: Fleet) {
  if (!fleet.dir) return;
  await fleet.stop();
  const left = processesIn(fleet.dir);
  if (!left.length && !process.env.FLEET_KEEP) fleet.remove();
  assert.deepEqual(left, [], `every process of the fleet ended (workspace kept: ${fleet.dir})`);
}

describe('the fleet under faults, one fleet with production reset between (real sshd, HAProxy, Ansible, Prometheus)', function () {
  this.timeout(240_000);
  let f: Fleet;
  let first = true;
  before(async function () {
    this.timeout(120_000);
    const { FleetEnvironment } = await fleetModule();
    f = new FleetEnvironment({ monitoringWindow: '6s', baselineCapture: '3s' });
    await f.start();
  });
  // The fleet as it started: sshd, versions, services, HAProxy weights and the load, all reset.
  beforeEach(async function () {
    this.timeout(120_000);
    if (!first) await f.reset();
    first = false;
    assert.deepEqual(f.versions(), { h1: '1.0.0', h2: '1.0.0', h3: '1.0.0', h4: '1.0.0' }, 'every host on 1.0.0');
    const servers = f.haproxyServers();
    for (const name of ['h1', 'h2', 'h3', 'h4'])
      assert.deepEqual([name, servers[name]?.status, servers[name]?.weight], [name, 'UP', 100], `${name} takes traffic`);
  });
  after(() => stopAndCheck(f));

  it("h3's sshd gone before its turn: every other host rolled back, h3 back in traffic on the old version, the outcome names h3", async () => {
    const releasing = release(f);
    const h3 = f.hosts[2];
    // h1 switched to 1.1.0 and UP again: h3's sshd and every session it serves end (a host gone from the network for SSH).
    const killed = await waitFor(() => {
      if (f.versions().h1 !== '1.1.0' || f.haproxyServers().h1?.status !== 'UP') return false;
      const sshd = Number(fs.readFileSync(path.join(h3.root, 'ssh', 'sshd.pid'), 'utf8'));
      for (const pid of processTree(sshd)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // ended meanwhile
        }
      }
      return true;
    }, 150_000);
    assert.ok(killed, 'h1 switched and came back UP');
    const faultAt = Date.now();
    const r = await releasing.done;
    const tookMs = Date.now() - faultAt;
    const run = newestRun(f)!;
    const logs = fs.readdirSync(path.join(run, 'logs')).filter((n) => n.startsWith('rollback'));
    const why = `${r.out.slice(-3000)}\n${logs.map((n) => fs.readFileSync(path.join(run, 'logs', n), 'utf8').slice(-3000)).join('\n')}`;
    assert.equal(r.code, 3, why);
    const finished = journal(f).find((e) => e.type === 'rollback.finished')!;
    console.log(`      h3 unreachable → rollback done in ${tookMs} ms: ${String(finished.message)}`);
    assert.equal(finished.outcome, 'rolled-back', why);
    assert.deepEqual(finished.needsAttention, ['h3: unreachable over SSH; h3 serves 1.0.0 and takes traffic again'], why);
    assert.match(r.out, /rolled back except h3: unreachable over SSH; h3 serves 1\.0\.0 and takes traffic again/);
    assert.match(fs.readFileSync(path.join(run, 'report.md'), 'utf8'), /except h3: unreachable over SSH/);
    const announced = journal(f).filter((e) => e.type === 'announcement.sent');
    assert.ok(
      announced.some((e) =>
        /ROLLED BACK in .* except h3: unreachable over SSH; h3 serves 1\.0\.0 and takes traffic again; a person is needed there/.test(String(e.message)),
      ),
      JSON.stringify(announced),
    );
    assert.deepEqual(f.versions(), { h1: '1.0.0', h2: '1.0.0', h3: '1.0.0', h4: '1.0.0' });
    const servers = f.haproxyServers();
    for (const name of ['h1', 'h2', 'h3', 'h4']) assert.equal(servers[name]?.status, 'UP', `${name} takes traffic: ${JSON.stringify(servers)}`);
  });

  it('a hung host (its service stopped by SIGSTOP for 6 s): the users never wait 2 s without any answer', async () => {
    let hung: number | undefined;
    try {
      // Waits for 3 s of steady traffic first (the real load generator), then hangs h2 for 6 s.
      await new Promise((r) => setTimeout(r, 3000));
      hung = Number(fs.readFileSync(path.join(f.hosts[1].root, 'service.pid'), 'utf8'));
      process.kill(hung, 'SIGSTOP');
      const down = await waitFor(() => f.haproxyServers().h2?.status.startsWith('DOWN') === true, 10_000);
      assert.ok(down, 'HAProxy marked h2 down');
      // Waits for the hang to last 6 s in all, then for 3 s of traffic after it.
      await new Promise((r) => setTimeout(r, 5000));
      process.kill(hung, 'SIGCONT');
      hung = undefined;
      // Waits for 3 s of the real load generator's traffic after the hang.
      await new Promise((r) => setTimeout(r, 3000));
      const load = (await f.stopLoad())!;
      const failed = Object.values(load.counts).reduce((a, c) => a + c.non2xx + c.connErrors, 0);
      console.log(
        `      hung host: ${failed} failed requests; latency p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms, max ${load.latencyMs.max} ms; longest stretch without any answer ${load.longestSilence.ms} ms`,
      );
      assert.ok(load.longestSilence.ms < 2000, `longest stretch without an answer: ${JSON.stringify(load.longestSilence)}`);
      assert.ok(load.latencyMs.max < 2500, `no request waited out a long server timeout: ${JSON.stringify(load.latencyMs)}`);
    } finally {
      if (hung !== undefined) process.kill(hung, 'SIGCONT');
    }
  });
  it('SIGTERM of the release while h2 switches, then resume: h2 serves throughout its restart and the fleet ends released, every host UP', async () => {
    const releasing = release(f);
    const h2 = f.hosts[1];
    // h2's `current` points to 1.1.0 while h2 is still drained: its restart is under way; the CLI gets SIGTERM then.
    const switching = await waitFor(() => {
      if (f.versions().h2 !== '1.1.0') return false;
      process.kill(releasing.pid, 'SIGTERM');
      return true;
    }, 150_000);
    assert.ok(switching, 'h2 started its switch');
    const stopped = await releasing.done;
    assert.equal(stopped.code, 143, stopped.out.slice(-3000));
    // Whatever the stop cut, h2 answers its health check (the old or the new version) once its restart is over.
    const serves = async () => (await fetch(`http://${h2.addr}:${h2.servicePort}/health`).catch(() => undefined))?.status === 200;
    let up = false;
    for (const end = Date.now() + 15_000; !up && Date.now() < end;) {
      up = await serves();
      if (!up) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(up, 'h2 serves after the stop (the old or the new version): never left down');
    const runId = path.basename(newestRun(f)!);
    const resumed = await cli(f, ['resume', runId, '--retry', '--yes']).done;
    assert.equal(resumed.code, 0, resumed.out.slice(-4000));
    assert.deepEqual(f.versions(), { h1: '1.1.0', h2: '1.1.0', h3: '1.1.0', h4: '1.1.0' });
    const servers = f.haproxyServers();
    for (const name of ['h1', 'h2', 'h3', 'h4']) assert.equal(servers[name]?.status, 'UP', `${name} takes traffic: ${JSON.stringify(servers)}`);
  });
});
