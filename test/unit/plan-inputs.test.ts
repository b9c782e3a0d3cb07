import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { parsePlan, type PlanProblem } from '../../src/core/plan/load';
import { planJsonSchema } from '../../src/core/plan/json-schema';
import { Plan } from '../../src/core/model/schema';
import { DURATION_BOUNDS, DURATION_RE, durationText, type DurationBounds } from '../../src/core/model/schema-parts';
import { TIMER_MAX_MS } from '../../src/core/base/clock';
import { freshRunId, latestRunId, parseRunId, runDir, runIdProblem, runIds } from '../../src/core/engine/queries/runs';
import { smallPlan } from '../support/fixtures';
import { tempDir, write } from '../support/helpers';

type Def = {
  type: string;
  shape?: Record<string, unknown>;
  element?: unknown;
  valueType?: unknown;
  items?: unknown[];
  options?: unknown[];
  innerType?: unknown;
  in?: unknown;
  out?: unknown;
};
const defOf = (s: unknown) => (s as { def: Def }).def;

/** Every duration field of the plan, found by walking the zod schema: `[]` is a list's item, `<name>` a map's value. */
function durationFields(): { path: string[]; bounds: DurationBounds }[] {
  const found: { path: string[]; bounds: DurationBounds }[] = [];
  const walk = (s: unknown, at: string[], seen: Set<unknown>) => {
    if (seen.has(s)) return;
    const inner = new Set(seen).add(s);
    const bounds = DURATION_BOUNDS.get(s);
    if (bounds) return void found.push({ path: at, bounds });
    const d = defOf(s);
    if (d.shape) for (const [k, v] of Object.entries(d.shape)) walk(v, [...at, k], inner);
    if (d.type === 'array' && d.element) walk(d.element, [...at, '[]'], inner);
    if (d.type === 'record' && d.valueType) walk(d.valueType, [...at, '<name>'], inner);
    if (d.type === 'tuple') for (const x of d.items ?? []) walk(x, [...at, '[]'], inner);
    for (const o of d.options ?? []) walk(o, at, inner);
    if (d.innerType) walk(d.innerType, at, inner);
    if (d.type === 'pipe') [d.in, d.out].forEach((x) => walk(x, at, inner));
  };
  walk(Plan, [], new Set());
  const key = (p: string[]) => p.join('.');
  return [...new Map(found.map((f) => [key(f.path), f])).values()];
}

type Json = { properties?: Record<string, Json>; items?: Json; prefixItems?: Json[]; additionalProperties?: Json | boolean; anyOf?: Json[]; pattern?: string };
/** The same walk over the exported JSON Schema: a duration is the union of a number and the duration pattern. */
function jsonDurationPaths(s: Json, at: string[] = [], out = new Set<string>(), patterns: string[] = []): { paths: Set<string>; patterns: string[] } {
  if (s.pattern) patterns.push(s.pattern);
  if (s.anyOf?.some((b) => b.pattern === DURATION_RE.source)) out.add(at.join('.'));
  for (const [k, v] of Object.entries(s.properties ?? {})) jsonDurationPaths(v, [...at, k], out, patterns);
  if (s.items) jsonDurationPaths(s.items, [...at, '[]'], out, patterns);
  for (const x of s.prefixItems ?? []) jsonDurationPaths(x, [...at, '[]'], out, patterns);
  if (typeof s.additionalProperties === 'object') jsonDurationPaths(s.additionalProperties, [...at, '<name>'], out, patterns);
  for (const x of s.anyOf ?? []) jsonDurationPaths(x, at, out, patterns);
  return { paths: out, patterns };
}

