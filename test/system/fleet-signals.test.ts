import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../support/helpers';
import { processesIn, processesWhere } from '../support/processes';
import { waitFor } from '../support/waitFor';

// The fleet of examples/fleet stopped mid-rollout by a signal to the CLI, with Ansible's SSH
// connection sharing on (ControlPersist: masters that leave the session and rewrite their title over
// the environment the step's mark was in): after SIGTERM, SIGINT and kill -9, no process of the
// release is left 10 s later. One fleet for the three: each stop is rolled back before the next.

interface Fleet {
  dir: string;
  env: NodeJS.ProcessEnv;
  ports: { HAPROXY_PORT: number };
  prometheusUrl: string;
  start(): Promise<Fleet>;
  stop(): Promise<void>;
  remove(): void;
  versions(): Record<string, string>;
  haproxyServers(): Record<string, { status: string; weight: number }>;
}
type FleetModule = { FleetEnvironment: new (o?: object) => Fleet };
const fleetModule = (): Promise<FleetModule> => import(pathToFileURL(path.join(ROOT, 'examples', 'fleet', 'environment.mjs')).href) as Promise<FleetModule>;

function cli(fleet: Fleet, args: string[]): { done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>; pid: number } {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), ...args], { cwd: fleet.dir, env: fleet.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  return { pid: child.pid!, done: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out }))) };
}

const runsDir = (fleet: Fleet) => path.join(fleet.dir, '.release', 'runs');
const newestRun = (fleet: Fleet) => fs.readdirSync(runsDir(fleet)).sort().pop()!;

/** The marks of every step and command the workspace's releases ran (their journals' step.running events). */
function marks(fleet: Fleet): string[] {
  const out = new Set<string>();
  for (const run of fs.existsSync(runsDir(fleet)) ? fs.readdirSync(runsDir(fleet)) : []) {
    const file = path.join(runsDir(fleet), run, 'journal.jsonl');
    if (fs.existsSync(file)) for (const m of fs.readFileSync(file, 'utf8').matchAll(/"type":"step\.running"[^\n]*?"mark":"([^"]+)"/g)) out.add(m[1]);
  }
  return [...out];
}

/** The cgroup2 mount (the folder under which release-pilot/<mark> cgroups are made). */
const cgroupMount = /^\S+ (\S+) cgroup2 /m.exec(fs.readFileSync('/proc/mounts', 'utf8'))?.[1];

/**
 * Every process of the release still there, found three ways and printed by how: in a cgroup named by
 * one of its steps' marks, carrying a mark in its environment, or an SSH master on the workspace's
 * ControlPath. The fleet's own processes (sshd and the sessions it serves, services, HAProxy,
 * Prometheus, the load) are in none of these.
 */
function releaseProcesses(fleet: Fleet): string[] {
  const ms = marks(fleet);
  const found: string[] = [];
  for (const mark of ms) {
    const procs = cgroupMount ? path.join(cgroupMount, 'release-pilot', mark, 'cgroup.procs') : '';
    if (procs && fs.existsSync(procs))
      for (const pid of fs.readFileSync(procs, 'utf8').split('\n').filter(Boolean)) {
        let cmd = '';
        try {
          cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        } catch {
          // ended meanwhile
        }
        found.push(`cgroup ${mark}: ${pid} ${cmd}`);
      }
  }
  const needles = ms.map((m) => `RELEASE_PILOT_STEP=${m}\0`);
  for (const p of processesWhere((p) => {
    if (p.pid === process.pid) return false;
    try {
      const env = fs.readFileSync(`/proc/${p.pid}/environ`, 'latin1');
      return needles.some((n) => env.startsWith(n) || env.includes(`\0${n}`));
    } catch {
      return false;
    }
  }))
    found.push(`mark: ${p}`);
  const cp = path.join(fleet.dir, 'state', 'ansible', 'cp');
  for (const p of processesWhere((p) => p.cmd.includes(cp))) found.push(`ControlPath: ${p}`);
  return found;
}

/** The SSH masters Ansible keeps (ControlPersist) on the workspace's ControlPath. */
const masters = (fleet: Fleet) => processesWhere((p) => p.cmd.includes(path.join(fleet.dir, 'state', 'ansible', 'cp')) && /\[mux\]/.test(p.cmd));

