// The plan's `store:` made into a ReleaseStore: the one place a backend is chosen.
import { execa } from 'execa';
import type { StoreSettings } from '../model/schema-store';
import { GitStore } from './gitStore';
import type { ReleaseStore } from './storeTypes';

/** A remote written as a name (`origin`), not a URL or a path: letters, digits, `.`, `_`, `-`. */
const REMOTE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The URL of the workspace repository's remote `name`, or an error naming the plan key and the remote. */
async function remoteUrl(name: string, workspace: string, env: Record<string, string | undefined>): Promise<string> {
  const r = await execa('git', ['remote', 'get-url', '--', name], { cwd: workspace, env, reject: false, timeout: 10_000 });
  if (r.exitCode === 0 && String(r.stdout).trim()) return String(r.stdout).trim();
  throw new Error(
    `store.git.remote: "${name}" is no remote of the workspace repository ${workspace} (${String(r.stderr).trim().split('\n')[0] || 'git remote get-url failed'}): write a URL, or add the remote with git remote add ${name} <url>`,
  );
}

/** The value of a `${env:NAME}` reference, or an error naming the key and the variable. */
function envValue(key: string, ref: string, env: Record<string, string | undefined>): string {
  const name = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(ref)?.[1];
  const value = name === undefined ? undefined : env[name];
  if (!value) throw new Error(`${key}: ${ref} is not set in the environment: set ${name ?? 'it'} to the connection URL`);
  return value;
}

export async function openStore(config: StoreSettings, workspace: string, env: Record<string, string | undefined> = process.env): Promise<ReleaseStore> {
  if ('git' in config) {
    const { remote, lease } = config.git;
    const url = REMOTE_NAME_RE.test(remote) ? await remoteUrl(remote, workspace, env) : remote;
    return new GitStore(url, { workspace, leaseMs: lease, env });
  }
  envValue('store.postgres.url', config.postgres.url, env);
  throw new Error('store.postgres: the PostgreSQL store is not built in this build');
}
