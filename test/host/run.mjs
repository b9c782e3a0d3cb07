#!/usr/bin/env node
// Runs the extension's tests inside a real VS Code (the VS Code server shipped in code-server),
// driven by Debian's Chromium:
//   --integration  mocha inside the extension host (out/integration), one window per fixture workspace
//   --e2e          Playwright tests against the workbench (out/e2e), saving screenshots to test-results/
// --version min|latest picks the VS Code build. Prints `RESULT {"passed":N,"failed":N}` last.
//   --e2e-files a,b  only those UI test files (out/e2e/a.test.js, …); default every one
//   --vsix PATH      install that package in the UI tests instead of packaging the extension again
// Also usable as @vscode/test-electron's `vscodeExecutablePath`: it then accepts
// --extensionDevelopmentPath=… --extensionTestsPath=… [folder] and exits with the tests' result.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as util from 'node:util';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { ensureHost, VERSIONS } from './install.mjs';
import { startServer, launchBrowser, workbenchUrl } from './server.mjs';
import { prepareWorkspace } from './workspace.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const flag = (n) => argv.includes(`--${n}`);
const opt = (n, d) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? argv[i + 1] : (argv.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3) ?? d);
};
const version = opt('version', process.env.VSCODE_VERSION ?? 'min');
const verbose = Boolean(process.env.VERBOSE);
const RESULTS = path.join(ROOT, 'test-results', `vscode-${version}`);
const TIMEOUT = Number(process.env.TEST_TIMEOUT_MS ?? 300_000);
if (!argv.some((a) => a.startsWith('--extensionTestsPath='))) fs.rmSync(RESULTS, { recursive: true, force: true });
fs.mkdirSync(RESULTS, { recursive: true });
const log = (m) => console.log(`[host ${version}] ${m}`);

/** One window with the extension and its integration tests; resolves with the counts. */
async function integrationWindow(server, browser, { folder, tests, label, grep }) {
  const page = await browser.newPage();
  let finish;
  const done = new Promise((r) => (finish = r));
  let counts;
  await page.exposeFunction('codeAutomationExit', (code) => finish(code));
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const line = util.format(...(Array.isArray(args) ? args : [args]));
    const m = /^RESULT (\{.*\})$/.exec(line.trim());
    if (m) {
      counts = JSON.parse(m[1]);
      return;
    }
    if (
      !verbose &&
      /open-vsx\.org|ENOTFOUND|vsda|punycode|Failed to fetch|connection token|Creating a socket|Service Worker|builtin extensions cache|ChatSessionStore|refused to show dialog in tests|\[AgentHost|\[AccountPolicyGate\]|reconnection-grace-time/.test(
        line,
      )
    )
      return;
    console.log(line);
  });
  if (verbose) page.on('console', (m) => console.log('[page]', m.text().slice(0, 400)));
  const url = workbenchUrl(server.host, { folder, extensionPath: ROOT, testsPath: tests });
  const env = grep ? `&grep=${encodeURIComponent(grep)}` : '';
  log(`${label}: ${folder}`);
  await page.goto(url + env);
  const timer = setTimeout(() => finish('timeout'), TIMEOUT);
  const code = await done;
  clearTimeout(timer);
  if (code !== 0) await page.screenshot({ path: path.join(RESULTS, `integration-${label}-failure.png`) }).catch(() => {});
  await page.close().catch(() => {});
  if (!counts) counts = { passed: 0, failed: 1, failures: [`integration ${label}: no result (extension host exit ${code})`] };
  if (code !== 0 && counts.failed === 0) {
    counts.failed = 1;
    counts.failures = [`integration ${label}: extension host exit ${code}`];
  }
  log(`${label}: ${counts.passed} passed, ${counts.failed} failed (extension host exit ${code})`);
  return counts;
}

async function runIntegration(total) {
  const sessions = flag('self-check')
    ? [{ label: 'self-check', fixture: 'ws-basic', trust: false, tests: path.join(ROOT, 'out', 'integration', 'suite-selfcheck') }]
    : [
        { label: 'trusted', fixture: 'ws-basic', trust: false, tests: path.join(ROOT, 'out', 'integration', 'suite-trusted') },
        { label: 'untrusted', fixture: 'ws-basic', trust: true, tests: path.join(ROOT, 'out', 'integration', 'suite-untrusted') },
      ];
  for (const s of sessions) {
    const server = await startServer({ version, trust: s.trust, verbose });
    log(`server up in ${server.startMs} ms on ${server.host}${s.trust ? ' (workspace trust on)' : ''}`);
    const browser = await launchBrowser(server.tmp, server.xdg);
    const folder = prepareWorkspace(s.fixture);
    try {
      const c = await integrationWindow(server, browser, { folder, tests: s.tests, label: s.label });
      total.passed += c.passed;
      total.failed += c.failed;
      total.failures.push(...(c.failures ?? []).map((f) => `${s.label}: ${f}`));
    } finally {
      await browser.close().catch(() => {});
      await server.stop();
      fs.rmSync(folder, { recursive: true, force: true });
    }
  }
}

