import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { formatProblem, loadPlanFile, parsePlan, firstInvalidUtf8, MAX_PLAN_BYTES } from '../../src/core/plan/load';
import { durationMs } from '../../src/core/model/schema';
import { planJsonSchema } from '../../src/core/plan/json-schema';
import { ROOT, tempDir, write } from '../support/helpers';
import { smallPlan } from '../support/fixtures';

const EXAMPLES = ['demo', 'kubernetes', 'helm'].map((e) => path.join(ROOT, 'examples', e, '.release', 'plan.yaml'));
const demoText = fs.readFileSync(EXAMPLES[0], 'utf8');

function problemsOf(text: string | Buffer) {
  const r = parsePlan(typeof text === 'string' ? text : text, 'plan.yaml');
  assert.equal(r.ok, false, 'expected the plan to be refused');
  return r.ok ? [] : r.problems;
}

/** Replaces the first line matching `re` and returns the text plus that line's 1-based number. */
function edit(re: RegExp, replacement: string): { text: string; line: number } {
  const lines = demoText.split('\n');
  const i = lines.findIndex((l) => re.test(l));
  assert.ok(i >= 0, `no line matches ${re}`);
  lines[i] = lines[i].replace(re, replacement);
  return { text: lines.join('\n'), line: i + 1 };
}

