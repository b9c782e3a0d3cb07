import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { errorStatusMatcher, LogTally, parseLogLine, percentile, type LineFormat, type LogLine } from '../../src/core/monitor/accesslog';
import { parseStubStatus } from '../../src/core/monitor/stubstatus';

const COMBINED: LineFormat = { format: 'combined', statusField: 'status', requestTimeField: 'request_time' };
const JSONL: LineFormat = { format: 'json', statusField: 'status', requestTimeField: 'request_time' };
const ua = '"Mozilla/5.0 (X11; Linux x86_64)"';

// Lines meant to fool the parser, each with what it must make of them.
const HOSTILE: [name: string, format: LineFormat, line: string, expected: LogLine | 'unparseable'][] = [
  ['plain nginx combined', COMBINED, `127.0.0.1 - - [28/Nov/2026:11:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" ${ua}`, { status: 200 }],
  [
    'combined + $request_time',
    COMBINED,
    `127.0.0.1 - - [28/Nov/2026:11:00:00 +0000] "GET /x HTTP/1.1" 500 10 "-" ${ua} 0.123`,
    { status: 500, requestTime: 0.123 },
  ],
  ['Apache common (no referer, UA)', COMBINED, `10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 404 -`, { status: 404 }],
  [
    'nginx-escaped quote in the request, with a fake status in it',
    COMBINED,
    `1.2.3.4 - - [28/Nov/2026:11:00:00 +0000] "GET /\\x22 500 1 \\x22a HTTP/1.1" 200 5 "-" ${ua} 0.004`,
    { status: 200, requestTime: 0.004 },
  ],
  [
    'Apache-escaped quotes in the user agent, with a fake time after them',
    COMBINED,
    `1.2.3.4 - - [28/Nov/2026:11:00:00 +0000] "GET / HTTP/1.1" 503 5 "-" "evil \\" 500 0.9 \\"" 0.250`,
    { status: 503, requestTime: 0.25 },
  ],
  [
    'unicode in path and user agent',
    COMBINED,
    `::1 - - [28/Nov/2026:11:00:00 +0000] "GET /caf\u00e9/\u{1F600} HTTP/1.1" 502 0 "-" "\u00fcber \u202e" 1.5`,
    { status: 502, requestTime: 1.5 },
  ],
  ['negative request time', COMBINED, `1.2.3.4 - - [t] "GET / HTTP/1.1" 200 1 "-" "-" -0.5`, { status: 200, badRequestTime: '-0.5' }],
  ['NaN request time', COMBINED, `1.2.3.4 - - [t] "GET / HTTP/1.1" 200 1 "-" "-" NaN`, { status: 200, badRequestTime: 'NaN' }],
  ['Infinity request time', COMBINED, `1.2.3.4 - - [t] "GET / HTTP/1.1" 200 1 "-" "-" Infinity`, { status: 200, badRequestTime: 'Infinity' }],
  ['request time "-" (no upstream)', COMBINED, `1.2.3.4 - - [t] "GET / HTTP/1.1" 200 1 "-" "-" -`, { status: 200 }],
  ['status 600', COMBINED, `1.2.3.4 - - [t] "GET / HTTP/1.1" 600 1 "-" "-"`, 'unparseable'],
  ['status 99', COMBINED, `1.2.3.4 - - [t] "GET / HTTP/1.1" 99 1 "-" "-"`, 'unparseable'],
  ['status "-"', COMBINED, `1.2.3.4 - - [t] "GET / HTTP/1.1" - 1 "-" "-"`, 'unparseable'],
  ['unclosed request quote', COMBINED, `1.2.3.4 - - [t] "GET / HTTP/1.1 200 1 "-" "-"`, 'unparseable'],
  ['missing [time]', COMBINED, `1.2.3.4 - - "GET / HTTP/1.1" 200 1 "-" "-"`, 'unparseable'],
  ['empty line', COMBINED, '', 'unparseable'],
  ['binary garbage', COMBINED, '\u0000\u0001\uFFFD\uFFFD 200 "x"', 'unparseable'],
  ['CRLF line end', COMBINED, `1.2.3.4 - - [t] "GET / HTTP/1.1" 500 1 "-" "-" 0.2\r`, { status: 500, requestTime: 0.2 }],
  ['a huge request line', COMBINED, `1.2.3.4 - - [t] "GET /${'a'.repeat(60_000)} HTTP/1.1" 414 1 "-" "-" 0.001`, { status: 414, requestTime: 0.001 }],
  ['JSON line', JSONL, '{"status":500,"request_time":0.05}', { status: 500, requestTime: 0.05 }],
  ['JSON with strings (escape=json)', JSONL, '{"status":"404","request_time":"0.010"}', { status: 404, requestTime: 0.01 }],
  ['JSON status not 3 digits', JSONL, '{"status":"5000"}', 'unparseable'],
  ['JSON status 200.5', JSONL, '{"status":200.5}', 'unparseable'],
  ['JSON array', JSONL, '[200, 0.1]', 'unparseable'],
  ['JSON null', JSONL, 'null', 'unparseable'],
  ['JSON without status', JSONL, '{"code":200}', 'unparseable'],
  ['JSON truncated', JSONL, '{"status":200,"request_ti', 'unparseable'],
  ['JSON __proto__ status', JSONL, '{"__proto__":{"status":500}}', 'unparseable'],
  ['JSON negative time', JSONL, '{"status":200,"request_time":-1}', { status: 200, badRequestTime: '-1' }],
  ['JSON time as object', JSONL, '{"status":200,"request_time":{"a":1}}', { status: 200, badRequestTime: '{"a":1}' }],
  ['JSON time empty string', JSONL, '{"status":200,"request_time":""}', { status: 200 }],
  ['JSON that is combined', JSONL, `1.2.3.4 - - [t] "GET / HTTP/1.1" 200 1 "-" "-"`, 'unparseable'],
];

