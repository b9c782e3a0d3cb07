import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parsePlan, type LoadResult } from '../../src/core/plan/load';
import { ROOT } from '../support/helpers';

const EXAMPLES = ['demo', 'kubernetes', 'helm'].map((e) => fs.readFileSync(path.join(ROOT, 'examples', e, '.release', 'plan.yaml'), 'utf8'));

/** The loader's contract: a plan, or problems with positions, and nothing else, ever. */
function checkContract(r: LoadResult, text: string | Buffer): void {
  assert.equal(typeof r.ok, 'boolean');
  if (r.ok) return;
  assert.ok(r.problems.length > 0);
  const lines = (typeof text === 'string' ? text : text.toString('latin1')).split('\n').length;
  for (const p of r.problems) {
    assert.ok(Number.isInteger(p.line) && p.line >= 1 && p.line <= lines + 1, `line ${p.line} of ${lines}`);
    assert.ok(Number.isInteger(p.column) && p.column >= 1);
    assert.equal(typeof p.message, 'string');
    assert.ok(p.message.length > 0);
  }
}

function parse(text: string | Buffer): LoadResult {
  const r = parsePlan(text, 'plan.yaml');
  checkContract(r, text);
  return r;
}

describe('plan loader fuzzing (fast-check)', function () {
  this.timeout(120_000);

  it('random YAML documents give a plan or positioned problems, never a throw', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        parse(stringify(v));
      }),
      { numRuns: 400 },
    );
  });

  it('random mutations of the example plans give a plan or positioned problems', () => {
    const mutation = fc.record({
      plan: fc.integer({ min: 0, max: EXAMPLES.length - 1 }),
      kind: fc.constantFrom('delete-line', 'duplicate-line', 'indent', 'dedent', 'insert', 'replace-char', 'swap-lines', 'truncate'),
      at: fc.nat(),
      text: fc.string({ unit: 'binary', maxLength: 12 }),
    });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        let lines = EXAMPLES[ms[0].plan].split('\n');
        for (const m of ms) {
          const i = m.at % lines.length;
          if (m.kind === 'delete-line') lines.splice(i, 1);
          else if (m.kind === 'duplicate-line') lines.splice(i, 0, lines[i]);
          else if (m.kind === 'indent') lines[i] = `  ${lines[i]}`;
          else if (m.kind === 'dedent') lines[i] = lines[i].replace(/^ {1,2}/, '');
          else if (m.kind === 'insert') lines.splice(i, 0, m.text);
          else if (m.kind === 'replace-char')
            lines[i] = lines[i].slice(0, m.at % (lines[i].length + 1)) + m.text + lines[i].slice((m.at % (lines[i].length + 1)) + 1);
          else if (m.kind === 'swap-lines') [lines[i], lines[(i + 1) % lines.length]] = [lines[(i + 1) % lines.length], lines[i]];
          else lines = lines.slice(0, i + 1);
          if (lines.length === 0) lines = [''];
        }
        parse(lines.join('\n'));
      }),
      { numRuns: 1500 },
    );
  });

  it('random bytes, including invalid UTF-8, give positioned problems', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        parse(Buffer.from(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('hostile inputs: alias bombs, very deep nesting, a 10 MB file, __proto__ and constructor keys', () => {
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x]', ...'bcdefghij'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(',')}]`)].join(
      '\n',
    );
    assert.match((parse(bomb) as { problems: { message: string }[] }).problems[0].message, /alias bomb/);
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    assert.equal(parse(deep).ok, false);
    const deepMap = Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
    assert.equal(parse(deepMap).ok, false);
    const big = Buffer.alloc(10 * 1024 * 1024, 'a');
    assert.match((parse(big) as { problems: { message: string }[] }).problems[0].message, /larger than 1048576 bytes is refused/);
    const proto = EXAMPLES[0].replace('release:\n', 'release:\n  __proto__:\n    polluted: yes\n  constructor:\n    prototype:\n      polluted: yes\n');
    const r = parse(proto);
    assert.equal(r.ok, false);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
    const protoTop = `__proto__: { admin: true }\n${EXAMPLES[0]}`;
    assert.deepEqual(
      (parse(protoTop) as { problems: { path: string }[] }).problems.map((p) => p.path),
      ['__proto__'],
    );
  });
});
