import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parsePlan } from '../../src/core/plan/load';
import type { Plan } from '../../src/core/model/schema';
import { interpolate, runScope } from '../../src/core/plan/scope';
import { ROOT, gitRepo, tempDir, write } from '../support/helpers';
import { waitFor } from '../support/waitFor';

/**
 * The nginx-postgres template's own commands, with hostile values filled in: the state folder
 * (STATE_DIR) and the START command. Each command is resolved as the engine resolves it (the plan's
 * env and the step's env, then the command's text) and run by real bash: the commands that need no
 * nginx or PostgreSQL (the active colour, the copy of the tagged commit, the start of an instance,
 * the log scan). template-nginx-postgres.test.ts releases with one such value end to end.
 */
const HOSTILE: Array<{ what: string; dir: string }> = [
  { what: 'a single quote', dir: "it's" },
  { what: 'double quotes', dir: 'say "hi"' },
  { what: 'a variable', dir: '$HOME' },
  { what: 'a command substitution', dir: '$(touch pwned)' },
  { what: 'backticks', dir: '`touch pwned`' },
  { what: 'a quote that closes and runs a command', dir: "'; touch pwned; echo '" },
  { what: 'a double quote that closes and runs a command', dir: '"; touch pwned; echo "' },
  { what: 'a backslash', dir: 'back\\slash' },
  { what: 'two spaces', dir: 'two  spaces' },
  { what: 'a semicolon and &&', dir: 'a;b && touch pwned' },
  { what: 'glob characters', dir: 'glob*?[x]' },
  { what: 'a newline', dir: 'new\nline' },
  { what: 'printf directives', dir: '%s %n %%' },
  { what: 'unicode', dir: 'Zürich 東京 🚀' },
  { what: 'a leading dash', dir: '-rf' },
];
/** A START command with quotes, a $, a pipe-like | and % of its own, written in the shell's syntax. */
const START = `printf '%s|%s|%s\\n' "$APP_COLOR" "$PORT" "it's" > started.txt`;

const TEMPLATE = fs.readFileSync(path.join(ROOT, 'templates', 'nginx-postgres.yaml'), 'utf8');

function withValues(values: Record<string, string>): Plan {
  let text = TEMPLATE;
  for (const [k, v] of Object.entries(values)) text = text.replace(new RegExp(`^(\\s*${k}: ).*$`, 'm'), (_m, head: string) => head + JSON.stringify(v));
  const r = parsePlan(text, '/ws/.release/plan.yaml');
  assert.ok(r.ok, r.ok ? '' : r.problems.map((p) => p.message).join('; '));
  return r.plan;
}

describe('template nginx-postgres: hostile values reach its commands as written', function () {
  this.timeout(60_000);

  for (const c of HOSTILE) {
    it(`a state folder with ${c.what}`, async () => {
      const tmp = tempDir('rp-tv-');
      const stateDir = path.join(tmp, 'srv', c.dir);
      const repo = path.join(tmp, 'repo');
      fs.mkdirSync(repo);
      const git = gitRepo(repo);
      write(repo, 'server.js', '// the service\n');
      git('add', '-A');
      git('commit', '-qm', 'feat: service');
      // The template copies the release's tag, as a release of 1.0.0 has it.
      git('tag', 'v1.0.0');
      const plan = withValues({ STATE_DIR: stateDir, START, BLUE_PORT: '8181', GREEN_PORT: '8282' });
      const runDir = path.join(repo, '.release', 'runs', 'r1');
      fs.mkdirSync(runDir, { recursive: true });
      const scope = runScope(plan, { version: '1.0.0', runId: 'r1', colors: { active: 'blue', idle: 'green' } }, runDir, { PGPASSWORD: 'unused-here' });
      // As RunContext.stepEnv: the plan's env with the step's own over it, references resolved.
      const run = (command: string, stepEnv: Record<string, string> = {}) => {
        const env = Object.fromEntries(Object.entries({ ...plan.env, ...stepEnv }).map(([k, v]) => [k, interpolate(v, scope)]));
        const r = spawnSync('bash', ['--norc', '-c', interpolate(command, scope)], {
          cwd: repo,
          env: { PATH: process.env.PATH, HOME: tmp, ...env },
          encoding: 'utf8',
        });
        return { code: r.status, out: r.stdout.trim(), err: r.stderr };
      };
      const bg = plan.phases.deploy.blueGreen!;

      assert.deepEqual(run(bg.active), { code: 0, out: 'blue', err: '' }, 'no state yet: blue');
      const copy = plan.phases.preparation!.steps[0];
      const copied = run(copy.run, copy.env);
      assert.equal(copied.code, 0, copied.err);
      assert.ok(fs.existsSync(path.join(stateDir, 'releases', '1.0.0', 'server.js')), `copied into the folder as named: ${copied.out}`);

      const start = bg.deploy[0];
      const started = run(start.run, start.env);
      assert.equal(started.code, 0, started.err);
      const startedFile = path.join(stateDir, 'releases', '1.0.0', 'started.txt');
      assert.ok(await waitFor(() => fs.existsSync(startedFile) && fs.readFileSync(startedFile, 'utf8').endsWith('\n'), 10_000, 50), 'START ran');
      assert.equal(fs.readFileSync(startedFile, 'utf8'), "green|8282|it's\n", 'START ran as written, with its colour and port');
      assert.equal(fs.readFileSync(path.join(stateDir, 'green.version'), 'utf8'), '1.0.0\n');

      fs.writeFileSync(path.join(stateDir, 'active'), 'green\n');
      assert.equal(run(bg.active).out, 'green', 'the active colour read from the folder as named');
      fs.writeFileSync(path.join(stateDir, 'green.log'), 'listening\n');
      const log = plan.phases.verification!.logs[0];
      assert.deepEqual(run(log.run), { code: 0, out: 'listening', err: '' }, 'the log scan reads the instance log');

      const pwned = spawnSync('find', [tmp, '-name', 'pwned'], { encoding: 'utf8' }).stdout.trim();
      assert.equal(pwned, '', 'nothing in the value ran');
    });
  }
});
