import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { COMMANDS } from '../../src/vscode/commandIds';
import { api, folder } from './util';

describe('Release Pilot in an untrusted workspace', () => {
  it('the workspace is untrusted', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  it('still shows and validates the plan', async () => {
    const rp = await api();
    assert.equal(rp.tree.getTreeItem(rp.tree.getChildren()[0]).label, 'fixture-app 1.2.3');
    assert.equal(await vscode.commands.executeCommand(COMMANDS.validatePlan), 0);
  });

  it('runs nothing: no release, no check, no rollback', async () => {
    const rp = await api();
    fs.mkdirSync(path.join(folder(), 'state'), { recursive: true });
    fs.writeFileSync(path.join(folder(), 'state', 'allow-deploy'), '');
    const answering = rp.registerPrompter({ confirm: async () => true, tickManual: async () => 'x', notify: async () => {} });
    for (const id of [COMMANDS.startRelease, COMMANDS.resumeRelease, COMMANDS.runPhase, COMMANDS.rollback]) {
      assert.equal(await vscode.commands.executeCommand(id), undefined, id);
    }
    assert.equal(await vscode.commands.executeCommand(COMMANDS.checkItem, 'syntax'), undefined);
    assert.equal(fs.existsSync(path.join(folder(), '.release', 'runs')), false, 'no release run was written');
    assert.equal(fs.existsSync(path.join(folder(), 'state', 'deployed')), false);
    assert.equal(rp.controller.prechecks.size, 0, 'no check ran');
    answering.dispose();
  });
});
