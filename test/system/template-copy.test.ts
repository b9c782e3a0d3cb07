import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import { ROOT, gitRepo, tempDir, write } from '../support/helpers';

/**
 * Every template's first step copies the release's TAG and runs the project's BUILD in the copy: the
 * step's own commands, as the template writes them, run by bash in a real repository whose HEAD is a
 * commit past the tag (and whose working tree is changed too). What runs is the tagged version, built;
 * a redeploy of an older version copies that version. systemd itself does not run here (no systemd as
 * PID 1): the systemd template's copy and build are checked as the others', its unit by the guide.
 */
const TEMPLATES = fs.readdirSync(path.join(ROOT, 'templates')).filter((f) => f.endsWith('.yaml'));

interface Template {
  variables: Record<string, string>;
  env: Record<string, string>;
  phases: { preparation: { steps: { name: string; run: string }[] } };
}

/** The template's copy step, its `${release.version}` and the env block's `${var.X}` resolved as the plan resolves them. */
function copyStep(file: string, version: string, values: Record<string, string>): { run: string; env: Record<string, string> } {
  const t = parse(fs.readFileSync(path.join(ROOT, 'templates', file), 'utf8')) as Template;
  const step = t.phases.preparation.steps.find((s) => /^Copy /.test(s.name)) ?? assert.fail(`${file}: no Copy step in preparation`);
  const vars = { ...t.variables, ...values };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(t.env))
    env[k] = v.replace(/\$\{var\.(\w+)\}/g, (_, n: string) => vars[n] ?? assert.fail(`${file}: env ${k} names ${n}, which is not a variable`));
  const run = step.run.replaceAll('${release.version}', version);
  assert.doesNotMatch(run, /\$\{(?!PLAN_)[a-z]/, `${file}: the copy step uses only \${release.version}`);
  return { run, env };
}

describe('templates: a release runs a copy of its tag, built by the project’s own step', () => {
  for (const file of TEMPLATES)
    describe(file, () => {
      let repo: string;
      let state: string;
      /** The step run in the repository for `version`; the folder it made. */
      const copy = (version: string) => {
        const { run, env } = copyStep(file, version, {
          BUILD: 'npm --version > /dev/null && echo "built $(cat VERSION)" > BUILT',
          STATE_DIR: state,
          RELEASES: state,
        });
        const r = spawnSync('bash', ['-c', run], { cwd: repo, encoding: 'utf8', env: { ...process.env, ...env } });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        return path.join(state, 'releases', version);
      };

      beforeEach(() => {
        repo = tempDir('rp-tpl-copy-');
        state = tempDir('rp-tpl-state-');
        const git = gitRepo(repo);
        write(repo, 'VERSION', '1.0.0\n');
        git('add', '-A');
        git('commit', '-qm', 'feat: 1.0.0');
        git('tag', 'v1.0.0');
        write(repo, 'VERSION', '1.1.0\n');
        git('commit', '-qam', 'feat: 1.1.0');
        git('tag', 'v1.1.0');
        // HEAD goes on past the last tag, and the working tree is changed too.
        write(repo, 'VERSION', 'unreleased\n');
        git('commit', '-qam', 'feat: not released yet');
        write(repo, 'VERSION', 'edited\n');
      });

      it('copies the tag, not HEAD nor the working tree, and builds the copy', () => {
        const dir = copy('1.1.0');
        assert.equal(fs.readFileSync(path.join(dir, 'VERSION'), 'utf8'), '1.1.0\n');
        assert.equal(fs.readFileSync(path.join(dir, 'BUILT'), 'utf8'), 'built 1.1.0\n');
        assert.ok(!fs.existsSync(path.join(repo, 'BUILT')), 'the build ran in the copy, not in the repository');
      });

      it('a redeploy of an older version copies that version', () => {
        copy('1.1.0');
        const dir = copy('1.0.0');
        assert.equal(fs.readFileSync(path.join(dir, 'BUILT'), 'utf8'), 'built 1.0.0\n');
      });

      it('a failed build leaves no copy behind that a later release would take as built', () => {
        const { run, env } = copyStep(file, '1.1.0', { BUILD: 'exit 7', STATE_DIR: state, RELEASES: state });
        const r = spawnSync('bash', ['-c', run], { cwd: repo, encoding: 'utf8', env: { ...process.env, ...env } });
        assert.notEqual(r.status, 0);
        assert.ok(!fs.existsSync(path.join(state, 'releases', '1.1.0')), 'no releases/1.1.0');
        assert.equal(fs.readFileSync(path.join(copy('1.1.0'), 'BUILT'), 'utf8'), 'built 1.1.0\n', 'the next attempt builds it');
      });

      it('a version without a tag is refused, and nothing is copied', () => {
        const { run, env } = copyStep(file, '2.0.0', { STATE_DIR: state, RELEASES: state });
        const r = spawnSync('bash', ['-c', run], { cwd: repo, encoding: 'utf8', env: { ...process.env, ...env } });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /v2\.0\.0/);
        assert.ok(!fs.existsSync(path.join(state, 'releases', '2.0.0')));
      });
    });
});
