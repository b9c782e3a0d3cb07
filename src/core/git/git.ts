import * as fs from 'node:fs';
import * as path from 'node:path';
import { runProgram, type ShortResult } from '../exec/short';

export class GitError extends Error {}

/** Local queries answer in milliseconds; a hung git (a lock, a filesystem) is ended, not waited for. */
const GIT_TIMEOUT_MS = 60_000;

/**
 * The environment of the product's own git queries (what HEAD holds, whether the tree is clean, which tags
 * and approvals exist). Those answers decide gates, so nothing local may make git describe another
 * repository or other objects than the commit really has; the release's own steps keep the user's env.
 *
 * - Replace refs (`git replace`) and grafts swap an object or a commit's parents for another one, locally
 *   and unseen by the shared repository: `GIT_NO_REPLACE_OBJECTS`, `core.useReplaceRefs=false` on the
 *   command line (git 2.39 lets a repository's `core.useReplaceRefs=true` win over the variable),
 *   `GIT_REPLACE_REF_BASE` removed, and `GIT_GRAFT_FILE` pointed at an empty file.
 * - `GIT_DIR`, `GIT_WORK_TREE`, `GIT_COMMON_DIR`, `GIT_INDEX_FILE`, `GIT_OBJECT_DIRECTORY`,
 *   `GIT_ALTERNATE_OBJECT_DIRECTORIES`, `GIT_CEILING_DIRECTORIES`, `GIT_NAMESPACE` are removed: the
 *   repository judged is the one that holds the workspace, found from the folder as a plain `git` would.
 *   (Alternates in the repository itself only lend objects by hash: they cannot change what HEAD holds.)
 * - `core.fsmonitor=false`: a file-system monitor is a program that can tell `git status` nothing changed.
 * - `GIT_CONFIG_*` (global/system files, `-c` through the environment) are kept: they are the user's
 *   configuration as much as `~/.gitconfig` is (identity, `safe.directory`), and the keys above that could
 *   make git lie are set on the command line, which comes last and wins.
 */
const QUERY_ENV: Record<string, string | undefined> = {
  GIT_TERMINAL_PROMPT: '0',
  LC_ALL: 'C',
  GIT_NO_REPLACE_OBJECTS: '1',
  GIT_REPLACE_REF_BASE: undefined,
  GIT_GRAFT_FILE: '/dev/null',
  GIT_DIR: undefined,
  GIT_WORK_TREE: undefined,
  GIT_COMMON_DIR: undefined,
  GIT_INDEX_FILE: undefined,
  GIT_OBJECT_DIRECTORY: undefined,
  GIT_ALTERNATE_OBJECT_DIRECTORIES: undefined,
  GIT_CEILING_DIRECTORIES: undefined,
  GIT_NAMESPACE: undefined,
};
const QUERY_CONFIG = ['-c', 'core.useReplaceRefs=false', '-c', 'core.fsmonitor=false'];

/** Runs git with no prompt and C messages, through the core's one subprocess path, seeing the repository as committed (see QUERY_ENV). */
export function gitResult(cwd: string, args: string[]): Promise<ShortResult> {
  return runProgram('git', [...QUERY_CONFIG, ...args], { cwd, timeoutMs: GIT_TIMEOUT_MS, env: QUERY_ENV });
}

export async function git(cwd: string, args: string[]): Promise<string> {
  const r = await gitResult(cwd, args);
  if (r.timedOut) throw new GitError(`git ${args.join(' ')}: no answer within ${GIT_TIMEOUT_MS / 1000} s`);
  if (r.exitCode !== 0) throw new GitError(`git ${args.join(' ')}: ${r.stderr || r.spawnError || `exit code ${r.exitCode}`}`);
  return r.stdout;
}

export async function isRepo(cwd: string): Promise<boolean> {
  try {
    return (await git(cwd, ['rev-parse', '--is-inside-work-tree'])) === 'true';
  } catch {
    return false;
  }
}

/** The nearest folder at or above `dir` that holds a `.git` entry (folder or file), or undefined. */
export function gitEntryAbove(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, '.git'))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

/**
 * Why git cannot be trusted to answer for `cwd`, or undefined: the folder (or one above it) holds a `.git`
 * entry, but git is not found, fails, or refuses (another user's repository: "dubious ownership"). A
 * folder with no `.git` anywhere above it is no repository, and no problem here. Git's own words are kept.
 */
export async function gitUnavailable(cwd: string): Promise<string | undefined> {
  const r = await gitResult(cwd, ['rev-parse', '--is-inside-work-tree']);
  if (r.exitCode === 0 && r.stdout.trim() === 'true') return undefined;
  const at = gitEntryAbove(cwd);
  if (!at) return undefined;
  const said = (r.spawnError || r.stderr || (r.timedOut ? `no answer within ${GIT_TIMEOUT_MS / 1000} s` : `exit code ${r.exitCode}`))
    .trim()
    .replace(/\s*\n\s*/g, ' ');
  const dubious =
    /dubious ownership/.test(said) && !said.includes('safe.directory') ? ` (if you trust it: git config --global --add safe.directory ${at})` : '';
  const missing = r.spawnError ? ' (install git, or put it on PATH)' : '';
  return `${at} holds a git repository (${path.join(at, '.git')}), but git cannot read it: ${said}. Gates are read from what the repository has committed, so nothing is released until git answers${dubious}${missing}`;
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
