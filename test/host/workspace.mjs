import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Copies a fixture workspace to a temp folder and makes it a git repo on main, tagged v1.2.3. */
export function prepareWorkspace(fixture) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rp-ws-${fixture}-`));
  fs.cpSync(path.join(ROOT, 'test', 'fixtures', fixture), dir, { recursive: true });
  // Kept as `gitignore` in this repository, so that what it ignores in the workspace is still committed here.
  if (fs.existsSync(path.join(dir, 'gitignore'))) fs.renameSync(path.join(dir, 'gitignore'), path.join(dir, '.gitignore'));
  const git = (...a) => execFileSync('git', a, { cwd: dir, stdio: 'ignore' });
  const id = ['-c', 'user.name=Fixture', '-c', 'user.email=f@example.com', '-c', 'commit.gpgsign=false'];
  git('init', '-q', '-b', 'main');
  git(...id, 'add', '-A');
  git(...id, 'commit', '-qm', 'feat: fixture');
  git('tag', 'v1.2.3');
  git('config', 'user.name', 'Fixture Engineer');
  return dir;
}
