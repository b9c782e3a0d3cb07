// Starts the VS Code server inside code-server on 127.0.0.1 with throwaway data folders, and a
// headless Chromium on it. Everything it writes lives under one temp folder, removed at the end.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { codeServerDir, nodeFor } from './install.mjs';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

const SETTINGS = {
  'terminal.integrated.gpuAcceleration': 'off', // xterm's DOM renderer: terminal text is readable in the page
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'workbench.enableExperiments': false,
  'window.commandCenter': false,
  'files.autoSave': 'off',
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * @param {{ version: 'min'|'latest', trust?: boolean, settings?: Record<string, unknown>, verbose?: boolean, vsix?: string, smokeDriver?: boolean }} o
 * With `vsix`, the packaged extension is installed as a user would, and the server runs without the
 * smoke-test driver, which would refuse every modal dialog; otherwise the extension loads from the
 * development payload, which newer builds honour only with that driver on.
 */
export async function startServer(o) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-host-'));
  const port = await freePort();
  const userData = path.join(tmp, 'user-data');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({ ...SETTINGS, 'security.workspace.trust.enabled': Boolean(o.trust), ...o.settings }, null, 2),
  );
  const xdg = {
    XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'),
    XDG_DATA_HOME: path.join(tmp, 'xdg-data'),
    XDG_CACHE_HOME: path.join(tmp, 'xdg-cache'),
    TMPDIR: path.join(tmp, 'tmp'),
  };
  fs.mkdirSync(xdg.TMPDIR, { recursive: true });
  const serverMain = path.join(codeServerDir(o.version), 'lib', 'vscode', 'out', 'server-main.js');
  const dataArgs = ['--server-data-dir', path.join(tmp, 'server-data'), '--user-data-dir', userData, '--extensions-dir', path.join(tmp, 'extensions')];
  const env = { ...process.env, ...xdg };
  if (o.vsix) {
    const r = spawnSync(nodeFor(o.version), [serverMain, '--accept-server-license-terms', ...dataArgs, '--install-extension', o.vsix], {
      env,
      encoding: 'utf8',
    });
    if (r.status !== 0 || !/successfully installed/i.test(r.stdout + r.stderr))
      throw new Error(`installing ${o.vsix} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  const args = [
    serverMain,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--without-connection-token',
    '--accept-server-license-terms',
    // Newer builds honour the extension-development payload only with the smoke-test driver on.
    ...(o.vsix || o.smokeDriver === false ? [] : ['--enable-smoke-test-driver']),
    '--disable-telemetry',
    ...(o.trust ? [] : ['--disable-workspace-trust']),
    ...dataArgs,
  ];
  const t0 = Date.now();
  // Its own process group: the file watcher, extension host and pty host die with it.
  const server = spawn(nodeFor(o.version), args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  await new Promise((resolve, reject) => {
    const onData = (d) => {
      output += d;
      if (o.verbose) process.stderr.write(`[server] ${d}`);
      if (/Web UI available at/.test(output)) resolve();
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.once('exit', (c) => reject(new Error(`the VS Code server exited early (${c}):\n${output.slice(-2000)}`)));
    setTimeout(() => reject(new Error(`the VS Code server did not start in 60 s:\n${output.slice(-2000)}`)), 60_000).unref();
  });
  const host = `127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {}
    const end = Date.now() + 5000;
    while (Date.now() < end) {
      try {
        process.kill(-server.pid, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {}
    if (!process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.once('exit', () => {
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {}
  });
  return { host, port, tmp, xdg, startMs: Date.now() - t0, stop, serverPid: server.pid, output: () => output };
}

export async function launchBrowser(tmp, xdg) {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(path.join(tmp, 'chromium'), {
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, ...xdg },
    viewport: { width: 1440, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** The workbench URL that opens `folder` with the extension under development (and its tests). */
export function workbenchUrl(host, { folder, extensionPath, testsPath }) {
  const remote = (p) => `vscode-remote://${host}${p}`;
  const payload = [
    ['extensionDevelopmentPath', remote(extensionPath)],
    ['skipWelcome', 'true'],
  ];
  if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
  const where = folder ? `folder=${encodeURIComponent(folder)}` : 'ew=true';
  return `http://${host}/?${where}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}
