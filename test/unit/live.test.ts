import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import type { NewEvent, ReleaseEvent } from '../../src/core/model/events';
import { foldJournal, type ReleaseState } from '../../src/core/model/releaseState';
import { liveFrom, servingNow, servingRule, type ServingRule } from '../../src/core/engine/queries/liveState';
import { inputValue, journaledInputsDigest, sameInput } from '../../src/core/base/inputs';
import { resumedInputs, startInputs } from '../../src/core/engine/run/runInputs';
import { parsePlan } from '../../src/core/plan/load';
import { smallPlan } from '../support/fixtures';

let clock = Date.parse('2026-03-01T10:00:00Z');
const at = () => new Date((clock += 1000)).toISOString();
const stamp = (es: NewEvent[]): ReleaseEvent[] => es.map((e) => ({ ...e, at: at() }));

const startedE = (runId: string, version: string, environment = 'production'): NewEvent => ({
  type: 'release.started',
  runId,
  plan: '.release/plan.yaml',
  name: 'tiny',
  version,
  environment,
  user: 'u',
  host: 'h',
  pid: 1,
  planHash: 'x',
  commit: `c-${version}`,
});
const phase = (p: 'deploy' | 'monitoring', outcome?: 'passed' | 'failed'): NewEvent[] => [
  { type: 'phase.started', phase: p },
  ...(outcome ? [{ type: 'phase.finished' as const, phase: p, outcome }] : []),
];
const colours: NewEvent = { type: 'deploy.colors', active: 'blue', idle: 'green' };
const rollback = (outcome?: 'rolled-back' | 'rollback-failed'): NewEvent[] => [
  { type: 'rollback.started', trigger: 'guard', reason: 'r', by: 'u', requestedAt: at(), latencyMs: 1 },
  ...(outcome
    ? [
        { type: 'rollback.finished' as const, outcome, message: 'm' },
        { type: 'release.finished' as const, outcome, message: 'm' },
      ]
    : []),
];

/** Every ending a run can have, as the engine journals it, and what it says about what serves. */
const ENDINGS: Record<string, { events: (id: string, v: string) => NewEvent[]; rule: ServingRule }> = {
  released: {
    events: (id, v) => [startedE(id, v), colours, ...phase('deploy', 'passed'), { type: 'release.finished', outcome: 'released', message: 'ok' }],
    rule: 'live',
  },
  'rolled back': {
    events: (id, v) => [startedE(id, v), colours, ...phase('deploy', 'passed'), ...phase('monitoring'), ...rollback('rolled-back')],
    rule: 'reverted',
  },
  'rollback failed': { events: (id, v) => [startedE(id, v), colours, ...phase('deploy', 'passed'), ...rollback('rollback-failed')], rule: 'uncertain' },
  'rollback interrupted': { events: (id, v) => [startedE(id, v), ...phase('deploy', 'passed'), ...rollback()], rule: 'uncertain' },
  'abandoned after deploy': {
    events: (id, v) => [
      startedE(id, v),
      colours,
      ...phase('deploy', 'passed'),
      ...phase('monitoring'),
      { type: 'release.paused', message: 'stopped by SIGINT' },
      { type: 'decision', action: 'abandon', by: 'u', reason: 'r' },
      { type: 'release.finished', outcome: 'aborted', message: 'abandoned' },
    ],
    rule: 'live',
  },
  'paused after deploy': { events: (id, v) => [startedE(id, v), ...phase('deploy', 'passed'), { type: 'release.paused', message: 'p' }], rule: 'live' },
  'interrupted mid-switch': {
    events: (id, v) => [
      startedE(id, v),
      colours,
      ...phase('deploy'),
      { type: 'step.started', phase: 'deploy', step: 'deploy/0', name: 'switch', command: 'switch', log: 'l' },
    ],
    rule: 'uncertain',
  },
  'abandoned mid-switch': {
    events: (id, v) => [
      startedE(id, v),
      ...phase('deploy'),
      { type: 'release.paused', message: 'p' },
      { type: 'release.finished', outcome: 'aborted', message: 'abandoned' },
    ],
    rule: 'uncertain',
  },
  'aborted at a gate': { events: (id, v) => [startedE(id, v), { type: 'release.finished', outcome: 'aborted', message: 'no go' }], rule: 'never' },
  'abandoned before deploy': {
    events: (id, v) => [
      startedE(id, v),
      { type: 'phase.started', phase: 'preparation' },
      { type: 'release.paused', message: 'p' },
      { type: 'release.finished', outcome: 'aborted', message: 'abandoned' },
    ],
    rule: 'never',
  },
};

