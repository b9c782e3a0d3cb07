#!/usr/bin/env node
// The demo release: copies this workspace to a temp folder, makes it a git repository with a
// v1.0.0 running in production (blue) behind a router with steady traffic, then releases v1.1.0
// through the release-pilot CLI. `--bad` releases a faulty 1.1.0 that the monitor catches and
// rolls back. `--vscode` opens the same prepared workspace in VS Code instead of running the CLI.
// Every process it started is stopped at the end, on Ctrl+C and on failure.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const bad = process.argv.includes('--bad');
const vscodeMode = process.argv.includes('--vscode');
const keep = process.argv.includes('--keep') || vscodeMode;
const RPS = 40;

const children = [];
let dir;
const say = (m) => console.log(`\x1b[36m[demo]\x1b[0m ${m}`);

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function git(...args) {
  execFileSync('git', args, { cwd: dir, stdio: 'ignore', env: { ...process.env, GIT_AUTHOR_NAME: 'Demo Dev', GIT_AUTHOR_EMAIL: 'dev@example.com', GIT_COMMITTER_NAME: 'Demo Dev', GIT_COMMITTER_EMAIL: 'dev@example.com' } });
}

function background(name, args, logFile) {
  const out = fs.openSync(path.join(dir, 'state', logFile), 'a');
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', out, out], detached: true });
  children.push({ name, child });
  return child;
}

function stopAll() {
  for (const { child } of children) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
  }
  // Instances started by the release (blue, green) write their pid files.
  for (const color of ['blue', 'green']) {
    const pidFile = dir && path.join(dir, 'state', `${color}.pid`);
    if (pidFile && fs.existsSync(pidFile)) {
      try {
        process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM');
      } catch {}
    }
  }
}

function prepare(ports) {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'release-pilot-demo-'));
  fs.cpSync(HERE, dir, { recursive: true, filter: (src) => !/[\\/](state|data|\.release[\\/]runs)$/.test(src) && !src.endsWith('run-demo.mjs') && !src.endsWith('.release/lock') });
  fs.mkdirSync(path.join(dir, 'state'));
  fs.mkdirSync(path.join(dir, 'data'));
  fs.writeFileSync(path.join(dir, 'state', 'ports.env'), Object.entries(ports).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  // History: v1.0.0 without the order note, then the 1.1.0 work as Conventional Commits.
  const note = path.join(dir, 'db', 'migrations', '002_order_note.sql');
  const noteSql = fs.readFileSync(note, 'utf8');
  fs.rmSync(note);
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'feat: orders service with blue-green router');
  git('tag', 'v1.0.0');
  // Production runs v1.0.0: its database has the schema of v1.0.0.
  execFileSync('bash', ['tools/migrate.sh', 'data/app.db', 'db/migrations'], { cwd: dir, stdio: 'ignore' });
  fs.writeFileSync(note, noteSql);
  git('add', '-A');
  git('commit', '-qm', 'feat(db): orders carry a delivery note');
  fs.appendFileSync(path.join(dir, 'config', 'production.env'), 'ORDERS_PAGE_SIZE=50\n');
  git('commit', '-qam', 'fix(config): page the orders list at 50');
  if (bad) {
    fs.writeFileSync(path.join(dir, 'service', 'release.json'), JSON.stringify({ faultyCacheAfter: 200 }) + '\n');
    git('add', '-A');
    git('commit', '-qm', 'perf(api): cache order lookups');
  }
  git('tag', 'v1.1.0');
  git('config', 'user.name', 'Demo Release Engineer');
  fs.writeFileSync(path.join(dir, 'state', 'active'), 'blue\n');
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

function summary() {
  const active = fs.readFileSync(path.join(dir, 'state', 'active'), 'utf8').trim();
  const schema = execFileSync('sqlite3', [path.join(dir, 'data', 'app.db'), 'SELECT MAX(version) FROM schema_migrations;'], { encoding: 'utf8' }).trim();
  const cols = execFileSync('sqlite3', [path.join(dir, 'data', 'app.db'), 'PRAGMA table_info(orders);'], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split('|')[1]);
  return { active, schema: Number(schema), columns: cols };
}

