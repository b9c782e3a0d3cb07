import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { askAbandonReason, ReleaseController, UserError } from './vscode/controller';
import { ReleaseTreeProvider, type Node } from './vscode/tree';
import { RollbackStatusBar } from './vscode/statusbar';
import { PlanDiagnostics } from './vscode/diagnostics';
import { PlanHelp, planSchemaFile } from './vscode/planHelp';
import { HistoryProvider, openRunJournal, openRunReport } from './vscode/history';
import { PreviewDocuments } from './vscode/preview';
import type { HistoryRow } from './core/engine/history';
import { ReleasePanel, PANEL_TYPE } from './vscode/panel';
import { COMMANDS, RUNS_COMMANDS, type CommandId } from './vscode/commands';
import { PHASES } from './core/plan/schema';
import { unitsFor } from './core/engine/units';
import { writeReport } from './core/report/report';
import { ensureToolIgnored } from './core/git/ignore';

export interface ReleasePilotApi {
  controller: ReleaseController;
  tree: ReleaseTreeProvider;
  statusBar: RollbackStatusBar;
  diagnostics: PlanDiagnostics;
  history: HistoryProvider;
  panel(): ReleasePanel | undefined;
  activationMs: number;
}

export function activate(context: vscode.ExtensionContext): ReleasePilotApi {
  const t0 = performance.now();
  const log = vscode.window.createOutputChannel('Release Pilot', { log: true });
  const controller = new ReleaseController(log);
  active = controller;
  const tree = new ReleaseTreeProvider(controller);
  const view = vscode.window.createTreeView('releasePilot.release', { treeDataProvider: tree, showCollapseAll: false });
  const statusBar = new RollbackStatusBar(controller);
  const diagnostics = new PlanDiagnostics(() => controller.planFile);
  const help = new PlanHelp(planSchemaFile(context.extensionPath), (d) => diagnostics.isPlan(d));
  const history = new HistoryProvider(() => controller.workspaceDir);
  const historyView = vscode.window.createTreeView('releasePilot.history', { treeDataProvider: history });
  const previews = new PreviewDocuments();
  context.subscriptions.push(log, controller, tree, view, statusBar, diagnostics, help, history, historyView, previews);
  let shown = '';
  controller.onDidChange(() => {
    const key = `${controller.state?.runId}:${controller.state?.status}`;
    if (key !== shown) history.refreshSoon();
    shown = key;
  });
  controller.onDidChange(() => {
    const s = controller.state;
    view.description = s ? `${s.version} · ${s.status}` : undefined;
    // The release row is cut at the default sidebar width: the state is also said in words above the tree.
    view.message = s ? releaseSentence(s) : undefined;
    view.badge =
      s && (s.status === 'paused' || s.status === 'interrupted' || s.status === 'rollback-failed')
        ? { value: 1, tooltip: `Release ${s.version} is ${s.status}` }
        : undefined;
  });

  /** Every command goes through here: trust, then typed errors turned into messages with actions. */
  const register = (id: CommandId, fn: (...args: never[]) => unknown) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          if (RUNS_COMMANDS.includes(id) && !vscode.workspace.isTrusted) {
            throw new UserError(
              'This workspace is not trusted. Release Pilot runs the commands of the release plan, so it runs nothing until you trust the workspace.',
            );
          }
          return await (fn as (...a: unknown[]) => unknown)(...args);
        } catch (e) {
          const err = e as Error;
          // The engine's own refusals (lock held, gate, journal refused) come from its lazily loaded bundle: known by name.
          const expected = e instanceof UserError || ['LockHeldError', 'GateError', 'JournalWriteError', 'UnresolvedReferenceError'].includes(err.name);
          const actions = e instanceof UserError ? e.actions : (['Show Log'] as const);
          if (expected) log.warn(`${id}: ${err.message}`);
          else log.error(`${id}: ${err.stack ?? err.message}`);
          void vscode.window.showErrorMessage(`Release Pilot: ${err.message}`, ...actions).then((pick) => {
            if (pick === 'Show Log') log.show(true);
            if (pick === 'Open Plan' && controller.planFile) void vscode.window.showTextDocument(vscode.Uri.file(controller.planFile));
          });
          return undefined;
        }
      }),
    );

  const openMonitor = () => {
    if (vscode.workspace.getConfiguration('releasePilot').get<boolean>('openMonitorOnDeploy', true))
      ReleasePanel.show(context.extensionUri, controller, 'monitor');
  };
  controller.onDidAppend((e) => {
    if (e.type === 'phase.started' && e.phase === 'deploy') openMonitor();
  });

  register(COMMANDS.startRelease, async () => {
    const s = await controller.start();
    return s;
  });
  register(COMMANDS.resumeRelease, () => controller.resume());
  register(COMMANDS.abandonRelease, async (reasonArg?: string) => {
    const s = controller.state;
    if (!s || ['released', 'rolled-back', 'rollback-failed', 'aborted', 'failed'].includes(s.status))
      throw new UserError('There is no paused or interrupted release to abandon.');
    const reason = typeof reasonArg === 'string' && reasonArg.trim() ? reasonArg.trim() : await askAbandonReason(s.version);
    if (!reason) return undefined;
    return controller.abandon(reason);
  });
  register(COMMANDS.runPhase, async (node?: Node) => {
    const plan = controller.requirePlan().result.plan;
    const s = controller.state;
    const open = s && !['released', 'rolled-back', 'rollback-failed', 'aborted', 'failed'].includes(s.status);
    const next =
      node?.kind === 'phase'
        ? node.id
        : PHASES.find((p) => unitsFor(plan, p).length > 0 && (!open || !['passed', 'skipped', 'waived'].includes(s.phases.find((x) => x.id === p)!.state)));
    if (!next) throw new UserError('Every phase of this release has run.');
    return open ? controller.resume({ stopAfter: next }) : controller.startUntil(next);
  });
  register(COMMANDS.retryStep, (node?: Node) => {
    const key = node?.kind === 'step' ? node.key : failedStep(controller);
    if (!key) throw new UserError('No failed or interrupted step to retry.');
    return controller.resume({ decided: { [key]: { action: 'retry' } } });
  });
  register(COMMANDS.waiveItem, async (node?: Node | string) => {
    const target = typeof node === 'string' ? { kind: 'checklist' as const, id: node } : node;
    const key = target?.kind === 'step' ? target.key : target?.kind === 'checklist' ? undefined : failedStep(controller);
    const what = target?.kind === 'checklist' ? `checklist item "${target.id}"` : key ? `step "${controller.state?.steps[key]?.name ?? key}"` : undefined;
    if (!what) throw new UserError('Select a failed checklist item or step to waive.');
    const reason = await vscode.window.showInputBox({
      title: `Waive ${what}`,
      prompt: 'Why is it safe to go on without it? Your name and this reason go into the journal and the report.',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim().length < 5 ? 'Write a reason of a few words' : undefined),
    });
    if (!reason) return undefined;
    if (target?.kind === 'checklist') return controller.waiveChecklistItem(target.id, reason.trim());
    return controller.resume({ decided: { [key!]: { action: 'waive', reason: reason.trim() } } });
  });
  register(COMMANDS.rollback, async (reasonArg?: string) => {
    const s = controller.state;
    if (!s || !controller.rollbackUntil()) throw new UserError('There is nothing to roll back right now.');
    let reason = typeof reasonArg === 'string' ? reasonArg : undefined;
    if (!reason) {
      const pick = await vscode.window.showWarningMessage(
        `Roll back ${s.name} ${s.version} on ${s.environment}?`,
        {
          modal: true,
          detail: `The plan's rollback steps run now:\n${controller
            .rollbackStepNames()
            .map((name, i) => `${i + 1}. ${name}`)
            .join('\n')}`,
        },
        'Roll Back',
      );
      if (pick !== 'Roll Back') return undefined;
      reason =
        (await vscode.window.showInputBox({
          title: 'Why roll back?',
          prompt: 'Recorded in the journal and the report (Enter to skip)',
          ignoreFocusOut: true,
        })) || 'rolled back from VS Code';
    }
    return controller.rollback(reason);
  });
  register(COMMANDS.cancelStep, () => controller.cancelStep());
  register(COMMANDS.checkItem, (arg?: string | Node) => {
    const id = typeof arg === 'string' ? arg : arg?.kind === 'checklist' ? arg.id : undefined;
    if (!id) throw new UserError('Select a checklist item to check.');
    return controller.checkItem(id);
  });
  register(COMMANDS.openStepLog, async (file?: string | Node) => {
    const f =
      typeof file === 'string'
        ? file
        : file?.kind === 'step' && controller.runDir && controller.state?.steps[file.key]?.log
          ? path.join(controller.runDir, controller.state.steps[file.key].log!)
          : undefined;
    if (!f || !fs.existsSync(f)) throw new UserError('This step has no log yet.');
    await vscode.window.showTextDocument(vscode.Uri.file(f), { preview: true, preserveFocus: false });
  });
  register(COMMANDS.openReport, async (how?: string) => {
    if (!controller.state || !controller.runDir) throw new UserError('No release has run in this workspace yet.');
    if (how === 'markdown') {
      const { md } = writeReport(controller.runDir, controller.state);
      await vscode.window.showTextDocument(vscode.Uri.file(md), { preview: false, viewColumn: vscode.ViewColumn.Active });
      return md;
    }
    ReleasePanel.show(context.extensionUri, controller, 'report');
    return undefined;
  });
  register(COMMANDS.showMonitor, () => {
    ReleasePanel.show(context.extensionUri, controller, 'monitor');
  });
  register(COMMANDS.previewRelease, async () => {
    controller.reload();
    const loaded = controller.plan;
    if (!loaded || !controller.planFile || !controller.workspaceDir)
      throw new UserError('No release plan in this workspace. Create one with "Deploy: Create Release Plan".');
    if (!loaded.ok)
      throw new UserError(
        `The release plan has ${loaded.problems.length} problem(s); the first at line ${loaded.problems[0].line}: ${loaded.problems[0].message}`,
        ['Open Plan'],
      );
    return previews.show(controller.workspaceDir, controller.planFile, loaded.text, loaded.plan);
  });
  register(COMMANDS.validatePlan, async () => {
    const file = controller.planFile;
    if (!file || !fs.existsSync(file)) throw new UserError('No release plan in this workspace. Create one with "Deploy: Create Release Plan".');
    controller.reload();
    const doc = await vscode.workspace.openTextDocument(file);
    // Warnings stay in the Problems panel; only errors make the plan invalid.
    const problems = diagnostics.check(doc).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
    if (problems.length === 0) void vscode.window.showInformationMessage(`Release plan ${vscode.workspace.asRelativePath(file)} is valid.`);
    else {
      void vscode.window
        .showErrorMessage(
          `Release plan: ${problems.length} problem(s); the first at line ${problems[0].range.start.line + 1}: ${problems[0].message}`,
          'Open Plan',
        )
        .then((p) => {
          if (p) void vscode.window.showTextDocument(doc, { selection: problems[0].range });
        });
    }
    return problems.length;
  });
  register(COMMANDS.createPlan, async (templateArg?: string) => {
    const folder = controller.folder;
    if (!folder) throw new UserError('Open a folder first: the release plan lives in it.');
    const templates = {
      local: 'A local service: blue-green behind a router, SQLite backup, metrics scraped',
      kubernetes: 'Kubernetes: kubectl set image, rollout status, rollout undo',
      helm: 'Helm: upgrade --atomic, rollback',
    } as const;
    const pick =
      templateArg ??
      (
        await vscode.window.showQuickPick(
          Object.entries(templates).map(([label, detail]) => ({ label, detail })),
          { title: 'Create Release Plan', placeHolder: 'Start from a template' },
        )
      )?.label;
    if (!pick || !(pick in templates)) return undefined;
    const target = controller.planFile ?? path.join(folder.uri.fsPath, '.release', 'plan.yaml');
    if (fs.existsSync(target)) {
      const over = await vscode.window.showWarningMessage(`${vscode.workspace.asRelativePath(target)} exists. Replace it?`, { modal: true }, 'Replace');
      if (over !== 'Replace') return undefined;
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(path.join(context.extensionPath, 'dist', 'templates', `${pick}.yaml`), target);
    // The lock and the runs are the tool's, not the user's: keep them out of commits and of the clean-tree gate's way.
    ensureToolIgnored(controller.workspaceDir ?? folder.uri.fsPath);
    controller.reload();
    await vscode.window.showTextDocument(vscode.Uri.file(target));
    return target;
  });
  register(COMMANDS.refresh, () => controller.reload());
  register(COMMANDS.openRunReport, (r: HistoryRow) => openRunReport(r));
  register(COMMANDS.openRunJournal, (r: HistoryRow) => openRunJournal(r));
  register(COMMANDS.refreshHistory, () => history.refresh());

  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(PANEL_TYPE, {
      async deserializeWebviewPanel(panel, state) {
        ReleasePanel.revive(panel, context.extensionUri, controller, state);
      },
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => controller.reload()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('releasePilot.planPath')) controller.reload();
    }),
  );

  controller.reload();
  // After a reload mid-release: the phases that ran get their terminals back from the journal.
  if (controller.state && controller.runDir && !['released', 'aborted'].includes(controller.state.status)) {
    controller.terminals.restore(controller.state, controller.runDir);
  }
  const activationMs = performance.now() - t0;
  log.info(`activated in ${activationMs.toFixed(1)} ms`);
  return { controller, tree, statusBar, diagnostics, history, panel: () => ReleasePanel.current, activationMs };
}

function failedStep(c: ReleaseController): string | undefined {
  return Object.values(c.state?.steps ?? {}).find((s) => s.state === 'failed' || s.state === 'interrupted')?.key;
}

let active: ReleaseController | undefined;

/** A closing window ends the running step's process group and journals it before the host goes. */
export function deactivate(): Promise<void> | undefined {
  return active?.shutdown();
}

const STATUS_WORDS: Record<string, string> = {
  running: 'is running',
  paused: 'is paused',
  'rolling-back': 'is rolling back',
  interrupted: 'was interrupted',
  released: 'was released',
  failed: 'failed',
  'rolled-back': 'was rolled back',
  'rollback-failed': 'ROLLBACK FAILED',
  aborted: 'was stopped before production',
};

function releaseSentence(s: { name: string; version: string; environment: string; status: string }): string {
  return `${s.name} ${s.version} → ${s.environment} ${STATUS_WORDS[s.status] ?? s.status}.`;
}
