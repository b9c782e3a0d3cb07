#!/usr/bin/env node
// Runs every test layer and prints one closing line: "N passed, N failed".
//   unit         mocha in plain Node against src/: pure and fast (test/unit)
//   system       mocha in plain Node: real releases, processes, git, Prometheus, the demo (test/system)
//   integration  mocha inside a real VS Code extension host (code-server), per VS Code version
//   e2e          Playwright driving the real workbench in Chromium, per VS Code version
// --only=unit|system|vscode   run one group; VSCODE_VERSIONS=min,latest picks the hosts (default both);
// --full-e2e                  every UI test on every version (by default the longest run on latest only, see below);
// VSCODE_TEST_LOCK=FILE       each VS Code run holds `flock FILE` (for machines where several checkouts test at once).
// Every layer's whole output is also kept in test-results/logs/<layer>.log.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const fullE2E = process.argv.includes('--full-e2e');
const wants = (group) => !only || only === group;
const LOGS = path.join(ROOT, 'test-results', 'logs');
fs.rmSync(LOGS, { recursive: true, force: true });
fs.mkdirSync(LOGS, { recursive: true });
const totals = { passed: 0, failed: 0, layers: [], failures: [] };
const t0 = Date.now();
const seconds = (ms) => `${Math.round(ms / 1000)} s`;

/** Runs one command; with two lanes at once, each output line is prefixed with its layer. */
function run(name, cmd, args, { prefix = false, lock = false, env = {} } = {}) {
  if (lock && process.env.VSCODE_TEST_LOCK) [cmd, args] = ['flock', [process.env.VSCODE_TEST_LOCK, cmd, ...args]];
  const started = Date.now();
  console.log(`[${name}] starts at ${seconds(started - t0)}: ${cmd} ${args.join(' ')}`);
  const log = fs.createWriteStream(path.join(LOGS, `${name.replace(/\W+/g, '-')}.log`));
  return new Promise((resolve) => {
    let out = '';
    let partial = '';
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (d) => {
      out += d;
      log.write(d);
      if (!prefix) return process.stdout.write(d);
      const lines = (partial + d).split('\n');
      partial = lines.pop();
      for (const l of lines) process.stdout.write(`[${name}] ${l}\n`);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('close', (code, signal) => {
      if (partial) process.stdout.write(`[${name}] ${partial}\n`);
      log.end();
      const ms = Date.now() - started;
      console.log(`[${name}] done in ${seconds(ms)}`);
      resolve({ code: code ?? 1, signal, out, ms });
    });
  });
}

/** Each layer prints `RESULT {"passed":N,"failed":N}`; a layer that crashes before that counts as one failure. */
function count(name, r) {
  const m = [...r.out.matchAll(/^RESULT (\{.*\})$/gm)].at(-1);
  let passed = 0;
  let failed = 0;
  let failures = [];
  if (m) ({ passed, failed, failures = [] } = JSON.parse(m[1]));
  if (!m || (r.code !== 0 && failed === 0)) {
    failed += 1;
    failures.push(`exit ${r.code}${r.signal ? ` (${r.signal})` : ''} without a failed test`);
  }
  totals.failures.push(...failures.map((f) => `${name}: ${f}`));
  totals.passed += passed;
  totals.failed += failed;
  totals.layers.push(`${name}: ${passed} passed, ${failed} failed${r.code !== 0 ? ` (exit ${r.code})` : ''} in ${seconds(r.ms)}`);
}

/** A step that prints no RESULT line: it counts only when it fails. */
function must(name, r) {
  totals.layers.push(`${name}: ${r.code === 0 ? 'ok' : `FAILED (exit ${r.code})`} in ${seconds(r.ms)}`);
  if (r.code !== 0) totals.failed += 1;
  return r.code === 0;
}

const versions = (process.env.VSCODE_VERSIONS ?? 'min,latest').split(',').filter(Boolean);
const vsix = path.join(ROOT, '.test-host', 'release-pilot-under-test.vsix');

// Debian packages the tests use (Chromium, Prometheus, sqlite3, build headers), installed when missing.
let ok = must('system packages', await run('system packages', 'node', ['test/host/install.mjs', '--system']));
// code-server for each VS Code version (on a fresh machine a few minutes of npm and native builds,
// both at once; .ci/run starts them during lint) installs while the extension is packaged and built,
// and is done before any test starts: a compile beside a test with a time limit would make it flaky.
const installs = ok && wants('vscode') ? Promise.all(versions.map((v) => run(`install ${v}`, 'node', ['test/host/install.mjs', v], { prefix: true }))) : [];
// The UI tests install the extension as users get it: packaged once here for both versions. Packaging
// rebuilds dist/ for production, so the test build comes after it and every layer runs the same dist/.
if (ok && wants('vscode')) {
  fs.mkdirSync(path.dirname(vsix), { recursive: true });
  const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  ok = must('package', await run('package', 'node', [vsce, 'package', '--no-dependencies', '--no-rewrite-relative-links', '--out', vsix]));
}
if (ok) ok = must('build', await run('build', 'node', ['esbuild.mjs', '--tests']));
const hostsReady = (await installs).every((r, i) => must(`install ${versions[i]}`, r));

// The Node layers and the VS Code layers run at the same time: the Node layers mostly wait on the
// processes, services and timers they start, and the VS Code layers on a browser, so on two cores the
// run takes about as long as the VS Code lane alone. The one test that cannot share the machine, the
// host's self-check (it asserts that no test-host process survives and nothing new appears under
// ~/.config, ~/.local, ~/.cache), runs in the VS Code lane, between VS Code runs.
const both = !only;
const prefix = both;
const HARNESS = 'harness';

/**
 * The system layer's files dealt into `lanes` lists: the longest first (times last measured, in
 * test/system-times.json; a file not measured yet counts as the median), each onto the list with the
 * least time so far. `head` is time already on the first list (the unit layer runs there first).
 */
function deal(files, lanes, head) {
  let times = {};
  try {
    times = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'system-times.json'), 'utf8'));
  } catch {
    // No times yet: every file counts the same.
  }
  const known = Object.values(times).sort((a, b) => a - b);
  const median = known.length ? known[Math.floor(known.length / 2)] : 1;
  const time = (f) => times[f] ?? median;
  // Files that use the same fixed addresses (the fleet's sshd hosts on 127.0.0.x) go to one lane together.
  const bundles = new Map();
  for (const f of files) {
    const key = /^fleet/.test(f) ? 'fleet' : f;
    bundles.set(key, [...(bundles.get(key) ?? []), f]);
  }
  const cost = (b) => b.reduce((sum, f) => sum + time(f), 0);
  const out = Array.from({ length: lanes }, (_, i) => ({ ms: i === 0 ? head : 0, files: [] }));
  for (const b of [...bundles.values()].sort((a, b) => cost(b) - cost(a) || a[0].localeCompare(b[0]))) {
    const lane = out.reduce((min, l) => (l.ms < min.ms ? l : min));
    lane.files.push(...b);
    lane.ms += cost(b);
  }
  return out.map((l) => l.files.sort());
}

