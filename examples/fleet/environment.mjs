// The fleet's production, for run-fleet-demo.mjs and test/system/fleet.test.ts: four hosts, each a
// real sshd on its own loopback address (127.0.0.11…14) with its own folder where the orders
// service is installed (releases/<version>/, `current`) and run; HAProxy in front of them with its
// runtime API and Prometheus exporter; a real Prometheus scraping HAProxy and every service; an
// Ansible inventory for the run; and steady traffic through HAProxy counted by release phase.
// The workspace is a temp copy of this folder made a git repository (v1.0.0, then 1.1.0), v1.0.0
// running on every host. stop() ends every process it started; nothing is left running.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The release-pilot CLI (`node esbuild.mjs` builds it): the fleet's traffic is its `load` command. */
const CLI = path.join(HERE, '..', '..', 'dist', 'cli.js');
export const RPS = 250;
export const HOSTS = ['h1', 'h2', 'h3', 'h4'];
const SSHD = '/usr/sbin/sshd';

/** Binaries the fleet needs, with the Debian package that has each. */
export const NEEDS = {
  [SSHD]: 'openssh-server',
  'ssh-keygen': 'openssh-client',
  haproxy: 'haproxy',
  'ansible-playbook': 'ansible-core',
  socat: 'socat',
  prometheus: 'prometheus',
};

/** The binaries of NEEDS that are missing, as "name (apt-get install package)". */
export function missingBinaries() {
  return Object.entries(NEEDS)
    .filter(([bin]) => (bin.startsWith('/') ? !fs.existsSync(bin) : spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status !== 0))
    .map(([bin, pkg]) => `${bin} (apt-get install ${pkg})`);
}

