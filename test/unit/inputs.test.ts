import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { runInputsDigest } from '../../src/core/base/inputs';

describe("the digest of a run's --var inputs", () => {
  const empty = runInputsDigest({});
  it('is a sha256 in hex, the same whatever order the flags came in', () => {
    assert.match(empty, /^[0-9a-f]{64}$/);
    assert.equal(runInputsDigest({ a: '1', b: '2' }), runInputsDigest({ b: '2', a: '1' }));
  });
  const hostile: [string, Record<string, string>, Record<string, string>][] = [
    ['none against an empty value', {}, { url: '' }],
    ['a name=value boundary shift', { a: 'b=c' }, { 'a=b': 'c' }],
    ['a pair split differently', { ab: 'c' }, { a: 'bc' }],
    ['a newline inside a value against two pairs', { a: '1\nb=2' }, { a: '1', b: '2' }],
    ['a JSON-looking value', { a: '","b":"' }, { a: '', b: '' }],
    ['a unicode look-alike', { url: 'http://example.com' }, { url: 'http://exаmple.com' }],
    ['NFC against NFD', { name: 'café' }, { name: 'cafe\u0301' }],
    ['a trailing blank', { url: 'x' }, { url: 'x ' }],
    ['case of a name', { URL: 'x' }, { url: 'x' }],
    ['a NUL in a value', { a: 'x\u0000' }, { a: 'x' }],
    ['a huge value one character longer', { a: 'x'.repeat(1_000_000) }, { a: 'x'.repeat(1_000_001) }],
    ['__proto__ as a name', { ['__proto__']: 'x' }, {}],
  ];
  for (const [title, a, b] of hostile)
    it(`tells apart ${title}`, () => {
      assert.notEqual(runInputsDigest(a), runInputsDigest(b));
    });
  it('property: two sets of pairs have the same digest exactly when they are equal', () => {
    const pairs = fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 4 });
    fc.assert(
      fc.property(pairs, pairs, (a, b) => {
        const same = JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
        return (runInputsDigest(a) === runInputsDigest(b)) === same;
      }),
      { numRuns: 2000 },
    );
  });
});
