import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../support/helpers';
import { processesWhere } from '../support/processes';

function listing(dir: string): Set<string> {
  if (!fs.existsSync(dir)) return new Set();
  return new Set(fs.readdirSync(dir, { recursive: true }).map(String));
}

/** The test host's servers, extension hosts and browsers still running. */
function hostProcesses(): string[] {
  return processesWhere((p) => /rp-host-|\.test-host\/code-server/.test(p.cmd)).map((p) => p.slice(0, 120));
}

describe('the real-VS-Code test host itself', function () {
  this.timeout(600_000);

  it('fails the run on a broken assertion in the extension host and in the workbench, and leaves nothing behind', () => {
    const home = os.homedir();
    const dirs = ['.config', '.local', '.cache'].map((d) => path.join(home, d));
    const before = dirs.map(listing);
    const env = { ...process.env };
    delete env.TEST_GREP;
    const r = spawnSync(process.execPath, ['test/host/run.mjs', '--version', 'min', '--integration', '--e2e', '--self-check'], {
      cwd: ROOT,
      encoding: 'utf8',
      env,
      // It takes about a minute; a host that hangs fails here with what it printed, instead of at mocha's limit with nothing.
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(r.status, 1, `${r.error ? `${String(r.error)}\n` : ''}${r.stdout.slice(-3000)}${r.stderr.slice(-2000)}`);
    const { passed, failed } = JSON.parse(/^RESULT (\{.*\})$/m.exec(r.stdout)![1]) as { passed: number; failed: number };
    assert.deepEqual(
      { passed, failed },
      { passed: 1, failed: 2 },
      `one integration test passed; the integration and the UI test that must fail did:\n${r.stdout.slice(-3000)}`,
    );
    assert.match(r.stdout, /fails on purpose: a broken assertion must fail the run/);
    assert.ok(fs.existsSync(path.join(ROOT, 'test-results', 'vscode-min', 'FAILED-selfcheck.png')), 'a failing UI test saves a screenshot');
    assert.deepEqual(hostProcesses(), [], 'no server, extension host or browser survives');
    dirs.forEach((d, i) => {
      const added = [...listing(d)].filter((f) => !before[i].has(f));
      assert.deepEqual(added, [], `nothing new under ${d}`);
    });
  });
});