function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what, cond, ms) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      if (await cond()) return;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`${what} did not happen in ${ms / 1000} s${last ? ` (${last.message})` : ''}`);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function readPid(file) {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export class FleetEnvironment {
  /** @param {{ bad?: boolean, rps?: number, load?: boolean, monitoringWindow?: string, baselineCapture?: string, canaryAnalysis?: string }} o */
  constructor(o = {}) {
    this.bad = Boolean(o.bad);
    this.rps = o.rps ?? RPS;
    this.withLoad = o.load !== false;
    this.monitoringWindow = o.monitoringWindow;
    this.baselineCapture = o.baselineCapture;
    this.canaryAnalysis = o.canaryAnalysis;
    this.children = [];
    this.dir = undefined;
    this.hosts = [];
    this.ports = {};
    this.stopped = false;
  }

  get state() {
    return path.join(this.dir, 'state');
  }
  get sock() {
    return path.join(this.state, 'haproxy.sock');
  }
  get inventory() {
    return path.join(this.state, 'inventory.ini');
  }
  /** The orders store every host's service writes: one sqlite file in WAL mode (the demo's store.js). */
  get ordersDb() {
    return path.join(this.state, 'orders.db');
  }
  get loadFile() {
    return path.join(this.state, 'load.json');
  }
  get haproxyUrl() {
    return `http://127.0.0.1:${this.ports.HAPROXY_PORT}`;
  }
  get prometheusUrl() {
    return `http://127.0.0.1:${this.ports.PROMETHEUS_PORT}`;
  }

  /** The environment Ansible (and a release that runs it) needs: its config and every temp folder under the run's. */
  get env() {
    return {
      ...process.env,
      ANSIBLE_CONFIG: path.join(this.dir, 'ansible', 'ansible.cfg'),
      ANSIBLE_INVENTORY: this.inventory,
      ANSIBLE_LOCAL_TEMP: path.join(this.state, 'ansible', 'local'),
      ANSIBLE_REMOTE_TEMP: path.join(this.state, 'ansible', 'remote'),
      ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(this.state, 'ansible', 'cp'),
      ANSIBLE_HOME: path.join(this.state, 'ansible', 'home'),
      ANSIBLE_FORCE_COLOR: '0',
      ANSIBLE_NOCOLOR: '1',
      FLEET_HAPROXY_SOCK: this.sock,
      FLEET_HAPROXY_PORT: String(this.ports.HAPROXY_PORT),
      FLEET_PROMETHEUS_URL: this.prometheusUrl,
      USER: process.env.USER ?? 'root',
    };
  }

  git(...args) {
    execFileSync('git', args, {
      cwd: this.dir,
      stdio: 'ignore',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Fleet Dev',
        GIT_AUTHOR_EMAIL: 'dev@example.com',
        GIT_COMMITTER_NAME: 'Fleet Dev',
        GIT_COMMITTER_EMAIL: 'dev@example.com',
      },
    });
  }

  /** The workspace: this folder without its runtime files, a git repository at v1.1.0 (v1.0.0 before it). */
  prepare() {
    const dir = (this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'release-pilot-fleet-')));
    fs.cpSync(HERE, dir, {
      recursive: true,
      filter: (src) => !/[\\/](state|\.release[\\/]runs)$/.test(src) && !/(run-fleet-demo|environment)\.mjs$/.test(src) && !src.endsWith('.release/lock'),
    });
    for (const d of ['ansible/local', 'ansible/remote', 'ansible/cp', 'ansible/home', 'ssh', 'hosts'])
      fs.mkdirSync(path.join(this.state, d), { recursive: true });
    // A shorter window (and baseline) for the tests, written into the plans before the commits.
    for (const f of ['plan.yaml', 'canary.yaml']) {
      const plan = path.join(dir, '.release', f);
      if (!fs.existsSync(plan)) continue;
      let text = fs.readFileSync(plan, 'utf8');
      if (this.monitoringWindow) text = text.replace(/^ {2}window: \S+$/m, `  window: ${this.monitoringWindow}`);
      if (this.baselineCapture) text = text.replace(/^ {4}capture: \S+$/m, `    capture: ${this.baselineCapture}`);
      if (this.canaryAnalysis) text = text.replace(/^ {6}analysis: \S+$/m, `      analysis: ${this.canaryAnalysis}`);
      fs.writeFileSync(plan, text);
    }
    // The store of the demo's service, part of the fleet's service (both versions) from the first commit.
    fs.copyFileSync(path.join(HERE, '..', 'demo', 'service', 'store.js'), path.join(dir, 'service', 'store.js'));
    execFileSync('sqlite3', [this.ordersDb], {
      input: [
        'PRAGMA journal_mode=WAL;',
        'CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total_cents INTEGER NOT NULL);',
        "INSERT INTO orders VALUES (1, 'ada', 1250), (2, 'grace', 4200);",
      ].join('\n'),
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    const serverJs = path.join(dir, 'service', 'server.js');
    const v11 = fs.readFileSync(serverJs, 'utf8');
    // v1.0.0: the same service without the 1.1.0 work (the X-Order-Count header).
    fs.writeFileSync(serverJs, v11.replace(/ *res\.setHeader\('x-order-count'.*\n/, ''));
    this.git('init', '-q', '-b', 'main');
    this.git('add', '-A');
    this.git('commit', '-qm', 'feat: orders service on a fleet behind HAProxy, deployed with Ansible');
    this.git('tag', 'v1.0.0');
    this.installed10 = path.join(this.state, 'release-1.0.0');
    fs.cpSync(path.join(dir, 'service'), this.installed10, { recursive: true });
    fs.writeFileSync(serverJs, v11);
    this.git('commit', '-qam', 'feat(api): the orders list says how many orders it holds');
    if (this.bad) {
      fs.writeFileSync(path.join(dir, 'service', 'release.json'), JSON.stringify({ faultyShare: 0.2, faultyAfter: 50 }) + '\n');
      this.git('add', '-A');
      this.git('commit', '-qm', 'perf(api): cache order lookups');
    }
    this.git('tag', 'v1.1.0');
    this.git('config', 'user.name', 'Fleet Release Engineer');
  }

  spawnBg(name, cmd, args, logFile, opts = {}) {
    const out = fs.openSync(path.join(this.state, logFile), 'a');
    const child = spawn(cmd, args, { cwd: this.dir, stdio: ['ignore', out, out], detached: true, ...opts });
    fs.closeSync(out);
    child.on('error', (e) => fs.appendFileSync(path.join(this.state, logFile), `spawn error: ${e.message}\n`));
    this.children.push({ name, child });
    return child;
  }

  async startHost(name, i) {
    const addr = `127.0.0.${11 + i}`;
    const root = path.join(this.state, 'hosts', name);
    const sshDir = path.join(root, 'ssh');
    fs.mkdirSync(path.join(root, 'releases'), { recursive: true });
    fs.mkdirSync(sshDir, { recursive: true });
    const host = { name, addr, root, sshPort: await freePort(addr), servicePort: await freePort(addr) };
    execFileSync('ssh-keygen', ['-q', '-N', '', '-t', 'ed25519', '-f', path.join(sshDir, 'ssh_host_ed25519_key'), '-C', `fleet-${name}`]);
    fs.writeFileSync(
      path.join(sshDir, 'sshd_config'),
      [
        `ListenAddress ${addr}:${host.sshPort}`,
        `HostKey ${path.join(sshDir, 'ssh_host_ed25519_key')}`,
        `PidFile ${path.join(sshDir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${path.join(this.state, 'ssh', 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        // The temp folders are not root's home: sshd's ownership walk up the path would refuse the key.
        'StrictModes no',
        'MaxStartups 64:30:128',
        'MaxSessions 64',
        'Subsystem sftp internal-sftp',
        'LogLevel ERROR',
        // root's shell is bash, which reads ~/.bashrc for a command over ssh when SHLVL is below 2;
        // the host's own shell setup (pyenv, conda…) has no business in a deploy, and can block it.
        'SetEnv SHLVL=1',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(root, 'host.env'),
      `HOST_NAME=${name}\nHOST_ADDR=${addr}\nSERVICE_PORT=${host.servicePort}\nNODE=${process.execPath}\nORDERS_DB=${this.ordersDb}\n`,
    );
    fs.copyFileSync(path.join(this.dir, 'host', 'service.sh'), path.join(root, 'service.sh'));
    fs.chmodSync(path.join(root, 'service.sh'), 0o755);
    // v1.0.0 is what production runs: installed and started on every host.
    fs.cpSync(this.installed10, path.join(root, 'releases', '1.0.0'), { recursive: true });
    fs.symlinkSync('releases/1.0.0', path.join(root, 'current'));
    this.startSshd(host);
    execFileSync(path.join(root, 'service.sh'), ['start'], { stdio: 'ignore', timeout: 15_000 });
    return host;
  }

  /** The host's sshd (its config written by startHost). */
  startSshd(host) {
    host.sshd = this.spawnBg(`sshd ${host.name}`, SSHD, ['-D', '-e', '-f', path.join(host.root, 'ssh', 'sshd_config')], `sshd-${host.name}.log`);
  }

  async startHaproxy() {
    const servers = this.hosts.map((h) => `  server ${h.name} ${h.addr}:${h.servicePort}`).join('\n');
    const cfg = fs
      .readFileSync(path.join(this.dir, 'haproxy.cfg.tmpl'), 'utf8')
      .replace('@SOCK@', this.sock)
      .replace('@PIDFILE@', path.join(this.state, 'haproxy.pid'))
      .replace('@PORT@', String(this.ports.HAPROXY_PORT))
      .replace('@METRICS_PORT@', String(this.ports.HAPROXY_METRICS_PORT))
      .replace('@SERVERS@', servers);
    const file = path.join(this.state, 'haproxy.cfg');
    fs.writeFileSync(file, cfg);
    execFileSync('haproxy', ['-c', '-q', '-f', file]);
    this.spawnBg('haproxy', 'haproxy', ['-db', '-f', file], 'haproxy.log');
    await waitUntil(
      'HAProxy answering with every host UP',
      async () => {
        const stat = execFileSync(path.join(this.dir, 'tools', 'haproxy.sh'), [this.sock, 'show stat'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        return this.hosts.every((h) => new RegExp(`^orders,${h.name},.*,UP,`, 'm').test(stat));
      },
      15_000,
    );
  }

  async startPrometheus() {
    const cfg = fs
      .readFileSync(path.join(this.dir, 'prometheus.yml.tmpl'), 'utf8')
      .replace('@METRICS_PORT@', String(this.ports.HAPROXY_METRICS_PORT))
      .replace('@SERVICE_TARGETS@', this.hosts.map((h) => `'${h.addr}:${h.servicePort}'`).join(', '));
    const file = path.join(this.state, 'prometheus.yml');
    fs.writeFileSync(file, cfg);
    this.spawnBg(
      'prometheus',
      'prometheus',
      [
        `--config.file=${file}`,
        `--storage.tsdb.path=${path.join(this.state, 'prometheus')}`,
        `--web.listen-address=127.0.0.1:${this.ports.PROMETHEUS_PORT}`,
        '--log.level=warn',
      ],
      'prometheus.log',
    );
    await waitUntil('Prometheus ready', async () => (await fetch(`${this.prometheusUrl}/-/ready`)).ok, 20_000);
  }

  writeInventory() {
    const lines = this.hosts.map((h) => `${h.name} ansible_host=${h.addr} ansible_port=${h.sshPort} host_root=${h.root} service_port=${h.servicePort}`);
    const inv = fs
      .readFileSync(path.join(this.dir, 'ansible', 'inventory.ini'), 'utf8')
      .replace(/^#.*\n/gm, '')
      .replace('@HOSTS@', lines.join('\n'))
      .replace('@KEY@', path.join(this.state, 'ssh', 'client_key'))
      .replace('@SOCK@', this.sock)
      .replace('@WORKSPACE@', this.dir);
    fs.writeFileSync(this.inventory, `# written by environment.mjs for this run\n${inv}`);
  }

  /** Prepares the workspace and starts production: v1.0.0 on four hosts behind HAProxy, Prometheus, the traffic. */
  async start() {
    const missing = missingBinaries();
    if (missing.length) throw new Error(`the fleet needs ${missing.join(', ')}`);
    fs.mkdirSync('/run/sshd', { recursive: true });
    this.prepare();
    this.ports = { HAPROXY_PORT: await freePort(), HAPROXY_METRICS_PORT: await freePort(), PROMETHEUS_PORT: await freePort() };
    execFileSync('ssh-keygen', ['-q', '-N', '', '-t', 'ed25519', '-f', path.join(this.state, 'ssh', 'client_key'), '-C', 'fleet-ansible']);
    fs.copyFileSync(path.join(this.state, 'ssh', 'client_key.pub'), path.join(this.state, 'ssh', 'authorized_keys'));
    for (const [i, name] of HOSTS.entries()) this.hosts.push(await this.startHost(name, i));
    this.writeInventory();
    await this.startHaproxy();
    await this.startPrometheus();
    await Promise.all(this.hosts.map((h) => this.waitSsh(h)));
    if (this.withLoad) await this.startLoad();
    return this;
  }

  waitSsh(h) {
    return waitUntil(
      `sshd of ${h.name} accepting connections`,
      () =>
        new Promise((resolve) => {
          const s = net.connect(h.sshPort, h.addr, () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      10_000,
    );
  }

  async startLoad() {
    this.spawnBg(
      'load',
      process.execPath,
      [
        CLI,
        'load',
        `${this.haproxyUrl}/api/orders`,
        '--rate',
        String(this.rps),
        '--write',
        'POST /orders {"id":{id},"customer":"load","total_cents":{id}}',
        '--check-writes',
        '/orders/{id}',
        '--workspace',
        this.dir,
        '--label-header',
        'x-served-by',
        '--out',
        this.loadFile,
      ],
      'load.log',
    );
    await waitUntil('the load generator counting', () => fs.existsSync(this.loadFile), 10_000);
    // A baseline captured while Prometheus' 5 s rate still ramps up reads a fraction of the load
    // (102, 152, 202 req/s for 250): the release starts once the rate it will read is the full one.
    await waitUntil('Prometheus reading the full load (90 % of its rate)', async () => (await this.backendRate()) >= 0.9 * this.rps, 30_000);
  }

  /** The backend's responses per second as the plans' `traffic` metric reads it (0 when Prometheus has no value yet). */
  async backendRate() {
    const q = encodeURIComponent('sum(rate(haproxy_backend_http_responses_total{proxy="orders"}[5s]))');
    const res = await fetch(`${this.prometheusUrl}/api/v1/query?query=${q}`).catch(() => undefined);
    const body = res?.ok ? await res.json() : undefined;
    return Number(body?.data?.result?.[0]?.value?.[1] ?? 0) || 0;
  }

  /** The load generator's counts now (`release-pilot load --out`). */
  loadCounts() {
    try {
      return JSON.parse(fs.readFileSync(this.loadFile, 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** Stops the load generator and returns its final counts, with `writesCheck`: each acknowledged write read back through HAProxy. */
  async stopLoad() {
    const load = this.children.find((c) => c.name === 'load');
    if (!load || !alive(load.child.pid)) return this.loadCounts();
    load.child.kill('SIGTERM');
    // Waits for the generator: the answers under way (each within its 10 s timeout), then every acknowledged write read back.
    await waitUntil('the load generator writing its counts', () => !alive(load.child.pid), 60_000).catch(() => load.child.kill('SIGKILL'));
    return this.loadCounts();
  }

  /** The version each host runs (its `current` link). */
  versions() {
    return Object.fromEntries(this.hosts.map((h) => [h.name, path.basename(fs.readlinkSync(path.join(h.root, 'current')))]));
  }

  /** Each server of the backend as HAProxy sees it: status (UP, DOWN, DRAIN, MAINT…) and weight. */
  haproxyServers() {
    const stat = execFileSync(path.join(this.dir, 'tools', 'haproxy.sh'), [this.sock, 'show stat'], { encoding: 'utf8' });
    const [head, ...rows] = stat.trim().split('\n');
    const cols = head.replace(/^# /, '').split(',');
    const out = {};
    for (const row of rows) {
      const f = row.split(',');
      if (f[0] !== 'orders' || f[1] === 'BACKEND') continue;
      out[f[1]] = { status: f[cols.indexOf('status')], weight: Number(f[cols.indexOf('weight')]), scur: Number(f[cols.indexOf('scur')]) };
    }
    return out;
  }

  /** Runs a command of the workspace with Ansible's environment: tools/weight.sh 10, ansible-playbook …. */
  run(cmd, args, opts = {}) {
    return spawnSync(cmd, args, { cwd: this.dir, env: this.env, encoding: 'utf8', timeout: 120_000, ...opts });
  }

  /** Pids of every process of the fleet still alive: its children, the services, the sshds, Ansible's ssh masters. */
  alivePids() {
    const pids = new Set(this.children.map(({ child }) => child.pid).filter(Boolean));
    for (const h of this.hosts) {
      for (const f of [path.join(h.root, 'service.pid'), path.join(h.root, 'ssh', 'sshd.pid')]) {
        const pid = readPid(f);
        if (pid) pids.add(pid);
      }
    }
    if (this.dir) for (const pid of this.processesOfWorkspace()) pids.add(pid);
    return [...pids].filter(alive);
  }

  /** Processes whose command line names the workspace (the ssh ControlPersist masters Ansible leaves). */
  processesOfWorkspace() {
    const found = [];
    for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      if (Number(p) === process.pid) continue;
      try {
        const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
        if (cmd.includes(this.dir)) found.push(Number(p));
      } catch {}
    }
    return found;
  }

  /**
   * Production as start() left it, for the next test on the same fleet: the load generator stopped
   * (its counts were the test's before) and started afresh; on every host its sshd running again (a
   * killed one restarted), the fault files gone, a stopped service continued, 1.0.0 running and healthy; every server ready in HAProxy at weight 100
   * and UP by its checks.
   */
  async reset() {
    await this.stopLoad();
    this.children = this.children.filter((c) => c.name !== 'load');
    fs.rmSync(this.loadFile, { force: true });
    const haproxy = (...args) => execFileSync(path.join(this.dir, 'tools', 'haproxy.sh'), [this.sock, ...args], { stdio: 'ignore', timeout: 30_000 });
    for (const h of this.hosts) {
      if (!alive(h.sshd.pid)) {
        this.startSshd(h);
        await this.waitSsh(h);
      }
      for (const f of fs.readdirSync(h.root)) if (f.startsWith('fail-health-')) fs.rmSync(path.join(h.root, f));
      const pid = readPid(path.join(h.root, 'service.pid'));
      if (pid && alive(pid)) process.kill(pid, 'SIGCONT');
      const service = path.join(h.root, 'service.sh');
      const onOld = path.basename(fs.readlinkSync(path.join(h.root, 'current'))) === '1.0.0';
      if (!onOld) {
        fs.symlinkSync('releases/1.0.0', path.join(h.root, 'current.next'));
        fs.renameSync(path.join(h.root, 'current.next'), path.join(h.root, 'current'));
      }
      if (!onOld || spawnSync(service, ['status'], { stdio: 'ignore', timeout: 10_000 }).status !== 0)
        execFileSync(service, ['start'], { stdio: 'ignore', timeout: 15_000 });
      haproxy(`set server orders/${h.name} weight 100`);
      haproxy('ready', `orders/${h.name}`);
    }
    if (this.withLoad) await this.startLoad();
  }

  /** Stops every process the fleet started; waits until each is gone (5 s, then SIGKILL). */
  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    await this.stopLoad().catch(() => {});
    const kill = (pid, sig) => {
      try {
        process.kill(pid, sig);
      } catch {}
    };
    for (const { child } of this.children) {
      kill(-child.pid, 'SIGTERM');
      kill(child.pid, 'SIGTERM');
    }
    for (const pid of this.alivePids()) {
      kill(-pid, 'SIGTERM');
      kill(pid, 'SIGTERM');
    }
    const end = Date.now() + 5000;
    while (this.alivePids().length && Date.now() < end) await sleep(100);
    for (const pid of this.alivePids()) kill(pid, 'SIGKILL');
    await waitUntil('every process of the fleet gone', () => this.alivePids().length === 0, 3000).catch(() => {});
  }

  remove() {
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
