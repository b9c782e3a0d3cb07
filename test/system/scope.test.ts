import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import * as YAML from 'yaml';
import { BUILTINS, interpolate, runScope, scanReferences, stepTitle, type Scope } from '../../src/core/plan/scope';
import { parsePlan } from '../../src/core/plan/load';
import { Plan } from '../../src/core/model/schema';
import { main } from '../../src/cli/cliMain';
import { dryRun } from '../../src/core/engine/queries/releasePreview';
import { beforeRunScope, previousVersionOf } from '../../src/core/engine/queries/releaseFacts';
import { Release, loadRun } from '../../src/core/engine/run/engine';
import { foldJournal, type ReleaseState } from '../../src/core/model/releaseState';
import type { ReleaseEvent } from '../../src/core/model/events';
import { gitRepo, tempDir, write } from '../support/helpers';
import { scripted } from '../support/fixtures';
import { startServer, type TestServer } from '../support/server';

type Strategy = 'steps' | 'blue-green' | 'rolling';
const STRATEGIES: Strategy[] = ['steps', 'blue-green', 'rolling'];
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let port = 0;

/** A small plan as an object: every phase a reference can sit in, with commands that succeed. */
function basePlan(strategy: Strategy): Obj {
  const deploy: Obj =
    strategy === 'steps'
      ? { strategy, steps: [{ name: 'deploy', run: 'true' }] }
      : strategy === 'blue-green'
        ? {
            strategy,
            blueGreen: {
              active: 'cat active.txt',
              deploy: [{ name: 'start', run: 'true' }],
              healthCheck: { run: 'true', retries: 0 },
              // The last switch step points the traffic, so a rollback finds production where the journal says.
              switch: [
                { name: 'switch', run: 'true' },
                { name: 'point the traffic', run: 'echo ${deploy.color} > active.txt' },
              ],
            },
          }
        : { strategy, rolling: { targets: ['web-1'], steps: [{ name: 'roll', run: 'true' }], healthCheck: { run: 'true', retries: 0 } } };
  return {
    release: { name: 'tiny', version: '1.2.3', environment: 'production' },
    acceptance: { file: 'verdict.txt' },
    checklist: [{ id: 'present', title: 'Verdict present', files: ['verdict.txt'] }],
    phases: {
      preparation: { steps: [{ name: 'prepare', run: 'true' }] },
      backup: { steps: [{ name: 'backup', run: ': "${backup.path}"' }] },
      deploy,
      verification: { steps: [], http: [], logs: [] },
    },
    rollback: {
      steps: [
        { name: 'restore', run: 'true' },
        ...(strategy === 'blue-green' ? [{ name: 'point the traffic back', run: 'echo ${deploy.active} > active.txt' }] : []),
      ],
    },
    monitoring: { window: '300ms', interval: '100ms', baseline: { fixed: { health: 1 } }, metrics: [{ id: 'health', command: 'echo 1', guard: { min: 1 } }] },
    announce: { notify: false },
  };
}

interface PlaceCase {
  id: string;
  /** Strategies the place exists in. */
  in: Strategy[];
  set(p: Obj, text: string): void;
  /** When the engine resolves it: before the colours, after them (a step), or the rollback. */
  point: 'gate' | 'step' | 'rollback' | 'literal';
  target?: boolean;
  /** Shown by the tree's check click. */
  tree?: boolean;
  /** Shown in the rollback confirmation dialog. */
  dialog?: boolean;
  /** The text the engine resolves there (backup.path is resolved where `${backup.path}` is used). */
  used?: string;
}

