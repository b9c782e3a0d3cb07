import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

describe('harness self-check (one test fails on purpose)', () => {
  it('passes: the real vscode API is here', () => {
    assert.equal(typeof vscode.window.createTreeView, 'function');
  });
  it('fails on purpose: a broken assertion must fail the run', () => {
    assert.equal(vscode.workspace.workspaceFolders?.length, 42);
  });
});
