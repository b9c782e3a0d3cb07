// Renders media/icon.svg to media/icon.png (128×128, the Marketplace needs a PNG) with the Chromium the tests use.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const svg = path.join(root, 'media', 'icon.svg');
const out = path.join(root, 'media', 'icon.png');
const html = path.join(fs.mkdtempSync('/tmp/rp-icon-'), 'icon.html');
fs.writeFileSync(html, `<html><body style="margin:0;background:transparent"><img src="file://${svg}" width="128" height="128"></body></html>`);
execFileSync(
  process.env.CHROMIUM ?? 'chromium',
  [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--hide-scrollbars',
    '--default-background-color=00000000',
    '--window-size=128,128',
    `--screenshot=${out}`,
    `file://${html}`,
  ],
  { stdio: 'inherit' },
);
console.log(`${path.relative(root, out)}: ${fs.statSync(out).size} bytes`);
