import * as fs from 'node:fs';
import * as path from 'node:path';
import { git, gitResult, isRepo, tagsAtHead } from './git';

// Pathspec twins of TOOL_PATHS (plus the lock's temporary file), relative to the workspace.
const TOOL_PATHSPECS = [':(exclude).release/lock', ':(exclude).release/lock.*.tmp', ':(exclude).release/runs'];

/** Uncommitted or untracked files (paths from the repository root), the tool's own files aside. */
export async function userChanges(cwd: string): Promise<string[]> {
  return (await workingTreeChanges(cwd)).map((c) => c.shown);
}

/** A change of the working tree against HEAD: a tracked file changed (in the index or not), or an untracked file. */
export interface TreeChange {
  file: string;
  /** The file as a message names it (hidden changes say why git status does not show them). */
  shown: string;
  tracked: boolean;
}

/**
 * Every change of the working tree against HEAD, in `git status` order then the changes git status is told not
 * to see, the tool's own files aside: the one reading of "clean" the git gate, the journal and the tree gate share.
 */
export async function workingTreeChanges(cwd: string): Promise<TreeChange[]> {
  // -z: names come raw (no C quoting of spaces, quotes or non-ASCII); pathspecs: the whole repository, minus what the tool writes.
  const out = await git(cwd, ['status', '--porcelain', '-z', '--untracked-files=normal', '--', ':(top)', ...TOOL_PATHSPECS]);
  const fields = out.split('\0');
  const changes: TreeChange[] = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (f.length < 4) continue;
    changes.push({ file: f.slice(3), shown: f.slice(3), tracked: !f.startsWith('??') });
    // A rename or copy carries its source in the next field.
    if (f[0] === 'R' || f[0] === 'C') i++;
  }
  const seen = new Set(changes.map((c) => c.file));
  return [...changes, ...(await hiddenChanges(cwd)).filter((h) => !seen.has(h.file)).map((h) => ({ ...h, tracked: true }))];
}

/**
 * Tracked files `git status` is told not to look at: the index's assume-unchanged bit (`git ls-files -v`: a
 * lowercase tag) or skip-worktree bit (`S`, or `s` with both), named with why, unless the file's content
 * still hashes to the index's blob. A skip-worktree file absent from the working tree of a sparse checkout
 * (`core.sparseCheckout`) is what the checkout leaves out, not a local change; absent without a sparse
 * checkout, it is a deletion; a present one is judged on its content like any other.
 * Hashing goes through the path's attributes, as `git add` would (a clean filter that lies is a known limit).
 */
async function hiddenChanges(cwd: string): Promise<{ file: string; shown: string }[]> {
  const top = await git(cwd, ['rev-parse', '--show-toplevel']);
  const flagged: { file: string; bit: string; skip: boolean }[] = [];
  for (const entry of (await git(top, ['ls-files', '-v', '-z'])).split('\0')) {
    const tag = entry[0];
    if (!tag || entry[1] !== ' ') continue;
    const skip = tag === 'S' || tag === 's';
    if (!skip && tag === tag.toUpperCase()) continue;
    flagged.push({ file: entry.slice(2), bit: skip ? 'skip-worktree' : 'assume-unchanged', skip });
  }
  const out: { file: string; shown: string }[] = [];
  let isSparse: boolean | undefined;
  const sparse = async () => (isSparse ??= (await gitResult(top, ['config', '--bool', 'core.sparseCheckout'])).stdout.trim() === 'true');
  for (const f of flagged) {
    const onDisk = path.join(top, f.file);
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(onDisk);
    } catch {
      stat = undefined;
    }
    if (!stat) {
      if (!f.skip || !(await sparse())) out.push({ file: f.file, shown: `${f.file} (deleted, hidden from git status by ${f.bit})` });
      continue;
    }
    if (!stat.isFile()) {
      out.push({ file: f.file, shown: `${f.file} (hidden from git status by ${f.bit}; not a regular file, so not compared)` });
      continue;
    }
    const staged = /^\d+ ([0-9a-f]+) /.exec(await git(top, ['--literal-pathspecs', 'ls-files', '-s', '--', f.file]))?.[1];
    const now = await gitResult(top, ['--literal-pathspecs', 'hash-object', '--', f.file]);
    if (!staged || now.exitCode !== 0 || now.stdout.trim() !== staged)
      out.push({ file: f.file, shown: `${f.file} (changed, hidden from git status by ${f.bit})` });
  }
  return out;
}

