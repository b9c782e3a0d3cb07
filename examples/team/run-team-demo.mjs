#!/usr/bin/env node
// Team releases, end to end: a bare repository served by a real sshd on 127.0.0.23 is the release store;
// two workspaces (their own HOME and git identity) share it. Alice releases; Bob follows her release
// (`status --follow`) and rolls it back from his machine, through the store. Prints the figures.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const ADDR = '127.0.0.23';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-team-demo-'));
const children = [];
const say = (s) => process.stdout.write(`${s}\n`);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, ADDR, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}
const accepts = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, ADDR, () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });

async function startSshd() {
  const ssh = path.join(tmp, 'ssh');
  fs.mkdirSync(ssh);
  fs.mkdirSync('/run/sshd', { recursive: true });
  for (const k of ['host_key', 'client_key']) execFileSync('ssh-keygen', ['-q', '-N', '', '-t', 'ed25519', '-f', path.join(ssh, k)]);
  fs.copyFileSync(path.join(ssh, 'client_key.pub'), path.join(ssh, 'authorized_keys'));
  const port = await freePort();
  const hostPub = fs.readFileSync(path.join(ssh, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  fs.writeFileSync(path.join(ssh, 'known_hosts'), `[${ADDR}]:${port} ${hostPub}\n`);
  const config = path.join(ssh, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `ListenAddress ${ADDR}:${port}`,
      `HostKey ${path.join(ssh, 'host_key')}`,
      `PidFile ${path.join(ssh, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(ssh, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'MaxStartups 64:30:128',
      'LogLevel ERROR',
      'SetEnv SHLVL=1',
      '',
    ].join('\n'),
  );
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: 'ignore' });
  children.push(sshd);
  for (let i = 0; i < 200 && !(await accepts(port)); i++) await new Promise((r) => setTimeout(r, 50));
  const sshCommand = `ssh -F /dev/null -i ${path.join(ssh, 'client_key')} -o IdentitiesOnly=yes -o UserKnownHostsFile=${path.join(ssh, 'known_hosts')} -o StrictHostKeyChecking=yes`;
  return { port, sshCommand };
}

const plan = (remote, serving, withStore = true) => `release:
  name: shop
  version: 1.1.0
  environment: production
${withStore ? `store:\n  git: { remote: "${remote}", lease: 6s }\n` : ''}acceptance:
  file: verdict.txt
phases:
  deploy:
    steps:
      - name: deploy
        run: echo "\${release.version}" > ${serving}
rollback:
  steps:
    - name: switch back
      run: echo "\${release.previousVersion}" > ${serving}
monitoring:
  window: 20s
  interval: 500ms
  shortWindowReason: a demo
  baseline:
    fixed: { health: 1 }
  metrics:
    - id: health
      command: cat health.txt
      guard: { min: 1 }
`;

function git(cwd, env, ...args) {
  return execFileSync('git', args, { cwd, env, encoding: 'utf8' }).trim();
}

function workspace(name, origin, sshCommand) {
  const home = path.join(tmp, `home-${name}`);
  fs.mkdirSync(home);
  fs.writeFileSync(path.join(home, '.gitconfig'), `[user]\n\tname = ${name}\n\temail = ${name}@example.com\n`);
  const env = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_SSH_COMMAND: sshCommand };
  const dir = path.join(tmp, name);
  git(tmp, env, 'clone', '-q', origin, dir);
  return { name, dir, env };
}

function cli(ws, args, onLine) {
  const t0 = performance.now();
  const c = spawn(process.execPath, [CLI, ...args], { cwd: ws.dir, env: ws.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  let out = '';
  let buf = '';
  c.stdout.on('data', (d) => {
    out += d;
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop();
    for (const l of lines) onLine?.(l, performance.now());
  });
  c.stderr.on('data', (d) => (out += d));
  return { child: c, done: new Promise((resolve) => c.on('close', (code) => resolve({ code, out, ms: performance.now() - t0 }))) };
}

async function main() {
  const { port, sshCommand } = await startSshd();
  const store = path.join(tmp, 'store.git');
  git(tmp, process.env, 'init', '-q', '--bare', store);
  const remote = `ssh://root@${ADDR}:${port}${store}`;
  const serving = path.join(tmp, 'serving');
  fs.writeFileSync(serving, '1.0.0\n');
  const seed = path.join(tmp, 'seed');
  const origin = path.join(tmp, 'app.git');
  const env = { ...process.env, GIT_AUTHOR_NAME: 'seed', GIT_AUTHOR_EMAIL: 's@e', GIT_COMMITTER_NAME: 'seed', GIT_COMMITTER_EMAIL: 's@e' };
  git(tmp, env, 'init', '-q', '--bare', '-b', 'main', origin);
  fs.mkdirSync(path.join(seed, '.release'), { recursive: true });
  git(seed, env, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(seed, '.release', 'plan.yaml'), plan(remote, serving));
  fs.writeFileSync(path.join(seed, 'verdict.txt'), 'QA verdict: Ready for Launch\n');
  fs.writeFileSync(path.join(seed, 'health.txt'), '1\n');
  fs.writeFileSync(path.join(seed, '.gitignore'), '.release/runs/\n.release/lock\n.release/store/\n');
  for (const a of [
    ['add', '-A'],
    ['commit', '-qm', 'shop'],
    ['tag', '-a', 'v1.0.0', '-m', '1.0.0'],
    ['remote', 'add', 'origin', origin],
    ['push', '-q', 'origin', 'main', 'v1.0.0'],
  ])
    git(seed, env, ...a);
  const alice = workspace('alice', origin, sshCommand);
  const bob = workspace('bob', origin, sshCommand);
  say(`store: ${remote}\nalice: ${alice.dir}\nbob:   ${bob.dir}\n`);

  // Alice releases 1.1.0; each line she prints is timed, to time when Bob sees it.
  const aliceSaw = new Map();
  const release = cli(alice, ['run', '--yes'], (l, t) => {
    if (l.trim()) aliceSaw.set(l.trim(), t);
    say(`  alice │ ${l}`);
  });
  // Bob follows the newest run in the store once Alice has one.
  let runId;
  for (let i = 0; i < 200 && !runId; i++) {
    await new Promise((r) => setTimeout(r, 100));
    runId = fs.existsSync(path.join(alice.dir, '.release', 'runs')) ? fs.readdirSync(path.join(alice.dir, '.release', 'runs')).at(-1) : undefined;
  }
  const lags = [];
  const follow = cli(bob, ['status', '--follow', runId], (l, t) => {
    say(`    bob │ ${l}`);
    const a = aliceSaw.get(l.trim());
    if (a !== undefined && l.trim()) lags.push(t - a);
  });
  await new Promise((r) => setTimeout(r, 6000));
  say(`\nbob rolls back ${runId} from his machine, through the store\n`);
  const back = cli(bob, ['rollback', runId, '--yes', '--reason', 'the demo rolls back from another machine']);
  const [a, b] = await Promise.all([release.done, back.done]);
  await follow.done;
  const stored = git(tmp, process.env, '--git-dir', store, 'rev-list', '--count', `refs/release-pilot/runs/${runId}`);
  const events = fs
    .readFileSync(path.join(alice.dir, '.release', 'runs', runId, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n').length;
  const served = fs.readFileSync(serving, 'utf8').trim();

  // The same release without the store, for the seconds it adds.
  const solo = workspace('solo', origin, sshCommand);
  fs.writeFileSync(path.join(solo.dir, '.release', 'plan.yaml'), plan(remote, serving, false).replace('window: 20s', 'window: 2s').replace('1.1.0', '1.1.1'));
  git(solo.dir, solo.env, 'commit', '-qam', 'no store');
  const plain = await cli(solo, ['run', '--yes']).done;
  fs.writeFileSync(path.join(solo.dir, '.release', 'plan.yaml'), plan(remote, serving).replace('window: 20s', 'window: 2s').replace('1.1.0', '1.1.2'));
  git(solo.dir, solo.env, 'commit', '-qam', 'store');
  const shared = await cli(solo, ['run', '--yes']).done;

  lags.sort((x, y) => x - y);
  say('\nfigures');
  say(`  alice's release: exit ${a.code}; bob's rollback: exit ${b.code}; production serves ${served} after the rollback`);
  say(`  events in the journal: ${events}; pushes of it to the store: ${stored}`);
  say(
    `  follower lag (alice prints a line → bob prints it): median ${Math.round(lags[Math.floor(lags.length / 2)] ?? NaN)} ms, max ${Math.round(lags.at(-1) ?? NaN)} ms over ${lags.length} lines`,
  );
  say(
    `  a 2 s release: ${(plain.ms / 1000).toFixed(1)} s without the store, ${(shared.ms / 1000).toFixed(1)} s with it (+${((shared.ms - plain.ms) / 1000).toFixed(1)} s)`,
  );
  return a.code === 3 && b.code === 3 ? 0 : 1;
}

main()
  .then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`${e.stack ?? e}\n`);
      process.exitCode = 1;
    },
  )
  .finally(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  });
