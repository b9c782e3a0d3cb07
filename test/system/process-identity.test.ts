import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fc from 'fast-check';
import { ROOT, tempDir } from '../support/helpers';
import { alive } from '../support/processes';
import { waitFor } from '../support/waitFor';
import { smallPlan, workspace } from '../support/fixtures';
import { signalRecorded } from '../../src/core/exec/signal';
import { processStart } from '../../src/core/exec/identity';

/**
 * After a crash, resume, abandon and rollback end what the interrupted step left running. The journal
 * names the step's process group by a pid, and a pid is handed out again (the step ended, a reboot, a
 * wrap-around at 32768): whatever now has that pid must survive, and the journal must say so.
 */
const CLI = path.join(ROOT, 'dist', 'cli.js');
const ENV: NodeJS.ProcessEnv = { ...process.env, USER: 'cli-user' };
delete ENV.RELEASE_PILOT_STEP;
const SLOW_DEPLOY = `    steps:\n      - name: deploy\n        run: echo $$ > deploy.pid; sleep 30`;

interface Crashed {
  dir: string;
  planFile: string;
  journal: string;
  /** The pid the journal recorded for the deploy step. */
  stepPid: number;
}

/** A release in the CLI, kill -9'd while its deploy step runs; then, as a reboot would, the step's processes end too. */
async function crashedRelease(): Promise<Crashed> {
  const ws = workspace(smallPlan({ deploy: SLOW_DEPLOY }));
  const child = spawn('node', [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], { stdio: 'ignore', env: ENV });
  const runs = path.join(ws.dir, '.release/runs');
  let journal = '';
  const ok = await waitFor(() => {
    if (!fs.existsSync(runs)) return false;
    const [id] = fs.readdirSync(runs);
    journal = path.join(runs, id ?? '', 'journal.jsonl');
    return fs.existsSync(journal) && fs.existsSync(path.join(ws.dir, 'deploy.pid'));
  }, 20_000);
  assert.ok(ok, 'the deploy step started');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const running = fs
    .readFileSync(journal, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; step?: string; pid?: number; start?: unknown })
    .find((e) => e.type === 'step.running' && e.step === 'deploy/0')!;
  assert.ok(running.start, 'the journal records when the step started, beside its pid');
  const stepPid = running.pid!;
  try {
    process.kill(-stepPid, 'SIGKILL');
  } catch {
    // already gone
  }
  assert.ok(await waitFor(() => !alive(stepPid), 10_000), 'the step ended');
  return { dir: ws.dir, planFile: ws.planFile, journal, stepPid };
}

/** A process of nobody's release, leading its own group (as a step's shell does), without any step's mark. */
function unrelated(): ChildProcess & { pid: number } {
  const p = spawn('sleep', ['300'], { detached: true, stdio: 'ignore', env: ENV });
  return p as ChildProcess & { pid: number };
}

/** Makes the journal say the step had `pid` (as a pid handed out again would), keeping what else it recorded. */
function recordPid(c: Crashed, pid: number, edit: (e: Record<string, unknown>) => void = () => {}): void {
  const lines = fs.readFileSync(c.journal, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes('"type":"step.running","step":"deploy/0"'));
  const e = JSON.parse(lines[i]) as Record<string, unknown>;
  e.pid = pid;
  edit(e);
  lines[i] = JSON.stringify(e);
  fs.writeFileSync(c.journal, lines.join('\n'));
}

const COMMANDS: [string, string[]][] = [
  ['resume', ['resume']],
  ['abandon', ['abandon', '--reason', 'the host rebooted']],
  ['rollback', ['rollback', '--yes', '--reason', 'the host rebooted']],
];

const REFUSED = (pid: number) => new RegExp(`pid ${pid} is not the step's process any more \\(started at \\S+, recorded \\S+\\): nothing signalled`);

function assertNothingClaimed(c: Crashed, out: string, survivor: number, refused: RegExp): void {
  assert.ok(alive(survivor), `the unrelated process ${survivor} survived\n${out}`);
  assert.match(out, refused, out);
  const journal = fs.readFileSync(c.journal, 'utf8');
  assert.match(journal, refused);
  assert.doesNotMatch(journal, /ended the processes left running/, 'the journal does not claim it ended the step');
  assert.doesNotMatch(out, /ended the processes left running/, 'nor does the output');
}