const run = (id: string, v: string, ending: string, environment = 'production'): ReleaseState => {
  const es = ENDINGS[ending].events(id, v).map((e) => (e.type === 'release.started' ? { ...e, environment } : e));
  return foldJournal(stamp(es), { closed: true });
};

describe('what is live: every ending × every consumer, from journals folded by the real fold', () => {
  // Runs newest first, as the workspace lists them: 1.0.0 released, then 1.1.0 with the ending under test.
  for (const [ending, { rule }] of Object.entries(ENDINGS)) {
    it(`${ending}: ${rule}`, () => {
      const older = run('r1', '1.0.0', 'released');
      const s = run('r2', '1.1.0', ending);
      assert.equal(servingRule(s), rule, 'the rule');
      const live = liveFrom([s, older], 'tiny', 'production');
      const out = live.out.map((r) => r.version);
      const target = live.known?.version;
      const history = [s, older].map(servingNow([s, older]));
      switch (rule) {
        case 'live':
          // Rollback target / ${release.previousVersion} of the next run, "already out", history, retired colour.
          assert.equal(target, '1.1.0');
          assert.equal(live.uncertain, undefined);
          assert.deepEqual(out, ['1.1.0', '1.0.0']);
          assert.deepEqual(history, ['yes', undefined]);
          assert.equal(live.keptColour?.from, s.colors ? 'r2' : undefined);
          break;
        case 'reverted':
          assert.equal(target, '1.0.0', 'what it rolled back to');
          assert.equal(live.uncertain, undefined);
          assert.deepEqual(out, ['1.0.0'], 'a version rolled back may go out again');
          assert.deepEqual(history, [undefined, 'yes']);
          assert.equal(live.keptColour, undefined, 'a run deployed over the old colour: none is handed on');
          break;
        case 'uncertain':
          assert.equal(target, '1.0.0', 'the last version known to serve');
          assert.match(live.uncertain ?? '', /run r2 \(1\.1\.0, .*\) may still serve; the last version known to serve before it is 1\.0\.0 \(run r1\)/);
          assert.deepEqual(out, ['1.1.0', '1.0.0'], 'a version that may serve is out');
          assert.deepEqual(history, ['maybe', 'maybe']);
          assert.equal(live.keptColour, undefined);
          break;
        case 'never':
          assert.equal(target, '1.0.0');
          assert.equal(live.uncertain, undefined);
          assert.deepEqual(out, ['1.0.0']);
          assert.deepEqual(history, [undefined, 'yes']);
          assert.equal(live.keptColour?.from, 'r1', 'nothing was deployed over it');
          break;
      }
      assert.equal(live.now?.version, rule === 'live' || rule === 'uncertain' ? '1.1.0' : '1.0.0');
    });
  }

  it('environments and services are apart; names compare as one place (Production = production)', () => {
    const staging = run('r3', '2.0.0', 'released', 'staging');
    const prod = run('r1', '1.0.0', 'released', 'Production');
    assert.equal(liveFrom([staging, prod], 'tiny', 'production').known?.version, '1.0.0');
    assert.equal(liveFrom([staging, prod], 'tiny', 'staging').known?.version, '2.0.0');
    assert.equal(liveFrom([staging, prod], 'other', 'production').known, undefined);
  });

  it('a rolled-back run over an abandoned-after-deploy one goes back to it, not to the last released', () => {
    const runs = [run('r3', '1.2.0', 'rolled back'), run('r2', '1.1.0', 'abandoned after deploy'), run('r1', '1.0.0', 'released')];
    const live = liveFrom(runs, 'tiny', 'production');
    assert.equal(live.known?.version, '1.1.0');
    assert.deepEqual(
      live.out.map((r) => r.version),
      ['1.1.0', '1.0.0'],
    );
  });

  it('property: the target is always a version some run served for certain, and never a rolled-back or never-deployed one', () => {
    const names = Object.keys(ENDINGS);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...names), { maxLength: 12 }), (endings) => {
        const runs = endings.map((e, i) => run(`r${i}`, `1.${i}.0`, e)).reverse();
        const live = liveFrom(runs, 'tiny', 'production');
        if (live.known) assert.equal(servingRule(runs.find((r) => r.runId === live.known!.runId)!), 'live');
        for (const r of live.out) assert.ok(['live', 'uncertain'].includes(servingRule(runs.find((x) => x.runId === r.runId)!)));
        // Uncertain exactly when an uncertain run is newer than the last certain one.
        const firstCertain = runs.findIndex((r) => servingRule(r) === 'live');
        const newer = firstCertain < 0 ? runs : runs.slice(0, firstCertain);
        assert.equal(
          live.uncertain !== undefined,
          newer.some((r) => servingRule(r) === 'uncertain'),
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('a run’s inputs: journaled at start, resumed exactly, digested stably', () => {
  const loaded = parsePlan(smallPlan({ extra: 'variables:\n  X: plan\n  Y: "8080"' }), '/tmp/plan.yaml');
  if (!loaded.ok) throw new Error('plan');
  const plan = loaded.plan;
  const SECRET = 'hunter2-hunter2-secret';
  const secret = (v: string) => v.includes(SECRET);
  const kept = startInputs(plan, { vars: { X: 'cli' }, ticks: ['sign-off'] }, secret);

  it('the start keeps overrides and every variable; a secret by hash only', () => {
    assert.deepEqual(kept.overrides, { X: { value: 'cli' } });
    assert.deepEqual(kept.variables, { X: { value: 'cli' }, Y: { value: '8080' } });
    const s = startInputs(plan, { vars: { X: SECRET } }, secret);
    assert.ok(!JSON.stringify(s).includes(SECRET));
    assert.ok(sameInput(s.overrides.X, SECRET));
  });

  // Hostile resumes: each is refused, naming the variable, never a secret's value.
  const hostile: [string, Record<string, string>][] = [
    ['another value', { X: 'other' }],
    ['the plan’s own value', { X: 'plan' }],
    ['empty', { X: '' }],
    ['trailing space', { X: 'cli ' }],
    ['unicode look-alike', { X: 'cIi' }],
    ['NFKC twin', { X: 'ｃｌｉ' }],
    ['quoted', { X: '"cli"' }],
    ['newline', { X: 'cli\n' }],
    ['huge', { X: 'c'.repeat(100_000) }],
    ['a second variable changed', { Y: '9090' }],
    ['a secret in place of the value', { X: SECRET }],
    ['a variable the run did not have', { Z: '1' }],
  ];
  for (const [what, given] of hostile)
    it(`resume refuses: ${what}`, () => {
      const r = resumedInputs('run-1', kept, plan, given, secret);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.match(r.message, new RegExp(`${Object.keys(given)[0]}: run run-1 started with`));
      assert.ok(!r.message.includes(SECRET), r.message);
    });

  it('resume without --var, or with the same values, goes on with the run’s values', () => {
    for (const given of [undefined, {}, { X: 'cli' }, { X: 'cli', Y: '8080' }] as (Record<string, string> | undefined)[])
      assert.deepEqual(resumedInputs('run-1', kept, plan, given, secret), { ok: true, vars: { X: 'cli', Y: '8080' } });
    assert.deepEqual(resumedInputs('old', undefined, plan, { X: 'given' }, secret), { ok: true, vars: { X: 'given' } }, 'a journal from before inputs');
  });

  it('journaledInputsDigest: order-independent, value-sensitive, secret by hash', () => {
    const d = (o: Record<string, string>) => journaledInputsDigest(startInputs(plan, { vars: o }, secret));
    assert.equal(d({ X: '1', Y: '2' }), d({ Y: '2', X: '1' }));
    assert.notEqual(d({ X: '1' }), d({ X: '2' }));
    assert.notEqual(d({ X: '1' }), d({}));
    assert.notEqual(d({ X: 'a', Y: 'b' }), d({ X: 'b', Y: 'a' }));
    assert.equal(journaledInputsDigest(undefined), journaledInputsDigest({ overrides: {} }));
    assert.equal(journaledInputsDigest({ overrides: { X: inputValue(SECRET, secret) } }), d({ X: SECRET }));
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.string()), fc.dictionary(fc.string(), fc.string()), (a, b) => {
        const same = JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
        assert.equal(d(a) === d(b), same);
      }),
      { numRuns: 300 },
    );
  });
});
