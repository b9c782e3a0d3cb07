import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ROOT } from '../support/helpers';
import { alive, killStepWatchers } from '../support/processes';
import { waitFor } from '../support/waitFor';
import { smallPlan, workspace, type Workspace } from '../support/fixtures';
import { tempDir } from '../support/helpers';
import { StepRunner } from '../../src/core/exec/runner';
import { SecretMasker } from '../../src/core/exec/mask';

/**
 * What a step starts is held whole by the system (a cgroup per step): a daemon that leaves the step's
 * session AND empties its environment (so no mark is left to find, as OpenSSH's ControlPersist master
 * does when it rewrites its process title) is still the step's, and goes when the release is stopped.
 * The processes are named by their pid and start time, never by their name.
 */
const CLI = path.join(ROOT, 'dist', 'cli.js');
const ENV = { ...process.env, USER: 'cli-user' };

// Each escape writes "pid start" to a file of its own, read from /proc/self/stat by the escaped process itself.
const WHO = `read -r __s < /proc/self/stat; echo "$$ $(echo "\${__s##*) }" | cut -d' ' -f20)"`;
const ESCAPES = [
  // setsid + env -i: out of the group, no mark; exec -a renames it.
  `setsid env -i /bin/bash -c '${WHO.replace(/'/g, `'\\''`)} > escape1.pid; exec -a sshd-like sleep 3201' < /dev/null > /dev/null 2>&1 &`,
  // A double fork handed to init; perl empties the environment and renames itself as it becomes sleep (the pid and start stay).
  `( setsid perl -e 'open(my $f, ">", "escape2.pid"); my @s = split / /, (do { local $/; open(my $p, "<", "/proc/self/stat"); <$p> }) =~ s/^.*\\) //sr; print $f "$$ $s[19]\\n"; close $f; %ENV = (); exec { "sleep" } "ssh: [mux]", "3202"' < /dev/null > /dev/null 2>&1 & )`,
];
const TREE = `${ESCAPES.join('\n')}\nwhile [ ! -s escape1.pid ] || [ ! -s escape2.pid ]; do sleep 0.05; done\ntouch tree-up\nsleep 300\n`;

const plan = () => smallPlan({ deploy: `    steps:\n      - name: deploy\n        production: true\n        run: bash tree.sh` });

function start(ws: Workspace, ...args: string[]) {
  const child = spawn('node', [CLI, ...args, '--plan', ws.planFile], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

/** The escapes as recorded by themselves: pid and start ticks. */
const recorded = (ws: Workspace) =>
  ['escape1.pid', 'escape2.pid'].map((f) => {
    const [pid, ticks] = fs.readFileSync(path.join(ws.dir, f), 'utf8').trim().split(' ').map(Number);
    return { pid, ticks };
  });

/** Whether the recorded process still runs: the same pid with the same start (a reused pid is not it). */
function stillRunning(p: { pid: number; ticks: number }): boolean {
  if (!alive(p.pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) === p.ticks;
  } catch {
    return false;
  }
}

function runJournal(ws: Workspace): string {
  const runs = path.join(ws.dir, '.release', 'runs');
  return fs.readFileSync(path.join(runs, fs.readdirSync(runs)[0], 'journal.jsonl'), 'utf8');
}

/** The step's cgroup (named by its mark in the journal) holds no process, or is gone. */
function cgroupEmpty(ws: Workspace): boolean {
  const mark = /"type":"step.running"[^\n]*"mark":"([^"]+)"/.exec(runJournal(ws))?.[1];
  assert.ok(mark, 'the journal records the step mark');
  const events = `/sys/fs/cgroup/unified/release-pilot/${mark}/cgroup.events`;
  return !fs.existsSync(events) || /^populated 0$/m.test(fs.readFileSync(events, 'utf8'));
}

async function noneLeft(ws: Workspace, what: string): Promise<void> {
  const procs = recorded(ws);
  // Waits for the kill to reach the escaped processes (10 s at most).
  const gone = await waitFor(() => procs.every((p) => !stillRunning(p)) && cgroupEmpty(ws), 10_000, 50);
  const left = procs.filter(stillRunning);
  for (const p of left) spawnSync('kill', ['-KILL', String(p.pid)]);
  assert.ok(gone, `${what}: still running: ${JSON.stringify(left)}; cgroup empty: ${cgroupEmpty(ws)}`);
}

describe('nothing a step started outlives a stop of the release, out of its session and without its mark', function () {
  this.timeout(90_000);

  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    it(`${signal} to the CLI mid-step: the escaped daemons are gone within 10 s`, async () => {
      const ws = workspace(plan(), { 'tree.sh': TREE });
      const live = start(ws, 'run', '--yes', '--tick', 'sign-off');
      const up = await waitFor(() => fs.existsSync(path.join(ws.dir, 'tree-up')), 20_000);
      assert.ok(up, live.out());
      assert.ok(recorded(ws).every(stillRunning), 'both escapes run before the signal');
      live.child.kill(signal);
      await live.exited;
      await noneLeft(ws, `after ${signal}`);
    });

  it('kill -9 of the CLI: the escaped daemons are gone within 10 s with nobody running anything (the step died with the release)', async () => {
    const ws = workspace(plan(), { 'tree.sh': TREE });
    const live = start(ws, 'run', '--yes', '--tick', 'sign-off');
    assert.ok(await waitFor(() => fs.existsSync(path.join(ws.dir, 'tree-up')), 20_000), live.out());
    assert.ok(recorded(ws).every(stillRunning), 'both escapes run before the signal');
    live.child.kill('SIGKILL');
    await live.exited;
    await noneLeft(ws, 'after kill -9, nothing run since');
  });

  it('kill -9 of the CLI and of the watcher of its step (a crash of both), then abandon: the escaped daemons are gone, and the journal says the cgroup ended them', async () => {
    const ws = workspace(plan(), { 'tree.sh': TREE });
    const live = start(ws, 'run', '--yes', '--tick', 'sign-off');
    assert.ok(await waitFor(() => fs.existsSync(path.join(ws.dir, 'tree-up')), 20_000), live.out());
    // The watcher: the shell that entered the step's cgroup left it outside, waiting on the release's lifeline.
    assert.equal(killStepWatchers(ws.dir), 1, "the deploy step's watcher");
    live.child.kill('SIGKILL');
    await live.exited;
    const r = spawnSync('node', [CLI, 'abandon', '--reason', 'the CLI was killed', '--plan', ws.planFile], { encoding: 'utf8', env: ENV, timeout: 60_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    await noneLeft(ws, 'after abandon');
    // The group and the mark sweep go first and may end some of them; the two escapes without a mark
    // are the cgroup's to end, and it says how many it found.
    assert.match(runJournal(ws), /ended the processes left running by the interrupted step \\"deploy\\" \(.*\b[12] process\(es\) in its cgroup\)"/);
  });
});

/**
 * A daemon as OpenSSH's ControlPersist master makes itself: a double fork (its parent exits, so init
 * adopts it), `setsid`, then, half a second later, its environment emptied (the mark gone) and its title
 * rewritten. It records "pid start" itself, then waits until its own environ no longer holds the mark.
 */
const DAEMON = `perl -MPOSIX=setsid -e 'exit 0 if fork; setsid(); exit 0 if fork; open(my $f, ">", "escape3.pid.tmp"); my @s = split / /, (do { local $/; open(my $p, "<", "/proc/self/stat"); <$p> }) =~ s/^.*\\) //sr; print $f "$$ $s[19]\\n"; close $f; rename "escape3.pid.tmp", "escape3.pid"; select(undef, undef, undef, 0.5); %ENV = (); exec { "sleep" } "ssh: [mux]", "3203"' < /dev/null > /dev/null 2>&1
while [ ! -s escape3.pid ]; do sleep 0.05; done
read -r __pid __ticks < escape3.pid
while tr '\\0' '\\n' < /proc/$__pid/environ 2>/dev/null | grep -q '^RELEASE_PILOT_STEP='; do sleep 0.05; done
touch tree-up
sleep 300
`;

describe('without a cgroup (none can be made: not root, a read-only cgroupfs), the tree followed while the step runs', function () {
  this.timeout(90_000);
  const NO_CGROUP = { ...ENV, RELEASE_PILOT_NO_CGROUP: '1' };

  it('the probe picks a cgroup on this machine: the step runs in release-pilot/<its mark>', async () => {
    const dir = tempDir('rp-probe-');
    const logFile = path.join(dir, 'step.log');
    const step = new StepRunner(new SecretMasker([]), 300).run({
      command: 'cat /proc/self/cgroup',
      cwd: dir,
      env: { PATH: process.env.PATH },
      timeoutMs: 10_000,
      logFile,
    });
    const r = await step.result;
    assert.equal(r.exitCode, 0, r.tail);
    assert.match(fs.readFileSync(logFile, 'utf8'), new RegExp(`^0::.*/release-pilot/${step.mark}$`, 'm'));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    it(`${signal} to the CLI mid-step: a daemon that double-forked, left the session and emptied its environment is gone within 10 s`, async () => {
      const ws = workspace(plan(), { 'tree.sh': DAEMON });
      const child = spawn('node', [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], { env: NO_CGROUP, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const exited = new Promise((r) => child.once('exit', r));
      const up = await waitFor(() => fs.existsSync(path.join(ws.dir, 'tree-up')), 20_000);
      assert.ok(up, out);
      const [pid, ticks] = fs.readFileSync(path.join(ws.dir, 'escape3.pid'), 'utf8').trim().split(' ').map(Number);
      const daemon = { pid, ticks };
      assert.ok(stillRunning(daemon), 'the daemon runs before the signal');
      const stepPid = Number(/"type":"step.running"[^\n]*"pid":(\d+)/.exec(runJournal(ws))?.[1]);
      const [, , , , pgid, sid] = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ');
      assert.ok(
        stepPid > 0 && Number(pgid) !== stepPid && Number(sid) !== stepPid,
        `the daemon left the step's group and session (${pgid}, ${sid}; the step ${stepPid})`,
      );
      assert.doesNotMatch(fs.readFileSync(`/proc/${pid}/environ`, 'utf8'), /RELEASE_PILOT_STEP=/, 'no mark left on the daemon');
      child.kill(signal);
      await exited;
      // Waits for the kill to reach the daemon (10 s at most).
      const gone = await waitFor(() => !stillRunning(daemon), 10_000, 50);
      if (!gone) spawnSync('kill', ['-KILL', String(pid)]);
      assert.ok(gone, `after ${signal}: the daemon ${pid} still runs; ${out.slice(-2000)}`);
    });
});

