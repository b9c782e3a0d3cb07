import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  containerPath,
  declaredVariables,
  didYouMeanEdits,
  keyHover,
  keySuggestions,
  refHover,
  refSuggestions,
  siblingKeys,
  valueSuggestions,
  type JsonSchema,
} from '../core/plan/help';

/** Red Hat's YAML extension reads the plan schema this extension contributes (`yamlValidation`): it then owns keys and values. */
const YAML_EXTENSION = 'redhat.vscode-yaml';
const REF_BEFORE = /\$\{([A-Za-z0-9_.:-]*)$/;
const KEY_BEFORE = /^(\s*)((?:-\s+)*)([A-Za-z_][A-Za-z0-9_.-]*)?$/;
const VALUE_BEFORE = /^(\s*)((?:-\s+)*)([A-Za-z_][A-Za-z0-9_.-]*):\s+([A-Za-z0-9_-]*)$/;

/**
 * Completion, hover and "did you mean" quick fixes in the release plan, from the plan's JSON schema.
 * References (`${…}`) and quick fixes are always ours; keys and values only when the YAML extension,
 * which would offer the same from the same schema, is not installed (nothing appears twice).
 */
export class PlanHelp implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private schema: JsonSchema | undefined;

  constructor(
    private readonly schemaFile: string,
    private readonly isPlan: (d: vscode.TextDocument) => boolean,
  ) {
    const selector: vscode.DocumentSelector = [
      { scheme: 'file', language: 'yaml' },
      { scheme: 'untitled', language: 'yaml' },
    ];
    this.disposables.push(
      vscode.languages.registerCompletionItemProvider(selector, { provideCompletionItems: (d, p) => this.complete(d, p) }, '{', ' ', '.'),
      vscode.languages.registerHoverProvider(selector, { provideHover: (d, p) => this.hover(d, p) }),
      vscode.languages.registerCodeActionsProvider(
        selector,
        { provideCodeActions: (d, _r, c) => this.quickFixes(d, c) },
        { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] },
      ),
    );
  }

  /** Whether keys and values are left to the YAML extension. */
  yamlExtensionOwnsKeys(): boolean {
    return vscode.extensions.getExtension(YAML_EXTENSION) !== undefined;
  }

  private loadSchema(): JsonSchema | undefined {
    try {
      this.schema ??= JSON.parse(fs.readFileSync(this.schemaFile, 'utf8')) as JsonSchema;
    } catch {
      // Without the schema (a broken install) only references and quick fixes are offered.
    }
    return this.schema;
  }

  complete(doc: vscode.TextDocument, pos: vscode.Position): vscode.CompletionItem[] | undefined {
    if (!this.isPlan(doc)) return undefined;
    const before = doc.lineAt(pos.line).text.slice(0, pos.character);
    const lines = doc.getText().split(/\r?\n/);
    const ref = REF_BEFORE.exec(before);
    if (ref) {
      const after = doc.lineAt(pos.line).text.slice(pos.character);
      const range = new vscode.Range(pos.line, pos.character - ref[1].length, pos.line, pos.character);
      return refSuggestions(declaredVariables(lines)).map((r) => {
        const item = new vscode.CompletionItem(r.ref, vscode.CompletionItemKind.Variable);
        item.detail = `\${${r.ref}}`;
        item.documentation = r.description;
        item.range = range;
        item.insertText = r.ref === 'env:' ? new vscode.SnippetString('env:${1:NAME}}') : after.startsWith('}') ? r.ref : `${r.ref}}`;
        return item;
      });
    }
    const schema = this.loadSchema();
    if (!schema || this.yamlExtensionOwnsKeys()) return undefined;
    const value = VALUE_BEFORE.exec(before);
    if (value) {
      const keyColumn = value[1].length + value[2].length;
      const at = [...containerPath(lines, pos.line, keyColumn), value[3]];
      const range = new vscode.Range(pos.line, pos.character - value[4].length, pos.line, pos.character);
      return valueSuggestions(schema, at).map((v) => Object.assign(new vscode.CompletionItem(v, vscode.CompletionItemKind.EnumMember), { range }));
    }
    const key = KEY_BEFORE.exec(before);
    if (!key) return undefined;
    const column = key[1].length + key[2].length;
    const at = containerPath(lines, pos.line, column);
    const present = siblingKeys(lines, pos.line, column);
    const range = new vscode.Range(pos.line, column, pos.line, pos.character);
    const indent = ' '.repeat(column + 2);
    return keySuggestions(schema, at, present).map((k) => {
      const item = new vscode.CompletionItem(k.key, vscode.CompletionItemKind.Property);
      item.detail = `${k.detail}${k.required ? ' · required' : ''}`;
      if (k.description) item.documentation = new vscode.MarkdownString().appendText(k.description);
      item.range = range;
      item.sortText = `${k.required ? 0 : 1}${k.key}`;
      item.insertText = new vscode.SnippetString(
        k.container === 'object' ? `${k.key}:\n${indent}$0` : k.container === 'list' ? `${k.key}:\n${indent}- $0` : `${k.key}: $0`,
      );
      return item;
    });
  }

  hover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    if (!this.isPlan(doc)) return undefined;
    const lines = doc.getText().split(/\r?\n/);
    const refRange = doc.getWordRangeAtPosition(pos, /\$\{[^}\s]*\}/);
    if (refRange) {
      const text = refHover(doc.getText(refRange).slice(2, -1), declaredVariables(lines));
      if (!text) return undefined;
      // The built-ins' descriptions are ours, written in Markdown; an env: name is whatever the plan wrote.
      const ref = doc.getText(refRange);
      const md = ref.startsWith('${env:') || ref.startsWith('${var.') ? new vscode.MarkdownString().appendText(text) : new vscode.MarkdownString(text);
      return new vscode.Hover(md, refRange);
    }
    const schema = this.loadSchema();
    if (!schema || this.yamlExtensionOwnsKeys()) return undefined;
    const line = doc.lineAt(pos.line).text;
    const m = /^(\s*)((?:-\s+)*)([A-Za-z_][A-Za-z0-9_.-]*)\s*:/.exec(line);
    if (!m) return undefined;
    const start = m[1].length + m[2].length;
    const end = start + m[3].length;
    if (pos.character < start || pos.character > end) return undefined;
    const text = keyHover(schema, [...containerPath(lines, pos.line, start), m[3]]);
    if (!text) return undefined;
    // The first line is ours (bold key, what it takes); the description is text from the schema.
    const [facts, ...rest] = text.split('\n\n');
    const md = new vscode.MarkdownString(facts);
    if (rest.length) md.appendMarkdown('\n\n').appendText(rest.join('\n\n'));
    return new vscode.Hover(md, new vscode.Range(pos.line, start, pos.line, end));
  }

  quickFixes(doc: vscode.TextDocument, context: vscode.CodeActionContext): vscode.CodeAction[] {
    if (!this.isPlan(doc)) return [];
    const actions: vscode.CodeAction[] = [];
    for (const diag of context.diagnostics) {
      if (diag.source !== 'Release Pilot') continue;
      const edits = didYouMeanEdits(diag.message, doc.getText(diag.range));
      if (!edits.length) continue;
      const base = doc.offsetAt(diag.range.start);
      const edit = new vscode.WorkspaceEdit();
      for (const e of edits) edit.replace(doc.uri, new vscode.Range(doc.positionAt(base + e.start), doc.positionAt(base + e.end)), e.text);
      const action = new vscode.CodeAction(`Change to "${edits[0].text}"`, vscode.CodeActionKind.QuickFix);
      action.edit = edit;
      action.diagnostics = [diag];
      action.isPreferred = true;
      actions.push(action);
    }
    return actions;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** The plan schema written beside the bundles by the build. */
export function planSchemaFile(extensionPath: string): string {
  return path.join(extensionPath, 'dist', 'plan.schema.json');
}
