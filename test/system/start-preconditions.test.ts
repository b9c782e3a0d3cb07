import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { gitRepo, ROOT, tempDir, write } from '../support/helpers';
import { smallPlan, workspace } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** The CLI, as a person runs it, in the workspace's folder. */
function cli(dir: string, planFile: string, ...args: string[]) {
  const r = spawnSync('node', [CLI, ...args, '--plan', planFile], { encoding: 'utf8', cwd: dir, timeout: 50_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The small plan whose rollback goes back to `${release.previousVersion}`, in a git repository with one commit and no tag. */
function firstReleaseWorkspace(version = '1.2.3') {
  const plan = smallPlan({
    rollback: `    - name: back to \${release.previousVersion}
      run: cp '\${backup.path}' state.txt && echo "back to \${release.previousVersion}" > rolled.txt`,
  }).replace('version: 1.2.3', `version: ${version}`);
  const ws = workspace(plan);
  write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
  const git = gitRepo(ws.dir);
  git('add', '-A');
  git('commit', '-qm', 'feat: the first orders API');
  return { ws, git, plan };
}

const noPrevious = /\$\{release\.previousVersion\} has no value: no released run of this plan in \.release\/runs and no earlier version tag matching "v\*"/;

describe('a right plan in a workspace without history: a start precondition, not a plan error', function () {
  this.timeout(120_000);

  it('validate: valid, exit 0, with a warning that run refuses until a previous version exists', () => {
    const { ws } = firstReleaseWorkspace();
    const r = cli(ws.dir, ws.planFile, 'validate');
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /plan\.yaml: valid \(tiny 1\.2\.3 → production/);
    assert.match(r.err, /^warning: .*plan\.yaml:\d+:\d+: \$\{release\.previousVersion\} has no value/m);
    assert.match(r.err, /`run` refuses until it holds; the plan itself is valid/);
  });

  it('the dry run: shows every command, a placeholder for the previous version, the same warning, exit 0', () => {
    const { ws } = firstReleaseWorkspace();
    const r = cli(ws.dir, ws.planFile, 'run', '--dry-run');
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /R1\. back to <previous version: none yet>: \$ cp /);
    assert.match(r.out, /^Dry run of tiny 1\.2\.3 → production/m);
    assert.match(r.err, noPrevious);
    assert.ok(!fs.existsSync(path.join(ws.dir, 'prepared.txt')), 'nothing ran');
  });

  it('run: still refused, exit 1, before anything runs; a tag of an earlier version lets it start', () => {
    const { ws, git } = firstReleaseWorkspace();
    const r = cli(ws.dir, ws.planFile, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, noPrevious);
    assert.ok(!fs.existsSync(path.join(ws.dir, 'prepared.txt')), 'nothing ran');
    assert.ok(!fs.existsSync(path.join(ws.dir, '.release/runs')), 'no run');
    git('tag', 'v1.2.2', 'HEAD');
    write(ws.dir, 'src/a.js', '1;\n');
    git('add', '-A');
    git('commit', '-qm', 'fix: a rounding');
    const v = cli(ws.dir, ws.planFile, 'validate');
    assert.equal(v.code, 0, v.err);
    assert.ok(!/previousVersion/.test(v.err), v.err);
    const dry = cli(ws.dir, ws.planFile, 'run', '--dry-run');
    assert.match(dry.out, /R1\. back to 1\.2\.2: /);
  });

  it('a plan error is still a plan error: validate exits 1, the dry run 2, naming the line', () => {
    const { ws } = firstReleaseWorkspace();
    fs.writeFileSync(ws.planFile, fs.readFileSync(ws.planFile, 'utf8').replace('back to ${release.previousVersion}"', 'back to ${release.previousVersoin}"'));
    const v = cli(ws.dir, ws.planFile, 'validate');
    assert.equal(v.code, 1, v.out + v.err);
    assert.match(v.err, /unknown reference "\$\{release\.previousVersoin\}"; did you mean "\$\{release\.previousVersion\}"\?/);
    const d = cli(ws.dir, ws.planFile, 'run', '--dry-run');
    assert.equal(d.code, 2, d.out + d.err);
  });

  it('examples/fleet in a fresh clone (no runs, no tags): validate and the dry run pass with the warning', () => {
    const dir = tempDir('rp-fleet-clone-');
    fs.cpSync(path.join(ROOT, 'examples', 'fleet', '.release'), path.join(dir, '.release'), { recursive: true });
    const git = gitRepo(dir);
    git('add', '-A');
    git('commit', '-qm', 'chore: the fleet plan');
    const planFile = path.join(dir, '.release', 'plan.yaml');
    const v = cli(dir, planFile, 'validate');
    assert.equal(v.code, 0, v.out + v.err);
    assert.match(v.err, noPrevious);
    const d = cli(dir, planFile, 'run', '--dry-run');
    assert.equal(d.code, 0, d.out + d.err);
    assert.match(d.out, /previous_version=<previous version: none yet>/);
  });
});

describe('version: auto with nothing user-facing since the previous release', function () {
  this.timeout(120_000);

  /** v1.2.1 tagged, then only commits of hidden types. */
  function hiddenOnly(extra = '') {
    const ws = workspace(smallPlan({ extra }).replace('version: 1.2.3', 'version: auto').replace('grep -q 1.2.3 deployed.txt', 'test -s deployed.txt'));
    write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
    const git = gitRepo(ws.dir);
    git('add', '-A');
    git('commit', '-qm', 'feat: orders');
    git('tag', 'v1.2.1');
    for (const [i, type] of ['chore', 'docs', 'ci', 'test', 'style', 'build'].entries()) {
      write(ws.dir, `f${i}.md`, `${i}\n`);
      git('add', '-A');
      git('commit', '-qm', `${type}: housekeeping ${i}`);
    }
    return { ws, git };
  }
  const nothing =
    /version auto: no user-facing change since v1\.2\.1 \(6 commit\(s\) of hidden types \(build 1, chore 1, ci 1, docs 1, style 1, test 1\)\), so there is no version to propose/;

  it('run is refused before anything runs, saying so and how to release anyway; validate and the dry run warn', () => {
    const { ws } = hiddenOnly();
    const r = cli(ws.dir, ws.planFile, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, nothing);
    assert.match(r.err, /set release\.version to the version to release \(such as 1\.2\.2\), or changelog\.noUserFacingChange: patch/);
    assert.ok(!fs.existsSync(path.join(ws.dir, '.release/runs')), 'no run');
    assert.ok(!fs.existsSync(path.join(ws.dir, 'prepared.txt')), 'nothing ran');
    const v = cli(ws.dir, ws.planFile, 'validate');
    assert.equal(v.code, 0, v.out + v.err);
    assert.match(v.err, nothing);
    const d = cli(ws.dir, ws.planFile, 'run', '--dry-run');
    assert.equal(d.code, 0, d.out + d.err);
    assert.match(d.err, nothing);
  });

  it('one user-facing commit among them proposes the patch, as before; the plan may ask for a patch without one', () => {
    const { ws, git } = hiddenOnly();
    write(ws.dir, 'src/fix.js', '1;\n');
    git('add', '-A');
    git('commit', '-qm', 'fix: totals rounded to the cent');
    const d = cli(ws.dir, ws.planFile, 'run', '--dry-run');
    assert.equal(d.code, 0, d.err);
    assert.match(d.out, /^Dry run of tiny 1\.2\.2 → production/m);
    assert.ok(!/no user-facing/.test(d.err), d.err);

    const asked = hiddenOnly('changelog:\n  noUserFacingChange: patch\n');
    const a = cli(asked.ws.dir, asked.ws.planFile, 'run', '--dry-run');
    assert.equal(a.code, 0, a.err);
    assert.match(a.out, /^Dry run of tiny 1\.2\.2 → production/m);
    assert.ok(!/no user-facing/.test(a.err), a.err);
    const run = cli(asked.ws.dir, asked.ws.planFile, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(run.code, 0, run.out + run.err);
    assert.match(fs.readFileSync(path.join(asked.ws.dir, 'deployed.txt'), 'utf8'), /version 1\.2\.2/);
  });
});
