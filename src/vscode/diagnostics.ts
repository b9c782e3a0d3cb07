import * as path from 'node:path';
import * as vscode from 'vscode';
import { parsePlan } from '../core/plan/load';
import { Disposable } from './dispose';

/** Problems of the release plan in the Problems panel, at their exact range, as the user types. */
export class PlanDiagnostics extends Disposable {
  readonly collection = this.register(vscode.languages.createDiagnosticCollection('release-plan'));
  // One debounce per plan document: a log or another file changing meanwhile must not postpone or swallow it.
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly planFile: () => string | undefined) {
    super();
    this.register({
      dispose: () => {
        for (const t of this.timers.values()) clearTimeout(t);
      },
    });
    this.register(vscode.workspace.onDidOpenTextDocument((d) => this.check(d)));
    this.register(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (!this.isPlan(e.document)) return;
        const key = e.document.uri.toString();
        clearTimeout(this.timers.get(key));
        this.timers.set(
          key,
          setTimeout(() => {
            this.timers.delete(key);
            this.check(e.document);
          }, 250),
        );
      }),
    );
    this.register(vscode.workspace.onDidSaveTextDocument((d) => this.check(d)));
    this.register(
      vscode.workspace.onDidCloseTextDocument((d) => {
        if (this.isPlan(d)) this.checkFile(d.uri);
      }),
    );
    // The plans already open are checked just after activation, which only registers.
    const first = setImmediate(() => this.checkOpen());
    this.register({ dispose: () => clearImmediate(first) });
  }

  private checkOpen(): void {
    for (const d of vscode.workspace.textDocuments) this.check(d);
    const file = this.planFile();
    if (file) this.checkFile(vscode.Uri.file(file));
  }

  isPlan(d: vscode.TextDocument): boolean {
    const file = this.planFile();
    return d.uri.scheme === 'file' && (d.uri.fsPath === file || d.uri.fsPath.endsWith(`${path.sep}.release${path.sep}plan.yaml`));
  }

  check(d: vscode.TextDocument): vscode.Diagnostic[] {
    if (!this.isPlan(d)) return [];
    return this.set(d.uri, d.getText());
  }

  checkFile(uri: vscode.Uri): void {
    void vscode.workspace.fs.readFile(uri).then(
      (bytes) => this.set(uri, Buffer.from(bytes)),
      () => this.collection.delete(uri),
    );
  }

  private set(uri: vscode.Uri, text: string | Buffer): vscode.Diagnostic[] {
    const r = parsePlan(text, uri.fsPath);
    const diags = (r.ok ? r.warnings : r.problems).map((p) => {
      const range = new vscode.Range(p.line - 1, p.column - 1, p.endLine - 1, Math.max(p.endColumn - 1, p.line === p.endLine ? p.column : 0));
      const d = new vscode.Diagnostic(
        range,
        p.path ? `${p.message} (at ${p.path})` : p.message,
        p.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error,
      );
      d.source = 'Release Pilot';
      return d;
    });
    this.collection.set(uri, diags);
    return diags;
  }
}
