import * as vscode from 'vscode';
import type { ReleasePilotApi } from '../../src/extension';
import { waitFor } from '../support/waitFor';

export const EXTENSION_ID = 'release-pilot.release-pilot';

export async function api(): Promise<ReleasePilotApi> {
  const ext = vscode.extensions.getExtension<ReleasePilotApi>(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not loaded`);
  const exports = ext.isActive ? ext.exports : await ext.activate();
  await exports.ready;
  return exports;
}

export function folder(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new Error('no workspace folder');
  return f.uri.fsPath;
}

/** Resolves with the first truthy value of `f`; fails naming `what` after `ms`. */
export async function until<T>(f: () => T | undefined | false, ms = 10_000, what = 'condition'): Promise<T> {
  const v = await waitFor(f, ms, 50);
  if (!v) throw new Error(`timed out waiting for ${what}`);
  return v;
}
