import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseMessage } from '../../src/core/report/conventional';
import { generateChangelog, parseCommit, renderChangelogSection } from '../../src/core/report/changelog';
import { releaseTags } from '../../src/core/git/release-tags';
import { gitRepo, tempDir, write } from '../support/helpers';

describe('commit messages meant to fool the changelog', () => {
  // [message, expected notes, expected breaking]
  const notes: [string, string[], boolean][] = [
    ['feat: a\r\n\r\nBREAKING CHANGE: one\r\nBREAKING CHANGE: two\r\n', ['one', 'two'], true],
    ['feat: a\n\nBREAKING-CHANGE: dashed token', ['dashed token'], true],
    [
      'feat: a\n\nBREAKING CHANGE: first paragraph\nstill first\n\nsecond paragraph\n\nSigned-off-by: X <x@example.com>',
      ['first paragraph\nstill first\n\nsecond paragraph'],
      true,
    ],
    ['feat: a\n\nBREAKING CHANGE: same\nBREAKING CHANGE:  same ', ['same'], true],
    [
      'feat: a\n\nBREAKING CHANGE: config moved\n\n```yaml\nrelease:\n  tagPrefix: v\n```\n\nRefs: #12',
      ['config moved\n\n```yaml\nrelease:\n  tagPrefix: v\n```'],
      true,
    ],
    ['feat: a\n\nbreaking change: lower case is prose, not a footer', [], false],
    ['feat: a\n\nFixes #3\nBREAKING CHANGE: after another footer\nCloses #4', ['after another footer'], true],
    ['FEAT(API)!: upper case', [], true],
    ['feat!(api): misplaced bang\n\nBREAKING CHANGE: still breaking', ['still breaking'], true],
    ['fix(ünïcødé)!: ✓ sujet', [], true],
    ['', [], false],
    ['   \n\n  ', [], false],
    ['feat: a\n\nBREAKING CHANGE:\n\nthe text starts on the next paragraph', ['the text starts on the next paragraph'], true],
  ];
  for (const [msg, want, breaking] of notes) {
    it(`reads ${JSON.stringify(msg.slice(0, 60))}`, () => {
      const p = parseMessage(msg);
      assert.deepEqual(p.notes, want);
      assert.equal(p.breaking, breaking);
      assert.ok(!/\r/.test(p.header + p.notes.join('')));
    });
  }

  it('reads revert headers of git, GitHub and the angular convention, header only', () => {
    const cases: [string, string, string | undefined, string][] = [
      ['Revert "feat: x"\r\n\r\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\r\n', 'feat: x', '0123456789abcdef0123456789abcdef01234567', ''],
      [
        'Revert "fix(deps): update dependency yargs to v17" (#2534)\n\nReverts #1912, fixes #2533\r',
        'fix(deps): update dependency yargs to v17',
        undefined,
        '(#2534)',
      ],
      ['revert: "fix: y" (#12)\n\nThis reverts commit abcdef1.', 'fix: y', 'abcdef1', '(#12)'],
      ['revert: feat(maxBuffer): expose this option', 'feat(maxBuffer): expose this option', undefined, ''],
      ['Revert "Revert "feat: x""', 'Revert "feat: x"', undefined, ''],
      ['Revert "feat: support "quoted" names"', 'feat: support "quoted" names', undefined, ''],
    ];
    for (const [msg, header, hash, suffix] of cases) assert.deepEqual(parseMessage(msg).revert, { header, hash, suffix }, msg);
  });

  it('keeps a breaking fix under Fixed and a breaking housekeeping commit under Changed', () => {
    assert.deepEqual(
      parseCommit('a', 'fix!: x').map((e) => e.section),
      ['Fixed'],
    );
    assert.deepEqual(
      parseCommit('a', 'chore!: drop Node 6').map((e) => e.section),
      ['Changed'],
    );
    assert.deepEqual(parseCommit('a', 'deps: bump'), [], 'unknown types are hidden');
    assert.deepEqual(
      parseCommit('a', 'deps: bump', { deps: 'Fixed' }).map((e) => e.section),
      ['Fixed'],
    );
  });

  it('renders notes of several paragraphs inside their list item', () => {
    const [e] = parseCommit('a', 'feat: a\n\nBREAKING CHANGE: one\n\nmore of one\nBREAKING CHANGE: two');
    const md = renderChangelogSection('2.0.0', '2026-01-01', { Added: [e.text] });
    assert.match(md, /^- BREAKING: a\n {2}- one\n\n {4}more of one\n {2}- two$/m);
  });

  it('never lets a body line, a quote or a CR into a revert entry (property)', async () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 200 }), (subject, body) => {
        const p = parseMessage(`Revert "${subject.replace(/[\r\n]/g, ' ')}"\r\n\r\n${body}`);
        if (!p.revert) return true;
        return !/[\r\n]/.test(p.revert.header) && !/[\r\n]/.test(p.revert.suffix);
      }),
    );
  });

  // Its time is a figure of `npm run bench` (parsing).
  it('parses a 2 MB message into one breaking note', () => {
    const p = parseMessage(`feat: big\n\nBREAKING CHANGE: ${'x '.repeat(1_000_000)}`);
    assert.equal(p.notes.length, 1);
  });
});

