import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Release } from '../../src/core/engine/run/engine';
import { SecretMasker } from '../../src/core/exec/mask';
import type { NewEvent } from '../../src/core/model/events';
import { gitRepo, ROOT, write } from '../support/helpers';
import { atVersion, refusedStart, scripted, smallPlan, workspace, type Workspace } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** A plan that deploys the image CI names (`IMAGE_TAG`, `GITHUB_SHA`) and rolls back to the previous version. */
function ciPlan(notSecret?: string): string {
  return smallPlan({
    deploy: `    steps:
      - name: deploy
        run: echo "deploying tiny:\${env:IMAGE_TAG} at \${env:GITHUB_SHA}"; echo "version \${release.version}" > deployed.txt; test ! -f fail-deploy`,
    rollback: `    - name: restore
      run: echo "rollback to tiny:\${release.previousVersion}"`,
  }).replace('secrets: [TINY_TOKEN]', `secrets: [TINY_TOKEN]${notSecret ? `\nnotSecret: ${notSecret}` : ''}`);
}

/** A git workspace at its first commit, tagged v1.2.2 (the previous version). */
function ciWorkspace(notSecret?: string): { ws: Workspace; git: (...a: string[]) => string } {
  const ws = workspace(ciPlan(notSecret));
  write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\nfail-deploy\n');
  const git = gitRepo(ws.dir);
  git('add', '-A');
  git('commit', '-qm', 'feat: first');
  git('tag', 'v1.2.2');
  return { ws, git };
}