const url = (text: string) => `http://127.0.0.1:${port}/ok?${text}`;
const PLACES: PlaceCase[] = [
  { id: 'acceptance command', in: STRATEGIES, point: 'gate', set: (p, t) => (p.acceptance = { command: `echo Ready for Launch # ${t}` }) },
  { id: 'checklist run', in: STRATEGIES, point: 'gate', tree: true, set: (p, t) => (p.checklist = [{ id: 'c', title: 'C', run: `: "${t}"` }]) },
  {
    id: 'checklist files',
    in: STRATEGIES,
    point: 'gate',
    tree: true,
    set: (p, t) => (p.checklist = [{ id: 'c', title: 'C', files: [`verdict.txt`, `${t}*`] }]),
  },
  { id: 'blue-green active command', in: ['blue-green'], point: 'gate', set: (p, t) => (p.phases.deploy.blueGreen.active = `cat active.txt # ${t}`) },
  { id: 'step run', in: STRATEGIES, point: 'step', set: (p, t) => (p.phases.preparation.steps[0].run = `: "${t}"`) },
  { id: 'step name', in: STRATEGIES, point: 'step', set: (p, t) => (p.phases.preparation.steps[0].name = `prepare ${t}`) },
  { id: 'step env', in: STRATEGIES, point: 'step', set: (p, t) => (p.phases.preparation.steps[0].env = { X: t }) },
  { id: 'blue-green step run', in: ['blue-green'], point: 'step', set: (p, t) => (p.phases.deploy.blueGreen.deploy[0].run = `: "${t}"`) },
  {
    id: 'blue-green health url',
    in: ['blue-green'],
    point: 'step',
    set: (p, t) => (p.phases.deploy.blueGreen.healthCheck = { http: { url: url(t) }, retries: 0 }),
  },
  { id: 'rolling step run', in: ['rolling'], point: 'step', target: true, set: (p, t) => (p.phases.deploy.rolling.steps[0].run = `: "${t}"`) },
  {
    id: 'rolling health url',
    in: ['rolling'],
    point: 'step',
    target: true,
    set: (p, t) => (p.phases.deploy.rolling.healthCheck = { http: { url: url(t) }, retries: 0 }),
  },
  { id: 'verification http url', in: STRATEGIES, point: 'step', set: (p, t) => (p.phases.verification.http = [{ url: url(t) }]) },
  { id: 'verification log run', in: STRATEGIES, point: 'step', set: (p, t) => (p.phases.verification.logs = [{ name: 'logs', run: `echo fine # ${t}` }]) },
  { id: 'backup path', in: STRATEGIES, point: 'step', used: '${backup.path}', set: (p, t) => (p.phases.backup.path = `b-${t}`) },
  { id: 'metric command', in: STRATEGIES, point: 'step', set: (p, t) => (p.monitoring.metrics[0].command = `echo 1 # ${t}`) },
  { id: 'announce command', in: STRATEGIES, point: 'step', set: (p, t) => (p.announce.command = `: "${t}"`) },
  { id: 'rollback run', in: STRATEGIES, point: 'rollback', dialog: true, set: (p, t) => (p.rollback.steps = [{ run: `: "${t}"` }]) },
  { id: 'rollback name', in: STRATEGIES, point: 'rollback', dialog: true, set: (p, t) => (p.rollback.steps = [{ name: `restore ${t}`, run: 'true' }]) },
  { id: 'step cwd (used as written)', in: STRATEGIES, point: 'literal', set: (p, t) => (p.phases.preparation.steps[0].cwd = t) },
  { id: 'checklist title (used as written)', in: STRATEGIES, point: 'literal', set: (p, t) => (p.checklist[0].title = `Verdict ${t}`) },
  { id: 'variable value (used as written)', in: STRATEGIES, point: 'literal', set: (p, t) => (p.variables = { V: t }) },
];

function planWith(strategy: Strategy, place: PlaceCase, text: string): { text: string; plan: Plan } {
  const p = basePlan(strategy);
  place.set(p, text);
  const yaml = YAML.stringify(p);
  // Parsed without the reference check: what each consumer would do if validation let it through.
  return { text: yaml, plan: Plan.parse(p) };
}

const io = () => {
  const out: string[] = [];
  return { out, io: { out: (s: string) => out.push(s), err: (s: string) => out.push(s) } };
};

