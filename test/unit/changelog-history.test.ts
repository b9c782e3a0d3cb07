import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { changelogSince, generateChangelog, type Changelog } from '../../src/core/report/changelog';
import { main } from '../../src/cli/cliMain';
import { ROOT, gitRepo, tempDir, write } from '../support/helpers';

// yargs v14.2.0..v17.1.0 (MIT), see the fixture's header: 222 commits on main, a backport branch, 35 tags.
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'history', 'yargs.fi');

function importHistory(): { dir: string; git: (...a: string[]) => string } {
  const dir = tempDir('rp-history-');
  const git = gitRepo(dir);
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: fs.readFileSync(FIXTURE) });
  git('checkout', '-q', '-f', 'main');
  return { dir, git };
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}

const texts = (cl: Changelog) => cl.entries.map((e) => e.text);

describe('the changelog on a real history (yargs, fast-import fixture)', () => {
  let dir: string;
  let git: (...a: string[]) => string;
  before(() => ({ dir, git } = importHistory()));

  it('imports the whole fixture: 222 commits on main, 35 tags', () => {
    assert.equal(git('rev-list', '--count', 'main'), '222');
    assert.equal(git('tag').split('\n').length, 35);
  });

  it('cancels a commit and its revert in the same range, without a bump of their own', async () => {
    const cl = await generateChangelog(dir, { to: 'v15.4.0' });
    assert.equal(cl.previousTag, 'v15.3.1');
    assert.ok(!texts(cl).some((t) => /eslint to v7/.test(t)), texts(cl).join('\n'));
    assert.equal(cl.omitted.revertPairs, 1);
  });

  it('lists a revert whose commit is outside the range with its header only: no body, no stray quote, no CR', async () => {
    const reverted = git('log', '--format=%H %s', 'v15.4.0')
      .split('\n')
      .find((l) => l.endsWith(' chore(deps): update dependency eslint to v7 (#1656)'))!
      .slice(0, 40);
    const cl = await generateChangelog(dir, { from: reverted, to: 'v15.4.0' });
    const reverts = cl.entries.filter((e) => e.type === 'revert');
    assert.deepEqual(
      reverts.map((e) => [e.section, e.text]),
      [['Changed', 'Reverted: chore(deps): update dependency eslint to v7 (#1656) (#1673)']],
    );
    assert.ok(cl.entries.every((e) => !/[\r"]$|\r/.test(e.text)));
  });

  it('keeps every BREAKING CHANGE footer of a commit, each whole, once', async () => {
    const cl = await generateChangelog(dir, { to: 'v17.0.0' });
    assert.equal(cl.previousTag, 'v16.2.0');
    const asyncBuilder = cl.entries.find((e) => e.text.includes('adds support for async builder (#1888)'));
    assert.deepEqual(asyncBuilder?.notes, [
      'providing an async builder will now cause yargs to return async result',
      '.positional() now allowed at root level of yargs.',
    ]);
    assert.equal(asyncBuilder?.section, 'Added');
    assert.equal(cl.bump, 'major');
    assert.equal(cl.entries.filter((e) => e.text.includes('(#1888)')).length, 1);
    const esm = (await generateChangelog(dir, { to: 'v16.0.0' })).entries.find((e) => e.text.includes('(#1708)'));
    assert.deepEqual(esm?.notes, [
      'find-up replaced with escalade; export map added (limits importable files in Node >= 12); yarser-parser@19.x.x (new decamelize/camelcase implementation).',
    ]);
  });

  it('reads a misplaced `feat!(scope):` with a BREAKING CHANGE footer as breaking, and a multi-paragraph note whole', async () => {
    const { dir: d, git: g } = importHistory();
    write(d, 'lib/x.js', '1');
    g('add', '-A');
    g(
      'commit',
      '-qm',
      'feat!(parser): options are frozen\n\nBREAKING CHANGE: options are frozen after parse.\n\nCopy them before you change them:\n\n    const o = { ...argv }\n\nReviewed-by: Someone',
    );
    const cl = await generateChangelog(d, { from: 'v17.1.0' });
    assert.equal(cl.bump, 'major');
    assert.deepEqual(
      cl.entries.map((e) => [e.section, e.breaking, e.notes]),
      [['Added', true, ['options are frozen after parse.\n\nCopy them before you change them:\n\n    const o = { ...argv }']]],
    );
  });

  it("finds the previous tag with the tag prefix only, never another package's tag", async () => {
    // yargs-v16.2.1 is a backport release on its own branch: with prefix v, the previous release is v16.2.0.
    const { dir: d, git: g } = importHistory();
    g('checkout', '-q', 'yargs-v16.2.1');
    const cl = await changelogSince(d, 'v');
    assert.equal(cl.previousTag, 'v16.2.0');
    assert.deepEqual(texts(cl), ['deno: force release of deno (#1923)']);
    assert.equal(cl.version, '16.2.1');
    const own = await changelogSince(d, 'yargs-v');
    assert.equal(own.releaseTag, 'yargs-v16.2.1');
    assert.equal(own.version, '16.2.1');
  });

  it('compares a stable release with the last stable tag; pre-releases only when asked', async () => {
    const { dir: d, git: g } = importHistory();
    g('checkout', '-q', 'v15.4.0');
    const stable = await changelogSince(d, 'v');
    assert.equal(stable.previousTag, 'v15.3.1');
    assert.equal(stable.bump, 'minor');
    assert.equal(stable.version, '15.4.0');
    g('checkout', '-q', 'v15.4.0-beta.1~1');
    const proposed = await changelogSince(d, 'v');
    assert.equal(proposed.previousTag, 'v15.3.1');
    assert.equal(proposed.version, '15.4.0', 'the beta tags do not make it 15.4.1 or 15.5.0');
    const withPre = await changelogSince(d, 'v', { includePrereleases: true });
    assert.equal(withPre.previousTag, 'v15.4.0-beta.0');
    assert.equal(withPre.bump, 'patch');
    assert.equal(withPre.version, '15.4.0');
    const rc = await changelogSince(d, 'v', { prerelease: 'beta' });
    assert.equal(rc.version, '15.4.0-beta.2', 'beta.0 and beta.1 exist');
    assert.equal((await changelogSince(d, 'v', { prerelease: 'rc' })).version, '15.4.0-rc.1');
  });

  it('keeps a re-tagged commit under the tag the range names', async () => {
    // v15.4.2 is an annotated tag on the v15.4.0 commit in the real repository.
    assert.equal((await generateChangelog(dir, { to: 'v15.4.0' })).version, '15.4.0');
    assert.equal((await generateChangelog(dir, { to: 'v15.4.2' })).version, '15.4.2');
  });

  it('hides housekeeping and unknown types, counts them, and keeps breaking fixes under Fixed', async () => {
    const cl = await generateChangelog(dir, { to: 'v15.0.0' });
    assert.equal(cl.previousTag, 'v14.2.0');
    assert.ok(!texts(cl).some((t) => /webpack example|force build|french translation/.test(t)), texts(cl).join('\n'));
    assert.equal(cl.omitted.nonConventional, 2);
    assert.equal(cl.omitted.hidden.doc, 1);
    // Only breaking changes of hidden types reach Changed (`chore!:`, `refactor!:`).
    assert.deepEqual(cl.sections.Changed, ['BREAKING: drop Node 6 support (#1461)', 'BREAKING: remove package.json-based parserConfiguration (#1460)']);
    assert.ok(
      cl.sections.Fixed.includes('BREAKING: update to yargs-parser with fix for array default values (#1463) — yargs-parser@16.0.0 drops support for Node 6'),
    );
    const configured = await generateChangelog(dir, { to: 'v15.0.0', types: { doc: 'Changed', fix: 'hidden' }, nonConventional: 'list' });
    assert.ok(configured.sections.Changed.includes('webpack: webpack example (#1436)'));
    assert.ok(configured.sections.Changed.includes('force build'));
    assert.ok(!configured.sections.Fixed.some((t) => !t.startsWith('BREAKING: ')), 'hidden fixes are gone, breaking ones stay');
    // A range with no conventional commit at all lists what it has.
    const plain = await generateChangelog(dir, { from: 'v15.0.0~2', to: 'v15.0.0~1' });
    assert.deepEqual(plain.sections.Changed, ['force build']);
  });

  it('dates the section by the release tag: tagger date, or the commit date of a lightweight tag (UTC)', async () => {
    assert.equal((await generateChangelog(dir, { to: 'v15.4.2' })).date, '2020-07-19');
    assert.equal((await generateChangelog(dir, { to: 'v16.0.0' })).date, '2020-09-09');
    assert.equal((await generateChangelog(dir, { to: 'v16.0.0~1' })).date, null);
    const r = await cli('changelog', '--workspace', dir, '--to', 'v16.0.0');
    assert.match(r.out, /^## \[16\.0\.0\] - 2020-09-09$/m);
  });

  it('changelog --from/--to/--path prints the range, previous tag and bump, writes nothing, with no plan', async () => {
    const before = git('status', '--porcelain', '--untracked-files=all');
    const r = await cli('changelog', '--workspace', dir, '--from', 'v15.3.1', '--to', 'v15.4.0', '--path', 'docs', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.previousTag, 'v15.3.1');
    assert.equal(j.bump, 'minor');
    assert.equal(j.version, '15.4.0');
    assert.deepEqual(j.sections.Fixed, ['docs: describe usage of `.check()` in more detail']);
    assert.deepEqual(j.sections.Added, ['support array of examples (#1682)', 'adds deprecation option for commands']);
    assert.deepEqual(j.omitted.hidden, { docs: 7 });
    assert.match(r.err, /previous tag: v15\.3\.1/);
    assert.match(r.err, /bump: minor → 15\.4\.0/);
    const all = JSON.parse((await cli('changelog', '--workspace', dir, '--from', 'v15.3.1', '--to', 'v15.4.0', '--json')).out);
    assert.ok(all.sections.Added.includes('support array of examples (#1682)'), JSON.stringify(all.sections));
    assert.equal(git('status', '--porcelain', '--untracked-files=all'), before);
    assert.equal(before, '', 'nothing written: the tracked CHANGELOG.md of the fixture is untouched');
  });

  it('reads only release:/changelog: from a plan, or runs with no plan and --tag-prefix', async () => {
    const plan = write(tempDir('rp-plan-'), 'plan.yaml', 'release:\n  tagPrefix: v\nchangelog:\n  path: docs\n  types:\n    docs: Changed\n');
    const r = await cli('changelog', '--plan', plan, '--workspace', dir, '--to', 'v15.4.0', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.path, 'docs');
    assert.ok(j.sections.Changed.includes('api: clarify process.argv handling and the order of API methods (#1644)'), r.out);
    assert.equal(j.sections.Changed.length, 7);
    const np = await cli('changelog', '--workspace', dir, '--tag-prefix', 'yargs-v', '--to', 'yargs-v16.2.1', '--json');
    assert.equal(np.code, 0, np.err);
    assert.equal(JSON.parse(np.out).releaseTag, 'yargs-v16.2.1');
    const bad = write(tempDir('rp-plan-'), 'plan.yaml', 'release:\n  tagPrefix: v\nchangelog:\n  types:\n    feat: Features\n');
    const b = await cli('changelog', '--plan', bad, '--workspace', dir);
    assert.equal(b.code, 2);
    assert.match(b.err, /plan\.yaml:5:11.*changelog\.types\.feat/);
    const badRef = await cli('changelog', '--workspace', dir, '--from', 'no-such-ref');
    assert.equal(badRef.code, 1);
    assert.match(badRef.err, /"no-such-ref" is not a commit/);
  });
});
