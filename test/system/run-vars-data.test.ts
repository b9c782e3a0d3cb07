import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Release } from '../../src/core/engine/run/engine';
import { parsePlan, runtimeVarRefusals } from '../../src/core/plan/load';
import { ROOT } from '../support/helpers';
import { smallPlan, workspace } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/**
 * A `--var` value was pasted into the text bash parses: `--var 'X=$(touch /tmp/pwn)'` ran touch.
 * A value given at run time now reaches every command as bash's expansion of a variable of its
 * environment, so bash never parses it.
 */
const HOSTILE: [string, string][] = [
  ['command substitution', '$(touch injected)'],
  ['backquotes', '`touch injected`'],
  ['a semicolon', 'a; touch injected'],
  ['&&', 'a && touch injected'],
  ['a newline', 'a\ntouch injected\n'],
  ['a single quote', "it's"],
  ['a double quote', 'say "hi"; touch injected; echo "'],
  ['backslashes', 'back\\slash\\n\\'],
  ['$HOME', '$HOME'],
  ['a glob', '*'],
  ['spaces (one word where used unquoted)', 'one two  three'],
  ['the empty value', ''],
  ['100 KB of quotes and substitutions', `'"$(touch injected)`.repeat(Math.ceil(100_000 / 19)).slice(0, 100_000)],
];

/** Each command writes every word it gets for ${var.X} as <word>: exactly <value> when it gets one word, the value. */
const WORDS = (file: string) => `for a in \${var.X}; do printf '<%s>' "$a"; done > ${file}`;

const plan = smallPlan({
  extra: 'variables:\n  X: "plain"',
  deploy: [
    '    strategy: blue-green',
    '    blueGreen:',
    '      colors: [blue, green]',
    `      active: ${JSON.stringify(`${WORDS('active.txt')}; echo blue`)}`,
    '      deploy:',
    `        - run: ${JSON.stringify(`${WORDS('run.txt')}; printf "%s" "v=\${var.X}" > run-double.txt; echo "version \${release.version}" > deployed.txt`)}`,
    `      healthCheck: { run: ${JSON.stringify(WORDS('health-check.txt'))} }`,
    '      switch: [{ run: "true" }]',
  ].join('\n'),
  monitoring: [
    '  window: 1s',
    '  interval: 200ms',
    '  baseline:',
    '    fixed: { health: 1 }',
    '  metrics:',
    '    - id: health',
    `      command: ${JSON.stringify(`${WORDS('metric.txt')}; echo 1`)}`,
    '      guard: { min: 1 }',
  ].join('\n'),
});

