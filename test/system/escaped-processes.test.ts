import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ROOT } from '../support/helpers';
import { killStepWatchers, processesIn } from '../support/processes';
import { waitFor } from '../support/waitFor';
import { smallPlan, workspace, type Workspace } from '../support/fixtures';

/**
 * A step's process group is not its whole tree: children leave it (setsid, setpgid, job control) or
 * are handed to init by a subshell that exits. Each such way is below, each with a sleep of its own
 * length so the survivors can be named; every one of them must be gone when the step is cut short
 * (a signal to the CLI, a timeout, kill -9 then abandon), and a daemon a step starts on purpose must
 * not be touched when the step ends normally.
 */
const ESCAPES: [string, string][] = [
  ['a child in the group (control)', 'sleep 3001 &'],
  ['setsid, its parent alive', 'setsid sleep 3002 &'],
  ["setsid in a subshell that exits (the child is init's)", '( setsid sleep 3003 & )'],
  ['job control (set -m): a group of its own', '( set -m; sleep 3004 & wait ) &'],
  ['setpgid from the program itself (perl setpgrp)', "perl -e 'setpgrp(0,0); sleep 3005' &"],
  ['setsid ignoring SIGTERM (needs the SIGKILL after the grace)', "( trap '' TERM; exec setsid sleep 3006 ) &"],
  ['a double fork into a new session', '( ( setsid sleep 3007 & ) & )'],
  ['setsid --fork', 'setsid -f sleep 3008'],
  ['disowned', 'sleep 3009 & disown'],
  ['renamed (exec -a)', '( exec -a innocent-name sleep 3010 ) &'],
  ['nohup and setsid, output elsewhere', 'nohup setsid sleep 3011 > /dev/null 2>&1 &'],
];
const SECONDS = ESCAPES.map((_e, i) => 3001 + i);
const TREE = `echo $$ > deploy.pid\n${ESCAPES.map(([, line]) => line).join('\n')}\ntouch tree-up\nwait\nsleep 300\n`;

const CLI = path.join(ROOT, 'dist', 'cli.js');
const ENV = { ...process.env, USER: 'cli-user' };

const plan = (timeout = '') =>
  smallPlan({
    deploy: `    steps:\n      - name: deploy\n        production: true\n        run: bash tree.sh${timeout ? `\n        timeout: ${timeout}` : ''}`,
  });

/** The sleeps of ESCAPES still running, by length. */
const sleeping = (ws: Workspace) =>
  processesIn(ws.dir)
    .map((p) => /\b(?:sleep|innocent-name) (30\d\d)\b/.exec(p)?.[1])
    .filter(Boolean)
    .map(Number)
    .sort();

async function treeUp(ws: Workspace, out: () => string): Promise<void> {
  const up = await waitFor(() => fs.existsSync(path.join(ws.dir, 'tree-up')) && sleeping(ws).length === SECONDS.length, 20_000);
  assert.ok(up, `every escape is running: ${JSON.stringify(sleeping(ws))}\n${processesIn(ws.dir).join('\n')}\n${out()}`);
  // Each left the step's process group except the control, the disowned and the renamed one.
  const stepPid = Number(fs.readFileSync(path.join(ws.dir, 'deploy.pid'), 'utf8'));
  const pgidOf = (sec: number) => {
    const line = processesIn(ws.dir).find((p) => new RegExp(`\\b(?:sleep|innocent-name) ${sec}\\b`).test(p))!;
    const stat = fs.readFileSync(`/proc/${line.split(' ')[0]}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  };
  const outside = SECONDS.filter((s) => pgidOf(s) !== stepPid);
  assert.ok(outside.length >= 7, `most escapes left the step's group: ${JSON.stringify(outside)}`);
}

function start(ws: Workspace, ...args: string[]) {
  const child = spawn('node', [CLI, ...args, '--plan', ws.planFile], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

async function noneLeft(ws: Workspace, what: string): Promise<void> {
  const gone = await waitFor(() => sleeping(ws).length === 0, 15_000, 50);
  const left = sleeping(ws);
  // Whatever a failed assertion leaves is ended here, so the next test starts clean.
  for (const p of processesIn(ws.dir)) spawnSync('kill', ['-KILL', p.split(' ')[0]]);
  assert.ok(gone, `${what}: still running: ${left.map((s) => ESCAPES[s - 3001][0]).join('; ')}`);
}

describe("a step cut short ends the processes that left its group (the step's mark)", function () {
  this.timeout(90_000);

  it('SIGTERM to the CLI mid-step: every escape is gone', async () => {
    const ws = workspace(plan(), { 'tree.sh': TREE });
    const live = start(ws, 'run', '--yes', '--tick', 'sign-off');
    await treeUp(ws, live.out);
    live.child.kill('SIGTERM');
    assert.equal(await live.exited, 143, live.out());
    await noneLeft(ws, 'after SIGTERM');
  });

  it('a step timeout: every escape is gone', async () => {
    const ws = workspace(plan('4s'), { 'tree.sh': TREE });
    const live = start(ws, 'run', '--yes', '--tick', 'sign-off');
    await treeUp(ws, live.out);
    await live.exited;
    assert.match(live.out(), /timed out/, live.out());
    await noneLeft(ws, 'after the timeout');
  });

  it("kill -9 of the CLI and of its step's watcher, then abandon: the journal names the processes outside the group, and every escape is gone", async () => {
    const ws = workspace(plan(), { 'tree.sh': TREE });
    const live = start(ws, 'run', '--yes', '--tick', 'sign-off');
    await treeUp(ws, live.out);
    // A crash of both: the step runs on, for the abandon to end.
    assert.equal(killStepWatchers(ws.dir), 1, "the deploy step's watcher");
    live.child.kill('SIGKILL');
    await live.exited;
    assert.equal(sleeping(ws).length, SECONDS.length, 'nothing ended them yet: the CLI died at once');
    const r = spawnSync('node', [CLI, 'abandon', '--reason', 'the CLI was killed', '--plan', ws.planFile], { encoding: 'utf8', env: ENV, timeout: 60_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    await noneLeft(ws, 'after abandon');
    const runs = path.join(ws.dir, '.release', 'runs');
    const journal = fs.readFileSync(path.join(runs, fs.readdirSync(runs)[0], 'journal.jsonl'), 'utf8');
    assert.match(journal, /ended the processes left running by the interrupted step \\"deploy\\" \(process group \d+ and \d+ process\(es\) outside it\)/);
  });

  it('a step that ends normally keeps the daemon it started on purpose (setsid), as before', async () => {
    const ws = workspace(plan(), { 'tree.sh': 'setsid sleep 3001 > /dev/null 2>&1 < /dev/null &\necho "version 1.2.3" > deployed.txt\n' });
    const r = spawnSync('node', [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], { encoding: 'utf8', env: ENV, timeout: 60_000 });
    try {
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.deepEqual(sleeping(ws), [3001], 'the daemon still runs after the release');
    } finally {
      for (const p of processesIn(ws.dir)) spawnSync('kill', ['-KILL', p.split(' ')[0]]);
    }
  });
});
