import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMANDS, RUNS_COMMANDS } from '../../src/vscode/commandIds';
import { ROOT } from '../support/helpers';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
}

describe('extension manifest', () => {
  it('declares exactly the commands the code registers', () => {
    const declared = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.deepEqual(declared, Object.values(COMMANDS).sort());
    const registered = new Set<string>();
    for (const f of [...filesUnder(path.join(ROOT, 'src/vscode')), path.join(ROOT, 'src/extension.ts')]) {
      // The command center's table: `[COMMANDS.id]: handler`, each registered through its one wrapper.
      for (const m of fs.readFileSync(f, 'utf8').matchAll(/\[COMMANDS\.(\w+)\]:/g)) registered.add((COMMANDS as Record<string, string>)[m[1]]);
    }
    assert.deepEqual([...registered].sort(), declared, 'each command is registered through the wrapper');
  });

  it('shows "Deploy: Start Release" in the palette', () => {
    const start = pkg.contributes.commands.find((c: { command: string }) => c.command === COMMANDS.startRelease);
    assert.equal(`${start.category}: ${start.title}`, 'Deploy: Start Release');
  });

  it('disables every command that runs plan commands in an untrusted workspace', () => {
    for (const id of RUNS_COMMANDS) {
      const c = pkg.contributes.commands.find((x: { command: string }) => x.command === id);
      assert.equal(c.enablement, 'isWorkspaceTrusted', id);
    }
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  });

  it('activates only on what it contributes and on a release plan, never on startup', () => {
    assert.deepEqual(pkg.activationEvents, ['workspaceContains:.release/plan.yaml']);
    assert.match(pkg.engines.vscode, /^\^1\.100\./);
    assert.match(pkg.devDependencies['@types/vscode'], /^1\.100\./);
  });

  it('keeps the vscode module out of src/core', () => {
    const leaks = filesUnder(path.join(ROOT, 'src/core')).filter((f) => /from ['"]vscode['"]|require\(['"]vscode['"]\)/.test(fs.readFileSync(f, 'utf8')));
    assert.deepEqual(leaks, []);
  });
});