describe('access log lines: a hostile corpus', () => {
  for (const [name, format, line, expected] of HOSTILE)
    it(name, () => {
      const got = parseLogLine(line, format);
      if (expected === 'unparseable') assert.ok('unparseable' in got, `expected unparseable, got ${JSON.stringify(got)}`);
      else assert.deepEqual(got, expected);
    });

  it('the corpus has at least 10 lines meant to fool it', () => assert.ok(HOSTILE.length >= 10));

  it('reads nested JSON fields by a dotted path', () => {
    assert.deepEqual(
      parseLogLine('{"res":{"status":503},"timing":{"total":2}}', { format: 'json', statusField: 'res.status', requestTimeField: 'timing.total' }),
      {
        status: 503,
        requestTime: 2,
      },
    );
  });

  it('never throws, whatever the line', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        parseLogLine(s, COMBINED);
        parseLogLine(s, JSONL);
      }),
    );
  });
});

describe('access log statistics', () => {
  it('counts errors by class or exact status', () => {
    const five = errorStatusMatcher(['5xx']);
    assert.deepEqual([200, 404, 499, 500, 503, 599].map(five), [false, false, false, true, true, true]);
    const both = errorStatusMatcher(['4xx', '5xx']);
    assert.deepEqual([200, 301, 404, 500].map(both), [false, false, true, true]);
    const exact = errorStatusMatcher(['429', '5xx']);
    assert.deepEqual([428, 429, 430, 502].map(exact), [false, true, false, true]);
    assert.throws(() => errorStatusMatcher(['6xx']), /not a status class/);
  });

  it('percentiles are nearest-rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => (i + 1) / 1000);
    assert.equal(percentile(v, 0.5), 0.05);
    assert.equal(percentile(v, 0.9), 0.09);
    assert.equal(percentile(v, 0.99), 0.099);
    assert.equal(percentile([0.3], 0.99), 0.3);
    assert.equal(percentile([3, 1, 2], 0.5), 2);
    assert.ok(Number.isNaN(percentile([], 0.5)));
  });

  it('a tally counts requests, errors, unparseable lines and bad times apart', () => {
    const t = new LogTally(errorStatusMatcher(['5xx']), true);
    for (const [, f, line] of HOSTILE) t.add(parseLogLine(line, f));
    const parsed = HOSTILE.filter(([, f, line]) => !('unparseable' in parseLogLine(line, f)));
    assert.equal(t.requests, parsed.length);
    assert.equal(t.unparseable, HOSTILE.length - parsed.length);
    assert.equal(t.badTimes, 5);
    assert.equal(t.errors, 5);
    assert.ok(t.requestTimes.every((x) => Number.isFinite(x) && x >= 0));
  });
});

describe('nginx stub_status page', () => {
  const page = 'Active connections: 291 \nserver accepts handled requests\n 16630948 16630948 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n';
  it('reads every number', () => {
    assert.deepEqual(parseStubStatus(page), { active: 291, accepts: 16630948, handled: 16630948, requests: 31070465, reading: 6, writing: 179, waiting: 106 });
  });
  const bad: [string, string][] = [
    ['empty', ''],
    ['HTML error page', '<html><body>404 Not Found</body></html>'],
    ['a number missing', 'Active connections: 1\nserver accepts handled requests\n 1 1\nReading: 0 Writing: 1 Waiting: 0\n'],
    ['negative', 'Active connections: -1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 1 Waiting: 0\n'],
    ['a fraction', 'Active connections: 1.5\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 1 Waiting: 0\n'],
    ['too large to be exact', 'Active connections: 1\nserver accepts handled requests\n 99999999999999999999 1 1\nReading: 0 Writing: 1 Waiting: 0\n'],
    ['Prometheus text', '# TYPE nginx_up gauge\nnginx_up 1\n'],
    ['JSON', '{"active":1}'],
    ['two pages', page + page],
    ['labels in another language', 'Conexiones activas: 1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 1 Waiting: 0\n'],
  ];
  for (const [name, text] of bad) it(`refuses: ${name}`, () => assert.ok('problem' in parseStubStatus(text)));
});
