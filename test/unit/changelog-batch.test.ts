import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { generateChangelog, generateChangelogs, type ChangelogOptions } from '../../src/core/report/changelog';
import { ROOT, gitRepo, tempDir } from '../support/helpers';

// yargs v14.2.0..v17.1.0 (MIT), see the fixture's header: 222 commits on main, a backport branch, 35 tags.
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'history', 'yargs.fi');

describe('the changelog of a whole history, tags and graph read once', function () {
  // Each case compares some 40 ranges both ways: minutes on a loaded machine.
  this.timeout(300_000);
  let dir: string;
  let git: (...a: string[]) => string;
  before(() => {
    dir = tempDir('rp-batch-');
    git = gitRepo(dir);
    execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: fs.readFileSync(FIXTURE) });
    git('checkout', '-q', '-f', 'main');
  });

  const cases: [string, Omit<ChangelogOptions, 'to'>][] = [
    ['prefix v', {}],
    ['prefix v with pre-releases', { includePrereleases: true }],
    ['prefix yargs-v (the backport tags)', { tagPrefix: 'yargs-v' }],
    ['one folder', { path: 'lib' }],
    ['a fixed start', { from: 'v15.0.0' }],
  ];
  for (const [name, o] of cases)
    it(`gives, for every tag and ref, what one range at a time gives: ${name}`, async () => {
      // Every tag (stable, pre-release, other prefixes, deno tags off main), branches, HEAD, a hash.
      const tos = [...git('tag').split('\n'), 'main', 'HEAD', 'yargs-v16.2.1', git('rev-parse', 'v16.0.0~3')];
      const batch = await generateChangelogs(dir, tos, o);
      assert.equal(batch.length, tos.length);
      const reached = new Set<string>();
      for (const [i, to] of tos.entries()) {
        const one = await generateChangelog(dir, { ...o, to });
        assert.deepEqual(batch[i], one, `to ${to}`);
        if (one.previousTag) reached.add(one.previousTag);
      }
      if (!o.tagPrefix && !o.from) assert.ok(reached.size > 5, `ranges of many releases were compared (${[...reached].join(', ')})`);
    });

  it('reports a ref that does not exist by name, as one range does', async () => {
    await assert.rejects(generateChangelogs(dir, ['v16.0.0', 'no-such-ref']), /"no-such-ref" is not a commit, tag or branch/);
    await assert.rejects(generateChangelog(dir, { to: 'no-such-ref' }), /"no-such-ref" is not a commit, tag or branch/);
  });

  it('reads the tags and the graph once: three git calls plus one log per range', async () => {
    const tags = git('tag').split('\n');
    const trace = path.join(tempDir('rp-trace-'), 'trace.txt');
    process.env.GIT_TRACE = trace;
    try {
      await generateChangelogs(dir, tags);
    } finally {
      delete process.env.GIT_TRACE;
    }
    const calls = fs
      .readFileSync(trace, 'utf8')
      .split('\n')
      .filter((l) => /trace: built-in: git /.test(l));
    const logs = calls.filter((l) => / git log /.test(l)).length;
    assert.equal(logs, tags.length);
    assert.equal(calls.length - logs, 3, calls.filter((l) => !/ git log /.test(l)).join('\n'));
  });
});