export interface MainRef {
  /** Full ref, e.g. refs/remotes/origin/main. */
  ref: string;
  /** As shown to people, e.g. origin/main. */
  name: string;
  remote: boolean;
}

async function refExists(cwd: string, ref: string): Promise<boolean> {
  const r = await gitResult(cwd, ['show-ref', '--verify', '--quiet', ref]);
  return r.exitCode === 0;
}

/**
 * The branch a release must be merged into: the remote's copy as of the last fetch when there is
 * one (the branch's upstream remote, else origin, else any remote that has it), else the local one.
 * Full ref names throughout, so a tag or a local branch called "origin/main" cannot stand in.
 */
export async function mainRef(cwd: string, branch: string): Promise<MainRef | null> {
  const remotes = (await git(cwd, ['remote'])).split('\n').filter(Boolean);
  let upstream: string | undefined;
  try {
    upstream = await git(cwd, ['config', '--get', `branch.${branch}.remote`]);
  } catch {
    upstream = undefined;
  }
  const order = [...new Set([upstream, 'origin', ...remotes].filter((r): r is string => !!r && remotes.includes(r)))];
  for (const r of order) {
    const ref = `refs/remotes/${r}/${branch}`;
    if (await refExists(cwd, ref)) return { ref, name: `${r}/${branch}`, remote: true };
  }
  const local = `refs/heads/${branch}`;
  if (await refExists(cwd, local)) return { ref: local, name: branch, remote: false };
  return null;
}

/** Whether `commit` is `ref` or one of its ancestors. */
export async function contains(cwd: string, ref: string, commit: string): Promise<boolean> {
  const r = await gitResult(cwd, ['merge-base', '--is-ancestor', commit, ref]);
  if (r.exitCode === 0) return true;
  if (r.exitCode === 1) return false;
  throw new Error(`git merge-base --is-ancestor ${commit} ${ref}: ${r.stderr || `exit code ${r.exitCode}`}`);
}

