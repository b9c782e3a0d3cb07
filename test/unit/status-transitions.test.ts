import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import type { EventOf, NewEvent, ReleaseEvent, ReleaseOutcome } from '../../src/core/model/events';
import { foldJournal } from '../../src/core/model/releaseState';
import { PHASES } from '../../src/core/model/schema';
import { STATUS_EVENT_TYPES, TransitionRefused, transition } from '../../src/core/model/statusTransitions';
import { errorCode } from '../../src/core/base/errors';
import { journalDamage, refuseDamagedJournal } from '../../src/core/engine/gates/journalTrust';
import { buildReport } from '../../src/core/report/report';
import { renderStatus } from '../../src/cli/render';
import { RunContext } from '../../src/core/engine/run/context';
import { releaseHistory, renderHistory } from '../../src/core/engine/queries/releaseHistory';
import { Release } from '../../src/core/engine/run/engine';
import { journalLines, workspace } from '../support/fixtures';
import { ROOT } from '../support/helpers';

let clock = Date.parse('2026-03-01T10:00:00Z');
const stamp = (es: NewEvent[]): ReleaseEvent[] => es.map((e) => ({ ...e, at: new Date((clock += 1000)).toISOString() }));
const fold = (es: NewEvent[]) => foldJournal(stamp(es));

const started: NewEvent = {
  type: 'release.started',
  runId: 'run-1',
  plan: '.release/plan.yaml',
  name: 'tiny',
  version: '1.0.0',
  environment: 'production',
  user: 'u',
  host: 'h',
  pid: 1,
  planHash: 'x',
};
/** Every phase started and passed, as the engine writes a run that ends released. */
const phasesPassed: NewEvent[] = PHASES.flatMap((phase): NewEvent[] => [
  { type: 'phase.started', phase },
  { type: 'phase.finished', phase, outcome: 'passed' },
]);
const paused: NewEvent = { type: 'release.paused', message: 'paused' };
const resumed: NewEvent = { type: 'release.resumed', by: 'u', pid: 2 };
const finished = (outcome: ReleaseOutcome): NewEvent => ({ type: 'release.finished', outcome, message: outcome });
const rbStarted: NewEvent = { type: 'rollback.started', trigger: 'user', reason: 'bad', by: 'u', requestedAt: '2026-03-01T10:00:00Z', latencyMs: 0 };
const rbFinished = (outcome: 'rolled-back' | 'rollback-failed'): NewEvent => ({ type: 'rollback.finished', outcome, message: outcome });
const startedDetail = (({ type: _, ...d }) => d)(started as EventOf<'release.started'>);
const rbDetail = (({ type: _, ...d }) => d)(rbStarted as EventOf<'rollback.started'>);
const rolledBack: NewEvent[] = [rbStarted, rbFinished('rolled-back'), finished('rolled-back')];

