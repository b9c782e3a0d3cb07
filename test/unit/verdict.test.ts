import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { decideVerdict } from '../../src/core/engine/gates/acceptanceVerdict';
import { ROOT } from '../support/helpers';
import { smallPlan, workspace } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');

const GO = 'Ready for Launch';
const MB = 'QA notes: all 1200 tests passed on staging.\n'.repeat(Math.ceil((1024 * 1024) / 44));

/** [verdict text, accepted?]: written from the side of someone trying to slip a "no" through. */
const CORPUS: [string, boolean][] = [
  ['````\n```\nReady for Launch\n````', false],
  ['```\n```js\nReady for Launch\n```', false],
  ['<pre>\nReady for Launch\n</pre>', false],
  ['> note:\nReady for Launch', false],
  ['> note:\n\nReady for Launch', true],
  ['```\nlog\n```\nReady for Launch', true],
  // found by a tester with the README alone: a go, then a no in another dress on another line
  ['Ready for Launch\nReady: no', false],
  ['Ready for Launch\nLaunch: NO', false],
  ['Ready for Launch\napproved: false', false],
  ['Ready for Launch\n**Update:** not ready anymore', false],
  ['Ready for Launch\n<b>NO</b>', false],
  ['Ready for Launch\n`no`', false],
  ['Ready for Launch\n[no](x)', false],
  ['Ready for Launch\n| no |', false],
  ['Ready for Launch\n: no', false],
  ['Ready for Launch\nDO NOT SHIP', false],
  ['Ready for Launch\nDo not release', false],
  ['Ready for Launch\nRevoked', false],
  ['Ready for Launch\nCancelled', false],
  ['Ready for Launch\nWithdrawn', false],
  ['Ready for Launch\nABORT', false],
  ['Ready for Launch\nNot really', false],
  ['Ready for Launch\nkeine Freigabe', false],
  ['Ready for Launch\nNotes: all 120 tests passed', true],
  // go, as people write it
  ['Ready for Launch', true],
  ['ready for launch\n', true],
  ['  READY   FOR\tLAUNCH  ', true],
  ['QA verdict: Ready for Launch\n', true],
  ['# QA report\n\nAll 120 tests passed.\n\n## Verdict: **Ready for Launch**\n', true],
  ['- [x] Ready for Launch', true],
  ['Status: "Ready for Launch"', true],
  ['✅ Ready for Launch!', true],
  ['Ready\u00a0for\u00a0Launch.', true],
  ['Ｒｅａｄｙ ｆｏｒ Ｌａｕｎｃｈ', true], // full-width letters: NFKC makes them the phrase
  ['{"verdict": "Ready for Launch", "blockers": 0}', true],
  ['Regression suite: green.\nNo regressions found.\nVerdict: Ready for Launch', true],
  [`${MB}Verdict: Ready for Launch\n`, true],
  // the four verdicts of issue 13
  ['QA verdict: NOT Ready for Launch — 3 blockers open', false],
  ['Ready for Launch? No.', false],
  ['Not yet Ready for Launch', false],
  ['Status: Not Ready for Launch', false],
  // negations, questions, qualifiers
  ["We aren't Ready for Launch", false],
  ['Never Ready for Launch', false],
  ['Ready for Launch?', false],
  ['Ready for Launch...', false],
  ['Almost Ready for Launch', false],
  ['Ready for Launch (pending sign-off)', false],
  ['Ready for Launch: no', false],
  ['Ready for Launch\nNo.', false],
  ['Not yet.\nReady for Launch', false],
  ['Ready for Launch\nVerdict: blocked', false],
  ['Ready for Launch\nDecision: hold until Monday', false],
  ['Ready-for-Launch? no', false],
  ['NotReady for Launch', false],
  // Markdown that says no
  ['- [ ] Ready for Launch', false],
  ['~~Ready for Launch~~', false],
  ['**NOT** Ready for Launch', false],
  ['```\nReady for Launch\n```', false],
  ['> Ready for Launch', false],
  ['<!-- Ready for Launch -->', false],
  ['<!--\nReady for Launch\n-->', false],
  ['Ready for Launch <!-- not really -->', false],
  ['    Ready for Launch', false],
  // emoji and other languages' no
  ['Ready for Launch ❌', false],
  ['❌ Ready for Launch', false],
  ['Ready for Launch\n🚫', false],
  ['Ready for Launch\nNein', false],
  ['Ready for Launch\nNon.', false],
  ['Ready for Launch\nнет', false],
  ['Ready for Launch\n否', false],
  ['Ready for Launch\nいいえ', false],
  ['Ready for Launch\nNão', false],
  // invisible and look-alike characters
  ['Not\u200b Ready for Launch', false],
  ['R\u0435ady for Launch', false], // Cyrillic е
  ['Ready for Launch\nN\u043e', false], // "No" with a Cyrillic о
  ['\u202eReady for Launch\u202c Not', false],
  // nothing
  ['', false],
  ['   \n\t\n  ', false],
  ['\u200b\u200b', false],
  ['Ready for', false],
  ['Launch', false],
  [MB, false],
  ['{"verdict": "Not Ready for Launch"}', false],
  ['{"verdict": "Ready for Launch", "status": "blocked"}', false],
  // a go, then a line that takes it back or reports a failure, in words no list of whole answers holds
  ['Ready for Launch\n\nUPDATE: this verdict is withdrawn', false],
  ['Ready for Launch\nVerdict withdrawn', false],
  ['Ready for Launch\nQA sign-off revoked by Alice', false],
  ['Ready for Launch\nAll 12 tests failed', false],
  ['Ready for Launch\nPostponed', false],
  ['Ready for Launch\nRollback!', false],
  ['Ready for Launch\nEdit: nevermind', false],
  ['Ready for Launch\nN O', false],
  ['Ready for Launch\nN\u0307o', false], // "Nȯ": a dot above
  ['Ready for Launch\nready: 0', false],
  ['Ready for Launch\nRelease rescinded after the incident', false],
  ['Ready for Launch\nSign-off retracted per Bob', false],
  ['Ready for Launch\nLaunch cancelled due to the outage', false],
  ['Ready for Launch\nOn hold until Monday', false],
  ['Ready for Launch\nSmoke tests failing on checkout', false],
  ['Ready for Launch\nBlocked by INC-42', false],
  ['Ready for Launch\nRejected by security', false],
  ['Ready for Launch\nNot approved yet by the PM', false],
  ['Ready for Launch\nW I T H D R A W N', false],
  ['Ready for Launch\nn  o.', false],
  ['Ready for Launch\nWithdr\u0430wn', false], // Cyrillic а
  ['Ready for Launch\nRev\u200boked', false],
  ['Ready for Launch\nDeferred to the next sprint', false],
  ['Ready for Launch\nThis verdict is no longer valid', false],
  ['Ready for Launch\napproved: false', false],
  ['Ready for Launch\nship: off', false],
  ['Ready for Launch\n- **Update**: QA *revoked* the sign-off', false],
  ['Ready for Launch\nPostpon\u00e9d', false],
  // counts of none are not failures
  ['Tests: 120 passed, 0 failed\nFailures: 0\nBlockers: none\nVerdict: Ready for Launch', true],
  ['No regressions found.\n0 tests failed.\nReady for Launch', true],
];