/**
 * The real CLI's `validate`, in process, for a plan written at the workspace's .release/plan.yaml: ok when
 * the plan is valid and nothing keeps it from starting here (an unmet start precondition, such as no
 * previous version yet, is a warning of validate and a refusal of run).
 */
function validates(ws: string, yaml: string): Promise<{ ok: boolean; said: string }> {
  return (validated[`${ws}\n${yaml}`] ??= validate(ws, yaml));
}
/** Each workspace's verdicts by plan text: the same plan in the same unchanged workspace is validated once per file. */
const validated: Record<string, Promise<{ ok: boolean; said: string }>> = {};

async function validate(ws: string, yaml: string): Promise<{ ok: boolean; said: string }> {
  const file = write(ws, '.release/plan.yaml', yaml);
  const c = io();
  const code = await main(['validate', '--plan', file], c.io);
  const said = c.out.join('\n');
  return { ok: code === 0 && !said.includes('(a start precondition: `run` refuses until it holds'), said };
}

const resolves = (f: () => string): boolean => {
  try {
    const v = f();
    return scanReferences(v).length === 0;
  } catch {
    return false;
  }
};

interface RunPoints {
  gate: ReleaseState;
  step: ReleaseState;
  final: ReleaseState;
  runDir: string;
}

/** A real release of the base plan, folded at the points where references resolve. */
async function realRun(ws: string, strategy: Strategy): Promise<RunPoints> {
  const p = basePlan(strategy);
  const planText = YAML.stringify(p);
  const planFile = write(ws, '.release/plan.yaml', planText);
  const loaded = parsePlan(planText, planFile);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
  const r = await Release.start({ planFile, plan: loaded.plan, planText, workspace: ws, prompter: scripted(), user: 'T', holder: 'test', killGraceMs: 200 });
  const s = await r.run();
  assert.equal(s.status, 'released', s.outcomeMessage);
  const { events } = loadRun(ws, r.runId);
  const upTo = (pred: (e: ReleaseEvent) => boolean) => foldJournal(events.slice(0, events.findIndex(pred) + 1));
  return {
    gate: upTo((e) => e.type === 'acceptance.checked'),
    step: upTo((e) => e.type === 'phase.started' && e.phase === 'deploy'),
    final: s,
    runDir: r.runDir,
  };
}

function files(ws: string): void {
  write(ws, 'verdict.txt', 'Ready for Launch\n');
  write(ws, 'active.txt', 'blue\n');
}

