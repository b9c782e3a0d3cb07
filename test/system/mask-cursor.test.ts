import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { SecretMasker } from '../../src/core/exec/mask';
import { workspace } from '../support/fixtures';
import { maskedEveryWay, newestDeployLog, runCliToEnd, secretPrintingPlan } from '../support/secretOutput';

const SECRET = 'Sup3r\'sec"ret/+=é';

/**
 * The screen a terminal shows for the text, written independently of the product: a line of cells
 * and a cursor; `\r` and a backspace move the cursor back, CSI n D / C / G move it on the line, a
 * character overwrites the cell under the cursor, other control sequences show nothing.
 */
function screen(text: string): string[] {
  const lines: string[][] = [[]];
  let col = 0;
  for (let i = 0; i < text.length; i++) {
    const line = lines.at(-1)!;
    const ch = text[i];
    if (ch === '\x1b') {
      // eslint-disable-next-line no-control-regex -- control sequences are what it reads
      const m = /^\x1b\[([0-?]*)[ -/]*([@-~])/.exec(text.slice(i));
      if (!m) continue;
      const n = Math.max(1, Number(m[1] || '1'));
      if (m[2] === 'D') col = Math.max(0, col - n);
      if (m[2] === 'C') col = Math.min(line.length, col + n);
      if (m[2] === 'G') col = Math.min(line.length, n - 1);
      i += m[0].length - 1;
    } else if (ch === '\n') {
      lines.push([]);
      col = 0;
    } else if (ch === '\r') col = 0;
    else if (ch === '\b') col = Math.max(0, col - 1);
    else line[col++] = ch;
  }
  return lines.map((l) => l.join(''));
}

/** Fails when the screen shows the secret on a line, or cut across lines (the lines read one after the other). */
function assertNotShown(where: string, text: string, secret: string): void {
  const lines = screen(text);
  for (const l of lines) assert.ok(!l.includes(secret), `${where}: the screen shows the secret: ${JSON.stringify(l)} from ${JSON.stringify(text)}`);
  assert.ok(!lines.join('').includes(secret), `${where}: the screen shows the secret across lines: ${JSON.stringify(lines)}`);
}

/** The three ways a step printed the secret so a terminal showed it: a cursor move inside, split by CRLF, wrapped by `fold -w 6`. */
const ATTACK = `${SECRET.slice(0, 6)}\x1b[1D${SECRET.slice(5)}\n${SECRET.slice(0, 3)}\r\n${SECRET.slice(3)}\n${SECRET.slice(0, 6)}\n${SECRET.slice(6, 12)}\n${SECRET.slice(12)}\n`;

describe('§5 secrets: cursor moves and line breaks inside a secret', function () {
  this.timeout(120_000);

  it('masks a secret a cursor move, a CRLF or wrapping splits, whole and streamed at every cut', () => {
    const masker = new SecretMasker([SECRET]);
    const out = maskedEveryWay(masker, ATTACK, 'the three forms');
    assertNotShown('the three forms', out, SECRET);
    // Each line break is kept: the masks stay on their lines.
    assert.equal(out.split('\n').length, ATTACK.split('\n').length, JSON.stringify(out));
  });

  it('masks a secret rendered through random cursor moves (back over junk, carriage return, column), cut into random chunks', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(SECRET, 'tok3n-XYZ-12', 'abcdabcd', 'ünï-cödé-tök'),
        fc.nat(),
        // Printable junk the cursor moves back over.
        fc.stringMatching(/^[ -~]{1,5}$/),
        fc.constantFrom('back', 'return', 'column', 'suffix-first'),
        fc.array(fc.nat(), { maxLength: 8 }),
        (secret, k0, junk, how, cuts) => {
          const k = 1 + (k0 % (secret.length - 1));
          const [head, rest] = [secret.slice(0, k), secret.slice(k)];
          const printed = {
            back: `x ${head}${junk}\x1b[${junk.length}D${rest} y`,
            return: `${head}${junk}\r${head}${rest} y`,
            column: `${head}${junk}\x1b[${k + 1}G${rest} y`,
            'suffix-first': `${' '.repeat(k)}${rest}\r${head}\n`,
          }[how];
          assert.ok(screen(printed).join('\n').includes(secret), `the test's own text shows the secret: ${JSON.stringify(printed)}`);
          const masker = new SecretMasker([secret]);
          const whole = masker.mask(printed);
          assertNotShown(JSON.stringify(printed), whole, secret);
          const points = [...new Set(cuts.map((c) => c % (printed.length + 1)))].sort((a, b) => a - b);
          let streamed = '';
          const sink = masker.stream((t) => (streamed += t));
          let prev = 0;
          for (const p of [...points, printed.length]) {
            sink.write(printed.slice(prev, p));
            prev = p;
          }
          sink.end();
          assert.equal(streamed, whole, JSON.stringify({ printed, points }));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('masks a secret cut across lines at random points (LF or CRLF), each line ending in 4 or more of its characters or wholly of it', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), (at, br, lead) => {
        const secret = SECRET;
        const points = [...new Set(at.map((p) => 1 + (p % (secret.length - 1))))].sort((a, b) => a - b);
        const pieces: string[] = [];
        let prev = 0;
        for (const p of [...points, secret.length]) {
          pieces.push(secret.slice(prev, p));
          prev = p;
        }
        // With text before it, the first line must hold 4 characters or more of the secret.
        fc.pre(!lead || pieces[0].length >= 4);
        const printed = `${lead ? 'token: ' : ''}${pieces.join(br)}\nnext\n`;
        const masker = new SecretMasker([secret]);
        const out = maskedEveryWay(masker, printed, JSON.stringify(printed));
        assertNotShown(JSON.stringify(printed), out, secret);
        assert.ok(out.endsWith('\nnext\n'), JSON.stringify(out));
      }),
      { numRuns: 500 },
    );
  });

  it('leaves text that only looks near the secret as it is', () => {
    const masker = new SecretMasker([SECRET]);
    for (const text of [
      // A line that merely ends with its first 1 to 3 characters.
      'token: S\nup3r',
      'token: Sup\nnothing here',
      'token: Su\r\np3r, not it',
      // The cursor moves, but what shows is not the secret.
      `${SECRET.slice(0, 6)}\x1b[2D${SECRET.slice(5)}`,
      `${SECRET.slice(0, 6)}\r${SECRET.slice(5)}`,
      // Wrapped, but one character differs.
      `${SECRET.slice(0, 6)}\n${SECRET.slice(6, 12)}\nt/+=e`,
      'progress 10%\rprogress 50%\rprogress 100%\n',
    ]) {
      assert.ok(!screen(text).join('').includes(SECRET), `the test's own control: ${JSON.stringify(text)}`);
      assert.equal(maskedEveryWay(masker, text, JSON.stringify(text)), text, JSON.stringify(text));
    }
  });

  it('a real release: the step log and the journal step tail show none of the three forms', async () => {
    const ws = workspace(
      secretPrintingPlan([
        `python3 -c 'import os; t=os.environ["RP_SECRET"]; print(t[:6]+"\\x1b[1D"+t[5:]); print(t[:3]+"\\r\\n"+t[3:])'`,
        `printf '%s' "$S" | fold -w 6; echo`,
      ]),
    );
    const r = await runCliToEnd(['run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], { RP_SECRET: SECRET });
    assert.equal(r.code, 3, `the deploy failed and the release rolled back:\n${r.stdout}\n${r.stderr}`);
    const { runDir, log } = newestDeployLog(ws);
    assert.ok(log.includes('\n'), log);
    assertNotShown('the step log', log, SECRET);
    const tails = fs
      .readFileSync(path.join(runDir, 'journal.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; tail?: string })
      .filter((e) => e.type === 'step.finished' && e.tail);
    assert.ok(tails.length > 0, 'the journal keeps the tail');
    for (const e of tails) assertNotShown('the journal step tail', e.tail!, SECRET);
    assertNotShown('the terminal', r.stdout + r.stderr, SECRET);
  });
});
