import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { GateError } from '../../src/core/engine/gates/gateError';
import { runIds } from '../../src/core/engine/queries/runs';
import { parsePlan } from '../../src/core/plan/load';
import { smallPlan, workspace } from '../support/fixtures';

/** Only what a step needs to run, and what each case sets. */
const env = (set: Record<string, string> = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, ...set });

/** The small plan with a top-level `env:` block (YAML lines, indented by two). */
const withEnv = (lines: string, over: Parameters<typeof smallPlan>[0] = {}) => `${smallPlan(over)}\nenv:\n${lines}\n`;

/**
 * Plan-level `env` blocks a careless or hostile plan could hold. Each is either refused at load, with
 * the line of the offending key or value and what was expected, or loads.
 */
const LOAD_CASES: Array<{ what: string; env: string; refused?: RegExp }> = [
  { what: 'an empty name', env: '  "": x', refused: /expected an environment variable name/ },
  { what: 'a name starting with a digit', env: '  1ABC: x', refused: /expected an environment variable name/ },
  { what: 'a name with a dash', env: '  my-var: x', refused: /expected an environment variable name/ },
  { what: 'a name with a space', env: '  "MY VAR": x', refused: /expected an environment variable name/ },
  { what: 'a lowercase name (POSIX allows it)', env: '  app_mode: blue' },
  { what: 'an empty PATH', env: '  PATH: ""', refused: /PATH must list absolute directories/ },
  { what: 'a PATH with a relative directory', env: '  PATH: "bin:${env:PATH}"', refused: /PATH must list absolute directories/ },
  { what: 'a PATH that adds an absolute directory', env: '  PATH: "/opt/app/bin:${env:PATH}"' },
  { what: 'a secret-looking name with a literal value', env: '  DB_PASSWORD: hunter2', refused: /"DB_PASSWORD" looks like a secret/ },
  { what: 'a secret-looking name read from the environment', env: '  DB_PASSWORD: ${env:DB_PASSWORD}' },
  { what: 'a NUL character', env: '  BAD: "a\\0b"', refused: /holds a NUL character/ },
  { what: 'a 40 000-character value', env: `  HUGE: ${'x'.repeat(40_000)}`, refused: /is 40000 characters long; expected at most 32768/ },
  { what: 'a colour, unknown before the checklist and the active colour', env: '  COLOR: ${deploy.color}', refused: /has no value here/ },
  { what: 'an undeclared plan variable', env: '  URL: ${var.NOPE}', refused: /unknown variable "\$\{var\.NOPE\}"/ },
  {
    what: 'a run reference (the tree runs checklist commands before any run)',
    env: '  DIR: ${run.dir}',
    refused: /has no value here: a checklist item is checked from the tree/,
  },
  { what: 'a rolling target', env: '  HOST: ${target}', refused: /has no value here/ },
  { what: 'a list instead of a map', env: '  - A=1', refused: /expected record/ },
  {
    what: 'a number (YAML does not quote it)',
    env: '  PGPORT: 5432',
    refused: /expected string, got number 5432 \(YAML reads 5432 unquoted as a number\): quote it, "5432"/,
  },
  {
    what: 'a version YAML reads as 1.1',
    env: '  APP_VERSION: 1.10',
    refused: /got number 1.1 \(YAML reads 1.10 unquoted as a number\): quote it, "1.10", to keep the text as written/,
  },
  { what: 'a boolean (YAML does not quote it)', env: '  DEBUG: true', refused: /got boolean true \(YAML reads true unquoted as a boolean\): quote it, "true"/ },
  { what: 'an environment reference without a name', env: '  X: ${env:}', refused: /is not an environment reference: expected \$\{env:NAME\}/ },
];

describe('plan-level env: what a plan may write', function () {
  this.timeout(30_000);
  for (const c of LOAD_CASES) {
    it(`${c.refused ? 'refuses' : 'loads'} ${c.what}`, () => {
      const text = withEnv(c.env);
      const r = parsePlan(text, '/ws/.release/plan.yaml');
      if (!c.refused) {
        assert.ok(r.ok, r.ok ? '' : r.problems.map((p) => `${p.line}: ${p.message}`).join('\n'));
        return;
      }
      assert.ok(!r.ok, 'expected the plan to be refused');
      const envLine = text.split('\n').indexOf('env:') + 1;
      const hit = r.problems.find((p) => c.refused!.test(p.message));
      assert.ok(hit, `expected a problem matching ${c.refused}, got:\n${r.problems.map((p) => `${p.line}: ${p.message}`).join('\n')}`);
      assert.ok(hit.line >= envLine, `the problem names a line of the env block (${hit.line}, the block starts at ${envLine})`);
      assert.equal(hit.file, '/ws/.release/plan.yaml');
    });
  }
});

/** Values passed to the steps as they are: never evaluated, never split, never trimmed. */
const VALUES: Array<{ what: string; value: string; yaml: string }> = [
  { what: 'double and single quotes', value: `say "hi" it's`, yaml: `'say "hi" it''s'` },
  { what: 'a newline', value: 'line one\nline two', yaml: '"line one\\nline two"' },
  { what: 'a command substitution', value: '$(touch pwned.txt)', yaml: "'$(touch pwned.txt)'" },
  { what: 'backticks', value: '`touch pwned.txt`', yaml: "'`touch pwned.txt`'" },
  { what: 'unicode and an emoji', value: 'Zürich — 東京 🚀', yaml: '"Zürich — 東京 🚀"' },
  { what: 'a shell variable', value: '$HOME and ${HOME}', yaml: "'$HOME and ${HOME}'" },
  { what: 'leading and trailing blanks', value: '  padded  ', yaml: '"  padded  "' },
  { what: 'an empty value', value: '', yaml: '""' },
];

