import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { SecretMasker } from '../../src/core/exec/mask';
import { ROOT } from '../support/helpers';
import { smallPlan, workspace } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/**
 * Secrets with what shells quote: a quote, spaces, a newline, a tab, backslashes, non-ASCII, a
 * dollar, backticks, an escape character, shell operators, a leading tilde and hash, control bytes.
 */
export const SHELL_SECRETS = [
  "it's-S3cr3t-K3y",
  'sp ace"dq-x9',
  'new\nline-x9',
  'tab\tbed-x9',
  'back\\slash\\\\x9',
  'ünï-cödé-tök',
  'dol$lar-$HOME-x9',
  'back`tick`x9',
  'a!b&c;d(e)|f<g>',
  '~tilde*?[x]{y}',
  '#hash^caret,x9',
  "mix'd\n\"q\"\\e",
  'bell\x07\x01ctl-x9',
];

/** Where a step prints the secret between two markers, so a test can tell what lies between them. */
const OPEN = 'QQopenQQ';
const CLOSE = 'QQcloseQQ';

/** Control sequences, as a test recognises them independently of the product: CSI, OSC and two-character escapes. */
const ANSI = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[ -/]*[0-~])/g;

/**
 * The bash commands that print the secret (in $S) between the markers, each its own way. grep
 * colours a piece of the middle of the secret, so colour codes split it as a terminal shows it.
 */
function renderCommands(secret: string): Record<string, string> {
  const chars = [...secret];
  const mid = Math.floor(chars.length / 2);
  let piece = chars.slice(mid - 1, mid + 1).join('');
  if (/[\n\0]/.test(piece)) piece = chars.find((c) => /[A-Za-z0-9]/.test(c)) ?? 'x';
  return {
    'set -x': `(set -x; : "${OPEN}\${S}${CLOSE}") 2>&1`,
    'printf %q': `printf '%q\\n' "${OPEN}\${S}${CLOSE}"`,
    'printf %q in the C locale': `LC_ALL=C printf '%q\\n' "${OPEN}\${S}${CLOSE}"`,
    '${v@Q}': `V="${OPEN}\${S}${CLOSE}"; echo "\${V@Q}"`,
    'declare -p': `V="${OPEN}\${S}${CLOSE}"; declare -p V`,
    'grep --color=always': `printf '%s' "${OPEN}\${S}${CLOSE}" | GREP_COLORS='mt=01;31' grep -z --color=always -F -e ${bashQuote(piece)} | tr -d '\\0'; echo`,
  };
}

const bashQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** What bash really prints for each rendering of the secret. */
function bashRenderings(secret: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [how, cmd] of Object.entries(renderCommands(secret))) {
    const r = spawnSync('bash', ['--norc', '-c', cmd], { env: { ...process.env, S: secret, LANG: 'C.UTF-8', LC_ALL: '' }, encoding: 'utf8' });
    assert.equal(r.status, 0, `${how}: ${r.stderr}`);
    out[how] = r.stdout;
  }
  return out;
}

/**
 * Fails when anything of the secret is visible between the markers: as a terminal shows the text
 * (control sequences left out), only the mask may lie there, with the quotes bash put around a word.
 */
function assertHidden(where: string, text: string, token: string): void {
  const shown = text.replace(ANSI, '');
  let found = 0;
  for (let i = shown.indexOf(OPEN); i >= 0; i = shown.indexOf(OPEN, i + 1)) {
    const j = shown.indexOf(CLOSE, i);
    assert.ok(j > i, `${where}: the closing marker is missing after ${JSON.stringify(shown.slice(i, i + 120))}`);
    const between = shown.slice(i + OPEN.length, j);
    assert.ok(between.split(token[0]).join('') === '', `${where}: ${JSON.stringify(between)} shows between the markers: ${JSON.stringify(shown.slice(Math.max(0, i - 20), j + 20))}`);
    found++;
  }
  assert.ok(found > 0, `${where}: no marker in ${JSON.stringify(shown.slice(0, 300))}`);
}

describe('§5 secrets: masked as a person sees them (bash quoting, colour codes)', function () {
  this.timeout(120_000);

  for (const secret of SHELL_SECRETS)
    it(`masks ${JSON.stringify(secret)} in every rendering bash prints, whole and streamed at every cut`, () => {
      const masker = new SecretMasker([secret]);
      for (const [how, printed] of Object.entries(bashRenderings(secret))) {
        const whole = masker.mask(printed);
        assertHidden(`${how}: ${JSON.stringify(printed)}`, whole, masker.token);
        for (let at = 0; at <= printed.length; at++) {
          let streamed = '';
          const sink = masker.stream((t) => (streamed += t));
          sink.write(printed.slice(0, at));
          sink.write(printed.slice(at));
          sink.end();
          assert.equal(streamed, whole, `${how}: cut at ${at}`);
        }
        let byChar = '';
        const sink = masker.stream((t) => (byChar += t));
        for (const ch of printed) sink.write(ch);
        sink.end();
        assert.equal(byChar, whole, `${how}: one character at a time`);
      }
    });
});
