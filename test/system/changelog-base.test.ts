import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { gitRepo, ROOT, write } from '../support/helpers';
import { journalLines, smallPlan, workspace, type Workspace } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** The CLI, as a person runs it in the workspace (no terminal: --yes answers). */
function cli(ws: Workspace, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args, '--plan', ws.planFile], { encoding: 'utf8', cwd: ws.dir, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The plan file at `version` (the verification reads that something was deployed, whatever the version). */
function setVersion(ws: Workspace, version: string): void {
  const text = fs.readFileSync(ws.planFile, 'utf8').replace(/^( {2}version: ).*$/m, `$1${version}`);
  fs.writeFileSync(ws.planFile, text);
}

/** The changelog a run journaled at its start. */
function changelogOf(ws: Workspace, runId: string) {
  return journalLines(ws, runId).find((e) => e.type === 'changelog.generated') as {
    previousTag: string | null;
    version: string;
    sections: Record<string, string[]>;
  };
}

const runIdOf = (out: string) => /journal: .*runs\/([^/]+)\/journal\.jsonl/.exec(out)?.[1] ?? assert.fail(`no journal path in:\n${out}`);

/**
 * 1.1.0 released (tag v1.1.0); then `feat: refunds` with its migration, tagged v1.2.0, released and rolled
 * back by its guard. What serves is 1.1.0 again: the refunds feature has never reached production.
 */
function rolledBackRelease(version: '1.1.0' | 'auto') {
  const plan = smallPlan().replace('version: 1.2.3', `version: ${version}`).replace('grep -q 1.2.3 deployed.txt', 'test -s deployed.txt');
  const ws = workspace(plan);
  write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
  const git = gitRepo(ws.dir);
  git('add', '-A');
  git('commit', '-qm', 'feat: orders API');
  git('tag', 'v1.1.0');
  const first = cli(ws, 'run', '--yes', '--tick', 'sign-off');
  assert.equal(first.code, 0, first.out + first.err);
  write(ws.dir, 'migrations/002.sql', 'alter table orders add refunded boolean;\n');
  if (version !== 'auto') setVersion(ws, '1.2.0');
  git('add', '-A');
  git('commit', '-qm', 'feat: refunds');
  git('tag', 'v1.2.0');
  fs.writeFileSync(path.join(ws.dir, 'health.txt'), '0\n');
  const bad = cli(ws, 'run', '--yes', '--tick', 'sign-off');
  assert.equal(bad.code, 3, `1.2.0 is rolled back by its guard:\n${bad.out}${bad.err}`);
  fs.writeFileSync(path.join(ws.dir, 'health.txt'), '1\n');
  return { ws, git };
}

describe('the changelog of a release starts at the version that stayed in production (real CLI, real git)', function () {
  // Each release runs every phase and a one-second monitoring window through the real CLI.
  this.timeout(180_000);

  it('1.2.1 after a rolled-back 1.2.0: New lists the 1.2.0 feature, its base is v1.1.0, not v1.2.0', () => {
    const { ws, git } = rolledBackRelease('1.1.0');
    setVersion(ws, '1.2.1');
    git('add', '-A');
    git('commit', '-qm', 'fix: refunds rounded to the cent');
    git('tag', 'v1.2.1');
    const r = cli(ws, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(r.code, 0, r.out + r.err);
    const cl = changelogOf(ws, runIdOf(r.out));
    assert.equal(cl.previousTag, 'v1.1.0', 'the base is the version live before this release');
    assert.deepEqual(cl.sections.Added, ['refunds']);
    assert.deepEqual(cl.sections.Fixed, ['refunds rounded to the cent']);
    assert.match(r.out, /\*\*New\*\*: refunds/);
    assert.ok(!/\*\*New\*\*: None/.test(r.out), r.out);
    const report = fs.readFileSync(path.join(ws.dir, '.release/runs', runIdOf(r.out), 'report.md'), 'utf8');
    assert.match(report, /\*\*New\*\*: refunds/);
  });

  it('version auto after a rolled-back 1.2.0: the number goes on from v1.2.0 (1.2.1), the changelog from v1.1.0', () => {
    const { ws, git } = rolledBackRelease('auto');
    write(ws.dir, 'src/round.js', 'round();\n');
    git('add', '-A');
    git('commit', '-qm', 'fix: refunds rounded to the cent');
    const d = cli(ws, 'run', '--dry-run');
    assert.equal(d.code, 0, d.out + d.err);
    assert.match(d.out, /^Dry run of tiny 1\.2\.1 → production/m, 'not 1.2.0 again (its tag names other code), not 1.3.0');
    const r = cli(ws, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(r.code, 0, r.out + r.err);
    const cl = changelogOf(ws, runIdOf(r.out));
    assert.equal(cl.version, '1.2.1');
    assert.equal(cl.previousTag, 'v1.1.0');
    assert.deepEqual(cl.sections.Added, ['refunds']);
    assert.deepEqual(cl.sections.Fixed, ['refunds rounded to the cent']);
  });

  it('version auto with only housekeeping since the rolled-back v1.2.0 still proposes 1.2.1: its feature reaches production now', () => {
    const { ws, git } = rolledBackRelease('auto');
    write(ws.dir, 'docs.md', 'notes\n');
    git('add', '-A');
    git('commit', '-qm', 'docs: refunds explained');
    const d = cli(ws, 'run', '--dry-run');
    assert.equal(d.code, 0, d.out + d.err);
    assert.ok(!/no user-facing change/.test(d.err), d.err);
    assert.match(d.out, /^Dry run of tiny 1\.2\.1 → production/m);
  });

  it('with no run that served, the base stays the previous tag', () => {
    const ws = workspace(smallPlan().replace('version: 1.2.3', 'version: auto').replace('grep -q 1.2.3 deployed.txt', 'test -s deployed.txt'));
    write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
    const git = gitRepo(ws.dir);
    git('add', '-A');
    git('commit', '-qm', 'feat: orders API');
    git('tag', 'v1.1.0');
    write(ws.dir, 'src/a.js', '1;\n');
    git('add', '-A');
    git('commit', '-qm', 'feat: refunds');
    const r = cli(ws, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(r.code, 0, r.out + r.err);
    const cl = changelogOf(ws, runIdOf(r.out));
    assert.equal(cl.version, '1.2.0');
    assert.equal(cl.previousTag, 'v1.1.0');
    assert.deepEqual(cl.sections.Added, ['refunds']);
  });
});
