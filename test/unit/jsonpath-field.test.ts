import * as assert from 'node:assert/strict';
import { asJsonPath, jsonPathProblem, pickNumber } from '../../src/core/monitor/httpjson';

const DOC = {
  stats: { requests: { errorRate: '0.25', total: 40 } },
  items: [{ value: 1 }, { value: 2 }],
  checks: [
    { name: 'db', latency: 12 },
    { name: 'cache', latency: 3 },
  ],
  'key.with.dots': 7,
  'a-b': { c: 3 },
  nothing: null,
  text: 'green',
  nan: 'NaN',
  big: 1e308,
  empty: [],
  unicodé: { ключ: 5 },
};

// Fields meant to fool the picker, with the sample each must give.
const CORPUS: [field: string, want: { value: number } | { status: string; message?: RegExp }][] = [
  ['stats.requests.errorRate', { value: 0.25 }],
  ['$.stats.requests.total', { value: 40 }],
  ['items[0].value', { value: 1 }],
  ['items.1.value', { value: 2 }],
  ["$.checks[?(@.name=='db')].latency", { value: 12 }],
  ["$['key.with.dots']", { value: 7 }],
  ['a-b.c', { value: 3 }],
  ['$.unicodé.ключ', { value: 5 }],
  ['stats.requests.missing', { status: 'error', message: /^stats\.requests\.missing matches nothing in the response$/ }],
  ['$.items[*].value', { status: 'error', message: /matches 2 values in the response \(\[1,2\]\); it must pick exactly one/ }],
  ['$..latency', { status: 'error', message: /matches 2 values/ }],
  ['$.items[', { status: 'error', message: /is not a JSONPath: an unclosed \[/ }],
  ["$['key.with.dots", { status: 'error', message: /an unclosed '/ }],
  ['$.items]', { status: 'error', message: /an unopened \] at character 8/ }],
  ['stats.', { status: 'error', message: /a path ending with a dot/ }],
  ['nothing', { status: 'empty', message: /nothing is null/ }],
  ['text', { status: 'error', message: /text is "green", not a number/ }],
  ['nan', { status: 'nan' }],
  ['stats', { status: 'error', message: /not a number/ }],
  ['empty', { status: 'error', message: /not a number/ }],
  ['$.constructor', { status: 'error', message: /matches nothing/ }],
  ['__proto__', { status: 'error', message: /matches nothing/ }],
  ['$.checks[?(@.constructor.constructor("return process")())].latency', { status: 'error' }],
  ['big', { value: 1e308 }],
];

describe('http.field: JSONPath, hostile corpus', () => {
  for (const [field, want] of CORPUS)
    it(field, () => {
      const s = pickNumber(DOC, field);
      if ('value' in want) assert.deepEqual(s, { value: want.value, status: 'ok' });
      else {
        assert.equal(s.status, want.status, JSON.stringify(s));
        if (want.message) assert.match(s.message!, want.message);
      }
    });

  it('reads the dotted form of earlier plans as JSONPath', () => {
    assert.equal(asJsonPath('a.b[0].c'), '$.a.b[0].c');
    assert.equal(asJsonPath('$.a'), '$.a');
    assert.equal(jsonPathProblem('$.a[0]'), undefined);
  });

  it('a path that matches nothing is an error, not an empty sample', () => {
    assert.equal(pickNumber({}, 'a').status, 'error');
  });
});