describe('a value given at run time reaches every command as data, never as shell text', function () {
  this.timeout(180_000);

  for (const [what, value] of HOSTILE) {
    it(`${what}: a step, blueGreen.active, a health check and a command metric each get it as one word, and nothing of it runs`, async () => {
      const ws = workspace(plan);
      const s = await (await Release.start(ws.options({ vars: { X: value } }))).run();
      assert.equal(s.status, 'released', s.outcomeMessage);
      for (const f of ['run.txt', 'active.txt', 'health-check.txt', 'metric.txt']) {
        const got = fs.readFileSync(path.join(ws.dir, f), 'utf8');
        assert.ok(got === `<${value}>`, `${f}: ${JSON.stringify(got.slice(0, 200))}`);
      }
      assert.equal(fs.readFileSync(path.join(ws.dir, 'run-double.txt'), 'utf8'), `v=${value}`);
      assert.ok(!fs.existsSync(path.join(ws.dir, 'injected')), 'a command of the value ran');
    });
  }

  it('a value with a NUL character, which no environment can carry, is refused before anything runs, naming the variable', async () => {
    const ws = workspace(plan);
    await assert.rejects(
      async () => (await Release.start(ws.options({ vars: { X: 'a\0b' } }))).run(),
      /X is given at run time with a NUL character, which no command's environment can carry/,
    );
    assert.ok(!fs.existsSync(path.join(ws.dir, 'prepared.txt')), 'a step ran');
  });

  it("a plan's own value keeps its text form: written in the plan, reviewed, split into words where unquoted", async () => {
    const ws = workspace(plan.replace('X: "plain"', 'X: "one two"'));
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.equal(fs.readFileSync(path.join(ws.dir, 'run.txt'), 'utf8'), '<one><two>');
  });

  const refused = (run: string) =>
    smallPlan({ extra: 'variables:\n  X: "plain"\n  Y: "other"', deploy: `    steps:\n      - name: deploy\n        run: ${run}` });
  for (const [where, run, why] of [
    ['inside single quotes', `echo 'got ${'${var.X}'}'`, /inside single quotes \(or a quoted here-document\), where bash expands nothing/],
    ['in a quoted here-document', `|\n          cat <<'EOF'\n          ${'${var.X}'}\n          EOF`, /inside single quotes \(or a quoted here-document\)/],
    ['in $((…)) arithmetic', 'echo $(( ${var.X} + 1 ))', /inside arithmetic/],
    ['in a ((…)) command', '(( ${var.X} > 1 )) && echo big', /inside arithmetic/],
  ] as const) {
    it(`refuses a run-time value ${where}, naming the plan line and the fix; the plan's own value there is still valid`, () => {
      const text = refused(run);
      assert.ok(parsePlan(text, 'plan.yaml').ok, 'valid without --var');
      const p = runtimeVarRefusals(text, 'plan.yaml', ['X']);
      assert.equal(p.length, 1, JSON.stringify(p));
      assert.match(p[0].message, /^X is given at run time \(--var X=…\), so it is passed as data, never as shell text: "\$\{var\.X\}" is /);
      assert.match(p[0].message, why);
      assert.match(p[0].message, /Use "\$\{var\.X\}" in double quotes/);
      assert.ok(text.split('\n')[p[0].line - 1].includes('${var.X}'), `line ${p[0].line}`);
      assert.deepEqual(runtimeVarRefusals(text, 'plan.yaml', ['Y']), [], 'another variable given at run time is not refused there');
    });
  }

  describe('the command line', () => {
    const cli = (text: string, ...args: string[]) => {
      const ws = workspace(text);
      const r = spawnSync('node', [CLI, ...args, '--plan', ws.planFile], { encoding: 'utf8', cwd: ws.dir, timeout: 60_000 });
      return { ...r, ws };
    };

    it('run --var X=$(touch …): the value is printed, never run', () => {
      const text = smallPlan({
        extra: 'variables:\n  X: "abc"',
        deploy: `    steps:\n      - name: deploy\n        run: ${JSON.stringify('echo "got: ${var.X}" > got.txt; echo "version ${release.version}" > deployed.txt')}`,
      });
      const r = cli(text, 'run', '--yes', '--tick', 'sign-off', '--var', 'X=$(touch injected)');
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(fs.readFileSync(path.join(r.ws.dir, 'got.txt'), 'utf8'), 'got: $(touch injected)\n');
      assert.ok(!fs.existsSync(path.join(r.ws.dir, 'injected')));
    });

    it('run --dry-run --var X=$(touch …): shows the command as bash gets it, reading the value as data, and the value apart', () => {
      const text = smallPlan({
        extra: 'variables:\n  X: "abc"',
        deploy: `    steps:\n      - name: deploy\n        run: ${JSON.stringify('echo "got: ${var.X}" > got.txt; echo ${var.X}')}`,
      });
      const dry = cli(text, 'run', '--dry-run', '--var', 'X=$(touch injected)');
      assert.equal(dry.status, 0, dry.stdout + dry.stderr);
      assert.ok(dry.stdout.includes('$ echo "got: ${RELEASE_PILOT_VAR_X}" > got.txt; echo "${RELEASE_PILOT_VAR_X}"'), dry.stdout);
      assert.ok(dry.stdout.includes('  RELEASE_PILOT_VAR_X="$(touch injected)"'), dry.stdout);
      assert.ok(!dry.stdout.includes('echo "got: $(touch injected)"'), 'the value is never shown pasted into a command');
      assert.ok(!fs.existsSync(path.join(dry.ws.dir, 'injected')));
    });

    it('refuses a --var the plan reads inside single quotes as a usage error naming file and line; nothing runs', () => {
      const text = refused(`echo 'got ${'${var.X}'}' > deployed.txt`);
      const r = cli(text, 'run', '--yes', '--tick', 'sign-off', '--var', 'X=v');
      assert.equal(r.status, 2, r.stdout + r.stderr);
      const m = /plan\.yaml:(\d+):\d+: X is given at run time/.exec(r.stderr);
      assert.ok(m, r.stderr);
      assert.ok(text.split('\n')[Number(m[1]) - 1].includes("'got ${var.X}'"), `line ${m[1]}`);
      assert.ok(!fs.existsSync(path.join(r.ws.dir, '.release/runs')), 'no run');
      const dry = cli(text, 'run', '--dry-run', '--var', 'X=v');
      assert.equal(dry.status, 2, dry.stderr);
    });

    it('a second --var for the same name is a usage error naming both, for run, dry run and approve', () => {
      const text = smallPlan({ extra: 'variables:\n  X: "abc"' });
      for (const mode of [
        ['run', '--yes', '--tick', 'sign-off'],
        ['run', '--dry-run'],
        ['approve', '1.2.3', '--env', 'production'],
      ]) {
        const r = cli(text, ...mode, '--var', 'X=first', '--var', 'X=second');
        assert.equal(r.status, 2, `${mode.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /--var X is given twice \(--var "X=first" and --var "X=second"\): give each variable once/);
        assert.ok(!fs.existsSync(path.join(r.ws.dir, '.release/runs')), 'no run');
      }
    });
  });
});
