import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as vscode from 'vscode';
import { COMMANDS } from '../../src/vscode/commandIds';
import type { ReleasePilotApi } from '../../src/extension';
import type { Node } from '../../src/vscode/treeNodes';
import type { ReleasePrompts } from '../../src/vscode/vscodePrompter';
import { api, folder, until } from './util';

describe('Release Pilot in a real VS Code (trusted workspace)', function () {
  let rp: ReleasePilotApi;
  let answering: vscode.Disposable | undefined;
  /** Nobody clicks a modal in the test host: the questions are answered through the extension's API. */
  const answer = (answers: Partial<ReleasePrompts>) => {
    answering?.dispose();
    answering = rp.registerPrompter(answers);
  };
  const allow = () => path.join(folder(), 'state', 'allow-deploy');

  before(async () => {
    rp = await api();
    fs.mkdirSync(path.join(folder(), 'state'), { recursive: true });
  });

  afterEach(() => {
    answering?.dispose();
    answering = undefined;
  });

  it('activates on a workspace with .release/plan.yaml, quickly', async () => {
    const ext = vscode.extensions.getExtension('release-pilot.release-pilot')!;
    assert.ok(ext.isActive);
    assert.ok(rp.activationMs < 500, `activate took ${rp.activationMs} ms`);
    // Activation registers only: the core (plan, fold, YAML, zod) and the engine load on first use.
    assert.deepEqual(rp.bundlesAtActivation, ['extension.js']);
    const { loadMs } = await rp.ready;
    console.log(
      `activate() took ${rp.activationMs.toFixed(1)} ms with ${rp.bundlesAtActivation.join(', ')} loaded; the plan and newest run read just after in ${loadMs.toFixed(1)} ms`,
    );
  });

  it('runs nothing on opening the workspace: no release, no check, until a person asks', () => {
    assert.equal(fs.existsSync(path.join(folder(), '.release', 'runs')), false);
    assert.equal(fs.existsSync(path.join(folder(), 'state', 'deployed')), false);
    assert.equal(rp.controller.prechecks.size, 0);
    assert.equal(rp.controller.isRunning, false);
  });

  it('registers every command it declares', async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    for (const id of Object.values(COMMANDS)) assert.ok(all.has(id), `${id} is registered`);
  });

  it('shows the release, the checklist and the phases in the tree', () => {
    const roots = rp.tree.getChildren();
    assert.deepEqual(
      roots.map((n) => n.kind),
      ['release', 'group', 'group', 'group'],
    );
    const release = rp.tree.getTreeItem(roots[0]);
    assert.equal(release.label, 'fixture-app 1.2.3');
    assert.match(String(release.description), /production · not started/);
    const gatesGroup = rp.tree.getTreeItem(roots[1]);
    assert.deepEqual(
      [gatesGroup.id, gatesGroup.label, gatesGroup.description, gatesGroup.collapsibleState],
      ['group:gates', 'Gates', '0/2 open', vscode.TreeItemCollapsibleState.Collapsed],
    );
    const gates = rp.tree.getChildren(roots[1]).map((n) => rp.tree.getTreeItem(n));
    assert.deepEqual(
      gates.map((i) => [i.id, i.label, i.contextValue, i.description]),
      [
        ['gate:acceptance', 'Acceptance verdict', 'gate:acceptance:pending', 'expects "Ready for Launch"'],
        ['gate:rollback-plan', 'Rollback plan', 'gate:rollback-plan:pending', '1 step(s)'],
      ],
    );
    const items = rp.tree.getChildren(roots[2]).map((n) => rp.tree.getTreeItem(n));
    assert.deepEqual(
      items.map((i) => i.label),
      ['Merged to main and tagged', 'Migration scripts present', 'App parses', 'Product owner sign-off'],
    );
    assert.deepEqual(
      items.map((i) => i.contextValue),
      ['checklist:pending:git', 'checklist:pending:files', 'checklist:pending:command', 'checklist:pending:manual'],
    );
    assert.equal(items[0].command?.command, COMMANDS.checkItem);
    const phases = rp.tree.getChildren(roots[3]).map((n) => rp.tree.getTreeItem(n).label);
    assert.deepEqual(phases, [
      'Preparation',
      'Staging smoke test',
      'Production DB backup',
      'DB migration',
      'Service deployment',
      'Config update',
      'Verification',
      'Monitoring',
      'Announcement',
    ]);
  });

  it('runs a checklist check when its item is clicked, and ticks a manual item with who ticked it', async () => {
    const r = await vscode.commands.executeCommand<{ state: string; detail: string }>(COMMANDS.checkItem, 'migrations');
    assert.equal(r.state, 'passed');
    assert.match(r.detail, /migrations\/001-note\.sql/);
    await vscode.commands.executeCommand(COMMANDS.checkItem, 'sign-off');
    const item = rp.tree.getTreeItem({ kind: 'checklist', id: 'sign-off' });
    assert.equal(item.description, 'ticked by Fixture Engineer');
    assert.equal(item.contextValue, 'checklist:passed:manual');
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'pass-filled');
  });

  it('puts plan problems in the Problems panel at the exact line, updated as the user types', async () => {
    const planUri = vscode.Uri.file(path.join(folder(), '.release', 'plan.yaml'));
    const doc = await vscode.workspace.openTextDocument(planUri);
    const line = doc
      .getText()
      .split('\n')
      .findIndex((l) => l === '  window: 2s');
    assert.ok(line > 0);
    // A log streaming meanwhile (another document changing every 20 ms) does not hold the plan's check back.
    const log = vscode.window.createOutputChannel('Busy log');
    log.show(true);
    const busy = setInterval(() => log.append('.'), 20);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(planUri, new vscode.Range(line, 0, line, 12), '  windw: 2s');
    assert.ok(await vscode.workspace.applyEdit(edit));
    const diags = await until(
      () => {
        const d = vscode.languages.getDiagnostics(planUri);
        return d.length ? d : undefined;
      },
      5000,
      'diagnostics',
    ).finally(() => (clearInterval(busy), log.dispose()));
    const unknown = diags.find((d) => /unknown key "windw"; did you mean "window"\?/.test(d.message));
    assert.ok(unknown, diags.map((d) => d.message).join('\n'));
    assert.equal(unknown.range.start.line, line);
    assert.equal(unknown.range.start.character, 2);
    assert.equal(unknown.range.end.character, 7);
    assert.equal(unknown.source, 'Release Pilot');
    assert.ok(diags.some((d) => /missing required key "window"/.test(d.message)));
    const back = new vscode.WorkspaceEdit();
    back.replace(planUri, new vscode.Range(line, 0, line, 11), '  window: 2s');
    assert.ok(await vscode.workspace.applyEdit(back));
    await doc.save();
    await until(() => vscode.languages.getDiagnostics(planUri).length === 0, 5000, 'diagnostics cleared');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('puts a destructive migration statement in the Problems panel at its line in the SQL file', async () => {
    const sql = path.join(folder(), 'migrations', '002-drop.sql');
    fs.writeFileSync(sql, '-- DROP TABLE orders; is only a comment\nALTER TABLE orders\n  DROP COLUMN note;\n');
    const uri = vscode.Uri.file(sql);
    try {
      const diags = await until(
        () => {
          const d = vscode.languages.getDiagnostics(uri);
          return d.length ? d : undefined;
        },
        10_000,
        'migration diagnostics',
      );
      assert.equal(diags.length, 1, diags.map((d) => d.message).join('\n'));
      assert.match(diags[0].message, /drops column orders\.note: .*a rollback will need the restore/);
      assert.equal(diags[0].severity, vscode.DiagnosticSeverity.Warning);
      assert.equal(diags[0].range.start.line, 2);
      assert.equal(diags[0].range.start.character, 2);
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      fs.rmSync(sql, { force: true });
    }
    await until(() => vscode.languages.getDiagnostics(uri).length === 0, 10_000, 'migration diagnostics cleared with the file');
  });

  it('runs a whole release from the command: terminals per phase, tree states, status bar, panel', async () => {
    fs.writeFileSync(allow(), '');
    const asked: string[] = [];
    answer({
      confirm: async (m) => (asked.push(m), true),
      notify: async (m) => void asked.push(`notify: ${m}`),
    });
    const s = await vscode.commands.executeCommand<{ status: string; outcomeMessage?: string }>(COMMANDS.startRelease);
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.equal(
      asked[0],
      "Release fixture-app 1.2.3 to production?\nOn rollback, database: restore from the backup, by itself, even over writes since the backup (allowed: data.txt holds only what the release's own migration wrote).",
    );
    assert.match(asked.at(-1)!, /^notify: fixture-app 1\.2\.3 released to production/);

    const terms = rp.controller.terminals.terminals;
    assert.deepEqual(
      [...terms.keys()].sort(),
      ['announcement', 'backup', 'config', 'deploy', 'migration', 'monitoring', 'preparation', 'staging', 'verification'].sort(),
    );
    const prep = terms.get('preparation')!;
    assert.match(prep.terminal.name, /^(✓ )?Preparation · 1\.2\.3$/);
    assert.ok(vscode.window.terminals.includes(prep.terminal));
    assert.match(prep.pty.scrollback, /preparing 1\.2\.3/);
    assert.match(prep.pty.scrollback, /✓ exit code 0/);
    // A key in a finished phase's terminal closes it with the phase's exit code.
    const closed = new Promise<vscode.Terminal>((r) => vscode.window.onDidCloseTerminal((t) => t === prep.terminal && r(t)));
    prep.terminal.sendText('x', false);
    assert.equal((await closed).exitStatus?.code, 0);

    const phases = rp.tree.getChildren({ kind: 'group', id: 'phases' });
    for (const p of phases) assert.equal(rp.tree.getTreeItem(p).contextValue, 'phase:passed');
    const deploySteps = rp.tree.getChildren({ kind: 'phase', id: 'deploy' }).map((n) => rp.tree.getTreeItem(n));
    assert.deepEqual(
      deploySteps.map((i) => i.label),
      ['Deploy 1.2.3'],
    );
    assert.equal(deploySteps[0].contextValue, 'step:passed:log');
    assert.equal(deploySteps[0].command?.command, COMMANDS.openStepLog);
    // The baseline is production before the release touched it: first in the backup phase.
    const backupSteps = rp.tree.getChildren({ kind: 'phase', id: 'backup' }).map((n) => rp.tree.getTreeItem(n));
    assert.deepEqual(
      backupSteps.map((i) => i.label),
      ['Capture the monitoring baseline', 'Back up the data'],
    );

    // The rollback window stays open after the release: the status bar offers it with a countdown.
    assert.match(rp.statusBar.item.text, /^\$\(history\) Roll back v1\.2\.3 · \d+:\d\d$/);
    assert.equal(rp.statusBar.item.command, COMMANDS.rollback);
    assert.equal(rp.statusBar.visible, true);
    const left = Date.parse(rp.controller.rollbackUntil()!) - Date.now();
    assert.ok(left > 290_000 && left <= 300_000, `the rollback window is the plan's 5 minutes after monitoring, ${left} ms left`);

    const acceptance = rp.tree.getTreeItem({ kind: 'gate', id: 'acceptance' });
    assert.equal(acceptance.contextValue, 'gate:acceptance:open');
    assert.match(String(acceptance.description), /line 1: "QA verdict: Ready for Launch" says "Ready for Launch"/);
    assert.equal(rp.tree.getTreeItem({ kind: 'gate', id: 'rollback-plan' }).contextValue, 'gate:rollback-plan:open');

    const panel = await until(() => rp.panel(), 10_000, 'the monitor panel');
    assert.equal(panel.panel.title, 'Release 1.2.3');
    await until(() => panel.isReady, 15_000, 'the webview ready handshake');
    assert.ok(fs.existsSync(path.join(rp.controller.runDir!, 'report.md')));
  });

  it('pauses on a failing step, then Retry Step runs it again', async () => {
    fs.rmSync(allow(), { force: true });
    answer({
      confirm: async () => true,
      tickManual: async () => 'Fixture Engineer',
      onFailure: async () => ({ action: 'pause' }),
      notify: async () => {},
    });
    const paused = await vscode.commands.executeCommand<{ status: string }>(COMMANDS.startRelease);
    assert.equal(paused.status, 'paused');
    const step = rp.tree.getTreeItem({ kind: 'step', key: 'deploy/0', phase: 'deploy' });
    assert.equal(step.contextValue, 'step:failed:log');
    assert.match(String(step.description), /exit code 3/);
    assert.match(rp.controller.terminals.terminals.get('deploy')!.pty.scrollback, /deploy refused, state\/allow-deploy is missing/);
    fs.writeFileSync(allow(), '');
    const node: Node = { kind: 'step', key: 'deploy/0', phase: 'deploy' };
    const done = await vscode.commands.executeCommand<{ status: string; steps: Record<string, { attempts: number }> }>(COMMANDS.retryStep, node);
    assert.equal(done.status, 'released');
    assert.equal(done.steps['deploy/0'].attempts, 2);
  });

  it('waives a failing step with a reason, shown in the tree with who waived it', async () => {
    fs.rmSync(allow(), { force: true });
    answer({
      confirm: async () => true,
      tickManual: async () => 'Fixture Engineer',
      onFailure: async () => ({ action: 'waive', reason: 'deployed by hand, verified on the host' }),
      notify: async () => {},
    });
    await vscode.commands.executeCommand(COMMANDS.startRelease);
    const step = rp.tree.getTreeItem({ kind: 'step', key: 'deploy/0', phase: 'deploy' });
    assert.equal(step.description, 'waived by Fixture Engineer: deployed by hand, verified on the host');
    assert.equal((step.iconPath as vscode.ThemeIcon).id, 'pass');
  });

  it('rolls back from the rollback command and shows the outcome everywhere', async () => {
    fs.writeFileSync(allow(), '');
    const before = fs.readFileSync(path.join(folder(), 'data.txt'), 'utf8');
    answer({ confirm: async () => true, tickManual: async () => 'Fixture Engineer', notify: async () => {} });
    await vscode.commands.executeCommand(COMMANDS.startRelease);
    assert.notEqual(fs.readFileSync(path.join(folder(), 'data.txt'), 'utf8'), before, 'the migration changed the data');
    const s = await vscode.commands.executeCommand<{ status: string; rollback: { reason: string } }>(COMMANDS.rollback, 'error budget burnt');
    assert.equal(s.status, 'rolled-back');
    assert.equal(s.rollback.reason, 'error budget burnt');
    assert.equal(fs.readFileSync(path.join(folder(), 'data.txt'), 'utf8'), before, 'the backup was restored');
    assert.equal(rp.tree.getTreeItem({ kind: 'rollback' }).label, 'Rollback');
    assert.match(rp.controller.terminals.terminals.get('rollback')!.terminal.name, /^(✓ |✗ )?Rollback · 1\.2\.3$/);
    assert.equal(rp.statusBar.visible, false, 'nothing left to roll back');
  });

  it('Run Next Phase runs one phase at a time, and Resume Release finishes', async () => {
    fs.writeFileSync(allow(), '');
    answer({ confirm: async () => true, tickManual: async () => 'Fixture Engineer', notify: async () => {} });
    const first = await vscode.commands.executeCommand<{ status: string; pausedAt?: { message: string }; phases: { id: string; state: string }[] }>(
      COMMANDS.runPhase,
    );
    assert.equal(first.status, 'paused');
    assert.equal(first.pausedAt?.message, 'paused after Preparation, as asked');
    assert.deepEqual(
      first.phases.slice(0, 2).map((p) => p.state),
      ['passed', 'pending'],
    );
    const second = await vscode.commands.executeCommand<{ pausedAt?: { message: string } }>(COMMANDS.runPhase);
    assert.equal(second.pausedAt?.message, 'paused after Staging smoke test, as asked');
    const done = await vscode.commands.executeCommand<{ status: string; steps: Record<string, { attempts: number }> }>(COMMANDS.resumeRelease);
    assert.equal(done.status, 'released');
    assert.equal(done.steps['preparation/0'].attempts, 1);
  });

  it('cancels the running step from the command, and a CLI started meanwhile is refused with who holds the lock', async () => {
    fs.writeFileSync(path.join(folder(), 'state', 'slow'), '');
    let failure = '';
    answer({
      confirm: async () => true,
      tickManual: async () => 'Fixture Engineer',
      notify: async () => {},
      onFailure: async (f) => ((failure = `${f.step.key}: ${f.message}`), { action: 'pause' }),
    });
    const running = vscode.commands.executeCommand<{ status: string }>(COMMANDS.startRelease);
    await until(() => rp.controller.state?.steps['deploy/0']?.state === 'running', 30_000, 'the slow deploy step');
    const cli = spawnSync(
      process.execPath,
      [path.join(__dirname, '..', '..', 'dist', 'cli.js'), 'run', '--yes', '--plan', path.join(folder(), '.release', 'plan.yaml')],
      { encoding: 'utf8' },
    );
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /the release is already being run by VS Code window .*\(pid \d+, /);
    await vscode.commands.executeCommand(COMMANDS.cancelStep);
    const s = await running;
    assert.equal(s.status, 'paused');
    assert.equal(failure, 'deploy/0: cancelled');
    fs.rmSync(path.join(folder(), 'state', 'slow'));
  });

  it('Start Release refuses over the paused run and offers Resume; a closing window ends the running step and journals it; Abandon… gives the run up with a reason', async () => {
    const pausedId = rp.controller.runId!;
    assert.equal(rp.controller.state?.status, 'paused', 'left paused by the test before');
    fs.writeFileSync(path.join(folder(), 'state', 'slow'), '');
    let asked = '';
    const base = { confirm: async () => true, tickManual: async () => 'Fixture Engineer', notify: async () => {} };
    answer({ ...base, unresolved: async (m: string, d: string) => ((asked = `${m}\n${d}`), 'Resume') });
    const running = vscode.commands.executeCommand<{ status: string; runId: string; pausedAt?: { message: string } }>(COMMANDS.startRelease);
    await until(
      () => rp.controller.state?.steps['deploy/0']?.state === 'running' && rp.controller.state.steps['deploy/0'].pid !== undefined,
      30_000,
      'the slow deploy step runs again',
    );
    assert.match(asked, new RegExp(`^Release fixture-app 1\\.2\\.3 was not finished\\.\nRun ${pausedId} is paused`));
    const pid = rp.controller.state.steps['deploy/0'].pid!;
    // What deactivate() does when the window closes.
    const t0 = Date.now();
    await rp.controller.shutdown();
    const s = await running;
    console.log(`closing the window ended the step's process group in ${Date.now() - t0} ms`);
    assert.throws(() => process.kill(-pid, 0), "the step's process group is gone");
    assert.equal(s.runId, pausedId, 'no second run was started');
    assert.equal(s.status, 'paused');
    assert.match(s.pausedAt!.message, /^stopped by the closing VS Code window while "Deploy 1\.2\.3" ran/);

    answer({ ...base, unresolved: async () => 'Abandon…', abandonReason: async () => 'test: the window was closed on purpose' });
    const gone = await vscode.commands.executeCommand<{ status: string; runId: string; outcomeMessage: string }>(COMMANDS.startRelease);
    assert.equal(gone.runId, pausedId);
    assert.equal(gone.status, 'aborted');
    assert.match(gone.outcomeMessage, /^abandoned by .+: test: the window was closed on purpose$/);
    fs.rmSync(path.join(folder(), 'state', 'slow'));
  });

  it('shows a failed rollback loudly in the tree and the status bar', async () => {
    fs.writeFileSync(allow(), '');
    answer({ confirm: async () => true, tickManual: async () => 'Fixture Engineer', notify: async () => {} });
    const s = await vscode.commands.executeCommand<{ status: string }>(COMMANDS.startRelease);
    assert.equal(s.status, 'released');
    // The backup the rollback restores from is gone: the rollback cannot succeed.
    fs.rmSync(path.join(rp.controller.runDir!, 'backup'));
    const rb = await vscode.commands.executeCommand<{ status: string }>(COMMANDS.rollback, 'checkout errors');
    assert.equal(rb.status, 'rollback-failed');
    assert.equal(rp.tree.getTreeItem({ kind: 'rollback' }).label, 'ROLLBACK FAILED');
    assert.match(String(rp.tree.getTreeItem({ kind: 'release' }).description), /rollback-failed/);
    assert.match(rp.statusBar.item.text, /^\$\(error\) ROLLBACK FAILED v1\.2\.3/);
    assert.equal((rp.statusBar.item.backgroundColor as vscode.ThemeColor).id, 'statusBarItem.errorBackground');
    assert.equal(rp.statusBar.visible, true);
  });

  it('blocks on a verdict that says no, and the acceptance gate node quotes it', async () => {
    const verdict = path.join(folder(), 'qa', 'verdict.txt');
    const kept = fs.readFileSync(verdict, 'utf8');
    fs.writeFileSync(verdict, 'QA verdict: NOT Ready for Launch — 3 blockers open\n');
    try {
      answer({ confirm: async () => true, tickManual: async () => 'Fixture Engineer', notify: async () => {} });
      const s = await vscode.commands.executeCommand<{ status: string }>(COMMANDS.startRelease);
      assert.equal(s.status, 'aborted');
      const gate = rp.tree.getTreeItem({ kind: 'gate', id: 'acceptance' });
      assert.equal(gate.id, 'gate:acceptance');
      assert.equal(gate.contextValue, 'gate:acceptance:blocked');
      assert.equal((gate.iconPath as vscode.ThemeIcon).id, 'circle-slash');
      const group = rp.tree.getTreeItem({ kind: 'group', id: 'gates' });
      assert.deepEqual([group.id, group.collapsibleState], ['group:gates:blocked', vscode.TreeItemCollapsibleState.Expanded]);
      assert.match(String(gate.description), /line 1: "QA verdict: NOT Ready for Launch — 3 blockers open"/);
      // appendText escapes spaces as &nbsp; in the Markdown source.
      assert.match((gate.tooltip as vscode.MarkdownString).value.replace(/&nbsp;/g, ' '), /It said: "QA verdict: NOT Ready for Launch — 3 blockers open"/);
    } finally {
      fs.writeFileSync(verdict, kept);
    }
  });

  it('Create Release Plan scaffolds a plan from a template', async () => {
    const plan = path.join(folder(), '.release', 'plan.yaml');
    fs.rmSync(plan);
    rp.controller.reload();
    const created = await vscode.commands.executeCommand(COMMANDS.createPlan, 'helm');
    assert.equal(created, plan);
    assert.match(fs.readFileSync(plan, 'utf8'), /helm upgrade billing chart --install --atomic/);
    assert.ok(rp.controller.plan?.ok && rp.controller.plan.plan.release.name === 'billing');
    const items = rp.tree.getChildren({ kind: 'group', id: 'checklist' }).map((n) => rp.tree.getTreeItem(n).label);
    assert.deepEqual(items, ['Code merged to main and tagged', 'Chart and values present', 'Chart lints', 'Change ticket approved']);
    // The tool's own files are kept out of git, once, however often a plan is created.
    const ignore = () => fs.readFileSync(path.join(folder(), '.gitignore'), 'utf8').split('\n');
    assert.deepEqual(
      ['.release/lock', '.release/runs/'].map((l) => ignore().filter((x) => x.trim() === l).length),
      [1, 1],
    );
    fs.rmSync(plan);
    await vscode.commands.executeCommand(COMMANDS.createPlan, 'helm');
    assert.deepEqual(
      ['.release/lock', '.release/runs/'].map((l) => ignore().filter((x) => x.trim() === l).length),
      [1, 1],
    );
  });
});
