import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { gitRepo, tempDir, write } from '../support/helpers';
import { GUIDE, cliBin, markedBlocks, needsServices, shBlocks } from '../support/guide';

/**
 * docs/guide.md stays true: its `sh` blocks marked `<!-- guide: run -->` that come before the first
 * release run, in order, in a fresh repository on branch main, with `release-pilot` on the PATH (the
 * built CLI). Each must exit 0. The blocks that release, roll back and read a run need nginx and
 * PostgreSQL: template-nginx-postgres.test.ts runs every marked block, those included.
 */

describe('docs/guide.md: the commands it marks run as written', function () {
  this.timeout(120_000);

  it('finds the marked blocks (init, validate, dry run; the release and the rollback rehearsal)', () => {
    const blocks = markedBlocks(fs.readFileSync(GUIDE, 'utf8'));
    assert.ok(blocks.length >= 2, `marked blocks: ${blocks.length}`);
    assert.match(blocks.join('\n'), /release-pilot init --template nginx-postgres/);
    assert.match(blocks.join('\n'), /release-pilot run --dry-run/);
    const released = blocks.filter(needsServices).join('\n');
    for (const cmd of [
      /^git tag v1\.0\.0$/m,
      /^release-pilot run/m,
      /^release-pilot rollback --reason "rehearsal"/m,
      /^release-pilot status$/m,
      /^release-pilot report$/m,
    ])
      assert.match(released, cmd);
  });

  it('every sh block of the guide is run, or says why not', () => {
    const unmarked = shBlocks().filter((b) => !b.marker || !/^<!-- guide: (run|not run \(.+\)) -->$/.test(b.marker));
    assert.deepEqual(unmarked, []);
  });

  it('runs each marked block in a fresh repository, in order, each exiting 0', () => {
    const dir = tempDir('rp-guide-');
    const repo = path.join(dir, 'repo');
    fs.mkdirSync(repo);
    const git = gitRepo(repo);
    write(repo, 'server.js', 'require("node:http").createServer((q, s) => s.end("ok")).listen(Number(process.env.PORT));\n');
    write(repo, 'db/migrations/001_init.sql', 'CREATE TABLE t (id int);\n');
    write(repo, 'qa/acceptance.md', 'Verdict: Ready for Launch\n');
    git('add', '-A');
    git('commit', '-qm', 'feat: the service');
    const bin = cliBin(dir);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG')));
    env.PATH = `${bin}:${process.env.PATH}`;
    const all = markedBlocks(fs.readFileSync(GUIDE, 'utf8'));
    const firstRelease = all.findIndex(needsServices);
    const blocks = firstRelease < 0 ? all : all.slice(0, firstRelease);
    // One shell for all blocks, as a reader types them into one terminal (an export carries on).
    const script = blocks.map((b, i) => `echo "--- block ${i + 1}"\n${b}`).join('\n');
    const r = spawnSync('bash', ['--norc', '-e', '-o', 'pipefail', '-c', script], { cwd: repo, env, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /\.release\/plan\.yaml: valid/);
    assert.match(r.stdout, /Dry run of my-service 1\.0\.0/);
    assert.doesNotMatch(r.stdout + r.stderr, /the-database-password/, 'the password from the environment is masked');
    assert.equal(fs.readFileSync(path.join(repo, '.gitignore'), 'utf8'), '.release/lock\n.release/runs/\n');
    assert.equal(git('status', '--porcelain'), '', 'the plan and .gitignore were committed');
  });
});
