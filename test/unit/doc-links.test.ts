import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { brokenLinks, docAnchors, githubSlug, headingText } from '../support/docLinks';
import { ROOT, tempDir, write } from '../support/helpers';

/** The documents a reader follows links through: the front page, docs/, and the project's other Markdown files at the root. */
function documents(): string[] {
  const docs = fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', 'CONTRIBUTING.md', 'RELIABILITY.md', 'BENCHMARKS.md', 'CHANGELOG.md', ...docs];
}

/** The set-up lines CI and newcomers copy from the README, byte for byte. */
const SETUP = [
  'npm ci && npm run demo          # the main job: a real service released end to end (≈ 1 min)',
  'npm ci && npm test              # every test: unit, integration and UI tests in real VS Code 1.100 and 1.139',
];

describe('documentation links (README.md, docs/*.md, CONTRIBUTING.md, RELIABILITY.md, BENCHMARKS.md, CHANGELOG.md)', () => {
  it('every relative link and image resolves to a file, and every #anchor to a heading or id of its target', () => {
    const files = documents();
    assert.ok(files.includes('docs/plan-reference.md') && files.includes('docs/guide.md'), `docs not found: ${files.join(', ')}`);
    assert.deepEqual(brokenLinks(ROOT, files), []);
  });

  it('README.md is a front page: at most 200 lines, with the two set-up commands as they are', () => {
    const lines = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').replace(/\n$/, '').split('\n');
    assert.ok(lines.length <= 200, `README.md has ${lines.length} lines`);
    for (const line of SETUP) assert.ok(lines.includes(line), `README.md lacks the line: ${line}`);
  });

  it("slugs headings as GitHub does: lowercase, each space a '-', punctuation other than '-' and '_' removed", () => {
    const cases: [string, string][] = [
      ['Try it', 'try-it'],
      ['The fleet: four hosts, HAProxy, Ansible (`npm run demo:fleet`)', 'the-fleet-four-hosts-haproxy-ansible-npm-run-demofleet'],
      ['Commands (palette category "Deploy")', 'commands-palette-category-deploy'],
      ['Environments, promotion and approvals', 'environments-promotion-and-approvals'],
      ['`environments.<name>.approvals`', 'environmentsnameapprovals'],
      ['`phases.preparation.steps[]`', 'phasespreparationsteps'],
      ['3. Verification', '3-verification'],
      ['A -- B', 'a----b'],
      ['C++ & C#', 'c--c'],
      ['snake_case and __init__', 'snake_case-and-init'],
      ['Über café — Schritt 2', 'über-café--schritt-2'],
      ['🚀 Launch', '-launch'],
      ['What counts as **go**?', 'what-counts-as-go'],
      ['[The guide](docs/guide.md) first', 'the-guide-first'],
      ['A <code>tag</code> dropped', 'a-tag-dropped'],
      ['', ''],
    ];
    for (const [heading, slug] of cases) assert.equal(githubSlug(headingText(heading)), slug, heading);
  });

  it('numbers repeated headings, ignores headings in code blocks, and takes HTML ids and setext headings', () => {
    const anchors = docAnchors(
      [
        '# Notes',
        '## Notes',
        '## Notes',
        '```',
        '### Hidden in a fence',
        '```',
        '~~~~',
        '```',
        '### Still hidden',
        '~~~~',
        'Setext title',
        '------------',
        '<a id="phases.deploy"></a>',
        '`<a id="in-code"></a>`',
        '#not-a-heading',
        '####### seven hashes',
      ].join('\n'),
    );
    assert.deepEqual([...anchors].sort(), ['notes', 'notes-1', 'notes-2', 'phases.deploy', 'setext-title']);
  });

  it('reports each kind of broken link and follows every good one (a hostile corpus in a real folder)', () => {
    const root = tempDir('rp-doclinks-');
    write(root, 'img/shot.png', 'png');
    write(root, 'my file.md', '# Spaced\n');
    write(root, 'src/code.ts', 'export {};\n');
    write(root, 'docs/other.md', '# Other\n\n## The fleet: four hosts (`demo:fleet`)\n\n<a id="keys.a"></a>\n');
    const good = [
      '# Good',
      '[same file](#good)',
      '[other](other.md) [anchor](other.md#the-fleet-four-hosts-demofleet) [id](other.md#keys.a)',
      '![image](../img/shot.png "a title")',
      '[spaced](../my%20file.md#spaced) [angle](<../my file.md>)',
      '[root-relative](/src/code.ts#L1-L3) [folder](../src)',
      '[web](https://example.com/x.md#nothing) [mail](mailto:a@example.com) [proto](//example.com)',
      '<img src="../img/shot.png" alt="x"> <a href="other.md#other">x</a>',
      '[ref]: other.md#other',
      '```',
      '[in a fence](missing.md)',
      '```',
      'and `[in a code span](missing.md)` too, ``[double](missing.md)``',
    ];
    write(root, 'docs/good.md', good.join('\n'));
    assert.deepEqual(brokenLinks(root, ['docs/good.md']), []);

    const bad = [
      '# Bad',
      '[missing](missing.md)',
      '![missing image](../img/none.png)',
      '[no heading](other.md#nowhere)',
      '[heading in a fence](other.md#hidden)',
      '[case](other.md#Other)',
      '[outside](../../etc/passwd)',
      '[anchor in code](../src/code.ts#main)',
      '[empty]()',
      '[bad escape](%E0%A4%A.md)',
      '[ref]: gone.md',
      '<img src="../img/gone.png">',
      '[self](#nowhere-here)',
    ];
    write(root, 'docs/bad.md', bad.join('\n'));
    write(root, 'docs/other.md', '# Other\n\n```\n# Hidden\n```\n');
    const found = brokenLinks(root, ['docs/bad.md']);
    assert.deepEqual(
      found.map((m) => m.replace(/:.*/, '') + ':' + m.split(':')[1]),
      [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13].map((n) => `docs/bad.md:${n}`),
      found.join('\n'),
    );
    assert.match(found[0], /no such file docs\/missing\.md/);
    assert.match(found[2], /no heading or id "nowhere" in docs\/other\.md/);
    assert.match(found[5], /outside the repository/);
  });
});