describe('the fleet stopped mid-rollout by a signal to the CLI, SSH masters kept by ControlPersist (real sshd, HAProxy, Ansible, Prometheus)', function () {
  this.timeout(600_000);
  let f: Fleet;
  before(async function () {
    this.timeout(120_000);
    const { FleetEnvironment } = await fleetModule();
    f = new FleetEnvironment({ monitoringWindow: '6s', baselineCapture: '3s' });
    await f.start();
  });
  after(async () => {
    if (!f?.dir) return;
    await f.stop();
    const left = processesIn(f.dir);
    if (!left.length && !process.env.FLEET_KEEP) f.remove();
    assert.deepEqual(left, [], `every process of the fleet ended (workspace kept: ${f.dir})`);
  });

  it('a playbook run through tools/playbook.sh leaves no SSH master behind, where ansible-playbook alone leaves one per host', () => {
    assert.match(fs.readFileSync(path.join(f.dir, 'ansible', 'ansible.cfg'), 'utf8'), /^ssh_args = .*-o ControlPersist=\d+s/m, 'ControlPersist is on');
    // precheck.yml has no play that closes the connections: what is left after it is the wrapper's to close.
    const bare = spawnSync('ansible-playbook', ['-i', 'state/inventory.ini', 'ansible/precheck.yml'], {
      cwd: f.dir,
      env: f.env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(bare.status, 0, bare.stdout + bare.stderr);
    assert.equal(masters(f).length, 4, `ansible-playbook alone: ${masters(f).join('\n')}`);
    const wrapped = spawnSync(path.join(f.dir, 'tools', 'playbook.sh'), ['-i', 'state/inventory.ini', 'ansible/precheck.yml'], {
      cwd: f.dir,
      env: f.env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(wrapped.status, 0, wrapped.stdout + wrapped.stderr);
    assert.deepEqual(masters(f), [], 'tools/playbook.sh closed every master');
  });

  it('SIGTERM, SIGINT and kill -9 of the CLI mid-rollout: no process of the release is left 10 s later; each stop rolls back to every host on 1.0.0 and UP', async () => {
    const vars = ['--var', `HAPROXY_PORT=${f.ports.HAPROXY_PORT}`, '--var', `PROMETHEUS_URL=${f.prometheusUrl}`];
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGKILL'] as const) {
      const releasing = cli(f, ['run', '--plan', path.join(f.dir, '.release', 'plan.yaml'), '--yes', '--tick', 'on-call', ...vars]);
      // Mid-rollout: h1 runs 1.1.0 and Ansible holds SSH masters open (ControlPersist).
      const mid = await waitFor(() => f.versions().h1 === '1.1.0' && masters(f).length > 0, 180_000, 100);
      assert.ok(mid, `${signal}: h1 switched with an SSH master open: ${releaseProcesses(f).join('\n')}`);
      const before = releaseProcesses(f);
      process.kill(releasing.pid, signal);
      const stopped = await releasing.done;
      const at = Date.now();
      // Waits for the release's processes to end (10 s at most).
      const none = await waitFor(() => releaseProcesses(f).length === 0, 10_000, 100);
      const left = releaseProcesses(f);
      console.log(`      ${signal}: ${before.length} process(es) of the release before it; none left after ${Date.now() - at} ms`);
      assert.ok(
        none,
        `${signal} (exit ${stopped.code ?? stopped.signal}): still running 10 s later:\n${left.join('\n')}\nbefore the signal:\n${before.join('\n')}`,
      );
      // Back to production as it was for the next stop: the stopped release rolled back.
      const back = await cli(f, ['rollback', newestRun(f), '--yes']).done;
      assert.deepEqual(f.versions(), { h1: '1.0.0', h2: '1.0.0', h3: '1.0.0', h4: '1.0.0' }, `${signal}: rolled back\n${back.out.slice(-3000)}`);
      const servers = f.haproxyServers();
      for (const name of ['h1', 'h2', 'h3', 'h4'])
        assert.equal(servers[name]?.status, 'UP', `${signal}: ${name} takes traffic again: ${JSON.stringify(servers)}`);
      assert.deepEqual(releaseProcesses(f), [], `${signal}: nothing of the rollback left running, no SSH master either`);
    }
  });
});