describe('one scope: every built-in name validates if and only if every place that shows or runs it resolves it', function () {
  this.timeout(300_000);
  let server: TestServer;
  const runs = new Map<string, RunPoints>();
  let withHistory: string;
  let noHistory: string;

  before(async () => {
    server = await startServer((_q, res) => res.end('ok'));
    port = server.port;
    // History: a tag before this version. None: no git, no runs.
    withHistory = tempDir('rp-scope-hist-');
    files(withHistory);
    const g = gitRepo(withHistory);
    write(withHistory, '.gitignore', '.release/\n');
    g('add', '.');
    g('commit', '-qm', 'feat: first');
    g('tag', 'v1.0.0');
    write(withHistory, 'x.txt', 'x');
    g('add', '.');
    g('commit', '-qm', 'fix: second');
    noHistory = tempDir('rp-scope-none-');
    files(noHistory);
    for (const strategy of STRATEGIES) {
      for (const history of [true, false]) {
        const ws = tempDir('rp-scope-run-');
        files(ws);
        if (history) {
          const g2 = gitRepo(ws);
          write(ws, '.gitignore', '.release/\n');
          g2('add', '.');
          g2('commit', '-qm', 'feat: first');
          g2('tag', 'v1.0.0');
        }
        runs.set(`${strategy}/${history}`, await realRun(ws, strategy));
      }
    }
  });
  after(() => server.close());

  it('records the previous version on release.started when there is one, and none otherwise', () => {
    assert.equal(runs.get('steps/true')!.final.previousVersion, '1.0.0');
    assert.equal(runs.get('steps/false')!.final.previousVersion, undefined);
  });

  it('every name × every place × every strategy × with and without history', async () => {
    const disagreements: string[] = [];
    const previous: Record<string, ReturnType<typeof previousVersionOf>> = {};
    const treeScopes: Record<string, Promise<Scope>> = {};
    let cases = 0;
    let accepted = 0;
    for (const b of BUILTINS) {
      const ref = `\${${b.name}}`;
      for (const place of PLACES) {
        for (const strategy of place.in) {
          for (const history of [true, false]) {
            cases++;
            const ws = history ? withHistory : noHistory;
            const { text: yaml, plan } = planWith(strategy, place, ref);
            const v = await validates(ws, yaml);
            const run = runs.get(`${strategy}/${history}`)!;
            const env = process.env;
            const consumers: Record<string, boolean> = {};
            // The engine, with the state of a real run at the point where it resolves this place.
            const at = place.point === 'gate' ? run.gate : place.point === 'step' ? run.step : run.final;
            const engineScope = (): Scope => {
              const s = runScope(plan, at, run.runDir, env);
              return place.target ? { ...s, builtins: { ...s.builtins, target: 'web-1' } } : s;
            };
            consumers.engine = place.point === 'literal' ? false : resolves(() => interpolate(place.used ?? ref, engineScope()));
            // The dry run, with the facts the CLI gathers for it (they depend on the workspace, not on this place).
            const prev = await (previous[ws] ??= previousVersionOf(ws, plan, '1.2.3'));
            consumers.dryRun = resolves(() => dryRun(plan, {}, { version: '1.2.3', previousVersion: prev?.version }));
            if (place.tree) {
              // The tree's values depend on the workspace and on whether the plan uses the previous version.
              const key = `${ws}|${b.name === 'release.previousVersion'}`;
              consumers.tree = await (treeScopes[key] ??= beforeRunScope(ws, plan, '.release/plan.yaml', yaml, env)).then(
                (s) => resolves(() => interpolate(ref, s)),
                () => false,
              );
            }
            if (place.dialog)
              consumers.dialog = resolves(() => plan.rollback.steps.map((x) => stepTitle(x, runScope(plan, run.final, run.runDir, env))).join('\n'));
            const all = Object.values(consumers).every(Boolean);
            if (v.ok) accepted++;
            if (v.ok !== all)
              disagreements.push(
                `${ref} in ${place.id} (${strategy}, ${history ? 'history' : 'no history'}): validate ${v.ok ? 'accepts' : `refuses (${v.said.split('\n')[0]})`}, but ${JSON.stringify(consumers)}`,
              );
          }
        }
      }
    }
    assert.deepEqual(disagreements, [], `${disagreements.length} of ${cases} cases disagree`);
    assert.ok(accepted > 50 && accepted < cases, `some accepted, some refused (${accepted} of ${cases})`);
  });

  it('a real release uses a validated reference and rolls back with it, at every place (sampled)', async () => {
    const valid: { name: string; place: PlaceCase; strategy: Strategy }[] = [];
    for (const b of BUILTINS)
      for (const place of PLACES)
        for (const strategy of place.in) {
          if (place.point === 'literal' || place.id === 'checklist files') continue;
          const { text } = planWith(strategy, place, `\${${b.name}}`);
          if ((await validates(withHistory, text)).ok) valid.push({ name: b.name, place, strategy });
        }
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...valid), async ({ name, place, strategy }) => {
        const ws = tempDir('rp-scope-e2e-');
        files(ws);
        const g = gitRepo(ws);
        write(ws, '.gitignore', '.release/\n');
        g('add', '.');
        g('commit', '-qm', 'feat: first');
        g('tag', 'v1.0.0');
        const { text } = planWith(strategy, place, `\${${name}}`);
        const planFile = write(ws, '.release/plan.yaml', text);
        const loaded = parsePlan(text, planFile);
        assert.ok(loaded.ok);
        const o = { planFile, plan: loaded.plan, planText: text, workspace: ws, prompter: scripted(), user: 'T', holder: 'test', killGraceMs: 200 };
        const r = await Release.start(o);
        const s = await r.run();
        assert.equal(s.status, 'released', `${name} in ${place.id} (${strategy}): ${s.outcomeMessage}`);
        const back = await (await Release.reopen(o, r.runId)).rollbackFinished('scope test');
        assert.equal(back.status, 'rolled-back', `${name} in ${place.id} (${strategy}): ${back.outcomeMessage}`);
        // What the tree, the terminal and the report show of each step, the rollback's included.
        const shown = loadRun(ws, r.runId).events.flatMap((e) => (e.type === 'step.started' ? [e.name, e.command] : []));
        assert.ok(shown.length > 5);
        assert.deepEqual(
          shown.filter((t) => scanReferences(t).length > 0),
          [],
          'every step name and command in the journal is resolved',
        );
      }),
      { numRuns: 6, seed: 13 },
    );
  });
});