describe('status transitions: a journal with an impossible status change is flagged', () => {
  const cases: [string, NewEvent[], string, RegExp][] = [
    ['a released run pausing', [started, ...phasesPassed, finished('released'), paused], 'released', /release\.paused where the release was released/],
    ['an aborted run resuming', [started, ...phasesPassed, paused, finished('aborted'), resumed], 'aborted', /release\.resumed where the release was aborted/],
    [
      'a run finished twice',
      [started, ...phasesPassed, finished('released'), finished('aborted')],
      'released',
      /release\.finished \(aborted\) where the release was released/,
    ],
    [
      'a rollback started again after it finished, with no outcome between',
      [started, ...phasesPassed, rbStarted, rbFinished('rolled-back'), rbStarted],
      'rolling-back',
      /rollback\.started where the release has rolled back and has no outcome yet/,
    ],
    [
      'a rollback of a run rolled back already',
      [started, ...phasesPassed, ...rolledBack, rbStarted],
      'rolled-back',
      /rollback\.started where the release was rolled back/,
    ],
    [
      'a resume of a run that never paused nor ran a phase',
      [started, resumed],
      'running',
      /release\.resumed where the release has started and nothing ran yet/,
    ],
    ['a pause during the rollback', [started, ...phasesPassed, rbStarted, paused], 'rolling-back', /release\.paused where the release is rolling back/],
    ['a second start in the same journal', [started, ...phasesPassed, started], 'running', /release\.started where the release is running/],
    [
      'a rollback finished twice',
      [started, ...phasesPassed, rbStarted, rbFinished('rollback-failed'), rbFinished('rolled-back')],
      'rolling-back',
      /rollback\.finished \(rolled-back\)/,
    ],
    [
      'a rollback that failed ending the release as rolled back',
      [started, ...phasesPassed, rbStarted, rbFinished('rollback-failed'), finished('rolled-back')],
      'rolling-back',
      /release\.finished \(rolled-back\)/,
    ],
    [
      'a release rolled back with no rollback in its journal',
      [started, ...phasesPassed, finished('rolled-back')],
      'running',
      /release\.finished \(rolled-back\) where the release is running/,
    ],
    [
      'a rollback finished that never started',
      [started, ...phasesPassed, rbFinished('rolled-back')],
      'running',
      /rollback\.finished \(rolled-back\) where the release is running/,
    ],
    ['a status change before the release started', [paused, started], 'running', /release\.paused where the release has not started/],
    [
      'an outcome the engine does not know',
      [started, { ...finished('released'), outcome: 'shipped' } as unknown as NewEvent],
      'running',
      /release\.finished \(shipped\)/,
    ],
    [
      'a released run finished again as released (a replayed line)',
      [started, ...phasesPassed, finished('released'), finished('released')],
      'released',
      /release\.finished \(released\) where the release was released/,
    ],
  ];
  for (const [title, events, status, why] of cases)
    it(`flags ${title}, and folds the status it had before`, () => {
      const s = fold(events);
      assert.equal(s.status, status);
      assert.equal(s.transitionFlags?.length, 1, JSON.stringify(s.transitionFlags));
      assert.match(s.transitionFlags[0], why);
      assert.match(s.transitionFlags[0], /^event \d+ \(/);
    });

  it('lets a rollback pause only where its restore waits for a person, and go on as a rollback', () => {
    const held: NewEvent = { type: 'rollback.database', strategy: 'restore', action: 'held', ok: true, message: 'held' };
    const s = fold([started, ...phasesPassed, rbStarted, held, paused]);
    assert.equal(s.transitionFlags, undefined);
    assert.equal(s.status, 'paused');
    const after = fold([started, ...phasesPassed, rbStarted, held, paused, resumed, rbFinished('rolled-back'), finished('rolled-back')]);
    assert.equal(after.transitionFlags, undefined);
    assert.equal(after.status, 'rolled-back');
    const early = fold([started, ...phasesPassed, rbStarted, paused, { ...held }]);
    assert.match(early.transitionFlags?.[0] ?? '', /release\.paused where the release is rolling back/);
  });

  it('keeps the first outcome when a journal ends a release twice', () => {
    const s = fold([started, ...phasesPassed, finished('released'), { type: 'release.finished', outcome: 'aborted', message: 'spliced' }]);
    assert.equal(s.outcome, 'released');
    assert.equal(s.outcomeMessage, 'released');
  });

  it('does not trust a journal with an impossible status change to drive a command', () => {
    const ws = workspace();
    const plan = ws.options().plan;
    const runDir = path.join(ws.dir, '.release/runs/run-1');
    const clean = fold([started, ...phasesPassed, paused]);
    assert.equal(journalDamage(clean, plan, 'run-1', runDir), undefined);
    const edited = fold([started, ...phasesPassed, finished('released'), paused]);
    assert.match(
      journalDamage(edited, plan, 'run-1', runDir) ?? '',
      /journal of run run-1 was edited or damaged: event 21 \(release\.paused .*where the release was released/,
    );
    assert.throws(
      () => refuseDamagedJournal(edited, plan, 'run-1', runDir),
      (e: Error) => errorCode(e) === 'RP_GATE',
    );
  });

  it("names an impossible status change first among the report's warnings", () => {
    const r = buildReport(fold([started, ...phasesPassed, finished('released'), paused, { type: 'warning', message: 'later' }]));
    assert.equal(r.warnings.length, 2);
    assert.match(r.warnings[0], /^the journal was edited or damaged: event 21 \(release\.paused .* was left out$/);
    assert.equal(r.release.status, 'released');
  });

  it('says in `status` that the journal was edited, in the words of the report, before anything else of the run', () => {
    const s = fold([started, ...phasesPassed, finished('released'), paused]);
    const lines = renderStatus(s).split('\n');
    assert.match(lines[2], /^warning: the journal was edited or damaged: event 21 \(release\.paused .* was left out$/);
    assert.equal(lines[2], `warning: ${buildReport(s).warnings[0]}`);
    assert.ok(!renderStatus(fold([started, ...phasesPassed, finished('released')])).includes('edited'));
  });

  it('folds a journal cut short mid-rollback without a flag: the reopen ends what it began', () => {
    for (const cut of [
      [started, ...phasesPassed, rbStarted],
      [started, ...phasesPassed, rbStarted, rbFinished('rolled-back')],
      [started, ...phasesPassed, rbStarted, rbFinished('rollback-failed')],
    ]) {
      const s = fold(cut);
      assert.equal(s.transitionFlags, undefined);
      assert.equal(s.status, 'rolling-back');
    }
  });
});

/** A run's journal written by hand in a real workspace, reopened as the CLI reopens it. */
async function reopenJournal(events: NewEvent[]) {
  const ws = workspace();
  const runId = '20260301-100000-1.0.0';
  const file = path.join(ws.dir, '.release/runs', runId, 'journal.jsonl');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const lines = stamp(events.map((e) => (e.type === 'release.started' ? { ...e, runId } : e)));
  fs.writeFileSync(file, lines.map((e) => JSON.stringify(e) + '\n').join(''));
  const r = await Release.reopen(ws.options(), runId);
  const state = r.snapshot;
  r.close();
  return { state, journal: journalLines(ws, runId) };
}

describe('status transitions: reopening a journal cut short mid-transition', () => {
  it('ends the release as rolled back when its process ended after the rollback passed and before the outcome was written', async () => {
    const { state, journal } = await reopenJournal([started, ...phasesPassed, rbStarted, rbFinished('rolled-back')]);
    assert.equal(state.status, 'rolled-back');
    assert.equal(state.transitionFlags, undefined);
    const ends = journal.filter((e) => e.type === 'release.finished');
    assert.deepEqual(
      ends.map((e) => e.outcome),
      ['rolled-back'],
    );
  });

  it('ends the release as rollback-failed when its process ended after the rollback failed and before the outcome was written', async () => {
    const { state, journal } = await reopenJournal([started, ...phasesPassed, rbStarted, rbFinished('rollback-failed')]);
    assert.equal(state.status, 'rollback-failed');
    const ends = journal.filter((e) => e.type === 'release.finished');
    assert.equal(ends.length, 1);
    assert.match(String(ends[0].message), /roll back again/);
  });

  it('records an interrupted rollback as failed, once', async () => {
    const { state, journal } = await reopenJournal([started, ...phasesPassed, rbStarted]);
    assert.equal(state.status, 'rollback-failed');
    assert.deepEqual(
      journal.filter((e) => e.type === 'rollback.finished' || e.type === 'release.finished').map((e) => `${String(e.type)}:${String(e.outcome)}`),
      ['rollback.finished:rollback-failed', 'release.finished:rollback-failed'],
    );
  });
});

describe('status transitions: abandoning asks the table first', () => {
  it('refuses to abandon a released run with a gate refusal, and journals nothing', async () => {
    const ws = workspace();
    const runId = '20260301-100000-1.0.0';
    const file = path.join(ws.dir, '.release/runs', runId, 'journal.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const text = stamp([{ ...started, runId }, ...phasesPassed, finished('released')])
      .map((e) => JSON.stringify(e) + '\n')
      .join('');
    fs.writeFileSync(file, text);
    const r = await Release.reopen(ws.options({ planText: fs.readFileSync(ws.planFile, 'utf8') }), runId);
    const before = fs.readFileSync(file, 'utf8');
    assert.throws(
      () => r.abandon('no longer wanted by the team'),
      (e: Error) => errorCode(e) === 'RP_GATE' && /nothing to abandon: .* is released/.test(e.message),
    );
    assert.equal(fs.readFileSync(file, 'utf8'), before);
  });
});

describe('status transitions: the engine changes status only as the table allows', () => {
  function context() {
    const ws = workspace();
    const c = new RunContext(ws.options(), 'run-1');
    c.openJournal();
    const file = path.join(c.runDir, 'journal.jsonl');
    return {
      c,
      lines: () =>
        fs
          .readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as ReleaseEvent),
    };
  }

  it('refuses a pause of a released run before it reaches the journal, and journals the refusal', () => {
    const { c, lines } = context();
    transition(c, 'release.started', startedDetail);
    for (const e of phasesPassed) c.append(e as Parameters<RunContext['append']>[0]);
    transition(c, 'release.finished', { outcome: 'released', message: 'every phase passed' });
    const before = lines().length;
    assert.throws(
      () => transition(c, 'release.paused', { message: 'late pause' }),
      (e: Error) =>
        e instanceof TransitionRefused && errorCode(e) === 'RP_TRANSITION_REFUSED' && /release\.paused where the release was released/.test(e.message),
    );
    const after = lines();
    assert.equal(after.length, before + 1);
    assert.equal(after.at(-1)!.type, 'warning');
    assert.match((after.at(-1) as { message: string }).message, /^internal error: refused release\.paused/);
    assert.equal(c.state.status, 'released');
    assert.equal(c.state.transitionFlags, undefined);
  });

  const refused: [string, (c: RunContext) => void, (c: RunContext) => void][] = [
    ['a resume of a run that never paused', () => {}, (c) => transition(c, 'release.resumed', { by: 'u', pid: 1 })],
    ['a second rollback over one under way', (c) => transition(c, 'rollback.started', rbDetail), (c) => transition(c, 'rollback.started', rbDetail)],
    ['a pause during the rollback', (c) => transition(c, 'rollback.started', rbDetail), (c) => transition(c, 'release.paused', { message: 'stop' })],
    [
      'a release ending as released after its rollback',
      (c) => {
        transition(c, 'rollback.started', rbDetail);
        transition(c, 'rollback.finished', { outcome: 'rolled-back', message: 'ok' });
      },
      (c) => transition(c, 'release.finished', { outcome: 'released', message: 'every phase passed' }),
    ],
    ['a second start', () => {}, (c) => transition(c, 'release.started', startedDetail)],
  ];
  for (const [title, before, move] of refused)
    it(`refuses ${title} and leaves the status as it was`, () => {
      const { c, lines } = context();
      transition(c, 'release.started', startedDetail);
      before(c);
      const status = c.state.status;
      const count = lines().length;
      assert.throws(() => move(c), TransitionRefused);
      assert.equal(c.state.status, status);
      assert.deepEqual(
        lines()
          .slice(count)
          .map((e) => e.type),
        ['warning'],
      );
    });
});

/**
 * A small model of what the engine writes, path by path (engine.ts, phases.ts, rollbackRun.ts,
 * openingEvents.ts), independent of the table: which status events a run, a stop, a crash, a reopen,
 * a resume, a rollback or an abandon append.
 */
type Action = 'phase' | 'half-phase' | 'step-fails' | 'gate-pause' | 'gate-abort' | 'stop' | 'crash' | 'finish' | 'rollback' | 'resume' | 'abandon';
function engineJournal(actions: { a: Action; n: number }[]): NewEvent[] {
  const ev: NewEvent[] = [started];
  let live = true;
  let final: ReleaseOutcome | undefined;
  let rb: 'open' | 'rolled-back' | 'rollback-failed' | undefined;
  let deployed = false;
  let stepRan = false;
  const stop = () => {
    if (!stepRan) {
      ev.push(finished('aborted'));
      final = 'aborted';
    } else ev.push({ type: 'release.paused', message: 'stopped by SIGTERM', stoppedBy: 'SIGTERM' });
    live = false;
  };
  const reopenFacts = () => {
    if (rb === 'open') {
      ev.push(rbFinished('rollback-failed'), finished('rollback-failed'));
      rb = final = 'rollback-failed';
    } else if (rb && !final) {
      ev.push(finished(rb));
      final = rb;
    }
  };
  // The rollback, with the process ending after `n % 4` of its status events (3: it ran to the end).
  const rollback = (n: number) => {
    const outcome = Math.floor(n / 4) % 2 ? 'rolled-back' : 'rollback-failed';
    const upTo = n % 4;
    ev.push(rbStarted);
    rb = 'open';
    if (upTo === 1) return void (live = false);
    ev.push(rbFinished(outcome));
    rb = outcome;
    if (upTo === 2) return void (live = false);
    ev.push(finished(outcome));
    final = outcome;
    live = false;
  };
  for (const { a, n } of actions) {
    if (live && !final) {
      if (a === 'phase' || a === 'half-phase' || a === 'step-fails') {
        const phase = n % 3 === 0 ? 'deploy' : 'verification';
        if (phase === 'deploy') deployed = true;
        stepRan = true;
        ev.push({ type: 'phase.started', phase }, { type: 'step.started', phase, step: `${phase}/${n}`, name: 's', command: 'true', log: 'l' });
        if (a === 'half-phase') continue;
        const ok = a === 'phase';
        ev.push({
          type: 'step.finished',
          step: `${phase}/${n}`,
          ok,
          message: '',
          exitCode: ok ? 0 : 1,
          signal: null,
          durationMs: 1,
          timedOut: false,
          cancelled: false,
          tail: '',
        });
        if (ok) ev.push({ type: 'phase.finished', phase, outcome: 'passed' });
        else {
          ev.push({ type: 'release.paused', step: `${phase}/${n}`, message: 'failed' });
          live = false;
        }
      } else if (a === 'gate-pause') {
        ev.push(paused);
        live = false;
      } else if (a === 'gate-abort') {
        ev.push(finished('aborted'));
        final = 'aborted';
      } else if (a === 'stop') stop();
      else if (a === 'crash') live = false;
      else if (a === 'finish') {
        // The engine ends a run released once it went through every phase: a step a crash left running was interrupted, and ran again.
        const s = fold(ev);
        for (const [step, st] of Object.entries(s.steps)) if (st.state === 'running') ev.push({ type: 'step.interrupted', step, message: 'interrupted' });
        for (const p of s.phases)
          if (p.state !== 'passed') ev.push({ type: 'phase.started', phase: p.id }, { type: 'phase.finished', phase: p.id, outcome: 'passed' });
        ev.push(finished('released'));
        final = 'released';
      } else if (a === 'rollback' && deployed) rollback(n);
      continue;
    }
    if (live) live = false;
    // Reopened: what the journal says with nobody running it is made a fact first.
    if (a === 'resume' || a === 'abandon' || a === 'rollback') reopenFacts();
    if (a === 'resume' && !final) {
      // A gate still closed, or a stop before the resume; else the engine's own test for a resume.
      if (n % 5 === 0) ev.push({ type: 'release.paused', message: 'gate still blocked' });
      else if (n % 5 === 1) stop();
      else {
        if (ev.some((e) => e.type === 'release.paused' || e.type === 'phase.started')) ev.push(resumed);
        live = true;
      }
    } else if (a === 'abandon' && !final) {
      ev.push({ type: 'decision', action: 'abandon', by: 'u', reason: 'no longer wanted' }, finished('aborted'));
      final = 'aborted';
    } else if (a === 'rollback' && deployed && rb !== 'rolled-back' && final !== 'failed' && final !== 'aborted') rollback(n);
  }
  return ev;
}

describe('status transitions: every journal the engine writes folds without a flag', () => {
  const action = fc.record({
    a: fc.constantFrom<Action>('phase', 'half-phase', 'step-fails', 'gate-pause', 'gate-abort', 'stop', 'crash', 'finish', 'rollback', 'resume', 'abandon'),
    n: fc.nat(1000),
  });

  it('folds any sequence of runs, stops, crashes, reopens, resumes, rollbacks and abandons without a flag, and every prefix of it', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40 }), (actions) => {
        const events = engineJournal(actions);
        for (let i = 1; i <= events.length; i++) {
          const s = fold(events.slice(0, i));
          assert.equal(s.transitionFlags, undefined, `${JSON.stringify(s.transitionFlags)} in ${events.map((e) => e.type).join(' ')}`);
        }
      }),
      { numRuns: 400, seed: 20260301 },
    );
  });

  it('reaches every status the table knows from engine journals', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40 }), (actions) => {
        seen.add(fold(engineJournal(actions)).lifecycle);
      }),
      { numRuns: 400, seed: 20260302 },
    );
    for (const l of [
      'started',
      'running',
      'paused',
      'rolling-back',
      'rollback-ended:rolled-back',
      'rollback-ended:rollback-failed',
      'released',
      'rolled-back',
      'rollback-failed',
      'aborted',
    ])
      assert.ok(seen.has(l), `never reached ${l}: ${[...seen].join(', ')}`);
  });
});

