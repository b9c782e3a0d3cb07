import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Release } from '../../src/core/engine/run/engine';
import { dryRun } from '../../src/core/engine/queries/releasePreview';
import { parsePlan } from '../../src/core/plan/load';
import { shellForm } from '../../src/core/plan/shellRefs';
import { scripted, smallPlan, workspace } from '../support/fixtures';

/**
 * `${env:NAME}` in a command used to be pasted into the text bash parses: `pa$$word` ran as
 * `pa<pid>word` (printed unmasked), `"; cmd; "` ran cmd, `<&>"` broke the rollback. A command now
 * reads the variable as bash's own `${NAME}`: bash never parses the value.
 */
export const HOSTILE_SHELL_VALUES = [
  'pa$$word-secret',
  '$(touch injected)-subst',
  '`touch injected`-ticks',
  `it's "quoted" 'both'`,
  '"; touch injected; echo "',
  "'; touch injected; echo '",
  'line one\nline two\n',
  'back\\slash\\n\\',
  '*glob* ?[a]',
  '-n leading dash',
  'T0K<&>"v|x;y',
  'ünï 🔑 cödé \u202e',
  '$TINY_OTHER',
  'TINY_OTHER',
  '${HOME} and ${env:HOME}',
  '  padded  ',
];

/** Commands writing the value to out.txt, in each quoting bash knows (see quotingAt). */
const CONTEXTS = [
  'printf %s ${env:HV} > out.txt',
  'printf "%s" "${env:HV}" > out.txt',
  'printf "%s" "before-${env:HV}-after" | sed "s/^before-//; s/-after$//" > out.txt',
  'printf %s "$(printf %s "${env:HV}")" > out.txt',
  'X=${env:HV}; printf %s "$X" > out.txt',
  'cat <<EOF > out.txt\n${env:HV}\nEOF\ntruncate -s -1 out.txt',
  'printf %s `printf %s ${env:HV} | base64 -w0` | base64 -d > out.txt',
];