describe('release plan: loading and validation', () => {
  for (const file of EXAMPLES) {
    it(`accepts the example ${path.basename(path.dirname(path.dirname(file)))}`, () => {
      const r = loadPlanFile(file);
      assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
    });
  }

  // semver decides, not a hand-written pattern: each of these reads as a version to a regex or a hurried eye.
  const NOT_VERSIONS = [
    '1.02.3',
    '01.2.3',
    '1.2',
    '1.2.3.4',
    '1.2.3-',
    '1.2.3-..',
    '1.2.3-01',
    '1.2.3+',
    'v',
    '１.２.３',
    '1.2.3\u200b',
    'latest',
    '-1.2.3',
    'V1.2.3x',
    ' 1.2.3',
    '1.2.3 ',
    '=1.2.3',
  ];
  for (const v of NOT_VERSIONS) {
    it(`refuses the version ${JSON.stringify(v)} at its line`, () => {
      const { text, line } = edit(/^(\s*version:).*$/, `$1 ${JSON.stringify(v)}`);
      const [p] = problemsOf(text);
      assert.equal(p.line, line);
      assert.match(p.message, /expected a semantic version such as 1\.4\.0, or auto/);
    });
  }
  for (const v of ['1.2.3', 'v1.2.3', '1.2.3-rc.1', '1.2.3-rc.1+build.5', '10.20.30', 'auto']) {
    it(`accepts the version ${v}`, () => {
      const { text } = edit(/^(\s*version:).*$/, `$1 ${JSON.stringify(v)}`);
      const r = parsePlan(text, 'plan.yaml');
      assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
    });
  }

  it('applies defaults in milliseconds when a plan leaves durations out', () => {
    const r = loadPlanFile(EXAMPLES[2]);
    assert.ok(r.ok);
    assert.equal(r.plan.rollback.deadline, 300_000, 'the spec: a rollback starts within 5 minutes');
    assert.equal(r.plan.monitoring.interval, 15_000);
    assert.equal(r.plan.monitoring.metrics[0].timeout, 5_000);
    assert.equal(r.plan.phases.verification?.http[0].timeout, 10_000);
    const k8s = loadPlanFile(EXAMPLES[1]);
    assert.ok(k8s.ok);
    assert.equal(k8s.plan.announce.webhook?.timeout, 10_000);
  });

  it('applies defaults and converts durations to milliseconds', () => {
    const r = loadPlanFile(EXAMPLES[0]);
    assert.ok(r.ok);
    assert.equal(r.plan.rollback.deadline, 300_000);
    assert.equal(r.plan.monitoring.window, 45_000);
    assert.equal(r.plan.monitoring.consecutiveErrorLimit, 4);
    assert.equal(r.plan.acceptance.expect, 'Ready for Launch');
    assert.equal(durationMs('250ms'), 250);
    assert.equal(durationMs('1.5h'), 5_400_000);
    assert.equal(durationMs(30), 30_000);
  });

  it('reports a wrong type at the value, with its line, column and key path', () => {
    const { text, line } = edit(/^ {2}window: 45s$/, '  window: [45]');
    const [p, ...rest] = problemsOf(text);
    assert.equal(rest.length, 0);
    assert.equal(p.line, line);
    assert.equal(p.column, 11);
    assert.equal(p.path, 'monitoring.window');
    assert.match(formatProblem(p), new RegExp(`^plan\\.yaml:${line}:11: .*\\(at monitoring\\.window\\)$`));
  });

  it('reports a wrong scalar type with what was expected and what was found', () => {
    const { text, line } = edit(/^ {8}interval: 250ms$/, '        interval: true');
    const [p] = problemsOf(text);
    assert.equal(p.line, line);
    assert.equal(p.path, 'phases.deploy.blueGreen.healthCheck.interval');
  });

  it('points at a misspelled key and suggests the right one', () => {
    const { text, line } = edit(/^ {2}environment: production$/, '  enviroment: production');
    const [p] = problemsOf(text);
    assert.equal(p.line, line);
    assert.equal(p.column, 3);
    assert.equal(p.path, 'release.enviroment');
    assert.match(p.message, /unknown key "enviroment"; did you mean "environment"\?/);
  });

  it('suggests keys inside lists of objects too', () => {
    const { text } = edit(/^ {8}timeout: 30s$/, '        timout: 30s');
    const [p] = problemsOf(text);
    assert.equal(p.path, 'phases.staging.steps[0].timout');
    assert.match(p.message, /did you mean "timeout"/);
  });

  it('names a missing required key at its parent', () => {
    const text = demoText.replace(/^ {2}name: orders-service\n/m, '');
    const [p] = problemsOf(text);
    assert.equal(p.path, 'release.name');
    assert.match(p.message, /missing required key "name"/);
  });

  it('names a missing key whose value may take several forms, and a wrong type among them', () => {
    const missing = problemsOf(demoText.replace(/^ {2}window: 45s\n/m, ''));
    assert.equal(missing[0].path, 'monitoring.window');
    assert.equal(missing[0].message, 'missing required key "window" (expected number or string)');
    const { text, line } = edit(/^ {2}window: 45s$/, '  window: true');
    const [p] = problemsOf(text);
    assert.equal(p.line, line);
    assert.equal(p.message, 'expected number or string, got boolean true');
  });

  it('lists the allowed values of an enum', () => {
    const { text, line } = edit(/^ {4}strategy: blue-green$/, '    strategy: gradual');
    const [p] = problemsOf(text);
    assert.equal(p.line, line);
    assert.match(p.message, /expected one of "blue-green", "rolling", "canary", "steps", got string "gradual"/);
  });

  it('refuses a bad duration with an example of a good one', () => {
    const { text, line } = edit(/^ {2}deadline: 5m$/, '  deadline: five minutes');
    const [p] = problemsOf(text);
    assert.equal(p.line, line);
    assert.match(p.message, /duration such as 30s, 5m or 1h/);
  });

  it('refuses an unknown plan variable and suggests the declared one', () => {
    const text = demoText.replace('${var.ROUTER_PORT}/api/orders', '${var.ROUTR_PORT}/api/orders');
    const [p] = problemsOf(text);
    assert.equal(p.path, 'phases.verification.http[0].url');
    assert.match(p.message, /unknown variable "\$\{var\.ROUTR_PORT\}"; did you mean "\$\{var\.ROUTER_PORT\}"/);
    const line = demoText.split('\n').findIndex((l) => l.includes('/api/orders')) + 1;
    assert.equal(p.line, line);
  });

  it('leaves shell ${VARS} alone but refuses unknown built-in references', () => {
    assert.ok(parsePlan(demoText.replace("git log -1 --format='%h %s'", 'echo ${HOME} ${PATH}'), 'p.yaml').ok);
    const [p] = problemsOf(demoText.replace('${release.version}', '${release.versoin}'));
    assert.match(p.message, /did you mean "\$\{release\.version\}"/);
  });

  it('refuses an inline secret in a step environment', () => {
    const text = demoText.replace(
      '        run: tools/migrate.sh data/app.db db/migrations',
      '        run: tools/migrate.sh data/app.db db/migrations\n        env:\n          DB_PASSWORD: hunter2',
    );
    const [p] = problemsOf(text);
    assert.equal(p.path, 'phases.migration.steps[0].env.DB_PASSWORD');
    assert.match(p.message, /looks like a secret: write it as \$\{env:NAME\}/);
  });

  it('refuses a checklist item with two checks or none', () => {
    const text = demoText.replace('    manual: true', '    manual: true\n    run: "true"');
    const [p] = problemsOf(text);
    assert.match(p.path, /^checklist\[4\]/);
    assert.match(p.message, /exactly one check/);
  });

  it('refuses duplicate keys at the second occurrence', () => {
    const { text, line } = edit(/^ {2}deadline: 5m$/, '  deadline: 5m\n  deadline: 6m');
    const [p] = problemsOf(text);
    assert.equal(p.line, line + 1);
    assert.match(p.message, /duplicate key/);
  });

  it('refuses a YAML alias bomb without expanding it', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    ].join('\n');
    const [p] = problemsOf(bomb);
    assert.match(p.message, /alias bomb/);
  });

  it('refuses bytes that are not UTF-8, naming the line', () => {
    const bytes = Buffer.concat([Buffer.from('release:\n  name: caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    const [p] = problemsOf(bytes);
    assert.equal(p.line, 2);
    assert.equal(p.column, 12);
    assert.match(p.message, /not valid UTF-8 \(byte 0xe9/);
    assert.equal(firstInvalidUtf8(Buffer.from('héllo ✓ 😀')), -1);
    assert.equal(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80])), 0, 'UTF-16 surrogates are not UTF-8');
    assert.equal(firstInvalidUtf8(Buffer.from([0xc0, 0xaf])), 0, 'overlong encodings are refused');
  });

  it('refuses a file over the size limit before parsing it', () => {
    const dir = tempDir();
    const file = write(dir, 'big.yaml', `# ${'x'.repeat(MAX_PLAN_BYTES)}\n`);
    const r = loadPlanFile(file);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.problems[0].message, /larger than 1048576 bytes is refused/);
  });

  it('explains an empty or missing plan', () => {
    assert.match(problemsOf('')[0].message, /the plan is empty/);
    const r = loadPlanFile('/nonexistent/.release/plan.yaml');
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.problems[0].message, /no release plan here/);
  });

  it('reports YAML syntax errors at their position', () => {
    const [p] = problemsOf('release:\n  name: [unclosed\n');
    assert.ok(p.line >= 2);
    assert.match(p.message, /^YAML: /);
  });

  it('treats __proto__ and constructor keys as unknown keys, never as object internals', () => {
    const text = demoText.replace('release:\n', 'release:\n  __proto__: { polluted: true }\n  constructor: x\n');
    const ps = problemsOf(text);
    assert.deepEqual(ps.map((p) => p.path).sort(), ['release.__proto__', 'release.constructor']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('exports a JSON Schema that names every top-level section', () => {
    const schema = planJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    assert.deepEqual(Object.keys(schema.properties).sort(), [
      'acceptance',
      'announce',
      'changelog',
      'checklist',
      'env',
      'environments',
      'monitoring',
      'notSecret',
      'phases',
      'release',
      'rollback',
      'secrets',
      'store',
      'variables',
    ]);
    assert.ok(schema.required.includes('rollback'));
  });
});

describe('release-pilot validate (the built CLI)', () => {
  const cli = path.join(ROOT, 'dist', 'cli.js');
  before(function () {
    if (!fs.existsSync(cli)) execFileSync('node', ['esbuild.mjs'], { cwd: ROOT });
  });

  for (const file of EXAMPLES) {
    it(`exits 0 for ${path.relative(ROOT, file)}`, () => {
      const r = spawnSync('node', [cli, 'validate', '--plan', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /valid/);
    });
  }

  it('exits 1 for an invalid plan, one problem per line; run refuses it with 2', () => {
    const dir = tempDir();
    const { text, line } = edit(/^ {2}environment: production$/, '  enviroment: 12');
    const file = write(dir, '.release/plan.yaml', text.replace('  window: 45s', '  window: [1]'));
    const r = spawnSync('node', [cli, 'validate', '--plan', file], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(spawnSync('node', [cli, 'run', '--plan', file], { encoding: 'utf8' }).status, 2);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0], new RegExp(`plan\\.yaml:${line}:3: unknown key "enviroment"; did you mean "environment"\\?`));
    assert.match(lines[1], /plan\.yaml:\d+:11: .*\(at monitoring\.window\)/);
    assert.equal(lines[2], '2 problem(s) in the release plan');
  });

  it('exits 2 on a usage error and 0 with --help', () => {
    assert.equal(spawnSync('node', [cli, 'frobnicate'], { encoding: 'utf8' }).status, 2);
    assert.equal(spawnSync('node', [cli, 'run', '--bogus'], { encoding: 'utf8' }).status, 2);
    const help = spawnSync('node', [cli, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    for (const c of ['validate', 'run', 'resume', 'status', 'rollback', 'report']) assert.match(help.stdout, new RegExp(`^  ${c}\\b`, 'm'));
  });

  it('prints the full ordered list of commands on --dry-run for every example, running nothing', () => {
    for (const file of EXAMPLES) {
      const r = spawnSync('node', [cli, 'run', '--dry-run', '--plan', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /Rollback \(within 300 s\):\n {2}R1\. /);
      assert.doesNotMatch(r.stdout, /\$\{(release|var|run|backup)\./, 'every plan reference is resolved');
    }
    const demo = spawnSync('node', [cli, 'run', '--dry-run', '--plan', EXAMPLES[0], '--var', 'ROUTER_PORT=9999'], { encoding: 'utf8' }).stdout;
    const order = [
      'Preparation:',
      'Staging smoke test:',
      'Production DB backup:',
      'DB migration:',
      'Service deployment:',
      'Config update:',
      'Verification:',
      'Monitoring:',
      'Announcement:',
    ];
    const at = order.map((h) => demo.indexOf(h));
    assert.ok(
      at.every((i, k) => i > 0 && (k === 0 || i > at[k - 1])),
      `phases in order: ${at.join(',')}`,
    );
    assert.match(demo, /GET http:\/\/127\.0\.0\.1:9999\/api\/orders → expect 200 within 500 ms/);
    assert.ok(!fs.existsSync(path.join(ROOT, 'examples/demo/.release/runs')), 'a dry run writes no run');
  });
});

describe('a fixed baseline names the metrics it is for', () => {
  const withBaseline = (fixed: string) =>
    smallPlan({
      monitoring: `  window: 2s\n  interval: 200ms\n  baseline:\n    fixed: ${fixed}\n  metrics:\n    - id: health\n      command: cat health.txt\n      guard: { min: 1 }\n    - id: errors\n      command: echo 0\n      guard: { max: 0.1 }`,
    });
  const refusals: [string, string, RegExp][] = [
    ['a typo', '{ helth: 1 }', /no metric has the id helth, so this baseline value would be ignored; expected one of: health, errors/],
    ['a second key naming no metric', '{ health: 1, latency: 3 }', /no metric has the id latency/],
    ['a case variant', '{ Health: 1 }', /no metric has the id Health/],
    ['a trailing space (quoted)', '{ "health ": 1 }', /no metric has the id health /],
    ['a look-alike letter (Cyrillic e)', '{ h\u0435alth: 1 }', /no metric has the id h\u0435alth/],
    ['an empty id', '{ "": 1 }', /no metric has the id /],
    ['__proto__', '{ __proto__: 1 }', /no metric has the id __proto__|unknown key|__proto__/],
    ['a plural', '{ error: 0 }', /no metric has the id error,/],
    ['a variable reference', '{ "${var.M}": 1 }', /no metric has the id|unknown/],
    ['a number as id', '{ 1: 1 }', /no metric has the id 1/],
  ];
  for (const [title, fixed, message] of refusals)
    it(`refuses ${title}, at the baseline's line`, () => {
      const text = withBaseline(fixed);
      const problems = problemsOf(text);
      const p = problems.find((x) => message.test(x.message));
      assert.ok(p, problems.map((x) => x.message).join('\n'));
      assert.equal(p.line, text.split('\n').findIndex((l) => l.includes('fixed:')) + 1);
    });
  it('accepts the ids of its metrics, and a subset of them', () => {
    assert.ok(parsePlan(withBaseline('{ health: 1, errors: 0 }'), 'plan.yaml').ok);
    assert.ok(parsePlan(withBaseline('{ errors: 0 }'), 'plan.yaml').ok);
  });
});
