import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { checkGitGate } from '../../src/core/git/gate';
import { ensureToolIgnored, TOOL_PATHS } from '../../src/core/git/ignore';
import { Release } from '../../src/core/engine/run/engine';
import { loadRun } from '../../src/core/engine/queries/runs';
import { foldJournal } from '../../src/core/model/releaseState';
import { renderMarkdown, buildReport } from '../../src/core/report/report';
import { ROOT, gitRepo, tempDir, write } from '../support/helpers';
import { smallPlan, workspace, journalLines } from '../support/fixtures';

const GATE = { branch: 'main', clean: true, tagAtHead: true, tagMatchesVersion: true, wantedTag: 'v1.1.0' };
type Git = (...args: string[]) => string;

/** A bare "remote", a clone of it on main with one pushed, tagged commit. */
function clonedRepo(): { dir: string; git: Git; remote: string } {
  const remote = tempDir('rp-remote-');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', remote]);
  const dir = tempDir('rp-clone-');
  const git = gitRepo(dir);
  write(dir, 'app.js', 'v1\n');
  git('add', '-A');
  git('commit', '-qm', 'feat: first');
  git('remote', 'add', 'origin', remote);
  git('push', '-q', '-u', 'origin', 'main');
  git('tag', 'v1.1.0');
  return { dir, git, remote };
}

const commitFile = (git: Git, dir: string, name: string, msg: string) => {
  write(dir, name, `${msg}\n`);
  git('add', name);
  git('commit', '-qm', msg);
};

