import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../support/helpers';
import { processesIn } from '../support/processes';
import { waitFor } from '../support/waitFor';

// The fleet of examples/fleet against the real programs: four sshd hosts on 127.0.0.11…14, HAProxy
// with its runtime API in front, Prometheus, Ansible's playbooks and steady traffic through HAProxy.
// Nothing is skipped: a missing program fails the file, naming its Debian package.

interface PhaseCounts {
  requests: number;
  ok: number;
  non2xx: number;
  connErrors: number;
  byServer: Record<string, { ok: number; failed: number }>;
  byVersion: Record<string, number>;
  errors: unknown[];
}
interface LoadCounts {
  answered: number;
  achievedRps: number;
  counts: Record<string, PhaseCounts>;
  writesCheck: { acknowledged: number; line?: string; error?: string };
  longestSilence?: { ms: number };
}
interface Fleet {
  dir: string;
  rps: number;
  env: NodeJS.ProcessEnv;
  sock: string;
  inventory: string;
  prometheusUrl: string;
  ports: { HAPROXY_PORT: number; HAPROXY_METRICS_PORT: number; PROMETHEUS_PORT: number };
  hosts: { name: string; addr: string; root: string; sshPort: number; servicePort: number }[];
  start(): Promise<Fleet>;
  stop(): Promise<void>;
  remove(): void;
  stopLoad(): Promise<LoadCounts | undefined>;
  reset(): Promise<void>;
  loadCounts(): LoadCounts | undefined;
  versions(): Record<string, string>;
  haproxyServers(): Record<string, { status: string; weight: number; scur: number }>;
  run(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string };
  alivePids(): number[];
}
type FleetModule = { FleetEnvironment: new (o?: object) => Fleet; missingBinaries(): string[] };

const fleetModule = (): Promise<FleetModule> => import(pathToFileURL(path.join(ROOT, 'examples', 'fleet', 'environment.mjs')).href) as Promise<FleetModule>;

