import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Release } from '../../src/core/engine/run/engine';
import { ROOT } from '../support/helpers';
import { refusedStart, smallPlan, workspace } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** The small plan, deploying blue-green with its own colours, and a rolling-free extra environment. */
function namedPlan(): string {
  return smallPlan({
    deploy: `    strategy: blue-green
    blueGreen:
      colors: [azure-side, amber-side]
      active: echo azure-side
      deploy:
        - name: deploy \${deploy.color}
          run: echo \${deploy.color} > deployed-color.txt; echo "version \${release.version}" > deployed.txt
      healthCheck:
        run: "true"
        retries: 0
      switch:
        - name: switch-traffic
          run: echo switched`,
  });
}

/** Values equal to one of the plan's own ids or names, and what the refusal calls each. */
const COLLISIONS: [string, RegExp][] = [
  ['switch-traffic', /TINY_TOKEN is the same as the plan's phases\.deploy\.blueGreen\.switch\.0\.name/],
  ['prepare', /TINY_TOKEN is the same as the plan's phases\.preparation\.steps\.0\.name/],
  ['verify', /TINY_TOKEN is the same as the plan's phases\.verification\.steps\.0\.name/],
  ['sign-off', /TINY_TOKEN is the same as the plan's checklist\.1\.id/],
  ['migration-script', /TINY_TOKEN is the same as the plan's checklist\.0\.id/],
  ['health', /TINY_TOKEN is the same as the plan's monitoring\.metrics\.0\.id/],
  ['azure-side', /TINY_TOKEN is the same as the plan's phases\.deploy\.blueGreen\.colors\.0/],
  ['amber-side', /TINY_TOKEN is the same as the plan's phases\.deploy\.blueGreen\.colors\.1/],
  ['production', /TINY_TOKEN is the same as the environment/],
  ['  switch-traffic\n', /TINY_TOKEN is the same as the plan's phases\.deploy\.blueGreen\.switch\.0\.name/],
];

describe('§5 secrets: a secret equal to one of the plan’s own ids or names is refused before a release starts', function () {
  this.timeout(180_000);

  for (const [value, message] of COLLISIONS)
    it(`TINY_TOKEN=${JSON.stringify(value)}: refused naming the variable, never the value; nothing is written`, async () => {
      const ws = workspace(namedPlan());
      await refusedStart(Release.start(ws.options({ env: { ...process.env, TINY_TOKEN: value } })), {
        says: message,
        hides: value.trim(),
        nothingWrittenIn: ws.dir,
      });
    });

  it('a rolling target equal to the secret is refused too', async () => {
    const ws = workspace(
      smallPlan({
        deploy: `    strategy: rolling
    rolling:
      targets: [web-alpha-1, web-beta-2]
      steps:
        - name: roll
          run: echo \${target}
      healthCheck:
        run: "true"
        retries: 0`,
      }),
    );
    await refusedStart(Release.start(ws.options({ env: { ...process.env, TINY_TOKEN: 'web-beta-2' } })), {
      says: /TINY_TOKEN is the same as the plan's phases\.deploy\.rolling\.targets\.1/,
      hides: 'web-beta-2',
    });
  });

  it('through the CLI: a secret equal to a step name stops the release with the variable named, and no journal holds a rewritten name', () => {
    const ws = workspace(namedPlan());
    const r = spawnSync('node', [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], {
      env: { ...process.env, TINY_TOKEN: 'switch-traffic' },
      encoding: 'utf8',
    });
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stdout + r.stderr, /TINY_TOKEN is the same as/);
    assert.ok(!(r.stdout + r.stderr).includes('switch-traffic'), r.stdout + r.stderr);
    assert.ok(!fs.existsSync(path.join(ws.dir, '.release/runs')), 'no run was written');
  });

  it('a secret that is no id or name of the plan starts the release', async () => {
    const ws = workspace(namedPlan());
    const r = await Release.start(ws.options({ env: { ...process.env, TINY_TOKEN: 'x9-unrelated-value' } }));
    r.close();
  });
});
