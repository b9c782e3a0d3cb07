import * as vscode from 'vscode';
import type { ReleasePilotApi } from '../../src/extension';

export const EXTENSION_ID = 'release-pilot.release-pilot';

export async function api(): Promise<ReleasePilotApi> {
  const ext = vscode.extensions.getExtension<ReleasePilotApi>(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not loaded`);
  return ext.isActive ? ext.exports : ext.activate();
}

export function folder(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new Error('no workspace folder');
  return f.uri.fsPath;
}

export async function until<T>(f: () => T | undefined | false, ms = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
