import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyDir, gitIn, gitRepo, write } from '../support/helpers';
import { copyWorkspace, smallPlan, workspace } from '../support/fixtures';

/** A workspace built once is copied for each test: the copy must be the same workspace, and a folder of its own. */
describe('a copied workspace is the workspace it copies, in a folder of its own', () => {
  function built() {
    const ws = workspace(smallPlan());
    write(ws.dir, '.gitignore', '*.txt\n');
    write(ws.dir, 'bin/run.sh', '#!/bin/sh\necho run\n');
    fs.chmodSync(path.join(ws.dir, 'bin/run.sh'), 0o755);
    fs.symlinkSync('bin', path.join(ws.dir, 'link-to-bin'));
    fs.mkdirSync(path.join(ws.dir, 'empty'));
    write(ws.dir, '-dash name\nnewline.txt', 'odd\n');
    const git = gitRepo(ws.dir);
    git('add', '-A');
    git('commit', '-qm', 'feat: first');
    git('tag', 'v1.2.3');
    return { ws, git };
  }

  it('keeps the repository: HEAD, tags, a clean tree, and git works in the copy alone', () => {
    const { ws, git } = built();
    const copy = copyWorkspace(ws);
    const cgit = gitIn(copy.dir);
    assert.equal(cgit('rev-parse', 'HEAD'), git('rev-parse', 'HEAD'));
    assert.equal(cgit('tag', '--list'), 'v1.2.3');
    assert.equal(cgit('status', '--porcelain'), '');
    assert.equal(cgit('rev-parse', '--show-toplevel'), fs.realpathSync(copy.dir));
    cgit('commit', '-q', '--allow-empty', '-m', 'feat: copy only');
    assert.notEqual(cgit('rev-parse', 'HEAD'), git('rev-parse', 'HEAD'), 'a commit in the copy is not in the original');
  });

  it('keeps dot files, modes, links as links, empty folders and odd names', () => {
    const { ws } = built();
    const copy = copyWorkspace(ws);
    assert.equal(fs.readFileSync(path.join(copy.dir, '.gitignore'), 'utf8'), '*.txt\n');
    assert.ok(fs.existsSync(path.join(copy.dir, '.release/plan.yaml')));
    assert.equal(fs.statSync(path.join(copy.dir, 'bin/run.sh')).mode & 0o777, 0o755);
    assert.equal(fs.readlinkSync(path.join(copy.dir, 'link-to-bin')), 'bin', 'the link is copied as a link');
    assert.ok(fs.statSync(path.join(copy.dir, 'empty')).isDirectory());
    assert.equal(fs.readFileSync(path.join(copy.dir, '-dash name\nnewline.txt'), 'utf8'), 'odd\n');
  });

  it('is a folder of its own: writes on either side stay there, and two copies differ', () => {
    const { ws } = built();
    const a = copyWorkspace(ws);
    const b = copyWorkspace(ws);
    assert.notEqual(a.dir, b.dir);
    assert.notEqual(a.dir, ws.dir);
    fs.writeFileSync(path.join(a.dir, 'state.txt'), 'changed in a copy\n');
    fs.writeFileSync(path.join(ws.dir, 'health.txt'), '0\n');
    assert.equal(fs.readFileSync(path.join(ws.dir, 'state.txt'), 'utf8'), 'v1\n');
    assert.equal(fs.readFileSync(path.join(b.dir, 'state.txt'), 'utf8'), 'v1\n');
    assert.equal(fs.readFileSync(path.join(a.dir, 'health.txt'), 'utf8'), '1\n');
  });

  it("runs in the copy: its options name the copy's folder and plan file, with the plan as the copy holds it", () => {
    const { ws } = built();
    fs.writeFileSync(ws.planFile, smallPlan().replace('version: 1.2.3', 'version: 2.0.0'));
    const copy = copyWorkspace(ws);
    const o = copy.options();
    assert.equal(o.workspace, copy.dir);
    assert.equal(o.planFile, path.join(copy.dir, '.release/plan.yaml'));
    assert.equal(copy.planFile, o.planFile);
    assert.equal(o.plan.release.version, '2.0.0', 'the plan as written in the folder copied, not as first built');
    assert.match(o.planText, /version: 2\.0\.0/);
  });

  it('refuses a folder that is not there, naming it', () => {
    assert.throws(() => copyDir(path.join(workspace().dir, 'missing')), /cannot stat '.*\/missing\/.': No such file/);
  });
});
