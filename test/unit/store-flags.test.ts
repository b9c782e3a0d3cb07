import * as assert from 'node:assert/strict';
import { main } from '../../src/cli/cliMain';
import type { Io } from '../../src/cli/io';

/** The CLI with its output kept: what a person would read. */
async function cli(...argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const io: Io = { out: () => {}, err: (s: string) => (err += `${s}\n`), write: () => {} };
  const code = await main([...argv, '--plan', '/nonexistent/.release/plan.yaml'], io);
  return { code, err };
}

describe('the team flags of the command line (--follow, --wait, --offline)', () => {
  const cases: [string[], RegExp][] = [
    [['run', '--wait', 'soon'], /--wait expects a duration above 0 such as 90s or 10m, got "soon"/],
    [['run', '--wait', '0s'], /--wait expects a duration above 0/],
    [['run', '--wait', ''], /--wait expects a duration above 0/],
    [['run', '--wait=-5s'], /--wait expects a duration above 0/],
    [['run', '--offline', ''], /--offline needs a written reason/],
    [['run', '--offline', '   '], /--offline needs a written reason/],
    [['status', '--wait', '10s'], /--wait goes with run or resume/],
    [['history', '--offline', 'the store is down'], /--offline goes with run or resume/],
    [['run', '--follow'], /--follow goes with status/],
    [['rollback', '--follow'], /--follow goes with status/],
    [['run', '--wait', '10s', '--wait', '20s'], /--wait is given 2 times/],
  ];
  for (const [argv, says] of cases)
    it(`refuses ${argv.map((a) => JSON.stringify(a)).join(' ')} as a usage error that says why`, async () => {
      const r = await cli(...argv);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, says);
    });
});
