import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as vscode from 'vscode';
import { COMMANDS } from '../../src/vscode/commands';
import { api, folder, until } from './util';

/** Runs after the release tests of this window: the runs they left are the history. */
describe('the Releases view: every run of the workspace, newest first', function () {
  it('lists each run folder with its outcome, and a click opens that run report', async () => {
    const rp = await api();
    rp.history.refresh();
    const top = rp.history.getChildren();
    // Every run, newest first; refused attempts (nothing ran) sit under one collapsed node at the end.
    const rows = rp.history.rows;
    const groups = top.filter((n) => 'refusedAttempts' in n);
    assert.ok(groups.length <= 1 && (groups.length === 0 || top.at(-1) === groups[0]), 'one "Refused attempts" node, last');
    assert.deepEqual(
      top.flatMap((n) => ('refusedAttempts' in n ? n.refusedAttempts : [n])).map((r) => r.runId),
      [...rows.filter((r) => !r.refused), ...rows.filter((r) => r.refused)].map((r) => r.runId),
    );
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

  it('Redeploy This Version on a released row releases that version again through the gates; a rolled-back row is refused', async () => {
    const rp = await api();
    const planFile = path.join(folder(), '.release', 'plan.yaml');
    const original = fs.readFileSync(planFile, 'utf8');
    const allow = path.join(folder(), 'state', 'allow-deploy');
    // The release tests before this one leave a verdict that is not a go: a redeploy passes the same gate.
    const verdict = path.join(folder(), 'qa', 'verdict.txt');
    const verdictText = fs.readFileSync(verdict, 'utf8');
    const asked: string[] = [];
    const answering = rp.registerPrompter({
      confirm: async (m) => (asked.push(m), true),
      tickManual: async () => 'Fixture Engineer',
      notify: async () => {},
      unresolved: async (m) => (asked.push(m), 'Abandon…'),
      abandonReason: async () => 'left by an earlier test',
    });
    try {
      // The fixture's plan as committed (a test before this one scaffolded another): its deploy step
      // takes the version as an argument, so it may say redeploy: true.
      const committed = spawnSync('git', ['show', 'HEAD:.release/plan.yaml'], { cwd: folder(), encoding: 'utf8' }).stdout;
      assert.match(committed, /name: fixture-app/);
      fs.writeFileSync(planFile, committed.replace('  environment: production\n', '  environment: production\n  redeploy: true\n'));
      // Committed, as a person would: the git check wants a clean tree.
      spawnSync('git', ['commit', '-qm', 'chore: the plan may redeploy', '--', '.release/plan.yaml'], { cwd: folder() });
      await until(
        () => rp.controller.plan?.ok && rp.controller.plan.plan.release.redeploy && rp.controller.plan.plan.release.name === 'fixture-app',
        10_000,
        'the plan with redeploy: true',
      );
      fs.writeFileSync(allow, '');
      fs.writeFileSync(verdict, 'QA verdict: Ready for Launch\n');
      rp.history.refresh();
      const top = rp.history.getChildren();
      // Every run, newest first; refused attempts (nothing ran) sit under one collapsed node at the end.
      const rows = rp.history.rows;
      const groups = top.filter((n) => 'refusedAttempts' in n);
      assert.ok(groups.length <= 1 && (groups.length === 0 || top.at(-1) === groups[0]), 'one "Refused attempts" node, last');
      assert.deepEqual(
        top.flatMap((n) => ('refusedAttempts' in n ? n.refusedAttempts : [n])).map((r) => r.runId),
        [...rows.filter((r) => !r.refused), ...rows.filter((r) => r.refused)].map((r) => r.runId),
      );
      const before = rows.length;
      const rolledBack = rows.find((r) => r.status === 'rolled-back')!;
      await vscode.commands.executeCommand(COMMANDS.redeployRun, rolledBack);
      rp.history.refresh();
      assert.equal(rp.history.getChildren().length, before, 'a rolled-back version is not redeployed');

      const released = rows.find((r) => r.status === 'released')!;
      // A run an earlier test left unfinished is offered first, as to a person: abandoned, then the redeploy runs.
      const first = await vscode.commands.executeCommand<{ status: string } | undefined>(COMMANDS.redeployRun, released);
      if (first?.status === 'abandoned') await vscode.commands.executeCommand(COMMANDS.redeployRun, released);
      const s = rp.controller.state!;
      const steps = Object.values(s.steps).map((x) => `${x.key} ${x.state} ${x.message ?? ''}`);
      assert.equal(s.status, 'released', `${s.runId}: ${s.outcomeMessage} ${s.pausedAt?.message}\n${steps.join('\n')}`);
      assert.equal(s.redeployOf?.runId, released.runId);
      assert.equal(s.version, released.version);
      assert.ok(
        asked.some((m) => m.startsWith(`Redeploy fixture-app ${released.version}, released before in run ${released.runId}, to production?`)),
        asked.join('\n'),
      );
      rp.history.refresh();
      const newest = rp.history.getChildren()[0];
      assert.ok(!('refusedAttempts' in newest) && newest.runId === s.runId, 'the redeploy is the newest row');
    } finally {
      answering.dispose();
      fs.rmSync(allow, { force: true });
      fs.writeFileSync(planFile, original);
      fs.writeFileSync(verdict, verdictText);
    }
  });
});