describe('process identity: a recorded pid now naming another process is never signalled', function () {
  this.timeout(120_000);
  const started: ChildProcess[] = [];
  afterEach(() => {
    for (const p of started.splice(0)) p.kill('SIGKILL');
  });

  for (const [name, args] of COMMANDS) {
    it(`${name} after a crash: the journal's pid is a live unrelated process group; it survives and the output says nothing was signalled`, async () => {
      const c = await crashedRelease();
      const other = unrelated();
      started.push(other);
      recordPid(c, other.pid);
      const r = spawnSync('node', [CLI, ...args, '--plan', c.planFile], { encoding: 'utf8', env: ENV, timeout: 60_000 });
      assertNothingClaimed(c, r.stdout + r.stderr, other.pid, REFUSED(other.pid));
    });

    it(`${name} after a reboot (a fresh pid namespace): the step's own pid, handed to an unrelated process, is not signalled`, async function () {
      if (process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/unshare')) this.skip();
      const c = await crashedRelease();
      const p = c.stepPid;
      // In a new pid namespace the next pid is ns_last_pid + 1: the unrelated process gets the recorded pid, and
      // leads a group of its own (setsid), as the step's shell did. The journal is the one the crash left.
      const script = [
        `echo ${p - 1} > /proc/sys/kernel/ns_last_pid`,
        'setsid sleep 300 &',
        'u=$!',
        `[ "$u" = ${p} ] || { echo "got pid $u"; exit 9; }`,
        `node ${JSON.stringify(CLI)} ${args.map((a) => JSON.stringify(a)).join(' ')} --plan ${JSON.stringify(c.planFile)}`,
        'kill -0 "$u" && echo UNRELATED-ALIVE',
      ].join('\n');
      const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'bash', '-c', script], { encoding: 'utf8', env: ENV, timeout: 60_000 });
      const out = r.stdout + r.stderr;
      assert.notEqual(r.status, 9, out);
      assert.match(out, /UNRELATED-ALIVE/, `the process with the recorded pid survived\n${out}`);
      assert.match(out, REFUSED(p), out);
      assert.doesNotMatch(fs.readFileSync(c.journal, 'utf8'), /ended the processes left running/);
    });
  }

  it('an older journal (no recorded start): only processes carrying the mark are ended, the group at the recorded pid is not', async () => {
    const ws = workspace(smallPlan({ deploy: SLOW_DEPLOY }));
    const child = spawn('node', [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], { stdio: 'ignore', env: ENV });
    const pidFile = path.join(ws.dir, 'deploy.pid');
    assert.ok(await waitFor(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').endsWith('\n'), 20_000), 'the deploy step started');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const stepPid = Number(fs.readFileSync(pidFile, 'utf8'));
    const runs = path.join(ws.dir, '.release/runs');
    const c: Crashed = { dir: ws.dir, planFile: ws.planFile, journal: path.join(runs, fs.readdirSync(runs)[0], 'journal.jsonl'), stepPid };
    const other = unrelated();
    started.push(other);
    recordPid(c, other.pid, (e) => delete e.start);
    try {
      const r = spawnSync('node', [CLI, 'abandon', '--reason', 'old journal', '--plan', ws.planFile], { encoding: 'utf8', env: ENV, timeout: 60_000 });
      const out = r.stdout + r.stderr;
      assert.ok(alive(other.pid), `the unrelated group at the recorded pid survived\n${out}`);
      assert.ok(await waitFor(() => !alive(stepPid), 10_000), `the step's shell (it carries the mark) was ended\n${out}`);
      assert.match(
        out,
        new RegExp(`pid ${other.pid} has no recorded start time \\(an older journal\\), so only processes carrying the step's mark were signalled`),
      );
    } finally {
      try {
        process.kill(-stepPid, 'SIGKILL');
      } catch {
        // ended
      }
    }
  });

  it("the journal's start forged to the unrelated process's own: without the step's mark it is still not signalled", async () => {
    const c = await crashedRelease();
    const other = unrelated();
    started.push(other);
    const start = JSON.parse(/"step":"deploy\/0".*"start":(\{[^}]*\})/.exec(fs.readFileSync(c.journal, 'utf8'))![1]) as { ticks: number; boot: string };
    const stat = fs.readFileSync(`/proc/${other.pid}/stat`, 'utf8');
    start.ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    recordPid(c, other.pid, (e) => (e.start = start));
    const r = spawnSync('node', [CLI, 'abandon', '--reason', 'forged', '--plan', c.planFile], { encoding: 'utf8', env: ENV, timeout: 60_000 });
    assertNothingClaimed(
      c,
      r.stdout + r.stderr,
      other.pid,
      new RegExp(`pid ${other.pid} started when recorded but does not carry the step's mark: nothing signalled`),
    );
  });

  it("a group whose leader ended, reused by unrelated processes: the group's members survive", async () => {
    const c = await crashedRelease();
    // A leader that starts a member of its group and exits: the group id lives on without its leader.
    const dir = tempDir();
    const leader = spawn('bash', ['-c', `sleep 300 & echo $! > ${dir}/member; exit 0`], { detached: true, stdio: 'ignore', env: ENV });
    await new Promise((r) => leader.once('exit', r));
    const member = Number(fs.readFileSync(`${dir}/member`, 'utf8'));
    try {
      recordPid(c, leader.pid!);
      const r = spawnSync('node', [CLI, 'rollback', '--yes', '--reason', 'reused group', '--plan', c.planFile], {
        encoding: 'utf8',
        env: ENV,
        timeout: 60_000,
      });
      assertNothingClaimed(
        c,
        r.stdout + r.stderr,
        member,
        new RegExp(
          `process group ${leader.pid} is not the step's any more \\(1 of its 1 processes do not carry the step's mark, pid ${member} among them\\): nothing signalled to the group`,
        ),
      );
    } finally {
      process.kill(member, 'SIGKILL');
    }
  });
});