async function main() {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const ports = { ROUTER_PORT: await freePort(), BLUE_PORT: await freePort(), GREEN_PORT: await freePort() };
  prepare(ports);
  say(`workspace ${dir}`);
  say(`production: orders-service v1.0.0 on blue (:${ports.BLUE_PORT}) behind the router (:${ports.ROUTER_PORT}); releasing ${bad ? 'a FAULTY ' : ''}v1.1.0`);
  execFileSync('bash', ['tools/instance.sh', 'start', 'blue', '1.0.0'], { cwd: dir, stdio: 'ignore' });
  background('router', ['service/router.js', '--port', String(ports.ROUTER_PORT), '--state', 'state'], 'router.log');
  await waitHttp(`http://127.0.0.1:${ports.BLUE_PORT}/health`);
  await waitHttp(`http://127.0.0.1:${ports.ROUTER_PORT}/metrics`);
  background('traffic', [path.join(HERE, 'tools', 'load.js'), `http://127.0.0.1:${ports.ROUTER_PORT}/api/orders`, String(RPS)], 'load.log');
  say(`traffic: ${RPS} requests/s on the core API`);
  await new Promise((r) => setTimeout(r, 1500));

  if (vscodeMode) return openInVscode();

  const args = [CLI, 'run', '--plan', path.join(dir, '.release', 'plan.yaml'), '--yes', '--tick', 'on-call', '--var', `ROUTER_PORT=${ports.ROUTER_PORT}`];
  say(`$ release-pilot ${args.slice(1).join(' ')}\n`);
  const r = spawnSync(process.execPath, args, { cwd: dir, stdio: 'inherit', env: { ...process.env, USER: process.env.USER ?? 'demo' } });
  const code = r.status ?? 1;
  const after = summary();
  console.log('');
  say(`traffic is on ${after.active}; database schema version ${after.schema} (orders columns: ${after.columns.join(', ')})`);
  const expected = bad ? { code: 3, active: 'blue', schema: 1 } : { code: 0, active: 'green', schema: 2 };
  const ok = code === expected.code && after.active === expected.active && after.schema === expected.schema;
  expectedOutcome = ok;
  say(ok ? `as expected: ${bad ? 'the faulty release was rolled back: traffic and database are on v1.0.0 again' : 'v1.1.0 is live on green and the database is migrated'}` : `UNEXPECTED: exit ${code}, traffic on ${after.active}, schema ${after.schema}`);
  return ok ? code : 1;
}

function openInVscode() {
  const plan = path.join(dir, '.release', 'plan.yaml');
  // The router port is a plan variable: write this run's port into the workspace copy.
  const port = /ROUTER_PORT=(\d+)/.exec(fs.readFileSync(path.join(dir, 'state', 'ports.env'), 'utf8'))[1];
  fs.writeFileSync(plan, fs.readFileSync(plan, 'utf8').replace(/ROUTER_PORT: "\d+"/, `ROUTER_PORT: "${port}"`));
  git('commit', '-qam', 'chore: demo ports');
  git('tag', '-f', 'v1.1.0');
  const code = spawnSync('bash', ['-c', 'command -v code']).status === 0;
  if (code) {
    spawnSync('code', ['--extensionDevelopmentPath', ROOT, dir], { stdio: 'inherit' });
    say('opened in VS Code. In the palette: "Deploy: Start Release". Ctrl+C here stops the demo service.');
  } else {
    say('no desktop `code` here: starting the real VS Code server from the test host instead');
    const host = spawn(process.execPath, [path.join(ROOT, 'test', 'host', 'open.mjs'), dir], { stdio: 'inherit' });
    children.push({ name: 'vscode', child: host });
  }
  return new Promise(() => {});
}

let exiting = false;
let expectedOutcome = false;
function exit(code) {
  if (exiting) return;
  exiting = true;
  stopAll();
  if (dir && !keep && expectedOutcome) fs.rmSync(dir, { recursive: true, force: true });
  else if (dir) say(`kept ${dir}`);
  process.exit(code);
}
process.on('SIGINT', () => exit(130));
process.on('SIGTERM', () => exit(143));
main().then(
  (code) => exit(code),
  (e) => {
    console.error(`[demo] ${e.message}`);
    exit(1);
  },
);
