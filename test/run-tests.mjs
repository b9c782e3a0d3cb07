#!/usr/bin/env node
// Runs every test layer and prints one closing line: "N passed, N failed".
//   unit         mocha in plain Node against src/ (real processes, temp dirs, git, Prometheus)
//   integration  mocha inside a real VS Code extension host (code-server), per VS Code version
//   e2e          Playwright driving the real workbench in Chromium, per VS Code version
// --only=unit|vscode   run one group; VSCODE_VERSIONS=min,latest picks the hosts (default both).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const totals = { passed: 0, failed: 0, layers: [] };

function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('close', (code, signal) => resolve({ code: code ?? 1, signal, out }));
  });
}

/** Each layer prints `RESULT {"passed":N,"failed":N}`; a layer that crashes before that counts as one failure. */
function count(name, r) {
  const m = [...r.out.matchAll(/^RESULT (\{.*\})$/gm)].at(-1);
  let passed = 0;
  let failed = 0;
  if (m) ({ passed, failed } = JSON.parse(m[1]));
  if (!m || (r.code !== 0 && failed === 0)) failed += 1;
  totals.passed += passed;
  totals.failed += failed;
  totals.layers.push(`${name}: ${passed} passed, ${failed} failed${r.code !== 0 ? ` (exit ${r.code})` : ''}`);
}

const t0 = Date.now();
// Debian packages the tests use (Chromium, Prometheus, sqlite3, build headers), installed when missing.
const system = await run('node', ['test/host/install.mjs', '--system']);
if (system.code !== 0) count('system packages', system);
const build = await run('node', ['esbuild.mjs', '--tests']);
if (build.code !== 0) count('build', build);
if (!only || only === 'unit') count('unit', await run('node', ['test/run-unit.mjs']));
if (!only || only === 'vscode') {
  const versions = (process.env.VSCODE_VERSIONS ?? 'min,latest').split(',').filter(Boolean);
  for (const v of versions) {
    count(`vscode ${v}`, await run('node', ['test/host/run.mjs', '--version', v, '--integration', '--e2e']));
  }
}
console.log(`\n${totals.layers.join('\n')}\ntotal time ${Math.round((Date.now() - t0) / 1000)} s`);
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(totals.failed === 0 ? 0 : 1);
