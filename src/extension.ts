import * as vscode from 'vscode';
import { ReleaseController } from './vscode/controller';
import { ReleaseTreeProvider } from './vscode/tree';
import { RollbackStatusBar } from './vscode/statusbar';
import { PlanDiagnostics } from './vscode/diagnostics';
import { PlanHelp, planSchemaFile } from './vscode/planHelp';
import { HistoryProvider, createHistoryView } from './vscode/history';
import { PreviewDocuments } from './vscode/preview';
import { ReleasePanel, PANEL_TYPE } from './vscode/panel';
import { CommandCenter } from './vscode/commandCenter';
import { Answerers, type ReleasePrompts } from './vscode/prompter';
import { createReleaseView } from './vscode/view';

/** What activate() returns to other extensions (and to the tests in the real VS Code host). */
export interface ReleasePilotApi {
  controller: ReleaseController;
  tree: ReleaseTreeProvider;
  statusBar: RollbackStatusBar;
  diagnostics: PlanDiagnostics;
  history: HistoryProvider;
  panel(): ReleasePanel | undefined;
  /** Answers the given questions of the releases this window runs, instead of a person, until disposed. */
  registerPrompter(answers: Partial<ReleasePrompts>): vscode.Disposable;
  /** activate() itself: registrations only. */
  activationMs: number;
  /** Resolves once the plan and the newest run were read, just after activation (`loadMs` it took). */
  ready: Promise<{ loadMs: number }>;
}

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
  const history = new HistoryProvider(() => controller.workspaceDir);
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
  log.info(`activated in ${activationMs.toFixed(1)} ms`);
  const panel = () => ReleasePanel.current;
  return { controller, tree, statusBar, diagnostics, history, panel, registerPrompter: (a) => answerers.register(a), activationMs, ready };
}

/** A closing window ends the running step's process group and journals it before the host goes. */
export function deactivate(): Promise<void> | undefined {
  return active?.shutdown();
}
