import { runProgram, type ShortResult } from '../exec/short';

export class GitError extends Error {}

/** Local queries answer in milliseconds; a hung git (a lock, a filesystem) is ended, not waited for. */
const GIT_TIMEOUT_MS = 60_000;

/** Runs git with no prompt and C messages, through the core's one subprocess path. */
export function gitResult(cwd: string, args: string[]): Promise<ShortResult> {
  return runProgram('git', args, { cwd, timeoutMs: GIT_TIMEOUT_MS, env: { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } });
}

export async function git(cwd: string, args: string[]): Promise<string> {
  const r = await gitResult(cwd, args);
  if (r.timedOut) throw new GitError(`git ${args.join(' ')}: no answer within ${GIT_TIMEOUT_MS / 1000} s`);
  if (r.exitCode !== 0) throw new GitError(`git ${args.join(' ')}: ${r.stderr || `exit code ${r.exitCode}`}`);
  return r.stdout;
}

export async function isRepo(cwd: string): Promise<boolean> {
  try {
    return (await git(cwd, ['rev-parse', '--is-inside-work-tree'])) === 'true';
  } catch {
    return false;
  }
}

export const currentBranch = (cwd: string) => git(cwd, ['rev-parse', '--abbrev-ref', 'HEAD']);
export const headSha = (cwd: string) => git(cwd, ['rev-parse', 'HEAD']);

export async function tagsAtHead(cwd: string): Promise<string[]> {
  const out = await git(cwd, ['tag', '--points-at', 'HEAD']);
  return out.split('\n').filter(Boolean);
}

export async function userName(cwd: string): Promise<string | undefined> {
  try {
    return (await git(cwd, ['config', 'user.name'])) || undefined;
  } catch {
    return undefined;
  }
}
