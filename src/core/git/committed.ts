import * as fs from 'node:fs';
import * as path from 'node:path';
import { git, gitResult, isRepo } from './git';

const MAX_LINK_HOPS = 8;

/** The repository's top folder with its symlinks resolved, or undefined when `cwd` is in none. */
export async function repositoryTop(cwd: string): Promise<string | undefined> {
  if (!(await isRepo(cwd))) return undefined;
  return fs.realpathSync(await git(cwd, ['rev-parse', '--show-toplevel']));
}

/**
 * Where a file of the working tree sits in the repository (a `/` path from the top), or undefined when
 * it is outside: as written first, then with its folder's symlinks resolved (a plan reached through a link
 * to the repository). The file's own name is kept: a symlinked plan is judged by what HEAD has at that name.
 */
export function pathInRepository(top: string, file: string): string | undefined {
  const inside = (p: string) => {
    const rel = path.relative(top, p);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : undefined;
  };
  const written = inside(path.resolve(file));
  if (written) return written;
  try {
    return inside(path.join(fs.realpathSync(path.dirname(path.resolve(file))), path.basename(file)));
  } catch {
    return undefined;
  }
}

async function treeEntry(top: string, rel: string): Promise<{ mode: string; type: string; sha: string } | undefined> {
  const out = await git(top, ['--literal-pathspecs', 'ls-tree', '-z', 'HEAD', '--', rel]);
  const m = /^(\d+) (\w+) ([0-9a-f]+)\t/.exec(out);
  return m ? { mode: m[1], type: m[2], sha: m[3] } : undefined;
}

/** A blob's exact text: git's output loses its last line break, which its size gives back. */
async function blobText(top: string, sha: string): Promise<string> {
  const text = await git(top, ['cat-file', 'blob', sha]);
  const size = Number(await git(top, ['cat-file', '-s', sha]));
  const lost = size - Buffer.byteLength(text);
  return text + (lost === 2 ? '\r\n' : lost === 1 ? '\n' : '');
}

/**
 * The text HEAD's tree has at `rel`, following symlinks inside the tree (a link on the way, or the file
 * itself), as a checkout of HEAD would read it; undefined when HEAD has no file there, or a link leads out.
 */
export async function committedText(top: string, rel: string, hops = 0): Promise<string | undefined> {
  if ((await gitResult(top, ['rev-parse', '-q', '--verify', 'HEAD^{commit}'])).exitCode !== 0) return undefined;
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    const entry = await treeEntry(top, prefix);
    if (!entry) return undefined;
    if (entry.mode === '120000') {
      if (hops >= MAX_LINK_HOPS) return undefined;
      const target = await git(top, ['cat-file', 'blob', entry.sha]);
      const next = path.posix.normalize(path.posix.join(path.posix.dirname(prefix), target, ...parts.slice(i)));
      if (path.posix.isAbsolute(target) || next.startsWith('..')) return undefined;
      return committedText(top, next, hops + 1);
    }
    if (i === parts.length) return entry.type === 'blob' ? blobText(top, entry.sha) : undefined;
    if (entry.type !== 'tree') return undefined;
  }
  return undefined;
}

/** Every `.release/plan.yaml` HEAD's tree holds, anywhere in the repository (paths from its top). */
export async function committedPlanPaths(top: string): Promise<string[]> {
  if ((await gitResult(top, ['rev-parse', '-q', '--verify', 'HEAD^{commit}'])).exitCode !== 0) return [];
  const out = await git(top, ['ls-tree', '-r', '-z', '--name-only', 'HEAD']);
  return out.split('\0').filter((p) => p === '.release/plan.yaml' || p.endsWith('/.release/plan.yaml'));
}

/** What HEAD's tree has at `rel` when it is not a file: a symlink (with its target) or another kind; undefined when nothing. */
export async function committedKind(top: string, rel: string): Promise<string | undefined> {
  if ((await gitResult(top, ['rev-parse', '-q', '--verify', 'HEAD^{commit}'])).exitCode !== 0) return undefined;
  const entry = await treeEntry(top, rel);
  if (!entry) return undefined;
  if (entry.mode === '120000')
    return `a symlink to ${await git(top, ['cat-file', 'blob', entry.sha])}, which leads out of the repository or to no committed file`;
  return entry.type === 'blob' ? 'a file' : `a ${entry.type === 'tree' ? 'folder' : entry.type}`;
}

/** Whether the index holds a change of `rel` that HEAD does not have. */
export async function stagedChange(top: string, rel: string): Promise<boolean> {
  return (await gitResult(top, ['--literal-pathspecs', 'diff', '--cached', '--quiet', 'HEAD', '--', rel])).exitCode === 1;
}