describe('a step ends when its shell exits, and keeps a bounded log', function () {
  this.timeout(90_000);

  it('a step whose nohup daemon holds its output open ends with its shell, long before its timeout, and passes', async () => {
    // nohup keeps its output where it is when that is not a terminal: the daemon holds the step's pipe.
    const step = `nohup bash -c '${WHO.replace(/'/g, `'\\''`)} > escape1.pid; echo from the daemon; exec sleep 3203' &\necho 'version 1.2.3' > deployed.txt\n`;
    const ws = workspace(smallPlan({ deploy: `    steps:\n      - name: deploy\n        run: bash step.sh\n        timeout: 20s` }), { 'step.sh': step });
    try {
      const r = spawnSync('node', [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], { encoding: 'utf8', env: ENV, timeout: 60_000 });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const finished = runJournal(ws)
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; step?: string; durationMs?: number; exitCode?: number; timedOut?: boolean })
        .find((e) => e.type === 'step.finished' && e.step === 'deploy/0');
      assert.ok(finished, runJournal(ws));
      assert.equal(finished.exitCode, 0);
      assert.equal(finished.timedOut, false);
      // Held open, the pipe would keep the step to its 20 s timeout; its shell exits at once and the
      // output is read 500 ms more. 10 s is far from both, on a machine busy with other tests.
      assert.ok(finished.durationMs! < 10_000, `the step took ${finished.durationMs} ms`);
      // A daemon started on purpose by a step that ended normally still runs.
      assert.ok(recorded1(ws).every(stillRunning), 'the daemon still runs');
    } finally {
      if (fs.existsSync(path.join(ws.dir, 'escape1.pid'))) for (const p of recorded1(ws)) spawnSync('kill', ['-KILL', String(p.pid)]);
    }
  });

  it('a step printing 1 GiB keeps 16 MiB of it, says how much it did not keep, and passes', async () => {
    const ws = workspace(
      smallPlan({
        deploy: `    steps:\n      - name: deploy\n        run: head -c 1073741824 /dev/zero | tr '\\0' x; echo; echo 'version 1.2.3' | tee deployed.txt`,
      }),
      {},
    );
    const r = spawnSync('node', [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], {
      encoding: 'utf8',
      env: ENV,
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(r.status, 0, r.stdout.slice(-2000) + r.stderr);
    const logs = path.join(ws.dir, '.release', 'runs', fs.readdirSync(path.join(ws.dir, '.release', 'runs'))[0], 'logs');
    const log = fs.readdirSync(logs).find((f) => f.startsWith('deploy_0'))!;
    const size = fs.statSync(path.join(logs, log)).size;
    assert.ok(size <= 16 * 1024 * 1024 + 200, `the log holds ${size} bytes`);
    const end = fs.readFileSync(path.join(logs, log), 'utf8').slice(-200);
    assert.match(end, /… 1056964623 bytes not kept \(the step's output cap of 16777216 bytes\)/);
    assert.ok(fs.statSync(path.join(ws.dir, '.release', 'runs', fs.readdirSync(path.join(ws.dir, '.release', 'runs'))[0], 'journal.jsonl')).size < 1024 * 1024);
  });

  it('outputCapMiB: 1 keeps 1 MiB of a step that prints 3 MB', async () => {
    const ws = workspace(
      smallPlan({
        deploy: `    steps:\n      - name: deploy\n        outputCapMiB: 1\n        run: head -c 3000000 /dev/zero | tr '\\0' y; echo 'version 1.2.3' > deployed.txt`,
      }),
      {},
    );
    const r = spawnSync('node', [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], {
      encoding: 'utf8',
      env: ENV,
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(r.status, 0, r.stdout.slice(-2000) + r.stderr);
    const logs = path.join(ws.dir, '.release', 'runs', fs.readdirSync(path.join(ws.dir, '.release', 'runs'))[0], 'logs');
    const text = fs.readFileSync(
      path.join(
        logs,
        fs.readdirSync(logs).find((f) => f.startsWith('deploy_0'))!,
      ),
      'utf8',
    );
    assert.ok(text.length < 1024 * 1024 + 200, `the log holds ${text.length} bytes`);
    assert.match(text.slice(-100), /… 1951424 bytes not kept \(the step's output cap of 1048576 bytes\)/);
  });
});

const recorded1 = (ws: Workspace) => {
  const [pid, ticks] = fs.readFileSync(path.join(ws.dir, 'escape1.pid'), 'utf8').trim().split(' ').map(Number);
  return [{ pid, ticks }];
};
