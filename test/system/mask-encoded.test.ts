import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { SecretMasker } from '../../src/core/exec/mask';
import { workspace } from '../support/fixtures';
import { CLOSE, maskedEveryWay, newestDeployLog, OPEN, runCliToEnd, secretPrintingPlan } from '../support/secretOutput';

/** Secrets of ASCII, quotes, blanks, control bytes and non-ASCII, each at least 10 bytes. */
const SECRETS = [
  'Zq9sEcReT42xyW',
  "it's-S3cr3t-K3y",
  'sp ace"dq-x9',
  'tab\tbed-x9Q',
  'back\\slash\\\\x9',
  'ünï-cödé-tök',
  'dol$lar-$HOME-x9',
  'a!b&c;d(e)|f<g>',
  '~tilde*?[x]{y}',
  'bell\x07\x01ctl-x9',
  '0123456789',
  '🔑emoji-key🔑',
];

/** An SSH private key: several lines, each specific. */
const KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB\nQyNTUxOQAAACDvYmplY3Qtc2VjcmV0LWtleS1ib2R5\n-----END OPENSSH PRIVATE KEY-----';

/** The bash commands that print the secret (in $S) between the markers, as bytes: base64 at each alignment inside a longer text, base64url, hex, Basic auth, a backspace. */
const COMMANDS: Record<string, string> = {
  base64: `printf '%s%s%s\\n' "$O" "$(printf %s "$S" | base64 -w0)" "$C"`,
  'base64, offset 1': `printf '%s%s%s\\n' "$O" "$(printf 'x%stail' "$S" | base64 -w0)" "$C"`,
  'base64, offset 2': `printf '%s%s%s\\n' "$O" "$(printf 'xy%stail' "$S" | base64 -w0)" "$C"`,
  'base64, offset 3': `printf '%s%s%s\\n' "$O" "$(printf 'xyz%s.' "$S" | base64 -w0)" "$C"`,
  base64url: `printf '%s%s%s\\n' "$O" "$(printf 'ab%s' "$S" | base64 -w0 | tr '+/' '-_' | tr -d =)" "$C"`,
  'HTTP Basic': `printf 'Authorization: Basic %s%s%s\\n' "$O" "$(printf 'user:%s' "$S" | base64 -w0)" "$C"`,
  'xxd -p': `printf '%s%s%s\\n' "$O" "$(printf %s "$S" | xxd -p -c 256)" "$C"`,
  'printf %X': `printf %s "$O"; LC_ALL=C; for ((i=0;i<\${#S};i++)); do printf %02X "'\${S:i:1}"; done; printf '%s\\n' "$C"`,
  backspace: `printf '%s%sX\\b%s%s\\n' "$O" "\${S:0:3}" "\${S:3}" "$C"`,
};

/** The key printed with CRLF line ends, one line alone, and joined by spaces (unquoted echo). */
const KEY_COMMANDS: Record<string, string> = {
  CRLF: `printf '%s' "$O"; printf '%s' "$S" | sed 's/$/\\r/'; printf '%s\\n' "$C"`,
  'line 2': `printf '%s%s%s\\n' "$O" "$(echo "$S" | sed -n 2p)" "$C"`,
  'line 3': `printf '%s%s%s\\n' "$O" "$(echo "$S" | sed -n 3p)" "$C"`,
  'joined by spaces': `echo "$O"$S"$C"`,
};

