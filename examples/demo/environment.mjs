// The demo's production, for run-demo.mjs and for the UI test that drives the demo in VS Code:
// a temp copy of this workspace made a git repository (v1.0.0, then the 1.1.0 work as
// Conventional Commits), v1.0.0 running on blue behind the router, and steady traffic.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const RPS = 40;
/** The release-pilot CLI (`node esbuild.mjs` builds it): the demo's traffic is its `load` command. */
const CLI = path.join(HERE, '..', '..', 'dist', 'cli.js');

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function waitHttp(url, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

export class DemoEnvironment {
  /** @param {{ bad?: boolean, routerPortInPlan?: boolean, monitoringWindow?: string }} o */
  constructor(o = {}) {
    this.bad = Boolean(o.bad);
    this.monitoringWindow = o.monitoringWindow;
    this.routerPortInPlan = Boolean(o.routerPortInPlan);
    this.children = [];
    this.dir = undefined;
    this.ports = undefined;
  }

  git(...args) {
    execFileSync('git', args, {
      cwd: this.dir,
      stdio: 'ignore',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Demo Dev',
        GIT_AUTHOR_EMAIL: 'dev@example.com',
        GIT_COMMITTER_NAME: 'Demo Dev',
        GIT_COMMITTER_EMAIL: 'dev@example.com',
      },
    });
  }

  prepare() {
    const dir = (this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'release-pilot-demo-')));
    fs.cpSync(HERE, dir, {
      recursive: true,
      filter: (src) => !/[\\/](state|data|\.release[\\/]runs)$/.test(src) && !/(run-demo|environment)\.mjs$/.test(src) && !src.endsWith('.release/lock'),
    });
    fs.mkdirSync(path.join(dir, 'state'));
    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(
      path.join(dir, 'state', 'ports.env'),
      Object.entries(this.ports)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n') + '\n',
    );
    if (this.routerPortInPlan) {
      // In VS Code the plan is run as written: this run's router port goes into the plan itself.
      const plan = path.join(dir, '.release', 'plan.yaml');
      fs.writeFileSync(plan, fs.readFileSync(plan, 'utf8').replace(/ROUTER_PORT: "\d+"/, `ROUTER_PORT: "${this.ports.ROUTER_PORT}"`));
    }
    if (this.monitoringWindow) {
      const plan = path.join(dir, '.release', 'plan.yaml');
      fs.writeFileSync(plan, fs.readFileSync(plan, 'utf8').replace(/^ {2}window: \S+$/m, `  window: ${this.monitoringWindow}`));
    }
    const note = path.join(dir, 'db', 'migrations', '002_order_note.sql');
    const noteSql = fs.readFileSync(note, 'utf8');
    fs.rmSync(note);
    this.git('init', '-q', '-b', 'main');
    this.git('add', '-A');
    this.git('commit', '-qm', 'feat: orders service with blue-green router');
    this.git('tag', 'v1.0.0');
    // Production runs v1.0.0: its database has the schema of v1.0.0, and blue runs its code.
    execFileSync('bash', ['tools/migrate.sh', 'data/app.db', 'db/migrations'], { cwd: dir, stdio: 'ignore' });
    fs.writeFileSync(path.join(dir, 'state', 'active'), 'blue\n');
    execFileSync('bash', ['tools/instance.sh', 'start', 'blue', '1.0.0'], { cwd: dir, stdio: 'ignore' });
    fs.writeFileSync(note, noteSql);
    this.git('add', '-A');
    this.git('commit', '-qm', 'feat(db): orders carry a delivery note');
    fs.appendFileSync(path.join(dir, 'config', 'production.env'), 'ORDERS_PAGE_SIZE=50\n');
    this.git('commit', '-qam', 'fix(config): page the orders list at 50');
    if (this.bad) {
      fs.writeFileSync(path.join(dir, 'service', 'release.json'), JSON.stringify({ faultyCacheAfter: 200 }) + '\n');
      this.git('add', '-A');
      this.git('commit', '-qm', 'perf(api): cache order lookups');
    }
    this.git('tag', 'v1.1.0');
    this.git('config', 'user.name', 'Demo Release Engineer');
  }

  background(name, args, logFile) {
    const out = fs.openSync(path.join(this.dir, 'state', logFile), 'a');
    const child = spawn(process.execPath, args, { cwd: this.dir, stdio: ['ignore', out, out], detached: true });
    this.children.push({ name, child });
    return child;
  }

  /** Prepares the workspace and starts production: blue on v1.0.0, the router, the traffic. */
  async start() {
    this.ports = { ROUTER_PORT: await freePort(), BLUE_PORT: await freePort(), GREEN_PORT: await freePort() };
    this.prepare();
    this.background('router', ['service/router.js', '--port', String(this.ports.ROUTER_PORT), '--state', 'state'], 'router.log');
    await waitHttp(`http://127.0.0.1:${this.ports.BLUE_PORT}/health`);
    await waitHttp(`http://127.0.0.1:${this.ports.ROUTER_PORT}/metrics`);
    // The traffic: `release-pilot load`, RPS requests/s through the router, one in four a write (an order
    // with an id of its own); at the end each acknowledged order is read back (GET /orders/ID).
    const router = `http://127.0.0.1:${this.ports.ROUTER_PORT}`;
    const order = '{"id":{id},"customer":"load","total_cents":{id}}';
    this.background(
      'traffic',
      [
        CLI,
        'load',
        `${router}/api/orders`,
        '--rate',
        String(RPS),
        '--write',
        `POST /orders ${order}`,
        '--check-writes',
        '/orders/{id}',
        '--workspace',
        this.dir,
        '--out',
        path.join(this.dir, 'state', 'writes.json'),
      ],
      'load.log',
    );
    await new Promise((r) => setTimeout(r, 1500));
    return this;
  }

  /** Sends `n` requests through the router now and counts the answers by status. */
  async probe(n = 40) {
    const codes = {};
    // A fresh connection per request: what a new client sees, with no stale pooled socket in the way.
    const get = () =>
      new Promise((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: this.ports.ROUTER_PORT, path: '/api/orders', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', () => resolve(0));
      });
    for (let i = 0; i < n; i++) {
      const status = await get();
      codes[status] = (codes[status] ?? 0) + 1;
    }
    return codes;
  }

  /**
   * Stops the traffic and returns what became of its writes (`release-pilot load`'s writesCheck):
   * { acknowledged, present, lost, afterRollback, line } once it has read every acknowledged order back.
   */
  async stopTraffic() {
    const traffic = this.children.find((c) => c.name === 'traffic')?.child;
    const file = path.join(this.dir, 'state', 'writes.json');
    if (traffic && traffic.exitCode === null && traffic.signalCode === null) {
      const ended = new Promise((r) => traffic.once('exit', r));
      traffic.kill('SIGTERM');
      // Waits for the generator: it lets the requests under way finish (each within its 10 s timeout), then reads every order back.
      await Promise.race([ended, new Promise((r) => setTimeout(r, 30_000))]);
    }
    if (!fs.existsSync(file)) throw new Error(`the traffic generator wrote no count of its writes (${file}); see state/load.log`);
    const { writesCheck } = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (writesCheck?.present === undefined) throw new Error(`the traffic generator did not read its writes back (${file}); see state/load.log`);
    return writesCheck;
  }

  /** Where traffic goes and what schema the database has now. */
  summary() {
    const db = path.join(this.dir, 'data', 'app.db');
    const active = fs.readFileSync(path.join(this.dir, 'state', 'active'), 'utf8').trim();
    const schema = Number(execFileSync('sqlite3', ['-cmd', '.timeout 5000', db, 'SELECT MAX(version) FROM schema_migrations;'], { encoding: 'utf8' }).trim());
    const columns = execFileSync('sqlite3', ['-cmd', '.timeout 5000', db, 'PRAGMA table_info(orders);'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.split('|')[1]);
    return { active, schema, columns };
  }

  /** Pids of every process of the demo still alive (children and the instances the release started). */
  alivePids() {
    const pids = this.children.map(({ child }) => child.pid);
    for (const color of ['blue', 'green']) {
      const f = this.dir && path.join(this.dir, 'state', `${color}.pid`);
      if (f && fs.existsSync(f)) pids.push(Number(fs.readFileSync(f, 'utf8')));
    }
    return pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      } catch {
        return false;
      }
    });
  }

  /** Stops every process the demo started. */
  async stop() {
    for (const { child } of this.children) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
    }
    for (const color of ['blue', 'green']) {
      const f = this.dir && path.join(this.dir, 'state', `${color}.pid`);
      if (f && fs.existsSync(f)) {
        try {
          process.kill(-Number(fs.readFileSync(f, 'utf8')), 'SIGTERM');
        } catch {}
      }
    }
    const end = Date.now() + 5000;
    while (this.alivePids().length && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    for (const pid of this.alivePids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }

  remove() {
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
