import type * as vscode from 'vscode';
import type { ReleaseController } from './controller';
import type { ReleaseTreeProvider } from './tree';
import type { RollbackStatusBar } from './statusbar';
import type { PlanDiagnostics } from './diagnostics';
import type { HistoryProvider } from './historyView';
import type { ReleasePanel } from './panel';
import type { ReleasePrompts } from './vscodePrompter';

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
  /** The bundles of dist/ loaded when activate() returned (core.js and engine.js load on first use). */
  bundlesAtActivation: string[];
  /** Resolves once the plan and the newest run were read, just after activation (`loadMs` it took). */
  ready: Promise<{ loadMs: number }>;
}
