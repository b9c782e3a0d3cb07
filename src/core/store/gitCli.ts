// The git store's one way to run git: the cache repository's own commands, and the two that reach the
// remote (fetch and push), each with a deadline, never a shell, and never a password in what it says.
import { execa } from 'execa';
import { runProgram } from '../exec/short';
import { StoreUnreachableError } from './storeTypes';

/** The longest any one git command against the remote may take, connection included. */
export const REMOTE_TIMEOUT_MS = 15_000;
/** ssh gives up connecting after this many seconds (and never asks for a password or a host key). */
const SSH_CONNECT_TIMEOUT_S = 5;

/** Where a remote is, for messages: its URL without a password. */
export function whereOf(url: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/(\/\/[^/@:]*):[^/@]*@/, '$1@');
  }
}

/** The password a URL holds, or undefined. */
function passwordOf(url: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/@:]*:([^/@]*)@/i.exec(url);
  return m?.[1] ? m[1] : undefined;
}

const isSsh = (url: string) => /^ssh:\/\//i.test(url) || /^git\+ssh:\/\//i.test(url) || /^[^/:]+@[^/:]+:/.test(url) || /^[A-Za-z0-9.-]+:(?!\/\/)/.test(url);

/** A push's answer for one ref: taken, or refused because the ref was not what the lease expected. */
export type PushOutcome = 'ok' | 'rejected';

/** A failure of a cache command: a defect or damage of the cache, said with the command and git's words. */
export class GitCacheError extends Error {
  override name = 'GitCacheError';
}

export class GitCli {
  readonly where: string;
  private readonly env: Record<string, string | undefined>;
  private readonly secret: string | undefined;

  constructor(
    readonly cache: string,
    readonly url: string,
    env: Record<string, string | undefined>,
    private readonly timeoutMs = REMOTE_TIMEOUT_MS,
  ) {
    this.where = whereOf(url);
    this.secret = passwordOf(url);
    const ssh = env.GIT_SSH_COMMAND ?? (env.GIT_SSH ? JSON.stringify(env.GIT_SSH) : 'ssh');
    this.env = {
      ...env,
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: 'true',
      SSH_ASKPASS: undefined,
      LC_ALL: 'C',
      GIT_DIR: cache,
      ...(isSsh(url) ? { GIT_SSH_COMMAND: `${ssh} -o ConnectTimeout=${SSH_CONNECT_TIMEOUT_S} -o BatchMode=yes` } : {}),
    };
  }

  /** Text with the remote's password (and the URL that holds it) written as `where`. */
  redact(text: string): string {
    let out = text.split(this.url).join(this.where);
    if (this.secret) out = out.split(this.secret).join('***').split(encodeURIComponent(this.secret)).join('***');
    return out;
  }

  /** A command on the cache repository; its stdout, or a GitCacheError with git's first line. */
  async local(args: string[], input?: string | Buffer): Promise<Buffer> {
    const r = await execa('git', args, { env: this.env, extendEnv: false, input, encoding: 'buffer', reject: false, timeout: 60_000, stripFinalNewline: false });
    if (r.exitCode !== 0)
      throw new GitCacheError(this.redact(`git ${args[0]} in the store cache ${this.cache} failed: ${firstLine(Buffer.from(r.stderr).toString('utf8')) || r.shortMessage}`));
    return Buffer.from(r.stdout);
  }

  async text(args: string[], input?: string | Buffer): Promise<string> {
    return (await this.local(args, input)).toString('utf8');
  }

  /** Runs a command that talks to the remote: its result, or StoreUnreachableError when it ran out of time or failed without an answer. */
  private async remote(args: string[]): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
    const r = await runProgram('git', args, { cwd: this.cache, timeoutMs: this.timeoutMs, env: this.env });
    if (r.spawnError) throw new StoreUnreachableError(this.where, this.redact(`git cannot be run: ${r.spawnError}`));
    if (r.timedOut) throw new StoreUnreachableError(this.where, `no answer within ${this.timeoutMs / 1000} s (git ${args[0]})`);
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  /** Fetches the refs `pattern` names (a ref or a glob under refs/release-pilot/) into the same names of the cache, pruning those gone. */
  async fetch(pattern: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.remote(['fetch', '--prune', '--no-tags', '--no-write-fetch-head', '--quiet', '--no-auto-gc', this.url, `+${pattern}:${pattern}`]);
      if (r.exitCode === 0) return;
      // Another process of this workspace fetching into the cache at the same moment holds a ref's lock: try again.
      if (/cannot lock ref|Unable to create .*\.lock/i.test(r.stderr) && attempt < 5) {
        await new Promise((res) => setTimeout(res, 50 + 50 * attempt));
        continue;
      }
      throw new StoreUnreachableError(this.where, this.redact(firstLine(r.stderr) || `git fetch ended with code ${r.exitCode}`));
    }
  }

  /**
   * One compare-and-swap the server decides: sets `ref` to `oid` (or deletes it, oid undefined) only if
   * the remote's ref is `expected` now (undefined: only if it does not exist). `--force-with-lease` sends the
   * expected value as the update's old value, and the receiving side updates the ref only if it still is that
   * (git 2.39: a ref created meanwhile is refused "(stale info)" by the client or "[remote rejected]" by the server).
   */
  async push(ref: string, oid: string | undefined, expected: string | undefined): Promise<PushOutcome> {
    const r = await this.remote(['push', '--atomic', '--porcelain', '--no-verify', `--force-with-lease=${ref}:${expected ?? ''}`, this.url, `${oid ?? ''}:${ref}`]);
    const mine = r.stdout.split('\n').find((l) => l.endsWith(ref) || l.includes(`:${ref}\t`));
    if (r.exitCode === 0 && mine && !mine.startsWith('!')) return 'ok';
    if (mine?.startsWith('!')) return 'rejected';
    throw new StoreUnreachableError(this.where, this.redact(firstLine(r.stderr) || `git push ended with code ${r.exitCode}`));
  }
}

export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? ''
  ).slice(0, 300);
}