function bash(cmd: string, secret: string): string {
  const r = spawnSync('bash', ['--norc', '-c', cmd], { env: { ...process.env, S: secret, O: OPEN, C: CLOSE, LANG: 'C.UTF-8' }, encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
  return r.stdout;
}

/** Text as a terminal shows it: a backspace takes back the character before it on its line. */
function onTerminal(text: string): string {
  let out = '';
  for (const ch of text) {
    if (ch === '\b') {
      if (out !== '' && !out.endsWith('\n')) out = out.slice(0, -1);
    } else out += ch;
  }
  return out;
}

/** Whether `piece` holds 4 bytes of `secret` in a row: as text, or decoded as base64 / base64url / hex at every alignment. */
function leaks(piece: string, secret: string): boolean {
  const s = Buffer.from(secret, 'utf8');
  const windows = new Set<string>();
  for (let i = 0; i + 4 <= s.length; i++) windows.add(s.subarray(i, i + 4).toString('hex'));
  const decoded: Buffer[] = [Buffer.from(piece, 'utf8')];
  for (let shift = 0; shift < 4; shift++) decoded.push(Buffer.from(piece.slice(shift).replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
  for (let shift = 0; shift < 2; shift++) decoded.push(Buffer.from(piece.slice(shift), 'hex'));
  return decoded.some((d) => {
    for (let i = 0; i + 4 <= d.length; i++) if (windows.has(d.subarray(i, i + 4).toString('hex'))) return true;
    return false;
  });
}

/** Fails when a piece of what a terminal shows between the markers gives away 4 bytes of the secret or of one of its lines. */
function assertHidden(where: string, text: string, token: string, secret: string): void {
  const shown = onTerminal(text);
  let found = 0;
  for (let i = shown.indexOf(OPEN); i >= 0; i = shown.indexOf(OPEN, i + 1)) {
    const j = shown.indexOf(CLOSE, i);
    assert.ok(j > i, `${where}: no closing marker in ${JSON.stringify(shown)}`);
    const between = shown.slice(i + OPEN.length, j);
    assert.ok(between.includes(token[0]), `${where}: not masked: ${JSON.stringify(between)}`);
    for (const piece of between.split(token[0]))
      for (const part of secret.split('\n'))
        assert.ok(!leaks(piece, part.trim()), `${where}: ${JSON.stringify(piece)} gives away the secret in ${JSON.stringify(between)}`);
    found++;
  }
  assert.ok(found > 0, `${where}: no marker in ${JSON.stringify(shown.slice(0, 300))}`);
}

describe('§5 secrets: a secret printed as bytes (base64, base64url, hex, Basic auth) or with a backspace is masked', function () {
  this.timeout(120_000);
  for (const secret of SECRETS)
    it(`${JSON.stringify(secret)}: every encoding, whole and streamed at every cut`, () => {
      const masker = new SecretMasker([secret]);
      for (const [how, cmd] of Object.entries(COMMANDS)) {
        const printed = bash(cmd, secret);
        assertHidden(`${how}: ${JSON.stringify(printed)}`, maskedEveryWay(masker, printed, how), masker.token, secret);
      }
    });

  it('a multi-line key printed with CRLF, one line alone, or joined by spaces is masked, whole and streamed', () => {
    const masker = new SecretMasker([KEY]);
    for (const [how, cmd] of Object.entries(KEY_COMMANDS)) {
      const printed = bash(cmd, KEY);
      assertHidden(`${how}: ${JSON.stringify(printed)}`, maskedEveryWay(masker, printed, how), masker.token, KEY);
    }
  });

  it('a base64 or hex part too short to be specific masks nothing else: ordinary output stays as it is', () => {
    const masker = new SecretMasker(['abcd']);
    assert.equal(masker.mask('YWJj YWJjZA== 61626364 x'), 'YWJj YWJjZA== *** x');
  });
});

describe('§5 secrets: a real release through the CLI shows no encoding of the secret', function () {
  this.timeout(300_000);
  const cases: [string, string, Record<string, string>][] = [
    ['Zq9sEcReT42xyW', 'base64, base64url, hex, Basic auth, a backspace', COMMANDS],
    ['ünï-cödé-tök', 'base64, base64url, hex, Basic auth, a backspace', COMMANDS],
    [KEY, 'an SSH key by CRLF, by line, joined by spaces', KEY_COMMANDS],
  ];
  for (const [secret, what, commands] of cases)
    it(`${JSON.stringify(secret.slice(0, 20))}: ${what}: terminal (--verbose), step log, journal`, async () => {
      const ws = workspace(secretPrintingPlan(Object.values(commands)));
      const token = new SecretMasker([secret]).token;
      const r = await runCliToEnd(['run', '--yes', '--tick', 'sign-off', '--verbose', '--plan', ws.planFile], { RP_SECRET: secret });
      assert.equal(r.code, 3, `the deploy failed and the release rolled back:\n${r.stdout}\n${r.stderr}`);
      assertHidden('CLI stdout --verbose', r.stdout, token, secret);
      const { log } = newestDeployLog(ws);
      assertHidden('the step log', log, token, secret);
      assert.equal(onTerminal(log).split(OPEN).length - 1, Object.keys(commands).length, log);
    });
});