/** The commit a ref points to (a tag peeled to its commit), or null when there is no such ref. */
export async function commitOf(cwd: string, ref: string): Promise<string | null> {
  const r = await gitResult(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  return r.exitCode === 0 ? String(r.stdout).trim() : null;
}

export interface GitGateOptions {
  branch: string;
  clean: boolean;
  tagAtHead: boolean;
  tagMatchesVersion: boolean;
  /** The tag this release's version calls for, e.g. v1.1.0. */
  wantedTag: string;
  /**
   * A redeploy of a version released before: its tag must exist and be in the main branch, wherever
   * HEAD is (the plan deploys by version, not from the working tree).
   */
  redeploy?: boolean;
  /** Where the version came from when the plan did not write it (`version: auto`), said beside the tag it expects. */
  versionOrigin?: string;
}

/** The git checklist gate: merged into the main branch, clean (tool files aside), tagged as the version says. */
export async function checkGitGate(cwd: string, o: GitGateOptions): Promise<{ ok: boolean; detail: string }> {
  if (!(await isRepo(cwd))) return { ok: false, detail: `${cwd} is not a git repository` };
  const head = await commitOf(cwd, 'HEAD');
  if (!head) return { ok: false, detail: 'the repository has no commit yet' };
  const short = head.slice(0, 12);
  const problems: string[] = [];
  const facts: string[] = [];

  const main = await mainRef(cwd, o.branch);
  if (!main) problems.push(`there is no branch ${o.branch}, local or remote, to be merged into`);
  else if (!(await contains(cwd, main.ref, head)))
    problems.push(`HEAD ${short} is not in ${main.name}${main.remote ? ' (as of the last fetch; not pushed or not merged?)' : ''}`);
  else facts.push(`HEAD ${short} is in ${main.name}`);

  if (o.clean) {
    const dirty = await userChanges(cwd);
    if (dirty.length) problems.push(`uncommitted changes in ${dirty.slice(0, 5).join(', ')}${dirty.length > 5 ? ` and ${dirty.length - 5} more` : ''}`);
    else facts.push('clean');
  }

  if (o.redeploy) {
    const tagged = await redeployTagProblem(cwd, o.wantedTag, main);
    if (typeof tagged === 'string') problems.push(tagged);
    else facts.push(tagged.fact);
    return problems.length ? { ok: false, detail: problems.join('; ') } : { ok: true, detail: facts.join(', ') };
  }

  const tags = await tagsAtHead(cwd);
  const wantedAt = await commitOf(cwd, `refs/tags/${o.wantedTag}`);
  const elsewhere = wantedAt && wantedAt !== head ? ` (${o.wantedTag} points to ${wantedAt.slice(0, 12)})` : '';
  if (o.tagMatchesVersion && (o.tagAtHead || tags.length > 0) && !tags.includes(o.wantedTag)) {
    const origin = o.versionOrigin ? ` (${o.versionOrigin})` : '';
    problems.push(
      tags.length
        ? `HEAD is tagged ${tags.join(', ')}, expected ${o.wantedTag}${origin}${elsewhere}`
        : `HEAD is not tagged ${o.wantedTag}${origin}${elsewhere}`,
    );
  } else if (o.tagAtHead && tags.length === 0) problems.push('HEAD has no tag');
  else facts.push(tags.length ? `tagged ${tags.join(', ')}` : '(no tag needed)');

  return problems.length ? { ok: false, detail: problems.join('; ') } : { ok: true, detail: facts.join(', ') };
}

/** A redeploy's tag: it exists and its commit is in the main branch; a problem in words, or the fact. */
async function redeployTagProblem(cwd: string, tag: string, main: Awaited<ReturnType<typeof mainRef>>): Promise<string | { fact: string }> {
  const at = await commitOf(cwd, `refs/tags/${tag}`);
  if (!at) return `there is no tag ${tag} to redeploy`;
  if (main && !(await contains(cwd, main.ref, at))) return `${tag} (${at.slice(0, 12)}) is not in ${main.name}`;
  return { fact: `redeploy: ${tag} (${at.slice(0, 12)})${main ? ` is in ${main.name}` : ''}` };
}

/** The full SHA of HEAD, or undefined outside a repository or before the first commit. */
export async function headCommit(cwd: string): Promise<string | undefined> {
  return (await isRepo(cwd)) ? ((await commitOf(cwd, 'HEAD')) ?? undefined) : undefined;
}

/**
 * Why the release can no longer go on from `recorded` (the commit it started from), or null: HEAD
 * moved, or the release tag now points elsewhere. Both SHAs are named in full, for the audit.
 */
export async function releaseCommitMoved(cwd: string, recorded: string, tag: string, recordedTagCommit?: string): Promise<string | null> {
  const head = await headCommit(cwd);
  if (head !== recorded) return `this release started from commit ${recorded}, but HEAD is now ${head ?? '(no git commit)'}`;
  const tagged = await commitOf(cwd, `refs/tags/${tag}`);
  // A redeploy's tag is an older commit than HEAD: it must still be the one it was at the start.
  if (recordedTagCommit) {
    if (tagged !== recordedTagCommit)
      return `this redeploy started with its tag ${tag} at ${recordedTagCommit}, but ${tag} now points to ${tagged ?? '(no tag)'}`;
    return null;
  }
  if (tagged && tagged !== recorded) return `this release started from commit ${recorded}, but its tag ${tag} now points to ${tagged}`;
  return null;
}