describe('${env:…} in a command reaches bash as its own expansion, never as pasted text', function () {
  this.timeout(120_000);

  for (const value of HOSTILE_SHELL_VALUES) {
    it(`bash gets ${JSON.stringify(value)} as is, in every quoting`, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-sh-'));
      for (const ctx of CONTEXTS) {
        // The sed context compares lines: a value with a newline has its own cases.
        if (ctx.includes('sed') && value.includes('\n')) continue;
        // A here-document drops nothing, but `$(…)` drops trailing newlines as bash always does.
        const expected = ctx.includes('$(printf') ? value.replace(/\n+$/, '') : value;
        const r = spawnSync('bash', ['--norc', '-c', shellForm(ctx)], {
          cwd: dir,
          env: { PATH: process.env.PATH, HV: value, TINY_OTHER: 'other' },
          encoding: 'utf8',
        });
        assert.equal(r.status, 0, `${ctx}: ${r.stderr}`);
        const got = fs.readFileSync(path.join(dir, 'out.txt'), 'utf8');
        assert.equal(got, expected, shellForm(ctx));
        assert.ok(!fs.existsSync(path.join(dir, 'injected')), `${ctx} ran a command from the value`);
      }
    });
  }

  it('refuses ${env:…} inside single quotes or a quoted here-document at validation, with its line and the fix', () => {
    for (const run of ["'echo ''${env:HV}'''", "|\n          cat <<'EOF'\n          ${env:HV}\n          EOF"]) {
      const plan = smallPlan({ deploy: `    steps:\n      - name: deploy\n        run: ${run}` });
      const r = parsePlan(plan, 'plan.yaml');
      assert.ok(!r.ok, run);
      const p = r.problems.find((x) => /single quotes/.test(x.message));
      assert.ok(p, JSON.stringify(r.problems));
      assert.match(p.message, /through the step's env instead \(env: \{ HV: "\$\{env:HV\}" \}, still masked\) and read it there as "\$HV"/);
      assert.match(p.message, /do not move it into text a second shell parses/);
      assert.equal(p.line, plan.split('\n').findIndex((l) => l.includes('run:') && l.includes(run.split('\n')[0])) + 1);
    }
  });

  it("the refusal's advice works: the step's env carries the value into single quotes, intact, nothing run, masked", async () => {
    const value = HOSTILE_SHELL_VALUES.find((v) => v.includes('$(') || v.includes('`'))!;
    const plan = smallPlan({
      deploy: `    steps:\n      - name: deploy\n        env: { HV: "\${env:HV}" }\n        run: bash -c 'printf "%s" "$HV" > inner.txt; echo "inner $HV"'; echo "version 1.2.3" > deployed.txt`,
    });
    const ws = workspace(plan);
    const s = await (await Release.start(ws.options({ env: { ...process.env, HV: value } }))).run();
    assert.equal(s.status, 'released', JSON.stringify(Object.values(s.steps).map((x) => [x.key, x.state, x.message])));
    assert.equal(fs.readFileSync(path.join(ws.dir, 'inner.txt'), 'utf8'), value);
    assert.ok(!fs.existsSync(path.join(ws.dir, 'injected')));
    const log = fs.readFileSync(path.join(ws.dir, '.release', 'runs', s.runId, 'logs', 'deploy_0.1.log'), 'utf8');
    assert.ok(!log.includes(value), log);
    assert.match(log, /inner \*\*\*/);
  });

  it('an env entry named run or command is a name, not a command: never rewritten', () => {
    const plan = smallPlan({
      deploy: '    steps:\n      - name: deploy\n        env: { run: "${env:HV}", command: "x ${env:HV}" }\n        run: echo "$run"',
    });
    const r = parsePlan(plan, 'plan.yaml');
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
    const step = r.plan.phases.deploy.steps[0];
    assert.deepEqual(step.env, { run: '${env:HV}', command: 'x ${env:HV}' });
    assert.equal(step.run, 'echo "$run"');
  });

  it('the dry run shows the command as bash gets it', () => {
    const plan = smallPlan({ deploy: '    steps:\n      - name: deploy\n        run: deploy --token ${env:HV} --note "v ${env:HV}"' });
    const r = parsePlan(plan, 'plan.yaml');
    assert.ok(r.ok);
    const text = dryRun(r.plan, {});
    assert.ok(text.includes('deploy --token "${HV}" --note "v ${HV}"'), text);
  });

  for (const value of HOSTILE_SHELL_VALUES.slice(0, 12)) {
    it(`a release: steps, checklist, acceptance and rollback get ${JSON.stringify(value)} as is; the rollback completes; nothing leaks`, async () => {
      const plan = smallPlan({
        acceptance: `command: 'printf "%s" "\${env:HV}" > acc.txt; echo "QA verdict: Ready for Launch"'`,
        checklist: `  - id: chk\n    title: Reads the value\n    run: printf "%s" "\${env:HV}" > chk.txt`,
        deploy: `    steps:\n      - name: deploy\n        run: printf "%s" \${env:HV} > dep.txt\n      - name: fail\n        run: echo "failing with \${env:HV}"; exit 3`,
        rollback: `    - name: restore\n      run: printf "%s" "\${env:HV}" > rb.txt`,
      });
      const ws = workspace(plan);
      const s = await (
        await Release.start(
          ws.options({
            env: { PATH: process.env.PATH, HOME: process.env.HOME, HV: value, TINY_OTHER: 'other' },
            prompter: scripted({ failure: [{ action: 'rollback' }] }),
          }),
        )
      ).run();
      assert.equal(s.status, 'rolled-back', s.outcomeMessage);
      for (const f of ['acc.txt', 'chk.txt', 'dep.txt', 'rb.txt']) assert.equal(fs.readFileSync(path.join(ws.dir, f), 'utf8'), value, f);
      assert.ok(!fs.existsSync(path.join(ws.dir, 'injected')), 'no command of the value ran');
      const runs = path.join(ws.dir, '.release/runs');
      const texts: string[] = [];
      const walk = (d: string) => {
        for (const f of fs.readdirSync(d)) {
          const p = path.join(d, f);
          if (fs.statSync(p).isDirectory()) walk(p);
          else texts.push(fs.readFileSync(p, 'utf8'));
        }
      };
      walk(runs);
      const all = texts.join('\n');
      assert.ok(!all.includes(value.trim()), 'the value is in no log, journal or report');
      assert.match(all, /failing with \*\*\*|failing with [^\s]{3}/);
    });
  }
});