/** Runs the CLI without blocking the event loop, with the fleet's environment (Ansible's config and temp folders). */
function cli(fleet: Fleet, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), ...args], { cwd: fleet.dir, env: fleet.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Waits until the load generator (a real process, writing its counts every 0.5 s) has counted 100 more requests: traffic after what just ended. */
async function moreTraffic(fleet: Fleet): Promise<void> {
  const requests = () => {
    const load = fleet.loadCounts();
    return load ? total(load, 'requests') : 0;
  };
  const from = requests();
  assert.ok(await waitFor(() => requests() >= from + 100, 20_000), `the load generator counted ${requests() - from} more requests`);
}

function release(fleet: Fleet, ...more: string[]) {
  return releaseWith(fleet, 'plan.yaml', ...more);
}

function releaseWith(fleet: Fleet, plan: string, ...more: string[]) {
  return cli(fleet, [
    'run',
    '--plan',
    path.join(fleet.dir, '.release', plan),
    '--yes',
    '--tick',
    'on-call',
    '--var',
    `HAPROXY_PORT=${fleet.ports.HAPROXY_PORT}`,
    '--var',
    `PROMETHEUS_URL=${fleet.prometheusUrl}`,
    ...more,
  ]);
}

/** The release's output and, for a failure to read, the logs of its rollback steps (their stderr says why a step failed). */
function explain(fleet: Fleet, r: { out: string }): string {
  const runs = path.join(fleet.dir, '.release', 'runs');
  const last = fs.existsSync(runs) ? fs.readdirSync(runs).sort().pop() : undefined;
  const logs = last ? path.join(runs, last, 'logs') : '';
  const rollbackLogs =
    logs && fs.existsSync(logs)
      ? fs
          .readdirSync(logs)
          .filter((n) => n.startsWith('rollback'))
          .sort()
          .map((n) => `--- ${n}\n${fs.readFileSync(path.join(logs, n), 'utf8').slice(-2000)}`)
      : [];
  return `${r.out.slice(-4000)}\n${rollbackLogs.join('\n')}`;
}

/**
 * Every write HAProxy acknowledged is read back through it: the load generator's line
 * ("acknowledged writes: N, present[ after rollback]: P, lost: L"), parsed, with N > 0 and L = 0.
 */
function assertWritesKept(load: LoadCounts, afterRollback: boolean) {
  const line = load.writesCheck.line ?? '';
  const m = /^acknowledged writes: (\d+), present( after rollback)?: (\d+), lost: (\d+)$/.exec(line);
  assert.ok(m, `the load generator counted its writes: ${JSON.stringify(load.writesCheck)}`);
  const [n, present, lost] = [Number(m[1]), Number(m[3]), Number(m[4])];
  assert.ok(n > 0, `writes were acknowledged: ${line}`);
  assert.deepEqual({ afterRollback: Boolean(m[2]), present, lost }, { afterRollback, present: n, lost: 0 }, `${line} ${load.writesCheck.error ?? ''}`);
}

const total = (load: LoadCounts, key: 'requests' | 'non2xx' | 'connErrors') => Object.values(load.counts).reduce((a, c) => a + c[key], 0);
const failuresByPhase = (load: LoadCounts) =>
  Object.fromEntries(Object.entries(load.counts).map(([p, c]) => [p, { requests: c.requests, non2xx: c.non2xx, connErrors: c.connErrors, errors: c.errors }]));

function assertUntouched(fleet: Fleet) {
  assert.deepEqual(fleet.versions(), { h1: '1.0.0', h2: '1.0.0', h3: '1.0.0', h4: '1.0.0' }, 'no host changed version');
  for (const h of fleet.hosts) assert.ok(!fs.existsSync(path.join(h.root, 'releases', '1.1.0')), `nothing was installed on ${h.name}`);
  const servers = fleet.haproxyServers();
  for (const name of ['h1', 'h2', 'h3', 'h4'])
    assert.deepEqual([name, servers[name]?.status, servers[name]?.weight], [name, 'UP', 100], `${name} still takes traffic`);
}

/** Production as the fleet started it: every host on 1.0.0, UP in HAProxy at weight 100 (a release's files may be installed). */
function assertUntouchedRunning(fleet: Fleet) {
  assert.deepEqual(fleet.versions(), { h1: '1.0.0', h2: '1.0.0', h3: '1.0.0', h4: '1.0.0' }, 'every host on 1.0.0');
  const servers = fleet.haproxyServers();
  for (const name of ['h1', 'h2', 'h3', 'h4'])
    assert.deepEqual([name, servers[name]?.status, servers[name]?.weight], [name, 'UP', 100], `${name} takes traffic`);
}

async function stopAndCheck(fleet: Fleet | undefined) {
  if (!fleet?.dir) return;
  await fleet.stop();
  const dir = fleet.dir;
  const left = processesIn(dir);
  // FLEET_KEEP=1 keeps the workspace (journal, logs, load counts) to look at.
  if (!left.length && !process.env.FLEET_KEEP) fleet.remove();
  assert.deepEqual(left, [], `every process of the fleet ended (workspace kept: ${dir})`);
}

describe('the fleet: four sshd hosts behind HAProxy, released with Ansible (real sshd, HAProxy, Ansible, Prometheus)', function () {
  this.timeout(200_000);

  before(async () => {
    const missing = (await fleetModule()).missingBinaries();
    assert.deepEqual(missing, [], `the fleet tests need these programs: ${missing.join(', ')}`);
  });

  describe('one fleet: a host unreachable, HAProxy refusing, then a good release', () => {
    let fleet: Fleet | undefined;
    before(async () => {
      const { FleetEnvironment } = await fleetModule();
      fleet = new FleetEnvironment({ monitoringWindow: '6s', baselineCapture: '3s' });
      await fleet.start();
    });
    after(() => stopAndCheck(fleet));

    it('h4 unreachable over SSH: the release is refused at its checklist and the deploy playbook before any host is touched', async () => {
      const f = fleet!;
      const h4 = f.hosts[3];
      const sshdPid = Number(fs.readFileSync(path.join(h4.root, 'ssh', 'sshd.pid'), 'utf8'));
      process.kill(sshdPid, 'SIGTERM');
      const r = await release(f);
      assert.equal(r.code, 1, explain(f, r));
      assert.match(r.out, /Every host answers over SSH/);
      assert.match(r.out, /h4 \| UNREACHABLE!/);
      assert.doesNotMatch(r.out, /▶ Service deployment/, 'the deploy never started');
      // The playbook on its own refuses too: its pre-check fails on h4 and no host is drained or switched.
      const p = f.run('ansible-playbook', ['-i', f.inventory, 'ansible/deploy.yml', '-e', 'version=1.1.0']);
      assert.notEqual(p.status, 0, p.stdout);
      assert.match(p.stdout, /fatal: \[h4\]: UNREACHABLE!/);
      assert.doesNotMatch(p.stdout, /TASK \[(Drain|Unpack|Switch)/, 'no task past the pre-check ran');
      assertUntouched(f);
      // h4's sshd again, as the fleet had it, for the release below.
      const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(h4.root, 'ssh', 'sshd_config')], { detached: true, stdio: 'ignore' });
      sshd.unref();
      const load = f.loadCounts()!;
      assert.equal(total(load, 'non2xx') + total(load, 'connErrors'), 0, JSON.stringify(failuresByPhase(load)));
    });

    it('HAProxy refusing a command: the step fails loudly naming the refusal, nothing is half-switched', () => {
      const f = fleet!;
      const hap = path.join(f.dir, 'tools', 'haproxy.sh');
      const noServer = f.run(hap, [f.sock, 'set server orders/h9 state drain']);
      assert.equal(noServer.status, 1);
      assert.match(noServer.stderr, /HAProxy refused 'set server orders\/h9 state drain': No such server\./);
      const noSocket = f.run(hap, [path.join(f.dir, 'state', 'nothing.sock'), 'set server orders/h1 state drain']);
      assert.equal(noSocket.status, 1);
      assert.match(noSocket.stderr, /no HAProxy socket at /);
      // The playbook with a backend HAProxy does not have: it stops at the first refusal.
      const p = f.run('ansible-playbook', ['-i', f.inventory, 'ansible/deploy.yml', '-e', 'version=1.1.0', '-e', 'haproxy_backend=order']);
      assert.notEqual(p.status, 0, p.stdout);
      assert.match(p.stdout, /HAProxy has no server order\/h1/);
      assert.doesNotMatch(p.stdout, /TASK \[(Drain|Unpack|Switch)/, 'no task past the pre-check ran');
      assertUntouched(f);
      const load = f.loadCounts()!;
      assert.equal(total(load, 'non2xx') + total(load, 'connErrors'), 0, JSON.stringify(failuresByPhase(load)));
    });

    it('a good release through the CLI under load: exit 0, every host on 1.1.0, not one failed request, every acknowledged write stored', async () => {
      const f = fleet!;
      const r = await release(f, '--var', 'BATCH=2');
      assert.equal(r.code, 0, explain(f, r));
      assert.match(r.out, /■ released: every phase passed/);
      assert.deepEqual(f.versions(), { h1: '1.1.0', h2: '1.1.0', h3: '1.1.0', h4: '1.1.0' });
      const servers = f.haproxyServers();
      for (const name of ['h1', 'h2', 'h3', 'h4']) assert.equal(servers[name]?.status, 'UP', `${name} is UP`);
      await moreTraffic(f);
      const load = (await f.stopLoad())!;
      assert.ok(load.achievedRps >= 200, `at least 200 requests/s: ${load.achievedRps}`);
      assert.ok(load.counts.deploy?.requests > 1000, `traffic during the deploy: ${JSON.stringify(failuresByPhase(load))}`);
      assert.equal(total(load, 'non2xx') + total(load, 'connErrors'), 0, `no failed request: ${JSON.stringify(failuresByPhase(load))}`);
      assertWritesKept(load, false);
      // Every host served both versions: the traffic went on while each one switched.
      for (const name of ['h1', 'h2', 'h3', 'h4'])
        for (const v of ['1.0.0', '1.1.0'])
          assert.ok(
            Object.values(load.counts).some((c) => c.byVersion[`${name}@${v}`] > 0),
            `${name} answered with ${v}`,
          );
    });
  });

  it('a faulty canary: the breach at 10 % rolls back at once, h1 out of traffic; no request failed outside the canary, no acknowledged write lost', async () => {
    const { FleetEnvironment } = await fleetModule();
    const f = new FleetEnvironment({ bad: true, monitoringWindow: '6s', baselineCapture: '3s', canaryAnalysis: '12s' });
    try {
      await f.start();
      const r = await releaseWith(f, 'canary.yaml');
      assert.equal(r.code, 3, explain(f, r));
      const runs = path.join(f.dir, '.release', 'runs');
      const events = fs
        .readFileSync(path.join(runs, fs.readdirSync(runs).sort().pop()!, 'journal.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const started = events.find((e) => e.type === 'rollback.started')!;
      assert.equal(started.trigger, 'guard');
      assert.match(String(started.reason), /^canary at 10 % \(step 1\/2\): (canary_5xx|error_ratio): /);
      assert.equal(events.filter((e) => e.type === 'canary.weight').length, 1, 'never past 10 %');
      // From the confirmed breach to h1 at weight 0 (the rollback's first step done).
      const confirmed = Date.parse(String(events.find((e) => e.type === 'guard.breached' && e.confirmed)!.at));
      const weight0 = Date.parse(String(events.find((e) => e.type === 'step.finished' && e.step === 'rollback/0')!.at));
      console.log(`      breach confirmed → h1 at weight 0: ${weight0 - confirmed} ms`);
      assert.ok(weight0 > confirmed);
      assert.deepEqual(f.versions(), { h1: '1.0.0', h2: '1.0.0', h3: '1.0.0', h4: '1.0.0' }, 'every host runs 1.0.0 again');
      const servers = f.haproxyServers();
      for (const name of ['h1', 'h2', 'h3', 'h4'])
        assert.deepEqual([name, servers[name]?.status, servers[name]?.weight], [name, 'UP', 100], `${name} back in traffic`);
      await moreTraffic(f);
      const load = (await f.stopLoad())!;
      const failedOn = (srv: string) => Object.values(load.counts).reduce((a, c) => a + (c.byServer[srv]?.failed ?? 0), 0);
      assert.ok(failedOn('h1') > 0, 'the faulty canary failed some of its requests: what the analysis saw');
      for (const srv of ['h2', 'h3', 'h4']) assert.equal(failedOn(srv), 0, `${srv} failed nothing: ${JSON.stringify(failuresByPhase(load))}`);
      assert.equal(total(load, 'connErrors'), 0, `no connection error: ${JSON.stringify(failuresByPhase(load))}`);
      const byVersion = (key: string) => Object.values(load.counts).reduce((a, c) => a + (c.byVersion[key] ?? 0), 0);
      for (const h of ['h2', 'h3', 'h4']) assert.equal(byVersion(`${h}@1.1.0`), 0, `${h} never ran the faulty build`);
      assertWritesKept(load, true);
    } finally {
      await stopAndCheck(f);
    }
  });

  describe('one fleet, production reset between (versions, weights, services, load): a canary without traffic, a host hung after its batch, a host failing its health', () => {
    let f: Fleet;
    let first = true;
    before(async function () {
      this.timeout(120_000);
      const { FleetEnvironment } = await fleetModule();
      f = new FleetEnvironment({ monitoringWindow: '6s', baselineCapture: '3s', canaryAnalysis: '12s' });
      await f.start();
    });
    beforeEach(async function () {
      this.timeout(120_000);
      if (!first) await f.reset();
      first = false;
      assertUntouchedRunning(f);
    });
    after(() => stopAndCheck(f));

    it('a canary that takes no traffic (its weight set, h1 out of HAProxy): inconclusive, rolled back, never promoted', async () => {
      const releasing = releaseWith(f, 'canary.yaml');
      // Once the canary's first weight is set (its deploy step done, so nothing waits for h1 to be UP any
      // more), h1 is disabled in HAProxy: its weight stays set, but it serves nothing.
      const weightSet = () => {
        const runs = path.join(f.dir, '.release', 'runs');
        const latest = fs.existsSync(runs) ? fs.readdirSync(runs).sort().pop() : undefined;
        const journal = latest ? path.join(runs, latest, 'journal.jsonl') : undefined;
        return journal !== undefined && fs.existsSync(journal) && fs.readFileSync(journal, 'utf8').includes('"type":"canary.weight"');
      };
      const deployed = await waitFor(() => {
        if (f.versions().h1 !== '1.1.0' || !weightSet()) return false;
        return f.run(path.join(f.dir, 'tools', 'haproxy.sh'), [f.sock, 'disable server orders/h1']).status === 0;
      }, 120_000);
      assert.ok(deployed, 'h1 got 1.1.0 and was disabled in HAProxy');
      const r = await releasing;
      assert.equal(r.code, 3, explain(f, r));
      const runs = path.join(f.dir, '.release', 'runs');
      const run = path.join(runs, fs.readdirSync(runs).sort().pop()!);
      const events = fs
        .readFileSync(path.join(run, 'journal.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const started = events.find((e) => e.type === 'rollback.started')!;
      assert.match(
        String(started.reason),
        /^canary at 10 % \(step 1\/2\): canary_(5xx|rate): .*inconclusive: the canary served [\d.e-]+ of ~[\d.]+ expected requests req\/s/,
      );
      assert.equal(events.filter((e) => e.type === 'canary.weight').length, 1, 'never past 10 %');
      assert.match(fs.readFileSync(path.join(run, 'report.md'), 'utf8'), /inconclusive: the canary served [\d.e-]+ of ~[\d.]+ expected requests/);
      const traffic = events.find((e) => e.type === 'baseline.captured' && e.metric === 'traffic')!;
      console.log(`      traffic baseline: ${JSON.stringify(traffic.samples)} req/s for ${f.rps} sent`);
      assert.deepEqual(f.versions(), { h1: '1.0.0', h2: '1.0.0', h3: '1.0.0', h4: '1.0.0' }, 'every host runs 1.0.0 again');
    });

    it('h1 hung right after its switch: the gate before the next batch stops the rollout before h2 is drained, rolled back, no acknowledged write lost', async () => {
      const h1 = () => f.hosts[0];
      let stopped: number | undefined;
      let hungAt = 0;
      try {
        const releasing = release(f);
        // h1 on 1.1.0 and back UP in HAProxy: its batch is done; its app is stopped (SIGSTOP) at once.
        const switched = await waitFor(() => {
          if (f.versions().h1 !== '1.1.0' || f.haproxyServers().h1?.status !== 'UP') return false;
          stopped = Number(fs.readFileSync(path.join(h1().root, 'service.pid'), 'utf8'));
          process.kill(stopped, 'SIGSTOP');
          hungAt = Date.now();
          return true;
        }, 120_000);
        assert.ok(switched, 'h1 switched to 1.1.0 and came back UP');
        const r = await releasing;
        assert.equal(r.code, 3, explain(f, r));
        const runs = path.join(f.dir, '.release', 'runs');
        const load = (await f.stopLoad())!;
        const failed = total(load, 'non2xx') + total(load, 'connErrors');
        console.log(
          `      h1 hung → rollback done in ${Date.now() - hungAt} ms; ${failed} failed requests, longest stretch without an answer ${load.longestSilence?.ms} ms`,
        );
        const deployLog = fs.readFileSync(path.join(runs, fs.readdirSync(runs).sort().pop()!, 'logs', 'deploy_0.1.log'), 'utf8');
        assert.match(deployLog, /gate: h1 failed after its batch/);
        assert.doesNotMatch(deployLog, /Drain h2/, 'the rollout stopped before h2: h2 was never drained');
        assert.deepEqual(f.versions(), { h1: '1.0.0', h2: '1.0.0', h3: '1.0.0', h4: '1.0.0' }, 'every host runs 1.0.0 again');
        const byVersion = (key: string) => Object.values(load.counts).reduce((a, c) => a + (c.byVersion[key] ?? 0), 0);
        for (const h of ['h2', 'h3', 'h4']) assert.equal(byVersion(`${h}@1.1.0`), 0, `${h} never ran 1.1.0`);
        assertWritesKept(load, true);
      } finally {
        if (stopped !== undefined) {
          try {
            process.kill(stopped, 'SIGCONT');
          } catch {
            // Ended by the rollback's restart already.
          }
        }
      }
    });

    it("h3's health fails on 1.1.0 mid-rollout: the rollout stops, the updated hosts are rolled back, h3 answers nothing on 1.1.0, no acknowledged write lost", async () => {
      const h3 = f.hosts[2];
      fs.writeFileSync(path.join(h3.root, 'fail-health-1.1.0'), 'the fault test: h3 fails /health on 1.1.0\n');
      const r = await release(f);
      assert.equal(r.code, 3, explain(f, r));
      assert.match(r.out, /⟲ Rollback/);
      const runs = path.join(f.dir, '.release', 'runs');
      const deployLog = fs.readFileSync(path.join(runs, fs.readdirSync(runs).sort().pop()!, 'logs', 'deploy_0.1.log'), 'utf8');
      assert.match(deployLog, /h3: orders-service 1\.1\.0 is not healthy/);
      assert.doesNotMatch(deployLog, /Drain h4/, 'the rollout stopped at h3: h4 was never drained');
      assert.deepEqual(f.versions(), { h1: '1.0.0', h2: '1.0.0', h3: '1.0.0', h4: '1.0.0' }, 'every host runs 1.0.0 again');
      const servers = f.haproxyServers();
      for (const name of ['h1', 'h2', 'h3', 'h4']) assert.equal(servers[name]?.status, 'UP', `${name} is UP`);
      await moreTraffic(f);
      const load = (await f.stopLoad())!;
      const byVersion = (key: string) => Object.values(load.counts).reduce((a, c) => a + (c.byVersion[key] ?? 0), 0);
      assert.ok(byVersion('h1@1.1.0') > 0 && byVersion('h2@1.1.0') > 0, 'h1 and h2 served 1.1.0 before the rollback');
      assert.equal(byVersion('h3@1.1.0'), 0, 'h3 answered no request on 1.1.0: drained before it switched, never back in traffic');
      assert.equal(byVersion('h4@1.1.0'), 0, 'h4 was never touched');
      assert.ok(load.counts.rollback?.requests > 0, 'traffic during the rollback');
      assert.equal(total(load, 'non2xx') + total(load, 'connErrors'), 0, `no failed request: ${JSON.stringify(failuresByPhase(load))}`);
      assertWritesKept(load, true);
    });
  });
});
