// The integration suite through @vscode/test-electron, for people with a desktop VS Code (it
// downloads one when it can). Where no VS Code can be downloaded, point VSCODE_EXECUTABLE at
// test/host/run.mjs: it accepts the same arguments and runs the suite in the code-server host.
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';
import { prepareWorkspace } from '../host/workspace.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
execFileSync(process.execPath, ['esbuild.mjs', '--tests'], { cwd: ROOT, stdio: 'inherit' });
const folder = prepareWorkspace('ws-basic');
try {
  await runTests({
    vscodeExecutablePath: process.env.VSCODE_EXECUTABLE ? path.resolve(process.env.VSCODE_EXECUTABLE) : undefined,
    extensionDevelopmentPath: ROOT,
    extensionTestsPath: path.join(ROOT, 'out', 'integration', 'suite-trusted.js'),
    launchArgs: [folder, '--disable-extensions'],
  });
} catch (e) {
  console.error(`Integration tests failed: ${e.message}`);
  process.exit(1);
}