// The system layer runs in TEST_SHARDS mocha processes at once (4 by default): its tests mostly wait
// on the processes, services and timers they start, and no two files share a port, an address or a
// folder (each takes free ports and its own temp folders; only the fleet files use fixed addresses,
// and they share one lane).
const SHARDS = Math.max(1, Number(process.env.TEST_SHARDS ?? 4) || 1);
const UNIT_MS = 60_000;

async function nodeLane() {
  const files = wants('system')
    ? fs
        .readdirSync(path.join(ROOT, 'out', 'system'))
        .filter((f) => f.endsWith('.test.js'))
        .map((f) => f.slice(0, -'.test.js'.length))
        .filter((f) => !both || f !== HARNESS)
    : [];
  const lanes = deal(files, SHARDS, wants('unit') ? UNIT_MS : 0);
  await Promise.all(
    lanes.map(async (shard, i) => {
      if (i === 0 && wants('unit')) count('unit', await run('unit', 'node', ['test/run-mocha.mjs', 'unit'], { prefix }));
      if (!shard.length) return;
      const name = lanes.length > 1 ? `system ${i + 1}/${lanes.length}` : 'system';
      const env = lanes.length > 1 ? { TEST_SHARD: String(i + 1) } : {};
      count(name, await run(name, 'node', ['test/run-mocha.mjs', 'system', ...shard], { prefix: prefix || lanes.length > 1, env }));
    }),
  );
}

async function vscodeLane() {
  if (!hostsReady) return;
  if (both) count('system (host self-check)', await run('harness', 'node', ['test/run-mocha.mjs', 'system', HARNESS], { prefix, lock: true }));
  // The newest VS Code runs every UI test. The oldest supported one runs the integration suite and the
  // UI tests of each surface (palette, tree rows, checklist click, dialogs, terminal text, webview panel
  // and its reload, status-bar rollback, rollback dialog, plan help and its quick fix, preview, Releases
  // view and its row menu (compare, redeploy), walkthrough: release, scope, editor and history). The long scenarios (the
  // 100-click monitoring test, the demo driven from VS Code, hostile text) drive those same surfaces
  // through the same extension API, so a second run of them on 1.100 costs ~4 min and finds what the
  // short ones find; --full-e2e runs them on every version.
  // The shorter run goes first, so that the long scenarios mostly run once the Node lane is done.
  for (const v of versions) {
    const short = !fullE2E && v !== 'latest' ? ['--e2e-files', 'release,scope,editor,history'] : [];
    const args = ['test/host/run.mjs', '--version', v, '--integration', '--e2e', '--vsix', vsix, ...short];
    count(`vscode ${v}`, await run(`vscode ${v}`, 'node', args, { prefix, lock: true }));
  }
}

if (ok) await Promise.all([wants('unit') || wants('system') ? nodeLane() : undefined, wants('vscode') ? vscodeLane() : undefined]);
// The system files' times of this run, merged from its lanes: copy to test/system-times.json to deal by them.
const measured = {};
for (const f of fs.readdirSync(LOGS).filter((f) => /^system-files-\d+\.json$/.test(f)))
  Object.assign(measured, JSON.parse(fs.readFileSync(path.join(LOGS, f), 'utf8')));
if (Object.keys(measured).length)
  fs.writeFileSync(
    path.join(LOGS, 'system-files.json'),
    `${JSON.stringify(Object.fromEntries(Object.entries(measured).sort((a, b) => b[1] - a[1])), null, 1)}\n`,
  );
// The failures' titles come last, beside the totals: the end of a long log is the part always read.
if (totals.failures.length) console.log(`\nfailed:\n${totals.failures.map((f) => `  ${f}`).join('\n')}`);
console.log(`\n${totals.layers.join('\n')}\ntotal time ${seconds(Date.now() - t0)}`);
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(totals.failed === 0 ? 0 : 1);