describe('one scope: hostile references', () => {
  const full: Scope = {
    env: { HOME: '/home/x' },
    vars: { X: 'x' },
    builtins: {
      'release.name': 'tiny',
      'release.version': '1.2.3',
      'release.environment': 'production',
      'release.previousVersion': '1.0.0',
      'run.id': 'r',
      'run.dir': '/r',
      'backup.path': '/r/backup',
      'deploy.color': 'green',
      'deploy.active': 'blue',
    },
  };
  const base = basePlan('blue-green');
  base.variables = { X: 'x' };
  const stepPlan = (t: string) => {
    const p = structuredClone(base);
    p.phases.preparation.steps[0].run = t;
    return YAML.stringify(p);
  };
  const verdict = (t: string) => {
    const loaded = parsePlan(stepPlan(t), 'plan.yaml');
    const plan = Plan.parse(YAML.parse(stepPlan(t)));
    const engine = resolves2(() => interpolate(t, full));
    const preview = resolves2(() => dryRun(plan, {}, { version: '1.2.3', previousVersion: '1.0.0' }));
    return { validates: loaded.ok, engine, preview, problems: loaded.ok ? [] : loaded.problems.map((p) => p.message) };
  };
  // Resolving may leave the shell's own ${...}; what counts is that it does not fail.
  const resolves2 = (f: () => string) => {
    try {
      f();
      return true;
    } catch {
      return false;
    }
  };

  const HOSTILE: [string, string, boolean][] = [
    ['spaces inside', '${ release.version }', false],
    ['upper case', '${RELEASE.VERSION}', false],
    ['not closed', 'echo ${release.version', false],
    ['nested', '${var.${var.X}}', false],
    ['dollar-escaped', 'echo $${release.version}', false],
    ['backslash-escaped', 'echo \\${release.version}', false],
    ['unknown name', '${deploy.colour}', false],
    ['empty env name', '${env:}', false],
    ['empty variable name', '${var.}', false],
    ['Cyrillic e in the name', '${release.v\u0435rsion}', false],
    ['Cyrillic e in the namespace', '${r\u0435lease.version}', false],
    ['fullwidth dot', '${release\uff0eversion}', false],
    ['zero-width space', '${release.\u200bversion}', false],
    ['tab inside', '${release.version\t}', false],
    ['target outside a rolling deploy', '${target}', false],
    ['shell HOME left to the shell', 'echo ${HOME}', true],
    ['shell default with a plan reference inside', 'echo ${HOME:-${release.version}}', true],
    ['shell ENV with a default', 'echo ${ENV:-x}', true],
    ['shell length and indirection', 'echo ${#HOME} ${!HOME}', true],
    ['shell TARGET in capitals', 'echo ${TARGET}', true],
    ['plain reference', 'echo ${release.version} ${deploy.color} ${var.X}', true],
  ];

  for (const [what, text, ok] of HOSTILE) {
    it(`${ok ? 'accepts' : 'refuses'} ${what}: ${JSON.stringify(text)}, and every consumer agrees`, () => {
      const v = verdict(text);
      assert.equal(v.validates, ok, `validate: ${v.problems.join('; ')}`);
      assert.equal(v.engine, ok, 'the engine resolves it exactly when validation accepts it');
      assert.equal(v.preview, ok, 'the dry run resolves it exactly when validation accepts it');
      if (!ok)
        assert.ok(
          v.problems.every((m) => m.length > 20),
          'a refusal says what was expected',
        );
    });
  }

  it('leaves the shell its own ${...} untouched', () => {
    assert.equal(interpolate('echo ${HOME} ${HOME:-${release.version}} $HOME', full), 'echo ${HOME} ${HOME:-1.2.3} $HOME');
  });

  /**
   * How a reading's time grows with its text: the best of 3 runs on the whole text over the best of 3 on a
   * quarter of it. Linear is about 4, quadratic about 16; both are measured in this process at once, so a
   * busy machine slows both alike (a wall-time bound failed on a loaded 2-core runner).
   */
  const growth = (make: (n: number) => string, n: number, read: (text: string) => void): number => {
    const best = (text: string) =>
      Math.min(
        ...[0, 1, 2].map(() => {
          const t0 = performance.now();
          read(text);
          return performance.now() - t0;
        }),
      );
    const small = make(Math.floor(n / 4));
    const large = make(n);
    best(small); // warm the code paths before measuring
    return best(large) / Math.max(best(small), 0.05);
  };

  it('resolves 10 000 references in one string in linear time, the same in validation and engine', () => {
    const make = (n: number) => Array.from({ length: n }, (_, i) => `\${release.version}-${i}`).join(' ');
    const text = make(10_000);
    const v = verdict(text);
    assert.ok(v.validates && v.engine && v.preview, v.problems[0]);
    assert.equal(interpolate(text, full).split('1.2.3-').length, 10_001);
    const ratio = growth(make, 10_000, (t) => verdict(t));
    assert.ok(ratio < 10, `4 times the references took ${ratio.toFixed(1)} times as long (linear ≈ 4, quadratic ≈ 16)`);
  });

  it('reads 200 000 characters of unclosed or nested ${ in linear time', () => {
    const shapes: [string, (n: number) => string, number][] = [
      ['unclosed references', (n) => '${release.version '.repeat(n), 12_000],
      ['bare ${', (n) => '${'.repeat(n), 100_000],
      ['nested ${x', (n) => `\${HOME:-${'${x'.repeat(n)}}`, 60_000],
    ];
    for (const [what, make, n] of shapes) {
      const v = verdict(make(n));
      assert.equal(v.validates, v.engine);
      const ratio = growth(make, n, (t) => verdict(t));
      assert.ok(ratio < 10, `${what}: 4 times the text took ${ratio.toFixed(1)} times as long (linear ≈ 4, quadratic ≈ 16)`);
    }
  });

  it('property: for any text around references, validate accepts iff the engine and the dry run resolve it', () => {
    const piece = fc.oneof(
      fc.constantFrom('${', '}', '$', '\\', ' ', '.', ':', '-', '{', 'é', '\u0435', 'a', 'echo '),
      fc.constantFrom(
        ...BUILTINS.map((b) => `\${${b.name}}`),
        '${var.X}',
        '${var.Y}',
        '${env:HOME}',
        '${HOME}',
        '${release.',
        'release.version',
        'deploy.',
        'env:',
        'var.',
      ),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const text = `: ${parts.join('')}`;
        // YAML cannot carry some of these as a plain scalar: quoted by YAML.stringify, so the text is what the step runs.
        const v = verdict(text);
        const target = /\$\{target\}/.test(text);
        return v.validates === (v.engine && v.preview && !target);
      }),
      { numRuns: 400, seed: 14 },
    );
  });
});