describe('acceptance verdict semantics', () => {
  it(`decides each of the ${CORPUS.length} verdict texts of the corpus as expected`, () => {
    const wrong: string[] = [];
    for (const [text, want] of CORPUS) {
      const d = decideVerdict(text, GO);
      if (d.ok !== want)
        wrong.push(
          `${JSON.stringify(text.length > 80 ? `${text.slice(0, 40)}…${text.slice(-40)}` : text)}: expected ${want ? 'go' : 'refusal'}, got ${d.ok ? 'go' : 'refusal'} (${d.reason})`,
        );
    }
    assert.ok(CORPUS.length >= 30);
    assert.deepEqual(wrong, []);
  });

  it('quotes the line that decided, with its number', () => {
    const d = decideVerdict('# QA\n\nQA verdict: NOT Ready for Launch — 3 blockers open\n', GO);
    assert.equal(d.ok, false);
    assert.deepEqual(d.line, { n: 3, text: 'QA verdict: NOT Ready for Launch — 3 blockers open' });
    assert.match(d.reason, /line 3: "QA verdict: NOT Ready for Launch — 3 blockers open"/);
    const ok = decideVerdict('notes\nVerdict: Ready for Launch', GO);
    assert.equal(ok.ok, true);
    assert.match(ok.reason, /line 2: "Verdict: Ready for Launch"/);
  });

  // Its time is a figure of `npm run bench` (parsing), with a goal that flags a quadratic turn.
  it('decides a 1 MB verdict whose phrase is on its last line', () => {
    const d = decideVerdict(`${MB}Ready for Launch`, GO);
    assert.equal(d.ok, true);
    assert.equal(d.line?.text, 'Ready for Launch');
  });

  it("uses the plan's phrase, not a fixed one", () => {
    assert.equal(decideVerdict('Go for production', 'Go for production').ok, true);
    assert.equal(decideVerdict('Ready for Launch', 'Go for production').ok, false);
    assert.equal(decideVerdict('No go for production', 'Go for production').ok, false);
  });

  describe('properties (fast-check)', () => {
    const NEGATIONS = [
      'not',
      'NOT',
      'no',
      'never',
      "isn't",
      'not yet',
      'almost',
      'nein',
      'non',
      'нет',
      '否',
      'いいえ',
      '❌',
      'blocked',
      'pending',
      "we're not",
      'not quite',
    ];
    const decoration = fc.constantFrom('', '# ', '## ', '- ', '* ', '1. ', '**', '> ', 'Verdict: ', 'Status: ', 'QA verdict: ', '- [x] ');
    const noise = fc.array(
      fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !/ready|launch|[\r\n]/i.test(s)),
      { maxLength: 6 },
    );

    it('the phrase after any negation, in any decoration, among other lines (a go line included), never passes', () => {
      fc.assert(
        fc.property(
          decoration,
          fc.constantFrom(...NEGATIONS),
          fc.constantFrom(' ', '  ', '\u00a0', '\u200b ', ' — ', ': '),
          noise,
          fc.boolean(),
          fc.nat(),
          (dec, neg, sep, others, withGo, at) => {
            const lines = [...others];
            if (withGo) lines.push(GO);
            lines.splice(at % (lines.length + 1), 0, `${dec}${neg}${sep}${GO}`);
            return decideVerdict(lines.join('\n'), GO).ok === false;
          },
        ),
        { numRuns: 500 },
      );
    });

    it('the phrase followed by a question, qualifier or negation never passes', () => {
      fc.assert(
        fc.property(
          decoration,
          fc.constantFrom('?', '? No.', ' — not yet', ' (pending)', ' ❌', ': no', ', except payments', ' soon', ' 🤞?'),
          noise,
          (dec, tail, others) => {
            return decideVerdict([...others, `${dec}${GO}${tail}`].join('\n'), GO).ok === false;
          },
        ),
        { numRuns: 300 },
      );
    });

    it('a bare "no" line anywhere refuses a text that otherwise says go', () => {
      fc.assert(
        fc.property(
          fc.constantFrom('No', 'no.', 'NO!', 'Nope', 'Not yet', 'Blocked', 'Pending', 'Nein', 'Non', 'нет', '否', 'いいえ', '❌', '🛑', '- [ ] done'),
          noise,
          fc.nat(),
          (no, others, at) => {
            const lines = [...others, `Verdict: ${GO}`];
            lines.splice(at % (lines.length + 1), 0, no);
            return decideVerdict(lines.join('\n'), GO).ok === false;
          },
        ),
        { numRuns: 300 },
      );
    });

    it('text without the phrase on a line of its own never passes', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), (s) => {
          fc.pre(!/ready\s+for\s+launch/i.test(s.normalize('NFKC')));
          return decideVerdict(s, GO).ok === false;
        }),
        { numRuns: 500 },
      );
    });

    it('the phrase alone, in any accepted decoration and any case, among neutral lines, passes', () => {
      fc.assert(
        fc.property(
          decoration.filter((d) => d !== '> '),
          fc.boolean(),
          noise.map((xs) => xs.filter((x) => decideVerdict(`${x}\n${GO}`, GO).ok)),
          (dec, upper, others) => {
            const phrase = upper ? GO.toUpperCase() : GO;
            const close = dec === '**' ? '**' : '';
            return decideVerdict([...others, `${dec}${phrase}${close}`].join('\n'), GO).ok === true;
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});

describe('acceptance verdict through the CLI (dist/cli.js)', function () {
  this.timeout(60_000);
  const run = (verdict: string) => {
    const ws = workspace(smallPlan(), { 'verdict.txt': verdict });
    const r = spawnSync('node', [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], { encoding: 'utf8', timeout: 50_000 });
    return { ...r, dir: ws.dir };
  };

  for (const verdict of [
    'QA verdict: NOT Ready for Launch — 3 blockers open',
    'Ready for Launch? No.',
    'Not yet Ready for Launch',
    'Status: Not Ready for Launch',
  ]) {
    it(`refuses "${verdict}", quoting it, and runs nothing`, () => {
      const r = run(`${verdict}\n`);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.ok(r.stdout.includes(`got "${verdict}"`), `the refusal quotes the verdict:\n${r.stdout}`);
      assert.match(r.stdout, /Outcome: \*\*aborted\*\*/);
      assert.ok(!fs.existsSync(path.join(r.dir, 'prepared.txt')), 'no step ran');
    });
  }

  it('releases with "Ready for Launch" alone', () => {
    const r = run('Ready for Launch\n');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /✓ acceptance: "Ready for Launch"/);
    assert.ok(fs.existsSync(path.join(r.dir, 'announced.txt')));
  });
});
