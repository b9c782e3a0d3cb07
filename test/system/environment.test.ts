import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { GateError } from '../../src/core/engine/gates/gateError';
import { runIds } from '../../src/core/engine/queries/runs';
import { parsePlan } from '../../src/core/plan/load';
import { smallPlan, workspace, journalLines } from '../support/fixtures';

/** Only what a step needs to run, and what each case sets. */
const env = (set: Record<string, string> = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, ...set });

const deployReading = (line: string) => `    steps:
      - name: deploy
        run: ${line}`;

/**
 * Plans that read environment variables in places meant to slip past a start-time check. Each is
 * refused before anything runs (no run written, no step run), naming every unset variable and its
 * line, or starts when nothing the plan resolves is unset.
 */
const CASES: Array<{ what: string; plan: string; env: NodeJS.ProcessEnv; refused?: RegExp }> = [
  {
    what: 'an unset variable in a deploy step',
    plan: smallPlan({ deploy: deployReading('echo "${env:DEPLOY_TOKEN}" > deployed.txt') }),
    env: env(),
    refused: /an environment variable the plan reads is not set, so nothing was started: DEPLOY_TOKEN \(\.release\/plan\.yaml:\d+\)/,
  },
  {
    what: 'a variable set to the empty string',
    plan: smallPlan({ deploy: deployReading('echo "version 1.2.3${env:EMPTY}" > deployed.txt') }),
    env: env({ EMPTY: '' }),
  },
  {
    what: 'an unset variable named only in a YAML comment',
    plan: smallPlan({ extra: '# later: ${env:NOT_YET}' }),
    env: env(),
  },
  {
    what: "an unset variable in a block command's shell comment (the whole command is resolved)",
    plan: smallPlan({
      deploy: '    steps:\n      - name: deploy\n        run: |\n          # token: ${env:IN_COMMENT}\n          echo "version 1.2.3" > deployed.txt',
    }),
    env: env(),
    refused: /IN_COMMENT \(\.release\/plan\.yaml:\d+\)/,
  },
  {
    what: 'an unset variable read only by the rollback',
    plan: smallPlan({ rollback: '    - name: restore\n      run: echo "${env:ROLLBACK_KEY}"' }),
    env: env(),
    refused: /ROLLBACK_KEY/,
  },
  {
    what: "an unset variable in a step's own environment",
    plan: smallPlan({
      deploy: '    steps:\n      - name: deploy\n        run: echo "version 1.2.3" > deployed.txt\n        env:\n          TOKEN: ${env:STEP_ENV_TOKEN}',
    }),
    env: env(),
    refused: /STEP_ENV_TOKEN/,
  },
  {
    what: 'an unset variable in a monitoring command',
    plan: smallPlan({
      monitoring:
        '  window: 1s\n  interval: 200ms\n  baseline:\n    fixed: { health: 1 }\n  metrics:\n    - id: health\n      command: cat health.txt ${env:MON_FILE}\n      guard: { min: 1 }',
    }),
    env: env(),
    refused: /MON_FILE/,
  },
  {
    what: "a variable set in this process but not in the release's environment",
    plan: smallPlan({ deploy: deployReading('echo "${env:RP_ONLY_HERE}" > deployed.txt') }),
    env: env(),
    refused: /RP_ONLY_HERE/,
  },
  {
    what: 'a name that differs from a set one only by case',
    plan: smallPlan({ deploy: deployReading('echo "${env:path}" > deployed.txt') }),
    env: env(),
    refused: /: path \(/,
  },
  {
    what: "a shell's own unset variable ($NOPE, ${NOPE}): the shell's business",
    plan: smallPlan({ deploy: deployReading('echo "version 1.2.3 $NOPE ${NOPE}" > deployed.txt') }),
    env: env(),
  },
  {
    what: 'three unset variables, one read on two lines',
    plan: smallPlan({
      deploy: deployReading('echo "${env:A_ONE} ${env:B_TWO}" > deployed.txt'),
      rollback: '    - name: restore\n      run: echo "${env:A_ONE} ${env:C_THREE}"',
    }),
    env: env(),
    refused:
      /3 environment variables the plan reads are not set, so nothing was started: A_ONE \(\.release\/plan\.yaml:\d+, \d+\); B_TWO \(\.release\/plan\.yaml:\d+\); C_THREE/,
  },
  {
    what: 'five hundred references to unset variables',
    plan: smallPlan({
      deploy: `    steps:\n${Array.from({ length: 500 }, (_, i) => `      - name: s${i}\n        run: echo \${env:V${i}}`).join('\n')}`,
    }),
    env: env(),
    refused: /500 environment variables the plan reads are not set/,
  },
];

describe('a plan that reads an unset environment variable is refused before anything runs, and on resume', function () {
  this.timeout(60_000);
  process.env.RP_ONLY_HERE = 'set in the test process only';
  after(() => delete process.env.RP_ONLY_HERE);

  for (const c of CASES) {
    it(`${c.refused ? 'refuses' : 'starts with'} ${c.what}`, async () => {
      const ws = workspace(c.plan);
      let error: unknown;
      let release: Release | undefined;
      try {
        release = await Release.start(ws.options({ env: c.env }));
      } catch (e) {
        error = e;
      }
      if (!c.refused) {
        assert.equal(error, undefined, String(error));
        const s = await release!.run();
        assert.equal(s.status, 'released', s.outcomeMessage);
        return;
      }
      assert.ok(error instanceof GateError, `expected a refusal, got ${String(error)}`);
      assert.equal(error.gate, 'environment');
      assert.match(error.message, c.refused);
      assert.deepEqual(runIds(ws.dir), [], 'no run was written');
      assert.ok(!fs.existsSync(path.join(ws.dir, 'prepared.txt')), 'no step ran');
      assert.ok(!fs.existsSync(path.join(ws.dir, '.release', 'lock')), 'no lock is left');
    });
  }

  it('names the line of a reference inside a literal block, not of its key', async () => {
    const plan = smallPlan({
      deploy:
        '    steps:\n      - name: deploy\n        run: |\n          echo one\n          # token: ${env:IN_BLOCK}\n          echo "version 1.2.3" > deployed.txt',
    });
    const line = plan.split('\n').findIndex((l) => l.includes('${env:IN_BLOCK}')) + 1;
    const ws = workspace(plan);
    await assert.rejects(Release.start(ws.options({ env: env() })), (e: Error) => e.message.includes(`IN_BLOCK (.release/plan.yaml:${line})`));
  });

  it('names the line of each reference', async () => {
    const plan = smallPlan({ deploy: deployReading('echo "${env:DEPLOY_TOKEN}" > deployed.txt') });
    const line = plan.split('\n').findIndex((l) => l.includes('${env:DEPLOY_TOKEN}')) + 1;
    const ws = workspace(plan);
    await assert.rejects(Release.start(ws.options({ env: env() })), (e: Error) => e.message.includes(`DEPLOY_TOKEN (.release/plan.yaml:${line})`));
  });

  it('a run paused after preparation does not resume while a variable it reads is unset: the journal is unchanged; set, it resumes and releases', async () => {
    const plan = smallPlan({ deploy: deployReading('echo "version ${release.version} ${env:LATER_TOKEN}" > deployed.txt') });
    const ws = workspace(plan);
    const first = await (await Release.start(ws.options({ env: env({ LATER_TOKEN: 'abcdefghijkl' }), stopAfter: 'preparation' }))).run();
    assert.equal(first.status, 'paused', first.outcomeMessage);
    const before = journalLines(ws, first.runId).length;

    // A value the run started with is one of its inputs: missing at resume, the reopen itself refuses.
    await assert.rejects(
      async () => (await Release.reopen(ws.options({ env: env() }), first.runId)).run(),
      (e: Error) => e instanceof GateError && e.gate === 'inputs' && /LATER_TOKEN/.test(e.message) && !e.message.includes('abcdefghijkl'),
    );
    assert.equal(journalLines(ws, first.runId).length, before, 'nothing was journaled');
    assert.ok(!fs.existsSync(path.join(ws.dir, 'deployed.txt')), 'the deploy did not run');
    assert.ok(!fs.existsSync(path.join(ws.dir, '.release', 'lock')), 'the lock was released');

    const s = await (await Release.reopen(ws.options({ env: env({ LATER_TOKEN: 'abcdefghijkl' }) }), first.runId)).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.equal(fs.readFileSync(path.join(ws.dir, 'deployed.txt'), 'utf8'), 'version 1.2.3 abcdefghijkl\n');
  });
});

/** The small plan with its release block changed as `edit` says. */
const edited = (edit: (plan: string) => string) => edit(smallPlan());

/**
 * Edits made to the plan while a run is paused, meant to move it somewhere its gates and go were
 * not given for. The run must refuse to resume when its name or environment changed, leaving the
 * journal as it was, and resume otherwise, with the journal's version.
 */
const EDITS: Array<{ what: string; edit: (plan: string) => string; refused?: RegExp }> = [
  {
    what: 'production changed to staging',
    edit: (p) => p.replace('environment: production', 'environment: staging'),
    refused: /its environment from "production" to "staging"/,
  },
  {
    what: 'Production, by case only',
    edit: (p) => p.replace('environment: production', 'environment: Production'),
    refused: /its environment from "production" to "Production"/,
  },
  { what: 'the name changed', edit: (p) => p.replace('name: tiny', 'name: orders'), refused: /its name from "tiny" to "orders"/ },
  { what: 'the name changed by case only', edit: (p) => p.replace('name: tiny', 'name: Tiny'), refused: /its name from "tiny" to "Tiny"/ },
  {
    what: 'both changed',
    edit: (p) => p.replace('name: tiny', 'name: orders').replace('environment: production', 'environment: staging'),
    refused: /its name from "tiny" to "orders" and its environment from "production" to "staging"/,
  },
  { what: 'a step changed', edit: (p) => p.replace('echo announced', 'echo announced again') },
  { what: 'a comment added', edit: (p) => `# edited while paused\n${p}` },
  { what: 'the version changed (the run keeps its own)', edit: (p) => p.replace('version: 1.2.3', 'version: 1.2.4') },
  // Look-alike environments (a Cyrillic о, a trailing space, a zero-width space) no longer validate: see the redeploy tests.
  { what: 'the environment written with quotes, the same value', edit: (p) => p.replace('environment: production', "environment: 'production'") },
];

describe('a paused run does not resume under a plan that names another release or environment', function () {
  this.timeout(60_000);

  for (const c of EDITS) {
    it(`${c.refused ? 'refuses' : 'resumes'} after ${c.what}`, async () => {
      const ws = workspace(smallPlan());
      const first = await (await Release.start(ws.options({ stopAfter: 'preparation' }))).run();
      assert.equal(first.status, 'paused', first.outcomeMessage);
      const before = journalLines(ws, first.runId).length;
      const text = edited(c.edit);
      fs.writeFileSync(ws.planFile, text);
      const loaded = parsePlan(text, ws.planFile);
      assert.ok(loaded.ok);
      const o = ws.options({ plan: loaded.plan, planText: text });
      const run = (await Release.reopen(o, first.runId)).run();
      if (c.refused) {
        await assert.rejects(run, (e: Error) => e instanceof GateError && e.gate === 'plan-changed' && c.refused!.test(e.message));
        // Reopening journals what it finds (a changed plan); nothing is run or decided.
        const after = journalLines(ws, first.runId).slice(before);
        assert.ok(
          after.every((e) => e.type === 'warning'),
          JSON.stringify(after),
        );
        assert.ok(!fs.existsSync(path.join(ws.dir, 'deployed.txt')), 'the deploy did not run');
        assert.ok(!fs.existsSync(path.join(ws.dir, '.release', 'lock')), 'the lock was released');
        // The run can still be rolled back or abandoned under the changed plan.
        const abandoned = (await Release.reopen(o, first.runId)).abandon('the plan moved to another environment');
        assert.equal(abandoned.status, 'aborted');
        return;
      }
      const s = await run;
      assert.equal(s.status, 'released', s.outcomeMessage);
      assert.equal(s.version, '1.2.3');
      assert.equal(s.environment, 'production');
      assert.equal(fs.readFileSync(path.join(ws.dir, 'deployed.txt'), 'utf8'), 'version 1.2.3\n');
    });
  }
});