/**
 * A process that writes a line to its file for every SIGCONT it gets: a signal sent to it is seen, and does no
 * harm. Not this process's child (its parent exits at once), so no proof can come from being our own child;
 * `leader`: it leads a group and a session of its own, as a step's shell does; otherwise it stays in this group.
 */
async function sentinel(
  dir: string,
  name: string,
  leader: boolean,
  env: NodeJS.ProcessEnv = ENV,
): Promise<{ pid: number; got: () => number; end: () => void }> {
  const file = path.join(dir, name);
  fs.writeFileSync(`${file}.sh`, `echo $BASHPID > ${file}.pid; trap 'echo cont >> ${file}' CONT; while :; do sleep 0.05; done\n`);
  const cmd = leader ? `setsid -f bash ${file}.sh < /dev/null > /dev/null 2>&1` : `bash ${file}.sh < /dev/null > /dev/null 2>&1 &`;
  spawnSync('bash', ['-c', cmd], { env });
  assert.ok(await waitFor(() => fs.existsSync(`${file}.pid`) && fs.readFileSync(`${file}.pid`, 'utf8').endsWith('\n'), 10_000), `${name} is up`);
  const pid = Number(fs.readFileSync(`${file}.pid`, 'utf8'));
  return {
    pid,
    got: () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0),
    end: () => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ended
      }
    },
  };
}

describe('process identity: the one signalling function refuses every hostile record', function () {
  this.timeout(60_000);

  it('a corpus of recorded pids, starts and marks: only a proven group or a marked process is signalled', async () => {
    const dir = tempDir();
    const target = await sentinel(dir, 'target', true);
    const bystander = await sentinel(dir, 'bystander', false);
    try {
      const real = processStart(target.pid)!;
      const boot = real.boot;
      const cases: [string, Parameters<typeof signalRecorded>[0]][] = [
        ['pid 0 (kill(0) is my own group)', { pid: 0, start: real }],
        ['pid 1 (init; kill(-1) is everyone)', { pid: 1, start: real }],
        ['pid -1', { pid: -1, start: real }],
        ['a negative group', { pid: -target.pid, start: real }],
        ['a fraction', { pid: target.pid + 0.5, start: real }],
        ['NaN', { pid: NaN, start: real }],
        ['Infinity', { pid: Infinity, start: real }],
        ['beyond pid_max', { pid: 2 ** 22, start: real }],
        ['1e400', { pid: Number('1e400'), start: real }],
        ['a string', { pid: String(target.pid) as unknown as number, start: real }],
        ['the right pid, started a tick later', { pid: target.pid, start: { ticks: real.ticks + 1, boot } }],
        ['the right pid, started in another boot', { pid: target.pid, start: { ticks: real.ticks, boot: '00000000-0000-0000-0000-000000000000' } }],
        ['the right pid and start, no mark', { pid: target.pid, start: real }],
        ['the right pid and start, an empty mark', { pid: target.pid, start: real, mark: '' }],
        ['the right pid and start, a mark of regex characters', { pid: target.pid, start: real, mark: '.*' }],
        ['the right pid and start, a huge mark', { pid: target.pid, start: real, mark: 'a'.repeat(100_000) }],
        ['the right pid and start, a unicode mark', { pid: target.pid, start: real, mark: 'ａｂｃｄｅｆｇｈ' }],
        ['no start (an older journal) and no mark', { pid: target.pid }],
        ['this process', { pid: process.pid, start: processStart(process.pid) }],
        ['the bystander (not a group leader)', { pid: bystander.pid, start: processStart(bystander.pid) }],
      ];
      for (const [name, rec] of cases) {
        const r = signalRecorded(rec, 'SIGCONT');
        assert.equal(r.group, undefined, name);
        assert.equal(r.marked, 0, name);
      }
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1000 }), fc.boolean(), fc.string(), (delta, later, mark) => {
          const r = signalRecorded({ pid: target.pid, start: { ticks: real.ticks + (later ? delta : -delta), boot }, mark }, 'SIGCONT');
          return r.group === undefined && r.marked === 0 && /is not the step's process any more/.test(r.refused ?? '');
        }),
        { numRuns: 200 },
      );
      // Give a stray signal's trap time to run before counting (the sentinels wake every 50 ms).
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(target.got(), 0, 'the target got no signal');
      assert.equal(bystander.got(), 0, 'the bystander got no signal');
      // The control: a group proven by its leader's start and mark is signalled, and the sentinel sees it.
      const mark = 'f00dfeedc0ffee0123456789';
      const ours = await sentinel(dir, 'ours', true, { ...ENV, RELEASE_PILOT_STEP: mark });
      try {
        const r = signalRecorded({ pid: ours.pid, start: processStart(ours.pid), mark }, 'SIGCONT');
        assert.equal(r.group, ours.pid);
        assert.ok(await waitFor(() => ours.got() >= 1, 5_000), 'the proven group got the signal');
      } finally {
        ours.end();
      }
    } finally {
      target.end();
      bystander.end();
    }
  });
});
