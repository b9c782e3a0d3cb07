import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../support/helpers';
import { smallPlan, workspace } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** `--var` for a variable the plan does not declare was ignored (a typo released with the plan's own value). */
describe('--var names only declared variables', function () {
  this.timeout(60_000);
  const plan = smallPlan({ extra: 'variables:\n  STATE_DIR: /srv/app\n  PORT: "8080"' });
  const cli = (...args: string[]) => {
    const ws = workspace(plan);
    const r = spawnSync('node', [CLI, ...args, '--plan', ws.planFile], { encoding: 'utf8', cwd: ws.dir, timeout: 50_000 });
    return { ...r, ws };
  };

  for (const mode of [
    ['run', '--dry-run'],
    ['run', '--yes', '--tick', 'sign-off'],
  ]) {
    it(`${mode.join(' ')}: refuses a typo with "did you mean" and the declared list; nothing runs`, () => {
      const r = cli(...mode, '--var', 'STAT_DIR=/srv/other');
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /--var names a variable the plan does not declare under variables: STAT_DIR \(did you mean STATE_DIR\?\); the plan declares STATE_DIR, PORT/,
      );
      assert.ok(!fs.existsSync(path.join(r.ws.dir, '.release/runs')), 'no run');
      assert.ok(!fs.existsSync(path.join(r.ws.dir, 'prepared.txt')), 'no step ran');
    });
  }

  it('names every unknown one, and accepts declared ones', () => {
    const bad = cli('run', '--dry-run', '--var', 'PORT=9000', '--var', 'NOPE=1', '--var', 'ZZZZZZZZ=2');
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /variables the plan does not declare under variables: NOPE, ZZZZZZZZ;/);
    const good = cli('run', '--dry-run', '--var', 'PORT=9000', '--var', 'STATE_DIR=/srv/b');
    assert.equal(good.status, 0, good.stderr);
  });
});
