import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, write } from './helpers';

/** docs/guide.md, whose marked blocks the guide and template tests run as written. */
export const GUIDE = path.join(ROOT, 'docs', 'guide.md');

/** The `sh` blocks marked `<!-- guide: run -->`, in the order a reader meets them. */
export function markedBlocks(markdown = fs.readFileSync(GUIDE, 'utf8')): string[] {
  const out: string[] = [];
  const re = /<!-- guide: run -->\s*\n```sh\n([\s\S]*?)\n```/g;
  for (const m of markdown.matchAll(re)) out.push(m[1]);
  return out;
}

/** Every `sh` block of the guide with the comment above it (if any): a block is run, or says why not. */
export function shBlocks(markdown = fs.readFileSync(GUIDE, 'utf8')): Array<{ marker?: string; body: string }> {
  const out: Array<{ marker?: string; body: string }> = [];
  for (const m of markdown.matchAll(/(?:(<!-- guide: [^>]*-->)\s*\n)?```sh\n([\s\S]*?)\n```/g)) out.push({ marker: m[1], body: m[2] });
  return out;
}

/** A block that releases, rolls back or reads a run: it needs the services the plan names (nginx, PostgreSQL). */
export const needsServices = (block: string): boolean => /release-pilot (run(?! --dry-run)|rollback|status|report)\b/.test(block);

/** A folder with `release-pilot` (the built CLI) in it, to put first on the PATH. */
export function cliBin(dir: string): string {
  const bin = path.join(dir, 'bin');
  write(bin, 'release-pilot', `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, 'dist', 'cli.js')}" "$@"\n`);
  fs.chmodSync(path.join(bin, 'release-pilot'), 0o755);
  return bin;
}

export interface BlockRun {
  /** The exit status of the block's last command. */
  code: number | null;
  out: string;
  err: string;
  /** Each command of the block that exited non-zero, with its status, in order. */
  failed: Array<{ status: number; command: string }>;
  /** The environment when the block ended: what its `export`s leave for the next block, as in one terminal. */
  env: NodeJS.ProcessEnv;
}

/**
 * One block in bash (no rc file), as a reader types it into a terminal that earlier blocks left
 * `env` in: a command that fails does not stop the next one, as at a prompt, and each failure is
 * recorded (`failed`) for the test to judge. Only two traps are added to the block's text: one
 * records the failures, one the environment for the next block.
 */
export function runBlock(block: string, cwd: string, env: NodeJS.ProcessEnv, stateDir: string): Promise<BlockRun> {
  const envFile = path.join(stateDir, 'guide-env');
  const failFile = path.join(stateDir, 'guide-failed');
  fs.rmSync(failFile, { force: true });
  const script = `trap 'printf "%s\\t%s\\0" "$?" "$BASH_COMMAND" >> "$RP_GUIDE_FAILED"' ERR\ntrap 'env -0 > "$RP_GUIDE_ENV_FILE"' EXIT\n${block}\n`;
  return new Promise((resolve) => {
    const child = spawn('bash', ['--norc', '--noprofile', '-o', 'pipefail', '-c', script], {
      cwd,
      env: { ...env, RP_GUIDE_ENV_FILE: envFile, RP_GUIDE_FAILED: failFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      const next: NodeJS.ProcessEnv = {};
      for (const kv of fs.existsSync(envFile) ? fs.readFileSync(envFile, 'utf8').split('\0') : []) {
        const eq = kv.indexOf('=');
        if (eq > 0) next[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      for (const k of ['RP_GUIDE_ENV_FILE', 'RP_GUIDE_FAILED', '_', 'SHLVL', 'PWD', 'OLDPWD']) delete next[k];
      const failed = (fs.existsSync(failFile) ? fs.readFileSync(failFile, 'utf8').split('\0') : [])
        .filter(Boolean)
        .map((l) => ({ status: Number(l.slice(0, l.indexOf('\t'))), command: l.slice(l.indexOf('\t') + 1) }));
      resolve({ code, out, err, failed, env: next });
    });
  });
}
