import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { folder, until } from './util';

/** Completion, hover and quick fixes in the plan, asked of VS Code the way the editor asks when a person types. */
describe('plan help in the editor (no other extension installed)', function () {
  const planUri = () => vscode.Uri.file(path.join(folder(), '.release', 'plan.yaml'));
  let doc: vscode.TextDocument;
  let original: string;

  before(async () => {
    // Earlier tests of this window replace the plan (Create Release Plan deletes it and scaffolds
    // another, twice): start from the fixture's plan, put on disk as a checkout would. An edit of the
    // open document right after those could be refused (applyEdit false: the file was deleted and
    // written again under it), which failed this hook once in CI.
    const ext = vscode.extensions.getExtension('release-pilot.release-pilot')!;
    const fixture = fs.readFileSync(path.join(ext.extensionPath, 'test', 'fixtures', 'ws-basic', '.release', 'plan.yaml'), 'utf8');
    original = fs.readFileSync(planUri().fsPath, 'utf8');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.writeFileSync(planUri().fsPath, fixture);
    doc = await vscode.workspace.openTextDocument(planUri());
    await vscode.window.showTextDocument(doc);
    await until(
      () => {
        if (doc.getText() === fixture) return true;
        // A model VS Code kept from before, with unsaved text: it reads the file again.
        if (doc.isDirty) void vscode.commands.executeCommand('workbench.action.files.revert');
        return false;
      },
      15_000,
      `the editor to show the fixture's plan (dirty: ${doc.isDirty}, version ${doc.version})`,
    );
  });

  after(async () => {
    const all = new vscode.WorkspaceEdit();
    all.replace(doc.uri, new vscode.Range(0, 0, doc.lineCount, 0), original);
    await vscode.workspace.applyEdit(all);
    await doc.save();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    // Whatever the editor made of it, the plan on disk is the one the tests after these found before them.
    fs.writeFileSync(planUri().fsPath, original);
  });

  /** Inserts `text` as a new line after the line equal to `after`; returns the position at its end. */
  async function insertLine(after: string, text: string): Promise<vscode.Position> {
    const line = doc.getText().split('\n').indexOf(after);
    assert.ok(line >= 0, `no line ${after}`);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(doc.uri, new vscode.Position(line + 1, 0), `${text}\n`);
    assert.ok(await vscode.workspace.applyEdit(edit));
    return new vscode.Position(line + 1, text.length);
  }

  async function removeLine(pos: vscode.Position): Promise<void> {
    const edit = new vscode.WorkspaceEdit();
    edit.delete(doc.uri, new vscode.Range(pos.line, 0, pos.line + 1, 0));
    assert.ok(await vscode.workspace.applyEdit(edit));
  }

  const labels = (list: vscode.CompletionList) => list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));

  it('completes the keys that fit where the cursor is, without the ones already written', async () => {
    const pos = await insertLine('  interval: 250ms', '  fai');
    const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', doc.uri, pos);
    const got = labels(list);
    assert.ok(got.includes('failureLimit') && got.includes('onBreach'), got.join(' '));
    assert.ok(!got.includes('window') && !got.includes('metrics'), 'keys already written are not offered');
    const item = list.items.find((i) => i.label === 'failureLimit')!;
    assert.match(item.detail ?? '', /integer/);
    await removeLine(pos);
  });

  it('completes the values of an enum', async () => {
    const pos = await insertLine('  interval: 250ms', '  onBreach: ');
    const got = labels(await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', doc.uri, pos));
    for (const v of ['rollback', 'prompt', 'pause']) assert.ok(got.includes(v), got.join(' '));
    await removeLine(pos);
  });

  it('completes ${…} references: built-ins, with when each has a value', async () => {
    const pos = await insertLine('        run: node app.js --smoke', '        name: Smoke ${rel');
    const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', doc.uri, pos);
    const got = labels(list);
    for (const r of ['release.version', 'release.previousVersion', 'run.dir', 'deploy.color', 'env:']) assert.ok(got.includes(r), got.join(' '));
    await removeLine(pos);
  });

  it("hovers a key with what it takes and the schema's description, and a reference with its meaning", async () => {
    const lines = doc.getText().split('\n');
    const windowLine = lines.indexOf('  window: 2s');
    const [keyHover] = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(windowLine, 4));
    const keyText = keyHover.contents.map((c) => (typeof c === 'string' ? c : c.value)).join('\n');
    assert.match(keyText, /\*\*window\*\*: duration \(30s, 5m, 1h, 250ms\) · required/);

    const refLine = lines.findIndex((l) => l.includes('grep -q ${release.version}'));
    const col = lines[refLine].indexOf('${release.version}') + 4;
    const [refHover] = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(refLine, col));
    const refText = refHover.contents.map((c) => (typeof c === 'string' ? c : c.value)).join('\n');
    assert.match(refText, /release\.version\}: the version being released/);
  });

  it('offers a quick fix for a "did you mean" problem that replaces only the misspelt word', async () => {
    const line = doc.getText().split('\n').indexOf('  interval: 250ms');
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(line, 2, line, 10), 'intervl');
    assert.ok(await vscode.workspace.applyEdit(edit));
    const diag = await until(() => vscode.languages.getDiagnostics(doc.uri).find((d) => /did you mean "interval"/.test(d.message)), 5000, 'the problem');
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, diag.range);
    const fix = actions.find((a) => a.title === 'Change to "interval"');
    assert.ok(fix?.edit, actions.map((a) => a.title).join(', '));
    assert.ok(await vscode.workspace.applyEdit(fix.edit));
    assert.equal(doc.lineAt(line).text, '  interval: 250ms');
    await until(() => !vscode.languages.getDiagnostics(doc.uri).some((d) => /intervl/.test(d.message)), 5000, 'the problem gone');
  });
});
