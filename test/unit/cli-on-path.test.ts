import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI_SCRIPT_MARK, cliScript, installCliOnPath, removeCliFromPath } from '../../src/cli/cliOnPath';
import { ROOT, tempDir, write } from '../support/helpers';

const CLI = path.join(ROOT, 'dist', 'cli.js');
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;

/** Runs the installed command the way a shell would find it: by name, with only its folder on PATH. */
function runByName(dir: string, ...args: string[]) {
  return spawnSync('release-pilot', args, { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir }, timeout: 30_000 });
}

describe('the release-pilot command put on PATH from VS Code', () => {
  it('writes an executable command that runs the CLI with the given runtime, and says the folder is on PATH', () => {
    const bin = tempDir('rp-bin-');
    const r = installCliOnPath({ cli: CLI, node: process.execPath, dirs: [bin], pathEnv: `/usr/bin:${bin}` });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.file, path.join(bin, 'release-pilot'));
    assert.equal(r.onPath, true);
    assert.equal(r.replaced, false);
    assert.equal(fs.statSync(r.file).mode & 0o777, 0o755);
    const v = runByName(bin, '--version');
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), VERSION);
    assert.deepEqual(fs.readdirSync(bin), ['release-pilot'], 'no temporary file left');
  });

  it('quotes paths with spaces, quotes, dollars, backquotes and newlines as one word each', () => {
    const odd = tempDir('rp-odd-');
    const dir = path.join(odd, `it's a "dir" $(touch pwned) \`x\` $HOME\nnext`);
    fs.mkdirSync(dir, { recursive: true });
    const cli = path.join(dir, 'cli.js');
    fs.copyFileSync(CLI, cli);
    const bin = tempDir('rp-bin-');
    const r = installCliOnPath({ cli, node: process.execPath, dirs: [bin], pathEnv: '' });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.onPath, false);
    const v = runByName(bin, '--version');
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), VERSION);
    assert.ok(!fs.existsSync(path.join(bin, 'pwned')) && !fs.existsSync('pwned'), 'no command in a path ran');
  });

  it('never replaces a file it did not write; replaces its own; goes on to the next writable folder', () => {
    const theirs = tempDir('rp-bin-');
    write(theirs, 'release-pilot', '#!/bin/sh\necho someone else\n');
    const mine = tempDir('rp-bin-');
    const missing = path.join(tempDir('rp-ro-'), 'not-a-dir');
    fs.writeFileSync(missing, 'a file where a folder should be');
    const r = installCliOnPath({ cli: CLI, node: process.execPath, dirs: [theirs, missing, mine], pathEnv: '' });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.file, path.join(mine, 'release-pilot'));
    assert.equal(fs.readFileSync(path.join(theirs, 'release-pilot'), 'utf8'), '#!/bin/sh\necho someone else\n');
    const again = installCliOnPath({ cli: CLI, node: process.execPath, dirs: [mine], pathEnv: '' });
    assert.ok(again.ok && again.replaced);
    const none = installCliOnPath({ cli: CLI, node: process.execPath, dirs: [theirs, missing], pathEnv: '' });
    assert.equal(none.ok, false);
    assert.match(none.ok ? '' : none.message, /release-pilot exists and was not written by Release Pilot; .*not-a-dir cannot be written/);
    // A symbolic link of that name is someone else's too, even to our own script.
    const linked = tempDir('rp-bin-');
    fs.symlinkSync(path.join(mine, 'release-pilot'), path.join(linked, 'release-pilot'));
    const l = installCliOnPath({ cli: CLI, node: process.execPath, dirs: [linked], pathEnv: '' });
    assert.equal(l.ok, false);
    assert.deepEqual(removeCliFromPath([theirs, linked, mine]), [path.join(mine, 'release-pilot')]);
    assert.ok(fs.existsSync(path.join(theirs, 'release-pilot')) && fs.lstatSync(path.join(linked, 'release-pilot')).isSymbolicLink());
  });

  it('refuses when the CLI is not where the extension keeps it', () => {
    const r = installCliOnPath({ cli: path.join(tempDir('rp-x-'), 'cli.js'), node: process.execPath, dirs: [tempDir('rp-bin-')], pathEnv: '' });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.message, /reinstall the extension/);
  });

  it('the script names itself as ours on its second line', () => {
    assert.equal(cliScript({ cli: '/x/cli.js', node: '/n' }).split('\n')[1], CLI_SCRIPT_MARK);
  });
});
