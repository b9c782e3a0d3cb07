import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePromText } from '../../src/core/monitor/promtext';

/** A label value written as the exposition format writes it: backslash, quote and newline escaped. */
const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelOf = (line: string) => parsePromText(line).samples[0]?.labels.path;

describe('Prometheus text format: label escapes', () => {
  const cases: [written: string, meant: string][] = [
    ['C:\\\\new', 'C:\\new'],
    ['C:\\\\\\\\new', 'C:\\\\new'],
    ['\\\\n', '\\n'],
    ['a\\nb', 'a\nb'],
    ['say \\"hi\\"', 'say "hi"'],
    ['\\\\\\"', '\\"'],
    ['\\\\\\n', '\\\n'],
    ['ends with \\\\', 'ends with \\'],
    ['', ''],
    ['tab \\t stays', 'tab \\t stays'],
    ['ünï\\\\cödé', 'ünï\\cödé'],
    ['\\\\\\\\\\\\', '\\\\\\'],
  ];
  for (const [written, meant] of cases)
    it(`reads "${written}" as ${JSON.stringify(meant)}`, () => {
      assert.equal(labelOf(`m{path="${written}"} 1`), meant);
    });

  it('reads back every value it is given, escaped as the format escapes it', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('\\', '"', '\n', 'n', 'a', ',', '}', '=', ' ') }), (v) => {
        assert.equal(labelOf(`m{path="${escapeLabel(v)}",x="1"} 2`), v);
      }),
      { numRuns: 500 },
    );
  });
});
