// What the masking tests share: a step that prints a secret between markers, the real CLI run to its
// end, and the masker's output checked to be the same whole, streamed at any cut, a character at a time.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type { SecretMasker } from '../../src/core/exec/mask';
import { ROOT } from './helpers';
import { smallPlan, type Workspace } from './fixtures';

/** Where a step prints the secret between two markers, so a test can tell what lies between them. */
export const OPEN = 'QQopenQQ';
export const CLOSE = 'QQcloseQQ';

/** The real CLI with `env` over this process's environment (as user `cli-user`), run to its end. */
export function runCliToEnd(args: string[], env: Record<string, string>, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', [path.join(ROOT, 'dist', 'cli.js'), ...args], {
      cwd,
      env: { ...process.env, USER: 'cli-user', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The small plan with RP_SECRET a secret and a deploy step that runs `lines`, then fails (exit 3): its
 * tail reaches the journal, the report and the terminal. The step's bash has the secret in `$S` and
 * the markers in `$O` and `$C`, put together by bash, so the command `--verbose` shows holds neither.
 */
export function secretPrintingPlan(lines: string[]): string {
  const script = [`O=${OPEN.slice(0, 4)}''${OPEN.slice(4)} C=${CLOSE.slice(0, 4)}''${CLOSE.slice(4)} S="$RP_SECRET"`, ...lines, 'exit 3'].join('\n');
  return smallPlan({
    deploy: `    steps:\n      - name: deploy\n        env: { LANG: C.UTF-8 }\n        run: |\n${script
      .split('\n')
      .map((l) => `          ${l}`)
      .join('\n')}`,
  }).replace('secrets: [TINY_TOKEN]', 'secrets: [TINY_TOKEN, RP_SECRET]');
}

/** The newest run of the workspace: its folder, and the log of its deploy step. */
export function newestDeployLog(ws: Workspace): { runDir: string; log: string } {
  const runs = path.join(ws.dir, '.release/runs');
  const runDir = path.join(runs, fs.readdirSync(runs).sort().at(-1)!);
  const logs = path.join(runDir, 'logs');
  return {
    runDir,
    log: fs.readFileSync(
      path.join(
        logs,
        fs.readdirSync(logs).find((f) => f.startsWith('deploy'))!,
      ),
      'utf8',
    ),
  };
}

/** The masker's output for the whole text, and that the stream gives the same cut anywhere and a character at a time. */
export function maskedEveryWay(masker: SecretMasker, printed: string, where: string): string {
  const whole = masker.mask(printed);
  for (let at = 0; at <= printed.length; at++) {
    let streamed = '';
    const sink = masker.stream((t) => (streamed += t));
    sink.write(printed.slice(0, at));
    sink.write(printed.slice(at));
    sink.end();
    assert.equal(streamed, whole, `${where}: cut at ${at}`);
  }
  let byChar = '';
  const sink = masker.stream((t) => (byChar += t));
  for (const ch of printed) sink.write(ch);
  sink.end();
  assert.equal(byChar, whole, `${where}: one character at a time`);
  return whole;
}