describe('git gate: merged into main, clean, tagged (real repositories)', () => {
  it('passes a pushed, tagged, clean HEAD and names the remote branch it checked', async () => {
    const { dir } = clonedRepo();
    const r = await checkGitGate(dir, GATE);
    assert.equal(r.ok, true, r.detail);
    assert.match(r.detail, /is in origin\/main/);
  });

  it('refuses a commit that is on local main but not pushed, naming origin/main', async () => {
    const { dir, git } = clonedRepo();
    commitFile(git, dir, 'b.js', 'fix: local only');
    git('tag', '-f', 'v1.1.0');
    const r = await checkGitGate(dir, GATE);
    assert.equal(r.ok, false);
    assert.match(r.detail, /HEAD [0-9a-f]{12} is not in origin\/main \(as of the last fetch/);
  });

  it('refuses a feature branch with a main-like name whose commit is not in main', async () => {
    for (const name of ['main-fix', 'mainline', 'origin/main', 'remotes/origin/main']) {
      const { dir, git } = clonedRepo();
      git('checkout', '-qb', name);
      commitFile(git, dir, 'f.js', `feat: on ${name}`);
      git('tag', '-f', 'v1.1.0');
      const r = await checkGitGate(dir, GATE);
      assert.equal(r.ok, false, `${name}: ${r.detail}`);
      assert.match(r.detail, /is not in origin\/main/, name);
    }
  });

  it('a tag or a local branch named like the remote branch cannot stand in for it', async () => {
    const { dir, git } = clonedRepo();
    git('checkout', '-qb', 'work');
    commitFile(git, dir, 'w.js', 'feat: work');
    git('tag', 'main');
    git('branch', 'origin/main');
    git('tag', '-f', 'v1.1.0');
    const r = await checkGitGate(dir, GATE);
    assert.equal(r.ok, false, r.detail);
    assert.match(r.detail, /is not in origin\/main/);
  });

  it('passes a detached HEAD on the release tag whose commit is in origin/main', async () => {
    const { dir, git } = clonedRepo();
    commitFile(git, dir, 'c.js', 'feat: next');
    git('push', '-q', 'origin', 'main');
    git('checkout', '-q', 'v1.1.0');
    const r = await checkGitGate(dir, GATE);
    assert.equal(r.ok, true, r.detail);
  });

  it('refuses a detached HEAD on a commit that is in no main branch', async () => {
    const { dir, git } = clonedRepo();
    git('checkout', '-q', '--detach');
    commitFile(git, dir, 'd.js', 'feat: detached');
    git('tag', '-f', 'v1.1.0');
    const r = await checkGitGate(dir, GATE);
    assert.equal(r.ok, false);
    assert.match(r.detail, /is not in origin\/main/);
  });

  it('passes a feature branch whose commit was merged into origin/main', async () => {
    const { dir, git } = clonedRepo();
    git('checkout', '-qb', 'feature');
    commitFile(git, dir, 'e.js', 'feat: merged');
    git('push', '-q', 'origin', 'feature:main');
    git('fetch', '-q', 'origin');
    git('tag', '-f', 'v1.1.0');
    const r = await checkGitGate(dir, GATE);
    assert.equal(r.ok, true, r.detail);
  });

  it('without a remote, checks the local branch and says so; with no such branch, says that', async () => {
    const dir = tempDir('rp-local-');
    const git = gitRepo(dir);
    commitFile(git, dir, 'a.js', 'feat: a');
    git('tag', 'v1.1.0');
    const ok = await checkGitGate(dir, GATE);
    assert.equal(ok.ok, true, ok.detail);
    assert.match(ok.detail, /is in main\b/);
    const none = await checkGitGate(dir, { ...GATE, branch: 'trunk' });
    assert.equal(none.ok, false);
    assert.match(none.detail, /there is no branch trunk, local or remote/);
    const hostile = await checkGitGate(dir, { ...GATE, branch: '--output=/tmp/x' });
    assert.equal(hostile.ok, false);
    assert.match(hostile.detail, /there is no branch --output=\/tmp\/x/);
  });

  it('refuses a repository with no commit yet', async () => {
    const dir = tempDir('rp-empty-');
    gitRepo(dir);
    const r = await checkGitGate(dir, GATE);
    assert.deepEqual(r, { ok: false, detail: 'the repository has no commit yet' });
  });

  it('names the tag it expects, once, and where that tag points when it is elsewhere', async () => {
    const { dir, git } = clonedRepo();
    git('tag', '-d', 'v1.1.0');
    let r = await checkGitGate(dir, GATE);
    assert.equal(r.detail, 'HEAD is not tagged v1.1.0');
    git('tag', 'v1.1.0');
    commitFile(git, dir, 'n.js', 'fix: after tag');
    git('push', '-q', 'origin', 'main');
    r = await checkGitGate(dir, GATE);
    assert.match(r.detail, /^HEAD is not tagged v1\.1\.0 \(v1\.1\.0 points to [0-9a-f]{12}\)$/);
    git('tag', 'v1.0.9');
    r = await checkGitGate(dir, GATE);
    assert.match(r.detail, /^HEAD is tagged v1\.0\.9, expected v1\.1\.0 \(v1\.1\.0 points to [0-9a-f]{12}\)$/);
    assert.equal(r.detail.split('v1.1.0').length - 1, 2, 'the expected tag is named once, plus where it points');
  });

  describe("clean tree: the tool's own files are not changes", () => {
    it('ignores .release/lock, its temporary twin and .release/runs/ even when not gitignored', async () => {
      const { dir } = clonedRepo();
      write(dir, '.release/lock', '{"pid":1}');
      write(dir, '.release/lock.4242.tmp', '{}');
      write(dir, '.release/runs/20260101-000000-1.1.0/journal.jsonl', '{}\n');
      write(dir, '.release/runs/20260101-000000-1.1.0/logs/deploy.log', 'x\n');
      const r = await checkGitGate(dir, GATE);
      assert.equal(r.ok, true, r.detail);
    });

    it('still counts the plan, look-alike names and every other file', async () => {
      const cases: [string, RegExp][] = [
        ['.release/plan.yaml', /uncommitted changes in \.release\/(plan\.yaml)?/],
        ['.release/runs-notes.md', /uncommitted changes in \.release\//],
        ['.release/lockdown.txt', /uncommitted changes in \.release\//],
        ['release/runs/x.log', /uncommitted changes in release\//],
        ['we ird "name" ç.txt', /uncommitted changes in we ird "name" ç\.txt/],
        ['runs/.release/lock', /uncommitted changes in runs\//],
      ];
      for (const [file, re] of cases) {
        const { dir } = clonedRepo();
        write(dir, '.release/lock', '{}');
        write(dir, '.release/runs/r/journal.jsonl', '{}\n');
        write(dir, file, 'user content\n');
        const r = await checkGitGate(dir, GATE);
        assert.equal(r.ok, false, `${file}: ${r.detail}`);
        assert.match(r.detail, re, file);
      }
    });

    it('counts a modified tracked plan and a deleted tracked file', async () => {
      const { dir, git } = clonedRepo();
      write(dir, '.release/plan.yaml', 'release: {}\n');
      git('add', '-A');
      git('commit', '-qm', 'chore: plan');
      git('push', '-q', 'origin', 'main');
      git('tag', '-f', 'v1.1.0');
      write(dir, '.release/lock', '{}');
      assert.equal((await checkGitGate(dir, GATE)).ok, true);
      write(dir, '.release/plan.yaml', 'release: { name: changed }\n');
      fs.rmSync(path.join(dir, 'app.js'));
      const r = await checkGitGate(dir, GATE);
      assert.match(r.detail, /uncommitted changes in (\.release\/plan\.yaml, app\.js|app\.js, \.release\/plan\.yaml)/);
    });

    it('ignores the tool files of a workspace in a subfolder of the repository, not the rest of the repository', async () => {
      const { dir, git } = clonedRepo();
      write(dir, 'svc/.release/plan.yaml', 'release: {}\n');
      git('add', '-A');
      git('commit', '-qm', 'chore: plan');
      git('push', '-q', 'origin', 'main');
      git('tag', '-f', 'v1.1.0');
      const ws = path.join(dir, 'svc');
      write(ws, '.release/lock', '{}');
      write(ws, '.release/runs/r/journal.jsonl', '{}\n');
      assert.equal((await checkGitGate(ws, GATE)).ok, true);
      write(dir, 'other.txt', 'x');
      const r = await checkGitGate(ws, GATE);
      assert.match(r.detail, /uncommitted changes in other\.txt/);
    });
  });

  describe('the ignore entries written by Create Release Plan and the CLI', () => {
    it('adds each tool path once, keeps what is there, and is idempotent', () => {
      const dir = tempDir('rp-ign-');
      assert.deepEqual(ensureToolIgnored(dir), [...TOOL_PATHS]);
      assert.deepEqual(ensureToolIgnored(dir), []);
      assert.equal(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8'), '.release/lock\n.release/runs/\n');

      const other = tempDir('rp-ign-');
      write(other, '.gitignore', 'node_modules/\r\n/.release/runs');
      assert.deepEqual(ensureToolIgnored(other), ['.release/lock']);
      assert.equal(fs.readFileSync(path.join(other, '.gitignore'), 'utf8'), 'node_modules/\r\n/.release/runs\r\n.release/lock\r\n');
      assert.deepEqual(ensureToolIgnored(other), []);
    });
  });
});

describe('release commit: recorded at start, shown in the report, re-checked on resume (real repositories)', function () {
  this.timeout(120_000);
  /** A workspace that is a git repository on main, tagged v1.2.3, with the tool files ignored. */
  function taggedWorkspace() {
    const ws = workspace(smallPlan());
    write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\n');
    const git = gitRepo(ws.dir);
    git('add', '-A');
    git('commit', '-qm', 'feat: first');
    git('tag', 'v1.2.3');
    return { ws, git, sha: git('rev-parse', 'HEAD') };
  }

  it("records the full SHA in release.started and in the report's Release Log", async () => {
    const { ws, sha } = taggedWorkspace();
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.match(sha, /^[0-9a-f]{40}$/);
    const started = journalLines(ws, s.runId).find((e) => e.type === 'release.started')!;
    assert.equal(started.commit, sha);
    assert.equal(loadRun(ws.dir, s.runId).state.commit, sha);
    const md = fs.readFileSync(path.join(ws.dir, '.release/runs', s.runId, 'report.md'), 'utf8');
    assert.ok(md.includes(`- **Commit**: ${sha}\n`), md);
    assert.equal(JSON.parse(fs.readFileSync(path.join(ws.dir, '.release/runs', s.runId, 'report.json'), 'utf8')).releaseLog.commit, sha);
  });

  it('a journal without the field (an older run) still folds and reports, with no Commit line', () => {
    const s = foldJournal([
      {
        at: '2026-01-01T00:00:00.000Z',
        type: 'release.started',
        runId: 'r1',
        plan: '.release/plan.yaml',
        name: 'old',
        version: '1.0.0',
        environment: 'production',
        user: 'u',
        host: 'h',
        pid: 1,
        planHash: 'x',
      },
    ]);
    assert.equal(s.runId, 'r1');
    assert.equal(s.commit, undefined);
    assert.ok(!renderMarkdown(buildReport(s)).includes('**Commit**'));
  });

  it('resume refuses when the release tag moved, naming both SHAs, and goes on once it is back', async () => {
    const { ws, git, sha } = taggedWorkspace();
    const first = await (await Release.start(ws.options({ stopAfter: 'preparation' }))).run();
    assert.equal(first.status, 'paused');
    git('commit', '-q', '--allow-empty', '-m', 'fix: later');
    const later = git('rev-parse', 'HEAD');
    git('tag', '-f', 'v1.2.3');
    git('checkout', '-q', sha);
    const refused = await (await Release.reopen(ws.options(), first.runId)).run();
    assert.equal(refused.status, 'paused');
    assert.equal(
      refused.pausedAt!.message,
      `git gate: this release started from commit ${sha}, but its tag v1.2.3 now points to ${later}; put it back to resume, or start a new release`,
    );
    assert.equal(refused.gates.git.state, 'blocked');
    assert.ok(!fs.existsSync(path.join(ws.dir, 'deployed.txt')), 'nothing after preparation ran');

    git('checkout', '-q', 'main');
    git('tag', '-f', 'v1.2.3', sha);
    const head = await (await Release.reopen(ws.options(), first.runId)).run();
    assert.equal(head.status, 'paused');
    assert.match(head.pausedAt!.message, new RegExp(`started from commit ${sha}, but HEAD is now ${later}`));
    assert.ok(!fs.existsSync(path.join(ws.dir, 'deployed.txt')));

    git('checkout', '-q', sha);
    const done = await (await Release.reopen(ws.options(), first.runId)).run();
    assert.equal(done.status, 'released', done.outcomeMessage);
    assert.equal(done.gates.git.state, 'open');
  });
});

describe('git gate through the CLI (dist/cli.js)', function () {
  this.timeout(60_000);
  it('says once that HEAD is not tagged, naming the tag, and runs nothing', () => {
    const ws = workspace(smallPlan({ checklist: `  - id: main-tagged\n    title: Merged to main and tagged\n    git: {}` }));
    const git = gitRepo(ws.dir);
    git('add', '-A');
    git('commit', '-qm', 'feat: first');
    // Not gitignored on purpose: the run's own lock and journal must not make the tree dirty.
    const r = spawnSync('node', [path.join(ROOT, 'dist', 'cli.js'), 'run', '--yes', '--plan', ws.planFile], { encoding: 'utf8', timeout: 50_000 });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const progress = `${r.stdout.split('# Release report')[0]}\n${r.stderr}`;
    assert.deepEqual(
      progress.split('\n').filter((l) => l.includes('HEAD is not tagged')),
      ['✗ checklist: Merged to main and tagged — HEAD is not tagged v1.2.3'],
    );
    assert.match(progress, /■ aborted: checklist item "Merged to main and tagged" failed \(above\)/);
    assert.ok(!fs.existsSync(path.join(ws.dir, 'prepared.txt')));
  });

  it('with version auto, names the tag it expects and where its version came from, once', () => {
    const ws = workspace(
      smallPlan({ checklist: `  - id: main-tagged\n    title: Merged to main and tagged\n    git: {}` }).replace('version: 1.2.3', 'version: auto'),
    );
    const git = gitRepo(ws.dir);
    git('add', '-A');
    git('commit', '-qm', 'feat: first');
    git('tag', 'v1.0.0');
    write(ws.dir, 'x.js', '1');
    git('add', '-A');
    git('commit', '-qm', 'feat: second');
    const r = spawnSync('node', [path.join(ROOT, 'dist', 'cli.js'), 'run', '--yes', '--plan', ws.planFile], { encoding: 'utf8', timeout: 50_000 });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const progress = `${r.stdout.split('# Release report')[0]}\n${r.stderr}`;
    assert.deepEqual(
      progress.split('\n').filter((l) => l.includes('not tagged')),
      ['✗ checklist: Merged to main and tagged — HEAD is not tagged v1.1.0 (version auto: 1.1.0, proposed from the commits since v1.0.0)'],
    );
    assert.ok(!fs.existsSync(path.join(ws.dir, 'prepared.txt')));
  });
});