describe('release.previousVersion through the real CLI', function () {
  this.timeout(120_000);
  const plan = (rollbackRun: string) => {
    const p = basePlan('steps');
    p.rollback.steps = [{ name: 'Redeploy ${release.previousVersion}', run: rollbackRun }];
    return YAML.stringify(p);
  };

  it('is refused at start, naming the line, when there is no history; validate and the dry run warn (a start precondition, not a plan error)', async () => {
    const ws = tempDir('rp-prev-none-');
    files(ws);
    const text = plan('echo "${release.previousVersion}" > rolled-back-to.txt');
    const file = write(ws, '.release/plan.yaml', text);
    const line = text.split('\n').findIndex((l) => l.includes('${release.previousVersion}')) + 1;
    const c = io();
    assert.equal(await main(['validate', '--plan', file], c.io), 0);
    assert.match(c.out.join('\n'), new RegExp(`^warning: .*plan\\.yaml:${line}:\\d+: \\$\\{release\\.previousVersion\\} has no value`, 'm'));
    const r = io();
    assert.equal(await main(['run', '--yes', '--plan', file], r.io), 1);
    assert.match(r.out.join('\n'), new RegExp(`plan\\.yaml:${line}:\\d+: \\$\\{release\\.previousVersion\\} has no value`));
    assert.ok(!fs.existsSync(path.join(ws, '.release/runs')), 'nothing ran: no run was created');
    const d = io();
    assert.equal(await main(['run', '--dry-run', '--plan', file], d.io), 0);
    assert.match(d.out.join('\n'), /R1\. Redeploy <previous version: none yet>: \$ echo "<previous version: none yet>"/);
  });

  it('runs the rollback with the previous tag, then with the last released run of the plan', async () => {
    const ws = tempDir('rp-prev-tag-');
    files(ws);
    const g = gitRepo(ws);
    write(ws, '.gitignore', '.release/\n');
    g('add', '.');
    g('commit', '-qm', 'feat: one');
    g('tag', 'v1.1.0');
    g('commit', '-qm', 'fix: two', '--allow-empty');
    const file = write(ws, '.release/plan.yaml', plan('echo "${release.previousVersion}" > rolled-back-to.txt'));
    assert.equal(await main(['validate', '--plan', file], io().io), 0);
    const dry = io();
    assert.equal(await main(['run', '--dry-run', '--plan', file], dry.io), 0);
    assert.match(dry.out.join('\n'), /R1\. Redeploy 1\.1\.0: \$ echo "1\.1\.0"/);
    assert.equal(await main(['run', '--yes', '--plan', file], io().io), 0);
    // The rollback of the reopened run resolves the value its journal recorded.
    assert.equal(await main(['rollback', '--yes', '--plan', file], io().io), 3);
    assert.equal(fs.readFileSync(path.join(ws, 'rolled-back-to.txt'), 'utf8'), '1.1.0\n');
    // A second release: the last released run of this plan (1.2.3 was rolled back, so still the tag) ...
    const p2 = plan('echo "${release.previousVersion}" > rolled-back-to.txt').replace('version: 1.2.3', 'version: 1.3.0');
    write(ws, '.release/plan.yaml', p2);
    assert.equal(await main(['run', '--yes', '--plan', file], io().io), 0);
    // ... and a third after 1.3.0 was released: its previous version is that run's.
    write(ws, '.release/plan.yaml', p2.replace('version: 1.3.0', 'version: 1.4.0'));
    assert.equal(await main(['run', '--yes', '--plan', file], io().io), 0);
    assert.equal(await main(['rollback', '--yes', '--plan', file], io().io), 3);
    assert.equal(fs.readFileSync(path.join(ws, 'rolled-back-to.txt'), 'utf8'), '1.3.0\n');
  });
});