/** The extension packaged as users get it (production build), for the UI tests to install. */
function packageVsix() {
  const out = path.join(ROOT, '.test-host', 'release-pilot-under-test.vsix');
  const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--no-rewrite-relative-links', '--out', out], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return out;
}

async function runE2E(total) {
  const require = createRequire(import.meta.url);
  const vsix = flag('self-check') ? undefined : opt('vsix') ? path.resolve(opt('vsix')) : packageVsix();
  if (vsix) log(`packaged ${path.relative(ROOT, vsix)} (${Math.round(fs.statSync(vsix).size / 1024)} KiB) for the UI tests`);
  const Mocha = require('mocha');
  const only = opt('e2e-files')
    ?.split(',')
    .map((f) => `${f}.test.js`);
  const files = fs.existsSync(path.join(ROOT, 'out', 'e2e'))
    ? fs
        .readdirSync(path.join(ROOT, 'out', 'e2e'))
        .filter((f) => f.endsWith('.test.js') && (!only || only.includes(f)))
        .sort()
    : [];
  const unknown = (only ?? []).filter((f) => !files.includes(f));
  if (unknown.length) throw new Error(`--e2e-files: no ${unknown.join(', ')} in out/e2e`);
  // The tests reach the host through this object: they open windows and take screenshots with it.
  globalThis.__releasePilotHost = {
    version,
    root: ROOT,
    results: RESULTS,
    prepareWorkspace,
    startServer: (o = {}) => startServer({ version, verbose, vsix, ...o }),
    launchBrowser,
    workbenchUrl: (host, o) => `http://${host}/?${o.folder ? `folder=${encodeURIComponent(o.folder)}` : 'ew=true'}`,
  };
  const mocha = new Mocha({ timeout: 180_000, reporter: 'spec', ui: 'bdd', bail: false });
  // A failed UI test leaves a picture of the workbench as it was, named after the test.
  mocha.rootHooks({
    async afterEach() {
      const page = globalThis.__releasePilotPage;
      if (this.currentTest?.state !== 'failed' || !page || page.isClosed()) return;
      const name = this.currentTest
        .fullTitle()
        .replace(/[^\w.-]+/g, '-')
        .slice(0, 120);
      await page.screenshot({ path: path.join(RESULTS, 'failures', `${version}-${name}.png`) }).catch(() => {});
      // With what the workbench's console said last.
      fs.writeFileSync(path.join(RESULTS, 'failures', `${version}-${name}.console.txt`), (globalThis.__releasePilotConsole ?? []).join('\n'));
    },
  });
  if (process.env.TEST_GREP) mocha.grep(process.env.TEST_GREP);
  // The self-check runs only the UI test that must fail; a normal run leaves it out.
  for (const f of files) if (flag('self-check') === (f === 'selfcheck.test.js')) mocha.addFile(path.join(ROOT, 'out', 'e2e', f));
  if (flag('self-check')) process.env.RP_SELF_CHECK = '1';
  await new Promise((resolve) => {
    const runner = mocha.run(() => {
      total.passed += runner.stats.passes;
      total.failed += runner.stats.failures;
      resolve();
    });
    runner.on('fail', (t, err) =>
      total.failures.push(
        `${t.fullTitle()}: ${String(err?.message ?? err)
          .split('\n')[0]
          .slice(0, 300)}`,
      ),
    );
  });
}

async function electronStyle() {
  // Called as a "VS Code executable" by @vscode/test-electron's runTests().
  const get = (n) => argv.filter((a) => a.startsWith(`--${n}=`)).map((a) => path.resolve(a.slice(n.length + 3)))[0];
  const folder = argv.find((a) => !a.startsWith('--'));
  ensureHost(version);
  const server = await startServer({ version, verbose });
  const browser = await launchBrowser(server.tmp, server.xdg);
  try {
    const c = await integrationWindow(server, browser, {
      folder: folder ? path.resolve(folder) : undefined,
      tests: get('extensionTestsPath'),
      label: 'test-electron',
    });
    return c.failed === 0 ? 0 : 1;
  } finally {
    await browser.close().catch(() => {});
    await server.stop();
  }
}

const t0 = Date.now();
const total = { passed: 0, failed: 0, failures: [] };
try {
  if (argv.some((a) => a.startsWith('--extensionTestsPath='))) process.exit(await electronStyle());
  if (!VERSIONS[version]) throw new Error(`unknown VS Code version "${version}" (use ${Object.keys(VERSIONS).join(' or ')})`);
  ensureHost(version);
  if (flag('integration')) await runIntegration(total);
  if (flag('e2e')) await runE2E(total);
} catch (e) {
  console.error(`[host ${version}] ${e.stack ?? e.message}`);
  total.failed += 1;
  total.failures.push(`host ${version}: ${String(e.message).split('\n')[0]}`);
}
log(`done in ${Math.round((Date.now() - t0) / 1000)} s`);
console.log(`RESULT ${JSON.stringify(total)}`);
process.exit(total.failed ? 1 : 0);