describe('status transitions: one door', () => {
  it('has no status event written outside statusTransitions.ts', () => {
    const STATUS = new RegExp(`\\btype:\\s*['"](${STATUS_EVENT_TYPES.map((t) => t.replace('.', '\\.')).join('|')})['"]\\s*(?:as const)?\\s*[,}]`, 'g');
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.tsx?$/.test(e.name) && !/src\/core\/model\/statusTransitions\.ts$/.test(p)) {
          const text = fs.readFileSync(p, 'utf8');
          for (const m of text.matchAll(STATUS)) found.push(`${path.relative(ROOT, p)}:${text.slice(0, m.index).split('\n').length}: ${m[0]}`);
        }
      }
    };
    walk(path.join(ROOT, 'src'));
    assert.deepEqual(found, []);
  });

  it('finds a status event written directly, as the check above reads source', () => {
    const STATUS = new RegExp(`\\btype:\\s*['"](${STATUS_EVENT_TYPES.map((t) => t.replace('.', '\\.')).join('|')})['"]\\s*(?:as const)?\\s*[,}]`);
    assert.match("c.append({ type: 'release.paused', message: 'x' });", STATUS);
    assert.match("return { type: 'release.started' as const, runId };", STATUS);
    assert.doesNotMatch("| { type: 'release.paused'; step?: string; message: string }", STATUS);
    assert.doesNotMatch("if (e.type === 'release.paused') {}", STATUS);
  });
});