describe('plan-level env: every command of a release gets it', function () {
  this.timeout(120_000);

  for (const c of VALUES) {
    it(`passes ${c.what} to a step as written, unevaluated`, async () => {
      const plan = withEnv(`  ODD: ${c.yaml}`, {
        deploy: `    steps:\n      - name: deploy\n        run: printf '%s' "$ODD" > odd.txt && echo "version 1.2.3" > deployed.txt`,
      });
      const ws = workspace(plan);
      const s = await (await Release.start(ws.options({ env: env() }))).run();
      assert.equal(s.status, 'released', s.outcomeMessage);
      assert.equal(fs.readFileSync(path.join(ws.dir, 'odd.txt'), 'utf8'), c.value);
      assert.ok(!fs.existsSync(path.join(ws.dir, 'pwned.txt')), 'nothing in the value was run');
    });
  }

  it("reaches steps and command metrics; a step's own env wins", async () => {
    const plan = withEnv('  MODE: plan-${var.FLAVOUR}\n  WHO: plan', {
      extra: 'variables:\n  FLAVOUR: mint',
      deploy: `    steps:
      - name: deploy
        run: echo "$MODE $WHO" > deploy-env.txt && echo "version 1.2.3" > deployed.txt
      - name: own env
        run: echo "$MODE $WHO" > own-env.txt
        env:
          WHO: step`,
      monitoring: `  window: 1s
  interval: 200ms
  baseline:
    fixed: { health: 1 }
  metrics:
    - id: health
      command: test "$MODE" = plan-mint && echo 1 || echo 0
      guard: { min: 1 }`,
    });
    const ws = workspace(plan);
    const s = await (await Release.start(ws.options({ env: env() }))).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.equal(fs.readFileSync(path.join(ws.dir, 'deploy-env.txt'), 'utf8'), 'plan-mint plan\n');
    assert.equal(fs.readFileSync(path.join(ws.dir, 'own-env.txt'), 'utf8'), 'plan-mint step\n');
    // The metric passed only because it saw MODE: without it, it prints 0 and breaches min 1.
    assert.ok(Object.values(s.metrics).every((m) => m.samples.every((x) => x.value === 1)));
  });

  it('reaches the rollback steps after a breach', async () => {
    const plan = withEnv('  MODE: plan-mode', {
      monitoring: `  window: 2s
  interval: 200ms
  baseline:
    fixed: { health: 1 }
  metrics:
    - id: health
      command: echo 0
      guard: { min: 1 }`,
      rollback: '    - name: restore\n      run: echo "$MODE" > rollback-env.txt',
    });
    const ws = workspace(plan);
    const s = await (await Release.start(ws.options({ env: env() }))).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.equal(fs.readFileSync(path.join(ws.dir, 'rollback-env.txt'), 'utf8'), 'plan-mode\n');
  });

  it('refuses at start a plan env that reads an unset ${env:…}, naming it and its line; nothing runs', async () => {
    const plan = withEnv('  DB_PASSWORD: ${env:RP_PLAN_ENV_UNSET}');
    const ws = workspace(plan);
    const line = plan.split('\n').findIndex((l) => l.includes('RP_PLAN_ENV_UNSET')) + 1;
    await assert.rejects(
      Release.start(ws.options({ env: env() })),
      (e: Error) => e instanceof GateError && e.gate === 'environment' && e.message.includes(`RP_PLAN_ENV_UNSET (.release/plan.yaml:${line})`),
    );
    assert.deepEqual(runIds(ws.dir), []);
    assert.ok(!fs.existsSync(path.join(ws.dir, 'prepared.txt')), 'no step ran');
  });

  it('masks a value read from ${env:…} in the log, the journal and the report', async () => {
    const secret = 'pg-secret-5f1c9e';
    const plan = withEnv('  DB_PASSWORD: ${env:RP_PLAN_ENV_SECRET}', {
      deploy: `    steps:\n      - name: deploy\n        run: echo "password is $DB_PASSWORD" && echo "$DB_PASSWORD" > seen.txt && echo "version 1.2.3" > deployed.txt`,
    });
    const ws = workspace(plan);
    const s = await (await Release.start(ws.options({ env: env({ RP_PLAN_ENV_SECRET: secret }) }))).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.equal(fs.readFileSync(path.join(ws.dir, 'seen.txt'), 'utf8'), `${secret}\n`, 'the step got the value');
    const runDir = path.join(ws.dir, '.release', 'runs', s.runId);
    const all = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? all(path.join(dir, d.name)) : [path.join(dir, d.name)]));
    for (const f of all(runDir)) assert.ok(!fs.readFileSync(f, 'utf8').includes(secret), `${path.relative(runDir, f)} holds the secret`);
    const log = all(runDir).find((f) => f.includes('logs') && fs.readFileSync(f, 'utf8').includes('password is'));
    assert.ok(log, 'the step log was written');
  });
});
