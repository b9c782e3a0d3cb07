#!/usr/bin/env node
// Opens FOLDER in the real VS Code server (from code-server) with Release Pilot loaded from this
// checkout, and prints the URL to open in a browser. Runs until Ctrl+C.
// Usage: node test/host/open.mjs FOLDER [--version min|latest] [--port N]
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureHost } from './install.mjs';
import { startServer, workbenchUrl } from './server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const folder = path.resolve(process.argv[2] ?? '.');
const vi = process.argv.indexOf('--version');
const version = vi > 0 ? process.argv[vi + 1] : 'min';
ensureHost(version);
// For a person at the keyboard the modal dialogs must show, so no smoke-test driver: VS Code 1.100
// still loads the development payload without it; newer builds get the packaged extension installed.
let vsix;
if (version !== 'min') {
  vsix = path.join(ROOT, '.test-host', 'release-pilot-open.vsix');
  execFileSync(
    process.execPath,
    [path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-dependencies', '--no-rewrite-relative-links', '--out', vsix],
    { cwd: ROOT, stdio: 'ignore' },
  );
}
const server = await startServer({ version, smokeDriver: false, vsix });
const url = vsix ? `http://${server.host}/?folder=${encodeURIComponent(folder)}` : workbenchUrl(server.host, { folder, extensionPath: ROOT });
console.log(`\nVS Code with Release Pilot: ${url}\n(open it in a browser on this machine; Ctrl+C stops the server)\n`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
