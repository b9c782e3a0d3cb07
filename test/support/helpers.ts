import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

export const ROOT = path.resolve(__dirname, '..', '..');

/** A fresh temp folder, removed after the test run. */
export function tempDir(prefix = 'rp-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}
// Each bundled test file carries its own copy of this module: they share one list and one exit hook.
const shared = globalThis as unknown as { __rpTempDirs?: string[] };
const created: string[] = shared.__rpTempDirs ?? (shared.__rpTempDirs = []);
if (created.length === 0 && !(globalThis as { __rpExitHook?: boolean }).__rpExitHook) {
  (globalThis as { __rpExitHook?: boolean }).__rpExitHook = true;
  process.on('exit', () => {
    if (process.env.KEEP_TMP) return;
    for (const d of created) fs.rmSync(d, { recursive: true, force: true });
  });
}

export function write(dir: string, rel: string, text: string): string {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/**
 * A fresh temp folder holding a copy of `dir` (`cp -a`: modes, times, links and `.git` kept). A
 * workspace that costs a release or a repository to build is built once per file and copied per test.
 */
export function copyDir(dir: string, prefix = 'rp-copy-'): string {
  const to = tempDir(prefix);
  execFileSync('cp', ['-a', `${dir}/.`, to], { stdio: ['ignore', 'pipe', 'pipe'] });
  return to;
}

/** git in `dir`, with the fixed dates every test repository is written with. */
export function gitIn(dir: string): (...args: string[]) => string {
  return (...args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z' },
    }).trim();
}

/** A real git repository with an identity, on branch main. */
export function gitRepo(dir: string): (...args: string[]) => string {
  const run = gitIn(dir);
  run('init', '-q', '-b', 'main');
  run('config', 'user.name', 'Test Engineer');
  run('config', 'user.email', 'test@example.com');
  run('config', 'commit.gpgsign', 'false');
  return run;
}
