import * as vscode from 'vscode';
import { ReleaseController } from './vscode/controller';
import { ReleaseTreeProvider } from './vscode/tree';
import { RollbackStatusBar } from './vscode/statusbar';
import { PlanDiagnostics } from './vscode/diagnostics';
import { PlanHelp, planSchemaFile } from './vscode/planHelp';
import { HistoryProvider, createHistoryView } from './vscode/historyView';
import { PreviewDocuments } from './vscode/previewDocuments';
import { ReleasePanel, PANEL_TYPE } from './vscode/panel';
import { CommandCenter } from './vscode/commandCenter';
import { Answerers } from './vscode/vscodePrompter';
import type { ReleasePilotApi } from './vscode/api';
export type { ReleasePilotApi } from './vscode/api';
import { createReleaseView } from './vscode/view';
import { bundlesLoaded } from './vscode/lazyEngine';

let active: ReleaseController | undefined;

export function activate(context: vscode.ExtensionContext): ReleasePilotApi {
  const t0 = performance.now();
  const log = vscode.window.createOutputChannel('Release Pilot', { log: true });
  const answerers = new Answerers();
  const controller = new ReleaseController(log, answerers);
  active = controller;
  const tree = new ReleaseTreeProvider(controller);
  const statusBar = new RollbackStatusBar(controller);
  const diagnostics = new PlanDiagnostics(() => controller.planFile);
  const history = new HistoryProvider(
    () => controller.workspaceDir,
    () => controller.syncStore(),
  );
  const previews = new PreviewDocuments();
  const extensionUri = context.extensionUri;
  context.subscriptions.push(
    log,
    controller,
    tree,
    createReleaseView(controller, tree),
    statusBar,
    diagnostics,
    new PlanHelp(planSchemaFile(context.extensionPath), (d) => diagnostics.isPlan(d)),
    history,
    createHistoryView(controller, history),
    previews,
    new CommandCenter(controller, diagnostics, log, extensionUri, history, previews),
    ReleasePanel.openOnDeploy(extensionUri, controller),
    vscode.window.registerWebviewPanelSerializer(PANEL_TYPE, {
      async deserializeWebviewPanel(panel, state) {
        ReleasePanel.revive(panel, extensionUri, controller, state);
      },
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => controller.reload()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('releasePilot.planPath')) controller.reload();
    }),
  );

  const ready = controller.loadSoon();
  const activationMs = performance.now() - t0;
  const bundlesAtActivation = bundlesLoaded();
  log.info(`activated in ${activationMs.toFixed(1)} ms (${bundlesAtActivation.join(', ')} loaded)`);
  const panel = () => ReleasePanel.current;
  const registerPrompter = answerers.register.bind(answerers);
  return { controller, tree, statusBar, diagnostics, history, panel, registerPrompter, activationMs, bundlesAtActivation, ready };
}

/** A closing window ends the running step's process group and journals it before the host goes. */
export function deactivate(): Promise<void> | undefined {
  return active?.shutdown();
}
