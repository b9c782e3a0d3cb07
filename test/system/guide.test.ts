import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, gitRepo, tempDir, write } from '../support/helpers';

/**
 * docs/guide.md stays true: its `sh` blocks marked `<!-- guide: run -->` run, in order, in a fresh
 * repository on branch main, with `release-pilot` on the PATH (the built CLI). Each must exit 0.
 */
const GUIDE = path.join(ROOT, 'docs', 'guide.md');

function markedBlocks(markdown: string): string[] {
  const out: string[] = [];
  const re = /<!-- guide: run -->\s*\n```sh\n([\s\S]*?)\n```/g;
  for (const m of markdown.matchAll(re)) out.push(m[1]);
  return out;
}

describe('docs/guide.md: the commands it marks run as written', function () {
  this.timeout(120_000);

  it('finds the marked blocks (init, validate, dry run)', () => {
    const blocks = markedBlocks(fs.readFileSync(GUIDE, 'utf8'));
    assert.ok(blocks.length >= 2, `marked blocks: ${blocks.length}`);
    assert.match(blocks.join('\n'), /release-pilot init --template nginx-postgres/);
    assert.match(blocks.join('\n'), /release-pilot run --dry-run/);
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
    const bin = path.join(dir, 'bin');
    write(bin, 'release-pilot', `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, 'dist', 'cli.js')}" "$@"\n`);
    fs.chmodSync(path.join(bin, 'release-pilot'), 0o755);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG')));
    env.PATH = `${bin}:${process.env.PATH}`;
    const blocks = markedBlocks(fs.readFileSync(GUIDE, 'utf8'));
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