describe('revert pairs and tag prefixes in a real repository', () => {
  function repo() {
    const dir = tempDir('rp-revert-');
    const git = gitRepo(dir);
    let n = 0;
    const commit = (msg: string, file = `f${n++}.txt`) => {
      write(dir, file, String(n));
      git('add', '-A');
      git('commit', '-qm', msg);
      return git('rev-parse', 'HEAD');
    };
    return { dir, git, commit };
  }

  it('cancels pairs by hash or header, brings a feature back when its revert is reverted, lists the unpaired', async () => {
    const { dir, git, commit } = repo();
    commit('feat: base');
    git('tag', 'v1.0.0');
    const breaking = commit('feat(api)!: drop v1\n\nBREAKING CHANGE: v1 is gone');
    commit(`Revert "feat(api)!: drop v1 (edited title)"\n\nThis reverts commit ${breaking}.`);
    commit('feat: search');
    commit('Revert "feat: search"\n\nReverts #7');
    commit('feat: export');
    commit('Revert "feat: export"');
    commit('Revert "Revert "feat: export""');
    commit('Revert "fix: released long ago" (#99)\r\n\r\nThis reverts commit 0000000000000000000000000000000000000000.\r\n');
    const cl = await generateChangelog(dir);
    assert.deepEqual(
      cl.entries.map((e) => e.text),
      ['Reverted: fix: released long ago (#99)', 'export'],
    );
    assert.equal(cl.bump, 'minor', 'the reverted breaking change does not make it major');
    assert.equal(cl.omitted.revertPairs, 2);
  });

  it('takes the tag prefix literally (regex characters included) and only semantic versions after it', async () => {
    const { dir, git, commit } = repo();
    commit('feat: a');
    for (const t of ['pkg.1+v1.0.0', 'pkgX1+v9.0.0', 'pkg.11+v8.0.0', 'vendor-1.0', 'v1.2', 'v1.1.0', 'v1.0.0-rc.1', 'other@2.0.0', 'vv3.0.0', '4.0.0'])
      git('tag', t);
    assert.deepEqual(
      (await releaseTags(dir, 'pkg.1+v')).map((t) => t.name),
      ['pkg.1+v1.0.0'],
    );
    assert.deepEqual(
      (await releaseTags(dir, 'v')).map((t) => t.name),
      ['v1.1.0', 'v1.0.0-rc.1'],
    );
    assert.deepEqual(
      (await releaseTags(dir, '')).map((t) => t.name),
      ['4.0.0'],
    );
    commit('fix: b');
    const cl = await generateChangelog(dir, { tagPrefix: 'pkg.1+v' });
    assert.equal(cl.previousTag, 'pkg.1+v1.0.0');
    assert.equal(cl.version, '1.0.1');
  });
});
