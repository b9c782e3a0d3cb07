import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { cliInProcess } from '../support/inProcessCli';
import { ROOT, copyDir, gitIn, write } from '../support/helpers';
import { blueGreenPlan, blueGreenRepo } from '../support/fixtures';
import { writtenReason } from '../../src/core/engine/gates/writtenReason';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** The blue-green plan (`blueGreenPlan`) with a 1 s monitoring window; `extra` is inserted before `phases:`. */
const plan = (o: { name?: string; version?: string; environment?: string; extra?: string } = {}) =>
  blueGreenPlan({ ...o, window: '1s', interval: '250ms', shortWindowReason: 'a test' });

function repo(planText: string) {
  const { dir, git } = blueGreenRepo(planText, { prefix: 'rp-gm-' });
  const cli = (...args: string[]) => spawnSync('node', [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  /** The same CLI's main in this process, in the repository: for a corpus's further cases after one through the real process. */
  const main = (...args: string[]) => cliInProcess(args, { cwd: dir });
  return { dir, git, cli, main };
}

const INVISIBLE = [
  '',
  '   ',
  '\u200b',
  '\u200b\u200b\u200b',
  '\u00a0\u2003',
  '\u2060\ufeff',
  '\t\n',
  '\u202e\u202c',
  '\u00ad\u00ad\u00ad',
  'ok',
  '. .',
  '\u200bx\u200b',
  '---',
  '\u0301\u0301\u0301',
];

describe('a written reason', function () {
  this.timeout(120_000);

  it(`refuses ${INVISIBLE.length} blank, invisible or too short reasons and keeps written ones`, () => {
    for (const r of INVISIBLE) assert.equal(writtenReason(r), undefined, JSON.stringify(r));
    assert.equal(writtenReason('\u200b flaky test, see INC-7 \u200b'), 'flaky test, see INC-7');
    assert.equal(writtenReason('hotfix'), 'hotfix');
    assert.equal(writtenReason('修正済'), '修正済');
  });

  it('refuses --waive ID=<invisible> before anything runs', () => {
    const { dir, cli } = repo(plan({ extra: 'checklist:\n  - id: tests\n    title: Tests pass\n    run: "false"\n' }));
    for (const r of ['\u200b', ' \u00a0 ', '\u2060']) {
      const res = cli('run', '--yes', '--waive', `tests=${r}`);
      assert.notEqual(res.status, 0, res.stdout);
      assert.match(res.stderr + res.stdout, /needs a written reason/);
    }
    assert.equal(fs.readFileSync(path.join(dir, 'state/active'), 'utf8'), 'blue\n');
    const ok = cli('run', '--yes', '--waive', 'tests=known flaky suite');
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  });

  it('refuses a dirty-tree waiver with an invisible reason', () => {
    const { dir, cli } = repo(plan());
    write(dir, 'qa.md', 'Verdict: Ready for Launch\n\nnotes\n');
    const res = cli('run', '--yes', '--waive', 'dirty-tree=\u200b\u200b');
    assert.notEqual(res.status, 0, res.stdout);
    assert.match(res.stderr + res.stdout, /needs a written reason/);
    assert.equal(fs.readFileSync(path.join(dir, 'state/active'), 'utf8'), 'blue\n');
  });

  it('refuses abandon --reason and rollback --force --reason that are invisible', async () => {
    const { cli, main } = repo(plan());
    for (const [i, r] of ['\u200b', '\u00a0\u00a0', '\u2060 '].entries()) {
      // The first through the real CLI process, the others through its main.
      const run = i === 0 ? cli : main;
      const a = await run('abandon', '--reason', r);
      assert.notEqual(a.status, 0);
      assert.match(a.stderr, /abandon needs --reason TEXT.*written text/);
      const b = await run('rollback', '--yes', '--force', '--reason', r);
      assert.notEqual(b.status, 0);
      assert.match(b.stderr, /--force needs --reason TEXT.*written text/);
    }
  });
});

describe('names compared as what they name', function () {
  this.timeout(180_000);

  it('refuses rolling targets that are one host written several ways, and colours that differ only by case', async () => {
    const rolling = (targets: string) =>
      plan()
        .replace('echo ${deploy.active} > state/active', '"true"')
        .replace(
          /phases:[\s\S]*?rollback:/,
          `phases:\n  deploy:\n    strategy: rolling\n    rolling:\n      targets: ${targets}\n      maxUnavailable: 3\n      steps:\n        - name: d\n          run: "true"\n      healthCheck:\n        run: "true"\nrollback:`,
        );
    for (const [targets, repeated] of [
      ['[web1, WEB1]', 'WEB1'],
      ['[web1, "web1."]', 'web1.'],
      ['[web1, "ｗｅｂ１"]', 'ｗｅｂ１'],
      ['[a.example.com, A.Example.COM.]', 'A.Example.COM.'],
    ]) {
      // The first through the real CLI process, the others through its main.
      const { cli, main } = repo(rolling(targets));
      const r = targets === '[web1, WEB1]' ? cli('validate') : await main('validate');
      assert.notEqual(r.status, 0, `${targets}: ${r.stdout}`);
      assert.ok((r.stdout + r.stderr).includes(`"${repeated}" repeats item 1`), r.stdout + r.stderr);
    }
    const ok = await repo(rolling('[web1, web2, web1.example.com]')).main('validate');
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const bg = await repo(plan().replace('    blueGreen:\n', '    blueGreen:\n      colors: [blue, Blue]\n')).main('validate');
    assert.notEqual(bg.status, 0);
    assert.match(bg.stdout + bg.stderr, /"Blue" repeats item 1/);
  });

  it('one version, one service: 1.0.0+build.2 and a look-alike name do not release 1.0.0 again from other code', () => {
    const { dir, git, cli } = repo(plan());
    const first = cli('run', '--yes');
    assert.equal(first.status, 0, first.stdout + first.stderr);
    write(dir, 'f', 'other code\n');
    git('add', 'f');
    git('commit', '-qm', 'fix: other code');
    // Build metadata is not part of the version (semver precedence): 1.0.0+build.2 is 1.0.0.
    write(dir, '.release/plan.yaml', plan({ version: '1.0.0+build.2' }));
    git('commit', '-qam', 'chore: build metadata');
    const again = cli('run', '--yes');
    assert.notEqual(again.status, 0, again.stdout);
    assert.match(
      again.stdout + again.stderr,
      /svc 1\.0\.0 was released to production in run \S+ from commit \w+, and 1\.0\.0\+build\.2 is the same version \(build metadata aside\), so it does not start again/,
    );
    // A name in Cyrillic look-alikes is refused at its line before anything runs.
    write(dir, '.release/plan.yaml', plan({ name: '\u0455vc', version: '1.0.0' }));
    git('commit', '-qam', 'chore: rename');
    const renamed = cli('run', '--yes');
    assert.equal(renamed.status, 2, renamed.stdout + renamed.stderr);
    assert.match(renamed.stdout + renamed.stderr, /plan\.yaml:2:\d+: expected a name without look-alike characters: "\u0455" \(U\+0455\)/);
    const runs = fs.readdirSync(path.join(dir, '.release/runs'));
    const released = runs.filter((r) => fs.readFileSync(path.join(dir, '.release/runs', r, 'journal.jsonl'), 'utf8').includes('"release.finished"'));
    assert.equal(released.length, 1, `one release of 1.0.0, not ${released.length}: ${runs.join(', ')}`);
  });

  /** A repository released to staging (its own plan and live colour), then to production: built once, a fresh copy for each test. */
  function stagingThenProduction() {
    stagingThenProductionOnce ??= (() => {
      const { dir, git, cli } = repo(plan());
      // Staging is its own place: its own live colour beside production's.
      write(dir, '.release/staging.yaml', plan({ environment: 'staging' }).replaceAll('state/active', 'state/staging-active'));
      write(dir, 'state/staging-active', 'blue\n');
      git('add', '-A');
      git('commit', '-qm', 'chore: staging plan');
      const s1 = cli('run', '--yes', '--plan', '.release/staging.yaml');
      assert.equal(s1.status, 0, s1.stdout + s1.stderr);
      const staging = fs.readdirSync(path.join(dir, '.release/runs'))[0];
      const p = cli('run', '--yes');
      assert.equal(p.status, 0, p.stdout + p.stderr);
      return { dir, staging };
    })();
    const dir = copyDir(stagingThenProductionOnce.dir, 'rp-gm-');
    const cli = (...args: string[]) => spawnSync('node', [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    return { dir, git: gitIn(dir), cli, staging: stagingThenProductionOnce.staging };
  }
  let stagingThenProductionOnce: { dir: string; staging: string } | undefined;

  it('a production run does not supersede a staging run', () => {
    const { cli, staging } = stagingThenProduction();
    const rb = cli('rollback', staging, '--yes', '--plan', '.release/staging.yaml');
    assert.match(rb.stdout, /■ rolled-back/, rb.stdout + rb.stderr);
    assert.doesNotMatch(rb.stdout + rb.stderr, /superseded/);
  });

  it('a newer staging run supersedes the staging run before it, over a production run between', () => {
    const { dir, git, cli, staging } = stagingThenProduction();
    const runs = () => fs.readdirSync(path.join(dir, '.release/runs')).sort();
    write(dir, '.release/staging.yaml', plan({ environment: 'staging', version: '1.0.1' }));
    git('commit', '-qam', 'fix: 1.0.1');
    assert.equal(cli('run', '--yes', '--plan', '.release/staging.yaml').status, 0);
    const newer = runs().filter((r) => r > staging && !fs.readFileSync(path.join(dir, '.release/runs', r, 'journal.jsonl'), 'utf8').includes('"production"'));
    const again = cli('rollback', staging, '--yes', '--plan', '.release/staging.yaml');
    assert.notEqual(again.status, 0);
    assert.match(again.stdout + again.stderr, new RegExp(`superseded by the newer run ${newer.at(-1)} \\(1\\.0\\.1`));
  });
});
