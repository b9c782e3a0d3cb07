// Breaks found by a tester who had only the README, each kept as a test of the CLI as a user runs it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { foldJournal } from '../../src/core/model/releaseState';
import { readJournal } from '../../src/core/journal/journal';
import { gitRepo, ROOT, tempDir, write } from '../support/helpers';
import { processesIn } from '../support/processes';
import { waitFor } from '../support/waitFor';
import { smallPlan, workspace, type Workspace } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');
const gitConfig = write(tempDir('rp-gitcfg-'), 'gitconfig', '[user]\n\tname = Ada Operator\n\temail = ada@example.com\n');
const ENV = { ...process.env, GIT_CONFIG_GLOBAL: gitConfig };

function cli(ws: Workspace, env: Record<string, string>, ...args: string[]) {
  return spawnSync('node', [CLI, ...args, '--plan', ws.planFile], { encoding: 'utf8', env: { ...ENV, ...env }, timeout: 60_000 });
}

function everything(ws: Workspace, out: string): string {
  const runs = path.join(ws.dir, '.release/runs');
  const texts = [out];
  const walk = (d: string) => {
    for (const f of fs.readdirSync(d)) {
      const p = path.join(d, f);
      if (fs.statSync(p).isDirectory()) walk(p);
      else texts.push(fs.readFileSync(p, 'utf8'));
    }
  };
  if (fs.existsSync(runs)) walk(runs);
  return texts.join('\n');
}

function onlyJournal(ws: Workspace): string {
  const runs = path.join(ws.dir, '.release/runs');
  const ids = fs.readdirSync(runs).filter((d) => fs.existsSync(path.join(runs, d, 'journal.jsonl')));
  assert.equal(ids.length, 1, ids.join(', '));
  return path.join(runs, ids[0], 'journal.jsonl');
}

describe('attacks from the README alone', function () {
  this.timeout(120_000);

  it("a step runs with the value of ${env:NAME}, not its mask: the journal shows bash's ${NAME}, the shell gets the value", () => {
    const ws = workspace(
      smallPlan({
        deploy: `    steps:\n      - name: deploy\n        run: '[ "\${env:TINY_TOKEN}" = "$TINY_TOKEN" ] && echo SAME > same.txt && echo 1.2.3 > deployed.txt'`,
      }),
    );
    const r = cli(ws, { TINY_TOKEN: 'hunter2hunter2' }, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(fs.readFileSync(path.join(ws.dir, 'same.txt'), 'utf8'), 'SAME\n');
    const all = everything(ws, r.stdout + r.stderr);
    assert.ok(!all.includes('hunter2hunter2'), 'the secret stays masked in every output');
    // The command reads the variable as bash's own expansion: the value is never in its text.
    assert.match(fs.readFileSync(onlyJournal(ws), 'utf8'), /\[ \\"\$\{TINY_TOKEN\}\\" = /);
  });

  it('a secret the verdict quotes with runs of spaces stays masked in the refusal', () => {
    const ws = workspace(smallPlan({ acceptance: `command: 'printf "Verdict: %s\\n" "$TINY_TOKEN"'` }));
    const secret = 'hunter  22  secret';
    const r = cli(ws, { TINY_TOKEN: secret }, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const all = everything(ws, r.stdout + r.stderr);
    for (const form of [secret, 'hunter 22 secret', 'hunter 22']) assert.ok(!all.includes(form), `"${form}" leaked`);
    assert.match(r.stdout, /Verdict: \*\*\*/);
  });

  it('HEAD past the release tag: the git gate refuses the start, and no run is left to block the next one', () => {
    const ws = workspace(smallPlan({ checklist: `  - id: main-tagged\n    title: Merged and tagged\n    git: { branch: main }` }));
    const git = gitRepo(ws.dir);
    git('add', '-A');
    git('commit', '-qm', 'feat: tiny');
    git('tag', 'v1.2.3');
    write(ws.dir, 'later.txt', 'later\n');
    git('add', '-A');
    git('commit', '-qm', 'fix: later');
    const r = cli(ws, {}, 'run', '--yes');
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /HEAD is not tagged v1\.2\.3/);
    const s = foldJournal(readJournal(onlyJournal(ws)).events, { closed: true });
    assert.equal(s.status, 'aborted', s.outcomeMessage);
    git('tag', '-f', 'v1.2.3');
    const again = cli(ws, {}, 'run', '--yes');
    assert.equal(again.status, 0, again.stdout + again.stderr);
  });

  it('SIGTERM while the verdict command runs: the CLI ends, and so does every process the command started', async () => {
    const ws = workspace(smallPlan({ acceptance: `command: 'sleep 3030; echo Ready for Launch'` }));
    const child = spawn('node', [CLI, 'run', '--yes', '--plan', ws.planFile], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'], cwd: ws.dir });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    assert.ok(await waitFor(() => processesIn(ws.dir).some((p) => p.includes('sleep 3030')), 20_000), 'the verdict command started');
    const t0 = Date.now();
    child.kill('SIGTERM');
    // Waits for the CLI, a real process, to exit: it ends as soon as it does; the 15 s bound only names a hang.
    const ended = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
    assert.notEqual(ended, 'hung', `the CLI did not end: ${out}`);
    assert.ok(await waitFor(() => !processesIn(ws.dir).some((p) => p.includes('sleep 3030')), 5_000), `left running: ${processesIn(ws.dir).join('; ')}`);
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(ended, 143, out);
  });

  it('a stray file in the runs folder is not a run', () => {
    const ws = workspace();
    write(ws.dir, '.release/runs/.DS_Store', 'x');
    const r = cli(ws, {}, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
