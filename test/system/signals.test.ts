import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readJournal } from '../../src/core/journal/journal';
import { foldJournal } from '../../src/core/model/releaseState';
import { Release } from '../../src/core/engine/run/engine';
import type { ReleaseEvent } from '../../src/core/model/events';
import { ROOT, tempDir, write } from '../support/helpers';
import { alive, killStepWatchers, processesIn } from '../support/processes';
import { waitFor } from '../support/waitFor';
import { scripted, smallPlan, workspace, type Workspace } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');
// A step that starts a child and a grandchild's worth of processes: the shell, two sleeps.
const TREE_DEPLOY = (trap = '') =>
  `    steps:\n      - name: deploy\n        production: true\n        run: ${trap}echo $$ > deploy.pid; if [ -f fast ]; then echo 1.2.3 > deployed.txt; else sleep 300 & sleep 300; wait; fi`;

// A git identity of its own, so the person's name is known and differs from $USER.
const gitConfig = write(tempDir('rp-gitcfg-'), 'gitconfig', '[user]\n\tname = Ada Operator\n\temail = ada@example.com\n');
const ENV = { ...process.env, USER: 'cli-user', GIT_CONFIG_GLOBAL: gitConfig };

function cli(ws: Workspace, ...args: string[]) {
  return spawnSync('node', [CLI, ...args, '--plan', ws.planFile], { encoding: 'utf8', env: ENV, timeout: 60_000 });
}