const base = (over: Parameters<typeof smallPlan>[0] = {}) => parseYaml(smallPlan(over)) as Record<string, unknown>;
const ok = '{ run: "true" }';
/** Plans in which every section that holds a duration exists, each valid as it is. */
function bases(): Record<string, unknown>[] {
  const everything = base({
    extra: `announce:
  webhook: { url: "\${env:HOOK_URL}" }
environments:
  production: { requires: { released: staging }, monitoring: { window: 2s } }
  staging: {}`,
  });
  (everything.phases as Record<string, Record<string, unknown>>).verification.http = [{ url: 'http://127.0.0.1:9/', maxLatency: '1s' }];
  (everything.rollback as { steps: Record<string, unknown>[] }).steps[0].timeout = '1m';
  // Each step list of the database rollback (their timeouts), with the backup a restore needs.
  (everything.rollback as Record<string, unknown>).database = {
    strategy: 'down',
    down: [{ run: 'true' }],
    restore: [{ run: 'true' }],
    writes: { command: 'echo 0' },
    compatCheck: [{ run: 'true' }],
  };
  const capture = base();
  (capture.monitoring as Record<string, unknown>).baseline = { capture: '1s' };
  const health = `healthCheck: { http: { url: "http://127.0.0.1:9/" } }`;
  return [
    everything,
    capture,
    // The store's two backends: a plan names one of them.
    base({ extra: 'store:\n  git: { remote: origin }' }),
    base({ extra: 'store:\n  postgres: { url: "${env:RELEASE_DB_URL}" }' }),
    base({
      deploy: `    strategy: blue-green\n    blueGreen:\n      active: echo blue\n      deploy: [${ok}]\n      ${health}\n      switch: [${ok}]\n      retire: [${ok}]`,
    }),
    base({ deploy: `    strategy: rolling\n    rolling:\n      targets: [a, b]\n      steps: [${ok}]\n      ${health}` }),
    base({
      deploy: `    strategy: canary\n    canary:\n      deploy: [${ok}]\n      setWeight: [${ok}]\n      weights: [50, 100]\n      analysis: 2s\n      promote: [${ok}]`,
    }),
  ];
}

/** The object a path's last key is set in, in this plan, or undefined when the plan has no such section. */
function parentIn(plan: unknown, p: string[]): Record<string, unknown> | undefined {
  let node = plan;
  for (const part of p.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    if (part === '[]') node = (node as unknown[])[0];
    else if (part === '<name>') node = Object.values(node)[0];
    else node = (node as Record<string, unknown>)[part];
  }
  return node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, unknown>) : undefined;
}

/** The path as a problem names it, for the first item of each list and the first name of each map. */
function concrete(plan: unknown, p: string[]): string {
  let node = plan as Record<string, unknown>;
  let out = '';
  for (const part of p) {
    if (part === '[]') {
      out += '[0]';
      node = (node as unknown as unknown[])[0] as Record<string, unknown>;
    } else {
      const k = part === '<name>' ? Object.keys(node)[0] : part;
      out += `${out ? '.' : ''}${k}`;
      node = node?.[k] as Record<string, unknown>;
    }
  }
  return out;
}