describe('status transitions: a run ends released only once every phase passed, was skipped or waived', () => {
  const upTo = (last: string) =>
    phasesPassed.slice(
      0,
      phasesPassed.findIndex((e) => e.type === 'phase.started' && e.phase === last),
    );
  const monitoringStep: NewEvent = { type: 'step.started', phase: 'monitoring', step: 'monitoring/watch', name: 'watch', command: 'true', log: 'l' };
  const after = (last: string) => phasesPassed.slice(phasesPassed.findIndex((e) => e.type === 'phase.finished' && e.phase === last) + 1);
  const hostile: [string, NewEvent[], RegExp][] = [
    [
      'a phase still running',
      [started, ...upTo('monitoring'), { type: 'phase.started', phase: 'monitoring' }, finished('released')],
      /phase monitoring is running/,
    ],
    [
      'a phase failed',
      [
        started,
        ...upTo('monitoring'),
        { type: 'phase.started', phase: 'monitoring' },
        { type: 'phase.finished', phase: 'monitoring', outcome: 'failed' },
        ...after('monitoring'),
        finished('released'),
      ],
      /phase monitoring is failed/,
    ],
    [
      'a step interrupted in its phase',
      [
        started,
        ...upTo('monitoring'),
        { type: 'phase.started', phase: 'monitoring' },
        monitoringStep,
        { type: 'step.interrupted', step: 'monitoring/watch', message: 'x' },
        finished('released'),
      ],
      /phase monitoring is running/,
    ],
    ['a step still running after every phase passed', [started, ...phasesPassed, monitoringStep, finished('released')], /step monitoring\/watch is running/],
    [
      'a rollback started and never finished',
      [started, ...phasesPassed, rbStarted, finished('released')],
      /release\.finished \(released\) where the release is rolling back/,
    ],
    [
      // A rolled-back run whose rollback, restore and pause lines were cut out and whose outcome was set to released.
      "a rolled-back run's journal with its rollback cut out",
      [started, ...upTo('monitoring'), { type: 'phase.started', phase: 'monitoring' }, monitoringStep, finished('released')],
      /phase monitoring is running/,
    ],
    [
      'a run paused mid-phase and resumed straight to released',
      [started, ...upTo('deploy'), { type: 'phase.started', phase: 'deploy' }, paused, resumed, finished('released')],
      /phase deploy is running/,
    ],
  ];
  for (const [title, events, why] of hostile)
    it(`flags released with ${title}, folds the status it had before, and does not trust the journal`, () => {
      const s = fold(events);
      assert.notEqual(s.status, 'released');
      assert.equal(s.transitionFlags?.length, 1, JSON.stringify(s.transitionFlags));
      assert.match(s.transitionFlags[0], why);
      assert.match(renderStatus(s).split('\n')[2], /^warning: the journal was edited or damaged: /);
      assert.match(journalDamage(s, { rollback: { steps: [] } } as never, 'run-1', '/nonexistent') ?? '', /was edited or damaged/);
    });

  const controls: [string, NewEvent[]][] = [
    ['every phase passed', [started, ...phasesPassed, finished('released')]],
    // A journal records what a run did; an older or hand-written one (the promotion corpus's) may record fewer phases.
    ['phases never started (an older or hand-written journal)', [started, ...upTo('announcement'), finished('released')]],
    ['no phase at all', [started, finished('released')]],
    [
      'a waived phase',
      [
        started,
        ...upTo('monitoring'),
        { type: 'phase.started', phase: 'monitoring' },
        { type: 'phase.finished', phase: 'monitoring', outcome: 'waived' },
        ...after('monitoring'),
        finished('released'),
      ],
    ],
    [
      'a failed announcement, as the engine ends a run whose announcement failed',
      [
        started,
        ...upTo('announcement'),
        { type: 'phase.started', phase: 'announcement' },
        { type: 'phase.finished', phase: 'announcement', outcome: 'failed' },
        finished('released'),
      ],
    ],
    ['skipped phases', [started, ...PHASES.map((phase): NewEvent => ({ type: 'phase.finished', phase, outcome: 'skipped' })), finished('released')]],
    ['a redeploy', [{ ...started, redeployOf: { runId: 'run-0' } }, ...phasesPassed, finished('released')]],
    [
      'a step that failed and was waived, its phase waived',
      [
        started,
        ...upTo('verification'),
        { type: 'phase.started', phase: 'verification' },
        { ...monitoringStep, phase: 'verification', step: 'verification/smoke' },
        { type: 'step.waived', step: 'verification/smoke', by: 'u', reason: 'known flake' },
        { type: 'phase.finished', phase: 'verification', outcome: 'waived' },
        ...after('verification'),
        finished('released'),
      ],
    ],
  ];
  for (const [title, events] of controls)
    it(`folds a run released with ${title} as released, with no flag`, () => {
      const s = fold(events);
      assert.equal(s.status, 'released');
      assert.equal(s.transitionFlags, undefined);
    });

  it('refuses in the engine to end a run released while a phase runs, and journals nothing but the refusal', () => {
    const ws = workspace();
    const c = new RunContext(ws.options(), 'run-1');
    c.openJournal();
    transition(c, 'release.started', startedDetail);
    c.append({ type: 'phase.started', phase: 'preparation' });
    assert.throws(
      () => transition(c, 'release.finished', { outcome: 'released', message: 'every phase passed' }),
      (e: Error) => e instanceof TransitionRefused && /phase preparation is running/.test(e.message),
    );
    assert.equal(c.state.status, 'running');
  });

  it('marks in the history a run whose journal was edited to read released', () => {
    const ws = workspace();
    const runId = '20260301-100000-1.0.0';
    const file = path.join(ws.dir, '.release/runs', runId, 'journal.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const events = [{ ...started, runId }, ...upTo('monitoring'), { type: 'phase.started', phase: 'monitoring' }, finished('released')] as NewEvent[];
    fs.writeFileSync(
      file,
      stamp(events)
        .map((e) => JSON.stringify(e) + '\n')
        .join(''),
    );
    const rows = releaseHistory(ws.dir);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].edited, true);
    assert.notEqual(rows[0].status, 'released');
    assert.match(
      renderHistory(rows, (ms) => `${ms} ms`),
      /\(journal edited\)/,
    );
    assert.doesNotMatch(
      renderHistory(rows, (ms) => `${ms} ms`),
      /released/,
    );
  });
});