interface Live {
  child: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCli(ws: Workspace, ...args: string[]): Live {
  const child = spawn('node', [CLI, ...args, '--plan', ws.planFile], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, out: () => out, exited };
}

function onlyRun(ws: Workspace): { id: string; journal: string } {
  const runs = path.join(ws.dir, '.release/runs');
  const [id] = fs.existsSync(runs) ? fs.readdirSync(runs) : [];
  return { id: id ?? '', journal: path.join(runs, id ?? '', 'journal.jsonl') };
}

async function waitForJournal(ws: Workspace, marker: string, ms = 20_000): Promise<{ id: string; journal: string }> {
  const ok = await waitFor(() => {
    const { journal } = onlyRun(ws);
    return fs.existsSync(journal) && fs.readFileSync(journal, 'utf8').includes(marker);
  }, ms);
  assert.ok(ok, `the journal shows ${marker}`);
  return onlyRun(ws);
}

/** The deploy step's shell and both its sleeps are up. */
async function deployTreeUp(ws: Workspace): Promise<void> {
  await waitForJournal(ws, '"type":"step.running","step":"deploy/0"');
  assert.ok(
    await waitFor(() => processesIn(ws.dir).filter((p) => /^\d+ sleep 300/.test(p)).length === 2, 10_000),
    `both sleeps run: ${processesIn(ws.dir).join('\n')}`,
  );
}

/** Sends the signal(s) and measures until nothing of the release runs in the workspace any more. */
async function stopAndMeasure(ws: Workspace, live: Live, signals: NodeJS.Signals[]): Promise<{ ms: number; code: number | null }> {
  const t0 = Date.now();
  for (const s of signals) {
    live.child.kill(s);
    await new Promise((r) => setTimeout(r, 30));
  }
  const gone = await waitFor(() => processesIn(ws.dir).length === 0, 15_000, 20);
  const ms = Date.now() - t0;
  assert.ok(gone, `left running: ${processesIn(ws.dir).join('\n')}`);
  const { code, signal } = await live.exited;
  assert.equal(signal, null, `the CLI handled ${signals[0]} instead of dying of it:\n${live.out()}`);
  return { ms, code };
}

const events = (file: string): ReleaseEvent[] => readJournal(file).events;
const EXIT_OF = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as Record<string, number>;
export const measured: Record<string, number[]> = {};

describe('signals: every way a release is stopped leaves no orphan', function () {
  this.timeout(120_000);

  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${sig} mid-step: the step's whole tree is gone within 10 s, the journal says so, a plain run refuses, resume --retry without a terminal finishes`, async () => {
      const ws = workspace(smallPlan({ deploy: TREE_DEPLOY() }));
      const live = startCli(ws, 'run', '--yes', '--tick', 'sign-off');
      await deployTreeUp(ws);
      const stepPid = Number(fs.readFileSync(path.join(ws.dir, 'deploy.pid'), 'utf8'));
      const { ms, code } = await stopAndMeasure(ws, live, [sig]);
      (measured[sig] ??= []).push(ms);
      assert.ok(ms < 10_000, `gone after ${ms} ms`);
      assert.equal(code, EXIT_OF[sig], live.out());
      assert.ok(!alive(stepPid));

      const { id, journal } = onlyRun(ws);
      const ev = events(journal);
      const interrupted = ev.find((e) => e.type === 'step.interrupted');
      assert.ok(interrupted && interrupted.type === 'step.interrupted' && interrupted.step === 'deploy/0', JSON.stringify(ev.slice(-4)));
      assert.match(interrupted.message, new RegExp(`^stopped by ${sig}: its process group was ended$`));
      const last = ev.at(-1)!;
      assert.ok(last.type === 'release.paused' && last.stoppedBy === sig && last.step === 'deploy/0', JSON.stringify(last));
      assert.match(last.message, new RegExp(`^stopped by ${sig} while "deploy" ran`));
      assert.equal(foldJournal(ev, { closed: true }).status, 'paused', 'resumable, not left running');
      assert.ok(!fs.existsSync(path.join(ws.dir, '.release/lock')), 'the lock was given back');
      assert.match(fs.readFileSync(path.join(path.dirname(journal), 'report.md'), 'utf8'), /paused|interrupted/i);

      // A plain run does not start a second release over the stopped one; it names it and the ways on.
      const refused = cli(ws, 'run', '--yes', '--tick', 'sign-off');
      assert.equal(refused.status, 1, refused.stdout + refused.stderr);
      assert.match(refused.stderr, new RegExp(`release tiny 1\\.2\\.3 \\(run ${id}\\) is paused \\(stopped by ${sig} while "deploy" ran`));
      assert.match(refused.stderr, new RegExp(`release-pilot resume ${id} `));
      assert.match(refused.stderr, new RegExp(`release-pilot abandon ${id} --reason TEXT`));
      assert.equal(fs.readdirSync(path.join(ws.dir, '.release/runs')).length, 1, 'no second run was created');

      // No terminal and no --yes: --retry is the person's confirmation for the interrupted production step.
      fs.writeFileSync(path.join(ws.dir, 'fast'), '');
      const resumed = cli(ws, 'resume', '--retry');
      assert.equal(resumed.status, 0, resumed.stdout + resumed.stderr);
      assert.match(resumed.stderr, /confirmed by --retry: Run the production step "deploy"/);
      const s = foldJournal(events(journal));
      assert.equal(s.status, 'released');
      assert.equal(s.steps['deploy/0'].attempts, 2);
    });
  }

  it("kill -9 of the CLI and of its step's watcher: a plain run refuses (no silent takeover), abandon ends the orphaned group and journals who and why, then run works", async () => {
    const ws = workspace(smallPlan({ deploy: TREE_DEPLOY() }));
    const live = startCli(ws, 'run', '--yes', '--tick', 'sign-off');
    await deployTreeUp(ws);
    // A crash of both: the step runs on, for the reopened journal to end.
    assert.equal(killStepWatchers(ws.dir), 1, "the deploy step's watcher");
    live.child.kill('SIGKILL');
    await live.exited;
    const { id, journal } = onlyRun(ws);
    assert.equal(processesIn(ws.dir).filter((p) => /^\d+ sleep 300/.test(p)).length, 2, 'the orphaned step still runs');

    const refused = cli(ws, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(refused.status, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, new RegExp(`release tiny 1\\.2\\.3 \\(run ${id}\\) is interrupted; "deploy" was running when it stopped`));
    assert.doesNotMatch(refused.stderr, /took over a stale release lock/);
    assert.equal(fs.readdirSync(path.join(ws.dir, '.release/runs')).length, 1, 'no new release started');
    assert.equal(processesIn(ws.dir).filter((p) => /^\d+ sleep 300/.test(p)).length, 2, 'refusing touches nothing');

    const noReason = cli(ws, 'abandon');
    assert.equal(noReason.status, 2);
    assert.match(noReason.stderr, /abandon needs --reason TEXT/);

    const abandoned = cli(ws, 'abandon', '--reason', 'deploy host rebuilt by hand');
    assert.equal(abandoned.status, 0, abandoned.stdout + abandoned.stderr);
    assert.ok(await waitFor(() => processesIn(ws.dir).length === 0, 5000), processesIn(ws.dir).join('\n'));
    const ev = events(journal);
    assert.match(JSON.stringify(ev), /ended the processes left running by the interrupted step \\"deploy\\"/);
    const decision = ev.find((e) => e.type === 'decision' && e.action === 'abandon');
    assert.deepEqual(decision && { by: (decision as { by: string }).by, reason: (decision as { reason?: string }).reason }, {
      by: 'Ada Operator',
      reason: 'deploy host rebuilt by hand',
    });
    const s = foldJournal(ev);
    assert.equal(s.status, 'aborted');
    assert.equal(s.outcomeMessage, 'abandoned by Ada Operator: deploy host rebuilt by hand');
    assert.equal(cli(ws, 'abandon', id, '--reason', 'again').status, 1, 'a finished run cannot be abandoned');

    fs.writeFileSync(path.join(ws.dir, 'fast'), '');
    // The abandoned deploy may have reached production: 1.2.3 counts as out, and no commit tells its code apart here.
    const same = cli(ws, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(same.status, 1, same.stdout + same.stderr);
    assert.match(same.stderr, /tiny 1\.2\.3 may still be deployed \(aborted while its deploy or rollback ran\) to production in run /);
    fs.writeFileSync(ws.planFile, fs.readFileSync(ws.planFile, 'utf8').replace('version: 1.2.3', 'version: 1.2.4'));
    const again = cli(ws, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(again.status, 0, again.stdout + again.stderr);
  });

  it('a step that ignores SIGTERM: one signal ends it after the grace period, two signals at once', async () => {
    for (const signals of [['SIGTERM'], ['SIGTERM', 'SIGTERM']] as NodeJS.Signals[][]) {
      const ws = workspace(smallPlan({ deploy: TREE_DEPLOY("trap '' TERM; ") }));
      const live = startCli(ws, 'run', '--yes', '--tick', 'sign-off');
      await deployTreeUp(ws);
      const { ms, code } = await stopAndMeasure(ws, live, signals);
      (measured[`TERM ignored, ${signals.length} signal(s)`] ??= []).push(ms);
      assert.equal(code, 143, live.out());
      // The CLI's grace period is 3 s: one signal waits it out, a second one does not.
      if (signals.length === 1) assert.ok(ms >= 2900 && ms < 10_000, `${ms} ms`);
      else assert.ok(ms < 2000, `${ms} ms`);
      assert.match(live.out(), signals.length === 1 ? /SIGTERM: stopping the release/ : /SIGTERM again: killing the running step's process tree now/);
      assert.equal(events(onlyRun(ws).journal).at(-1)?.type, 'release.paused');
    }
  });

  it('a signal before any step ran: the run is aborted (nothing to resume) and does not block the next run', async () => {
    const ws = workspace(
      smallPlan({ checklist: `  - id: slow\n    title: Slow check\n    run: sleep 2\n  - id: sign-off\n    title: Sign-off\n    manual: true` }),
    );
    const live = startCli(ws, 'run', '--yes', '--tick', 'sign-off');
    await waitForJournal(ws, '"id":"slow","title":"Slow check","state":"checking"');
    const { code } = await stopAndMeasure(ws, live, ['SIGTERM']);
    assert.equal(code, 143);
    const s = foldJournal(events(onlyRun(ws).journal));
    assert.equal(s.status, 'aborted');
    assert.equal(s.outcomeMessage, 'stopped by SIGTERM before any step ran');
    assert.equal(Object.keys(s.steps).length, 0);
    const next = cli(ws, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(next.status, 0, next.stdout + next.stderr);
  });

  it('a signal during the rollback: the rollback finishes first; a second signal ends it, loudly rollback-failed', async () => {
    for (const signals of [['SIGTERM'], ['SIGTERM', 'SIGTERM']] as NodeJS.Signals[][]) {
      const ws = workspace(
        smallPlan({
          deploy: `    steps:\n      - name: deploy\n        run: exit 1`,
          rollback: `    - name: switch back\n      run: sleep 2; echo back > switched-back.txt`,
        }),
      );
      const live = startCli(ws, 'run', '--yes', '--tick', 'sign-off');
      await waitForJournal(ws, '"type":"step.running","step":"rollback/0"');
      const { code } = await stopAndMeasure(ws, live, signals);
      assert.equal(code, 143, live.out());
      const ev = events(onlyRun(ws).journal);
      const s = foldJournal(ev, { closed: true });
      assert.match(JSON.stringify(ev), /SIGTERM arrived during the rollback: the rollback finishes first/);
      if (signals.length === 1) {
        assert.equal(s.status, 'rolled-back', live.out());
        assert.ok(fs.existsSync(path.join(ws.dir, 'switched-back.txt')));
      } else {
        assert.equal(s.status, 'rollback-failed', live.out());
        assert.equal(s.rollback?.message, 'ROLLBACK FAILED at switch back: stopped by SIGTERM: its process group was ended');
        assert.match(live.out(), /✗✗ ROLLBACK FAILED at switch back: stopped by SIGTERM/);
        assert.ok(!fs.existsSync(path.join(ws.dir, 'switched-back.txt')));
      }
    }
  });

  it('a signal at any moment of a run (lock, journal writes, gates, steps): no torn journal, no process left, the lock given back, and the next run is decided', async function () {
    this.timeout(300_000);
    // Counted from the moment the lock file appears: the lock take, the first journal writes, the gates, the steps.
    for (const delay of [0, 2, 5, 10, 20, 40, 80, 150, 300, 600, 1200]) {
      const ws = workspace(smallPlan({ deploy: TREE_DEPLOY() }));
      const live = startCli(ws, 'run', '--yes', '--tick', 'sign-off');
      assert.ok(await waitFor(() => fs.existsSync(path.join(ws.dir, '.release/lock')), 20_000, 1));
      // Waits for the CLI, a real process, to run on for `delay` ms: the signal lands at another moment of its run each time, and no one event marks them all.
      await new Promise((r) => setTimeout(r, delay));
      await stopAndMeasure(ws, live, ['SIGTERM']);
      assert.deepEqual(processesIn(ws.dir), [], `${delay} ms`);
      assert.ok(!fs.existsSync(path.join(ws.dir, '.release/lock')), `${delay} ms: the lock was given back`);
      const { journal } = onlyRun(ws);
      if (!fs.existsSync(journal)) continue;
      const read = readJournal(journal);
      assert.equal(read.tornLine, undefined, `${delay} ms`);
      assert.deepEqual(read.corruptLines, []);
      const s = foldJournal(read.events, { closed: true });
      assert.ok(['aborted', 'paused'].includes(s.status), `${delay} ms: ${s.status}`);
      fs.writeFileSync(path.join(ws.dir, 'fast'), '');
      const next = cli(ws, 'run', '--yes', '--tick', 'sign-off');
      // Paused: the next run refuses naming it; aborted before any step: the next run starts.
      assert.equal(next.status, s.status === 'paused' ? 1 : 0, `${delay} ms (${s.status}): ${next.stderr.slice(-500)}`);
      (measured[`any moment: ${s.status}`] ??= []).push(delay);
    }
  });

  it('--tick records the person (git user.name), not "cli" or the login', () => {
    const ws = workspace(smallPlan({ deploy: `    steps:\n      - name: deploy\n        run: echo 1.2.3 > deployed.txt` }));
    const r = cli(ws, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const s = foldJournal(events(onlyRun(ws).journal));
    assert.equal(s.checklist.find((c) => c.id === 'sign-off')?.by, 'Ada Operator');
  });

  after(() => {
    for (const [k, v] of Object.entries(measured)) console.log(`      ${k}: ${v.map((x) => `${x} ms`).join(', ')}`);
  });
});

describe('signals: a stop while the release waits for a person', () => {
  it('at the go/no-go question: the question is abandoned, the run aborted, the lock given back', async () => {
    const ws = workspace();
    const never = new Promise<boolean>(() => {});
    const r = await Release.start(ws.options({ prompter: { ...scripted(), confirm: () => never } }));
    const done = r.run();
    await waitFor(() => fs.readFileSync(path.join(r.runDir, 'journal.jsonl'), 'utf8').includes('"gate":"checklist"'), 10_000);
    r.stop('SIGTERM');
    const s = await done;
    assert.equal(s.status, 'aborted');
    assert.equal(s.outcomeMessage, 'stopped by SIGTERM before any step ran');
    assert.ok(!fs.existsSync(path.join(ws.dir, '.release/lock')));
  });

  it("at a failed step's question: paused, resumable, the step kept as failed", async () => {
    const ws = workspace(smallPlan({ deploy: `    steps:\n      - name: deploy\n        run: exit 1` }));
    let asked!: () => void;
    const reached = new Promise<void>((r) => (asked = r));
    const r = await Release.start(ws.options({ prompter: { ...scripted(), onFailure: () => (asked(), new Promise(() => {})) } }));
    const done = r.run();
    await reached;
    r.stop('SIGHUP');
    const s = await done;
    assert.equal(s.status, 'paused');
    assert.equal(s.steps['deploy/0'].state, 'failed');
    assert.match(s.pausedAt!.message, /^stopped by SIGHUP/);
  });
});
