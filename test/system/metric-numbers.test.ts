import * as assert from 'node:assert/strict';
import { CommandSource } from '../../src/core/monitor/sources';
import { HttpJsonSource } from '../../src/core/monitor/httpjson';
import { withServer } from '../support/server';

/** A metric reads decimal numbers only; `0x10` is not 16, `0b11` not 3. */
const NOT_DECIMAL = ['0x10', '0b11', '0o7', '0X1F', '1_000', 'Infinity', '-Infinity', '5%', '٣', '１２'];
const DECIMAL: [string, number][] = [
  ['17', 17],
  ['-0.5', -0.5],
  ['.25', 0.25],
  ['1e3', 1000],
  ['+2.5E-1', 0.25],
  ['010', 10],
  ['3.', 3],
];

describe('metric samples are decimal numbers', function () {
  this.timeout(30_000);

  it('a command metric printing hex, binary, octal or other non-decimal words is an error sample naming it', async () => {
    for (const word of NOT_DECIMAL) {
      const s = await new CommandSource(`printf '%s\\n' 'value ${word}'`, 5000, process.cwd()).sample();
      assert.equal(s.status, 'error', `${word}: ${JSON.stringify(s)}`);
      assert.equal(s.value, null);
      assert.ok(s.message?.includes(`"${word}"`), s.message);
    }
    for (const [word, n] of DECIMAL) assert.deepEqual(await new CommandSource(`echo ${word}`, 5000, process.cwd()).sample(), { value: n, status: 'ok' }, word);
  });

  it('an http field holding "0x10" is not a number; "17" and 17 are', async () => {
    let body = '';
    await withServer(
      (_req, res) => res.end(body),
      async (server) => {
        const url = `${server.url}/m`;
        for (const word of NOT_DECIMAL) {
          body = JSON.stringify({ v: word });
          const s = await new HttpJsonSource(url, 'v', 5000).sample();
          assert.equal(s.status, 'error', `${word}: ${JSON.stringify(s)}`);
        }
        for (const [word, n] of DECIMAL) {
          body = JSON.stringify({ v: word });
          assert.deepEqual(await new HttpJsonSource(url, 'v', 5000).sample(), { value: n, status: 'ok' }, word);
        }
        body = '{"v": 17}';
        assert.deepEqual(await new HttpJsonSource(url, 'v', 5000).sample(), { value: 17, status: 'ok' });
      },
    );
  });
});
