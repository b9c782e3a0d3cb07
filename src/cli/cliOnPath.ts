// Puts `release-pilot` on PATH, as VS Code's "Install 'code' command in PATH" does: a small shell
// script in a bin folder that runs the CLI with a given Node (VS Code's own runtime by default).
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The line that tells a script this tool wrote from anyone else's file of the same name. */
export const CLI_SCRIPT_MARK = '# release-pilot command, written by the Release Pilot extension';

export interface CliOnPathOptions {
  /** The CLI's script (dist/cli.js of the extension). */
  cli: string;
  /** The Node runtime that runs it (VS Code's: `process.execPath`, run as Node). */
  node: string;
  /** Bin folders to try, in order: the first one that can be written gets the command. */
  dirs: readonly string[];
  /** PATH as the user's shells get it, to say whether the folder is on it. */
  pathEnv: string;
}

export type CliOnPathResult = { ok: true; file: string; onPath: boolean; replaced: boolean } | { ok: false; message: string };

/** `text` as one shell word, whatever it holds (spaces, quotes, `$`, backquotes, newlines). */
export const shellWord = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

export function cliScript(o: Pick<CliOnPathOptions, 'cli' | 'node'>): string {
  return [
    '#!/bin/sh',
    CLI_SCRIPT_MARK,
    '# Run "Release Pilot: Install \'release-pilot\' Command in PATH" again after the extension updates.',
    `ELECTRON_RUN_AS_NODE=1 exec ${shellWord(o.node)} ${shellWord(o.cli)} "$@"`,
    '',
  ].join('\n');
}

function writable(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** What is at `file` now: nothing, a script this tool wrote, or someone else's file (never replaced). */
function occupant(file: string): 'none' | 'ours' | 'other' {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return 'none';
  }
  if (!st.isFile() || st.size > 4096) return 'other';
  return fs.readFileSync(file, 'utf8').split('\n')[1] === CLI_SCRIPT_MARK ? 'ours' : 'other';
}

/**
 * Writes the `release-pilot` command into the first writable folder of `dirs`, whole (a temporary
 * file renamed over it), executable. A file of that name the tool did not write is left alone and
 * named in the refusal.
 */
export function installCliOnPath(o: CliOnPathOptions): CliOnPathResult {
  if (process.platform === 'win32')
    return { ok: false, message: 'putting release-pilot on PATH is done by hand on Windows: run node "<extension>/dist/cli.js"' };
  if (!fs.existsSync(o.cli)) return { ok: false, message: `the CLI is not where the extension keeps it (${o.cli}): reinstall the extension` };
  const tried: string[] = [];
  for (const dir of o.dirs) {
    const file = path.join(dir, 'release-pilot');
    const was = occupant(file);
    if (was === 'other') {
      tried.push(`${file} exists and was not written by Release Pilot`);
      continue;
    }
    if (!writable(dir)) {
      tried.push(`${dir} cannot be written`);
      continue;
    }
    const tmp = path.join(dir, `.release-pilot.${process.pid}.tmp`);
    fs.writeFileSync(tmp, cliScript(o), { mode: 0o755 });
    fs.renameSync(tmp, file);
    const onPath = o.pathEnv.split(path.delimiter).some((p) => p && path.resolve(p) === path.resolve(dir));
    return { ok: true, file, onPath, replaced: was === 'ours' };
  }
  return { ok: false, message: `release-pilot was not put on PATH: ${tried.join('; ')}` };
}

/** Removes the command this tool wrote from `dirs`; someone else's file of that name stays. */
export function removeCliFromPath(dirs: readonly string[]): string[] {
  const removed: string[] = [];
  for (const dir of dirs) {
    const file = path.join(dir, 'release-pilot');
    if (occupant(file) !== 'ours') continue;
    fs.rmSync(file);
    removed.push(file);
  }
  return removed;
}
