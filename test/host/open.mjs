#!/usr/bin/env node
// Opens FOLDER in the real VS Code server (from code-server) with Release Pilot loaded from this
// checkout, and prints the URL to open in a browser. Runs until Ctrl+C.
// Usage: node test/host/open.mjs FOLDER [--version min|latest] [--port N]
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureHost } from './install.mjs';
import { startServer, workbenchUrl } from './server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const folder = path.resolve(process.argv[2] ?? '.');
const vi = process.argv.indexOf('--version');
const version = vi > 0 ? process.argv[vi + 1] : 'min';
ensureHost(version);
const server = await startServer({ version });
const url = workbenchUrl(server.host, { folder, extensionPath: ROOT });
console.log(`\nVS Code with Release Pilot: ${url}\n(open it in a browser on this machine; Ctrl+C stops the server)\n`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
