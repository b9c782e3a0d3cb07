import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { formatProblem, parsePlan } from '../../src/core/plan/load';
import { smallPlan } from '../support/fixtures';
import { ROOT, tempDir, write } from '../support/helpers';

const LF = smallPlan();
const CRLF = LF.replace(/\n/g, '\r\n');
/** The 1-based line of the first line of `text` that contains `needle`. */
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

function refused(text: string | Buffer) {
  const r = parsePlan(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, 'plan.yaml');
  assert.equal(r.ok, false, 'expected the plan to be refused');
  return r.ok ? [] : r.problems;
}

function loads(text: string) {
  const r = parsePlan(Buffer.from(text, 'utf8'), 'plan.yaml');
  assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
  return r.plan;
}

/** Each command and name of the plan, as the engine would run or show it. */
const texts = (plan: ReturnType<typeof loads>) => JSON.stringify(plan.phases);

describe('release plan: invisible characters say what and where', () => {
  it('a CRLF plan whose last line ends in a bare CR: the line, the column, and how to save it', () => {
    const text = CRLF.replace(/\r\n$/, '\r');
    const last = text.split('\n').length;
    const problems = refused(text);
    assert.equal(problems.length, 1, problems.map(formatProblem).join('\n'));
    const p = problems[0];
    assert.equal(p.message, `a bare carriage return (CR) ends line ${last}: save the file with LF or CRLF line endings`);
    assert.equal(p.line, last);
    assert.equal(p.column, text.split('\n')[last - 1].length);
    assert.equal(formatProblem(p), `plan.yaml:${last}:${p.column}: ${p.message}`);
  });

  it('a lone CR in the middle of an LF file, and a CR before a CRLF, are bare CRs of their lines', () => {
    const line = lineOf(LF, 'name: prepare');
    const mid = LF.replace('name: prepare\n', 'name: prepare\r');
    assert.deepEqual(
      refused(mid).map((p) => [p.line, p.message]),
      [[line, `a bare carriage return (CR) ends line ${line}: save the file with LF or CRLF line endings`]],
    );
    const doubled = CRLF.replace('name: prepare\r\n', 'name: prepare\r\r\n');
    assert.deepEqual(
      refused(doubled).map((p) => p.line),
      [line],
    );
  });

  it('a BOM loads, with LF or CRLF; mixed LF and CRLF lines load, and no command carries a CR', () => {
    assert.equal(loads(`\uFEFF${LF}`).release.name, 'tiny');
    const crlf = loads(`\uFEFF${CRLF}`);
    assert.ok(!texts(crlf).includes('\\r'), texts(crlf));
    const lines = LF.split('\n');
    const mixed = lines.map((l, i) => (i % 2 ? `${l}\r` : l)).join('\n');
    const plan = loads(mixed);
    assert.ok(!texts(plan).includes('\\r'), texts(plan));
    assert.equal(plan.phases.preparation?.steps[0].run.includes('echo preparing > prepared.txt'), true);
  });

  it('a NUL, another control character, a line separator or a BOM inside the file: named by code point, line and column', () => {
    const line = lineOf(LF, 'echo preparing');
    const col = LF.split('\n')[line - 1].indexOf('echo preparing') + 1;
    const cases: [string, RegExp][] = [
      ['\u0000', /^a NUL character \(U\+0000\) is at line \d+, column \d+: the file may be UTF-16 or binary; save it as UTF-8 text$/],
      ['\u001b', /^an invisible control character \(U\+001B\) is at line \d+, column \d+: remove it$/],
      ['\u0085', /^an invisible control character \(U\+0085\) is at line \d+, column \d+: remove it$/],
      ['\u2028', /^a line separator \(U\+2028\) is at line \d+, column \d+: YAML does not end a line there; use a line break \(LF\)$/],
      ['\u2029', /^a paragraph separator \(U\+2029\) is at line \d+, column \d+: YAML does not end a line there; use a line break \(LF\)$/],
      ['\uFEFF', /^a byte order mark \(U\+FEFF\) is at line \d+, column \d+: only the file's first character may be one; remove it$/],
    ];
    for (const [ch, re] of cases) {
      const problems = refused(LF.replace('echo preparing', `${ch}echo preparing`));
      assert.deepEqual(
        problems.map((p) => [p.line, p.column]),
        [[line, col]],
        `${JSON.stringify(ch)}: ${problems.map(formatProblem).join('\n')}`,
      );
      assert.match(problems[0].message, re);
      assert.ok(problems[0].message.includes(`line ${line}, column ${col}`), problems[0].message);
    }
    // UTF-16 without a BOM is valid UTF-8 with a NUL after each ASCII letter: the first NUL is named.
    const utf16 = Buffer.from(LF, 'utf16le');
    assert.match(refused(utf16)[0].message, /^a NUL character \(U\+0000\) is at line 1, column 2: the file may be UTF-16/);
  });

  it('a tab or a no-break space that indents a line: which line, and to indent with spaces', () => {
    const line = lineOf(LF, '- name: prepare');
    const tab = LF.replace('      - name: prepare', '\t- name: prepare');
    assert.deepEqual(
      refused(tab).map((p) => [p.line, p.message]),
      [[line, `a tab indents line ${line}: YAML indents with spaces only; replace the tab with spaces`]],
    );
    const nbsp = LF.replace('      - name: prepare', '    \u00a0\u00a0- name: prepare');
    assert.deepEqual(
      refused(nbsp).map((p) => [p.line, p.column, p.message]),
      [[line, 5, `a no-break space (U+00A0) indents line ${line}: YAML indents with plain spaces only; replace it with spaces`]],
    );
  });

  it('a tab inside a value, a written "\\r" escape and ordinary non-ASCII text load as before', () => {
    const plan = loads(
      LF.replace('run: echo preparing > prepared.txt', 'run: "printf \'a\\tb\\r\\n\' > prepared.txt\\techo ok"').replace(
        'name: smoke',
        'name: smoke — für Ünïcode ✓ 😀',
      ),
    );
    assert.match(plan.phases.preparation!.steps[0].run, /printf 'a\tb\r\n' > prepared\.txt\techo ok/);
    assert.equal(plan.phases.staging!.steps[0].name, 'smoke — für Ünïcode ✓ 😀');
  });

  it('the CLI says it the same way: validate names the file, line and column, exit 1 (invalid)', () => {
    const dir = tempDir('rp-invisible-');
    const text = CRLF.replace(/\r\n$/, '\r');
    const file = write(dir, '.release/plan.yaml', text);
    const r = spawnSync('node', [path.join(ROOT, 'dist', 'cli.js'), 'validate', '--plan', file], { encoding: 'utf8', timeout: 30_000 });
    const last = text.split('\n').length;
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`plan\\.yaml:${last}:\\d+: a bare carriage return \\(CR\\) ends line ${last}: save the file with LF or CRLF line endings`),
    );
    assert.ok(!r.stderr.includes('Unexpected scalar'), r.stderr);
  });
});
