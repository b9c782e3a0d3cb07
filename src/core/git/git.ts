import { execa } from 'execa';

export class GitError extends Error {}

export async function git(cwd: string, args: string[]): Promise<string> {
  const r = await execa('git', args, { cwd, reject: false, stripFinalNewline: true, env: { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } });
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
