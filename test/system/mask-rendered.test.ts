import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { SecretMasker } from '../../src/core/exec/mask';
import { workspace } from '../support/fixtures';
import { CLOSE, maskedEveryWay, newestDeployLog, OPEN, runCliToEnd, secretPrintingPlan } from '../support/secretOutput';

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
  'mix\'d\n"q"\\e',
  'bell\x07\x01ctl-x9',
];

/** Control sequences, as a test recognises them independently of the product: CSI, OSC and two-character escapes. */
// eslint-disable-next-line no-control-regex -- control sequences are what it finds
const ANSI = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[ -/]*[0-~])/g;

/**
 * The bash commands that print the secret (in $S) between the markers, each its own way. grep
 * colours a piece of the middle of the secret, so colour codes split it as a terminal shows it.
 */
function renderCommands(secret: string): Record<string, string> {
  const chars = [...secret];
  const mid = Math.floor(chars.length / 2);
  // The grep pattern is written into the plan, which refuses control characters: the printable pair nearest the middle.
  // eslint-disable-next-line no-control-regex -- control characters are what it avoids
  const printable = (i: number) => i > 0 && i < chars.length && !/[\x00-\x1f\x7f]/.test(chars[i - 1] + chars[i]);
  const at = [...chars.keys()].sort((a, b) => Math.abs(a - mid) - Math.abs(b - mid)).find(printable);
  const piece = at === undefined ? (chars.find((c) => /[A-Za-z0-9]/.test(c)) ?? 'x') : chars[at - 1] + chars[at];
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
    assert.ok(
      between.split(token[0]).join('') === '',
      `${where}: ${JSON.stringify(between)} shows between the markers: ${JSON.stringify(shown.slice(Math.max(0, i - 20), j + 20))}`,
    );
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
        assertHidden(`${how}: ${JSON.stringify(printed)}`, maskedEveryWay(masker, printed, how), masker.token);
      }
    });
});

/** Control sequences a terminal program writes: colours, erase-line, cursor moves, a title (OSC ended by BEL or ST). */
const SEQUENCES = ['\x1b[01;31m', '\x1b[m', '\x1b[K', '\x1b[2C', '\x1b[1A', '\x1b]0;title\x07', '\x1b]8;;http://x\x1b\\', '\x1b(B', '\x1b[38;5;208m'];

describe('§5 secrets: control sequences inside a secret, streamed in any chunks (fast-check)', function () {
  this.timeout(120_000);

  it('masks a secret however control sequences split it, and the stream (cut anywhere, a sequence too) gives what the whole text gives', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SHELL_SECRETS),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...SEQUENCES)), { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.constantFrom('', 'x', '\x1b[1m', '\x1b[', '\x1b'),
        (secret, inserts, cuts, after) => {
          // Between two characters of the secret, never inside another sequence.
          const at = new Map(inserts.map(([k, seq]) => [1 + (k % (secret.length - 1)), seq]));
          const inside = [...secret].map((ch, i) => (at.get(i) ?? '') + ch).join('');
          const text = `${OPEN}${inside}${CLOSE}${after}\n${OPEN}${secret}${CLOSE}`;
          const masker = new SecretMasker([secret]);
          const whole = masker.mask(text);
          assertHidden(JSON.stringify(text), whole, masker.token);
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          let streamed = '';
          const sink = masker.stream((t) => (streamed += t));
          let prev = 0;
          for (const p of [...points, text.length]) {
            sink.write(text.slice(prev, p));
            prev = p;
          }
          sink.end();
          assert.equal(streamed, whole, JSON.stringify({ text, points }));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

/** A deploy step that prints the secret every way bash renders it, then fails. */
const renderingPlan = (secret: string) =>
  secretPrintingPlan(Object.values(renderCommands(secret)).map((c) => c.split(OPEN).join('${O}').split(CLOSE).join('${C}')));

describe('§5 secrets: a real release through the CLI shows no rendering of the secret', function () {
  this.timeout(600_000);

  for (const secret of SHELL_SECRETS)
    it(`${JSON.stringify(secret)}: terminal (--verbose and the failed step's tail), step log, journal, report.md and report.json`, async () => {
      const token = new SecretMasker([secret]).token;
      // With and without --verbose at once, each a release of its own workspace.
      const each = async (verbose: boolean) => {
        const ws = workspace(renderingPlan(secret));
        const args = ['run', '--yes', '--tick', 'sign-off', ...(verbose ? ['--verbose'] : []), '--plan', ws.planFile];
        const r = await runCliToEnd(args, { RP_SECRET: secret });
        assert.equal(r.code, 3, `the deploy failed and the release rolled back:\n${r.stdout}\n${r.stderr}`);
        assertHidden(`CLI stdout${verbose ? ' --verbose' : ''}`, r.stdout, token);
        // Six renderings, each between the markers: the verbose output shows them all.
        if (verbose) assert.equal(r.stdout.replace(ANSI, '').split(OPEN).length - 1, 6, r.stdout);
        const { runDir, log } = newestDeployLog(ws);
        assertHidden('the step log', log, token);
        assert.equal(log.replace(ANSI, '').split(OPEN).length - 1, 6, log);
        const journal = fs.readFileSync(path.join(runDir, 'journal.jsonl'), 'utf8');
        const tail = journal
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { type: string; tail?: string })
          .find((e) => e.type === 'step.finished' && e.tail?.includes(OPEN));
        assert.ok(tail, 'the journal keeps the tail');
        assertHidden('the journal tail', tail.tail!, token);
        assertHidden(
          'the journal',
          JSON.parse(
            JSON.stringify(
              journal
                .split('\n')
                .filter(Boolean)
                .map((l) => JSON.parse(l) as unknown),
            ),
          )
            .map((e: unknown) => JSON.stringify(e))
            .join('\n')
            .replace(/\\u001b/g, '\x1b')
            .replace(/\\n/g, '\n'),
          token,
        );
        for (const f of ['report.md', 'report.json']) {
          const text = fs.readFileSync(path.join(runDir, f), 'utf8');
          if (text.includes(OPEN)) assertHidden(f, f.endsWith('.json') ? text.replace(/\\u001b/g, '\x1b') : text, token);
        }
      };
      await Promise.all([each(true), each(false)]);
    });
});
