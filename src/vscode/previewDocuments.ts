import * as path from 'node:path';
import * as vscode from 'vscode';
import { engine } from './lazyEngine';

export const PREVIEW_SCHEME = 'release-pilot-preview';

/** Read-only documents holding a release preview (the CLI's --dry-run and the gates as they stand). */
export class PreviewDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(PREVIEW_SCHEME, this);

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? 'This preview is gone: run Deploy: Preview Release again.';
  }

  /** Computes the preview of `planFile` and shows it; a second preview of the same plan replaces the first. */
  async show(
    workspace: string,
    planFile: string,
    planText: string,
    plan: Parameters<ReturnType<typeof engine>['previewRelease']>[1],
  ): Promise<vscode.TextDocument> {
    const text = await engine().previewRelease(workspace, plan, path.relative(workspace, planFile) || planFile, planText, {
      evaluateGates: vscode.workspace.isTrusted,
    });
    const uri = vscode.Uri.from({ scheme: PREVIEW_SCHEME, path: `/Preview of ${plan.release.name}.txt` });
    this.texts.set(uri.toString(), text);
    this.changed.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true });
    return doc;
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
