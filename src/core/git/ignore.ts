import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * What Release Pilot itself writes under `.release/` (relative to the workspace): the lock, its
 * temporary twin and the runs. Never a user's change, so never a reason to call the tree dirty.
 * The plan, also under `.release/`, is the user's and stays counted.
 */
export const TOOL_PATHS = ['.release/lock', '.release/runs/'] as const;
/**
 * Adds the tool's paths to the workspace's `.gitignore` (created if missing), once: lines already
 * there, in any of the forms git treats alike, are not repeated. Returns the lines added.
 */
export function ensureToolIgnored(workspace: string): string[] {
  const file = path.join(workspace, '.gitignore');
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  // A link is not followed (git does not follow one either), nor is a folder written into.
  if (st && !st.isFile()) return [];
  const text = st ? fs.readFileSync(file, 'utf8') : '';
  const norm = (l: string) => l.trim().replace(/^\//, '').replace(/\/$/, '');
  const have = new Set(text.split(/\r?\n/).map(norm));
  const missing = TOOL_PATHS.filter((p) => !have.has(norm(p)));
  if (missing.length === 0) return [];
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const sep = text && !text.endsWith('\n') ? eol : '';
  fs.writeFileSync(file, `${text}${sep}${missing.map((m) => `${m}${eol}`).join('')}`);
  return missing;
}