describe('§5 secrets: a masked value never rewrites the journal’s own record', function () {
  this.timeout(180_000);

  it('refuses IMAGE_TAG equal to the version, naming the variable and not the value; nothing is written', async () => {
    const { ws, git } = ciWorkspace();
    const e = await refusedStart(Release.start(ws.options({ env: { ...process.env, IMAGE_TAG: '1.2.3', GITHUB_SHA: 'not-the-commit' } })), {
      says: /IMAGE_TAG is the same as the version/,
      hides: '1.2.3',
      nothingWrittenIn: ws.dir,
    });
    assert.match(e.message, /notSecret:/);
    void git;
  });

  for (const [label, take] of [
    ['full', (c: string) => c],
    ['short (7)', (c: string) => c.slice(0, 7)],
    ['short (12)', (c: string) => c.slice(0, 12)],
  ] as const)
    it(`refuses GITHUB_SHA equal to the ${label} commit, naming the variable`, async () => {
      const { ws, git } = ciWorkspace();
      const head = git('rev-parse', 'HEAD');
      await refusedStart(Release.start(ws.options({ env: { ...process.env, IMAGE_TAG: 'img-9f8e7d', GITHUB_SHA: take(head) } })), {
        says: /GITHUB_SHA is the same as the commit/,
        hides: head.slice(0, 7),
      });
    });

  it('refuses a secret equal to the run id, or to the release name, naming it', async () => {
    const { ws } = ciWorkspace();
    const env = { ...process.env, IMAGE_TAG: 'img-9f8e7d', GITHUB_SHA: 'sha-4c3b2a' };
    await refusedStart(Release.start(ws.options({ runId: 'run-s3cr3t-42', env: { ...env, TINY_TOKEN: 's3cr3t-42' } })), {
      says: /TINY_TOKEN is the same as the run id/,
    });
    await refusedStart(Release.start(ws.options({ env: { ...env, TINY_TOKEN: 'tiny' } })), { says: /TINY_TOKEN is the same as the release name/ });
  });

  it('with notSecret: [IMAGE_TAG, GITHUB_SHA]: history and report say v1.2.3, the next rollback goes to tiny:1.2.3, and 1.2.3 again from another commit is refused', async () => {
    const { ws, git } = ciWorkspace('[IMAGE_TAG, GITHUB_SHA]');
    const head = git('rev-parse', 'HEAD');
    const first = await (await Release.start(ws.options({ env: { ...process.env, IMAGE_TAG: '1.2.3', GITHUB_SHA: head } }))).run();
    assert.equal(first.status, 'released', first.outcomeMessage);
    assert.equal(first.version, '1.2.3');
    assert.equal(first.commit, head);
    const runDir = path.join(ws.dir, '.release/runs', first.runId);
    const started = JSON.parse(fs.readFileSync(path.join(runDir, 'journal.jsonl'), 'utf8').split('\n')[0]) as Record<string, unknown>;
    assert.equal(started.version, '1.2.3');
    assert.equal(started.commit, head);
    assert.match(fs.readFileSync(path.join(runDir, 'report.md'), 'utf8'), /v1\.2\.3/);
    const deployLog = fs.readdirSync(path.join(runDir, 'logs')).find((f) => f.startsWith('deploy'))!;
    assert.match(fs.readFileSync(path.join(runDir, 'logs', deployLog), 'utf8'), new RegExp(`deploying tiny:1\\.2\\.3 at ${head}`));
    const history = spawnSync('node', [CLI, 'history', '--plan', ws.planFile], {
      cwd: ws.dir,
      encoding: 'utf8',
      env: { ...process.env, IMAGE_TAG: '1.2.3', GITHUB_SHA: head },
    });
    assert.match(history.stdout, /1\.2\.3/, history.stdout + history.stderr);
    assert.ok(!history.stdout.includes('***'), history.stdout);

    // The next release fails its deploy: its rollback goes back to the version before it.
    write(ws.dir, 'fail-deploy', 'x');
    git('commit', '-q', '--allow-empty', '-m', 'feat: next');
    const second = await (
      await Release.start(
        atVersion(ws, '1.2.4', {
          prompter: scripted({ failure: [{ action: 'rollback' }] }),
          env: { ...process.env, IMAGE_TAG: '1.2.4', GITHUB_SHA: git('rev-parse', 'HEAD') },
        }),
      )
    ).run();
    assert.equal(second.status, 'rolled-back', second.outcomeMessage);
    const rollbackDir = path.join(ws.dir, '.release/runs', second.runId, 'logs');
    const restore = fs.readdirSync(rollbackDir).find((f) => f.startsWith('rollback'))!;
    assert.equal(fs.readFileSync(path.join(rollbackDir, restore), 'utf8'), 'rollback to tiny:1.2.3\n');

    // 1.2.3 again from another commit: refused, as the released run's version is 1.2.3.
    git('commit', '-q', '--allow-empty', '-m', 'feat: other');
    await refusedStart(Release.start(atVersion(ws, '1.2.3', { env: { ...process.env, IMAGE_TAG: '1.2.3', GITHUB_SHA: git('rev-parse', 'HEAD') } })), {
      says: /tiny 1\.2\.3 was released to production in run/,
    });
  });

  it('the journal masks the free text of an event and leaves its record (type, version, commit, ids, names) as it is', () => {
    const masker = new SecretMasker(['tiny-s3cr3t']);
    const started = {
      type: 'release.started',
      runId: 'r-tiny-s3cr3t',
      plan: 'p',
      name: 'tiny-s3cr3t',
      version: 'tiny-s3cr3t',
      environment: 'production',
      user: 'u',
      host: 'h',
      pid: 1,
      planHash: 'x',
    } as NewEvent;
    assert.deepEqual(masker.maskEvent(started), started);
    const finished = {
      type: 'step.finished',
      step: 'tiny-s3cr3t',
      ok: false,
      message: 'said tiny-s3cr3t',
      tail: "+ : 'tiny-s3cr3t'",
      exitCode: 1,
      signal: null,
      durationMs: 1,
      timedOut: false,
      cancelled: false,
    } as NewEvent;
    assert.deepEqual(masker.maskEvent(finished), { ...finished, message: 'said ***', tail: "+ : '***'" });
  });
});
