import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { COMMANDS } from '../../src/vscode/commands';
import { api, folder, until } from './util';

/** Runs after the release tests of this window: the runs they left are the history. */
describe('the Releases view: every run of the workspace, newest first', function () {
  it('lists each run folder with its outcome, and a click opens that run report', async () => {
    const rp = await api();
    rp.history.refresh();
    const rows = rp.history.getChildren();
    const runs = fs
      .readdirSync(path.join(folder(), '.release', 'runs'))
      .filter((d) => fs.existsSync(path.join(folder(), '.release', 'runs', d, 'journal.jsonl')))
      .sort()
      .reverse();
    assert.ok(runs.length >= 3, runs.join(' '));
    assert.deepEqual(
      rows.map((r) => r.runId),
      runs,
    );
    const statuses = new Set(rows.map((r) => r.status));
    assert.ok(statuses.has('released') && statuses.has('rolled-back'), [...statuses].join(' '));

    const rolledBack = rows.find((r) => r.status === 'rolled-back')!;
    const item = rp.history.getTreeItem(rolledBack);
    assert.equal(item.label, rolledBack.version);
    assert.match(String(item.description), /^rolled-back · production · \d{4}-\d\d-\d\d \d\d:\d\d · (\d+ ms|\d+\.\d s|\d+ min \d+ s) · /);
    assert.equal(item.command?.command, COMMANDS.openRunReport);

    await vscode.commands.executeCommand(COMMANDS.openRunReport, rolledBack);
    // The report opens rendered (Markdown preview) or as text: either way a tab of that report.
    await until(
      () =>
        vscode.window.tabGroups.all
          .flatMap((g) => g.tabs)
          .some((t) => t.label.includes('report.md') || (t.input instanceof vscode.TabInputText && t.input.uri.fsPath === rolledBack.report)),
      10_000,
      'the report tab',
    );
    await vscode.commands.executeCommand(COMMANDS.openRunJournal, rolledBack);
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, rolledBack.journal);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
