// A git remote served by a real sshd on its own loopback address, and "machines": workspaces with their own
// HOME, git identity and ssh client settings, as two teammates' laptops would be.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { GitStore } from '../../src/core/store/gitStore';
import type { HolderInfo } from '../../src/core/store/storeTypes';
import { tempDir } from './helpers';
import { alive } from './processes';
import { waitFor } from './waitFor';

export const STORE_ADDR = '127.0.0.21';
const SSHD = '/usr/sbin/sshd';

/** A port on `addr` nothing listens on (it was free a moment ago). */
export function freePortOn(addr: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, addr, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function accepts(port: number, addr: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, addr, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export interface GitRemote {
  /** ssh://root@127.0.0.21:PORT/…/store.git */
  url: string;
  port: number;
  /** The bare repository sshd serves. */
  bare: string;
  /** The ssh command a client of this remote uses: its key, its known_hosts. */
  sshCommand: string;
  /** git in the bare repository, as the server sees it. */
  git(...args: string[]): string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A bare repository served by a real sshd on `addr` (127.0.0.21 unless given; a free port), with its own host key and a client key. */
export async function startGitRemote(addr = STORE_ADDR): Promise<GitRemote> {
  const dir = tempDir('rp-gitremote-');
  const bare = path.join(dir, 'store.git');
  execFileSync('git', ['init', '-q', '--bare', bare]);
  const sshDir = path.join(dir, 'ssh');
  fs.mkdirSync(sshDir);
  fs.mkdirSync('/run/sshd', { recursive: true });
  execFileSync('ssh-keygen', ['-q', '-N', '', '-t', 'ed25519', '-f', path.join(sshDir, 'host_key'), '-C', 'store-host']);
  execFileSync('ssh-keygen', ['-q', '-N', '', '-t', 'ed25519', '-f', path.join(sshDir, 'client_key'), '-C', 'store-client']);
  fs.copyFileSync(path.join(sshDir, 'client_key.pub'), path.join(sshDir, 'authorized_keys'));
  const port = await freePortOn(addr);
  const hostPub = fs.readFileSync(path.join(sshDir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  fs.writeFileSync(path.join(sshDir, 'known_hosts'), `[${addr}]:${port} ${hostPub}\n`);
  const config = path.join(sshDir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `ListenAddress ${addr}:${port}`,
      `HostKey ${path.join(sshDir, 'host_key')}`,
      `PidFile ${path.join(sshDir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(sshDir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The temp folders are not root's home: sshd's ownership walk up the path would refuse the key.
      'StrictModes no',
      'MaxStartups 64:30:128',
      'MaxSessions 64',
      'LogLevel ERROR',
      // root's shell reads ~/.bashrc for a command over ssh when SHLVL is below 2: the host's shell setup has no place here.
      'SetEnv SHLVL=1',
      '',
    ].join('\n'),
  );
  const sshCommand = `ssh -F /dev/null -i ${path.join(sshDir, 'client_key')} -o IdentitiesOnly=yes -o UserKnownHostsFile=${path.join(sshDir, 'known_hosts')} -o StrictHostKeyChecking=yes`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'sshd.log'), 'a')] });
    // Waits for the real sshd to accept connections.
    const end = Date.now() + 10_000;
    while (!(await accepts(port, addr))) {
      if (Date.now() > end) throw new Error(`sshd did not start: ${fs.readFileSync(path.join(dir, 'sshd.log'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const pid = child?.pid;
    if (pid && alive(pid)) child!.kill('SIGTERM');
    // Waits for sshd to end.
    if (pid) await waitFor(() => !alive(pid), 5000, 20);
    // Its sessions (git-receive-pack of a push in flight) end with their connections.
  };
  await start();
  return {
    url: `ssh://root@${addr}:${port}${bare}`,
    port,
    bare,
    sshCommand,
    git: (...args) => execFileSync('git', ['--git-dir', bare, ...args], { encoding: 'utf8' }).trim(),
    stop,
    start,
  };
}

export interface Machine {
  name: string;
  workspace: string;
  /** The environment its git and ssh run with: its own HOME and identity, the remote's ssh command. */
  env: Record<string, string | undefined>;
  host: string;
}

/** A teammate's machine: a workspace with its own HOME and git identity. */
export function machine(name: string, remote: GitRemote): Machine {
  const root = tempDir(`rp-machine-${name}-`);
  const home = path.join(root, 'home');
  const workspace = path.join(root, 'workspace');
  fs.mkdirSync(home);
  fs.mkdirSync(workspace);
  fs.writeFileSync(path.join(home, '.gitconfig'), `[user]\n\tname = ${name}\n\temail = ${name}@example.com\n`);
  const env = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_SSH_COMMAND: remote.sshCommand };
  return { name, workspace, env, host: `${name}.example` };
}

/**
 * One machine's side of a race for a release lock, when a test bundle runs as its own process with
 * STORE_MACHINE set to a JSON order: opens the git store of its workspace, waits for the agreed instant,
 * acquires, and prints what it got as one line of JSON.
 */
export async function storeMachine(order: { url: string; workspace: string; key: string; me: HolderInfo; startAt: number }): Promise<void> {
  const store = new GitStore(order.url, { workspace: order.workspace, leaseMs: order.me.leaseMs });
  try {
    await store.holder(order.key);
    await new Promise((r) => setTimeout(r, Math.max(0, order.startAt - Date.now()))); // waits for the instant both machines start at
    const t = performance.now();
    const r = await store.acquire(order.key, { ...order.me, pid: process.pid });
    const ms = performance.now() - t;
    process.stdout.write(`${JSON.stringify(r.ok ? { ok: true, info: r.lease.info, ms } : { ok: false, holder: r.holder, ms })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
    process.exitCode = 1;
  } finally {
    await store.close();
  }
}
