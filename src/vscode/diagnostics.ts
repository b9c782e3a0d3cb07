import * as path from 'node:path';
import * as vscode from 'vscode';
import { parsePlan, type PlanProblem } from '../core/plan/load';
import { engine } from './lazyEngine';
import type { Plan } from '../core/model/schema';
import { workspaceOf } from './checklistCheck';
import { Disposable } from './dispose';

/** Problems of the release plan in the Problems panel, at their exact range, as the user types. */
export class PlanDiagnostics extends Disposable {
  readonly collection = this.register(vscode.languages.createDiagnosticCollection('release-plan'));
  /** What the migration lint finds in the SQL files the plan names (`rollback.database.migrations`). */
  readonly migrations = this.register(vscode.languages.createDiagnosticCollection('release-migrations'));
  /** The last plan read whole: a saved SQL file is linted again against it. */
  private lastPlan: { file: string; plan: Plan } | undefined;
  private lintRound = 0;
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
    // SQL files made, changed or removed (in the editor or not) are linted again against the last plan read.
    const sql = this.register(vscode.workspace.createFileSystemWatcher('**/*.sql'));
    const relint = () => {
      clearTimeout(this.timers.get('sql'));
      this.timers.set(
        'sql',
        setTimeout(() => {
          this.timers.delete('sql');
          if (this.lastPlan) this.lint(this.lastPlan.file, this.lastPlan.plan);
        }, 250),
      );
    };
    this.register(sql.onDidCreate(relint));
    this.register(sql.onDidChange(relint));
    this.register(sql.onDidDelete(relint));
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
    const diags = (r.ok ? r.warnings : r.problems).map(toDiagnostic);
    this.collection.set(uri, diags);
    if (r.ok) {
      this.lastPlan = { file: uri.fsPath, plan: r.plan };
      this.lint(uri.fsPath, r.plan);
    }
    return diags;
  }

  /** The migration lint's findings on their SQL files; a round overtaken by a newer one is dropped. */
  private lint(planFile: string, plan: Plan): void {
    const round = ++this.lintRound;
    const workspace = workspaceOf(planFile);
    if (!workspace || !plan.rollback.database?.migrations?.length) {
      this.migrations.clear();
      return;
    }
    // The lint reads files with the engine's glob, so it loads the engine bundle: only for a plan that names migrations.
    void engine()
      .lintMigrations(workspace, plan.rollback.database, planFile)
      .then(
        (problems) => {
          if (round !== this.lintRound) return;
          this.migrations.clear();
          const byFile = new Map<string, vscode.Diagnostic[]>();
          for (const p of problems) {
            const list = byFile.get(p.file ?? planFile) ?? [];
            list.push(toDiagnostic(p));
            byFile.set(p.file ?? planFile, list);
          }
          for (const [file, list] of byFile) if (path.resolve(file) !== path.resolve(planFile)) this.migrations.set(vscode.Uri.file(file), list);
        },
        () => undefined,
      );
  }
}

function toDiagnostic(p: PlanProblem): vscode.Diagnostic {
  const range = new vscode.Range(p.line - 1, p.column - 1, p.endLine - 1, Math.max(p.endColumn - 1, p.line === p.endLine ? p.column : 0));
  const d = new vscode.Diagnostic(
    range,
    p.path ? `${p.message} (at ${p.path})` : p.message,
    p.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error,
  );
  d.source = 'Release Pilot';
  return d;
}
