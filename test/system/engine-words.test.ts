import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/engine';
import { smallPlan, workspace } from '../support/fixtures';

/**
 * Every value read from `${env:…}` is masked; some are the engine's own words (`DEPLOY_ENV=production`,
 * `CI_JOB_STATUS=failed`). Masked in the journal's structured fields, they changed what the release
 * decided: a good release ended as `***` and blocked the next one, a good rollback read as failed.
 * Each value below must leave the outcome, states and environment as they are, and still be masked
 * where a step prints it.
 */
const WORDS = ['released', 'passed', 'failed', 'rolled-back', 'rollback-failed', 'production', 'paused', 'blocked', 'waived', 'skipped', 'pass', 'open'];

const env = (word: string): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, WORD: word });

function journal(dir: string): Record<string, unknown>[] {
  const runs = path.join(dir, '.release', 'runs');
  const [run] = fs.readdirSync(runs);
  return fs
    .readFileSync(path.join(runs, run, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const plan = (over: Parameters<typeof smallPlan>[0] = {}) =>
  `${smallPlan({
    deploy: `    steps:\n      - name: deploy\n        run: echo "version \${release.version}" > deployed.txt && echo "the word is $WORD"`,
    ...over,
  })}\nenv:\n  WORD: \${env:WORD}\n`;

describe("a masked value that is one of the engine's own words", function () {
  this.timeout(120_000);

  for (const word of WORDS.filter((w) => w !== 'production')) {
    it(`WORD=${word}: a good release is released, its journal keeps its states, and the step's line is masked`, async () => {
      const ws = workspace(plan());
      const s = await (await Release.start(ws.options({ env: env(word) }))).run();
      assert.equal(s.status, 'released', s.outcomeMessage);
      const events = journal(ws.dir);
      const finished = events.find((e) => e.type === 'release.finished');
      assert.equal(finished?.outcome, 'released');
      assert.equal(events.find((e) => e.type === 'release.started')?.environment, 'production');
      for (const e of events) for (const k of ['type', 'outcome', 'state', 'status', 'phase']) assert.notEqual(e[k], '***', `${String(e.type)}.${k} masked`);
      const text = JSON.stringify(events);
      assert.match(text, /the word is \*\*\*/, 'what the step printed is still masked');
      assert.doesNotMatch(text, new RegExp(`the word is ${word}`));
    });
  }

  // The environment is part of the journal's record, written as it is: a secret equal to it would be shown there.
  it('WORD=production, the environment itself: the release does not start, naming WORD and the environment, not the value; listed under notSecret it is released', async () => {
    const ws = workspace(plan());
    await assert.rejects(
      async () => (await Release.start(ws.options({ env: env('production') }))).run(),
      (e: Error) => /WORD/.test(e.message) && /the environment/.test(e.message) && /notSecret/.test(e.message),
    );
    assert.equal(fs.existsSync(path.join(ws.dir, 'deployed.txt')), false, 'nothing ran');
    const open = workspace(`${plan()}notSecret: [WORD]\n`);
    const s = await (await Release.start(open.options({ env: env('production') }))).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.equal(journal(open.dir).find((e) => e.type === 'release.started')?.environment, 'production');
  });

  it('WORD=rolled-back: a rollback after a breach is rolled back, not failed', async () => {
    const ws = workspace(
      plan({
        monitoring: `  window: 2s\n  interval: 200ms\n  baseline:\n    fixed: { health: 1 }\n  metrics:\n    - id: health\n      command: echo 0\n      guard: { min: 1 }`,
      }),
    );
    const s = await (await Release.start(ws.options({ env: env('rolled-back') }))).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    const events = journal(ws.dir);
    assert.equal(events.find((e) => e.type === 'rollback.finished')?.outcome, 'rolled-back');
    assert.equal(events.find((e) => e.type === 'release.finished')?.outcome, 'rolled-back');
  });
});