const loadedAt = (plan: unknown, dotted: string): unknown =>
  dotted.split(/\.|(?=\[)/).reduce((n: unknown, k) => (n as Record<string, unknown>)?.[k.startsWith('[') ? Number(k.slice(1, -1)) : k], plan);

/** Written values, and the milliseconds each means. */
const TRIED: [written: string | number, ms: number][] = [
  [0, 0],
  ['0s', 0],
  ['1ms', 1],
  ['2147483647ms', 2 ** 31 - 1],
  ['2147483648ms', 2 ** 31],
  ['600h', 600 * 3_600_000],
];

describe('plan inputs: every duration has bounds the runtime honours', () => {
  const fields = durationFields();

  it('finds the duration fields by walking the schema, and the exported JSON Schema has the same ones and no other duration pattern', () => {
    const paths = fields.map((f) => f.path.join('.'));
    assert.ok(paths.length >= 20, `only ${paths.length} duration fields found: ${paths.join(', ')}`);
    for (const p of [
      'rollback.budget',
      'rollback.steps.[].timeout',
      'monitoring.interval',
      'phases.deploy.canary.analysis',
      'environments.<name>.requires.maxAge',
    ])
      assert.ok(paths.includes(p), `${p} not found among ${paths.join(', ')}`);
    const json = jsonDurationPaths(planJsonSchema() as Json);
    assert.deepEqual([...json.paths].sort(), [...paths].sort());
    assert.deepEqual(
      json.patterns.filter((p) => /\(ms\|/.test(p) && p !== DURATION_RE.source),
      [],
      'a second duration type',
    );
  });

  it('each value of 0, 1 ms, 2^31−1 ms, 2^31 ms and 600h is refused at validate with its line and column, or loads as written within its bounds', () => {
    const plans = bases();
    for (const [i, p] of plans.entries()) {
      const r = parsePlan(stringify(p), `base${i}.yaml`);
      assert.ok(r.ok, `base ${i}: ${r.ok ? '' : r.problems.map((x) => `${x.line}:${x.column} ${x.path}: ${x.message}`).join('\n')}`);
    }
    let tried = 0;
    for (const f of fields) {
      const home = plans.find((p) => parentIn(p, f.path));
      assert.ok(home, `no base plan has the section of ${f.path.join('.')}: add one`);
      for (const [written, ms] of TRIED) {
        const plan = structuredClone(home);
        parentIn(plan, f.path)![f.path.at(-1)!] = written;
        const text = stringify(plan);
        const dotted = concrete(plan, f.path);
        const r = parsePlan(text, 'plan.yaml');
        const what = `${dotted}: ${JSON.stringify(written)}`;
        tried++;
        const inBounds = (ms > 0 || f.bounds.zero !== undefined) && (ms === 0 || ms >= (f.bounds.min ?? 0)) && ms <= f.bounds.max;
        if (r.ok) {
          assert.ok(inBounds, `${what} validated outside its bounds`);
          assert.equal(loadedAt(r.plan, dotted), ms, `${what} did not load as written`);
          assert.ok(ms <= TIMER_MAX_MS || f.bounds.max > TIMER_MAX_MS, `${what}: a timer over 2^31−1 ms`);
          continue;
        }
        const lines = text.split('\n');
        for (const q of r.problems) assert.ok(q.line >= 1 && q.column >= 1 && q.line <= lines.length, `${what}: ${q.line}:${q.column}`);
        if (inBounds) continue;
        const own = r.problems.find((q: PlanProblem) => q.path === dotted);
        assert.ok(own, `${what} refused, but not at its own key: ${r.problems.map((q) => `${q.path}: ${q.message}`).join('; ')}`);
        const says =
          ms === 0
            ? /expected a duration above 0/
            : ms < (f.bounds.min ?? 0)
              ? new RegExp(`expected a duration of at least ${durationText(f.bounds.min!)}`)
              : f.bounds.max === TIMER_MAX_MS
                ? /expected a duration of at most 2147483647ms \(about 24\.8 days/
                : new RegExp(`expected a duration of at most ${durationText(f.bounds.max)}`);
        assert.match(own.message, says, what);
        assert.ok(lines[own.line - 1].includes(String(written)), `${what}: line ${own.line} is ${JSON.stringify(lines[own.line - 1])}`);
      }
    }
    assert.ok(tried >= 120, `${tried} tries`);
  });

  it('an interval, a timeout, a window or a budget of 0 never validates; only the keys that say what 0 means take it', () => {
    const zero = fields.filter((f) => f.bounds.zero !== undefined).map((f) => f.path.join('.'));
    assert.deepEqual(zero.sort(), [
      'monitoring.warmup',
      'phases.deploy.blueGreen.healthCheck.interval',
      'phases.deploy.rolling.healthCheck.interval',
      'phases.verification.http.[].retryDelay',
    ]);
  });
});

/** A plan with one line replaced, and where the problem must be. */
function refused(text: string, pathWanted: string, message: RegExp) {
  const r = parsePlan(text, 'plan.yaml');
  assert.ok(!r.ok, `validated: ${pathWanted}`);
  const p = r.problems.find((q) => q.path === pathWanted);
  assert.ok(p, `no problem at ${pathWanted}: ${r.problems.map((q) => `${q.line}:${q.column} ${q.path}: ${q.message}`).join('; ')}`);
  assert.ok(p.line > 1 && p.column > 1, `${p.line}:${p.column}`);
  assert.match(p.message, message);
}

const canary = (weights: string) =>
  smallPlan({ deploy: `    strategy: canary\n    canary:\n      deploy: [${ok}]\n      setWeight: [${ok}]\n      weights: ${weights}\n      analysis: 2s` });
const rolling = (targets: string, extra = '') =>
  smallPlan({ deploy: `    strategy: rolling\n    rolling:\n      targets: ${targets}\n      steps: [${ok}]${extra}` });
const blueGreen = (colors: string) =>
  smallPlan({
    deploy: `    strategy: blue-green\n    blueGreen:\n      colors: ${colors}\n      active: echo blue\n      deploy: [${ok}]\n      healthCheck: { run: "true" }\n      switch: [${ok}]`,
  });
const monitoring = (over: string) => smallPlan().replace('  window: 1s\n', `  window: 1s\n${over}\n`);
const webhook = (retries: string) => smallPlan({ extra: `announce:\n  webhook: { url: "\${env:HOOK_URL}", retries: ${retries} }` });

describe('plan inputs: every number and every list of ids is bounded where it is validated', () => {
  const NUMBERS: [string, string, string, RegExp][] = [
    ['a weight of 0', canary('[0, 100]'), 'phases.deploy.canary.weights[0]', />0|greater than 0/],
    ['a negative weight', canary('[-10, 100]'), 'phases.deploy.canary.weights[0]', />0|greater than 0/],
    ['a weight of NaN', canary('[.nan, 100]'), 'phases.deploy.canary.weights[0]', /expected number|NaN/],
    ['a weight of 1e400', canary('[10, 1e400]'), 'phases.deploy.canary.weights[1]', /expected number|Infinity|finite/],
    ['a weight of "10%"', canary('["10%", 100]'), 'phases.deploy.canary.weights[0]', /expected number/],
    ['a weight over 100', canary('[50, 150]'), 'phases.deploy.canary.weights[1]', /<=100|100/],
    ['the same weight twice', canary('[50, 50]'), 'phases.deploy.canary.weights', /must rise/],
    [
      'health-check retries of 1e400',
      rolling('[a]', `\n      healthCheck: { run: "true", retries: 1e400 }`),
      'phases.deploy.rolling.healthCheck.retries',
      /number/,
    ],
    [
      'health-check retries of a million',
      rolling('[a]', `\n      healthCheck: { run: "true", retries: 1000000 }`),
      'phases.deploy.rolling.healthCheck.retries',
      /<=1000/,
    ],
    ['a batch size of 0', rolling('[a]', `\n      maxUnavailable: 0\n      healthCheck: { run: "true" }`), 'phases.deploy.rolling.maxUnavailable', />=1/],
    [
      'a batch size of 2^53',
      rolling('[a]', `\n      maxUnavailable: 9007199254740992\n      healthCheck: { run: "true" }`),
      'phases.deploy.rolling.maxUnavailable',
      /<=1000|int|safe/,
    ],
    ['a failure limit of 0', monitoring('  failureLimit: 0'), 'monitoring.failureLimit', />=1/],
    ['an error limit of a billion', monitoring('  consecutiveErrorLimit: 1000000000'), 'monitoring.consecutiveErrorLimit', /<=1000/],
    ['webhook retries of 40 (a 2^39 × 0.5 s wait)', webhook('40'), 'announce.webhook.retries', /<=10/],
    ['webhook retries of -1', webhook('-1'), 'announce.webhook.retries', />=0/],
    [
      'a drop of 150 percent',
      monitoring('').replace('guard: { min: 1 }', 'guard: { min: 1, dropPercent: 150 }'),
      'monitoring.metrics[0].guard.dropPercent',
      /<=100/,
    ],
    [
      'a fixed baseline of .inf',
      monitoring('').replace('fixed: { health: 1 }', 'fixed: { health: .inf }'),
      'monitoring.baseline.fixed.health',
      /number|Infinity/,
    ],
    [
      'approvals a million strong',
      smallPlan({ extra: 'environments:\n  staging: {}\n  production: { approvals: { count: 1000000 } }' }),
      'environments.production.approvals.count',
      /<=1000/,
    ],
  ];
  for (const [what, text, at, message] of NUMBERS) it(`refuses ${what} at its line and column`, () => refused(text, at, message));

  const LISTS: [string, string, string, RegExp][] = [
    ['blue-green colours [blue, blue]', blueGreen('[blue, blue]'), 'phases.deploy.blueGreen.colors[1]', /repeats item 1 of the list \("blue"\): .*must differ/],
    ['a blank colour', blueGreen('[blue, ""]'), 'phases.deploy.blueGreen.colors[1]', /expected a colour name/],
    ['a colour with blanks', blueGreen('[" blue", blue]'), 'phases.deploy.blueGreen.colors[0]', /expected a colour name/],
    ['a colour with a line break', blueGreen('[blue, "green\\n"]'), 'phases.deploy.blueGreen.colors[1]', /expected a colour name/],
    ['a rolling target twice', rolling('[web1, web2, web1]', `\n      healthCheck: { run: "true" }`), 'phases.deploy.rolling.targets[2]', /repeats item 1/],
    [
      'targets one log file apart (a/b and a_b)',
      rolling('[a/b, a_b]', `\n      healthCheck: { run: "true" }`),
      'phases.deploy.rolling.targets[1]',
      /repeats item 1 .*log file/,
    ],
    [
      'a checklist id twice',
      smallPlan({ checklist: '  - { id: sign-off, title: A, manual: true }\n  - { id: sign-off, title: B, manual: true }' }),
      'checklist[1].id',
      /repeats item 1 .*--tick ID/,
    ],
    [
      'a metric id twice',
      monitoring('').replace('      guard: { min: 1 }', '      guard: { min: 1 }\n    - id: health\n      command: cat health.txt\n      guard: { min: 1 }'),
      'monitoring.metrics[1].id',
      /used twice/,
    ],
    ['environment names that differ in case only', smallPlan({ extra: 'environments:\n  staging: {}\n  Staging: {}' }), 'environments.Staging', /named twice/],
  ];
  for (const [what, text, at, message] of LISTS) it(`refuses ${what} at its line and column`, () => refused(text, at, message));
});

describe('plan inputs: a run id is never a path', () => {
  const HOSTILE = [
    '',
    '.',
    '..',
    '../../../X',
    '/etc',
    '/tmp/x',
    'a/b',
    'a\\b',
    'x/../20260101-000000-1.2.3',
    'run\0id',
    'run\nid',
    'run\r',
    ' run',
    'run ',
    '.hidden',
    '-rf',
    '\ufeffrun',
    'run\u2024id',
    '２０２６',
    'run%2f..',
    'x'.repeat(10_000),
  ];
  for (const id of HOSTILE)
    it(`refuses ${JSON.stringify(id.length > 20 ? `${id.slice(0, 20)}…` : id)} as a run id, and builds no path from it`, () => {
      assert.match(runIdProblem(id) ?? '', /is not a run id: expected the name of a folder of \.release\/runs/);
      assert.throws(() => parseRunId(id), /is not a run id/);
      assert.throws(() => runDir(tempDir('rp-id-'), id), /is not a run id/);
    });

  it('accepts the ids releases are given', () => {
    const ws = tempDir('rp-id-');
    for (const id of ['20260101-000000-1.2.3', '20260101-000000-1.2.3-rc.1_build.5', '20260101-000000-1.2.3-2', 'run-1', 'r0'])
      assert.equal(runDir(ws, id), path.join(ws, '.release', 'runs', id));
    assert.equal(freshRunId(ws, '20260101-000000-1.2.3'), '20260101-000000-1.2.3');
  });

  it('refuses a run folder that is a symbolic link to elsewhere, and lists no such run', () => {
    const ws = tempDir('rp-id-');
    const outside = tempDir('rp-outside-');
    write(outside, 'journal.jsonl', '{"type":"release.started"}\n');
    write(ws, '.release/runs/20260101-000000-1.0.0/journal.jsonl', '{"type":"release.started"}\n');
    fs.symlinkSync(outside, path.join(ws, '.release/runs/20990101-000000-9.9.9'));
    assert.throws(() => runDir(ws, '20990101-000000-9.9.9'), /is a symbolic link/);
    assert.deepEqual(runIds(ws), ['20260101-000000-1.0.0']);
    assert.equal(latestRunId(ws), '20260101-000000-1.0.0');
    // A link of its name is taken: a new run never reuses it.
    assert.equal(freshRunId(ws, '20990101-000000-9.9.9'), '20990101-000000-9.9.9-2');
  });

  it('refuses a workspace whose .release/runs is a symbolic link', () => {
    const ws = tempDir('rp-id-');
    const outside = tempDir('rp-outside-');
    fs.mkdirSync(path.join(ws, '.release'));
    fs.symlinkSync(outside, path.join(ws, '.release/runs'));
    assert.throws(() => runDir(ws, 'run-1'), /is a symbolic link/);
  });
});
