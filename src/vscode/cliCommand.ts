import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { installCliOnPath } from '../cli/cliOnPath';
import { UserError } from './userError';

/** Where the command goes: the system's bin folder when it can be written, else the user's own. */
export const CLI_BIN_DIRS = () => ['/usr/local/bin', path.join(os.homedir(), '.local', 'bin')];

/** "Install 'release-pilot' Command in PATH": the CLI the extension carries, run by VS Code's own runtime. */
export async function installCliCommand(extensionUri: vscode.Uri): Promise<void> {
  const r = installCliOnPath({
    cli: vscode.Uri.joinPath(extensionUri, 'dist', 'cli.js').fsPath,
    node: process.execPath,
    dirs: CLI_BIN_DIRS(),
    pathEnv: process.env.PATH ?? '',
  });
  if (!r.ok) throw new UserError(r.message);
  const did = `${r.replaced ? 'Updated' : 'Installed'} the release-pilot command at ${r.file}.`;
  if (r.onPath) {
    void vscode.window.showInformationMessage(`${did} Try "release-pilot --version" in a new terminal.`);
    return;
  }
  const line = `export PATH="${path.dirname(r.file)}:$PATH"`;
  const pick = await vscode.window.showWarningMessage(`${did} Its folder is not on PATH: add "${line}" to your shell's profile.`, 'Copy Line');
  if (pick === 'Copy Line') await vscode.env.clipboard.writeText(line);
}
